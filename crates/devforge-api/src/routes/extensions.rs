//! `/v1/extensions` and `/v1/me/extensions`: the marketplace. Anyone browses, searches and
//! downloads public extensions (paid ones with a license); logged-in users list and upload
//! their own; admins review versions (`/v1/admin/extensions/pending` lists the queue).

use crate::dto::admin::PageQuery;
use crate::dto::extensions::{
    CreateExtensionRequest, DeleteReviewQuery, DownloadStatsResponse, ExtensionListResponse,
    ExtensionResponse, ExtensionsQuery, OwnedExtensionResponse, PendingVersionResponse,
    RejectRequest, ReviewRequest, ReviewResponse, UpdateExtensionRequest, UploadQuery,
    VersionResponse,
};
use crate::dto::page::{PageResponse, page_request};
use crate::error::{ApiError, Problem};
use crate::extract::{Admin, Authenticated, MaybeAuthenticated, Valid, ValidQuery};
use crate::package_stream::with_streamed_package;
use crate::problem_responses::{NotAdmin, NotLoggedIn};
use crate::routes::market_caller;
use crate::state::AppState;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use base64::Engine as _;
use devforge_domain::UserId;
use devforge_identity::Principal;
use devforge_marketplace::{ExtensionChanges, NewExtension, NewVersion, ReviewState};
use futures_util::TryStreamExt as _;

/// Lists and searches public extensions, with facet counts (matches per category, the top
/// tags). Answered from the in-memory listing index; while it is being built or cannot
/// prove it is current, from the database, without facets and with `total` capped at
/// 10,000 listings or 1,000 search results.
#[utoipa::path(
    operation_id = "searchExtensions",
    tag = "marketplace",
    params(ExtensionsQuery),
    responses(
        (status = 200, description = "A page of public extensions", body = ExtensionListResponse),
        (status = 400, description = "Unknown category or sort", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad filter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("")]
pub async fn list_extensions(
    state: web::Data<AppState>,
    query: ValidQuery<ExtensionsQuery>,
) -> Result<web::Json<ExtensionListResponse>, ApiError> {
    let query = query.0;
    let page = page_request(query.page, query.per_page)?;
    let found = state
        .market
        .search(
            query.q.as_deref(),
            query.category.map(Into::into),
            query.tag.as_deref(),
            query.sort.map(Into::into),
            page,
        )
        .await?;
    Ok(web::Json(found.into()))
}

/// Lists a new extension (any logged-in user); it is public once a version is approved.
#[utoipa::path(
    operation_id = "createExtension",
    tag = "marketplace",
    security(("bearer" = [])),
    request_body = CreateExtensionRequest,
    responses(
        (status = 201, description = "Listed", body = ExtensionResponse),
        (status = 401, response = NotLoggedIn),
        (status = 409, description = "`name_taken`, or `name_too_similar` naming the existing extension", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad name, category, tags or links", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("")]
pub async fn create_extension(
    state: web::Data<AppState>,
    user: Authenticated,
    body: Valid<CreateExtensionRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let new = NewExtension {
        name: body.name,
        display_name: body.display_name,
        description: body.description,
        category: body.category.into(),
        tags: body.tags,
        repository_url: body.repository_url,
        homepage_url: body.homepage_url,
        entitlement: body.entitlement,
    };
    let extension = state
        .market
        .create_extension(market_caller(user.0), new)
        .await?;
    Ok(HttpResponse::Created().json(ExtensionResponse::new(extension, Vec::new())))
}

/// An extension with its public versions (all versions for its owner and admins).
#[utoipa::path(
    operation_id = "getExtension",
    tag = "marketplace",
    params(("name" = String, Path, description = "Extension name")),
    responses(
        (status = 200, description = "The extension", body = ExtensionResponse),
        (status = 404, description = "No such public extension", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{name}")]
pub async fn get_extension(
    state: web::Data<AppState>,
    viewer: MaybeAuthenticated,
    name: web::Path<String>,
) -> Result<web::Json<ExtensionResponse>, ApiError> {
    let detail = state
        .market
        .extension(viewer.0.map(market_caller), &name)
        .await?;
    Ok(web::Json(detail.into()))
}

/// Edits an extension's listing (its owner or an admin).
#[utoipa::path(
    operation_id = "updateExtension",
    tag = "marketplace",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Extension name")),
    request_body = UpdateExtensionRequest,
    responses(
        (status = 200, description = "Changed", body = ExtensionResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "Not the owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such extension", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/{name}")]
pub async fn update_extension(
    state: web::Data<AppState>,
    user: Authenticated,
    name: web::Path<String>,
    body: Valid<UpdateExtensionRequest>,
) -> Result<web::Json<ExtensionResponse>, ApiError> {
    let body = body.0;
    let changes = ExtensionChanges {
        display_name: body.display_name,
        description: body.description,
        category: body.category.map(Into::into),
        tags: body.tags,
        repository_url: body.repository_url,
        homepage_url: body.homepage_url,
        entitlement: body.entitlement,
    };
    let caller = market_caller(user.0);
    let extension = state
        .market
        .update_extension(caller, &name, changes)
        .await?;
    let detail = state
        .market
        .extension(Some(caller), extension.name.as_str())
        .await?;
    Ok(web::Json(detail.into()))
}

/// Uploads a version (the owner): the body is the package (`application/octet-stream`),
/// stored as it arrives; the server computes its SHA-256 and size. Versions never change
/// once uploaded. Each publisher may have `DEVFORGE_MAX_PENDING_VERSIONS` versions waiting
/// for review and `DEVFORGE_PUBLISHER_QUOTA_BYTES` of packages stored.
#[utoipa::path(
    operation_id = "uploadExtensionVersion",
    tag = "marketplace",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Extension name"), UploadQuery),
    request_body(description = "The package: its bytes as they are, at most `DEVFORGE_MAX_PACKAGE_BYTES`", content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Uploaded; waiting for review", body = VersionResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such extension", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "`upload_interrupted`: the body ended before its end", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`version_exists`, `too_many_pending_versions` or `storage_quota_exceeded`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Package too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/octet-stream`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad semver, range or empty package", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{name}/versions")]
pub async fn upload_version(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: Authenticated,
    name: web::Path<String>,
    query: ValidQuery<UploadQuery>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let octet = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/octet-stream"));
    if !octet {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "upload the package as application/octet-stream",
        ));
    }
    let announced_bytes = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let query = query.0;
    let new = NewVersion {
        version: query.version,
        changelog: query.changelog,
        engine: query.engine,
    };
    let caller = market_caller(user.0);
    let version = with_streamed_package(body, announced_bytes, |package| {
        state.market.upload_version(caller, &name, new, package)
    })
    .await?;
    Ok(HttpResponse::Created().json(VersionResponse::from(version)))
}

async fn yank_to(
    state: &AppState,
    principal: Principal,
    path: (String, String),
    yanked: bool,
) -> Result<web::Json<VersionResponse>, ApiError> {
    let (name, version) = path;
    let version = state
        .market
        .set_yanked(market_caller(principal), &name, &version, yanked)
        .await?;
    Ok(web::Json(version.into()))
}

/// Yanks a version (its owner or an admin): still downloadable by exact version, never
/// the latest.
#[utoipa::path(
    operation_id = "yankExtensionVersion",
    tag = "marketplace",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Extension name"), ("version" = String, Path, description = "Version")),
    responses(
        (status = 200, description = "Yanked", body = VersionResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "Not the owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such extension or version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{name}/versions/{version}/yank")]
pub async fn yank(
    state: web::Data<AppState>,
    user: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<web::Json<VersionResponse>, ApiError> {
    yank_to(&state, user.0, path.into_inner(), true).await
}

/// Undoes a yank (its owner or an admin).
#[utoipa::path(
    operation_id = "unyankExtensionVersion",
    tag = "marketplace",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Extension name"), ("version" = String, Path, description = "Version")),
    responses(
        (status = 200, description = "Unyanked", body = VersionResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "Not the owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such extension or version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{name}/versions/{version}/unyank")]
pub async fn unyank(
    state: web::Data<AppState>,
    user: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<web::Json<VersionResponse>, ApiError> {
    yank_to(&state, user.0, path.into_inner(), false).await
}

/// Approves a pending version (admins): it becomes public.
#[utoipa::path(
    operation_id = "approveExtensionVersion",
    tag = "marketplace",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Extension name"), ("version" = String, Path, description = "Version")),
    responses(
        (status = 200, description = "Approved", body = VersionResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
        (status = 404, description = "No such extension or version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`wrong_state`: not pending", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{name}/versions/{version}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<VersionResponse>, ApiError> {
    let (name, version) = path.into_inner();
    let reviewed = state
        .market
        .review_version(
            market_caller(admin.0),
            &name,
            &version,
            ReviewState::Approved,
            None,
        )
        .await?;
    Ok(web::Json(reviewed.into()))
}

/// Rejects a pending version with a reason the owner sees (admins).
#[utoipa::path(
    operation_id = "rejectExtensionVersion",
    tag = "marketplace",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Extension name"), ("version" = String, Path, description = "Version")),
    request_body = RejectRequest,
    responses(
        (status = 200, description = "Rejected", body = VersionResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
        (status = 404, description = "No such extension or version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`wrong_state`: not pending", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{name}/versions/{version}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: Valid<RejectRequest>,
) -> Result<web::Json<VersionResponse>, ApiError> {
    let (name, version) = path.into_inner();
    let reviewed = state
        .market
        .review_version(
            market_caller(admin.0),
            &name,
            &version,
            ReviewState::Rejected,
            Some(body.0.reason),
        )
        .await?;
    Ok(web::Json(reviewed.into()))
}

async fn serve(
    state: &AppState,
    viewer: Option<Principal>,
    name: &str,
    version: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let download = state
        .market
        .download(viewer.map(market_caller), name, version)
        .await?;
    let served = download.version;
    let digest = hex::decode(&served.sha256)
        .map(|raw| base64::engine::general_purpose::STANDARD.encode(raw))
        .unwrap_or_default();
    let filename = format!("attachment; filename=\"{name}-{}.pkg\"", served.version);
    let mut response = HttpResponse::Ok();
    response
        .content_type("application/octet-stream")
        .insert_header((header::ETAG, format!("\"{}\"", served.sha256)))
        .insert_header(("x-checksum-sha256", served.sha256.clone()))
        .insert_header(("digest", format!("sha-256={digest}")))
        .insert_header((
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&filename).unwrap_or(HeaderValue::from_static("attachment")),
        ))
        .no_chunking(served.size);
    // A store failing mid-download is logged here: the HTTP layer's own report of it is
    // filtered out of the logs with the client-caused errors it shares a target with.
    let key = format!("{name}@{}", served.version);
    let body = download.body.inspect_err(move |err| {
        tracing::error!(package = %key, error = %err, "a package download failed mid-stream");
    });
    Ok(response.streaming(body))
}

/// Downloads a version's package (yanked versions too, by exact version) and counts it. A
/// paid extension needs a logged-in user holding a license with its entitlement.
#[utoipa::path(
    operation_id = "downloadExtensionVersion",
    tag = "marketplace",
    params(("name" = String, Path, description = "Extension name"), ("version" = String, Path, description = "Version")),
    responses(
        (status = 200, description = "The package, with `Content-Length`, `ETag`, `Digest` and `x-checksum-sha256`", content_type = "application/octet-stream"),
        (status = 403, description = "`entitlement_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such public extension or version", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{name}/versions/{version}/download")]
pub async fn download_version(
    state: web::Data<AppState>,
    viewer: MaybeAuthenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (name, version) = path.into_inner();
    serve(&state, viewer.0, &name, Some(&version)).await
}

/// Downloads the latest version's package and counts it.
#[utoipa::path(
    operation_id = "downloadLatestExtensionVersion",
    tag = "marketplace",
    params(("name" = String, Path, description = "Extension name")),
    responses(
        (status = 200, description = "The package", content_type = "application/octet-stream"),
        (status = 403, description = "`entitlement_required`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such public extension", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{name}/latest/download")]
pub async fn download_latest(
    state: web::Data<AppState>,
    viewer: MaybeAuthenticated,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    serve(&state, viewer.0, &name, None).await
}

/// Download figures (its owner or an admin): total, per version, daily for 90 days.
#[utoipa::path(
    operation_id = "getExtensionStats",
    tag = "marketplace",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Extension name")),
    responses(
        (status = 200, description = "Figures", body = DownloadStatsResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "Not the owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such extension", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{name}/stats")]
pub async fn extension_stats(
    state: web::Data<AppState>,
    user: Authenticated,
    name: web::Path<String>,
) -> Result<web::Json<DownloadStatsResponse>, ApiError> {
    let stats = state
        .market
        .download_stats(market_caller(user.0), &name)
        .await?;
    Ok(web::Json(stats.into()))
}

/// A public extension's reviews, newest first.
#[utoipa::path(
    operation_id = "listExtensionReviews",
    tag = "marketplace",
    params(("name" = String, Path, description = "Extension name"), PageQuery),
    responses(
        (status = 200, description = "A page of reviews", body = PageResponse<ReviewResponse>),
        (status = 404, description = "No such public extension", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{name}/reviews")]
pub async fn list_reviews(
    state: web::Data<AppState>,
    name: web::Path<String>,
    query: ValidQuery<PageQuery>,
) -> Result<web::Json<PageResponse<ReviewResponse>>, ApiError> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let reviews = state.market.reviews(&name, page).await?;
    Ok(web::Json(PageResponse::from_page(reviews, Into::into)))
}

/// Reviews a public extension: once per user, never one's own.
#[utoipa::path(
    operation_id = "createExtensionReview",
    tag = "marketplace",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Extension name")),
    request_body = ReviewRequest,
    responses(
        (status = 201, description = "Reviewed", body = ReviewResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "The owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such public extension", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_reviewed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rating not 1-5, or text too long", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{name}/reviews")]
pub async fn create_review(
    state: web::Data<AppState>,
    user: Authenticated,
    name: web::Path<String>,
    body: Valid<ReviewRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let review = state
        .market
        .review(
            market_caller(user.0),
            &name,
            body.rating,
            body.title.as_deref(),
            body.body.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Created().json(ReviewResponse::from(review)))
}

/// Edits one's own review.
#[utoipa::path(
    operation_id = "editExtensionReview",
    tag = "marketplace",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Extension name")),
    request_body = ReviewRequest,
    responses(
        (status = 200, description = "Edited", body = ReviewResponse),
        (status = 401, response = NotLoggedIn),
        (status = 404, description = "No such extension, or no review of yours", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Rating not 1-5", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/{name}/reviews")]
pub async fn edit_review(
    state: web::Data<AppState>,
    user: Authenticated,
    name: web::Path<String>,
    body: Valid<ReviewRequest>,
) -> Result<web::Json<ReviewResponse>, ApiError> {
    let body = body.0;
    let review = state
        .market
        .edit_review(
            market_caller(user.0),
            &name,
            body.rating,
            body.title.as_deref(),
            body.body.as_deref(),
        )
        .await?;
    Ok(web::Json(review.into()))
}

/// Removes one's own review, or (admins) anyone's, named by `author`.
#[utoipa::path(
    operation_id = "deleteExtensionReview",
    tag = "marketplace",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "Extension name"), DeleteReviewQuery),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "Another user's review, not being an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such extension or review", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/{name}/reviews")]
pub async fn delete_review(
    state: web::Data<AppState>,
    user: Authenticated,
    name: web::Path<String>,
    query: ValidQuery<DeleteReviewQuery>,
) -> Result<HttpResponse, ApiError> {
    let author = query.0.author.map(UserId::from_uuid);
    state
        .market
        .delete_review(market_caller(user.0), &name, author)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's extensions with their review state and every version.
#[utoipa::path(
    operation_id = "listMyExtensions",
    tag = "marketplace",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of your extensions", body = PageResponse<OwnedExtensionResponse>),
        (status = 401, response = NotLoggedIn),
    )
)]
#[get("/extensions")]
pub async fn my_extensions(
    state: web::Data<AppState>,
    user: Authenticated,
    query: ValidQuery<PageQuery>,
) -> Result<web::Json<PageResponse<OwnedExtensionResponse>>, ApiError> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let owned = state
        .market
        .my_extensions(market_caller(user.0), page)
        .await?;
    Ok(web::Json(PageResponse::from_page(owned, Into::into)))
}

/// Versions waiting for review, oldest first (admins).
#[utoipa::path(
    operation_id = "listPendingExtensionVersions",
    tag = "admin",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "The review queue", body = PageResponse<PendingVersionResponse>),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
    )
)]
#[get("/extensions/pending")]
pub async fn pending_versions(
    state: web::Data<AppState>,
    admin: Admin,
    query: ValidQuery<PageQuery>,
) -> Result<web::Json<PageResponse<PendingVersionResponse>>, ApiError> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let pending = state.market.pending(market_caller(admin.0), page).await?;
    Ok(web::Json(PageResponse::from_page(
        pending,
        |(extension, version)| PendingVersionResponse {
            owner_id: extension.owner.as_uuid(),
            extension: extension.into(),
            version: version.into(),
        },
    )))
}
