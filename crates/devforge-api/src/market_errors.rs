//! How the marketplace's refusals read over HTTP.

use crate::error::ApiError;
use actix_web::http::StatusCode;
use devforge_marketplace::MarketError;

impl From<MarketError> for ApiError {
    fn from(err: MarketError) -> Self {
        use MarketError as E;
        match err {
            E::Invalid(invalid) => invalid.into(),
            E::NameTaken => Self::new(
                StatusCode::CONFLICT,
                "name_taken",
                "an extension with this name exists",
            ),
            E::NameTooSimilar(existing) => Self::new(
                StatusCode::CONFLICT,
                "name_too_similar",
                format!("the name is too similar to the existing extension `{existing}`"),
            ),
            E::ExtensionNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "extension_not_found",
                "no such extension",
            ),
            E::VersionNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "version_not_found",
                "no such version",
            ),
            E::VersionExists => Self::new(
                StatusCode::CONFLICT,
                "version_exists",
                "this version was uploaded before; versions never change",
            ),
            E::WrongState(detail) => Self::new(StatusCode::CONFLICT, "wrong_state", detail),
            E::Forbidden(detail) => Self::new(StatusCode::FORBIDDEN, "forbidden", detail),
            E::AlreadyReviewed => Self::new(
                StatusCode::CONFLICT,
                "already_reviewed",
                "you have already reviewed this extension; edit your review instead",
            ),
            E::ReviewNotFound => {
                Self::new(StatusCode::NOT_FOUND, "review_not_found", "no such review")
            }
            E::EntitlementRequired(entitlement) => Self::new(
                StatusCode::FORBIDDEN,
                "entitlement_required",
                format!("downloading this extension needs an active license with `{entitlement}`"),
            ),
            E::LoginRequired => Self::new(
                StatusCode::FORBIDDEN,
                "entitlement_required",
                "log in with an account holding a license to download this extension",
            ),
            E::PackageTooLarge { limit } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("packages may be at most {limit} bytes"),
            ),
            E::UploadInterrupted => Self::new(
                StatusCode::BAD_REQUEST,
                "upload_interrupted",
                "the package was not received in full; upload it again",
            ),
            E::TooManyPendingVersions { limit } => Self::new(
                StatusCode::CONFLICT,
                "too_many_pending_versions",
                format!(
                    "at most {limit} of your versions may wait for review at once; \
                     upload again once one is reviewed"
                ),
            ),
            E::StorageQuotaExceeded { limit } => Self::new(
                StatusCode::CONFLICT,
                "storage_quota_exceeded",
                format!("your packages may take at most {limit} bytes in all"),
            ),
            E::Package(failed) => Self::internal(&failed),
            E::Licensing(message) => Self::internal(&crate::error::StringError(message)),
            E::Store(store) => store.into(),
        }
    }
}
