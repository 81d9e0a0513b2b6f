//! `/v1/kb/articles`: the knowledge base. Everyone reads and searches what is published
//! and may say whether it helped; staff write, publish, archive and restore revisions.

use crate::dto::admin::PageQuery;
use crate::dto::articles::{
    ArticleResponse, ArticleSummaryResponse, ArticlesQuery, CreateArticleRequest, FeedbackRequest,
    FeedbackResponse, RevisionResponse, UpdateArticleRequest,
};
use crate::dto::page::{PageResponse, page_request};
use crate::error::{ApiError, Problem};
use crate::extract::{MaybeAuthenticated, Staff, Valid, ValidQuery};
use crate::middleware::client_ip::client_ip_of;
use crate::problem_responses::{NotLoggedIn, NotStaff};
use crate::routes::support_actor;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use devforge_identity::Principal;
use devforge_support::{ArticleChanges, NewArticle, Voter};
use sha2::{Digest as _, Sha256};

fn revision_number(raw: &str) -> Result<u32, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no such revision of this article"))
}

/// Who votes: the account, or for anonymous readers an opaque key of their address (the
/// address itself is never stored) and today's date.
fn voter(state: &AppState, req: &HttpRequest, caller: Option<Principal>) -> Voter {
    if let Some(principal) = caller {
        return Voter::User(principal.user_id);
    }
    let address = client_ip_of(req.peer_addr(), req.headers(), &state.trusted_proxies)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let digest = Sha256::digest(format!("devforge-kb-feedback:{address}"));
    Voter::Anonymous {
        client: hex::encode(&digest[..16]),
        day: chrono::Utc::now().date_naive(),
    }
}

/// Writes an article (staff); its text is revision 1.
#[utoipa::path(
    operation_id = "createArticle",
    tag = "knowledge base",
    security(("bearer" = [])),
    request_body = CreateArticleRequest,
    responses(
        (status = 201, description = "Created", body = ArticleResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotStaff),
        (status = 409, description = "`slug_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad slug, title, body, category, tags or status", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("")]
pub async fn create_article(
    state: web::Data<AppState>,
    staff: Staff,
    body: Valid<CreateArticleRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let new = NewArticle {
        slug: body.slug,
        title: body.title,
        body: body.body,
        category: body.category,
        tags: body.tags,
        status: body.status.map(Into::into),
    };
    let article = state
        .support
        .create_article(support_actor(staff.0), new)
        .await?;
    Ok(HttpResponse::Created().json(ArticleResponse::from(article)))
}

/// Published articles (staff may ask for other statuses); ranked with snippets for `q`.
#[utoipa::path(
    operation_id = "listArticles",
    tag = "knowledge base",
    params(ArticlesQuery),
    responses(
        (status = 200, description = "A page of articles", body = PageResponse<ArticleSummaryResponse>),
        (status = 403, description = "Unpublished articles asked for by a non-staff caller", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("")]
pub async fn list_articles(
    state: web::Data<AppState>,
    caller: MaybeAuthenticated,
    query: ValidQuery<ArticlesQuery>,
) -> Result<web::Json<PageResponse<ArticleSummaryResponse>>, ApiError> {
    let query = query.0;
    let page = page_request(query.page, query.per_page)?;
    let articles = state
        .support
        .articles(
            caller.0.map(support_actor),
            query.status.map(Into::into),
            query.category.as_deref(),
            query.tag.as_deref(),
            query.q.as_deref(),
            page,
        )
        .await?;
    Ok(web::Json(PageResponse::from_page(articles, Into::into)))
}

/// Reads an article (published for everyone, any status for staff) and counts the view.
#[utoipa::path(
    operation_id = "getArticle",
    tag = "knowledge base",
    params(("slug" = String, Path, description = "Article slug")),
    responses(
        (status = 200, description = "The article", body = ArticleResponse),
        (status = 404, description = "No such published article", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{slug}")]
pub async fn get_article(
    state: web::Data<AppState>,
    caller: MaybeAuthenticated,
    slug: web::Path<String>,
) -> Result<web::Json<ArticleResponse>, ApiError> {
    let article = state
        .support
        .read_article(caller.0.map(support_actor), &slug)
        .await?;
    Ok(web::Json(article.into()))
}

/// Changes an article (staff); a new title or body becomes the next revision.
#[utoipa::path(
    operation_id = "updateArticle",
    tag = "knowledge base",
    security(("bearer" = [])),
    params(("slug" = String, Path, description = "Article slug")),
    request_body = UpdateArticleRequest,
    responses(
        (status = 200, description = "Changed", body = ArticleResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotStaff),
        (status = 404, description = "No such article", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/{slug}")]
pub async fn update_article(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    body: Valid<UpdateArticleRequest>,
) -> Result<web::Json<ArticleResponse>, ApiError> {
    let body = body.0;
    let changes = ArticleChanges {
        title: body.title,
        body: body.body,
        category: body.category,
        tags: body.tags,
        status: body.status.map(Into::into),
    };
    let article = state
        .support
        .update_article(support_actor(staff.0), &slug, changes)
        .await?;
    Ok(web::Json(article.into()))
}

/// Archives an article (staff): it leaves the public list; its history stays.
#[utoipa::path(
    operation_id = "archiveArticle",
    tag = "knowledge base",
    security(("bearer" = [])),
    params(("slug" = String, Path, description = "Article slug")),
    responses(
        (status = 204, description = "Archived"),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotStaff),
        (status = 404, description = "No such article", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/{slug}")]
pub async fn archive_article(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .support
        .archive_article(support_actor(staff.0), &slug)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An article's revisions, newest first (staff).
#[utoipa::path(
    operation_id = "listArticleRevisions",
    tag = "knowledge base",
    security(("bearer" = [])),
    params(("slug" = String, Path, description = "Article slug"), PageQuery),
    responses(
        (status = 200, description = "A page of revisions", body = PageResponse<RevisionResponse>),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotStaff),
        (status = 404, description = "No such article", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{slug}/revisions")]
pub async fn list_revisions(
    state: web::Data<AppState>,
    staff: Staff,
    slug: web::Path<String>,
    query: ValidQuery<PageQuery>,
) -> Result<web::Json<PageResponse<RevisionResponse>>, ApiError> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let revisions = state
        .support
        .revisions(support_actor(staff.0), &slug, page)
        .await?;
    Ok(web::Json(PageResponse::from_page(revisions, Into::into)))
}

/// One revision (staff).
#[utoipa::path(
    operation_id = "getArticleRevision",
    tag = "knowledge base",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path, description = "Article slug"),
        ("n" = u32, Path, description = "Revision number"),
    ),
    responses(
        (status = 200, description = "The revision", body = RevisionResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotStaff),
        (status = 404, description = "No such article or revision", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{slug}/revisions/{n}")]
pub async fn get_revision(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
) -> Result<web::Json<RevisionResponse>, ApiError> {
    let (slug, number) = path.into_inner();
    let revision = state
        .support
        .revision(support_actor(staff.0), &slug, revision_number(&number)?)
        .await?;
    Ok(web::Json(revision.into()))
}

/// Makes an old revision's text current again, as a new revision (staff).
#[utoipa::path(
    operation_id = "restoreArticleRevision",
    tag = "knowledge base",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path, description = "Article slug"),
        ("n" = u32, Path, description = "Revision number"),
    ),
    responses(
        (status = 200, description = "Restored", body = ArticleResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotStaff),
        (status = 404, description = "No such article or revision", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{slug}/revisions/{n}/restore")]
pub async fn restore_revision(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<(String, String)>,
) -> Result<web::Json<ArticleResponse>, ApiError> {
    let (slug, number) = path.into_inner();
    let article = state
        .support
        .restore_revision(support_actor(staff.0), &slug, revision_number(&number)?)
        .await?;
    Ok(web::Json(article.into()))
}

/// Says whether a published article helped: one vote per account (changeable), or per
/// anonymous client per day.
#[utoipa::path(
    operation_id = "sendArticleFeedback",
    tag = "knowledge base",
    params(("slug" = String, Path, description = "Article slug")),
    request_body = FeedbackRequest,
    responses(
        (status = 200, description = "Counted", body = FeedbackResponse),
        (status = 404, description = "No such published article", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{slug}/feedback")]
pub async fn feedback(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: MaybeAuthenticated,
    slug: web::Path<String>,
    body: Valid<FeedbackRequest>,
) -> Result<web::Json<FeedbackResponse>, ApiError> {
    let voter = voter(&state, &req, caller.0);
    let article = state.support.feedback(voter, &slug, body.0.helpful).await?;
    Ok(web::Json(FeedbackResponse {
        helpful_yes: article.helpful_yes,
        helpful_no: article.helpful_no,
    }))
}
