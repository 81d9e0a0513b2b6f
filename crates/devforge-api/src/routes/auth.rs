//! `/v1/auth`: register, login, refresh, logout, me.

use crate::dto::auth::{AuthResponse, LoginRequest, MeResponse, RefreshRequest, RegisterRequest};
use crate::error::{ApiError, Problem};
use crate::extract::{Authenticated, Valid};
use crate::middleware::client_ip::client_ip_of;
use crate::problem_responses::RateLimited;
use crate::state::AppState;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use devforge_identity::{RefreshToken, Registration};

/// Creates an account and logs it in.
#[utoipa::path(
    operation_id = "register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = AuthResponse),
        (status = 409, description = "Email taken (`email_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid email, weak password", body = Problem, content_type = "application/problem+json"),
        (status = 429, response = RateLimited),
    )
)]
#[post("/register")]
pub async fn register(
    state: web::Data<AppState>,
    body: Valid<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let session = state
        .identity
        .register(Registration {
            email: &body.email,
            password: &body.password,
            name: body.name.as_deref(),
        })
        .await?;
    Ok(HttpResponse::Created().json(AuthResponse::from(session)))
}

/// Logs in with email and password.
#[utoipa::path(
    operation_id = "login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = AuthResponse),
        (status = 401, description = "Wrong email or password (`invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed email", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Valid<LoginRequest>,
) -> Result<web::Json<AuthResponse>, ApiError> {
    let client = client_ip_of(req.peer_addr(), req.headers(), &state.trusted_proxies)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let session = state
        .identity
        .login(&body.0.email, &body.0.password, &client)
        .await?;
    Ok(web::Json(session.into()))
}

/// Exchanges a refresh token for a new token pair; the old refresh token stops working.
#[utoipa::path(
    operation_id = "refreshSession",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = AuthResponse),
        (status = 401, description = "Invalid, expired or reused refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 429, response = RateLimited),
    )
)]
#[post("/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: Valid<RefreshRequest>,
) -> Result<web::Json<AuthResponse>, ApiError> {
    let token = RefreshToken::from_client(body.0.refresh_token);
    let session = state.identity.refresh(token).await?;
    Ok(web::Json(session.into()))
}

/// Ends the session of a refresh token.
#[utoipa::path(
    operation_id = "logout",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Session ended (also for unknown tokens)"),
        (status = 422, description = "Missing token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: Valid<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .identity
        .logout(RefreshToken::from_client(body.0.refresh_token))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own account.
#[utoipa::path(
    operation_id = "getCurrentUser",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = MeResponse),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn me(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<web::Json<MeResponse>, ApiError> {
    let user = state.identity.user(caller.0.user_id).await?;
    Ok(web::Json(user.into()))
}
