//! Passwords: the policy a new password must meet, and hashing as a port.
//!
//! Hashing is a port ([`PasswordHasher`]) because bcrypt is deliberately slow: the real
//! [`BcryptHasher`] runs it on tokio's blocking pool behind a semaphore sized to the cores,
//! so a login flood queues there instead of stalling the async workers that serve every
//! other request.

use crate::error::IdentityError;
use devforge_domain::InvalidValue;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Semaphore;
use zxcvbn::Score;

/// Fewest characters a password may have (NIST SP 800-63B recommends at least 8; we ask 12).
pub const MIN_CHARS: usize = 12;
/// bcrypt reads only the first 72 bytes; longer passwords are refused, never truncated.
pub const MAX_BYTES: usize = 72;
/// bcrypt's smallest cost accepted from operators' configuration.
pub const MIN_PRODUCTION_COST: u32 = 10;

/// A plaintext password that met the policy. Its `Debug` never shows the text.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// Checks a new password: length, bcrypt's byte limit, and guessability (zxcvbn, which
    /// also penalises passwords built from the user's own email or name).
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `password`, with a reason a user can act on.
    pub fn new_checked(raw: &str, user_inputs: &[&str]) -> Result<Self, InvalidValue> {
        if raw.chars().count() < MIN_CHARS {
            return Err(InvalidValue::new(
                "password",
                format!("must be at least {MIN_CHARS} characters long"),
            ));
        }
        if raw.len() > MAX_BYTES {
            return Err(InvalidValue::new(
                "password",
                format!("must be at most {MAX_BYTES} bytes long"),
            ));
        }
        let estimate = zxcvbn::zxcvbn(raw, user_inputs);
        if estimate.score() < Score::Three {
            let reason = estimate
                .feedback()
                .and_then(|feedback| feedback.warning())
                .map_or_else(
                    || "is too easy to guess".to_owned(),
                    |warning| format!("is too easy to guess: {warning}"),
                );
            return Err(InvalidValue::new("password", reason));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A password typed at login. It is only compared, never stored, so no policy applies;
    /// input over bcrypt's byte limit simply never matches (see [`PasswordHasher::verify`]).
    #[must_use]
    pub fn for_login(raw: &str) -> Self {
        Self(raw.to_owned())
    }

    /// The plaintext, for the hasher only.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A bcrypt hash in its standard `$2b$...` text form.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

impl PasswordHash {
    /// Wraps a hash read from storage.
    #[must_use]
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    /// The hash text, for storage.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hashes and verifies passwords.
pub trait PasswordHasher: Send + Sync + 'static {
    /// A fresh salted hash of `password`.
    ///
    /// # Errors
    /// [`IdentityError::Internal`] when hashing fails.
    fn hash(
        &self,
        password: Password,
    ) -> impl Future<Output = Result<PasswordHash, IdentityError>> + Send;

    /// Whether `password` matches `hash`. Takes the same time whether or not it matches;
    /// a password over [`MAX_BYTES`] never matches (bcrypt would silently compare a prefix).
    ///
    /// # Errors
    /// [`IdentityError::Internal`] when the hash is malformed or the work was cancelled.
    fn verify(
        &self,
        password: Password,
        hash: PasswordHash,
    ) -> impl Future<Output = Result<bool, IdentityError>> + Send;
}

/// bcrypt on tokio's blocking pool, at most `concurrency` hashes at a time.
#[derive(Debug, Clone)]
pub struct BcryptHasher {
    cost: u32,
    permits: Arc<Semaphore>,
}

impl BcryptHasher {
    /// A hasher with the given bcrypt `cost` that runs at most `concurrency` hashes at once.
    ///
    /// # Errors
    /// [`InvalidValue`] when the cost is outside bcrypt's range (4..=31).
    pub fn new(cost: u32, concurrency: usize) -> Result<Self, InvalidValue> {
        if !(4..=31).contains(&cost) {
            return Err(InvalidValue::new("bcrypt_cost", "must be between 4 and 31"));
        }
        Ok(Self {
            cost,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        })
    }

    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> Result<T, IdentityError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| IdentityError::Internal("password hasher closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| IdentityError::Internal(format!("password hashing task failed: {e}")))?
            .map_err(|e| IdentityError::Internal(format!("bcrypt: {e}")))
    }
}

impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: Password) -> Result<PasswordHash, IdentityError> {
        let cost = self.cost;
        self.run_blocking(move || bcrypt::hash(password.expose(), cost))
            .await
            .map(PasswordHash)
    }

    async fn verify(&self, password: Password, hash: PasswordHash) -> Result<bool, IdentityError> {
        let admissible = password.expose().len() <= MAX_BYTES;
        let candidate = if admissible {
            password.0
        } else {
            String::new()
        };
        let matches = self
            .run_blocking(move || bcrypt::verify(candidate, hash.as_str()))
            .await?;
        Ok(matches && admissible)
    }
}

#[cfg(test)]
mod tests {
    use super::{BcryptHasher, Password, PasswordHasher};

    const STRONG: &str = "correct horse battery staple 42";

    #[test]
    fn a_password_shorter_than_twelve_characters_is_rejected() {
        let err = Password::new_checked("Xq7!kP2#", &[]).err();
        assert!(err.is_some_and(|e| e.message.contains("at least 12")));
    }

    #[test]
    fn a_password_over_72_bytes_is_rejected_not_truncated() {
        let long = "ü".repeat(37); // 37 characters, 74 bytes
        let err = Password::new_checked(&long, &[]).err();
        assert!(err.is_some_and(|e| e.message.contains("at most 72 bytes")));
    }

    #[test]
    fn a_common_password_is_rejected_with_a_reason() {
        let err = Password::new_checked("password1234", &[]).err();
        assert!(err.is_some_and(|e| e.message.starts_with("is too easy to guess")));
    }

    #[test]
    fn a_password_made_of_the_users_own_email_is_rejected() {
        // The service passes the email and its local part as personal inputs.
        let personal = ["jonathan.smithers@example.com", "jonathan.smithers"];
        let err = Password::new_checked("jonathan.smithers", &personal);
        assert!(err.is_err());
    }

    #[test]
    fn a_long_passphrase_is_accepted_and_never_printed() {
        let password = Password::new_checked(STRONG, &[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hasher = BcryptHasher::new(4, 2).unwrap_or_else(|e| panic!("{e}"));
        let password = Password::new_checked(STRONG, &[]).unwrap_or_else(|e| panic!("{e}"));
        let hash = hasher
            .hash(password.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.as_str().starts_with("$2"));
        let right = hasher.verify(password, hash.clone()).await;
        assert!(matches!(right, Ok(true)));
        let wrong = Password::for_login("another passphrase entirely");
        assert!(matches!(
            hasher.verify(wrong, hash.clone()).await,
            Ok(false)
        ));
        // bcrypt compares only 72 bytes: a longer input sharing that prefix must not match.
        let prefix_hash = hasher
            .hash(Password::for_login(&"x".repeat(72)))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let longer = Password::for_login(&"x".repeat(80));
        assert!(matches!(
            hasher.verify(longer, prefix_hash).await,
            Ok(false)
        ));
    }

    #[test]
    fn a_cost_outside_bcrypts_range_is_rejected() {
        assert!(BcryptHasher::new(3, 1).is_err());
        assert!(BcryptHasher::new(32, 1).is_err());
    }
}
