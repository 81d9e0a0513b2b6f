//! What the marketplace needs from outside, as traits it owns: storage of listings,
//! versions, reviews and download counts; package bytes; and licensing's word on
//! entitlements.
//!
//! Counters (downloads, rating sums and counts) change inside the same transaction as the
//! row that causes them, by relative updates, so they stay exact under any interleaving.

use crate::extension::{ExtCategory, Extension, ExtensionId, Pricing, Tag};
use crate::name::ExtensionName;
use crate::review::{Rating, Review};
use crate::version::{ExtVersion, ReviewState, VersionId};
use chrono::{DateTime, NaiveDate, Utc};
use devforge_domain::{Page, PageRequest, SearchQuery, StoreError, UserId};
use std::future::Future;
use std::pin::Pin;

/// Changes to an extension's listing; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionPatch {
    /// New shown name.
    pub display_name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<ExtCategory>,
    /// New tags.
    pub tags: Option<Vec<Tag>>,
    /// New repository link (`Some(None)` removes it).
    pub repository_url: Option<Option<String>>,
    /// New home page (`Some(None)` removes it).
    pub homepage_url: Option<Option<String>>,
    /// New price.
    pub pricing: Option<Pricing>,
}

/// How a listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExtSort {
    /// Best match first (with a query; otherwise downloads).
    Relevance,
    /// Most downloaded first.
    #[default]
    Downloads,
    /// Best rated first.
    Rating,
    /// Most recently published first.
    Newest,
    /// By name.
    Name,
}

/// A public listing request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExtensionSearch {
    /// Full text, with prefix matching; the raw text too, for the exact-name rule.
    pub query: Option<(SearchQuery, String)>,
    /// Only this category.
    pub category: Option<ExtCategory>,
    /// Only with this tag.
    pub tag: Option<Tag>,
    /// Order.
    pub sort: ExtSort,
}

/// Download figures of one extension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadStats {
    /// All versions, all time.
    pub total: u64,
    /// Per version.
    pub per_version: Vec<(String, u64)>,
    /// Per day, oldest first, days without downloads left out.
    pub daily: Vec<(NaiveDate, u64)>,
}

/// The marketplace section of the admin dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketStats {
    /// Extensions: public ones, and the others.
    pub public_extensions: u64,
    /// Extensions without a public version.
    pub unpublished_extensions: u64,
    /// Versions waiting for review.
    pub pending_versions: u64,
    /// Downloads of everything, all time.
    pub downloads: u64,
}

/// Listings and versions.
pub trait CatalogRepository: Send + Sync + 'static {
    /// Stores a new extension.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`] when the name is taken.
    fn insert_extension(
        &self,
        extension: Extension,
    ) -> impl Future<Output = Result<Extension, StoreError>> + Send;

    /// Names of other owners' extensions whose dash-less length is within `lengths`: the
    /// candidates for the look-alike rule.
    ///
    /// # Errors
    /// [`StoreError`].
    fn names_near(
        &self,
        lengths: std::ops::RangeInclusive<usize>,
        except_owner: UserId,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// An extension by name, public or not.
    ///
    /// # Errors
    /// [`StoreError`].
    fn find_extension(
        &self,
        name: &ExtensionName,
    ) -> impl Future<Output = Result<Option<Extension>, StoreError>> + Send;

    /// An extension by id, public or not: how a change is read back for the listing
    /// index.
    ///
    /// # Errors
    /// [`StoreError`].
    fn extension_by_id(
        &self,
        id: ExtensionId,
    ) -> impl Future<Output = Result<Option<Extension>, StoreError>> + Send;

    /// Up to `limit` public extensions with ids above `after`, by id: how the listing
    /// index loads the catalogue, page by page.
    ///
    /// # Errors
    /// [`StoreError`].
    fn public_extensions(
        &self,
        after: Option<ExtensionId>,
        limit: u64,
    ) -> impl Future<Output = Result<Vec<Extension>, StoreError>> + Send;

    /// Applies `patch`.
    ///
    /// # Errors
    /// [`StoreError`].
    fn update_extension(
        &self,
        id: ExtensionId,
        patch: ExtensionPatch,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Extension>, StoreError>> + Send;

    /// One owner's extensions, by name.
    ///
    /// # Errors
    /// [`StoreError`].
    fn owned_by(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Extension>, StoreError>> + Send;

    /// Public extensions matching `search`.
    ///
    /// # Errors
    /// [`StoreError`].
    fn search(
        &self,
        search: ExtensionSearch,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Extension>, StoreError>> + Send;

    /// What `owner` keeps stored: versions waiting for review, and the bytes of every
    /// version of its extensions in any state.
    ///
    /// # Errors
    /// [`StoreError`].
    fn publisher_usage(
        &self,
        owner: UserId,
    ) -> impl Future<Output = Result<PublisherUsage, StoreError>> + Send;

    /// Stores a new version (pending review) of an extension of `owner`, if `owner` stays
    /// within `quota` with it. The usage is counted again inside the transaction that
    /// inserts, after taking a lock that every insert for `owner` takes, so parallel
    /// uploads cannot together pass a limit that each alone respects.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`] when the extension has this version.
    fn insert_version(
        &self,
        version: ExtVersion,
        storage_key: String,
        owner: UserId,
        quota: PublisherQuota,
    ) -> impl Future<Output = Result<VersionInsert, StoreError>> + Send;

    /// An extension's versions, any state.
    ///
    /// # Errors
    /// [`StoreError`].
    fn versions_of(
        &self,
        extension: ExtensionId,
    ) -> impl Future<Output = Result<Vec<ExtVersion>, StoreError>> + Send;

    /// Where a version's package is stored.
    ///
    /// # Errors
    /// [`StoreError`].
    fn storage_key(
        &self,
        version: VersionId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Changes a version's review state (only from `Pending`) or yanked flag, and
    /// recomputes the extension's latest public version, in one transaction that first
    /// locks the extension, so concurrent reviews of one extension cannot leave a stale
    /// "latest". `Ok(None)` when the version is not in a state the change applies to.
    ///
    /// # Errors
    /// [`StoreError`].
    fn change_version(
        &self,
        version: VersionId,
        change: VersionChange,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<ExtVersion>, StoreError>> + Send;

    /// Versions waiting for review, oldest first, with their extensions.
    ///
    /// # Errors
    /// [`StoreError`].
    fn pending(
        &self,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<(Extension, ExtVersion)>, StoreError>> + Send;

    /// The dashboard figures.
    ///
    /// # Errors
    /// [`StoreError`].
    fn market_stats(&self) -> impl Future<Output = Result<MarketStats, StoreError>> + Send;
}

/// What one publisher keeps stored, as its quotas count it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublisherUsage {
    /// Versions waiting for review.
    pub pending_versions: u64,
    /// Bytes of the packages of every version, pending, approved, rejected or yanked.
    pub stored_bytes: u64,
}

/// How much one publisher may keep stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublisherQuota {
    /// Versions waiting for review at once.
    pub max_pending_versions: u64,
    /// Bytes of packages in all.
    pub max_stored_bytes: u64,
}

impl PublisherQuota {
    /// No limit (seeding benchmark catalogues, tools run by operators).
    pub const UNLIMITED: Self = Self {
        max_pending_versions: u64::MAX,
        max_stored_bytes: u64::MAX,
    };

    /// Whether a publisher with `usage` may add one pending version of `bytes` bytes.
    ///
    /// # Errors
    /// The quota it would break.
    pub fn admits(self, usage: PublisherUsage, bytes: u64) -> Result<(), QuotaRefusal> {
        if usage.pending_versions >= self.max_pending_versions {
            return Err(QuotaRefusal::TooManyPending);
        }
        if usage.stored_bytes.saturating_add(bytes) > self.max_stored_bytes {
            return Err(QuotaRefusal::OverQuota);
        }
        Ok(())
    }

    /// Bytes a publisher with `usage` may still store.
    #[must_use]
    pub fn remaining_bytes(self, usage: PublisherUsage) -> u64 {
        self.max_stored_bytes.saturating_sub(usage.stored_bytes)
    }
}

/// Which publisher quota a new version would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaRefusal {
    /// As many versions as allowed wait for review.
    TooManyPending,
    /// The package would take the publisher past its stored bytes.
    OverQuota,
}

/// The outcome of [`CatalogRepository::insert_version`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionInsert {
    /// Stored, pending review.
    Inserted,
    /// Not stored: the publisher's quota refused it.
    Refused(QuotaRefusal),
}

/// A change of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionChange {
    /// Approve or reject a pending version.
    Review {
        /// `Approved` or `Rejected`.
        to: ReviewState,
        /// The reason, for rejections.
        reason: Option<String>,
    },
    /// Yank (`true`) or unyank.
    Yank(bool),
}

/// Reviews, with the rating counters of their extension.
pub trait ReviewRepository: Send + Sync + 'static {
    /// Stores a review and counts its rating.
    ///
    /// # Errors
    /// MUST return [`StoreError::Duplicate`] when the author reviewed the extension.
    fn insert_review(
        &self,
        review: Review,
    ) -> impl Future<Output = Result<Review, StoreError>> + Send;

    /// Changes the author's review of an extension and moves the rating sum by the
    /// difference. `Ok(None)` when there is none.
    ///
    /// # Errors
    /// [`StoreError`].
    fn update_review(
        &self,
        extension: ExtensionId,
        author: UserId,
        rating: Rating,
        title: Option<String>,
        body: Option<String>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Review>, StoreError>> + Send;

    /// Removes the author's review of an extension and uncounts it. `Ok(None)` when there
    /// is none.
    ///
    /// # Errors
    /// [`StoreError`].
    fn delete_review(
        &self,
        extension: ExtensionId,
        author: UserId,
    ) -> impl Future<Output = Result<Option<Review>, StoreError>> + Send;

    /// An extension's reviews, newest first.
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_reviews(
        &self,
        extension: ExtensionId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Review>, StoreError>> + Send;
}

/// Download counts.
pub trait DownloadRepository: Send + Sync + 'static {
    /// Counts one download of a version on `day`.
    ///
    /// # Errors
    /// [`StoreError`].
    fn count_download(
        &self,
        extension: ExtensionId,
        version: VersionId,
        day: NaiveDate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// An extension's download figures, the daily series from `since`.
    ///
    /// # Errors
    /// [`StoreError`].
    fn download_stats(
        &self,
        extension: ExtensionId,
        since: NaiveDate,
    ) -> impl Future<Output = Result<DownloadStats, StoreError>> + Send;
}

/// Everything the marketplace stores in its database.
pub trait MarketStore: CatalogRepository + ReviewRepository + DownloadRepository {}

impl<T> MarketStore for T where T: CatalogRepository + ReviewRepository + DownloadRepository {}

/// A package's bytes, as a stream of chunks.
pub type PackageStream =
    Pin<Box<dyn futures_core::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send>>;

/// Why package storage failed.
#[derive(Debug, thiserror::Error)]
#[error("package storage: {0}")]
pub struct PackageError(pub String);

/// Where packages are kept (a directory, or an S3-compatible object store).
pub trait PackageStore: Send + Sync + 'static {
    /// Stores the bytes of `package` under `key` as they arrive, holding at most a few
    /// parts in memory. The package appears under `key` only once all of it is stored; if
    /// the stream fails, nothing stays under `key`. Keys are unique per upload, so nothing
    /// stored is replaced.
    ///
    /// # Errors
    /// [`PackageError`], also when `package` yields an error.
    fn put_stream(
        &self,
        key: &str,
        package: PackageStream,
    ) -> impl Future<Output = Result<(), PackageError>> + Send;

    /// Removes the package under `key` (a package that was stored but not recorded). Removing
    /// a key that holds nothing succeeds.
    ///
    /// # Errors
    /// [`PackageError`].
    fn remove(&self, key: &str) -> impl Future<Output = Result<(), PackageError>> + Send;

    /// Opens the package under `key`.
    ///
    /// # Errors
    /// [`PackageError`].
    fn open(&self, key: &str) -> impl Future<Output = Result<PackageStream, PackageError>> + Send;
}

/// Licensing's answer to "may this account use what this entitlement unlocks?".
pub trait EntitlementCheck: Send + Sync + 'static {
    /// Whether `user` holds an active, unexpired license carrying `entitlement`.
    ///
    /// # Errors
    /// A message when licensing cannot answer.
    fn holds(
        &self,
        user: UserId,
        entitlement: &str,
    ) -> impl Future<Output = Result<bool, String>> + Send;
}
