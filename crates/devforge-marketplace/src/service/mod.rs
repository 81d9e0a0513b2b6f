//! The marketplace service: listings in `listings`, versions and the review queue in
//! `versions`, ratings in `reviews`, downloads in `downloads`.

mod downloads;
mod listings;
mod package_meter;
mod reviews;
mod versions;

pub use downloads::Download;
pub use listings::{ExtensionChanges, ExtensionDetail, NewExtension, OwnedExtension};
pub use versions::{IncomingPackage, NewVersion, UploadLimits};

use crate::error::MarketError;
use crate::extension::{Extension, ExtensionId};
use crate::index::{ListingIndex, ListingUpdate};
use crate::listing_cache::ListingCache;
use crate::name::ExtensionName;
use crate::ports::{EntitlementCheck, MarketStore, PackageStore};
use devforge_domain::{Clock, Role, UserId};
use std::future::Future;
use std::sync::Arc;

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The account.
    pub user_id: UserId,
    /// Its current role.
    pub role: Role,
}

impl Caller {
    fn is_admin(self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the caller owns `extension` or administers the marketplace.
    fn manages(self, extension: &Extension) -> bool {
        self.is_admin() || extension.owner == self.user_id
    }
}

/// Extensions, versions, reviews and downloads.
#[derive(Debug, Clone)]
pub struct MarketplaceService<S, P, E, C> {
    /// Shared with listing reads that finish in the background.
    store: Arc<S>,
    packages: P,
    entitlements: E,
    clock: C,
    listings: Arc<ListingCache>,
    /// Answers public listings from memory when it can prove it is current.
    index: Option<Arc<dyn ListingIndex>>,
    upload_limits: UploadLimits,
}

impl<S: MarketStore, P: PackageStore, E: EntitlementCheck, C: Clock>
    MarketplaceService<S, P, E, C>
{
    /// A service over its ports, reading every listing from `store`.
    pub fn new(store: S, packages: P, entitlements: E, clock: C) -> Self {
        Self {
            store: Arc::new(store),
            packages,
            entitlements,
            clock,
            listings: Arc::new(ListingCache::disabled()),
            index: None,
            upload_limits: UploadLimits::default(),
        }
    }

    /// The same service, bounding packages and what each publisher keeps stored by
    /// `limits`.
    #[must_use]
    pub fn with_upload_limits(self, limits: UploadLimits) -> Self {
        Self {
            upload_limits: limits,
            ..self
        }
    }

    /// The same service, answering public listings from `index` whenever it is current,
    /// and handing it every change this service commits.
    #[must_use]
    pub fn with_index(self, index: Arc<dyn ListingIndex>) -> Self {
        Self {
            index: Some(index),
            ..self
        }
    }

    /// The same service, answering repeated public listings from `cache`.
    #[must_use]
    pub fn with_listing_cache(self, cache: ListingCache) -> Self {
        Self {
            listings: Arc::new(cache),
            ..self
        }
    }

    /// The kept listing pages, for a follower of other processes' changes to drop (see
    /// [`crate::index::ChangesDropCache`]).
    #[must_use]
    pub fn listing_cache(&self) -> Arc<ListingCache> {
        Arc::clone(&self.listings)
    }

    /// The same service over another store and entitlement check (one worker's pool).
    pub fn with_parts<S2: MarketStore, E2: EntitlementCheck>(
        &self,
        store: S2,
        entitlements: E2,
    ) -> MarketplaceService<S2, P, E2, C>
    where
        P: Clone,
        C: Clone,
    {
        MarketplaceService {
            store: Arc::new(store),
            packages: self.packages.clone(),
            entitlements,
            clock: self.clock.clone(),
            listings: Arc::clone(&self.listings),
            index: self.index.clone(),
            upload_limits: self.upload_limits,
        }
    }

    /// Runs `change` to what the public listing of extension `id` shows, then drops the
    /// kept listing pages and hands the index the extension as stored now (also when the
    /// change failed: an error does not prove that nothing was written).
    async fn changing<T>(&self, id: ExtensionId, change: impl Future<Output = T>) -> T {
        let outcome = change.await;
        self.listings.invalidate();
        self.reindex(id).await;
        outcome
    }

    /// Reads extension `id` back for the listing index, so this process's next listing
    /// shows what it just committed. A failed read leaves the index refusing to answer
    /// until the extension is read again.
    async fn reindex(&self, id: ExtensionId) {
        let Some(index) = &self.index else { return };
        let read_started = std::time::Instant::now();
        match self.store.extension_by_id(id).await {
            Ok(current) => index.apply(vec![ListingUpdate {
                id,
                current,
                read_started,
            }]),
            Err(_) => index.lost(id),
        }
    }

    /// The extension named `name` (`raw`), public or not.
    async fn stored(&self, raw: &str) -> Result<Extension, MarketError> {
        let name = ExtensionName::parse(raw).map_err(|_| MarketError::ExtensionNotFound)?;
        self.store
            .find_extension(&name)
            .await?
            .ok_or(MarketError::ExtensionNotFound)
    }

    /// The extension if `viewer` may see it: public ones for everyone, the others for their
    /// owner and admins.
    async fn visible(&self, viewer: Option<Caller>, raw: &str) -> Result<Extension, MarketError> {
        let extension = self.stored(raw).await?;
        if extension.is_public() || viewer.is_some_and(|v| v.manages(&extension)) {
            Ok(extension)
        } else {
            Err(MarketError::ExtensionNotFound)
        }
    }

    /// The extension if `caller` manages it (others: not found when it is not public,
    /// forbidden when it is).
    async fn managed(&self, caller: Caller, raw: &str) -> Result<Extension, MarketError> {
        let extension = self.visible(Some(caller), raw).await?;
        if caller.manages(&extension) {
            Ok(extension)
        } else {
            Err(MarketError::Forbidden(
                "only the owner or an admin may do this",
            ))
        }
    }
}
