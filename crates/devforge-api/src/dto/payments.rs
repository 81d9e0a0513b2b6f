//! Bodies of the `/v1/payments` routes.

use super::tickets::mirror_enum;
use chrono::{DateTime, Utc};
use devforge_billing::{BillingStats, PaymentStatus, PaymentView, Refund};
use garde::Validate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

mirror_enum!(
    /// Where a payment stands.
    PaymentStatusDto => PaymentStatus {
        /// Waiting for the customer to pay.
        RequiresPayment,
        /// Being processed.
        Processing,
        /// The last attempt failed; the customer may retry.
        Failed,
        /// Paid.
        Succeeded,
        /// Abandoned.
        Canceled,
    }
);

/// `POST /v1/payments` (with an `Idempotency-Key` header).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentRequest {
    /// The product's SKU.
    #[garde(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    pub product: String,
    /// A license of yours to renew (by the product's duration) instead of a new license.
    #[garde(skip)]
    pub renew_license_id: Option<uuid::Uuid>,
}

/// Filters of `GET /v1/payments` (staff may filter by payer; others see their own).
#[derive(Debug, Deserialize, Validate, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PaymentsQuery {
    /// Only this payer's (support and admins).
    #[garde(skip)]
    pub user_id: Option<uuid::Uuid>,
    /// Only in this status.
    #[garde(skip)]
    pub status: Option<PaymentStatusDto>,
    /// Page number (from 1).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (1 to 100, default 20).
    #[garde(skip)]
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<u64>,
}

/// `POST /v1/payments/{id}/refunds` (admins, with an `Idempotency-Key` header).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// Minor units to refund; default: all that is left.
    #[garde(inner(range(min = 1)))]
    #[schema(minimum = 1)]
    pub amount: Option<i64>,
    /// Why (kept with the refund).
    #[garde(inner(length(chars, min = 1, max = 500)))]
    #[schema(min_length = 1, max_length = 500)]
    pub reason: Option<String>,
}

/// A refund.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundResponse {
    /// Stripe's refund id (empty while the refund is being made).
    pub id: String,
    /// Minor units.
    pub amount: i64,
    /// `reserved` (being made), `pending`, `succeeded`, `failed` or `canceled`.
    pub status: String,
    /// Why.
    pub reason: Option<String>,
    /// Recorded.
    pub created_at: DateTime<Utc>,
}

impl From<Refund> for RefundResponse {
    fn from(refund: Refund) -> Self {
        Self {
            id: refund.gateway_id,
            amount: refund.amount,
            status: refund.status,
            reason: refund.reason,
            created_at: refund.created_at,
        }
    }
}

/// A payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentResponse {
    /// Identifier.
    pub id: uuid::Uuid,
    /// Where it stands.
    pub status: PaymentStatusDto,
    /// Minor units of `currency` (cents; yen for JPY).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The product's SKU.
    pub product: String,
    /// The payer.
    pub user_id: uuid::Uuid,
    /// The license this payment renews, if any.
    pub renew_license_id: Option<uuid::Uuid>,
    /// For the payer only: the secret Stripe.js confirms the payment with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Stripe's PaymentIntent.
    pub stripe_payment_intent_id: Option<String>,
    /// Refunded so far (refunds Stripe accepted), in minor units.
    pub amount_refunded: i64,
    /// Set aside for refunds asked of Stripe and not answered yet, in minor units.
    pub amount_reserved: i64,
    /// `open`, `won` or `lost` when the payment was disputed.
    pub dispute: Option<String>,
    /// The license issued or renewed, once paid.
    pub license_id: Option<uuid::Uuid>,
    /// Its refunds.
    pub refunds: Vec<RefundResponse>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl PaymentResponse {
    /// The response for `view`, with the client secret only when `for_payer`.
    #[must_use]
    pub fn new(view: PaymentView, for_payer: bool) -> Self {
        let payment = view.payment;
        Self {
            id: payment.id.as_uuid(),
            status: payment.status.into(),
            amount: payment.amount.minor_units(),
            currency: payment.amount.currency().code().to_owned(),
            product: payment.product,
            user_id: payment.user_id.as_uuid(),
            renew_license_id: payment.renew_license_id,
            client_secret: payment.client_secret.filter(|_| for_payer),
            stripe_payment_intent_id: payment.intent_id,
            amount_refunded: payment.amount_refunded,
            amount_reserved: payment.amount_reserved,
            dispute: payment.dispute.map(|d| d.as_str().to_owned()),
            license_id: payment.license_id,
            refunds: view.refunds.into_iter().map(Into::into).collect(),
            created_at: payment.created_at,
            updated_at: payment.updated_at,
        }
    }
}

/// Revenue in one currency, in minor units.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevenueResponse {
    /// Paid.
    pub gross: i64,
    /// Refunded.
    pub refunded: i64,
    /// Paid minus refunded.
    pub net: i64,
}

/// The billing section of the admin dashboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct BillingStatsResponse {
    /// Per ISO currency code.
    pub revenue: BTreeMap<String, RevenueResponse>,
    /// Payments per status.
    pub payments_by_status: BTreeMap<String, u64>,
}

impl From<BillingStats> for BillingStatsResponse {
    fn from(stats: BillingStats) -> Self {
        Self {
            revenue: stats
                .revenue
                .into_iter()
                .map(|(currency, (gross, refunded))| {
                    let net = gross - refunded;
                    (
                        currency,
                        RevenueResponse {
                            gross,
                            refunded,
                            net,
                        },
                    )
                })
                .collect(),
            payments_by_status: stats.by_status,
        }
    }
}
