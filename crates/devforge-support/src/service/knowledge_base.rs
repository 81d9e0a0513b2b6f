//! Knowledge-base rules: staff write articles (every text change is a revision), everyone
//! reads what is published, and readers vote on helpfulness.

use super::{Actor, SupportService};
use crate::article::{
    Article, ArticleHit, ArticleId, ArticlePatch, ArticleStatus, ArticleText, Label, Revision,
    Slug, Voter,
};
use crate::error::SupportError;
use crate::ports::{ArticleFilter, SupportStore};
use devforge_domain::SearchQuery;
use devforge_domain::{Clock, Page, PageRequest, StoreError};

/// A new article, as staff submit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewArticle {
    /// URL name.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Markdown body.
    pub body: String,
    /// Category label.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Initial status (default draft).
    pub status: Option<ArticleStatus>,
}

/// Changes to an article; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArticleChanges {
    /// New title.
    pub title: Option<String>,
    /// New body.
    pub body: Option<String>,
    /// New category.
    pub category: Option<String>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// New status.
    pub status: Option<ArticleStatus>,
}

fn staff_only(actor: Actor) -> Result<(), SupportError> {
    if actor.is_staff() {
        Ok(())
    } else {
        Err(SupportError::Forbidden("only staff manage articles"))
    }
}

impl<S: SupportStore, C: Clock> SupportService<S, C> {
    /// Writes a new article (staff); its text is revision 1.
    ///
    /// # Errors
    /// [`SupportError::Invalid`], [`SupportError::SlugTaken`].
    pub async fn create_article(
        &self,
        actor: Actor,
        new: NewArticle,
    ) -> Result<Article, SupportError> {
        staff_only(actor)?;
        let status = new.status.unwrap_or(ArticleStatus::Draft);
        let now = self.clock.now();
        let article = Article {
            id: ArticleId::generate(),
            slug: Slug::parse(&new.slug)?,
            text: ArticleText::parse(&new.title, &new.body)?,
            category: Label::parse("category", &new.category)?,
            tags: Label::parse_tags(&new.tags)?,
            status,
            author: actor.user_id,
            revision: 1,
            created_at: now,
            updated_at: now,
            published_at: (status == ArticleStatus::Published).then_some(now),
            views: 0,
            helpful_yes: 0,
            helpful_no: 0,
        };
        self.store
            .insert_article(article)
            .await
            .map_err(|err| match err {
                StoreError::Duplicate { .. } => SupportError::SlugTaken,
                other => other.into(),
            })
    }

    /// The article, if `viewer` may see it (published, or anything for staff).
    async fn readable(&self, viewer: Option<Actor>, slug: &str) -> Result<Article, SupportError> {
        let slug = Slug::parse(slug).map_err(|_| SupportError::ArticleNotFound)?;
        match self.store.find_article(&slug).await? {
            Some(article)
                if article.status == ArticleStatus::Published
                    || viewer.is_some_and(Actor::is_staff) =>
            {
                Ok(article)
            }
            _ => Err(SupportError::ArticleNotFound),
        }
    }

    /// Changes an article (staff). A changed title or body becomes the next revision;
    /// publishing for the first time sets `published_at`.
    ///
    /// # Errors
    /// [`SupportError::ArticleNotFound`], [`SupportError::Invalid`].
    pub async fn update_article(
        &self,
        actor: Actor,
        slug: &str,
        changes: ArticleChanges,
    ) -> Result<Article, SupportError> {
        staff_only(actor)?;
        let current = self.readable(Some(actor), slug).await?;
        let text = if changes.title.is_some() || changes.body.is_some() {
            let title = changes.title.as_deref().unwrap_or(&current.text.title);
            let body = changes.body.as_deref().unwrap_or(&current.text.body);
            Some(ArticleText::parse(title, body)?).filter(|text| *text != current.text)
        } else {
            None
        };
        let patch = ArticlePatch {
            text,
            category: changes
                .category
                .as_deref()
                .map(|c| Label::parse("category", c))
                .transpose()?,
            tags: changes.tags.as_deref().map(Label::parse_tags).transpose()?,
            status: changes.status,
        };
        self.store
            .update_article(&current.slug, patch, actor.user_id, self.clock.now())
            .await?
            .ok_or(SupportError::ArticleNotFound)
    }

    /// Archives an article (staff): it leaves the public list but keeps its history.
    ///
    /// # Errors
    /// [`SupportError::ArticleNotFound`].
    pub async fn archive_article(&self, actor: Actor, slug: &str) -> Result<Article, SupportError> {
        let changes = ArticleChanges {
            status: Some(ArticleStatus::Archived),
            ..ArticleChanges::default()
        };
        self.update_article(actor, slug, changes).await
    }

    /// Reads an article and counts the view.
    ///
    /// # Errors
    /// [`SupportError::ArticleNotFound`], also for unpublished ones to non-staff.
    pub async fn read_article(
        &self,
        viewer: Option<Actor>,
        slug: &str,
    ) -> Result<Article, SupportError> {
        let slug = Slug::parse(slug).map_err(|_| SupportError::ArticleNotFound)?;
        let published_only = !viewer.is_some_and(Actor::is_staff);
        self.store
            .record_view(&slug, published_only)
            .await?
            .ok_or(SupportError::ArticleNotFound)
    }

    /// Lists articles: published ones for everyone, any `status` for staff; ranked when
    /// there is a query.
    ///
    /// # Errors
    /// [`SupportError::Invalid`] for a bad filter; [`SupportError::Forbidden`] when a
    /// non-staff caller asks for unpublished articles.
    pub async fn articles(
        &self,
        viewer: Option<Actor>,
        status: Option<ArticleStatus>,
        category: Option<&str>,
        tag: Option<&str>,
        q: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<ArticleHit>, SupportError> {
        let staff = viewer.is_some_and(Actor::is_staff);
        if !staff && status.is_some_and(|s| s != ArticleStatus::Published) {
            return Err(SupportError::Forbidden(
                "only staff list unpublished articles",
            ));
        }
        let filter = ArticleFilter {
            status: if staff {
                status
            } else {
                Some(ArticleStatus::Published)
            },
            category: category.map(|c| Label::parse("category", c)).transpose()?,
            tag: tag.map(|t| Label::parse("tag", t)).transpose()?,
        };
        match q.map(SearchQuery::parse).transpose()? {
            Some(query) => self.search_articles(&query, &filter, page).await,
            None => Ok(self.store.list_articles(filter, page).await?),
        }
    }

    /// An article's revisions, newest first (staff).
    ///
    /// # Errors
    /// [`SupportError::ArticleNotFound`].
    pub async fn revisions(
        &self,
        actor: Actor,
        slug: &str,
        page: PageRequest,
    ) -> Result<Page<Revision>, SupportError> {
        staff_only(actor)?;
        let article = self.readable(Some(actor), slug).await?;
        Ok(self.store.list_revisions(article.id, page).await?)
    }

    /// One revision (staff).
    ///
    /// # Errors
    /// [`SupportError::ArticleNotFound`], [`SupportError::RevisionNotFound`].
    pub async fn revision(
        &self,
        actor: Actor,
        slug: &str,
        number: u32,
    ) -> Result<Revision, SupportError> {
        staff_only(actor)?;
        let article = self.readable(Some(actor), slug).await?;
        self.store
            .find_revision(article.id, number)
            .await?
            .ok_or(SupportError::RevisionNotFound)
    }

    /// Makes an old revision's text current again, as a new revision (staff).
    ///
    /// # Errors
    /// [`SupportError::ArticleNotFound`], [`SupportError::RevisionNotFound`].
    pub async fn restore_revision(
        &self,
        actor: Actor,
        slug: &str,
        number: u32,
    ) -> Result<Article, SupportError> {
        let revision = self.revision(actor, slug, number).await?;
        let changes = ArticleChanges {
            title: Some(revision.text.title),
            body: Some(revision.text.body),
            ..ArticleChanges::default()
        };
        self.update_article(actor, slug, changes).await
    }

    /// Records whether a published article helped: one vote per voter, changeable.
    ///
    /// # Errors
    /// [`SupportError::ArticleNotFound`].
    pub async fn feedback(
        &self,
        voter: Voter,
        slug: &str,
        helpful: bool,
    ) -> Result<Article, SupportError> {
        let article = self.readable(None, slug).await?;
        self.store
            .record_feedback(article.id, voter, helpful, self.clock.now())
            .await?
            .ok_or(SupportError::ArticleNotFound)
    }
}
