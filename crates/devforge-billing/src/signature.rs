//! Stripe's webhook signature: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`,
//! where each `v1` is HMAC-SHA256 over `"{t}.{raw body}"` under an endpoint secret.
//!
//! Verification runs on the raw bytes before anything is parsed. Several secrets may be
//! configured (rotation), several `v1` values may be sent (Stripe's own rotation); any match
//! passes. Comparison is constant-time. A timestamp outside the tolerance is refused, so a
//! captured delivery cannot be replayed later.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit as _, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Why a webhook delivery is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `Stripe-Signature` header, or one without `t` or `v1`.
    #[error("the Stripe-Signature header is missing or malformed")]
    Malformed,
    /// The timestamp is further from now than the tolerance.
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    /// No `v1` matches any configured secret.
    #[error("no signature matches")]
    Mismatch,
}

/// The parts of a `Stripe-Signature` header.
struct Header {
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

fn parse(header: &str) -> Result<Header, SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => timestamp = value.parse::<i64>().ok(),
            "v1" => {
                if let Ok(bytes) = hex::decode(value) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if !signatures.is_empty() => Ok(Header {
            timestamp,
            signatures,
        }),
        _ => Err(SignatureError::Malformed),
    }
}

/// The `v1` signature of `body` signed at `timestamp` under `secret`, hex-encoded: what
/// Stripe sends (and what tests sign their own payloads with).
#[must_use]
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body))
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Checks a delivery's `Stripe-Signature` header against the raw `body`.
///
/// # Errors
/// [`SignatureError`] when the header is malformed, too old or too new by more than
/// `tolerance_secs`, or matches none of `secrets`.
pub fn verify(
    header: Option<&str>,
    body: &[u8],
    secrets: &[String],
    now: DateTime<Utc>,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let header = parse(header.ok_or(SignatureError::Malformed)?)?;
    if now.timestamp().abs_diff(header.timestamp) > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let matches = secrets.iter().any(|secret| {
        let expected = mac(secret, header.timestamp, body);
        header
            .signatures
            .iter()
            .any(|candidate| bool::from(candidate.as_slice().ct_eq(&expected)))
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::{SignatureError, sign, verify};
    use chrono::{TimeZone, Utc};

    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;

    fn at(seconds: i64) -> chrono::DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).single().unwrap_or_default()
    }

    #[test]
    fn a_signature_from_any_configured_secret_passes() {
        let header = format!("t=1000,v1={},v1=00ff", sign("whsec_new", 1000, BODY));
        let secrets = ["whsec_old".to_owned(), "whsec_new".to_owned()];
        assert_eq!(verify(Some(&header), BODY, &secrets, at(1100), 300), Ok(()));
    }

    #[test]
    fn tampering_staleness_and_garbage_are_refused() {
        let secrets = ["whsec_a".to_owned()];
        let good = format!("t=1000,v1={}", sign("whsec_a", 1000, BODY));
        assert_eq!(
            verify(Some(&good), b"{}", &secrets, at(1000), 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Some(&good), BODY, &secrets, at(1301), 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(Some(&good), BODY, &["other".into()], at(1000), 300),
            Err(SignatureError::Mismatch)
        );
        for header in [
            None,
            Some("v1=abcd"),
            Some("t=1000"),
            Some("t=x,v1=zz"),
            Some(""),
        ] {
            assert_eq!(
                verify(header, BODY, &secrets, at(1000), 300),
                Err(SignatureError::Malformed),
                "{header:?}"
            );
        }
    }
}
