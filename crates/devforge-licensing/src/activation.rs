//! Machines a license is activated on.

use crate::license::LicenseId;
use chrono::{DateTime, Utc};
use devforge_domain::InvalidValue;

devforge_domain::uuid_id!(
    /// Identifies an activation.
    ActivationId
);

/// A machine's fingerprint as the IDE computes it: 1–256 visible characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Parses a fingerprint (trimmed).
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `fingerprint`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let value = raw.trim();
        if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
            return Err(InvalidValue::new(
                "fingerprint",
                "must be 1-256 characters without control characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// Wraps a fingerprint read from storage.
    #[must_use]
    pub fn from_trusted(stored: String) -> Self {
        Self(stored)
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Optional machine description: trimmed, at most 100 characters, no control characters.
///
/// # Errors
/// [`InvalidValue`] for `field`.
pub fn parse_label(field: &'static str, raw: Option<&str>) -> Result<Option<String>, InvalidValue> {
    let Some(value) = raw.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > 100 || value.chars().any(char::is_control) {
        return Err(InvalidValue::new(field, "must be at most 100 characters"));
    }
    Ok(Some(value.to_owned()))
}

/// A machine a license is active on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// Identifier.
    pub id: ActivationId,
    /// The license.
    pub license_id: LicenseId,
    /// The machine.
    pub fingerprint: Fingerprint,
    /// A name the user gave the machine.
    pub name: Option<String>,
    /// Operating system, as the IDE reports it.
    pub platform: Option<String>,
    /// When it was activated.
    pub created_at: DateTime<Utc>,
}

/// What activating did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivationOutcome {
    /// A new seat was taken.
    Created(Activation),
    /// The machine already had a seat: nothing changed.
    Existing(Activation),
    /// Every seat is taken.
    LimitReached,
    /// The license stopped being usable while activating (revoked or suspended meanwhile).
    NotActive,
}

#[cfg(test)]
mod tests {
    use super::{Fingerprint, parse_label};

    #[test]
    fn a_fingerprint_is_trimmed_and_must_not_be_empty() {
        assert_eq!(
            Fingerprint::parse(" abc ").map(|f| f.as_str().to_owned()),
            Ok("abc".into())
        );
        assert!(Fingerprint::parse("   ").is_err());
        assert!(Fingerprint::parse(&"x".repeat(257)).is_err());
        assert!(Fingerprint::parse("a\u{0}b").is_err());
    }

    #[test]
    fn labels_are_optional_and_bounded() {
        assert_eq!(parse_label("name", None), Ok(None));
        assert_eq!(parse_label("name", Some("  ")), Ok(None));
        assert_eq!(
            parse_label("name", Some(" Laptop ")),
            Ok(Some("Laptop".into()))
        );
        assert!(parse_label("name", Some(&"n".repeat(101))).is_err());
    }
}
