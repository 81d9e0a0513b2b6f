//! Money as integer minor units with an ISO 4217 currency. No floats anywhere.

use crate::error::InvalidValue;

/// An ISO 4217 currency code such as `EUR` or `JPY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

/// Currencies whose minor unit is the major unit (Stripe's list of zero-decimal currencies).
const ZERO_DECIMAL: [&str; 16] = [
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
];

impl Currency {
    /// Parses a three-letter code, in any case.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `currency` unless the code is three ASCII letters.
    pub fn parse(code: &str) -> Result<Self, InvalidValue> {
        let upper = code.trim().to_ascii_uppercase();
        match <[u8; 3]>::try_from(upper.as_bytes()) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_uppercase) => Ok(Self(bytes)),
            _ => Err(InvalidValue::new(
                "currency",
                "must be a three-letter ISO 4217 code",
            )),
        }
    }

    /// The upper-case code.
    #[must_use]
    pub fn code(&self) -> &str {
        // The constructor admits only ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// How many decimal places the minor unit has (0 for JPY, 2 for EUR).
    #[must_use]
    pub fn minor_unit_exponent(&self) -> u32 {
        if ZERO_DECIMAL.contains(&self.code()) {
            0
        } else {
            2
        }
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount in a currency's minor unit (cents for EUR, yen for JPY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor_units: i64,
    currency: Currency,
}

/// Arithmetic between amounts that cannot be combined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The two amounts are in different currencies.
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    /// The result does not fit in 64 bits.
    #[error("amount out of range")]
    Overflow,
}

impl Money {
    /// An amount of `minor_units` in `currency`.
    #[must_use]
    pub const fn new(minor_units: i64, currency: Currency) -> Self {
        Self {
            minor_units,
            currency,
        }
    }

    /// The amount in minor units.
    #[must_use]
    pub const fn minor_units(&self) -> i64 {
        self.minor_units
    }

    /// The currency.
    #[must_use]
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// The sum of two amounts in the same currency.
    ///
    /// # Errors
    /// [`MoneyError`] on a currency mismatch or overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let sum = self
            .minor_units
            .checked_add(other.minor_units)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(sum, self.currency))
    }

    /// The difference of two amounts in the same currency.
    ///
    /// # Errors
    /// [`MoneyError`] on a currency mismatch or overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let difference = self
            .minor_units
            .checked_sub(other.minor_units)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(difference, self.currency))
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl std::fmt::Display for Money {
    /// Formats as the major unit with the currency's decimals, e.g. `12.50 EUR`, `1200 JPY`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let exponent = self.currency.minor_unit_exponent();
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let magnitude = self.minor_units.unsigned_abs();
        if exponent == 0 {
            return write!(f, "{sign}{magnitude} {}", self.currency);
        }
        let scale = 10_u64.pow(exponent);
        let width = exponent as usize;
        write!(
            f,
            "{sign}{}.{:0width$} {}",
            magnitude / scale,
            magnitude % scale,
            self.currency
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{Currency, Money, MoneyError};

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_currency_code_is_upper_cased() {
        assert_eq!(currency("eur").code(), "EUR");
    }

    #[test]
    fn a_currency_code_must_be_three_letters() {
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("E1R").is_err());
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn yen_has_no_minor_unit_and_euro_has_cents() {
        assert_eq!(currency("JPY").minor_unit_exponent(), 0);
        assert_eq!(currency("EUR").minor_unit_exponent(), 2);
    }

    #[test]
    fn amounts_format_in_the_major_unit() {
        assert_eq!(Money::new(1250, currency("EUR")).to_string(), "12.50 EUR");
        assert_eq!(Money::new(-5, currency("USD")).to_string(), "-0.05 USD");
        assert_eq!(Money::new(1200, currency("JPY")).to_string(), "1200 JPY");
    }

    #[test]
    fn adding_different_currencies_is_an_error() {
        let sum = Money::new(1, currency("EUR")).checked_add(Money::new(1, currency("USD")));
        assert!(matches!(sum, Err(MoneyError::CurrencyMismatch(_, _))));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let eur = currency("EUR");
        let sum = Money::new(i64::MAX, eur).checked_add(Money::new(1, eur));
        assert_eq!(sum, Err(MoneyError::Overflow));
        let difference = Money::new(300, eur).checked_sub(Money::new(500, eur));
        assert_eq!(difference, Ok(Money::new(-200, eur)));
    }
}
