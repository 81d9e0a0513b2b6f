//! Ratings and reviews: one per user per public extension, never by its owner.

use super::{Caller, MarketplaceService};
use crate::error::MarketError;
use crate::extension::ExtensionId;
use crate::ports::{EntitlementCheck, MarketStore, PackageStore};
use crate::review::{Rating, Review, ReviewId};
use devforge_domain::{Clock, InvalidValue, Page, PageRequest, StoreError};

fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, InvalidValue> {
    let Some(text) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max || text.contains('\0') {
        return Err(InvalidValue::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(Some(text.to_owned()))
}

impl<S: MarketStore, P: PackageStore, E: EntitlementCheck, C: Clock>
    MarketplaceService<S, P, E, C>
{
    async fn public_id(
        &self,
        name: &str,
    ) -> Result<(ExtensionId, crate::extension::Extension), MarketError> {
        let extension = self.visible(None, name).await?;
        Ok((extension.id, extension))
    }

    /// Reviews a public extension (once per user; never one's own).
    ///
    /// # Errors
    /// [`MarketError::AlreadyReviewed`], [`MarketError::Forbidden`] for the owner,
    /// [`MarketError::Invalid`].
    pub async fn review(
        &self,
        caller: Caller,
        name: &str,
        rating: i64,
        title: Option<&str>,
        body: Option<&str>,
    ) -> Result<Review, MarketError> {
        let (id, extension) = self.public_id(name).await?;
        if extension.owner == caller.user_id {
            return Err(MarketError::Forbidden(
                "owners cannot review their own extension",
            ));
        }
        let now = self.clock.now();
        let review = Review {
            id: ReviewId::generate(),
            extension_id: id,
            author: caller.user_id,
            rating: Rating::new(rating)?,
            title: optional_text("title", title, 100)?,
            body: optional_text("body", body, 5000)?,
            created_at: now,
            updated_at: now,
        };
        self.changing(id, self.store.insert_review(review))
            .await
            .map_err(|err| match err {
                StoreError::Duplicate { .. } => MarketError::AlreadyReviewed,
                other => other.into(),
            })
    }

    /// Edits the caller's own review.
    ///
    /// # Errors
    /// [`MarketError::ReviewNotFound`], [`MarketError::Invalid`].
    pub async fn edit_review(
        &self,
        caller: Caller,
        name: &str,
        rating: i64,
        title: Option<&str>,
        body: Option<&str>,
    ) -> Result<Review, MarketError> {
        let (id, _) = self.public_id(name).await?;
        let rating = Rating::new(rating)?;
        let title = optional_text("title", title, 100)?;
        let body = optional_text("body", body, 5000)?;
        self.changing(
            id,
            self.store
                .update_review(id, caller.user_id, rating, title, body, self.clock.now()),
        )
        .await?
        .ok_or(MarketError::ReviewNotFound)
    }

    /// Removes a review: one's own, or (admins) anyone's, named by its author.
    ///
    /// # Errors
    /// [`MarketError::ReviewNotFound`], [`MarketError::Forbidden`].
    pub async fn delete_review(
        &self,
        caller: Caller,
        name: &str,
        author: Option<devforge_domain::UserId>,
    ) -> Result<(), MarketError> {
        let (id, _) = self.public_id(name).await?;
        let author = match author {
            Some(other) if other != caller.user_id && !caller.is_admin() => {
                return Err(MarketError::Forbidden("only admins remove others' reviews"));
            }
            Some(author) => author,
            None => caller.user_id,
        };
        self.changing(id, self.store.delete_review(id, author))
            .await?
            .map(|_| ())
            .ok_or(MarketError::ReviewNotFound)
    }

    /// A public extension's reviews, newest first.
    ///
    /// # Errors
    /// [`MarketError::ExtensionNotFound`].
    pub async fn reviews(
        &self,
        name: &str,
        page: PageRequest,
    ) -> Result<Page<Review>, MarketError> {
        let (id, _) = self.public_id(name).await?;
        Ok(self.store.list_reviews(id, page).await?)
    }
}
