//! Bodies of the `/v1/licenses` routes.

use super::double_option;
use chrono::{DateTime, Utc};
use devforge_licensing::{
    Activation, License, LicenseEvent, LicenseKey, PublicKey, ValidationResult,
};
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `POST /v1/licenses`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueLicenseRequest {
    /// The owner's account id.
    #[garde(skip)]
    pub user_id: uuid::Uuid,
    /// The product's SKU.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub product: String,
    /// End of validity; absent for the product's duration, `null` for perpetual.
    #[serde(default, deserialize_with = "double_option::deserialize")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    #[garde(skip)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// Seats; absent for the product's.
    #[garde(skip)]
    pub max_activations: Option<u32>,
}

/// Filters of `GET /v1/licenses` (admins may filter by owner; others see their own).
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LicensesQuery {
    /// Only this owner's (admins).
    #[garde(skip)]
    pub user_id: Option<uuid::Uuid>,
    /// Only this product's.
    #[garde(inner(length(min = 1, max = 64)))]
    #[param(min_length = 1, max_length = 64)]
    pub product: Option<String>,
    /// Only in this status.
    #[garde(skip)]
    pub status: Option<LicenseStatusDto>,
    /// Page number (from 1).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (1 to 100, default 20).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

/// A license's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LicenseStatusDto {
    /// In force.
    Active,
    /// Paused.
    Suspended,
    /// Ended.
    Revoked,
}

impl From<LicenseStatusDto> for devforge_licensing::LicenseStatus {
    fn from(status: LicenseStatusDto) -> Self {
        match status {
            LicenseStatusDto::Active => Self::Active,
            LicenseStatusDto::Suspended => Self::Suspended,
            LicenseStatusDto::Revoked => Self::Revoked,
        }
    }
}

/// `POST /v1/licenses/{id}/renew`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    /// Days to add; absent for the product's duration.
    #[garde(inner(range(min = 1, max = 36500)))]
    #[schema(minimum = 1, maximum = 36500)]
    pub days: Option<u32>,
}

/// `POST /v1/licenses/{id}/revoke` and `/suspend`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why; shown to the owner.
    #[garde(length(chars, min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// `POST /v1/licenses/activate`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateRequest {
    /// The license key.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub key: String,
    /// The machine's fingerprint.
    #[garde(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub fingerprint: String,
    /// A name for the machine.
    #[garde(inner(length(chars, max = 100)))]
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// Its operating system.
    #[garde(inner(length(chars, max = 100)))]
    #[schema(max_length = 100)]
    pub platform: Option<String>,
}

/// `POST /v1/licenses/deactivate`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeactivateRequest {
    /// The license key.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub key: String,
    /// The machine's fingerprint.
    #[garde(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub fingerprint: String,
}

/// `POST /v1/licenses/validate`.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    /// The license key.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub key: String,
    /// The machine's fingerprint: checks the license is activated on it.
    #[garde(inner(length(min = 1, max = 256)))]
    #[schema(min_length = 1, max_length = 256)]
    pub fingerprint: Option<String>,
    /// A SKU: checks the license is for it.
    #[garde(inner(length(min = 1, max = 64)))]
    #[schema(min_length = 1, max_length = 64)]
    pub product: Option<String>,
}

/// A license.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseResponse {
    /// Identifier.
    pub id: uuid::Uuid,
    /// The key; only in the answers to its owner (or an admin) for one license.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Owner.
    pub user_id: uuid::Uuid,
    /// Product SKU.
    pub product: String,
    /// `active`, `suspended` or `revoked` (expiry is read from `expires_at`).
    pub status: LicenseStatusDto,
    /// Issue time.
    pub issued_at: DateTime<Utc>,
    /// End of validity; null for perpetual.
    pub expires_at: Option<DateTime<Utc>>,
    /// Days after expiry during which validation still passes.
    pub grace_days: u32,
    /// Seats.
    pub max_activations: u32,
    /// Seats taken.
    pub activations_count: u32,
    /// Entitlements.
    pub entitlements: Vec<String>,
    /// `admin:<id>` or `payment:<id>`.
    pub source: String,
    /// Why it was suspended or revoked.
    pub revocation_reason: Option<String>,
}

impl LicenseResponse {
    /// The response for `license`, with its key when given.
    #[must_use]
    pub fn new(license: License, key: Option<&LicenseKey>) -> Self {
        Self {
            id: license.id.as_uuid(),
            key: key.map(|k| k.as_str().to_owned()),
            user_id: license.user_id.as_uuid(),
            product: license.product.as_str().to_owned(),
            status: match license.status {
                devforge_licensing::LicenseStatus::Active => LicenseStatusDto::Active,
                devforge_licensing::LicenseStatus::Suspended => LicenseStatusDto::Suspended,
                devforge_licensing::LicenseStatus::Revoked => LicenseStatusDto::Revoked,
            },
            issued_at: license.issued_at,
            expires_at: license.expires_at,
            grace_days: license.grace_days,
            max_activations: license.max_activations,
            activations_count: license.activations_count,
            entitlements: license
                .entitlements
                .iter()
                .map(|e| e.as_str().to_owned())
                .collect(),
            source: license.source.encode(),
            revocation_reason: license.revocation_reason,
        }
    }
}

impl From<License> for LicenseResponse {
    fn from(license: License) -> Self {
        Self::new(license, None)
    }
}

/// A license as shown to whoever holds its key (activation and validation need no login):
/// what the IDE needs, without the owner's account or payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyHolderLicenseResponse {
    /// Identifier.
    pub id: uuid::Uuid,
    /// Product SKU.
    pub product: String,
    /// `active`, `suspended` or `revoked`.
    pub status: LicenseStatusDto,
    /// End of validity; null for perpetual.
    pub expires_at: Option<DateTime<Utc>>,
    /// Days after expiry during which validation still passes.
    pub grace_days: u32,
    /// Seats.
    pub max_activations: u32,
    /// Seats taken.
    pub activations_count: u32,
    /// Entitlements.
    pub entitlements: Vec<String>,
}

impl From<License> for KeyHolderLicenseResponse {
    fn from(license: License) -> Self {
        let full = LicenseResponse::from(license);
        Self {
            id: full.id,
            product: full.product,
            status: full.status,
            expires_at: full.expires_at,
            grace_days: full.grace_days,
            max_activations: full.max_activations,
            activations_count: full.activations_count,
            entitlements: full.entitlements,
        }
    }
}

/// A machine a license is active on.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationResponse {
    /// Identifier.
    pub id: uuid::Uuid,
    /// The license.
    pub license_id: uuid::Uuid,
    /// The machine's fingerprint.
    pub fingerprint: String,
    /// Its name.
    pub name: Option<String>,
    /// Its platform.
    pub platform: Option<String>,
    /// When it was activated.
    pub created_at: DateTime<Utc>,
}

impl From<Activation> for ActivationResponse {
    fn from(activation: Activation) -> Self {
        Self {
            id: activation.id.as_uuid(),
            license_id: activation.license_id.as_uuid(),
            fingerprint: activation.fingerprint.as_str().to_owned(),
            name: activation.name,
            platform: activation.platform,
            created_at: activation.created_at,
        }
    }
}

/// The answer to an activation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivatedResponse {
    /// The seat.
    pub activation: ActivationResponse,
    /// The license.
    pub license: KeyHolderLicenseResponse,
    /// An offline certificate (Ed25519 JWT) for this machine.
    pub certificate: String,
}

/// The seats of a license.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationsResponse {
    /// Seats, oldest first.
    pub items: Vec<ActivationResponse>,
}

/// The answer to a validation: always 200 for a well-formed request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationResponse {
    /// Whether the IDE may run (`VALID` or `GRACE_PERIOD`).
    pub valid: bool,
    /// `VALID`, `GRACE_PERIOD`, `NOT_FOUND`, `EXPIRED`, `SUSPENDED`, `REVOKED`,
    /// `NOT_ACTIVATED` or `PRODUCT_MISMATCH`.
    pub code: &'static str,
    /// A sentence for people.
    pub detail: &'static str,
    /// The license, unless the key is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<KeyHolderLicenseResponse>,
    /// An offline certificate, when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

impl From<ValidationResult> for ValidationResponse {
    fn from(result: ValidationResult) -> Self {
        Self {
            valid: result.code.is_valid(),
            code: result.code.as_str(),
            detail: result.code.detail(),
            license: result.license.map(Into::into),
            certificate: result.certificate,
        }
    }
}

/// One event of a license's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseEventResponse {
    /// Sequence number.
    pub id: i64,
    /// `issued`, `activated`, `deactivated`, `renewed`, `suspended`, `reinstated` or
    /// `revoked`.
    pub kind: &'static str,
    /// `user` (with `actor_id`), `key_holder` or `system`.
    pub actor: &'static str,
    /// The account that acted.
    pub actor_id: Option<uuid::Uuid>,
    /// Details.
    pub detail: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<LicenseEvent> for LicenseEventResponse {
    fn from(event: LicenseEvent) -> Self {
        Self {
            id: event.id,
            kind: event.event.kind.as_str(),
            actor: event.event.actor.kind(),
            actor_id: event.event.actor.user_id().map(|id| id.as_uuid()),
            detail: event.event.detail,
            created_at: event.event.at,
        }
    }
}

/// A JSON Web Key (Ed25519 public key).
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkResponse {
    /// Always `OKP`.
    pub kty: &'static str,
    /// Always `Ed25519`.
    pub crv: &'static str,
    /// Always `EdDSA`.
    pub alg: &'static str,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// Key id, as in certificate headers.
    pub kid: String,
    /// The public key, base64url.
    pub x: String,
}

/// The keys that verify offline certificates (RFC 7517 JWK set).
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkSetResponse {
    /// Current key first.
    pub keys: Vec<JwkResponse>,
}

impl JwkSetResponse {
    /// The set for `keys`.
    #[must_use]
    pub fn new(keys: &[PublicKey]) -> Self {
        Self {
            keys: keys
                .iter()
                .map(|key| JwkResponse {
                    kty: "OKP",
                    crv: "Ed25519",
                    alg: "EdDSA",
                    use_: "sig",
                    kid: key.kid.clone(),
                    x: key.x.clone(),
                })
                .collect(),
        }
    }
}
