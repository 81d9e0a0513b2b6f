//! The login throttle's rule: it slows whoever guesses, and never lets a stranger lock the
//! owner out.
//!
//! Two counters are kept for an email, both before the password is checked:
//! - **per client** (email and client IP): after `client_max_failures` failed attempts in a
//!   row, that client may not try that email again for `client_lockout`. A guesser on one
//!   address is stopped; the owner on any other address is not affected.
//! - **per email**, over all clients: once more than `email_free_attempts` attempts
//!   failed within `email_window`, each further attempt must wait for the one before it,
//!   1 s, then 2, 4, ... up to `email_max_delay`. A guesser spread over many addresses gets
//!   at most one guess per `email_max_delay`, and the owner waits at most that long.
//!
//! A successful login clears both counters of that email and client. Unknown emails are
//! counted exactly like known ones, so throttling tells nothing about which accounts exist.

use chrono::{DateTime, Duration, Utc};

/// The limits of the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottlePolicy {
    /// Failed attempts in a row from one client for one email before that pair is locked.
    pub client_max_failures: u32,
    /// How long such a lock lasts.
    pub client_lockout: Duration,
    /// Attempts for one email (all clients) that go unslowed within `email_window`.
    pub email_free_attempts: u32,
    /// How long an email's attempts are remembered after the last one.
    pub email_window: Duration,
    /// The longest wait between attempts for one email.
    pub email_max_delay: Duration,
}

impl Default for LoginThrottlePolicy {
    fn default() -> Self {
        Self {
            client_max_failures: 5,
            client_lockout: Duration::minutes(15),
            email_free_attempts: 20,
            email_window: Duration::minutes(15),
            email_max_delay: Duration::seconds(30),
        }
    }
}

/// One stored counter: of an email and client, or of an email over all clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttemptCounter {
    /// Attempts counted since the last success (or lock, for a client).
    pub failures: u32,
    /// No attempt goes ahead before this.
    pub blocked_until: Option<DateTime<Utc>>,
    /// When the last attempt was counted.
    pub last_attempt_at: Option<DateTime<Utc>>,
}

impl AttemptCounter {
    fn blocks_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.blocked_until.filter(|until| *until > now)
    }
}

/// What reserving an attempt decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginThrottleVerdict {
    /// The password may be checked.
    Allowed {
        /// Attempts counted for this client and email, this one included.
        client_failures: u32,
        /// This attempt made the email's attempts start waiting for each other.
        email_slowed: bool,
    },
    /// Refused without checking the password, until then.
    Refused {
        /// When an attempt may go ahead again.
        until: DateTime<Utc>,
        /// This attempt locked the client (it was one too many).
        client_locked_now: bool,
    },
}

/// Both counters after an attempt, and the verdict. The adapter stores the counters in the
/// same transaction that read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReservedAttempt {
    /// The email's counter over all clients.
    pub email: AttemptCounter,
    /// The counter of this client and email.
    pub client: AttemptCounter,
    /// Whether the attempt goes ahead.
    pub verdict: LoginThrottleVerdict,
}

impl LoginThrottlePolicy {
    /// Counts one attempt against the stored counters at `now`.
    #[must_use]
    pub fn reserve(
        &self,
        email: AttemptCounter,
        client: AttemptCounter,
        now: DateTime<Utc>,
    ) -> ReservedAttempt {
        let blocked = [client.blocks_at(now), email.blocks_at(now)]
            .into_iter()
            .flatten()
            .max();
        if let Some(until) = blocked {
            return ReservedAttempt {
                email,
                client,
                verdict: LoginThrottleVerdict::Refused {
                    until,
                    client_locked_now: false,
                },
            };
        }
        let mut client = AttemptCounter {
            failures: client.failures + 1,
            blocked_until: None,
            last_attempt_at: Some(now),
        };
        if client.failures > self.client_max_failures {
            let until = now + self.client_lockout;
            client = AttemptCounter {
                failures: 0,
                blocked_until: Some(until),
                last_attempt_at: Some(now),
            };
            return ReservedAttempt {
                email,
                client,
                verdict: LoginThrottleVerdict::Refused {
                    until,
                    client_locked_now: true,
                },
            };
        }
        let remembered = email
            .last_attempt_at
            .is_some_and(|last| now - last < self.email_window);
        let failures = if remembered { email.failures + 1 } else { 1 };
        let beyond = failures.saturating_sub(self.email_free_attempts);
        let email = AttemptCounter {
            failures,
            blocked_until: (beyond > 0).then(|| now + self.email_delay(beyond)),
            last_attempt_at: Some(now),
        };
        ReservedAttempt {
            email,
            client,
            verdict: LoginThrottleVerdict::Allowed {
                client_failures: client.failures,
                email_slowed: beyond == 1,
            },
        }
    }

    /// The wait after the `beyond`-th attempt past the free ones: 1 s, 2 s, 4 s, ...
    fn email_delay(&self, beyond: u32) -> Duration {
        let seconds = 1_i64 << beyond.saturating_sub(1).min(20);
        Duration::seconds(seconds).min(self.email_max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::seconds(seconds)
    }

    /// Attempts from `clients` (cycled) at one per second, each failing; returns verdicts.
    fn attempts(
        policy: &LoginThrottlePolicy,
        email: &mut AttemptCounter,
        clients: &mut [AttemptCounter],
        times: impl IntoIterator<Item = i64>,
    ) -> Vec<LoginThrottleVerdict> {
        let count = clients.len();
        times
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let reserved = policy.reserve(*email, clients[i % count], at(t));
                *email = reserved.email;
                clients[i % count] = reserved.client;
                reserved.verdict
            })
            .collect()
    }

    #[test]
    fn one_client_is_locked_after_five_failures_and_others_are_not() {
        let policy = LoginThrottlePolicy::default();
        let mut email = AttemptCounter::default();
        let mut guesser = [AttemptCounter::default()];
        let verdicts = attempts(&policy, &mut email, &mut guesser, 0..6);
        assert!(
            verdicts[..5]
                .iter()
                .all(|v| matches!(v, LoginThrottleVerdict::Allowed { .. }))
        );
        assert_eq!(
            verdicts[5],
            LoginThrottleVerdict::Refused {
                until: at(5) + Duration::minutes(15),
                client_locked_now: true
            }
        );
        let again = policy.reserve(email, guesser[0], at(60));
        assert!(matches!(
            again.verdict,
            LoginThrottleVerdict::Refused {
                client_locked_now: false,
                ..
            }
        ));
        let owner = policy.reserve(email, AttemptCounter::default(), at(61));
        assert!(matches!(
            owner.verdict,
            LoginThrottleVerdict::Allowed { .. }
        ));
        let later = policy.reserve(email, guesser[0], at(5 + 15 * 60));
        assert!(matches!(
            later.verdict,
            LoginThrottleVerdict::Allowed { .. }
        ));
    }

    #[test]
    fn many_clients_are_slowed_to_one_attempt_per_delay_never_locked_out() {
        let policy = LoginThrottlePolicy::default();
        let mut email = AttemptCounter::default();
        let mut botnet = vec![AttemptCounter::default(); 100];
        // 20 free attempts, one per second, from 20 addresses: all go ahead.
        let verdicts = attempts(&policy, &mut email, &mut botnet, 0..20);
        assert!(
            verdicts
                .iter()
                .all(|v| matches!(v, LoginThrottleVerdict::Allowed { .. }))
        );
        // The 21st goes ahead and starts the waiting: the next must wait 1 s.
        let slowed = attempts(&policy, &mut email, &mut botnet[20..], [20]);
        assert_eq!(
            slowed[0],
            LoginThrottleVerdict::Allowed {
                client_failures: 1,
                email_slowed: true
            }
        );
        assert_eq!(email.blocked_until, Some(at(21)));
        let early = policy.reserve(email, botnet[30], at(20));
        assert_eq!(
            early.verdict,
            LoginThrottleVerdict::Refused {
                until: at(21),
                client_locked_now: false
            }
        );
        // Waits double up to 30 s and stay there.
        let mut now = 21;
        let mut waits = Vec::new();
        for i in 0..8 {
            let reserved = policy.reserve(email, botnet[40 + i], at(now));
            assert!(matches!(
                reserved.verdict,
                LoginThrottleVerdict::Allowed { .. }
            ));
            email = reserved.email;
            let until = email.blocked_until.unwrap_or_else(|| panic!("slowed"));
            waits.push((until - at(now)).num_seconds());
            now = (until - at(0)).num_seconds();
        }
        assert_eq!(waits, [2, 4, 8, 16, 30, 30, 30, 30]);
        // The owner, from a fresh address, gets in after at most the longest wait.
        let owner = policy.reserve(email, AttemptCounter::default(), at(now));
        assert!(matches!(
            owner.verdict,
            LoginThrottleVerdict::Allowed { .. }
        ));
    }

    #[test]
    fn an_emails_attempts_are_forgotten_after_the_window() {
        let policy = LoginThrottlePolicy::default();
        let mut email = AttemptCounter::default();
        let mut clients = vec![AttemptCounter::default(); 25];
        attempts(&policy, &mut email, &mut clients, 0..21);
        assert!(email.blocked_until.is_some());
        let quiet = policy.reserve(email, AttemptCounter::default(), at(20 + 15 * 60));
        assert_eq!(quiet.email.failures, 1);
        assert_eq!(quiet.email.blocked_until, None);
    }
}
