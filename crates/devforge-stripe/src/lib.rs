//! [`PaymentGateway`] on Stripe, through async-stripe.
//!
//! Requests are built with async-stripe's typed builders, but responses are decoded
//! tolerantly: as JSON, reading only the fields billing acts on. Stripe answers in the
//! account's pinned API version, which need not be the one the library was generated for
//! (and the local fake Stripe the tests run against answers in 2017 shapes), so a strict
//! typed decoding would turn a harmless version difference into failed payments.
//!
//! Every creating call carries the idempotency key billing stored before calling, sent as
//! Stripe's `Idempotency-Key`, so a retried call returns the first result.

use devforge_billing::event::{IntentStatus, REFUND_REFERENCE};
use devforge_billing::gateway::{
    EventPage, GatewayError, GatewayRefund, Intent, IntentRequest, PaymentGateway,
};
use devforge_domain::UserId;
use serde_json::Value;
use std::collections::HashMap;
use std::str::FromStr as _;
use std::time::Duration;
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_core::customer::CreateCustomer;
use stripe_core::event::ListEvent;
use stripe_core::payment_intent::{CreatePaymentIntent, RetrievePaymentIntent};
use stripe_core::refund::CreateRefund;
use stripe_types::{Currency, RangeQueryTs};

/// How long one call to Stripe may take.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Events per page of the event list.
const EVENTS_PER_PAGE: i64 = 100;

/// The Stripe payment gateway.
#[derive(Clone)]
pub struct StripeGateway {
    client: Client,
}

impl std::fmt::Debug for StripeGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client holds the secret key: never print it.
        f.debug_struct("StripeGateway").finish_non_exhaustive()
    }
}

impl StripeGateway {
    /// A gateway using `secret_key` against `api_base` (Stripe's own is
    /// `https://api.stripe.com/`; tests point it at a local fake).
    ///
    /// # Errors
    /// A message when the base URL is unusable.
    pub fn new(secret_key: &str, api_base: &str) -> Result<Self, String> {
        let base = if api_base.ends_with('/') {
            api_base.to_owned()
        } else {
            format!("{api_base}/")
        };
        let client = ClientBuilder::new(secret_key)
            .url(base)
            .build()
            .map_err(|e| format!("Stripe client: {e}"))?;
        Ok(Self { client })
    }

    /// Sends `request`, with an idempotency key when given, and returns the response as JSON.
    async fn send<R: StripeRequest>(
        &self,
        request: &R,
        idempotency_key: Option<&str>,
    ) -> Result<Value, GatewayError> {
        let mut call = request
            .build()
            .customize::<miniserde::json::Value>()
            .timeout(TIMEOUT);
        if let Some(key) = idempotency_key {
            let key = IdempotencyKey::new(key)
                .map_err(|e| GatewayError::Unavailable(format!("idempotency key: {e}")))?;
            call = call.request_strategy(RequestStrategy::Idempotent(key));
        }
        let response = call.send(&self.client).await.map_err(gateway_error)?;
        serde_json::from_str(&miniserde::json::to_string(&response))
            .map_err(|e| GatewayError::Unavailable(format!("unreadable response: {e}")))
    }
}

/// Stripe's refusals (4xx) are final; everything else may succeed when retried. A 409
/// (the same idempotency key in flight) and idempotency errors leave the outcome unknown:
/// they are not refusals.
fn gateway_error(err: StripeError) -> GatewayError {
    match err {
        StripeError::Stripe(api, status)
            if (400..500).contains(&status)
                && !matches!(status, 409 | 429)
                && !matches!(api.type_, stripe::ApiErrorsType::IdempotencyError) =>
        {
            GatewayError::Rejected {
                code: api.code.as_ref().map(|code| format!("{code:?}")),
                message: api
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("HTTP {status}")),
            }
        }
        StripeError::Stripe(api, status) => GatewayError::Unavailable(format!(
            "HTTP {status}: {}",
            api.message.clone().unwrap_or_default()
        )),
        other => GatewayError::Unavailable(other.to_string()),
    }
}

fn field<'a>(value: &'a Value, name: &str) -> Result<&'a Value, GatewayError> {
    value
        .get(name)
        .ok_or_else(|| GatewayError::Unavailable(format!("the response lacks `{name}`")))
}

fn text(value: &Value, name: &str) -> Result<String, GatewayError> {
    field(value, name)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| GatewayError::Unavailable(format!("`{name}` is not text")))
}

fn integer(value: &Value, name: &str) -> Result<i64, GatewayError> {
    field(value, name)?
        .as_i64()
        .ok_or_else(|| GatewayError::Unavailable(format!("`{name}` is not an integer")))
}

fn intent(value: &Value) -> Result<Intent, GatewayError> {
    let status = text(value, "status")?;
    Ok(Intent {
        id: text(value, "id")?,
        status: IntentStatus::from_stripe(&status).ok_or_else(|| {
            GatewayError::Unavailable(format!("unknown payment intent status `{status}`"))
        })?,
        client_secret: value
            .get("client_secret")
            .and_then(Value::as_str)
            .map(str::to_owned),
        amount: integer(value, "amount")?,
        currency: text(value, "currency")?,
    })
}

impl PaymentGateway for StripeGateway {
    async fn create_customer(
        &self,
        user_id: UserId,
        email: &str,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        let metadata = HashMap::from([("user_id".to_owned(), user_id.to_string())]);
        let request = CreateCustomer::new().email(email).metadata(metadata);
        let customer = self.send(&request, Some(idempotency_key)).await?;
        text(&customer, "id")
    }

    async fn create_intent(&self, request: IntentRequest) -> Result<Intent, GatewayError> {
        let code = request.amount.currency().code().to_ascii_lowercase();
        let currency = Currency::from_str(&code).map_err(|_| GatewayError::Rejected {
            code: None,
            message: format!("currency {code} is not supported"),
        })?;
        let metadata = HashMap::from([
            ("payment_id".to_owned(), request.payment_id.to_string()),
            ("user_id".to_owned(), request.user_id.to_string()),
            ("sku".to_owned(), request.sku.clone()),
        ]);
        let create = CreatePaymentIntent::new(request.amount.minor_units(), currency)
            .customer(request.customer_id.clone())
            .metadata(metadata);
        let created = self.send(&create, Some(&request.idempotency_key)).await?;
        intent(&created)
    }

    async fn retrieve_intent(&self, intent_id: &str) -> Result<Intent, GatewayError> {
        let current = self
            .send(&RetrievePaymentIntent::new(intent_id), None)
            .await?;
        intent(&current)
    }

    async fn create_refund(
        &self,
        intent_id: &str,
        amount: i64,
        reference: &str,
        idempotency_key: &str,
    ) -> Result<GatewayRefund, GatewayError> {
        let metadata = HashMap::from([(REFUND_REFERENCE.to_owned(), reference.to_owned())]);
        let request = CreateRefund::new()
            .payment_intent(intent_id)
            .amount(amount)
            .metadata(metadata);
        let refund = self.send(&request, Some(idempotency_key)).await?;
        Ok(GatewayRefund {
            id: text(&refund, "id")?,
            amount: integer(&refund, "amount")?,
            status: text(&refund, "status")?,
        })
    }

    async fn list_events(
        &self,
        since_unix: i64,
        starting_after: Option<String>,
    ) -> Result<EventPage, GatewayError> {
        let mut request = ListEvent::new()
            .created(RangeQueryTs::gte(since_unix))
            .limit(EVENTS_PER_PAGE);
        if let Some(after) = starting_after {
            request = request.starting_after(after);
        }
        let page = self.send(&request, None).await?;
        Ok(EventPage {
            events: field(&page, "data")?
                .as_array()
                .cloned()
                .unwrap_or_default(),
            has_more: page
                .get("has_more")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}
