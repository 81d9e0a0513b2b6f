//! In-memory implementations of billing's ports, for the service's unit tests: a store with
//! the SQL adapter's contracts, a gateway that behaves like Stripe on idempotency keys and
//! can be told to fail, and a licensing desk that records what it was asked.

use crate::desk::{DeskError, LicenseDesk, Price};
use crate::event::{GatewayEvent, IntentStatus};
use crate::gateway::{
    EventPage, GatewayError, GatewayRefund, Intent, IntentRequest, PaymentGateway,
};
use crate::payment::{DisputeState, IdempotencyKey, Payment, PaymentId, PaymentStatus, Refund};
use crate::ports::{
    Applied, BillingStats, BillingStore, NewPayment, PaymentChange, PaymentFilter,
    RefundReservation, Reservation,
};
use crate::service::RESERVED;
use chrono::{DateTime, Utc};
use devforge_domain::{Currency, Money, Page, PageRequest, StoreError, UserId};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ----- store ----------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Stored {
    customers: HashMap<UserId, String>,
    payments: Vec<(Payment, String, String)>,
    refunds: Vec<(Refund, Option<String>)>,
    events: HashSet<String>,
}

#[derive(Debug, Clone, Default)]
pub struct FakeStore(Arc<Mutex<Stored>>);

use crate::payment::{refund_counts as counts, refund_stage};

impl BillingStore for FakeStore {
    async fn customer_of(&self, user: UserId) -> Result<Option<String>, StoreError> {
        Ok(lock(&self.0).customers.get(&user).cloned())
    }

    async fn save_customer(&self, user: UserId, customer_id: &str) -> Result<String, StoreError> {
        let mut state = lock(&self.0);
        Ok(state
            .customers
            .entry(user)
            .or_insert_with(|| customer_id.to_owned())
            .clone())
    }

    async fn payment_by_key(
        &self,
        user: UserId,
        key: &IdempotencyKey,
    ) -> Result<Option<(Payment, String)>, StoreError> {
        Ok(lock(&self.0)
            .payments
            .iter()
            .find(|(p, k, _)| p.user_id == user && k == key.as_str())
            .map(|(p, _, f)| (p.clone(), f.clone())))
    }

    async fn insert_payment(&self, new: NewPayment) -> Result<Reservation, StoreError> {
        let mut state = lock(&self.0);
        let key = new.idempotency_key.as_str().to_owned();
        if let Some((payment, _, fingerprint)) = state
            .payments
            .iter()
            .find(|(p, k, _)| p.user_id == new.payment.user_id && *k == key)
        {
            return Ok(Reservation::Existing {
                payment: payment.clone(),
                fingerprint: fingerprint.clone(),
            });
        }
        state
            .payments
            .push((new.payment.clone(), key, new.fingerprint));
        Ok(Reservation::Created(new.payment))
    }

    async fn attach_intent(
        &self,
        id: PaymentId,
        intent: &Intent,
        at: DateTime<Utc>,
    ) -> Result<Payment, StoreError> {
        let mut state = lock(&self.0);
        let (payment, _, _) = state
            .payments
            .iter_mut()
            .find(|(p, _, _)| p.id == id)
            .ok_or_else(|| StoreError::unexpected("no payment"))?;
        if payment.intent_id.is_none() {
            payment.intent_id = Some(intent.id.clone());
            payment.client_secret = intent.client_secret.clone();
            payment.updated_at = at;
        }
        Ok(payment.clone())
    }

    async fn find_payment(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(lock(&self.0)
            .payments
            .iter()
            .find(|(p, _, _)| p.id == id)
            .map(|(p, _, _)| p.clone()))
    }

    async fn list_payments(
        &self,
        filter: PaymentFilter,
        page: PageRequest,
    ) -> Result<Page<Payment>, StoreError> {
        let all = lock(&self.0)
            .payments
            .iter()
            .map(|(p, _, _)| p.clone())
            .filter(|p| filter.user_id.is_none_or(|u| p.user_id == u))
            .filter(|p| filter.status.is_none_or(|s| p.status == s))
            .collect();
        Ok(Page::slice(all, page))
    }

    async fn refunds_of(&self, id: PaymentId) -> Result<Vec<Refund>, StoreError> {
        Ok(lock(&self.0)
            .refunds
            .iter()
            .filter(|(r, _)| r.payment_id == id)
            .map(|(r, _)| r.clone())
            .collect())
    }

    async fn apply(
        &self,
        event: Option<&GatewayEvent>,
        intent_id: Option<&str>,
        change: Option<PaymentChange>,
        at: DateTime<Utc>,
    ) -> Result<Applied, StoreError> {
        let mut state = lock(&self.0);
        let find = |state: &Stored| {
            intent_id.and_then(|intent| {
                state
                    .payments
                    .iter()
                    .find(|(p, _, _)| p.intent_id.as_deref() == Some(intent))
                    .map(|(p, _, _)| p.clone())
            })
        };
        if let Some(event) = event
            && !state.events.insert(event.id.clone())
        {
            return Ok(Applied::Replayed(find(&state)));
        }
        let Some(intent) = intent_id else {
            return Ok(Applied::Fresh {
                payment: None,
                changed: false,
            });
        };
        let Some(index) = state
            .payments
            .iter()
            .position(|(p, _, _)| p.intent_id.as_deref() == Some(intent))
        else {
            return Ok(Applied::Fresh {
                payment: None,
                changed: false,
            });
        };
        let changed = match change {
            None => false,
            Some(PaymentChange::Status(to)) => {
                let payment = &mut state.payments[index].0;
                let allowed = payment.status.may_become(to);
                if allowed {
                    payment.status = to;
                    payment.updated_at = at;
                }
                allowed
            }
            Some(PaymentChange::RefundedTotal(total)) => {
                let payment = &mut state.payments[index].0;
                let raise =
                    payment.status == PaymentStatus::Succeeded && payment.amount_refunded < total;
                if raise {
                    payment.amount_refunded = total;
                }
                raise
            }
            Some(PaymentChange::Dispute(to)) => {
                let payment = &mut state.payments[index].0;
                let allowed = match to {
                    DisputeState::Open => payment.dispute.is_none(),
                    _ => matches!(payment.dispute, None | Some(DisputeState::Open)),
                };
                if allowed {
                    payment.dispute = Some(to);
                }
                allowed
            }
            Some(PaymentChange::Refund {
                gateway_id,
                amount,
                status,
                reference,
            }) => {
                let payment_id = state.payments[index].0.id;
                let known = state.refunds.iter().position(|(r, key)| {
                    r.gateway_id == gateway_id
                        || (r.payment_id == payment_id
                            && r.status == RESERVED
                            && reference.is_some()
                            && *key == reference)
                });
                let (refunded, reserved, changed) = match known {
                    Some(position) => {
                        let refund = &mut state.refunds[position].0;
                        if refund_stage(&status) <= refund_stage(&refund.status) {
                            (0, 0, false)
                        } else {
                            let was_reserved = refund.status == RESERVED;
                            let before = i64::from(counts(&refund.status)) * refund.amount;
                            let after = i64::from(counts(&status)) * refund.amount;
                            refund.status = status;
                            refund.gateway_id = gateway_id;
                            let released = if was_reserved { refund.amount } else { 0 };
                            (after - before, -released, true)
                        }
                    }
                    None => {
                        let counted = if counts(&status) { amount } else { 0 };
                        state.refunds.push((
                            Refund {
                                gateway_id,
                                payment_id,
                                amount,
                                status,
                                reason: None,
                                created_at: at,
                            },
                            None,
                        ));
                        (counted, 0, true)
                    }
                };
                let payment = &mut state.payments[index].0;
                payment.amount_reserved += reserved;
                payment.amount_refunded =
                    (payment.amount_refunded + refunded).min(payment.amount.minor_units());
                changed
            }
        };
        Ok(Applied::Fresh {
            payment: find(&state),
            changed,
        })
    }

    async fn mark_fulfilled(
        &self,
        id: PaymentId,
        license_id: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> Result<Payment, StoreError> {
        let mut state = lock(&self.0);
        let (payment, _, _) = state
            .payments
            .iter_mut()
            .find(|(p, _, _)| p.id == id)
            .ok_or_else(|| StoreError::unexpected("no payment"))?;
        payment.license_id.get_or_insert(license_id);
        payment.updated_at = at;
        Ok(payment.clone())
    }

    async fn unfulfilled(&self, limit: u64) -> Result<Vec<Payment>, StoreError> {
        Ok(lock(&self.0)
            .payments
            .iter()
            .map(|(p, _, _)| p.clone())
            .filter(|p| p.status == PaymentStatus::Succeeded && p.license_id.is_none())
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect())
    }

    async fn reserve_refund(
        &self,
        id: PaymentId,
        amount: Option<i64>,
        reason: Option<String>,
        key: &IdempotencyKey,
        at: DateTime<Utc>,
    ) -> Result<RefundReservation, StoreError> {
        let mut state = lock(&self.0);
        if let Some((refund, _)) = state
            .refunds
            .iter()
            .find(|(r, k)| r.payment_id == id && k.as_deref() == Some(key.as_str()))
        {
            return Ok(RefundReservation::Existing(refund.clone()));
        }
        let Some((payment, _, _)) = state.payments.iter_mut().find(|(p, _, _)| p.id == id) else {
            return Ok(RefundReservation::NotRefundable(
                PaymentStatus::RequiresPayment,
            ));
        };
        if payment.status != PaymentStatus::Succeeded {
            return Ok(RefundReservation::NotRefundable(payment.status));
        }
        let amount = amount.unwrap_or_else(|| payment.refundable());
        if amount <= 0 || amount > payment.refundable() {
            return Ok(RefundReservation::Exceeds {
                refundable: payment.refundable(),
            });
        }
        payment.amount_reserved += amount;
        let refund = Refund {
            gateway_id: String::new(),
            payment_id: id,
            amount,
            status: RESERVED.into(),
            reason,
            created_at: at,
        };
        state
            .refunds
            .push((refund.clone(), Some(key.as_str().to_owned())));
        Ok(RefundReservation::Reserved(refund))
    }

    async fn settle_refund(
        &self,
        id: PaymentId,
        key: &IdempotencyKey,
        gateway_id: Option<&str>,
        status: &str,
        _at: DateTime<Utc>,
    ) -> Result<Option<Payment>, StoreError> {
        let mut state = lock(&self.0);
        let mut moved = (0, 0);
        if let Some((refund, _)) = state.refunds.iter_mut().find(|(r, k)| {
            r.payment_id == id && k.as_deref() == Some(key.as_str()) && r.status == RESERVED
        }) {
            refund.status = status.to_owned();
            if let Some(gateway_id) = gateway_id {
                refund.gateway_id = gateway_id.to_owned();
            }
            let refunded = if counts(status) { refund.amount } else { 0 };
            moved = (refund.amount, refunded);
        }
        let payment = state.payments.iter_mut().find(|(p, _, _)| p.id == id);
        Ok(payment.map(|(payment, _, _)| {
            payment.amount_reserved -= moved.0;
            payment.amount_refunded += moved.1;
            payment.clone()
        }))
    }

    async fn billing_stats(&self) -> Result<BillingStats, StoreError> {
        Ok(BillingStats::default())
    }
}

// ----- gateway --------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Stripe {
    customers: HashMap<String, String>,
    intents: HashMap<String, Intent>,
    intents_by_key: HashMap<String, String>,
    refunds_by_key: HashMap<String, GatewayRefund>,
    failures: VecDeque<GatewayError>,
    events: Vec<serde_json::Value>,
}

/// A gateway that answers like Stripe: an idempotency key replays its first answer.
#[derive(Debug, Clone, Default)]
pub struct FakeGateway(Arc<Mutex<Stripe>>);

impl FakeGateway {
    /// The next call fails with `error` (before doing anything).
    pub fn fail_next(&self, error: GatewayError) {
        lock(&self.0).failures.push_back(error);
    }

    /// Sets an intent's status, as a payment at Stripe would.
    pub fn set_status(&self, intent: &str, status: IntentStatus) {
        if let Some(found) = lock(&self.0).intents.get_mut(intent) {
            found.status = status;
        }
    }

    /// Adds an event to the event list.
    pub fn add_event(&self, event: serde_json::Value) {
        lock(&self.0).events.push(event);
    }

    pub fn customers(&self) -> usize {
        lock(&self.0).customers.len()
    }

    pub fn refunds(&self) -> usize {
        lock(&self.0).refunds_by_key.len()
    }

    fn failure(&self) -> Result<(), GatewayError> {
        lock(&self.0).failures.pop_front().map_or(Ok(()), Err)
    }
}

impl PaymentGateway for FakeGateway {
    async fn create_customer(
        &self,
        _user_id: UserId,
        _email: &str,
        idempotency_key: &str,
    ) -> Result<String, GatewayError> {
        self.failure()?;
        let mut state = lock(&self.0);
        let next = format!("cus_{}", state.customers.len() + 1);
        Ok(state
            .customers
            .entry(idempotency_key.to_owned())
            .or_insert(next)
            .clone())
    }

    async fn create_intent(&self, request: IntentRequest) -> Result<Intent, GatewayError> {
        self.failure()?;
        let mut state = lock(&self.0);
        if let Some(id) = state.intents_by_key.get(&request.idempotency_key).cloned() {
            return state
                .intents
                .get(&id)
                .cloned()
                .ok_or_else(|| GatewayError::Unavailable("lost intent".into()));
        }
        let id = format!("pi_{}", state.intents.len() + 1);
        let intent = Intent {
            id: id.clone(),
            status: IntentStatus::RequiresPayment,
            client_secret: Some(format!("{id}_secret")),
            amount: request.amount.minor_units(),
            currency: request.amount.currency().code().to_lowercase(),
        };
        state.intents.insert(id.clone(), intent.clone());
        state.intents_by_key.insert(request.idempotency_key, id);
        Ok(intent)
    }

    async fn retrieve_intent(&self, intent_id: &str) -> Result<Intent, GatewayError> {
        self.failure()?;
        lock(&self.0)
            .intents
            .get(intent_id)
            .cloned()
            .ok_or_else(|| GatewayError::Rejected {
                code: None,
                message: "no such intent".into(),
            })
    }

    async fn create_refund(
        &self,
        _intent_id: &str,
        amount: i64,
        _reference: &str,
        idempotency_key: &str,
    ) -> Result<GatewayRefund, GatewayError> {
        self.failure()?;
        let mut state = lock(&self.0);
        let next = GatewayRefund {
            id: format!("re_{}", state.refunds_by_key.len() + 1),
            amount,
            status: "succeeded".into(),
        };
        Ok(state
            .refunds_by_key
            .entry(idempotency_key.to_owned())
            .or_insert(next)
            .clone())
    }

    async fn list_events(
        &self,
        _since_unix: i64,
        _starting_after: Option<String>,
    ) -> Result<EventPage, GatewayError> {
        self.failure()?;
        Ok(EventPage {
            events: lock(&self.0).events.clone(),
            has_more: false,
        })
    }
}

// ----- licensing desk -------------------------------------------------------------------

#[derive(Debug, Default)]
struct Desk {
    issued: HashMap<PaymentId, uuid::Uuid>,
    renewals: Vec<PaymentId>,
    statuses: HashMap<uuid::Uuid, &'static str>,
}

/// A licensing desk that sells `pro` at 99.00 EUR and remembers what it did.
#[derive(Debug, Clone, Default)]
pub struct FakeDesk(Arc<Mutex<Desk>>);

impl FakeDesk {
    pub fn licenses_issued(&self) -> usize {
        lock(&self.0).issued.len()
    }

    pub fn renewals(&self) -> usize {
        lock(&self.0).renewals.len()
    }

    pub fn status_of(&self, license: uuid::Uuid) -> Option<&'static str> {
        lock(&self.0).statuses.get(&license).copied()
    }

    pub fn add_license(&self, license: uuid::Uuid) {
        lock(&self.0).statuses.insert(license, "active");
    }

    fn set(&self, license: uuid::Uuid, from: &[&str], to: &'static str) {
        let mut state = lock(&self.0);
        if let Some(status) = state.statuses.get_mut(&license)
            && from.contains(status)
        {
            *status = to;
        }
    }
}

impl LicenseDesk for FakeDesk {
    async fn price(&self, sku: &str) -> Result<Option<Price>, DeskError> {
        let eur = Currency::parse("EUR").map_err(|e| DeskError::Failed(e.to_string()))?;
        Ok((sku == "pro").then(|| Price {
            amount: Money::new(9900, eur),
            active: true,
        }))
    }

    async fn check_renewable(
        &self,
        _user_id: UserId,
        license_id: uuid::Uuid,
        _sku: &str,
    ) -> Result<(), DeskError> {
        match self.status_of(license_id) {
            Some("active" | "suspended") => Ok(()),
            _ => Err(DeskError::NotRenewable("no license of yours has this id")),
        }
    }

    async fn issue_for_payment(
        &self,
        payment: PaymentId,
        _user_id: UserId,
        _sku: &str,
    ) -> Result<uuid::Uuid, DeskError> {
        let mut state = lock(&self.0);
        let license = *state
            .issued
            .entry(payment)
            .or_insert_with(uuid::Uuid::now_v7);
        state.statuses.entry(license).or_insert("active");
        Ok(license)
    }

    async fn renew_for_payment(
        &self,
        payment: PaymentId,
        _license_id: uuid::Uuid,
    ) -> Result<(), DeskError> {
        let mut state = lock(&self.0);
        if !state.renewals.contains(&payment) {
            state.renewals.push(payment);
        }
        Ok(())
    }

    async fn revoke(&self, license_id: uuid::Uuid, _reason: &str) -> Result<(), DeskError> {
        self.set(license_id, &["active", "suspended"], "revoked");
        Ok(())
    }

    async fn suspend(&self, license_id: uuid::Uuid, _reason: &str) -> Result<(), DeskError> {
        self.set(license_id, &["active"], "suspended");
        Ok(())
    }

    async fn reinstate(&self, license_id: uuid::Uuid) -> Result<(), DeskError> {
        self.set(license_id, &["suspended"], "active");
        Ok(())
    }
}
