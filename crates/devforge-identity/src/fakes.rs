//! In-memory implementations of the identity ports, for the service's unit tests.

use crate::IdentityError;
use crate::model::{
    NewSession, NewUser, RotationOutcome, StoredSession, User, UserFilter, UserPatch, UserStats,
};
use crate::password::{Password, PasswordHash, PasswordHasher};
use crate::ports::{LoginThrottleRepository, SessionRepository, UserRepository};
use crate::throttle::{AttemptCounter, LoginThrottlePolicy, LoginThrottleVerdict};
use crate::tokens::RefreshTokenHash;
use chrono::{DateTime, Utc};
use devforge_domain::{
    AuditEntry, AuditLog, Email, NewAuditEntry, Page, PageRequest, StoreError, UserId,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
struct State {
    users: Vec<User>,
    sessions: Vec<(RefreshTokenHash, StoredSession)>,
    /// Login attempt counters by (email, client); the client is empty for the email's.
    throttle: HashMap<(String, String), AttemptCounter>,
    audit: Vec<AuditEntry>,
}

/// All identity storage in one mutex; clones share it.
#[derive(Debug, Clone, Default)]
pub struct FakeStore(Arc<Mutex<State>>);

impl FakeStore {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn audit_entries(&self) -> Vec<AuditEntry> {
        self.state().audit.clone()
    }

    pub fn live_sessions_of(&self, user: UserId) -> usize {
        self.state()
            .sessions
            .iter()
            .filter(|(_, s)| s.user_id == user && s.revoked_at.is_none() && s.rotated_at.is_none())
            .count()
    }

    fn push_audit(state: &mut State, entry: NewAuditEntry) {
        let id = i64::try_from(state.audit.len()).unwrap_or(i64::MAX) + 1;
        state.audit.push(AuditEntry { id, entry });
    }
}

impl UserRepository for FakeStore {
    async fn insert_user(
        &self,
        user: NewUser,
        audit: Option<NewAuditEntry>,
    ) -> Result<User, StoreError> {
        let mut state = self.state();
        if state.users.iter().any(|u| u.email == user.email) {
            return Err(StoreError::Duplicate {
                constraint: "users_email".into(),
            });
        }
        let stored = User {
            id: user.id,
            email: user.email,
            name: user.name,
            role: user.role,
            disabled: false,
            password_hash: user.password_hash,
            created_at: user.created_at,
        };
        state.users.push(stored.clone());
        if let Some(entry) = audit {
            Self::push_audit(&mut state, entry);
        }
        Ok(stored)
    }

    async fn find_user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        Ok(self
            .state()
            .users
            .iter()
            .find(|u| &u.email == email)
            .cloned())
    }

    async fn find_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.state().users.iter().find(|u| u.id == id).cloned())
    }

    async fn list_users(
        &self,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, StoreError> {
        let state = self.state();
        let matching: Vec<User> = state
            .users
            .iter()
            .filter(|u| filter.role.is_none_or(|r| r == u.role))
            .filter(|u| {
                filter
                    .email_contains
                    .as_deref()
                    .is_none_or(|t| u.email.as_str().contains(&t.to_lowercase()))
            })
            .cloned()
            .collect();
        let total = matching.len() as u64;
        let items = matching
            .into_iter()
            .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
            .take(usize::try_from(page.per_page()).unwrap_or(usize::MAX))
            .collect();
        Ok(Page {
            items,
            request: page,
            total,
        })
    }

    async fn update_user(
        &self,
        id: UserId,
        patch: UserPatch,
        audit: NewAuditEntry,
    ) -> Result<Option<User>, StoreError> {
        let mut state = self.state();
        let now = audit.at;
        let Some(user) = state.users.iter_mut().find(|u| u.id == id) else {
            return Ok(None);
        };
        if let Some(role) = patch.role {
            user.role = role;
        }
        if let Some(disabled) = patch.disabled {
            user.disabled = disabled;
        }
        let updated = user.clone();
        if patch.disabled == Some(true) {
            for (_, session) in state.sessions.iter_mut().filter(|(_, s)| s.user_id == id) {
                session.revoked_at.get_or_insert(now);
            }
        }
        Self::push_audit(&mut state, audit);
        Ok(Some(updated))
    }

    async fn user_stats(&self) -> Result<UserStats, StoreError> {
        let state = self.state();
        let mut stats = UserStats {
            total: state.users.len() as u64,
            ..UserStats::default()
        };
        for user in &state.users {
            stats.disabled += u64::from(user.disabled);
            *stats
                .by_role
                .entry(user.role.as_str().to_owned())
                .or_default() += 1;
        }
        Ok(stats)
    }
}

impl SessionRepository for FakeStore {
    async fn insert_session(&self, session: NewSession) -> Result<(), StoreError> {
        let stored = StoredSession {
            id: session.id,
            family_id: session.family_id,
            user_id: session.user_id,
            expires_at: session.expires_at,
            rotated_at: None,
            revoked_at: None,
        };
        self.state().sessions.push((session.token_hash, stored));
        Ok(())
    }

    async fn find_session(
        &self,
        hash: &RefreshTokenHash,
    ) -> Result<Option<StoredSession>, StoreError> {
        Ok(self
            .state()
            .sessions
            .iter()
            .find(|(h, _)| h == hash)
            .map(|(_, s)| s.clone()))
    }

    async fn rotate_session(
        &self,
        old: &StoredSession,
        new: NewSession,
        now: DateTime<Utc>,
    ) -> Result<RotationOutcome, StoreError> {
        let live = {
            let mut state = self.state();
            let found = state.sessions.iter_mut().find(|(_, s)| s.id == old.id);
            match found {
                Some((_, s)) if s.rotated_at.is_none() && s.revoked_at.is_none() => {
                    s.rotated_at = Some(now);
                    true
                }
                _ => false,
            }
        };
        if live {
            self.insert_session(new).await?;
            Ok(RotationOutcome::Rotated)
        } else {
            self.revoke_family(old.family_id, now).await?;
            Ok(RotationOutcome::Reused)
        }
    }

    async fn revoke_family(
        &self,
        family_id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for (_, session) in self
            .state()
            .sessions
            .iter_mut()
            .filter(|(_, s)| s.family_id == family_id)
        {
            session.revoked_at.get_or_insert(now);
        }
        Ok(())
    }
}

impl LoginThrottleRepository for FakeStore {
    async fn reserve_login_attempt(
        &self,
        email: &Email,
        client: &str,
        now: DateTime<Utc>,
        policy: &LoginThrottlePolicy,
    ) -> Result<LoginThrottleVerdict, StoreError> {
        let mut state = self.state();
        let email_key = (email.as_str().to_owned(), String::new());
        let client_key = (email.as_str().to_owned(), client.to_owned());
        let reserved = policy.reserve(
            state.throttle.get(&email_key).copied().unwrap_or_default(),
            state.throttle.get(&client_key).copied().unwrap_or_default(),
            now,
        );
        state.throttle.insert(email_key, reserved.email);
        state.throttle.insert(client_key, reserved.client);
        Ok(reserved.verdict)
    }

    async fn clear_login_failures(&self, email: &Email, client: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        state
            .throttle
            .remove(&(email.as_str().to_owned(), String::new()));
        state
            .throttle
            .remove(&(email.as_str().to_owned(), client.to_owned()));
        Ok(())
    }
}

impl AuditLog for FakeStore {
    async fn record(&self, entry: NewAuditEntry) -> Result<(), StoreError> {
        Self::push_audit(&mut self.state(), entry);
        Ok(())
    }

    async fn list(&self, page: PageRequest) -> Result<Page<AuditEntry>, StoreError> {
        let state = self.state();
        let items = state.audit.iter().rev().cloned().collect();
        Ok(Page {
            items,
            request: page,
            total: state.audit.len() as u64,
        })
    }
}

/// A hasher that "hashes" by prefixing, so service tests run instantly; counts verifies so
/// tests can prove unknown emails cost a verification too.
#[derive(Debug, Clone, Default)]
pub struct FakeHasher {
    verifies: Arc<Mutex<u32>>,
}

impl FakeHasher {
    pub fn verifies(&self) -> u32 {
        *self.verifies.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PasswordHasher for FakeHasher {
    async fn hash(&self, password: Password) -> Result<PasswordHash, IdentityError> {
        Ok(PasswordHash::from_stored(format!(
            "fake:{}",
            password.expose()
        )))
    }

    async fn verify(&self, password: Password, hash: PasswordHash) -> Result<bool, IdentityError> {
        *self.verifies.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        Ok(hash.as_str() == format!("fake:{}", password.expose()))
    }
}
