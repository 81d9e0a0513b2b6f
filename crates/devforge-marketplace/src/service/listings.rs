//! Creating, editing, listing and searching extensions.

use super::{Caller, MarketplaceService};
use crate::error::MarketError;
use crate::extension::{ExtCategory, Extension, ExtensionId, Pricing, Tag, parse_line, parse_url};
use crate::index::Listing;
use crate::name::ExtensionName;
use crate::ports::{
    EntitlementCheck, ExtSort, ExtensionPatch, ExtensionSearch, MarketStats, MarketStore,
    PackageStore,
};
use crate::version::{ExtVersion, listing_state};
use devforge_domain::{Clock, InvalidValue, Page, PageRequest, SearchQuery, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// How long a listing waits for a listing index whose feed is late before it reads the
/// database. A late proof comes back within a few hundred milliseconds when the database's
/// processes wait for a CPU; reading the database meanwhile adds every listing to that
/// load. The freshness rule is not loosened: the answer given after the wait is proven as
/// any other.
const LATE_INDEX_WAIT: Duration = Duration::from_secs(1);

/// A new extension as its owner submits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExtension {
    /// Unique name.
    pub name: String,
    /// Shown name.
    pub display_name: String,
    /// What it does.
    pub description: String,
    /// Area.
    pub category: ExtCategory,
    /// Tags.
    pub tags: Vec<String>,
    /// Source code link.
    pub repository_url: Option<String>,
    /// Home page link.
    pub homepage_url: Option<String>,
    /// The entitlement a license must carry to download it; `None` for free.
    pub entitlement: Option<String>,
}

/// Changes to a listing; `None` leaves a field as it is, `Some(None)` clears an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionChanges {
    /// New shown name.
    pub display_name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New category.
    pub category: Option<ExtCategory>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// New source code link.
    pub repository_url: Option<Option<String>>,
    /// New home page.
    pub homepage_url: Option<Option<String>>,
    /// New entitlement (`Some(None)`: free).
    pub entitlement: Option<Option<String>>,
}

/// An extension with its versions (public ones, or all for its owner and admins).
#[derive(Debug, Clone, PartialEq)]
pub struct ExtensionDetail {
    /// The listing.
    pub extension: Extension,
    /// Versions, newest first.
    pub versions: Vec<ExtVersion>,
}

/// One of the caller's extensions with where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedExtension {
    /// The listing.
    pub extension: Extension,
    /// `draft`, `pending`, `public`, `rejected` or `yanked`.
    pub state: &'static str,
    /// All its versions, newest first (with review states and reasons).
    pub versions: Vec<ExtVersion>,
}

fn description(raw: &str) -> Result<String, InvalidValue> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > 2000 || text.contains('\0') {
        return Err(InvalidValue::new(
            "description",
            "must be 1-2000 characters",
        ));
    }
    Ok(text.to_owned())
}

fn newest_first(mut versions: Vec<ExtVersion>) -> Vec<ExtVersion> {
    versions.sort_by(|a, b| b.version.cmp(&a.version));
    versions
}

impl<S: MarketStore, P: PackageStore, E: EntitlementCheck, C: Clock>
    MarketplaceService<S, P, E, C>
{
    /// Lists a new extension (any logged-in account). It stays out of public view until an
    /// admin approves one of its versions.
    ///
    /// # Errors
    /// [`MarketError::Invalid`], [`MarketError::NameTaken`],
    /// [`MarketError::NameTooSimilar`] naming the existing extension.
    pub async fn create_extension(
        &self,
        caller: Caller,
        new: NewExtension,
    ) -> Result<Extension, MarketError> {
        let name = ExtensionName::parse(&new.name)?;
        if self.store.find_extension(&name).await?.is_some() {
            return Err(MarketError::NameTaken);
        }
        let length = name.normalized().chars().count();
        let near = self
            .store
            .names_near(length.saturating_sub(1)..=length + 1, caller.user_id)
            .await?;
        if let Some(existing) = near.into_iter().find(|other| name.too_similar_to(other)) {
            return Err(MarketError::NameTooSimilar(existing));
        }
        let now = self.clock.now();
        let extension = Extension {
            id: ExtensionId::generate(),
            display_name: parse_line("display_name", &new.display_name, 100)?,
            description: description(&new.description)?,
            category: new.category,
            tags: Tag::parse_all(&new.tags)?,
            repository_url: parse_url("repository_url", new.repository_url.as_deref())?,
            homepage_url: parse_url("homepage_url", new.homepage_url.as_deref())?,
            pricing: match new.entitlement.as_deref() {
                Some(entitlement) => Pricing::paid(entitlement)?,
                None => Pricing::Free,
            },
            name,
            owner: caller.user_id,
            latest_version: None,
            published_at: None,
            downloads: 0,
            rating_sum: 0,
            rating_count: 0,
            created_at: now,
            updated_at: now,
        };
        self.store
            .insert_extension(extension)
            .await
            .map_err(|err| match err {
                StoreError::Duplicate { constraint } if constraint.contains("normalized") => {
                    MarketError::NameTooSimilar(new.name.clone())
                }
                StoreError::Duplicate { .. } => MarketError::NameTaken,
                other => other.into(),
            })
    }

    /// Edits a listing (its owner or an admin).
    ///
    /// # Errors
    /// [`MarketError::ExtensionNotFound`], [`MarketError::Forbidden`],
    /// [`MarketError::Invalid`].
    pub async fn update_extension(
        &self,
        caller: Caller,
        name: &str,
        changes: ExtensionChanges,
    ) -> Result<Extension, MarketError> {
        let extension = self.managed(caller, name).await?;
        let patch = ExtensionPatch {
            display_name: changes
                .display_name
                .as_deref()
                .map(|d| parse_line("display_name", d, 100))
                .transpose()?,
            description: changes
                .description
                .as_deref()
                .map(description)
                .transpose()?,
            category: changes.category,
            tags: changes.tags.as_deref().map(Tag::parse_all).transpose()?,
            repository_url: changes
                .repository_url
                .map(|url| parse_url("repository_url", url.as_deref()))
                .transpose()?,
            homepage_url: changes
                .homepage_url
                .map(|url| parse_url("homepage_url", url.as_deref()))
                .transpose()?,
            pricing: changes
                .entitlement
                .map(|e| e.as_deref().map_or(Ok(Pricing::Free), Pricing::paid))
                .transpose()?,
        };
        self.changing(
            extension.id,
            self.store
                .update_extension(extension.id, patch, self.clock.now()),
        )
        .await?
        .ok_or(MarketError::ExtensionNotFound)
    }

    /// An extension with its versions: public ones for everyone, all for its owner and
    /// admins.
    ///
    /// # Errors
    /// [`MarketError::ExtensionNotFound`].
    pub async fn extension(
        &self,
        viewer: Option<Caller>,
        name: &str,
    ) -> Result<ExtensionDetail, MarketError> {
        let extension = self.visible(viewer, name).await?;
        let manages = viewer.is_some_and(|v| v.manages(&extension));
        let versions = self
            .store
            .versions_of(extension.id)
            .await?
            .into_iter()
            .filter(|v| manages || v.is_public())
            .collect();
        Ok(ExtensionDetail {
            extension,
            versions: newest_first(versions),
        })
    }

    /// The caller's extensions with where each stands in review.
    ///
    /// # Errors
    /// [`MarketError::Store`].
    pub async fn my_extensions(
        &self,
        caller: Caller,
        page: PageRequest,
    ) -> Result<Page<OwnedExtension>, MarketError> {
        let owned = self.store.owned_by(caller.user_id, page).await?;
        let mut items = Vec::with_capacity(owned.items.len());
        for extension in owned.items {
            let versions = newest_first(self.store.versions_of(extension.id).await?);
            items.push(OwnedExtension {
                state: listing_state(&versions),
                extension,
                versions,
            });
        }
        Ok(Page {
            items,
            request: owned.request,
            total: owned.total,
        })
    }

    /// Public extensions, filtered, ranked or sorted. With `q` the default order is
    /// relevance (an exact name first); without, downloads. Answered by the listing index
    /// when it is current (with facet counts), or once it is again when its feed is only
    /// late (waiting at most `LATE_INDEX_WAIT`), otherwise by the store.
    ///
    /// # Errors
    /// [`MarketError::Invalid`] for a bad filter.
    pub async fn search(
        &self,
        q: Option<&str>,
        category: Option<ExtCategory>,
        tag: Option<&str>,
        sort: Option<ExtSort>,
        page: PageRequest,
    ) -> Result<Listing, MarketError> {
        let query = q
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| SearchQuery::parse_typing(q).map(|parsed| (parsed, q.to_lowercase())))
            .transpose()?;
        let sort = match (sort, &query) {
            (Some(ExtSort::Relevance), None) | (None, None) => ExtSort::Downloads,
            (Some(sort), _) => sort,
            (None, Some(_)) => ExtSort::Relevance,
        };
        let tag = tag
            .map(|t| Tag::parse_all(&[t.to_owned()]))
            .transpose()
            .map_err(|_| {
                InvalidValue::new("tag", "must be 1-30 characters of a-z, 0-9 and dashes")
            })?
            .and_then(|mut tags| tags.pop());
        let search = ExtensionSearch {
            query,
            category,
            tag,
            sort,
        };
        if let Some(index) = &self.index {
            if let Some(listing) = index.search(&search, page) {
                return Ok(listing);
            }
            if index.wait_current(LATE_INDEX_WAIT).await
                && let Some(listing) = index.search(&search, page)
            {
                return Ok(listing);
            }
        }
        let store = Arc::clone(&self.store);
        let read = |(search, page)| async move { store.search(search, page).await };
        let page = self
            .listings
            .page((search, page), self.clock.now(), read)
            .await?;
        Ok(Listing { page, facets: None })
    }

    /// The marketplace figures of the admin dashboard.
    ///
    /// # Errors
    /// [`MarketError::Store`].
    pub async fn stats(&self) -> Result<MarketStats, MarketError> {
        Ok(self.store.market_stats().await?)
    }
}
