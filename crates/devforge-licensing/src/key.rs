//! License keys: `DF-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`.
//!
//! 24 symbols of Crockford base32 carry 120 random bits; a 25th is a check symbol (Luhn
//! mod 32 over the same alphabet), so a typo is caught before any lookup. Crockford's
//! alphabet leaves out I, L, O and U; on input, I and L are read as 1 and O as 0, case does
//! not matter, and dashes and spaces are ignored.
//!
//! The check symbol is Luhn mod 32 rather than Crockford's own mod-37 symbol, whose extra
//! symbols (`*~$=U`) are hard to read out and type; Luhn mod 32 catches every single wrong
//! symbol and every swap of two neighbouring symbols except `0` with `Z`.

use rand::Rng as _;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PAYLOAD_SYMBOLS: usize = 24;
const KEY_SYMBOLS: usize = PAYLOAD_SYMBOLS + 1;
const GROUP: usize = 5;
const PREFIX: &str = "DF";

/// Why text is not a license key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Wrong length or a character outside the alphabet.
    #[error(
        "a license key has 25 symbols of 0-9 and A-Z (without U), like DF-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX"
    )]
    Malformed,
    /// The check symbol does not match: a typo.
    #[error("the license key has a typo: its check symbol does not match")]
    BadCheckSymbol,
}

/// A well-formed license key, in its canonical form. `Debug` never shows it: a key is a
/// credential.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LicenseKey(String);

impl std::fmt::Debug for LicenseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LicenseKey(<redacted>)")
    }
}

impl LicenseKey {
    /// A new key with 120 random bits from the thread-local CSPRNG (seeded by the OS).
    #[must_use]
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let payload: Vec<u8> = (0..PAYLOAD_SYMBOLS)
            .map(|_| rng.random_range(0..32_u8))
            .collect();
        Self::from_payload(&payload)
    }

    /// Parses a key as a customer may type it.
    ///
    /// # Errors
    /// [`KeyError::Malformed`] or [`KeyError::BadCheckSymbol`].
    pub fn parse(input: &str) -> Result<Self, KeyError> {
        let compact: String = input
            .chars()
            .filter(|c| *c != '-' && !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let symbols = match compact.len() {
            n if n == KEY_SYMBOLS + PREFIX.len() && compact.starts_with(PREFIX) => {
                &compact[PREFIX.len()..]
            }
            KEY_SYMBOLS => compact.as_str(),
            _ => return Err(KeyError::Malformed),
        };
        let values = symbols
            .bytes()
            .map(symbol_value)
            .collect::<Option<Vec<u8>>>()
            .ok_or(KeyError::Malformed)?;
        if !luhn_sum(&values, false).is_multiple_of(32) {
            return Err(KeyError::BadCheckSymbol);
        }
        Ok(Self::from_payload(&values[..PAYLOAD_SYMBOLS]))
    }

    /// The canonical text, `DF-` and five dash-separated groups.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_payload(payload: &[u8]) -> Self {
        let mut values = payload.to_vec();
        values.push(check_value(payload));
        let mut text = String::from(PREFIX);
        for group in values.chunks(GROUP) {
            text.push('-');
            text.extend(group.iter().map(|v| char::from(ALPHABET[usize::from(*v)])));
        }
        Self(text)
    }
}

/// The value of an (upper-case) input symbol, with Crockford's aliases.
fn symbol_value(symbol: u8) -> Option<u8> {
    let canonical = match symbol {
        b'I' | b'L' => b'1',
        b'O' => b'0',
        other => other,
    };
    ALPHABET
        .iter()
        .position(|s| *s == canonical)
        .and_then(|p| u8::try_from(p).ok())
}

/// Luhn mod 32: doubles every second value from the right (from the rightmost one when
/// `doubling_first`, i.e. when the check symbol is not yet appended).
fn luhn_sum(values: &[u8], doubling_first: bool) -> u32 {
    let mut double = doubling_first;
    let mut sum = 0_u32;
    for value in values.iter().rev() {
        let mut addend = u32::from(*value) * if double { 2 } else { 1 };
        addend = addend / 32 + addend % 32;
        sum += addend;
        double = !double;
    }
    sum
}

fn check_value(payload: &[u8]) -> u8 {
    let remainder = luhn_sum(payload, true) % 32;
    u8::try_from((32 - remainder) % 32).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{ALPHABET, KeyError, LicenseKey};

    fn key() -> LicenseKey {
        LicenseKey::generate()
    }

    #[test]
    fn a_generated_key_has_the_documented_shape_and_parses_back() {
        let key = key();
        let text = key.as_str();
        assert_eq!(text.len(), 2 + 5 * 6);
        assert!(text.starts_with("DF-"));
        assert_eq!(text.split('-').count(), 6);
        assert_eq!(LicenseKey::parse(text), Ok(key.clone()));
    }

    #[test]
    fn keys_are_accepted_in_any_case_without_dashes_or_prefix() {
        let key = key();
        let compact = key.as_str().replace('-', "").to_lowercase();
        assert_eq!(LicenseKey::parse(&compact), Ok(key.clone()));
        assert_eq!(LicenseKey::parse(&compact[2..]), Ok(key.clone()));
        let spaced = key.as_str().replace('-', " ");
        assert_eq!(LicenseKey::parse(&format!("  {spaced} ")), Ok(key));
    }

    #[test]
    fn i_l_and_o_are_read_as_one_and_zero() {
        let key = key();
        let typed = key.as_str().replace('1', "l").replace('0', "O");
        assert_eq!(LicenseKey::parse(&typed), Ok(key));
    }

    #[test]
    fn every_single_wrong_symbol_is_caught_by_the_check_symbol() {
        let key = key();
        let symbols: Vec<char> = key.as_str().chars().collect();
        for position in (3..symbols.len()).filter(|p| symbols[*p] != '-') {
            for replacement in ALPHABET.iter().map(|b| char::from(*b)) {
                if replacement == symbols[position] {
                    continue;
                }
                let mut typo = symbols.clone();
                typo[position] = replacement;
                let typo: String = typo.into_iter().collect();
                assert_eq!(
                    LicenseKey::parse(&typo),
                    Err(KeyError::BadCheckSymbol),
                    "{position}"
                );
            }
        }
    }

    #[test]
    fn swapping_two_different_neighbours_is_caught() {
        let mut caught = 0;
        let mut swaps = 0;
        for _ in 0..50 {
            let key = key();
            let compact: Vec<char> = key.as_str().replace('-', "")[2..].chars().collect();
            for i in 0..compact.len() - 1 {
                if compact[i] == compact[i + 1] {
                    continue;
                }
                let mut swapped = compact.clone();
                swapped.swap(i, i + 1);
                let swapped: String = swapped.into_iter().collect();
                swaps += 1;
                if LicenseKey::parse(&swapped).is_err() {
                    caught += 1;
                }
            }
        }
        // Luhn mod 32 misses only the swap of `0` and `Z` (2 in 1024 random pairs).
        assert!(caught * 100 >= swaps * 99, "caught {caught} of {swaps}");
    }

    #[test]
    fn wrong_lengths_and_foreign_characters_are_malformed() {
        let key = key();
        assert_eq!(
            LicenseKey::parse(&key.as_str()[..key.as_str().len() - 1]),
            Err(KeyError::Malformed)
        );
        assert_eq!(
            LicenseKey::parse(&format!("{}X", key.as_str())),
            Err(KeyError::Malformed)
        );
        let mut with_u: Vec<char> = key.as_str().chars().collect();
        with_u[3] = 'U';
        let with_u: String = with_u.into_iter().collect();
        assert_eq!(LicenseKey::parse(&with_u), Err(KeyError::Malformed));
        assert_eq!(LicenseKey::parse(""), Err(KeyError::Malformed));
        assert_eq!(
            LicenseKey::parse("DF-!!!!!-XXXXX-XXXXX-XXXXX-XXXXX"),
            Err(KeyError::Malformed)
        );
    }

    #[test]
    fn two_keys_differ_and_debug_hides_them() {
        let a = key();
        let b = key();
        assert_ne!(a, b);
        assert!(!format!("{a:?}").contains(&a.as_str()[3..8]));
    }
}
