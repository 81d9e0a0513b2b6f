//! `/v1/licenses`: issuing and managing licenses (owners and admins), and the routes the
//! IDE calls with a key as its only credential (activate, deactivate, validate).

use crate::dto::admin::PageQuery;
use crate::dto::licenses::{
    ActivateRequest, ActivatedResponse, ActivationsResponse, DeactivateRequest,
    IssueLicenseRequest, JwkSetResponse, LicenseEventResponse, LicenseResponse, LicensesQuery,
    ReasonRequest, RenewRequest, ValidateRequest, ValidationResponse,
};
use crate::dto::page::{PageResponse, page_request};
use crate::error::{ApiError, Problem};
use crate::extract::{Admin, Authenticated, Valid, ValidQuery, admins_only, logged_in};
use crate::problem_responses::{NotAdmin, NotLoggedIn, RateLimited};
use crate::routes::licensing_requester;
use crate::state::AppState;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, delete, get, post, web};
use devforge_domain::UserId;
use devforge_licensing::license::parse_reason;
use devforge_licensing::{
    ActivationId, IssueRequest, LicenseFilter, LicenseId, LicenseSource, LicensingError, Sku,
};

fn license_id(raw: &str) -> Result<LicenseId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found("no license with this id"))
}

/// Issues a license with a new key (admins).
#[utoipa::path(
    operation_id = "issueLicense",
    tag = "licenses",
    security(("bearer" = [])),
    request_body = IssueLicenseRequest,
    responses(
        (status = 201, description = "Issued; the body carries the key", body = LicenseResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
        (status = 422, description = "Unknown user or product, bad expiry", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("", wrap = "from_fn(admins_only)")]
pub async fn issue_license(
    state: web::Data<AppState>,
    admin: Admin,
    body: Valid<IssueLicenseRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let request = IssueRequest {
        user_id: UserId::from_uuid(body.user_id),
        product: Sku::parse(&body.product)
            .map_err(|_| ApiError::invalid_field("product", "no such product"))?,
        expires_at: body.expires_at,
        max_activations: body.max_activations,
    };
    let issued = state
        .licensing
        .issue(request, LicenseSource::Admin(admin.0.user_id))
        .await
        .map_err(|err| match err {
            LicensingError::ProductNotFound => {
                ApiError::invalid_field("product", "no such product")
            }
            LicensingError::UnknownUser => ApiError::invalid_field("user_id", "no such user"),
            other => other.into(),
        })?;
    Ok(HttpResponse::Created().json(LicenseResponse::new(issued.license, Some(&issued.key))))
}

/// Licenses: one's own; admins see all and may filter by owner.
#[utoipa::path(
    operation_id = "listLicenses",
    tag = "licenses",
    security(("bearer" = [])),
    params(LicensesQuery),
    responses(
        (status = 200, description = "A page of licenses, newest first", body = PageResponse<LicenseResponse>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = NotLoggedIn),
    )
)]
#[get("", wrap = "from_fn(logged_in)")]
pub async fn list_licenses(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: ValidQuery<LicensesQuery>,
) -> Result<web::Json<PageResponse<LicenseResponse>>, ApiError> {
    let query = query.0;
    let page = page_request(query.page, query.per_page)?;
    let filter = LicenseFilter {
        user_id: query.user_id.map(UserId::from_uuid),
        product: query.product.as_deref().map(Sku::parse).transpose()?,
        status: query.status.map(Into::into),
    };
    let licenses = state
        .licensing
        .licenses(licensing_requester(caller.0), filter, page)
        .await?;
    Ok(web::Json(PageResponse::from_page(licenses, Into::into)))
}

/// The keys that verify offline certificates, as a JWK set.
#[utoipa::path(
    operation_id = "getLicensePublicKeys",
    tag = "licenses",
    responses((status = 200, description = "Ed25519 public keys, current first", body = JwkSetResponse))
)]
#[get("/public-key")]
pub async fn public_keys(state: web::Data<AppState>) -> web::Json<JwkSetResponse> {
    web::Json(JwkSetResponse::new(state.licensing.public_keys()))
}

/// Activates a license on a machine; the key is the credential.
#[utoipa::path(
    operation_id = "activateLicense",
    tag = "licenses",
    request_body = ActivateRequest,
    responses(
        (status = 201, description = "Activated", body = ActivatedResponse),
        (status = 200, description = "Already activated on this machine", body = ActivatedResponse),
        (status = 403, description = "Revoked, suspended or expired (`license_revoked`, `license_suspended`, `license_expired`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Every seat taken (`activation_limit_reached`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed key or fingerprint", body = Problem, content_type = "application/problem+json"),
        (status = 429, response = RateLimited),
    )
)]
#[post("/activate")]
pub async fn activate(
    state: web::Data<AppState>,
    body: Valid<ActivateRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let result = state
        .licensing
        .activate(
            &body.key,
            &body.fingerprint,
            body.name.as_deref(),
            body.platform.as_deref(),
        )
        .await?;
    let mut response = if result.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(ActivatedResponse {
        activation: result.activation.into(),
        license: result.license.into(),
        certificate: result.certificate,
    }))
}

/// Frees the seat of a machine; the key is the credential. Throttled per license.
#[utoipa::path(
    operation_id = "deactivateLicense",
    tag = "licenses",
    request_body = DeactivateRequest,
    responses(
        (status = 204, description = "Seat freed"),
        (status = 404, description = "Unknown key, or not activated on this machine", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed key or fingerprint", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many deactivations (`deactivation_limit_reached`) or rate limited", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/deactivate")]
pub async fn deactivate(
    state: web::Data<AppState>,
    body: Valid<DeactivateRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .licensing
        .deactivate_by_key(&body.0.key, &body.0.fingerprint)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Validates a key (every IDE start): always 200 for a well-formed request.
#[utoipa::path(
    operation_id = "validateLicense",
    tag = "licenses",
    request_body = ValidateRequest,
    responses(
        (status = 200, description = "The verdict", body = ValidationResponse),
        (status = 422, description = "Malformed key (bad check symbol), fingerprint or SKU", body = Problem, content_type = "application/problem+json"),
        (status = 429, response = RateLimited),
    )
)]
#[post("/validate")]
pub async fn validate(
    state: web::Data<AppState>,
    body: Valid<ValidateRequest>,
) -> Result<web::Json<ValidationResponse>, ApiError> {
    let body = body.0;
    let result = state
        .licensing
        .validate(
            &body.key,
            body.fingerprint.as_deref(),
            body.product.as_deref(),
        )
        .await?;
    Ok(web::Json(result.into()))
}

/// One license with its key (owner or admin; anyone else gets 404).
#[utoipa::path(
    operation_id = "getLicense",
    tag = "licenses",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "License id")),
    responses(
        (status = 200, description = "The license and its key", body = LicenseResponse),
        (status = 401, response = NotLoggedIn),
        (status = 404, description = "No such license, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
// Only an id-shaped segment: `GET /v1/licenses/validate` is the wrong method for that
// route (405), not a license named "validate".
#[get("/{id:[0-9a-fA-F-]+}", wrap = "from_fn(logged_in)")]
pub async fn get_license(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<LicenseResponse>, ApiError> {
    let (license, key) = state
        .licensing
        .key_for(licensing_requester(caller.0), license_id(&id)?)
        .await?;
    Ok(web::Json(LicenseResponse::new(license, Some(&key))))
}

/// Extends a license (admins): from the later of now and its expiry.
#[utoipa::path(
    operation_id = "renewLicense",
    tag = "licenses",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "License id")),
    request_body = RenewRequest,
    responses(
        (status = 200, description = "Renewed", body = LicenseResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, description = "Not an admin, or the license is revoked", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such license", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad days, or a perpetual license", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/renew", wrap = "from_fn(admins_only)")]
pub async fn renew(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    body: Valid<RenewRequest>,
) -> Result<web::Json<LicenseResponse>, ApiError> {
    let license = state
        .licensing
        .renew(licensing_requester(admin.0), license_id(&id)?, body.0.days)
        .await?;
    Ok(web::Json(license.into()))
}

/// Revokes a license for good (admins).
#[utoipa::path(
    operation_id = "revokeLicense",
    tag = "licenses",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "License id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Revoked", body = LicenseResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
        (status = 404, description = "No such license", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/revoke", wrap = "from_fn(admins_only)")]
pub async fn revoke(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    body: Valid<ReasonRequest>,
) -> Result<web::Json<LicenseResponse>, ApiError> {
    let reason = parse_reason(&body.0.reason)?;
    let license = state
        .licensing
        .revoke(licensing_requester(admin.0), license_id(&id)?, reason)
        .await?;
    Ok(web::Json(license.into()))
}

/// Suspends an active license (admins).
#[utoipa::path(
    operation_id = "suspendLicense",
    tag = "licenses",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "License id")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Suspended", body = LicenseResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
        (status = 404, description = "No such license", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/suspend", wrap = "from_fn(admins_only)")]
pub async fn suspend(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
    body: Valid<ReasonRequest>,
) -> Result<web::Json<LicenseResponse>, ApiError> {
    let reason = parse_reason(&body.0.reason)?;
    let license = state
        .licensing
        .suspend(licensing_requester(admin.0), license_id(&id)?, reason)
        .await?;
    Ok(web::Json(license.into()))
}

/// Reinstates a suspended license (admins).
#[utoipa::path(
    operation_id = "reinstateLicense",
    tag = "licenses",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "License id")),
    responses(
        (status = 200, description = "Active again", body = LicenseResponse),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
        (status = 404, description = "No such license", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not suspended (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/reinstate", wrap = "from_fn(admins_only)")]
pub async fn reinstate(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<String>,
) -> Result<web::Json<LicenseResponse>, ApiError> {
    let license = state
        .licensing
        .reinstate(licensing_requester(admin.0), license_id(&id)?)
        .await?;
    Ok(web::Json(license.into()))
}

/// A license's history (owner or admin).
#[utoipa::path(
    operation_id = "listLicenseEvents",
    tag = "licenses",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "License id"), PageQuery),
    responses(
        (status = 200, description = "Events, oldest first", body = PageResponse<LicenseEventResponse>),
        (status = 401, response = NotLoggedIn),
        (status = 404, description = "No such license, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}/events", wrap = "from_fn(logged_in)")]
pub async fn events(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
    query: ValidQuery<PageQuery>,
) -> Result<web::Json<PageResponse<LicenseEventResponse>>, ApiError> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let events = state
        .licensing
        .events(licensing_requester(caller.0), license_id(&id)?, page)
        .await?;
    Ok(web::Json(PageResponse::from_page(events, Into::into)))
}

/// The machines a license is active on (owner or admin).
#[utoipa::path(
    operation_id = "listLicenseActivations",
    tag = "licenses",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "License id")),
    responses(
        (status = 200, description = "Seats, oldest first", body = ActivationsResponse),
        (status = 401, response = NotLoggedIn),
        (status = 404, description = "No such license, or not yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}/activations", wrap = "from_fn(logged_in)")]
pub async fn activations(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<ActivationsResponse>, ApiError> {
    let seats = state
        .licensing
        .activations(licensing_requester(caller.0), license_id(&id)?)
        .await?;
    Ok(web::Json(ActivationsResponse {
        items: seats.into_iter().map(Into::into).collect(),
    }))
}

/// Frees a seat (owner: throttled; admin: not throttled).
#[utoipa::path(
    operation_id = "removeLicenseActivation",
    tag = "licenses",
    security(("bearer" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "License id"),
        ("activation_id" = uuid::Uuid, Path, description = "Activation id"),
    ),
    responses(
        (status = 204, description = "Seat freed"),
        (status = 401, response = NotLoggedIn),
        (status = 404, description = "No such license or seat, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many deactivations (`deactivation_limit_reached`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/{id}/activations/{activation_id}", wrap = "from_fn(logged_in)")]
pub async fn remove_activation(
    state: web::Data<AppState>,
    caller: Authenticated,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, activation) = path.into_inner();
    let activation: ActivationId = activation
        .parse()
        .map_err(|_| ApiError::not_found("no activation with this id"))?;
    state
        .licensing
        .remove_activation(licensing_requester(caller.0), license_id(&id)?, activation)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
