//! `/v1/admin`: accounts, dashboard figures and the audit trail. Admins only.

use crate::dto::admin::{
    AdminUserResponse, AuditEntryResponse, PageQuery, StatsResponse, UpdateUserRequest, UsersQuery,
};
use crate::dto::page::{PageResponse, page_request};
use crate::error::{ApiError, Problem};
use crate::extract::{Admin, Valid, ValidQuery};
use crate::problem_responses::{NotAdmin, NotLoggedIn};
use crate::state::AppState;
use actix_web::{get, patch, web};
use devforge_domain::{InvalidValue, UserId};
use devforge_identity::{UserFilter, UserPatch};

/// Lists accounts, filtered by role and email text.
#[utoipa::path(
    operation_id = "listUsers",
    tag = "admin",
    security(("bearer" = [])),
    params(UsersQuery),
    responses(
        (status = 200, description = "A page of accounts", body = PageResponse<AdminUserResponse>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
    )
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    _admin: Admin,
    query: ValidQuery<UsersQuery>,
) -> Result<web::Json<PageResponse<AdminUserResponse>>, ApiError> {
    let query = query.0;
    let page = page_request(query.page, query.per_page)?;
    if query
        .email
        .as_deref()
        .is_some_and(|text| text.chars().any(char::is_control))
    {
        return Err(InvalidValue::new("email", "must not contain control characters").into());
    }
    let filter = UserFilter {
        role: query.role.map(Into::into),
        email_contains: query.email,
    };
    let users = state.identity.list_users(filter, page).await?;
    Ok(web::Json(PageResponse::from_page(users, Into::into)))
}

/// Changes an account's role or disables it. Disabling ends its sessions at once.
#[utoipa::path(
    operation_id = "updateUser",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Account id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The updated account", body = AdminUserResponse),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
        (status = 404, description = "No such account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "An admin changing their own role or disabling themself", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<uuid::Uuid>,
    body: Valid<UpdateUserRequest>,
) -> Result<web::Json<AdminUserResponse>, ApiError> {
    let patch = UserPatch {
        role: body.0.role.map(Into::into),
        disabled: body.0.disabled,
    };
    let user = state
        .identity
        .update_user(admin.0, UserId::from_uuid(id.into_inner()), patch)
        .await?;
    Ok(web::Json(user.into()))
}

/// Figures for the admin dashboard.
#[utoipa::path(
    operation_id = "getDashboardStats",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Counts", body = StatsResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
    )
)]
#[get("/stats")]
pub async fn stats(
    state: web::Data<AppState>,
    _admin: Admin,
) -> Result<web::Json<StatsResponse>, ApiError> {
    let users = state.identity.stats().await?;
    let support = state.support.stats().await?;
    let billing = match &state.billing {
        Some(billing) => Some(billing.stats().await?.into()),
        None => None,
    };
    let marketplace = state.market.stats().await?;
    Ok(web::Json(StatsResponse {
        users: users.into(),
        support: support.into(),
        marketplace: marketplace.into(),
        billing,
    }))
}

/// The audit trail, newest first.
#[utoipa::path(
    operation_id = "listAuditEvents",
    tag = "admin",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of entries", body = PageResponse<AuditEntryResponse>),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
    )
)]
#[get("/audit")]
pub async fn audit(
    state: web::Data<AppState>,
    _admin: Admin,
    query: ValidQuery<PageQuery>,
) -> Result<web::Json<PageResponse<AuditEntryResponse>>, ApiError> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let entries = state.identity.audit_trail(page).await?;
    Ok(web::Json(PageResponse::from_page(entries, Into::into)))
}
