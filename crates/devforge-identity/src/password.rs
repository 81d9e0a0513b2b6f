//! Passwords: the policy a new password must meet, and hashing as a port.
//!
//! Hashing is a port ([`PasswordHasher`]) because bcrypt is deliberately slow: the real
//! [`BcryptHasher`] runs each hash on its own short-lived thread behind a semaphore sized to
//! the cores, so a login flood queues there instead of stalling the async workers that serve
//! every other request.
//!
//! Those threads also run at the lowest ordinary scheduling priority (`SCHED_BATCH`, nice
//! 19): a queue of hashes still has every core to itself on an idle machine, but when the
//! workers are busy (license validation on every IDE start) the kernel runs them first and
//! bcrypt takes what is left. Under a saturating load logins slow down rather than
//! validation, which is the trade the product wants: a login happens once per device, a
//! validation on every start. A platform that refuses the change runs the hash at normal
//! priority and says so once in the log.

use crate::error::IdentityError;
use devforge_domain::InvalidValue;
use std::future::Future;
use std::sync::{Arc, Once};
use tokio::sync::{Semaphore, oneshot};
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

/// bcrypt on low-priority threads, at most `concurrency` hashes at a time.
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

    /// Runs `work` on a new low-priority thread once a permit is free. The permit travels
    /// with the thread, so a request that gives up waiting does not free a slot while its
    /// hash is still using a core.
    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> Result<T, IdentityError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| IdentityError::Internal("password hasher closed".into()))?;
        let outcome = spawn_low_priority(move || {
            let outcome = work();
            drop(permit);
            outcome
        })?;
        outcome
            .await
            .map_err(|_| IdentityError::Internal("password hashing thread stopped".into()))?
            .map_err(|e| IdentityError::Internal(format!("bcrypt: {e}")))
    }
}

/// Starts `work` on its own thread at the lowest ordinary priority; the receiver gets its
/// result.
fn spawn_low_priority<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<oneshot::Receiver<T>, IdentityError> {
    let (sender, receiver) = oneshot::channel();
    std::thread::Builder::new()
        .name("password-hash".into())
        .spawn(move || {
            lower_current_thread_priority();
            // The requester may have gone away; the result is then simply dropped.
            let _ = sender.send(work());
        })
        .map_err(|e| IdentityError::Internal(format!("password hashing thread: {e}")))?;
    Ok(receiver)
}

/// Moves the calling thread to `SCHED_BATCH` at nice 19 (Linux and other Unixes) or the
/// lowest thread priority (Windows). Lowering one's own priority needs no privilege.
fn lower_current_thread_priority() {
    static REFUSED: Once = Once::new();
    #[cfg(unix)]
    let lowered = thread_priority::set_thread_priority_and_policy(
        thread_priority::thread_native_id(),
        thread_priority::ThreadPriority::Min,
        thread_priority::ThreadSchedulePolicy::Normal(
            thread_priority::NormalThreadSchedulePolicy::Batch,
        ),
    );
    #[cfg(not(unix))]
    let lowered =
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min);
    if let Err(error) = lowered {
        REFUSED.call_once(|| {
            tracing::warn!(?error, "password hashing runs at normal priority");
        });
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

    /// Field 19 of `/proc/thread-self/stat` is the thread's nice value.
    #[cfg(target_os = "linux")]
    fn current_thread_niceness() -> Option<i32> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        // The command name (field 2) is in parentheses and may hold spaces: count after it.
        let after_name = &stat[stat.rfind(')')? + 2..];
        after_name.split(' ').nth(16)?.parse().ok()
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_below_the_priority_of_the_threads_that_serve_requests() {
        let serving = current_thread_niceness();
        let hashing = super::spawn_low_priority(current_thread_niceness)
            .unwrap_or_else(|e| panic!("{e}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(serving, Some(0));
        assert_eq!(hashing, Some(19));
        // The change belongs to the hashing thread alone.
        assert_eq!(current_thread_niceness(), Some(0));
    }

    #[test]
    fn a_cost_outside_bcrypts_range_is_rejected() {
        assert!(BcryptHasher::new(3, 1).is_err());
        assert!(BcryptHasher::new(32, 1).is_err());
    }
}
