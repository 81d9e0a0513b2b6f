//! The payment gateway port (Stripe in production).
//!
//! Every call that creates something carries an idempotency key that the service stored
//! before calling, so a retry after a timeout or a crash replays the first result instead of
//! creating a second customer, intent or refund.

use crate::event::IntentStatus;
use crate::payment::PaymentId;
use devforge_domain::{Money, UserId};
use std::future::Future;

/// Why the gateway did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// It could not be reached, timed out or failed on its side: worth retrying.
    #[error("the payment gateway is unavailable: {0}")]
    Unavailable(String),
    /// It refused the request (e.g. a refund larger than what is left).
    #[error("the payment gateway refused the request: {message}")]
    Rejected {
        /// Its error code, when it gave one.
        code: Option<String>,
        /// Its message.
        message: String,
    },
}

/// A payment intent as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// Its id.
    pub id: String,
    /// Its status.
    pub status: IntentStatus,
    /// The secret the client confirms it with.
    pub client_secret: Option<String>,
    /// Its amount, in minor units.
    pub amount: i64,
    /// Its currency, lower-case ISO code.
    pub currency: String,
}

/// A new payment intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRequest {
    /// The payer's gateway customer.
    pub customer_id: String,
    /// What to charge.
    pub amount: Money,
    /// Our payment (sent as metadata).
    pub payment_id: PaymentId,
    /// The payer (sent as metadata).
    pub user_id: UserId,
    /// The product (sent as metadata).
    pub sku: String,
    /// Stored before the call.
    pub idempotency_key: String,
}

/// A refund as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRefund {
    /// Its id.
    pub id: String,
    /// Its amount, in minor units.
    pub amount: i64,
    /// Its status (`succeeded`, `pending`, `failed`, ...).
    pub status: String,
}

/// One page of the gateway's event list, oldest first, as raw JSON: events are decoded
/// tolerantly by [`crate::event::decode`].
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    /// The events.
    pub events: Vec<serde_json::Value>,
    /// Whether older events remain.
    pub has_more: bool,
}

/// The payment gateway.
pub trait PaymentGateway: Send + Sync + 'static {
    /// Creates the gateway customer of `user_id`.
    ///
    /// # Errors
    /// [`GatewayError`].
    fn create_customer(
        &self,
        user_id: UserId,
        email: &str,
        idempotency_key: &str,
    ) -> impl Future<Output = Result<String, GatewayError>> + Send;

    /// Creates a payment intent.
    ///
    /// # Errors
    /// [`GatewayError`].
    fn create_intent(
        &self,
        request: IntentRequest,
    ) -> impl Future<Output = Result<Intent, GatewayError>> + Send;

    /// Reads a payment intent as it is now.
    ///
    /// # Errors
    /// [`GatewayError`].
    fn retrieve_intent(
        &self,
        intent_id: &str,
    ) -> impl Future<Output = Result<Intent, GatewayError>> + Send;

    /// Refunds `amount` of an intent, tagging the refund with `reference` (metadata
    /// [`crate::event::REFUND_REFERENCE`]) so its events can be matched to it.
    ///
    /// # Errors
    /// [`GatewayError`].
    fn create_refund(
        &self,
        intent_id: &str,
        amount: i64,
        reference: &str,
        idempotency_key: &str,
    ) -> impl Future<Output = Result<GatewayRefund, GatewayError>> + Send;

    /// Events created at or after `since_unix` (seconds), newest first, after the event
    /// `starting_after` when paging.
    ///
    /// # Errors
    /// [`GatewayError`].
    fn list_events(
        &self,
        since_unix: i64,
        starting_after: Option<String>,
    ) -> impl Future<Output = Result<EventPage, GatewayError>> + Send;
}
