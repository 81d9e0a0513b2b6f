//! How billing's refusals read over HTTP.

use crate::error::ApiError;
use actix_web::http::StatusCode;
use devforge_billing::signature::SignatureError;
use devforge_billing::{BillingError, DeskError, GatewayError};

/// 503 for every payment route while no Stripe key is configured.
#[must_use]
pub fn payments_not_configured() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "payments_not_configured",
        "payments are not configured on this server (DEVFORGE_STRIPE_SECRET_KEY)",
    )
}

impl From<BillingError> for ApiError {
    fn from(err: BillingError) -> Self {
        use BillingError as E;
        match err {
            E::Invalid(invalid) => invalid.into(),
            E::UnknownProduct => Self::invalid_field("product", "no such product on sale"),
            E::NotRenewable(why) | E::Desk(DeskError::NotRenewable(why)) => {
                Self::invalid_field("renew_license_id", why)
            }
            E::IdempotencyKeyReused => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
            ),
            E::PaymentNotFound => Self::new(
                StatusCode::NOT_FOUND,
                "payment_not_found",
                "no such payment",
            ),
            E::NotRefundable(status) => Self::new(
                StatusCode::CONFLICT,
                "payment_not_refundable",
                format!("a {} payment cannot be refunded", status.as_str()),
            ),
            E::RefundExceedsPayment { refundable } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "refund_exceeds_payment",
                format!("at most {refundable} (minor units) is left to refund"),
            ),
            E::Signature(SignatureError::Stale) => Self::new(
                StatusCode::BAD_REQUEST,
                "stale_signature",
                "the webhook signature's timestamp is outside the tolerance",
            ),
            E::Signature(_) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_signature",
                "the Stripe-Signature header is missing or does not verify",
            ),
            E::Undecodable(undecodable) => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_event",
                undecodable.to_string(),
            ),
            E::Gateway(GatewayError::Rejected { message, .. }) => Self::new(
                StatusCode::BAD_GATEWAY,
                "payment_gateway_rejected",
                format!("the payment provider refused: {message}"),
            ),
            E::Gateway(unavailable @ GatewayError::Unavailable(_)) => {
                tracing::warn!(error = %unavailable, "payment gateway unavailable");
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "payment_gateway_unavailable",
                    "the payment provider could not be reached; retry with the same Idempotency-Key",
                )
            }
            E::Desk(failed @ DeskError::Failed(_)) => Self::internal(&failed),
            E::Store(store) => store.into(),
        }
    }
}
