//! Extractors that decide who is calling and what they may do, and validate bodies.
//!
//! Authorization is declared in each handler's signature: a handler that takes
//! [`Authenticated`] needs any account, [`Staff`] a support or admin account, [`Admin`] an
//! admin. Roles are read from the database on every request (through
//! [`devforge_identity::IdentityService::authenticate`]), never from client input.

use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use devforge_domain::Role;
use devforge_identity::Principal;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

/// Any logged-in, enabled account.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated(pub Principal);

/// A support or admin account.
#[derive(Debug, Clone, Copy)]
pub struct Staff(pub Principal);

/// An admin account.
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub Principal);

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

async fn authenticate(
    state: Option<web::Data<AppState>>,
    token: Option<String>,
) -> Result<Principal, ApiError> {
    let state = state.ok_or_else(|| ApiError::internal(&MissingState))?;
    let Some(token) = token else {
        tracing::info!("authentication failed: no bearer token");
        return Err(ApiError::unauthenticated());
    };
    state.identity.authenticate(&token).await.map_err(|err| {
        tracing::info!(reason = %err, "authentication failed");
        ApiError::from(err)
    })
}

async fn require(
    state: Option<web::Data<AppState>>,
    token: Option<String>,
    allowed: fn(Role) -> bool,
) -> Result<Principal, ApiError> {
    let principal = authenticate(state, token).await?;
    if allowed(principal.role) {
        Ok(principal)
    } else {
        tracing::warn!(user_id = %principal.user_id, role = %principal.role, "authorization failed");
        Err(ApiError::forbidden())
    }
}

fn is_admin(role: Role) -> bool {
    role == Role::Admin
}

/// Middleware for admin routes (a whole scope, or one route through
/// `wrap = "from_fn(admins_only)"`): the caller is authenticated and checked *before* any
/// path, query or body is parsed, so an anonymous caller learns nothing from validation
/// errors and no body is read for them.
///
/// # Errors
/// Passes on errors of the inner service.
pub async fn admins_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let token = bearer_token(req.headers());
    match require(state, token, is_admin).await {
        Ok(principal) => {
            req.extensions_mut().insert(Admin(principal));
            req.extensions_mut().insert(Authenticated(principal));
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
        Err(err) => Ok(req.error_response(err)),
    }
}

/// Like [`admins_only`], for routes any logged-in account may call.
///
/// # Errors
/// Passes on errors of the inner service.
pub async fn logged_in(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let token = bearer_token(req.headers());
    match authenticate(state, token).await {
        Ok(principal) => {
            req.extensions_mut().insert(Authenticated(principal));
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
        Err(err) => Ok(req.error_response(err)),
    }
}

/// A caller that may be anonymous; a bearer token, when sent, must be valid.
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuthenticated(pub Option<Principal>);

impl FromRequest for MaybeAuthenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req
            .headers()
            .contains_key(header::AUTHORIZATION)
            .then(|| bearer_token(req.headers()));
        Box::pin(async move {
            match token {
                None => Ok(Self(None)),
                Some(token) => authenticate(state, token).await.map(|p| Self(Some(p))),
            }
        })
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Already checked by `logged_in` or `admins_only` when the route is wrapped.
        let checked = req.extensions().get::<Authenticated>().copied();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req.headers());
        Box::pin(async move {
            match checked {
                Some(caller) => Ok(caller),
                None => authenticate(state, token).await.map(Self),
            }
        })
    }
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req.headers());
        Box::pin(async move { require(state, token, Role::is_staff).await.map(Self) })
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Already checked by `admins_only` when the route sits in an admin scope.
        let checked = req.extensions().get::<Admin>().copied();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req.headers());
        Box::pin(async move {
            match checked {
                Some(admin) => Ok(admin),
                None => require(state, token, is_admin).await.map(Self),
            }
        })
    }
}

/// A JSON body that deserialized and passed its garde rules.
#[derive(Debug)]
pub struct Valid<T>(pub T);

impl<T> FromRequest for Valid<T>
where
    T: DeserializeOwned + garde::Validate + 'static,
    T::Context: Default,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            // Every body is an object: serde would also read a struct from an array of its
            // fields in order (`[null, null]`), which no client means.
            let value = json.await?.into_inner();
            if !value.is_object() {
                return Err(invalid_body("the request body must be a JSON object").into());
            }
            let body: T = serde_json::from_value(value).map_err(|e| invalid_body(e.to_string()))?;
            body.validate()
                .map_err(|report| validation_error(&report))?;
            Ok(Self(body))
        })
    }
}

fn invalid_body(detail: impl Into<String>) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
        detail,
    )
}

/// A validated query string.
#[derive(Debug)]
pub struct ValidQuery<T>(pub T);

impl<T> FromRequest for ValidQuery<T>
where
    T: DeserializeOwned + garde::Validate + 'static,
    T::Context: Default,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let query = web::Query::<T>::extract(req);
        Box::pin(async move {
            let query = query.await?.into_inner();
            query
                .validate()
                .map_err(|report| validation_error(&report))?;
            Ok(Self(query))
        })
    }
}

fn validation_error(report: &garde::Report) -> ApiError {
    ApiError::validation(
        report
            .iter()
            .map(|(path, error)| FieldError {
                field: path.to_string(),
                message: error.message().to_owned(),
            })
            .collect(),
    )
}

#[derive(Debug)]
struct MissingState;

impl std::fmt::Display for MissingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("application state is not registered")
    }
}

impl std::error::Error for MissingState {}
