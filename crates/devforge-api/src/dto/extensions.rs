//! Bodies of the `/v1/extensions` routes.

use super::double_option;
use super::tickets::mirror_enum;
use chrono::{DateTime, NaiveDate, Utc};
use devforge_marketplace::ports::{DownloadStats, MarketStats};
use devforge_marketplace::service::{ExtensionDetail, OwnedExtension};
use devforge_marketplace::{ExtCategory, ExtSort, ExtVersion, Extension, Listing, Review};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

mirror_enum!(
    /// What an extension is for.
    ExtCategoryDto => ExtCategory {
        /// Language support.
        Languages,
        /// Themes and icons.
        Themes,
        /// Linters and formatters.
        Linters,
        /// Debuggers.
        Debuggers,
        /// Snippets.
        Snippets,
        /// Source control.
        Scm,
        /// AI assistance.
        Ai,
        /// Anything else.
        Other,
    }
);

mirror_enum!(
    /// Listing order.
    ExtSortDto => ExtSort {
        /// Best match first (the default with `q`).
        Relevance,
        /// Most downloaded first (the default without `q`).
        Downloads,
        /// Best rated first.
        Rating,
        /// Most recently published first.
        Newest,
        /// By name.
        Name,
    }
);

/// `POST /v1/extensions`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExtensionRequest {
    /// Unique name: 3-64 characters of a-z, 0-9 and dashes, starting with a letter.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    /// Shown name, 1-100 characters.
    #[garde(length(chars, min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: String,
    /// What it does, 1-2000 characters.
    #[garde(length(chars, min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub description: String,
    /// Area.
    #[garde(skip)]
    pub category: ExtCategoryDto,
    /// Up to 10 tags of a-z, 0-9 and dashes.
    #[serde(default)]
    #[garde(length(max = 10))]
    #[schema(max_items = 10)]
    pub tags: Vec<String>,
    /// Source code link.
    #[garde(inner(length(max = 300)))]
    #[schema(max_length = 300)]
    pub repository_url: Option<String>,
    /// Home page link.
    #[garde(inner(length(max = 300)))]
    #[schema(max_length = 300)]
    pub homepage_url: Option<String>,
    /// For paid extensions: the entitlement a license must carry (e.g. `pro`,
    /// `ext:my-extension`). Absent: free.
    #[garde(inner(length(min = 1, max = 64)))]
    #[schema(min_length = 1, max_length = 64)]
    pub entitlement: Option<String>,
}

/// `PATCH /v1/extensions/{name}`: absent fields stay as they are; `null` clears a link or
/// makes the extension free.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateExtensionRequest {
    /// New shown name.
    #[garde(inner(length(chars, min = 1, max = 100)))]
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: Option<String>,
    /// New description.
    #[garde(inner(length(chars, min = 1, max = 2000)))]
    #[schema(min_length = 1, max_length = 2000)]
    pub description: Option<String>,
    /// New category.
    #[garde(skip)]
    pub category: Option<ExtCategoryDto>,
    /// New tags.
    #[garde(inner(length(max = 10)))]
    #[schema(max_items = 10)]
    pub tags: Option<Vec<String>>,
    /// New source code link.
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[schema(value_type = Option<String>)]
    #[garde(skip)]
    pub repository_url: Option<Option<String>>,
    /// New home page.
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[schema(value_type = Option<String>)]
    #[garde(skip)]
    pub homepage_url: Option<Option<String>>,
    /// New entitlement; `null` makes it free.
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[schema(value_type = Option<String>)]
    #[garde(skip)]
    pub entitlement: Option<Option<String>>,
}

/// Filters of `GET /v1/extensions`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExtensionsQuery {
    /// Full text with prefix matching (`rust-an` finds `rust-analyzer`).
    #[garde(inner(length(chars, max = 200)))]
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only this category.
    #[garde(skip)]
    pub category: Option<ExtCategoryDto>,
    /// Only with this tag.
    #[garde(inner(length(min = 1, max = 30)))]
    #[param(min_length = 1, max_length = 30)]
    pub tag: Option<String>,
    /// Order (default: relevance with `q`, downloads without).
    #[garde(skip)]
    #[param(inline)]
    pub sort: Option<ExtSortDto>,
    /// Page number (from 1).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (1 to 100, default 20).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

/// Fields of `POST /v1/extensions/{name}/versions` (the body is the package).
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// Semantic version, e.g. `1.2.0`.
    #[garde(length(min = 1, max = 64))]
    #[param(min_length = 1, max_length = 64)]
    pub version: String,
    /// What changed, at most 500 characters: with the version and engine it must fit in
    /// the 8 KiB request target even when every character is percent-encoded UTF-8.
    #[serde(default)]
    #[garde(length(chars, max = 500))]
    #[param(max_length = 500)]
    pub changelog: String,
    /// Compatible IDE versions, a semver range (default `*`).
    #[serde(default = "any_engine")]
    #[garde(length(min = 1, max = 100))]
    #[param(min_length = 1, max_length = 100)]
    pub engine: String,
}

fn any_engine() -> String {
    "*".to_owned()
}

/// `POST .../reject`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why, shown to the owner.
    #[garde(length(chars, min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// `POST` and `PUT /v1/extensions/{name}/reviews`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// 1 to 5.
    #[garde(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    /// Headline.
    #[garde(inner(length(chars, max = 100)))]
    #[schema(max_length = 100)]
    pub title: Option<String>,
    /// Text.
    #[garde(inner(length(chars, max = 5000)))]
    #[schema(max_length = 5000)]
    pub body: Option<String>,
}

/// `DELETE /v1/extensions/{name}/reviews`: admins may name whose.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeleteReviewQuery {
    /// The author (admins); default: your own.
    #[garde(skip)]
    pub author: Option<uuid::Uuid>,
}

/// An extension in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionSummary {
    /// Name (the id in URLs).
    pub name: String,
    /// Shown name.
    pub display_name: String,
    /// What it does.
    pub description: String,
    /// Area.
    pub category: ExtCategoryDto,
    /// Tags.
    pub tags: Vec<String>,
    /// The highest approved, unyanked version (absent until public).
    pub latest_version: Option<String>,
    /// Downloads of all versions.
    pub downloads: u64,
    /// Average rating (absent without reviews).
    pub rating_average: Option<f64>,
    /// Number of reviews.
    pub rating_count: u64,
    /// Whether a license is needed to download it.
    pub paid: bool,
    /// The entitlement that license must carry.
    pub entitlement: Option<String>,
    /// When its latest version was approved (absent until public).
    pub published_at: Option<DateTime<Utc>>,
}

impl From<Extension> for ExtensionSummary {
    fn from(extension: Extension) -> Self {
        let rating_average = extension.rating_average();
        Self {
            name: extension.name.as_str().to_owned(),
            display_name: extension.display_name,
            description: extension.description,
            category: extension.category.into(),
            tags: extension
                .tags
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
            latest_version: extension.latest_version,
            downloads: extension.downloads,
            rating_average,
            rating_count: extension.rating_count,
            paid: extension.pricing.entitlement().is_some(),
            entitlement: extension.pricing.entitlement().map(str::to_owned),
            published_at: extension.published_at,
        }
    }
}

/// How many matches carry one value (a category or a tag).
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetCount {
    /// The category or tag.
    pub value: String,
    /// Matches with it.
    pub count: u64,
}

/// Counts over every match of a listing, not only its page.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetsResponse {
    /// Matches per category, most first.
    pub categories: Vec<FacetCount>,
    /// The ten most frequent tags among the matches, most frequent first.
    pub tags: Vec<FacetCount>,
}

/// A page of public extensions, with facet counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionListResponse {
    /// The extensions on this page.
    pub items: Vec<ExtensionSummary>,
    /// The 1-based page number.
    pub page: u64,
    /// The page size (default 20, at most 100).
    pub per_page: u64,
    /// Matches across all pages.
    pub total: u64,
    /// Counts over every match. Absent when the listing was read from the database
    /// (the listing index is still being built, or cannot prove it is current).
    pub facets: Option<FacetsResponse>,
}

impl From<Listing> for ExtensionListResponse {
    fn from(listing: Listing) -> Self {
        let request = listing.page.request;
        let count = |value: &str, count: u64| FacetCount {
            value: value.to_owned(),
            count,
        };
        Self {
            items: listing.page.items.into_iter().map(Into::into).collect(),
            page: request.page(),
            per_page: request.per_page(),
            total: listing.page.total,
            facets: listing.facets.map(|facets| FacetsResponse {
                categories: facets
                    .categories
                    .iter()
                    .map(|(category, n)| count(category.as_str(), *n))
                    .collect(),
                tags: facets
                    .tags
                    .iter()
                    .map(|(tag, n)| count(tag.as_str(), *n))
                    .collect(),
            }),
        }
    }
}

/// A version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionResponse {
    /// The version.
    pub version: String,
    /// Compatible IDE versions.
    pub engine: String,
    /// What changed.
    pub changelog: String,
    /// SHA-256 of the package, hex.
    pub sha256: String,
    /// Package size in bytes.
    pub size: u64,
    /// `pending`, `approved` or `rejected`.
    pub state: String,
    /// Why it was rejected (owner and admins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    /// Yanked: downloadable by exact version, never the latest.
    pub yanked: bool,
    /// Downloads of this version.
    pub downloads: u64,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
    /// Approved.
    pub published_at: Option<DateTime<Utc>>,
}

impl From<ExtVersion> for VersionResponse {
    fn from(version: ExtVersion) -> Self {
        Self {
            version: version.version.to_string(),
            engine: version.engine.to_string(),
            changelog: version.changelog,
            sha256: version.sha256,
            size: version.size,
            state: version.state.as_str().to_owned(),
            reject_reason: version.reject_reason,
            yanked: version.yanked,
            downloads: version.downloads,
            created_at: version.created_at,
            published_at: version.published_at,
        }
    }
}

/// An extension with its versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExtensionResponse {
    /// The listing.
    #[serde(flatten)]
    pub summary: ExtensionSummary,
    /// Source code link.
    pub repository_url: Option<String>,
    /// Home page.
    pub homepage_url: Option<String>,
    /// The owner.
    pub owner_id: uuid::Uuid,
    /// Versions, newest first: the public ones (all, for the owner and admins).
    pub versions: Vec<VersionResponse>,
    /// Listed.
    pub created_at: DateTime<Utc>,
    /// Metadata last changed.
    pub updated_at: DateTime<Utc>,
}

impl ExtensionResponse {
    /// The response for an extension and its versions.
    #[must_use]
    pub fn new(extension: Extension, versions: Vec<ExtVersion>) -> Self {
        Self {
            repository_url: extension.repository_url.clone(),
            homepage_url: extension.homepage_url.clone(),
            owner_id: extension.owner.as_uuid(),
            created_at: extension.created_at,
            updated_at: extension.updated_at,
            versions: versions.into_iter().map(Into::into).collect(),
            summary: extension.into(),
        }
    }
}

impl From<ExtensionDetail> for ExtensionResponse {
    fn from(detail: ExtensionDetail) -> Self {
        Self::new(detail.extension, detail.versions)
    }
}

/// One of your extensions.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnedExtensionResponse {
    /// The listing with all versions.
    #[serde(flatten)]
    pub extension: ExtensionResponse,
    /// `draft` (no versions), `pending`, `public`, `rejected` or `yanked`.
    pub review_state: String,
}

impl From<OwnedExtension> for OwnedExtensionResponse {
    fn from(owned: OwnedExtension) -> Self {
        Self {
            review_state: owned.state.to_owned(),
            extension: ExtensionResponse::new(owned.extension, owned.versions),
        }
    }
}

/// A version waiting for review.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingVersionResponse {
    /// The extension.
    pub extension: ExtensionSummary,
    /// The owner.
    pub owner_id: uuid::Uuid,
    /// The version.
    pub version: VersionResponse,
}

/// A review.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewResponse {
    /// The reviewer.
    pub author_id: uuid::Uuid,
    /// 1 to 5.
    pub rating: u8,
    /// Headline.
    pub title: Option<String>,
    /// Text.
    pub body: Option<String>,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
}

impl From<Review> for ReviewResponse {
    fn from(review: Review) -> Self {
        Self {
            author_id: review.author.as_uuid(),
            rating: review.rating.get(),
            title: review.title,
            body: review.body,
            created_at: review.created_at,
            updated_at: review.updated_at,
        }
    }
}

/// Downloads of one version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDownloads {
    /// The version.
    pub version: String,
    /// Its downloads.
    pub downloads: u64,
}

/// Downloads on one day.
#[derive(Debug, Serialize, ToSchema)]
pub struct DailyDownloads {
    /// The UTC day.
    pub day: NaiveDate,
    /// Its downloads.
    pub downloads: u64,
}

/// `GET /v1/extensions/{name}/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadStatsResponse {
    /// All versions, all time.
    pub total: u64,
    /// Per version, newest first.
    pub per_version: Vec<VersionDownloads>,
    /// Per day over the last 90 days, oldest first (days without downloads left out).
    pub daily: Vec<DailyDownloads>,
}

impl From<DownloadStats> for DownloadStatsResponse {
    fn from(stats: DownloadStats) -> Self {
        Self {
            total: stats.total,
            per_version: stats
                .per_version
                .into_iter()
                .map(|(version, downloads)| VersionDownloads { version, downloads })
                .collect(),
            daily: stats
                .daily
                .into_iter()
                .map(|(day, downloads)| DailyDownloads { day, downloads })
                .collect(),
        }
    }
}

/// The marketplace section of the admin dashboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarketStatsResponse {
    /// Extensions with a public version.
    pub public_extensions: u64,
    /// Extensions without one (draft, pending, rejected or all yanked).
    pub unpublished_extensions: u64,
    /// Versions waiting for review.
    pub pending_versions: u64,
    /// Downloads of everything.
    pub downloads: u64,
}

impl From<MarketStats> for MarketStatsResponse {
    fn from(stats: MarketStats) -> Self {
        Self {
            public_extensions: stats.public_extensions,
            unpublished_extensions: stats.unpublished_extensions,
            pending_versions: stats.pending_versions,
            downloads: stats.downloads,
        }
    }
}
