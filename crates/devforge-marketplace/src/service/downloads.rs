//! Downloads: which version, whether the caller may have it, and counting it.

use super::{Caller, MarketplaceService};
use crate::error::MarketError;
use crate::ports::{DownloadStats, EntitlementCheck, MarketStore, PackageStore, PackageStream};
use crate::version::{ExtVersion, latest};
use chrono::Duration;
use devforge_domain::Clock;

/// A package on its way to the client.
pub struct Download {
    /// The version served.
    pub version: ExtVersion,
    /// Its bytes.
    pub body: PackageStream,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl<S: MarketStore, P: PackageStore, E: EntitlementCheck, C: Clock>
    MarketplaceService<S, P, E, C>
{
    /// Serves a version's package and counts the download. `version` is an exact version
    /// (yanked ones included) or `None` for the latest. A paid extension needs a caller
    /// holding a license with its entitlement.
    ///
    /// # Errors
    /// [`MarketError::ExtensionNotFound`], [`MarketError::VersionNotFound`],
    /// [`MarketError::LoginRequired`], [`MarketError::EntitlementRequired`].
    pub async fn download(
        &self,
        caller: Option<Caller>,
        name: &str,
        version: Option<&str>,
    ) -> Result<Download, MarketError> {
        // Not `visible`: a version pinned by exact number stays downloadable after a yank,
        // even when that leaves the extension without a public version.
        let extension = self.stored(name).await?;
        let versions = self.store.versions_of(extension.id).await?;
        let chosen = match version {
            None => latest(&versions).cloned(),
            Some(raw) => {
                let wanted =
                    semver::Version::parse(raw).map_err(|_| MarketError::VersionNotFound)?;
                versions
                    .iter()
                    .find(|v| {
                        v.version == wanted && v.state == crate::version::ReviewState::Approved
                    })
                    .cloned()
            }
        }
        .ok_or(MarketError::VersionNotFound)?;
        if let Some(entitlement) = extension.pricing.entitlement() {
            let caller = caller.ok_or(MarketError::LoginRequired)?;
            let holds = self
                .entitlements
                .holds(caller.user_id, entitlement)
                .await
                .map_err(MarketError::Licensing)?;
            if !holds {
                return Err(MarketError::EntitlementRequired(entitlement.to_owned()));
            }
        }
        let key = self
            .store
            .storage_key(chosen.id)
            .await?
            .ok_or(MarketError::VersionNotFound)?;
        let body = self.packages.open(&key).await?;
        let today = self.clock.now().date_naive();
        self.store
            .count_download(extension.id, chosen.id, today)
            .await?;
        // Kept listing pages stay (downloads would empty them under load); the index
        // takes the new count.
        self.reindex(extension.id).await;
        Ok(Download {
            version: chosen,
            body,
        })
    }

    /// Download figures (its owner or an admin): totals, per version, and the last 90 days.
    ///
    /// # Errors
    /// [`MarketError::ExtensionNotFound`], [`MarketError::Forbidden`].
    pub async fn download_stats(
        &self,
        caller: Caller,
        name: &str,
    ) -> Result<DownloadStats, MarketError> {
        let extension = self.managed(caller, name).await?;
        let since = (self.clock.now() - Duration::days(89)).date_naive();
        Ok(self.store.download_stats(extension.id, since).await?)
    }
}
