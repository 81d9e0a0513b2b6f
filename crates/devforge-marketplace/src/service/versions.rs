//! Uploading versions, yanking them, and the admins' review queue.

use super::{Caller, MarketplaceService};
use crate::error::MarketError;
use crate::extension::Extension;
use crate::ports::{EntitlementCheck, MarketStore, PackageStore, VersionChange};
use crate::version::{ExtVersion, ReviewState, VersionId, parse_engine, parse_version};
use devforge_domain::{Clock, InvalidValue, Page, PageRequest, StoreError};
use sha2::{Digest as _, Sha256};

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

impl<S: MarketStore, P: PackageStore, E: EntitlementCheck, C: Clock>
    MarketplaceService<S, P, E, C>
{
    /// Uploads a version (the owner): the package is stored, its SHA-256 and size computed
    /// here, and the version waits for review. A version never changes once uploaded.
    ///
    /// # Errors
    /// [`MarketError::Invalid`] (bad semver, range or empty package),
    /// [`MarketError::VersionExists`], [`MarketError::Forbidden`].
    pub async fn upload_version(
        &self,
        caller: Caller,
        name: &str,
        new: NewVersion,
        package: bytes::Bytes,
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
        if package.is_empty() {
            return Err(InvalidValue::new("package", "must not be empty").into());
        }
        let existing = self.store.versions_of(extension.id).await?;
        if existing.iter().any(|v| v.version == version) {
            return Err(MarketError::VersionExists);
        }
        let id = VersionId::generate();
        let sha256 = hex::encode(Sha256::digest(&package));
        let size = u64::try_from(package.len()).unwrap_or(u64::MAX);
        // A fresh key per upload: a lost race for the same version leaves an unused blob,
        // never an overwritten one.
        let key = format!("{}/{}/{id}.pkg", extension.name, version);
        self.packages.put(&key, package).await?;
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
        self.store
            .insert_version(record, key)
            .await
            .map_err(|err| match err {
                StoreError::Duplicate { .. } => MarketError::VersionExists,
                other => other.into(),
            })
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
