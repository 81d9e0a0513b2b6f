//! Billing: payments through a payment gateway (Stripe in production), signed webhooks,
//! refunds and disputes, and the licenses payments buy.
//!
//! The gateway, storage and licensing are ports ([`gateway::PaymentGateway`],
//! [`ports::BillingStore`], [`desk::LicenseDesk`]); this crate knows no web framework, no
//! database and no Stripe client. Fulfilment never trusts the client: only a verified
//! webhook or a read of the payment intent from the gateway moves a payment to
//! `succeeded`, and exactly one license is issued per succeeded payment however often and
//! in whatever order events arrive.

#![warn(missing_docs)]

pub mod desk;
pub mod error;
pub mod event;
#[cfg(test)]
mod fakes;
pub mod gateway;
pub mod payment;
pub mod ports;
pub mod service;
pub mod signature;

pub use desk::{DeskError, LicenseDesk, Price};
pub use error::BillingError;
pub use event::{Change, GatewayEvent, IntentStatus};
pub use gateway::{EventPage, GatewayError, GatewayRefund, Intent, IntentRequest, PaymentGateway};
pub use payment::{DisputeState, IdempotencyKey, Payment, PaymentId, PaymentStatus, Refund};
pub use ports::{BillingStats, BillingStore, PaymentFilter};
pub use service::{BillingConfig, BillingService, Payer, PaymentRequest, PaymentView};
