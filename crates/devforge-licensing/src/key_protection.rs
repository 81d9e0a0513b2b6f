//! How keys are kept: never in plaintext.
//!
//! A key is looked up by HMAC-SHA256 under a server secret (so a database dump cannot be
//! turned back into keys, nor can guessed keys be checked against it without the secret),
//! and kept encrypted with AES-256-GCM under a second secret so its owner can see it again.
//! The lookup hash is matched by the database index; the service then compares the hash
//! of the presented key with the stored one in constant time.

use crate::key::LicenseKey;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, KeyInit as _, Mac};
use rand::RngCore as _;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

const NONCE_LEN: usize = 12;

/// The HMAC of a key, hex: what storage indexes and looks keys up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(String);

impl KeyHash {
    /// Wraps a hash read from storage.
    #[must_use]
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    /// The hex text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Equality that takes the same time wherever the hashes differ.
    #[must_use]
    pub fn constant_time_eq(&self, other: &KeyHash) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

/// Failure to open a sealed key: wrong secret or tampered data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stored license key cannot be decrypted")]
pub struct SealError;

/// Hashes and seals keys under the two configured secrets.
#[derive(Clone)]
pub struct KeyProtector {
    lookup_secret: [u8; 32],
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for KeyProtector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyProtector(<secrets redacted>)")
    }
}

impl KeyProtector {
    /// A protector from a 32-byte lookup secret and a 32-byte encryption key.
    #[must_use]
    pub fn new(lookup_secret: [u8; 32], encryption_key: [u8; 32]) -> Self {
        Self {
            lookup_secret,
            cipher: Aes256Gcm::new(&encryption_key.into()),
        }
    }

    /// The lookup hash of `key`.
    #[must_use]
    pub fn lookup_hash(&self, key: &LicenseKey) -> KeyHash {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.lookup_secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(key.as_str().as_bytes());
        KeyHash(hex::encode(mac.finalize().into_bytes()))
    }

    /// `key` encrypted: a random nonce followed by the ciphertext and tag.
    #[must_use]
    pub fn seal(&self, key: &LicenseKey) -> Vec<u8> {
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(&Nonce::from(nonce), key.as_str().as_bytes())
            .unwrap_or_default();
        let mut sealed = nonce.to_vec();
        sealed.extend(ciphertext);
        sealed
    }

    /// The key inside `sealed`.
    ///
    /// # Errors
    /// [`SealError`] when it was sealed under another key or altered.
    pub fn open(&self, sealed: &[u8]) -> Result<LicenseKey, SealError> {
        if sealed.len() <= NONCE_LEN {
            return Err(SealError);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = <[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| SealError)?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| SealError)?;
        let text = String::from_utf8(plain).map_err(|_| SealError)?;
        LicenseKey::parse(&text).map_err(|_| SealError)
    }
}

#[cfg(test)]
mod tests {
    use super::KeyProtector;
    use crate::key::LicenseKey;

    fn protector(seed: u8) -> KeyProtector {
        KeyProtector::new([seed; 32], [seed.wrapping_add(1); 32])
    }

    #[test]
    fn a_sealed_key_opens_to_itself_and_never_shows_in_plaintext() {
        let key = LicenseKey::generate();
        let sealed = protector(1).seal(&key);
        let compact = key.as_str().replace('-', "");
        assert!(!String::from_utf8_lossy(&sealed).contains(&compact[2..10]));
        assert_eq!(protector(1).open(&sealed), Ok(key));
    }

    #[test]
    fn sealing_twice_gives_different_ciphertexts() {
        let key = LicenseKey::generate();
        assert_ne!(protector(1).seal(&key), protector(1).seal(&key));
    }

    #[test]
    fn another_secret_or_a_flipped_bit_cannot_open_it() {
        let key = LicenseKey::generate();
        let mut sealed = protector(1).seal(&key);
        assert!(protector(2).open(&sealed).is_err());
        if let Some(last) = sealed.last_mut() {
            *last ^= 1;
        }
        assert!(protector(1).open(&sealed).is_err());
        assert!(protector(1).open(&[0; 5]).is_err());
    }

    #[test]
    fn the_lookup_hash_is_stable_keyed_and_compared_in_constant_time() {
        let key = LicenseKey::generate();
        let a = protector(1).lookup_hash(&key);
        assert_eq!(a, protector(1).lookup_hash(&key));
        assert!(a.constant_time_eq(&protector(1).lookup_hash(&key)));
        assert_ne!(a, protector(2).lookup_hash(&key));
        assert_eq!(a.as_str().len(), 64);
    }
}
