//! The marketplace's ports on SQL: listings, versions, reviews and download counts.
//!
//! Counters move by relative updates inside the transaction of the row that causes them,
//! and every transaction writes first (a lock on the row it is about), so they stay exact
//! under parallel requests on both databases. Downloads, the one counter a burst of
//! requests moves on one row, are added in batches (`download_batches`).

mod catalog;
mod counts;
mod download_batches;
mod feed;
mod publisher_usage;
mod search;

pub use feed::ListingFeed;

use crate::Database;
use crate::entities::{extension_versions, extensions};
use crate::error::corrupt;
use devforge_domain::{StoreError, UserId};
use devforge_marketplace::extension::{ExtCategory, Extension, ExtensionId, Pricing, Tag};
use devforge_marketplace::name::ExtensionName;
use devforge_marketplace::version::{ExtVersion, ReviewState, VersionId};
use sea_orm::DatabaseConnection;

/// Implements [`devforge_marketplace::MarketStore`] over SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlMarketStore {
    db: Database,
    downloads: std::sync::Arc<download_batches::DownloadBatches>,
}

impl SqlMarketStore {
    /// A store over `db`.
    #[must_use]
    pub fn new(db: Database) -> Self {
        Self {
            db,
            downloads: std::sync::Arc::default(),
        }
    }

    fn conn(&self) -> &DatabaseConnection {
        self.db.connection()
    }
}

fn count(what: &str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|e| corrupt(what, e))
}

/// A listing from its row. Its tags come from `tags_text`, which the transaction that
/// writes `extension_tags` (the table tag filters use) keeps equal to them.
fn to_extension(row: extensions::Model) -> Result<Extension, StoreError> {
    let mut tags: Vec<Tag> = row
        .tags_text
        .split_whitespace()
        .map(|tag| Tag::from_trusted(tag.to_owned()))
        .collect();
    tags.sort();
    Ok(Extension {
        id: ExtensionId::from_uuid(row.id),
        name: ExtensionName::from_trusted(row.name),
        display_name: row.display_name,
        description: row.description,
        category: ExtCategory::parse(&row.category).map_err(|e| corrupt("category", e))?,
        tags,
        repository_url: row.repository_url,
        homepage_url: row.homepage_url,
        pricing: row.entitlement.map_or(Pricing::Free, Pricing::Paid),
        owner: UserId::from_uuid(row.owner_id),
        latest_version: row.latest_version,
        published_at: row.latest_published_at,
        downloads: count("downloads", row.downloads)?,
        rating_sum: count("rating sum", row.rating_sum)?,
        rating_count: count("rating count", row.rating_count)?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn to_version(row: extension_versions::Model) -> Result<ExtVersion, StoreError> {
    Ok(ExtVersion {
        id: VersionId::from_uuid(row.id),
        extension_id: ExtensionId::from_uuid(row.extension_id),
        version: semver::Version::parse(&row.version).map_err(|e| corrupt("version", e))?,
        engine: semver::VersionReq::parse(&row.engine).map_err(|e| corrupt("engine", e))?,
        changelog: row.changelog,
        sha256: row.sha256,
        size: count("package size", row.size)?,
        state: ReviewState::parse(&row.state).ok_or_else(|| corrupt("review state", &row.state))?,
        reject_reason: row.reject_reason,
        yanked: row.yanked,
        downloads: count("downloads", row.downloads)?,
        created_at: row.created_at,
        published_at: row.published_at,
    })
}

/// Listings from their rows.
fn to_extensions(rows: Vec<extensions::Model>) -> Result<Vec<Extension>, StoreError> {
    rows.into_iter().map(to_extension).collect()
}
