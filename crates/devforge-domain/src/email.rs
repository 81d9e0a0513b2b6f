//! Email addresses, normalised once at the edge so that lookups and uniqueness agree.

use crate::error::InvalidValue;
use garde::Validate;

/// A syntactically valid email address, trimmed and lower-cased.
///
/// Lower-casing the local part is a deliberate simplification: no mail provider we serve
/// treats `Alice@` and `alice@` as different mailboxes, and one normal form is what makes
/// "this email is taken" reliable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Validate)]
struct EmailSyntax<'a>(#[garde(email, length(max = 254))] &'a str);

impl Email {
    /// Trims, lower-cases and validates `raw`.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `email` when it is not an address.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return Err(InvalidValue::new("email", "must not be empty"));
        }
        EmailSyntax(&normalised)
            .validate()
            .map_err(|_| InvalidValue::new("email", "is not a valid email address"))?;
        Ok(Self(normalised))
    }

    /// Wraps an address read back from storage, where it was stored already normalised.
    #[must_use]
    pub fn from_trusted(stored: String) -> Self {
        Self(stored)
    }

    /// The normalised address.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn an_address_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Alice@Example.COM ").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(email.as_str(), "alice@example.com");
    }

    #[test]
    fn text_without_an_at_sign_is_rejected() {
        let err = Email::parse("alice.example.com").err();
        assert_eq!(err.map(|e| e.field), Some("email"));
    }

    #[test]
    fn an_empty_address_is_rejected() {
        assert!(Email::parse("   ").is_err());
    }

    #[test]
    fn an_address_longer_than_254_characters_is_rejected() {
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
