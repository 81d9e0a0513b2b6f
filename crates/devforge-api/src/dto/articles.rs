//! Bodies of the `/v1/kb/articles` routes.

use super::tickets::mirror_enum;
use chrono::{DateTime, Utc};
use devforge_support::{Article, ArticleHit, ArticleStatus, Revision};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

mirror_enum!(
    /// Who may read an article.
    ArticleStatusDto => ArticleStatus {
        /// Staff only, being written.
        Draft,
        /// Everyone.
        Published,
        /// Staff only, retired.
        Archived,
    }
);

/// `POST /v1/kb/articles`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArticleRequest {
    /// URL name: 3-100 characters of a-z, 0-9 and single inner dashes. Fixed once created.
    #[garde(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub slug: String,
    /// 1-200 characters.
    #[garde(length(chars, min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Markdown, up to 100,000 characters.
    #[garde(length(chars, min = 1, max = 100_000))]
    #[schema(min_length = 1, max_length = 100000)]
    pub body: String,
    /// 1-40 characters of a-z, 0-9 and dashes.
    #[garde(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub category: String,
    /// Up to 10 labels like the category.
    #[serde(default)]
    #[garde(length(max = 10))]
    #[schema(max_items = 10)]
    pub tags: Vec<String>,
    /// Default `draft`.
    #[garde(skip)]
    pub status: Option<ArticleStatusDto>,
}

/// `PATCH /v1/kb/articles/{slug}`: a changed title or body becomes a new revision.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateArticleRequest {
    /// New title.
    #[garde(inner(length(chars, min = 1, max = 200)))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    /// New body.
    #[garde(inner(length(chars, min = 1, max = 100_000)))]
    #[schema(min_length = 1, max_length = 100000)]
    pub body: Option<String>,
    /// New category.
    #[garde(inner(length(min = 1, max = 40)))]
    #[schema(min_length = 1, max_length = 40)]
    pub category: Option<String>,
    /// New tags (replacing the old ones).
    #[garde(inner(length(max = 10)))]
    #[schema(max_items = 10)]
    pub tags: Option<Vec<String>>,
    /// New status.
    #[garde(skip)]
    pub status: Option<ArticleStatusDto>,
}

/// Filters of `GET /v1/kb/articles`.
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ArticlesQuery {
    /// Ranked full text over title and body.
    #[garde(inner(length(chars, max = 200)))]
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only this category.
    #[garde(inner(length(min = 1, max = 40)))]
    #[param(min_length = 1, max_length = 40)]
    pub category: Option<String>,
    /// Only with this tag.
    #[garde(inner(length(min = 1, max = 40)))]
    #[param(min_length = 1, max_length = 40)]
    pub tag: Option<String>,
    /// Staff: articles in this status (default: published).
    #[garde(skip)]
    pub status: Option<ArticleStatusDto>,
    /// Page number (from 1).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (1 to 100, default 20).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

/// `POST /v1/kb/articles/{slug}/feedback`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// Whether the article helped.
    #[garde(skip)]
    pub helpful: bool,
}

/// An article.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleResponse {
    /// Identifier.
    pub id: uuid::Uuid,
    /// URL name.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Markdown.
    pub body: String,
    /// Category.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Visibility.
    pub status: ArticleStatusDto,
    /// Who created it.
    pub author_id: uuid::Uuid,
    /// Number of the current revision.
    pub revision: u32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// First published.
    pub published_at: Option<DateTime<Utc>>,
    /// Times read.
    pub views: u64,
    /// Readers it helped.
    pub helpful_yes: u64,
    /// Readers it did not.
    pub helpful_no: u64,
}

impl From<Article> for ArticleResponse {
    fn from(article: Article) -> Self {
        Self {
            id: article.id.as_uuid(),
            slug: article.slug.as_str().to_owned(),
            title: article.text.title,
            body: article.text.body,
            category: article.category.as_str().to_owned(),
            tags: article.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            status: article.status.into(),
            author_id: article.author.as_uuid(),
            revision: article.revision,
            created_at: article.created_at,
            updated_at: article.updated_at,
            published_at: article.published_at,
            views: article.views,
            helpful_yes: article.helpful_yes,
            helpful_no: article.helpful_no,
        }
    }
}

/// An article in a list: no body, and for searches a highlighted snippet.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleSummaryResponse {
    /// URL name.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Category.
    pub category: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Visibility.
    pub status: ArticleStatusDto,
    /// First published.
    pub published_at: Option<DateTime<Utc>>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Times read.
    pub views: u64,
    /// Readers it helped.
    pub helpful_yes: u64,
    /// Readers it did not.
    pub helpful_no: u64,
    /// For searches: an HTML-escaped excerpt of the body with matches in `<mark>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

impl From<ArticleHit> for ArticleSummaryResponse {
    fn from(hit: ArticleHit) -> Self {
        let article = hit.article;
        Self {
            slug: article.slug.as_str().to_owned(),
            title: article.text.title,
            category: article.category.as_str().to_owned(),
            tags: article.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            status: article.status.into(),
            published_at: article.published_at,
            updated_at: article.updated_at,
            views: article.views,
            helpful_yes: article.helpful_yes,
            helpful_no: article.helpful_no,
            snippet: hit.snippet.map(|s| s.as_html().to_owned()),
        }
    }
}

/// A stored version of an article's text.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionResponse {
    /// 1, 2, ...
    pub number: u32,
    /// The title then.
    pub title: String,
    /// The body then.
    pub body: String,
    /// Who wrote this version.
    pub author_id: uuid::Uuid,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<Revision> for RevisionResponse {
    fn from(revision: Revision) -> Self {
        Self {
            number: revision.number,
            title: revision.text.title,
            body: revision.text.body,
            author_id: revision.author.as_uuid(),
            created_at: revision.created_at,
        }
    }
}

/// The vote counts after `POST /v1/kb/articles/{slug}/feedback`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackResponse {
    /// Readers it helped.
    pub helpful_yes: u64,
    /// Readers it did not.
    pub helpful_no: u64,
}
