//! The catalogue: what can be licensed, and on which terms.

use chrono::{DateTime, Utc};
use devforge_domain::{InvalidValue, Money};

/// A product's stable identifier, e.g. `devforge-pro`: 2–64 characters of `a-z`, `0-9` and
/// `-`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Sku(String);

impl Sku {
    /// Parses a SKU.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `sku`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid = (2..=64).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(
                "sku",
                "must be 2-64 characters of a-z, 0-9 and '-', starting with a letter",
            ))
        }
    }

    /// Wraps a SKU read from storage.
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

impl std::fmt::Display for Sku {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something a license lets its holder do, e.g. `pro` or `ext:rust-analyzer`: 1–64
/// characters of `a-z`, `0-9`, `-`, `_`, `.` and `:`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Entitlement(String);

impl Entitlement {
    /// Parses an entitlement.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `entitlements`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let valid = (1..=64).contains(&raw.len())
            && raw.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.' | ':')
            });
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(
                "entitlements",
                "each must be 1-64 characters of a-z, 0-9, '-', '_', '.' and ':'",
            ))
        }
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a list of entitlements, dropping duplicates and keeping them sorted.
///
/// # Errors
/// [`InvalidValue`] when one is invalid or there are more than 32.
pub fn parse_entitlements(raw: &[String]) -> Result<Vec<Entitlement>, InvalidValue> {
    if raw.len() > 32 {
        return Err(InvalidValue::new("entitlements", "at most 32 entitlements"));
    }
    let mut parsed = raw
        .iter()
        .map(|e| Entitlement::parse(e))
        .collect::<Result<Vec<_>, _>>()?;
    parsed.sort();
    parsed.dedup();
    Ok(parsed)
}

/// The license terms a product grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LicenseTerms {
    /// How long a license lasts; `None` for perpetual.
    pub duration_days: Option<u32>,
    /// Machines one license may be activated on.
    pub max_activations: u32,
    /// Days after expiry during which validation still passes (as `GRACE_PERIOD`).
    pub grace_days: u32,
}

impl LicenseTerms {
    /// Checks the numbers.
    ///
    /// # Errors
    /// [`InvalidValue`] when a duration is zero or over 100 years, activations are outside
    /// 1..=1000, or grace exceeds a year.
    pub fn new(
        duration_days: Option<u32>,
        max_activations: u32,
        grace_days: u32,
    ) -> Result<Self, InvalidValue> {
        if duration_days.is_some_and(|days| !(1..=36_500).contains(&days)) {
            return Err(InvalidValue::new(
                "license_duration_days",
                "must be between 1 and 36500, or null for perpetual",
            ));
        }
        if !(1..=1000).contains(&max_activations) {
            return Err(InvalidValue::new(
                "max_activations",
                "must be between 1 and 1000",
            ));
        }
        if grace_days > 365 {
            return Err(InvalidValue::new("grace_days", "must be at most 365"));
        }
        Ok(Self {
            duration_days,
            max_activations,
            grace_days,
        })
    }
}

/// A product as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Identifier.
    pub sku: Sku,
    /// Display name.
    pub name: String,
    /// Price.
    pub price: Money,
    /// License terms.
    pub terms: LicenseTerms,
    /// What its licenses entitle to.
    pub entitlements: Vec<Entitlement>,
    /// Inactive products are hidden from the public catalogue and cannot be licensed anew.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A product about to be created (the service stamps its creation time).
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    /// Identifier.
    pub sku: Sku,
    /// Display name.
    pub name: String,
    /// Price.
    pub price: Money,
    /// License terms.
    pub terms: LicenseTerms,
    /// What its licenses entitle to.
    pub entitlements: Vec<Entitlement>,
    /// Listed publicly.
    pub active: bool,
}

/// What an admin asks to change; absent (`None`) fields stay. Terms and price are merged
/// with the current product's by the service, then checked as a whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductChanges {
    /// New name.
    pub name: Option<String>,
    /// New price in minor units (the currency stays unless also given).
    pub price_minor_units: Option<i64>,
    /// New currency (the amount stays unless also given).
    pub currency: Option<devforge_domain::Currency>,
    /// New duration: `Some(None)` for perpetual.
    pub duration_days: Option<Option<u32>>,
    /// New seat count.
    pub max_activations: Option<u32>,
    /// New grace days.
    pub grace_days: Option<u32>,
    /// New entitlements.
    pub entitlements: Option<Vec<Entitlement>>,
    /// Show or hide.
    pub active: Option<bool>,
}

impl ProductChanges {
    /// The storage patch for `current` with these changes applied.
    ///
    /// # Errors
    /// [`InvalidValue`] when the merged terms break a rule.
    pub fn into_patch(self, current: &Product) -> Result<ProductPatch, InvalidValue> {
        let terms_changed = self.duration_days.is_some()
            || self.max_activations.is_some()
            || self.grace_days.is_some();
        let terms = if terms_changed {
            Some(LicenseTerms::new(
                self.duration_days.unwrap_or(current.terms.duration_days),
                self.max_activations
                    .unwrap_or(current.terms.max_activations),
                self.grace_days.unwrap_or(current.terms.grace_days),
            )?)
        } else {
            None
        };
        let price = (self.price_minor_units.is_some() || self.currency.is_some()).then(|| {
            Money::new(
                self.price_minor_units
                    .unwrap_or(current.price.minor_units()),
                self.currency.unwrap_or(current.price.currency()),
            )
        });
        Ok(ProductPatch {
            name: self.name,
            price,
            terms,
            entitlements: self.entitlements,
            active: self.active,
        })
    }
}

/// A change to a product as storage applies it. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductPatch {
    /// New name.
    pub name: Option<String>,
    /// New price.
    pub price: Option<Money>,
    /// New terms (for licenses issued from now on).
    pub terms: Option<LicenseTerms>,
    /// New entitlements (for licenses issued from now on).
    pub entitlements: Option<Vec<Entitlement>>,
    /// Show or hide it.
    pub active: Option<bool>,
}

/// Parses a product name: trimmed, 1–100 characters, no control characters.
///
/// # Errors
/// [`InvalidValue`] for the field `name`.
pub fn parse_name(raw: &str) -> Result<String, InvalidValue> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            "name",
            "must be 1-100 characters without control characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::{Entitlement, LicenseTerms, Sku, parse_entitlements};

    #[test]
    fn a_sku_is_a_lowercase_slug_starting_with_a_letter() {
        assert!(Sku::parse("devforge-pro").is_ok());
        assert!(Sku::parse("Pro").is_err());
        assert!(Sku::parse("1pro").is_err());
        assert!(Sku::parse("p").is_err());
        assert!(Sku::parse("pro plan").is_err());
    }

    #[test]
    fn entitlements_are_deduplicated_and_sorted() {
        let parsed = parse_entitlements(&["pro".into(), "ext:rust".into(), "pro".into()]);
        let parsed = parsed.unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = parsed.iter().map(Entitlement::as_str).collect();
        assert_eq!(names, ["ext:rust", "pro"]);
        assert!(parse_entitlements(&["Bad Name".into()]).is_err());
    }

    #[test]
    fn terms_reject_zero_activations_and_zero_durations() {
        assert!(LicenseTerms::new(Some(365), 3, 14).is_ok());
        assert!(LicenseTerms::new(None, 1, 0).is_ok());
        assert_eq!(
            LicenseTerms::new(Some(0), 3, 0).err().map(|e| e.field),
            Some("license_duration_days")
        );
        assert_eq!(
            LicenseTerms::new(None, 0, 0).err().map(|e| e.field),
            Some("max_activations")
        );
        assert_eq!(
            LicenseTerms::new(None, 1, 400).err().map(|e| e.field),
            Some("grace_days")
        );
    }
}
