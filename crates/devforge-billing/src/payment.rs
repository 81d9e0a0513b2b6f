//! A payment and the rules of its status.

use chrono::{DateTime, Utc};
use devforge_domain::{InvalidValue, Money, UserId};

devforge_domain::uuid_id!(
    /// Identifies a payment.
    PaymentId
);

/// Where a payment stands, following the gateway's payment intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Waiting for the customer to pay (or to retry after a failed attempt's reset).
    RequiresPayment,
    /// The gateway is processing it.
    Processing,
    /// The last attempt failed; the customer may try again.
    Failed,
    /// Paid. Final.
    Succeeded,
    /// Abandoned. Final.
    Canceled,
}

impl PaymentStatus {
    /// Every status.
    pub const ALL: [PaymentStatus; 5] = [
        Self::RequiresPayment,
        Self::Processing,
        Self::Failed,
        Self::Succeeded,
        Self::Canceled,
    ];

    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RequiresPayment => "requires_payment",
            Self::Processing => "processing",
            Self::Failed => "failed",
            Self::Succeeded => "succeeded",
            Self::Canceled => "canceled",
        }
    }

    /// Parses a stable name.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `status`.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| {
                InvalidValue::new(
                    "status",
                    "must be one of requires_payment, processing, failed, succeeded, canceled",
                )
            })
    }

    /// How far along a payment is: statuses never move to a lower stage, so a late or
    /// replayed event cannot undo a later one.
    const fn stage(self) -> u8 {
        match self {
            Self::RequiresPayment => 0,
            Self::Processing | Self::Failed => 1,
            Self::Succeeded | Self::Canceled => 2,
        }
    }

    /// Whether nothing can change it any more.
    #[must_use]
    pub const fn is_final(self) -> bool {
        self.stage() == 2
    }

    /// Whether a payment in `self` may become `to`. Final statuses never change; otherwise
    /// a status may move forward or sideways (a failed attempt may be retried and go to
    /// processing), never back.
    #[must_use]
    pub fn may_become(self, to: PaymentStatus) -> bool {
        !self.is_final() && to.stage() >= self.stage() && self != to
    }

    /// The statuses from which `to` may be reached (for compare-and-set in storage).
    #[must_use]
    pub fn sources_of(to: PaymentStatus) -> Vec<PaymentStatus> {
        Self::ALL
            .into_iter()
            .filter(|from| from.may_become(to))
            .collect()
    }
}

/// Where a dispute (chargeback) of the payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisputeState {
    /// The card holder disputes the charge; the license is suspended meanwhile.
    Open,
    /// Decided for us; the license is reinstated.
    Won,
    /// Decided for the card holder; the license is revoked.
    Lost,
}

impl DisputeState {
    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    /// Parses a stable name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Open, Self::Won, Self::Lost]
            .into_iter()
            .find(|state| state.as_str() == name)
    }
}

/// The client's idempotency key: 1–255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses a key.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `Idempotency-Key`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok = (1..=255).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(
                "Idempotency-Key",
                "must be 1-255 visible ASCII characters",
            ))
        }
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a key read back from storage.
    #[must_use]
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }
}

/// A payment for a product, one per client idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Identifier (also sent to the gateway as metadata).
    pub id: PaymentId,
    /// The payer.
    pub user_id: UserId,
    /// The product's SKU.
    pub product: String,
    /// The payer's license this payment renews, if any.
    pub renew_license_id: Option<uuid::Uuid>,
    /// What is charged.
    pub amount: Money,
    /// Where it stands.
    pub status: PaymentStatus,
    /// The gateway's payment intent (absent only while it is being created).
    pub intent_id: Option<String>,
    /// The secret the client confirms the payment with.
    pub client_secret: Option<String>,
    /// Refunded so far (refunds the gateway accepted), in the payment's currency.
    pub amount_refunded: i64,
    /// Set aside for refunds asked of the gateway whose answer is not in yet.
    pub amount_reserved: i64,
    /// A dispute, if any.
    pub dispute: Option<DisputeState>,
    /// The license this payment issued or renewed, once fulfilled.
    pub license_id: Option<uuid::Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Payment {
    /// What is left to refund.
    #[must_use]
    pub fn refundable(&self) -> i64 {
        if self.status == PaymentStatus::Succeeded {
            self.amount.minor_units() - self.amount_refunded - self.amount_reserved
        } else {
            0
        }
    }

    /// Whether the whole amount has been refunded (reservations do not count: the gateway
    /// may still refuse them).
    #[must_use]
    pub fn fully_refunded(&self) -> bool {
        self.status == PaymentStatus::Succeeded && self.amount_refunded >= self.amount.minor_units()
    }
}

/// How far along a refund is: reported statuses only ever move up, so a late event never
/// undoes a later one (a refund may fail after succeeding; it never succeeds after failing).
#[must_use]
pub fn refund_stage(status: &str) -> u8 {
    match status {
        "reserved" => 0,
        "pending" | "requires_action" => 1,
        "succeeded" => 2,
        _ => 3,
    }
}

/// Whether a refund in `status` is money returned (or on its way back).
#[must_use]
pub fn refund_counts(status: &str) -> bool {
    matches!(status, "pending" | "requires_action" | "succeeded")
}

/// A refund of (part of) a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// The gateway's refund id.
    pub gateway_id: String,
    /// The payment.
    pub payment_id: PaymentId,
    /// Refunded amount, in the payment's currency.
    pub amount: i64,
    /// The gateway's status (`succeeded`, `pending`, `failed`, ...).
    pub status: String,
    /// Why, as given by the admin.
    pub reason: Option<String>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::{IdempotencyKey, PaymentStatus as S};

    #[test]
    fn statuses_only_move_forward_and_final_ones_never_move() {
        assert!(S::RequiresPayment.may_become(S::Processing));
        assert!(S::Processing.may_become(S::Succeeded));
        assert!(
            S::Failed.may_become(S::Processing),
            "a retry after a failure"
        );
        assert!(S::Processing.may_become(S::Failed));
        assert!(
            !S::Succeeded.may_become(S::Processing),
            "a late processing event"
        );
        assert!(!S::Succeeded.may_become(S::Canceled));
        assert!(!S::Canceled.may_become(S::Succeeded));
        assert!(!S::Processing.may_become(S::RequiresPayment));
        assert!(!S::Processing.may_become(S::Processing));
        assert_eq!(
            S::sources_of(S::Succeeded),
            [S::RequiresPayment, S::Processing, S::Failed]
        );
        for status in S::ALL {
            assert_eq!(S::parse(status.as_str()), Ok(status));
        }
    }

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse("order-42").is_ok());
        for bad in ["", "has space", "tab\t", &"k".repeat(256), "ключ"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad}");
        }
    }
}
