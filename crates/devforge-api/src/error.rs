//! The one error shape of the API: RFC 9457 `application/problem+json`.
//!
//! Every failure (a service error, a malformed body, an unknown route, a rate limit) ends
//! up as an [`ApiError`], whose body is a [`Problem`] with a stable snake_case `code` that
//! clients switch on. Server-side failures are logged here with their cause and answered
//! with a generic 500 that echoes nothing.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use devforge_domain::{InvalidValue, StoreError};
use devforge_identity::IdentityError;
use devforge_licensing::LicensingError;
use serde::Serialize;
use utoipa::ToSchema;

/// What a 503 `database_unavailable` asks clients to wait: about what a PostgreSQL restart
/// or a fail-over takes, so a retry is likely to find it back.
const DATABASE_RETRY_AFTER_SECS: u64 = 2;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:devforge:problem:<code>`).
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// A stable machine-readable code, e.g. `email_taken`.
    pub code: String,
    /// For validation failures: which fields are wrong and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For `invalid_transition`: the statuses the caller may move to from here (empty when
    /// none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
}

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's name as sent (dotted path for nested fields).
    pub field: String,
    /// Why it is invalid.
    pub message: String,
}

/// An error on its way to becoming a problem response.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    allowed: Option<Vec<String>>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    /// A problem with `status`, stable `code` and human `detail`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            allowed: None,
            retry_after_secs: None,
        }
    }

    /// 422 listing the invalid fields.
    #[must_use]
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self {
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "the request has invalid fields",
            )
        }
    }

    /// 422 for one invalid field.
    #[must_use]
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// 401: no valid credentials.
    #[must_use]
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "a valid bearer access token is required",
        )
    }

    /// 403: authenticated, but the role does not allow this.
    #[must_use]
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role does not allow this action",
        )
    }

    /// 404.
    #[must_use]
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 429 with a `Retry-After`.
    #[must_use]
    pub fn too_many_requests(code: &'static str, detail: &str, retry_after_secs: u64) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, detail)
        }
    }

    /// 500 for a failure whose cause is logged here and never sent to the client.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %cause, source = ?cause.source(), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an unexpected error occurred; it has been logged",
        )
    }

    /// 503 with `Retry-After`: the database is down, restarting or too busy to answer in
    /// time. Logged at WARN, once per request: an outage is the operator's to see, but it is
    /// not a bug in this server.
    pub fn database_unavailable(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::warn!(error = %cause, source = ?cause.source(), "database unavailable");
        Self {
            retry_after_secs: Some(DATABASE_RETRY_AFTER_SECS),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database is temporarily unavailable; try again shortly",
            )
        }
    }

    /// 503 for readiness: the listing index is still being built from the database.
    #[must_use]
    pub fn search_index_building() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search_index_building",
            "the search index is being built; this instance is ready once it is",
        )
    }

    /// The same problem, listing the states the caller may move to instead.
    #[must_use]
    pub fn with_allowed(self, allowed: Vec<String>) -> Self {
        Self {
            allowed: Some(allowed),
            ..self
        }
    }

    /// The same problem under another stable code.
    #[must_use]
    pub fn with_code(self, code: &'static str) -> Self {
        Self { code, ..self }
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The problem document.
    #[must_use]
    pub fn problem(&self) -> Problem {
        Problem {
            type_uri: format!("urn:devforge:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
            allowed: self.allowed.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let Some(seconds) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(self.problem())
    }
}

impl From<InvalidValue> for ApiError {
    fn from(err: InvalidValue) -> Self {
        Self::invalid_field(err.field, err.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match &err {
            StoreError::Unavailable(_) => Self::database_unavailable(&err),
            StoreError::Duplicate { .. }
            | StoreError::MissingReference { .. }
            | StoreError::Unexpected(_) => Self::internal(&err),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(err: IdentityError) -> Self {
        use IdentityError as E;
        match err {
            E::Invalid(invalid) => invalid.into(),
            E::EmailTaken => Self::new(
                StatusCode::CONFLICT,
                "email_taken",
                "an account with this email already exists",
            ),
            E::InvalidCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "invalid email or password",
            ),
            E::LoginLocked { retry_after_secs } => Self::too_many_requests(
                "too_many_login_attempts",
                "too many failed login attempts for this email; try again later",
                retry_after_secs,
            ),
            E::InvalidRefreshToken => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_refresh_token",
                "the refresh token is invalid, expired or already used",
            ),
            E::Unauthenticated => Self::unauthenticated(),
            E::AccountDisabled => Self::new(
                StatusCode::FORBIDDEN,
                "account_disabled",
                "this account is disabled",
            ),
            E::UserNotFound => Self::not_found("no user with this id"),
            E::CannotModifySelf => Self::new(
                StatusCode::CONFLICT,
                "cannot_modify_self",
                "administrators cannot change their own role or disable themselves",
            ),
            E::Store(store) => store.into(),
            E::Internal(message) => Self::internal(&StringError(message)),
        }
    }
}

impl From<LicensingError> for ApiError {
    fn from(err: LicensingError) -> Self {
        use LicensingError as E;
        match err {
            E::Invalid(invalid) => invalid.into(),
            E::MalformedKey(key) => {
                Self::invalid_field("key", key.to_string()).with_code("invalid_license_key")
            }
            E::SkuTaken => Self::new(
                StatusCode::CONFLICT,
                "sku_taken",
                "a product with this SKU already exists",
            ),
            E::ProductNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "product_not_found",
                "no such product",
            ),
            E::LicenseNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "license_not_found",
                "no such license",
            ),
            E::UnknownUser => Self::invalid_field("user_id", "no such user"),
            E::Revoked => Self::new(
                StatusCode::FORBIDDEN,
                "license_revoked",
                "the license has been revoked",
            ),
            E::Suspended => Self::new(
                StatusCode::FORBIDDEN,
                "license_suspended",
                "the license is suspended",
            ),
            E::Expired => Self::new(
                StatusCode::FORBIDDEN,
                "license_expired",
                "the license has expired",
            ),
            E::ActivationLimitReached => Self::new(
                StatusCode::CONFLICT,
                "activation_limit_reached",
                "the license is activated on the maximum number of machines; deactivate one first",
            ),
            E::ActivationNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "activation_not_found",
                "no such activation on this license",
            ),
            E::DeactivationLimitReached => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "deactivation_limit_reached",
                "too many deactivations for this license in the last 24 hours; try again later",
            ),
            E::InvalidTransition { from, to } => Self::new(
                StatusCode::CONFLICT,
                "invalid_transition",
                format!("a {from} license cannot become {to}"),
            ),
            E::Conflict => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                "the license changed meanwhile; try again",
            ),
            E::PaymentAlreadyFulfilled => Self::new(
                StatusCode::CONFLICT,
                "payment_already_fulfilled",
                "a license already exists for this payment",
            ),
            E::Store(store) => store.into(),
            E::Internal(message) => Self::internal(&StringError(message)),
        }
    }
}

#[derive(Debug)]
pub(crate) struct StringError(pub(crate) String);

impl std::fmt::Display for StringError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StringError {}
