//! Licenses and the rules that decide whether one is good right now.

use crate::product::{Entitlement, Sku};
use chrono::{DateTime, Duration, Utc};
use devforge_domain::{InvalidValue, UserId};

devforge_domain::uuid_id!(
    /// Identifies a license.
    LicenseId
);

/// What an admin (or billing) has decided about a license. Expiry is not a status: it is
/// derived from `expires_at` and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LicenseStatus {
    /// In force.
    Active,
    /// Paused (e.g. a payment dispute); can be reinstated.
    Suspended,
    /// Ended for good.
    Revoked,
}

impl LicenseStatus {
    /// The stable name used in storage and JSON.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// Parses a stable name.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `status`.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        match name {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "revoked" => Ok(Self::Revoked),
            _ => Err(InvalidValue::new(
                "status",
                "must be one of active, suspended, revoked",
            )),
        }
    }
}

/// Where a license came from: an admin's grant, or a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseSource {
    /// Issued by this admin.
    Admin(UserId),
    /// Issued for this payment.
    Payment(String),
}

impl LicenseSource {
    /// `admin:<user id>` or `payment:<payment id>`, as stored and shown.
    #[must_use]
    pub fn encode(&self) -> String {
        match self {
            Self::Admin(id) => format!("admin:{id}"),
            Self::Payment(id) => format!("payment:{id}"),
        }
    }

    /// Parses the stored form.
    #[must_use]
    pub fn decode(stored: &str) -> Option<Self> {
        let (kind, id) = stored.split_once(':')?;
        match kind {
            "admin" => id.parse().ok().map(Self::Admin),
            "payment" => Some(Self::Payment(id.to_owned())),
            _ => None,
        }
    }
}

/// A license as stored (without its key, which only its owner may see).
#[derive(Debug, Clone, PartialEq)]
pub struct License {
    /// Identifier.
    pub id: LicenseId,
    /// The owner.
    pub user_id: UserId,
    /// The product licensed.
    pub product: Sku,
    /// Admin decision.
    pub status: LicenseStatus,
    /// Issue time.
    pub issued_at: DateTime<Utc>,
    /// End of validity; `None` for perpetual.
    pub expires_at: Option<DateTime<Utc>>,
    /// Days after expiry during which validation still passes.
    pub grace_days: u32,
    /// Machines it may be active on.
    pub max_activations: u32,
    /// Machines it is active on.
    pub activations_count: u32,
    /// What it entitles to.
    pub entitlements: Vec<Entitlement>,
    /// Where it came from.
    pub source: LicenseSource,
    /// Why it was suspended or revoked.
    pub revocation_reason: Option<String>,
    /// Bumped by storage on every change to the license or its seats, so two reads with
    /// the same revision saw the same license (see [`crate::service`] on certificate reuse).
    pub revision: u64,
}

/// The answer of a validation, as the IDE switches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidationCode {
    /// Good.
    Valid,
    /// Expired, but within the grace period: still good.
    GracePeriod,
    /// No such key.
    NotFound,
    /// Expired past the grace period.
    Expired,
    /// Suspended by an admin.
    Suspended,
    /// Revoked.
    Revoked,
    /// A fingerprint was given and the license is not activated on it.
    NotActivated,
    /// A product was given and the license is for another.
    ProductMismatch,
}

impl ValidationCode {
    /// Whether the IDE may run.
    #[must_use]
    pub const fn is_valid(self) -> bool {
        matches!(self, Self::Valid | Self::GracePeriod)
    }

    /// The stable wire name, e.g. `GRACE_PERIOD`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::GracePeriod => "GRACE_PERIOD",
            Self::NotFound => "NOT_FOUND",
            Self::Expired => "EXPIRED",
            Self::Suspended => "SUSPENDED",
            Self::Revoked => "REVOKED",
            Self::NotActivated => "NOT_ACTIVATED",
            Self::ProductMismatch => "PRODUCT_MISMATCH",
        }
    }

    /// A sentence for people.
    #[must_use]
    pub const fn detail(self) -> &'static str {
        match self {
            Self::Valid => "the license is valid",
            Self::GracePeriod => "the license has expired but is within its grace period",
            Self::NotFound => "no license has this key",
            Self::Expired => "the license has expired",
            Self::Suspended => "the license is suspended",
            Self::Revoked => "the license has been revoked",
            Self::NotActivated => "the license is not activated on this machine",
            Self::ProductMismatch => "the license is for another product",
        }
    }
}

/// Where a license stands in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not expired (or perpetual).
    Current,
    /// Expired less than `grace_days` ago.
    InGrace,
    /// Expired longer ago than that.
    Expired,
}

impl License {
    /// Where the license stands at `now`.
    #[must_use]
    pub fn standing(&self, now: DateTime<Utc>) -> Standing {
        match self.expires_at {
            None => Standing::Current,
            Some(expiry) if now < expiry => Standing::Current,
            Some(expiry) if now < expiry + Duration::days(i64::from(self.grace_days)) => {
                Standing::InGrace
            }
            Some(_) => Standing::Expired,
        }
    }

    /// The validation answer at `now`. Status is checked before time (a revoked license
    /// says `REVOKED` even when it has also expired), product before anything else, and
    /// the machine last. `activated_here` is `None` when no fingerprint was given.
    #[must_use]
    pub fn evaluate(
        &self,
        now: DateTime<Utc>,
        product: Option<&Sku>,
        activated_here: Option<bool>,
    ) -> ValidationCode {
        if product.is_some_and(|sku| *sku != self.product) {
            return ValidationCode::ProductMismatch;
        }
        match self.status {
            LicenseStatus::Revoked => return ValidationCode::Revoked,
            LicenseStatus::Suspended => return ValidationCode::Suspended,
            LicenseStatus::Active => {}
        }
        let standing = self.standing(now);
        if standing == Standing::Expired {
            return ValidationCode::Expired;
        }
        if activated_here == Some(false) {
            return ValidationCode::NotActivated;
        }
        match standing {
            Standing::InGrace => ValidationCode::GracePeriod,
            _ => ValidationCode::Valid,
        }
    }

    /// The expiry after renewing by `days`: counted from the later of now and the current
    /// expiry, so renewing early loses nothing and renewing late does not back-date.
    ///
    /// # Errors
    /// [`InvalidValue`] when the license is perpetual (nothing to renew).
    pub fn renewed_expiry(
        &self,
        now: DateTime<Utc>,
        days: u32,
    ) -> Result<DateTime<Utc>, InvalidValue> {
        let Some(expiry) = self.expires_at else {
            return Err(InvalidValue::new(
                "days",
                "a perpetual license cannot be renewed",
            ));
        };
        expiry
            .max(now)
            .checked_add_signed(Duration::days(i64::from(days)))
            .filter(|renewed| *renewed <= latest_expiry())
            .ok_or_else(|| InvalidValue::new("days", "the license would end after the year 9999"))
    }
}

/// The latest expiry a license may have: the end of 9999, the last instant every client's
/// date format (RFC 3339) can write.
#[must_use]
pub fn latest_expiry() -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Parses a reason for suspending or revoking: trimmed, 1–500 characters.
///
/// # Errors
/// [`InvalidValue`] for the field `reason`.
pub fn parse_reason(raw: &str) -> Result<String, InvalidValue> {
    let reason = raw.trim();
    if reason.is_empty()
        || reason.chars().count() > 500
        || reason.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(InvalidValue::new("reason", "must be 1-500 characters"));
    }
    Ok(reason.to_owned())
}

#[cfg(test)]
#[path = "license_tests.rs"]
mod tests;
