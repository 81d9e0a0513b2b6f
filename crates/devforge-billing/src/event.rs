//! Gateway events, decoded tolerantly.
//!
//! Stripe renders webhook payloads in the API version of the endpoint, not of the client
//! library, and the event list returns objects of whatever version created them. So events
//! are not decoded into a typed model of one API version: only the few fields acted on are
//! read (event id, type, time, and from the object: ids, status, amounts, metadata), and an
//! event whose object lacks one of them is recorded and otherwise ignored.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The metadata key under which billing tags the refunds it asks for, to recognise them
/// when the gateway reports them.
pub const REFUND_REFERENCE: &str = "devforge_refund";

/// A payment intent's status as the gateway reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentStatus {
    /// `requires_payment_method`, `requires_confirmation` or `requires_action`.
    RequiresPayment,
    /// `processing`.
    Processing,
    /// `requires_capture` or `succeeded`: the money is secured.
    Succeeded,
    /// `canceled`.
    Canceled,
}

impl IntentStatus {
    /// Reads Stripe's status name.
    #[must_use]
    pub fn from_stripe(name: &str) -> Option<Self> {
        match name {
            "requires_payment_method"
            | "requires_confirmation"
            | "requires_action"
            | "requires_source"
            | "requires_source_action" => Some(Self::RequiresPayment),
            "processing" => Some(Self::Processing),
            "succeeded" | "requires_capture" => Some(Self::Succeeded),
            "canceled" => Some(Self::Canceled),
            _ => None,
        }
    }
}

/// What an event says happened, in the terms billing acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `payment_intent.succeeded`.
    IntentSucceeded {
        /// The intent.
        intent_id: String,
    },
    /// `payment_intent.processing`.
    IntentProcessing {
        /// The intent.
        intent_id: String,
    },
    /// `payment_intent.payment_failed`.
    IntentFailed {
        /// The intent.
        intent_id: String,
    },
    /// `payment_intent.canceled`.
    IntentCanceled {
        /// The intent.
        intent_id: String,
    },
    /// `charge.refunded`: the charge's refunded total.
    ChargeRefunded {
        /// The intent the charge belongs to.
        intent_id: String,
        /// Refunded so far, in minor units.
        amount_refunded: i64,
    },
    /// `refund.created`, `refund.updated`, `refund.failed`.
    Refund {
        /// The refund.
        refund_id: String,
        /// The intent refunded.
        intent_id: String,
        /// Its amount, in minor units.
        amount: i64,
        /// Its status (`succeeded`, `pending`, `failed`, `canceled`, ...).
        status: String,
        /// Our reference, for refunds billing asked for (from the refund's metadata).
        reference: Option<String>,
    },
    /// `charge.dispute.created`.
    DisputeOpened {
        /// The intent disputed.
        intent_id: String,
    },
    /// `charge.dispute.closed`.
    DisputeClosed {
        /// The intent disputed.
        intent_id: String,
        /// Whether the card holder won (`lost` for us); `won`, `warning_closed` (an inquiry
        /// closed) and any other outcome leave the money with us.
        lost: bool,
    },
    /// Anything else (recorded, answered 200, otherwise ignored).
    Ignored,
}

/// A gateway event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEvent {
    /// The event id (deduplication key).
    pub id: String,
    /// The event type, e.g. `payment_intent.succeeded`.
    pub kind: String,
    /// When the gateway created it.
    pub created: DateTime<Utc>,
    /// What it means.
    pub change: Change,
}

/// Why an event payload could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a gateway event: {0}")]
pub struct UndecodableEvent(pub &'static str);

fn text(value: &Value, field: &str) -> Option<String> {
    value.get(field)?.as_str().map(str::to_owned)
}

fn amount(value: &Value, field: &str) -> Option<i64> {
    value.get(field)?.as_i64()
}

/// The intent a charge-like object (charge, refund, dispute) belongs to: its
/// `payment_intent`, as an id or an expanded object.
fn intent_of(object: &Value) -> Option<String> {
    match object.get("payment_intent")? {
        Value::String(id) => Some(id.clone()),
        Value::Object(expanded) => expanded.get("id")?.as_str().map(str::to_owned),
        _ => None,
    }
}

fn change_of(kind: &str, object: &Value) -> Option<Change> {
    let id = || text(object, "id");
    Some(match kind {
        "payment_intent.succeeded" => Change::IntentSucceeded { intent_id: id()? },
        "payment_intent.processing" => Change::IntentProcessing { intent_id: id()? },
        "payment_intent.payment_failed" => Change::IntentFailed { intent_id: id()? },
        "payment_intent.canceled" => Change::IntentCanceled { intent_id: id()? },
        "charge.refunded" => Change::ChargeRefunded {
            intent_id: intent_of(object)?,
            amount_refunded: amount(object, "amount_refunded")?,
        },
        "refund.created" | "refund.updated" | "refund.failed" | "charge.refund.updated" => {
            Change::Refund {
                refund_id: id()?,
                intent_id: intent_of(object)?,
                amount: amount(object, "amount")?,
                status: text(object, "status")?,
                reference: object
                    .get("metadata")
                    .and_then(|m| m.get(REFUND_REFERENCE))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }
        }
        "charge.dispute.created" => Change::DisputeOpened {
            intent_id: intent_of(object)?,
        },
        "charge.dispute.closed" => Change::DisputeClosed {
            intent_id: intent_of(object)?,
            lost: text(object, "status")? == "lost",
        },
        _ => Change::Ignored,
    })
}

/// Reads an event from its JSON. An event of a known type whose object lacks a field
/// acted on decodes as [`Change::Ignored`] (and is logged), rather than failing the
/// delivery forever.
///
/// # Errors
/// [`UndecodableEvent`] when the payload has no event id, type or object.
pub fn decode(payload: &Value) -> Result<GatewayEvent, UndecodableEvent> {
    let id = text(payload, "id").ok_or(UndecodableEvent("no id"))?;
    let kind = text(payload, "type").ok_or(UndecodableEvent("no type"))?;
    let object = payload
        .get("data")
        .and_then(|data| data.get("object"))
        .ok_or(UndecodableEvent("no data.object"))?;
    let created = payload
        .get("created")
        .and_then(Value::as_i64)
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .unwrap_or_default();
    let change = change_of(&kind, object).unwrap_or_else(|| {
        tracing::warn!(event = %id, kind = %kind, "event lacks a field it is handled by; ignored");
        Change::Ignored
    });
    Ok(GatewayEvent {
        id,
        kind,
        created,
        change,
    })
}

#[cfg(test)]
mod tests {
    use super::{Change, decode};
    use serde_json::json;

    #[test]
    fn the_fields_acted_on_are_read_from_any_api_version() {
        let succeeded = json!({"id": "evt_1", "type": "payment_intent.succeeded", "created": 1_700_000_000,
            "api_version": "2017-08-15", "data": {"object": {"id": "pi_1", "object": "payment_intent", "status": "succeeded"}}});
        assert_eq!(
            decode(&succeeded).map(|e| e.change),
            Ok(Change::IntentSucceeded {
                intent_id: "pi_1".into()
            })
        );
        let refund = json!({"id": "evt_2", "type": "refund.created", "data": {"object":
            {"id": "re_1", "payment_intent": {"id": "pi_1"}, "amount": 500, "status": "succeeded",
             "metadata": {"devforge_refund": "r-1"}}}});
        assert_eq!(
            decode(&refund).map(|e| e.change),
            Ok(Change::Refund {
                refund_id: "re_1".into(),
                intent_id: "pi_1".into(),
                amount: 500,
                status: "succeeded".into(),
                reference: Some("r-1".into()),
            })
        );
        let lost = json!({"id": "evt_3", "type": "charge.dispute.closed", "data": {"object":
            {"id": "dp_1", "payment_intent": "pi_1", "status": "lost"}}});
        assert_eq!(
            decode(&lost).map(|e| e.change),
            Ok(Change::DisputeClosed {
                intent_id: "pi_1".into(),
                lost: true
            })
        );
    }

    #[test]
    fn unknown_types_and_incomplete_objects_are_ignored_but_garbage_is_refused() {
        let unknown =
            json!({"id": "evt_4", "type": "customer.created", "data": {"object": {"id": "cus_1"}}});
        assert_eq!(decode(&unknown).map(|e| e.change), Ok(Change::Ignored));
        let incomplete =
            json!({"id": "evt_5", "type": "charge.refunded", "data": {"object": {"id": "ch_1"}}});
        assert_eq!(decode(&incomplete).map(|e| e.change), Ok(Change::Ignored));
        assert!(decode(&json!({"type": "x"})).is_err());
        assert!(decode(&json!([1, 2])).is_err());
    }
}
