//! Gateway events (webhooks and the reconciliation of missed ones) and what they cause:
//! the payment's new state, then the licensing side effects.
//!
//! The event is recorded in the same transaction as its change to the payment, so a
//! replayed delivery changes nothing. The licensing side effects run after that commit and
//! are idempotent; they follow the payment's current state, not the event, and run again on
//! a replay, which is how a crash (or a failed licensing call) between the commit and the
//! side effect heals when the gateway delivers the event again.

use super::BillingService;
use crate::desk::LicenseDesk;
use crate::error::BillingError;
use crate::event::{Change, GatewayEvent, decode};
use crate::gateway::PaymentGateway;
use crate::payment::{DisputeState, Payment, PaymentStatus};
use crate::ports::{Applied, BillingStore, PaymentChange};
use crate::signature;
use devforge_domain::Clock;

/// What an event asks of the payment of which intent.
fn payment_change(change: &Change) -> Option<(&str, PaymentChange)> {
    Some(match change {
        Change::IntentSucceeded { intent_id } => {
            (intent_id, PaymentChange::Status(PaymentStatus::Succeeded))
        }
        Change::IntentProcessing { intent_id } => {
            (intent_id, PaymentChange::Status(PaymentStatus::Processing))
        }
        Change::IntentFailed { intent_id } => {
            (intent_id, PaymentChange::Status(PaymentStatus::Failed))
        }
        Change::IntentCanceled { intent_id } => {
            (intent_id, PaymentChange::Status(PaymentStatus::Canceled))
        }
        Change::ChargeRefunded {
            intent_id,
            amount_refunded,
        } => (intent_id, PaymentChange::RefundedTotal(*amount_refunded)),
        Change::Refund {
            refund_id,
            intent_id,
            amount,
            status,
            reference,
        } => (
            intent_id,
            PaymentChange::Refund {
                gateway_id: refund_id.clone(),
                amount: *amount,
                status: status.clone(),
                reference: reference.clone(),
            },
        ),
        Change::DisputeOpened { intent_id } => {
            (intent_id, PaymentChange::Dispute(DisputeState::Open))
        }
        Change::DisputeClosed { intent_id, lost } => (
            intent_id,
            PaymentChange::Dispute(if *lost {
                DisputeState::Lost
            } else {
                DisputeState::Won
            }),
        ),
        Change::Ignored => return None,
    })
}

/// How many events one reconciliation reads at most.
const RECONCILE_LIMIT: usize = 10_000;

/// What a reconciliation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Events read from the gateway.
    pub seen: usize,
    /// Of those, events not applied before.
    pub applied: usize,
    /// Succeeded payments whose license was issued now.
    pub fulfilled: usize,
    /// Payments whose fulfilment failed (logged; retried by the next run).
    pub failed: usize,
    /// Whether more events than one run reads were in the window (run again, or with a
    /// shorter `--since`).
    pub truncated: bool,
}

impl<S: BillingStore, G: PaymentGateway, L: LicenseDesk, C: Clock> BillingService<S, G, L, C> {
    /// Handles a webhook delivery: verifies the signature over the raw body, then applies
    /// the event once.
    ///
    /// # Errors
    /// [`BillingError::Signature`], [`BillingError::Undecodable`], and failures of storage or
    /// licensing (the gateway retries those deliveries).
    pub async fn handle_webhook(
        &self,
        signature_header: Option<&str>,
        body: &[u8],
    ) -> Result<(), BillingError> {
        signature::verify(
            signature_header,
            body,
            &self.config.webhook_secrets,
            self.clock.now(),
            self.config.webhook_tolerance_secs,
        )?;
        let payload: serde_json::Value =
            serde_json::from_slice(body).map_err(|_| crate::event::UndecodableEvent("not JSON"))?;
        let event = decode(&payload)?;
        self.apply_event(&event).await.map(|_| ())
    }

    /// Applies one decoded event; `true` when it was new.
    async fn apply_event(&self, event: &GatewayEvent) -> Result<bool, BillingError> {
        let (intent, change) = match payment_change(&event.change) {
            Some((intent, change)) => (Some(intent), Some(change)),
            None => (None, None),
        };
        self.record(Some(event), intent, change).await
    }

    /// Records a change (and its event), then performs its licensing side effects.
    pub(super) async fn record(
        &self,
        event: Option<&GatewayEvent>,
        intent_id: Option<&str>,
        change: Option<PaymentChange>,
    ) -> Result<bool, BillingError> {
        let dispute_event = matches!(change, Some(PaymentChange::Dispute(_)));
        let applied = self
            .store
            .apply(event, intent_id, change, self.clock.now())
            .await?;
        let (payment, fresh) = match applied {
            Applied::Fresh { payment, .. } => (payment, true),
            Applied::Replayed(payment) => (payment, false),
        };
        if let Some(payment) = payment {
            self.ensure_effects(payment, dispute_event).await?;
        }
        Ok(fresh)
    }

    /// Brings licensing in line with the payment: a succeeded payment has its license; a
    /// fully refunded one has it revoked; on a dispute event the dispute's state suspends,
    /// reinstates or revokes it. Every step is idempotent.
    pub(super) async fn ensure_effects(
        &self,
        payment: Payment,
        dispute_event: bool,
    ) -> Result<(), BillingError> {
        let payment = if payment.status == PaymentStatus::Succeeded && payment.license_id.is_none()
        {
            self.fulfil(payment).await?
        } else {
            payment
        };
        let Some(license) = payment.license_id else {
            return Ok(());
        };
        // The license a payment issued or renewed is the one it takes back.
        if payment.fully_refunded() {
            self.desk.revoke(license, "refunded").await?;
            return Ok(());
        }
        if dispute_event {
            match payment.dispute {
                Some(DisputeState::Open) => self.desk.suspend(license, "disputed").await?,
                Some(DisputeState::Won) => self.desk.reinstate(license).await?,
                Some(DisputeState::Lost) => self.desk.revoke(license, "dispute_lost").await?,
                None => {}
            }
        }
        Ok(())
    }

    /// Issues (or renews) the license a succeeded payment buys, once.
    async fn fulfil(&self, payment: Payment) -> Result<Payment, BillingError> {
        let license = match payment.renew_license_id {
            Some(license) => {
                match self.desk.renew_for_payment(payment.id, license).await {
                    Ok(()) => {}
                    // Revoked since the payment started: nothing to renew. The payment is
                    // settled against that license (so it is not retried forever) and
                    // left for a person to refund.
                    Err(crate::desk::DeskError::NotRenewable(why)) => {
                        tracing::warn!(payment = %payment.id, reason = why, "a paid renewal could not be applied; refund it");
                    }
                    Err(other) => return Err(other.into()),
                }
                license
            }
            None => {
                self.desk
                    .issue_for_payment(payment.id, payment.user_id, &payment.product)
                    .await?
            }
        };
        Ok(self
            .store
            .mark_fulfilled(payment.id, license, self.clock.now())
            .await?)
    }

    /// Reads the gateway's events since `since_unix` and applies the ones not applied yet
    /// (oldest first), then issues the licenses of succeeded payments that still lack one.
    /// Running it twice changes nothing the second time.
    ///
    /// # Errors
    /// [`BillingError::Gateway`] and storage or licensing failures.
    pub async fn reconcile(&self, since_unix: i64) -> Result<Reconciliation, BillingError> {
        let mut events = Vec::new();
        let mut after = None;
        let mut truncated = false;
        loop {
            let page = self.gateway.list_events(since_unix, after.clone()).await?;
            let last = page
                .events
                .last()
                .and_then(|e| e.get("id"))
                .and_then(|id| id.as_str())
                .map(str::to_owned);
            events.extend(page.events);
            if events.len() >= RECONCILE_LIMIT {
                truncated = page.has_more;
                break;
            }
            if !page.has_more || last.is_none() {
                break;
            }
            after = last;
        }
        let mut report = Reconciliation {
            seen: events.len(),
            truncated,
            ..Reconciliation::default()
        };
        // History is applied oldest first. Stripe lists newest first: reversed, then
        // ordered by creation time (stable, so events of one second keep their order).
        events.reverse();
        events.sort_by_key(|event| event.get("created").and_then(serde_json::Value::as_i64));
        for payload in &events {
            match decode(payload) {
                Ok(event) => {
                    if self.apply_event(&event).await? {
                        report.applied += 1;
                    }
                }
                Err(err) => tracing::warn!(error = %err, "skipping an undecodable event"),
            }
        }
        for payment in self.store.unfulfilled(1000).await? {
            let id = payment.id;
            match self.ensure_effects(payment, false).await {
                Ok(()) => report.fulfilled += 1,
                Err(err) => {
                    tracing::error!(payment = %id, error = %err, "fulfilment failed; retried next run");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }
}
