//! Uploading versions, yanking them, and the admins' review queue.

use super::package_meter::{self, Metered};
use super::{Caller, MarketplaceService};
use crate::error::MarketError;
use crate::extension::Extension;
use crate::ports::{
    EntitlementCheck, MarketStore, PackageStore, PackageStream, PublisherQuota, QuotaRefusal,
    VersionChange, VersionInsert,
};
use crate::version::{ExtVersion, ReviewState, VersionId, parse_engine, parse_version};
use devforge_domain::{Clock, InvalidValue, Page, PageRequest, StoreError};

/// A version as its owner uploads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVersion {
    /// Semantic version.
    pub version: String,
    /// What changed.
    pub changelog: String,
    /// Compatible IDE versions (a semver range).
    pub engine: String,
}

/// A package as it arrives: its bytes, and the size the client announced, if it did.
pub struct IncomingPackage {
    /// The bytes, chunk by chunk.
    pub chunks: PackageStream,
    /// The size the client announced (`Content-Length`), checked before anything is read.
    pub announced_bytes: Option<u64>,
}

impl std::fmt::Debug for IncomingPackage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncomingPackage")
            .field("announced_bytes", &self.announced_bytes)
            .finish_non_exhaustive()
    }
}

impl IncomingPackage {
    /// A package already in memory (tools and tests).
    #[must_use]
    pub fn from_bytes(bytes: bytes::Bytes) -> Self {
        let announced_bytes = u64::try_from(bytes.len()).ok();
        let once = std::iter::once(Ok(bytes));
        Self {
            chunks: Box::pin(ChunksOf(once)),
            announced_bytes,
        }
    }
}

/// A stream over chunks already at hand.
struct ChunksOf<I>(I);

impl<I> futures_core::Stream for ChunksOf<I>
where
    I: Iterator<Item = Result<bytes::Bytes, std::io::Error>> + Unpin,
{
    type Item = Result<bytes::Bytes, std::io::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.next())
    }
}

/// How large a package may be, and how much each publisher may keep stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadLimits {
    /// The largest package, in bytes.
    pub max_package_bytes: u64,
    /// Per publisher: versions waiting for review, and package bytes in all.
    pub quota: PublisherQuota,
}

impl Default for UploadLimits {
    /// 50 MiB packages; per publisher 10 versions waiting for review and 1 GiB stored.
    fn default() -> Self {
        Self {
            max_package_bytes: 50 * 1024 * 1024,
            quota: PublisherQuota {
                max_pending_versions: 10,
                max_stored_bytes: 1024 * 1024 * 1024,
            },
        }
    }
}

impl<S: MarketStore, P: PackageStore, E: EntitlementCheck, C: Clock>
    MarketplaceService<S, P, E, C>
{
    /// Uploads a version (the owner): the package streams to the store while its SHA-256
    /// and size are computed, and the version waits for review. A version never changes
    /// once uploaded. What is refused is refused before reading when the announced size or
    /// the publisher's usage tells, and otherwise the moment the stream passes a limit; a
    /// package stored for a refused upload is removed again.
    ///
    /// # Errors
    /// [`MarketError::Invalid`] (bad semver, range or empty package),
    /// [`MarketError::VersionExists`], [`MarketError::Forbidden`],
    /// [`MarketError::PackageTooLarge`], [`MarketError::TooManyPendingVersions`],
    /// [`MarketError::StorageQuotaExceeded`], [`MarketError::UploadInterrupted`].
    pub async fn upload_version(
        &self,
        caller: Caller,
        name: &str,
        new: NewVersion,
        package: IncomingPackage,
    ) -> Result<ExtVersion, MarketError> {
        let extension = self.visible(Some(caller), name).await?;
        if extension.owner != caller.user_id {
            return Err(MarketError::Forbidden("only the owner uploads versions"));
        }
        let version = parse_version(&new.version)?;
        let engine = parse_engine(&new.engine)?;
        if new.changelog.chars().count() > 20_000 || new.changelog.contains('\0') {
            return Err(InvalidValue::new("changelog", "must be at most 20000 characters").into());
        }
        let limits = self.upload_limits;
        let announced = package.announced_bytes;
        if announced == Some(0) {
            return Err(empty_package());
        }
        if announced.is_some_and(|bytes| bytes > limits.max_package_bytes) {
            return Err(MarketError::PackageTooLarge {
                limit: limits.max_package_bytes,
            });
        }
        let existing = self.store.versions_of(extension.id).await?;
        if existing.iter().any(|v| v.version == version) {
            return Err(MarketError::VersionExists);
        }
        let usage = self.store.publisher_usage(extension.owner).await?;
        limits
            .quota
            .admits(usage, announced.unwrap_or(1))
            .map_err(|refusal| refused(refusal, limits.quota))?;
        let room = limits.quota.remaining_bytes(usage);
        let id = VersionId::generate();
        // A fresh key per upload: a lost race for the same version leaves nothing
        // overwritten, and the loser's package is removed below.
        let key = format!("{}/{}/{id}.pkg", extension.name, version);
        let (chunks, reading) =
            package_meter::metered(package.chunks, limits.max_package_bytes.min(room));
        let stored = self.packages.put_stream(&key, chunks).await;
        let (sha256, size) = match (reading.take(), stored) {
            (Metered::Complete { sha256, size }, Ok(())) if size > 0 => (sha256, size),
            (metered, stored) => {
                if stored.is_ok() {
                    self.discard(&key).await;
                }
                return Err(match metered {
                    Metered::Complete { size: 0, .. } => empty_package(),
                    Metered::TooLarge if room < limits.max_package_bytes => {
                        refused(QuotaRefusal::OverQuota, limits.quota)
                    }
                    Metered::TooLarge => MarketError::PackageTooLarge {
                        limit: limits.max_package_bytes,
                    },
                    Metered::Interrupted => MarketError::UploadInterrupted,
                    Metered::Complete { .. } => match stored {
                        Err(err) => err.into(),
                        Ok(()) => MarketError::UploadInterrupted,
                    },
                });
            }
        };
        let record = ExtVersion {
            id,
            extension_id: extension.id,
            version,
            engine,
            changelog: new.changelog.trim().to_owned(),
            sha256,
            size,
            state: ReviewState::Pending,
            reject_reason: None,
            yanked: false,
            downloads: 0,
            created_at: self.clock.now(),
            published_at: None,
        };
        let inserted = self
            .store
            .insert_version(record.clone(), key.clone(), extension.owner, limits.quota)
            .await;
        match inserted {
            Ok(VersionInsert::Inserted) => Ok(record),
            Ok(VersionInsert::Refused(refusal)) => {
                self.discard(&key).await;
                Err(refused(refusal, limits.quota))
            }
            Err(err) => {
                self.discard(&key).await;
                Err(match err {
                    StoreError::Duplicate { .. } => MarketError::VersionExists,
                    other => other.into(),
                })
            }
        }
    }

    /// Removes a package that no version records. A failure leaves an unused object (it
    /// is logged, and takes no publisher's quota).
    async fn discard(&self, key: &str) {
        if let Err(err) = self.packages.remove(key).await {
            tracing::warn!(key, error = %err, "an unrecorded package could not be removed");
        }
    }

    async fn version_of(
        &self,
        extension: &Extension,
        raw: &str,
    ) -> Result<ExtVersion, MarketError> {
        let version = semver::Version::parse(raw).map_err(|_| MarketError::VersionNotFound)?;
        self.store
            .versions_of(extension.id)
            .await?
            .into_iter()
            .find(|v| v.version == version)
            .ok_or(MarketError::VersionNotFound)
    }

    /// Yanks (or unyanks) a version (its owner or an admin): a yanked version stays
    /// downloadable by its exact version but is never the latest.
    ///
    /// # Errors
    /// [`MarketError::ExtensionNotFound`], [`MarketError::VersionNotFound`],
    /// [`MarketError::Forbidden`].
    pub async fn set_yanked(
        &self,
        caller: Caller,
        name: &str,
        version: &str,
        yanked: bool,
    ) -> Result<ExtVersion, MarketError> {
        let extension = self.managed(caller, name).await?;
        let found = self.version_of(&extension, version).await?;
        self.changing(
            extension.id,
            self.store
                .change_version(found.id, VersionChange::Yank(yanked), self.clock.now()),
        )
        .await?
        .ok_or(MarketError::VersionNotFound)
    }

    /// Approves or rejects a pending version (admins). A rejection carries the reason the
    /// owner sees.
    ///
    /// # Errors
    /// [`MarketError::Forbidden`], [`MarketError::VersionNotFound`],
    /// [`MarketError::WrongState`] when it is not pending.
    pub async fn review_version(
        &self,
        caller: Caller,
        name: &str,
        version: &str,
        to: ReviewState,
        reason: Option<String>,
    ) -> Result<ExtVersion, MarketError> {
        if !caller.is_admin() {
            return Err(MarketError::Forbidden("only admins review versions"));
        }
        let extension = self.stored(name).await?;
        let found = self.version_of(&extension, version).await?;
        let reason = match (to, reason.map(|r| r.trim().to_owned())) {
            (ReviewState::Rejected, Some(reason))
                if !reason.is_empty()
                    && reason.chars().count() <= 1000
                    && !reason.contains('\0') =>
            {
                Some(reason)
            }
            (ReviewState::Rejected, _) => {
                return Err(InvalidValue::new(
                    "reason",
                    "a rejection needs a reason of 1-1000 characters",
                )
                .into());
            }
            _ => None,
        };
        self.changing(
            extension.id,
            self.store.change_version(
                found.id,
                VersionChange::Review { to, reason },
                self.clock.now(),
            ),
        )
        .await?
        .ok_or(MarketError::WrongState(
            "only pending versions are reviewed",
        ))
    }

    /// Versions waiting for review, oldest first (admins).
    ///
    /// # Errors
    /// [`MarketError::Forbidden`].
    pub async fn pending(
        &self,
        caller: Caller,
        page: PageRequest,
    ) -> Result<Page<(Extension, ExtVersion)>, MarketError> {
        if !caller.is_admin() {
            return Err(MarketError::Forbidden("only admins review versions"));
        }
        Ok(self.store.pending(page).await?)
    }
}

fn empty_package() -> MarketError {
    InvalidValue::new("package", "must not be empty").into()
}

fn refused(refusal: QuotaRefusal, quota: PublisherQuota) -> MarketError {
    match refusal {
        QuotaRefusal::TooManyPending => MarketError::TooManyPendingVersions {
            limit: quota.max_pending_versions,
        },
        QuotaRefusal::OverQuota => MarketError::StorageQuotaExceeded {
            limit: quota.max_stored_bytes,
        },
    }
}
