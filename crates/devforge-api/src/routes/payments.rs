//! `/v1/payments` and `/v1/webhooks/stripe`: buying a product through Stripe, following
//! the payment, refunds (admins), and Stripe's signed event deliveries.
//!
//! While no Stripe key is configured every route here answers 503
//! `payments_not_configured`.

use crate::billing_errors::payments_not_configured;
use crate::dto::page::{PageResponse, page_request};
use crate::dto::payments::{CreatePaymentRequest, PaymentResponse, PaymentsQuery, RefundRequest};
use crate::error::{ApiError, Problem};
use crate::extract::{Admin, Authenticated, Valid, ValidQuery};
use crate::problem_responses::{NotAdmin, NotLoggedIn, PaymentsNotConfigured};
use crate::routes::payer;
use crate::state::{AppState, Billing};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use devforge_billing::{PaymentId, PaymentRequest};
use devforge_domain::UserId;
use std::sync::Arc;

fn billing(state: &AppState) -> Result<&Arc<Billing>, ApiError> {
    state.billing.as_ref().ok_or_else(payments_not_configured)
}

fn payment_id(raw: &str) -> Result<PaymentId, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "payment_not_found",
            "no such payment",
        )
    })
}

/// The `Idempotency-Key` header, which creating routes require.
fn idempotency_key(req: &HttpRequest) -> Result<String, ApiError> {
    let header = req.headers().get("idempotency-key").ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            "send an Idempotency-Key header (1-255 visible ASCII characters) to make retries safe",
        )
    })?;
    header.to_str().map(str::to_owned).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_required",
            "the Idempotency-Key header must be visible ASCII",
        )
    })
}

/// Starts paying for a product: creates the Stripe PaymentIntent the app confirms with
/// Stripe.js. The same `Idempotency-Key` and body return the same payment.
#[utoipa::path(
    operation_id = "createPayment",
    tag = "payments",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Makes retries safe: 1-255 visible ASCII characters")),
    request_body = CreatePaymentRequest,
    responses(
        (status = 201, description = "Created", body = PaymentResponse),
        (status = 200, description = "The payment created earlier with this key", body = PaymentResponse),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = NotLoggedIn),
        (status = 422, description = "Unknown product, a license that cannot be renewed, or `idempotency_key_reused`", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Stripe failed; retry with the same key", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = PaymentsNotConfigured),
    )
)]
#[post("")]
pub async fn create_payment(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Authenticated,
    body: Valid<CreatePaymentRequest>,
) -> Result<HttpResponse, ApiError> {
    let billing = billing(&state)?;
    let key = idempotency_key(&req)?;
    let email = state.identity.user(caller.0.user_id).await?.email;
    let request = PaymentRequest {
        product: body.0.product,
        renew_license_id: body.0.renew_license_id,
    };
    let view = billing
        .start_payment(payer(caller.0), email.as_str(), &key, request)
        .await?;
    let status = if view.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(PaymentResponse::new(view, true)))
}

/// Payments: one's own; support and admins see all and may filter by payer and status.
#[utoipa::path(
    operation_id = "listPayments",
    tag = "payments",
    security(("bearer" = [])),
    params(PaymentsQuery),
    responses(
        (status = 200, description = "A page of payments, newest first", body = PageResponse<PaymentResponse>),
        (status = 400, description = "Bad query", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = NotLoggedIn),
        (status = 503, response = PaymentsNotConfigured),
    )
)]
#[get("")]
pub async fn list_payments(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: ValidQuery<PaymentsQuery>,
) -> Result<web::Json<PageResponse<PaymentResponse>>, ApiError> {
    let billing = billing(&state)?;
    let query = query.0;
    let page = page_request(query.page, query.per_page)?;
    let caller_id = caller.0.user_id;
    let payments = billing
        .payments(
            payer(caller.0),
            query.user_id.map(UserId::from_uuid),
            query.status.map(Into::into),
            page,
        )
        .await?;
    Ok(web::Json(PageResponse::from_page(payments, |payment| {
        let for_payer = payment.user_id == caller_id;
        let view = devforge_billing::PaymentView {
            payment,
            refunds: Vec::new(),
            created: false,
        };
        PaymentResponse::new(view, for_payer)
    })))
}

/// One payment with its refunds and license (its payer, support or admins).
#[utoipa::path(
    operation_id = "getPayment",
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, description = "The payment", body = PaymentResponse),
        (status = 401, response = NotLoggedIn),
        (status = 404, description = "No such payment, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = PaymentsNotConfigured),
    )
)]
#[get("/{id}")]
pub async fn get_payment(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<PaymentResponse>, ApiError> {
    let billing = billing(&state)?;
    let view = billing.payment(payer(caller.0), payment_id(&id)?).await?;
    let for_payer = view.payment.user_id == caller.0.user_id;
    Ok(web::Json(PaymentResponse::new(view, for_payer)))
}

/// Re-reads the payment from Stripe and applies what Stripe says (for a late webhook).
#[utoipa::path(
    operation_id = "confirmPayment",
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Payment id")),
    responses(
        (status = 200, description = "The payment as Stripe reports it now", body = PaymentResponse),
        (status = 401, response = NotLoggedIn),
        (status = 404, description = "No such payment, or not yours", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Stripe failed", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = PaymentsNotConfigured),
    )
)]
#[post("/{id}/confirm")]
pub async fn confirm_payment(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<web::Json<PaymentResponse>, ApiError> {
    let billing = billing(&state)?;
    let view = billing.confirm(payer(caller.0), payment_id(&id)?).await?;
    Ok(web::Json(PaymentResponse::new(view, true)))
}

/// Refunds (part of) a succeeded payment (admins); a refund in full revokes its license.
#[utoipa::path(
    operation_id = "refundPayment",
    tag = "payments",
    security(("bearer" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "Payment id"),
        ("Idempotency-Key" = String, Header, description = "Makes retries safe"),
    ),
    request_body = RefundRequest,
    responses(
        (status = 200, description = "Refunded", body = PaymentResponse),
        (status = 400, description = "No Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = NotLoggedIn),
        (status = 403, response = NotAdmin),
        (status = 404, description = "No such payment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`payment_not_refundable`: it has not succeeded", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`refund_exceeds_payment`, or a bad amount", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "Stripe failed or refused", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = PaymentsNotConfigured),
    )
)]
#[post("/{id}/refunds")]
pub async fn refund_payment(
    state: web::Data<AppState>,
    req: HttpRequest,
    _admin: Admin,
    id: web::Path<String>,
    body: Valid<RefundRequest>,
) -> Result<web::Json<PaymentResponse>, ApiError> {
    let billing = billing(&state)?;
    let key = idempotency_key(&req)?;
    let body = body.0;
    let view = billing
        .refund(payment_id(&id)?, &key, body.amount, body.reason)
        .await?;
    Ok(web::Json(PaymentResponse::new(view, false)))
}

/// The largest webhook body read. Stripe's events are a few KiB (its API objects are capped
/// far below this); anonymous callers reach this route, so a larger body is refused from its
/// `Content-Length` before any of it is read, and a chunked one once it passes the limit.
pub const WEBHOOK_MAX_BODY_BYTES: usize = 256 * 1024;

/// Stripe's event deliveries, verified by their `Stripe-Signature` over the raw body. A
/// replayed event changes nothing; unknown event types are recorded and acknowledged.
/// Bodies over 256 KiB are refused with 413 before they are read.
#[utoipa::path(
    operation_id = "receiveStripeWebhook",
    tag = "payments",
    request_body(content = String, description = "A Stripe event, as Stripe signed it", content_type = "application/json"),
    responses(
        (status = 200, description = "Applied, or applied before"),
        (status = 400, description = "`invalid_signature`, `stale_signature` or `invalid_event`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`payload_too_large`: over 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 503, response = PaymentsNotConfigured),
    )
)]
#[post("/stripe")]
pub async fn stripe_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let billing = billing(&state)?;
    let signature = req
        .headers()
        .get("stripe-signature")
        .and_then(|value| value.to_str().ok());
    billing.handle_webhook(signature, &body).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"received": true})))
}
