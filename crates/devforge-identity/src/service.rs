//! The identity service: the rules of accounts and sessions.

use crate::error::IdentityError;
use crate::model::{
    AuthSession, NewSession, NewUser, Principal, RotationOutcome, User, UserFilter, UserPatch,
    UserStats,
};
use crate::password::{Password, PasswordHash, PasswordHasher};
use crate::ports::IdentityStore;
use crate::throttle::{LoginThrottlePolicy, LoginThrottleVerdict};
use crate::tokens::{AccessTokens, RefreshToken};
use chrono::Duration;
use devforge_domain::{
    AuditEntry, Clock, Email, NewAuditEntry, Page, PageRequest, Role, StoreError, UserId,
};
use serde_json::json;

/// Tunables of the identity rules.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// How long a refresh token (and so a session without activity) lives.
    pub refresh_token_ttl: Duration,
    /// How failed logins are slowed (per client and email, and per email).
    pub login_throttle: LoginThrottlePolicy,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            refresh_token_ttl: Duration::days(30),
            login_throttle: LoginThrottlePolicy::default(),
        }
    }
}

/// Input of a registration (or of an operator creating an account).
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    /// The email as typed.
    pub email: &'a str,
    /// The password as typed.
    pub password: &'a str,
    /// An optional display name.
    pub name: Option<&'a str>,
}

/// Accounts, logins, sessions and the admin's view of them.
#[derive(Debug, Clone)]
pub struct IdentityService<S, H, C> {
    store: S,
    hasher: H,
    clock: C,
    tokens: AccessTokens,
    config: IdentityConfig,
    /// Verified against when the email is unknown, so that a login for a missing account
    /// costs the same bcrypt time as one with a wrong password.
    dummy_hash: PasswordHash,
}

impl<S: IdentityStore, H: PasswordHasher, C: Clock> IdentityService<S, H, C> {
    /// A service over the given ports. Hashes a throw-away password once, for the
    /// equal-timing check of unknown emails.
    ///
    /// # Errors
    /// When that hash fails.
    pub async fn new(
        store: S,
        hasher: H,
        clock: C,
        tokens: AccessTokens,
        config: IdentityConfig,
    ) -> Result<Self, IdentityError> {
        let throwaway = Password::for_login(RefreshToken::generate().expose());
        let dummy_hash = hasher.hash(throwaway).await?;
        Ok(Self {
            store,
            hasher,
            clock,
            tokens,
            config,
            dummy_hash,
        })
    }

    /// The storage this service was built with (for the composition root's other needs).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The same service (rules, keys, hasher, clock) over another store, e.g. a connection
    /// pool of one server worker's own.
    pub fn with_store<S2: IdentityStore>(&self, store: S2) -> IdentityService<S2, H, C>
    where
        H: Clone,
        C: Clone,
    {
        IdentityService {
            store,
            hasher: self.hasher.clone(),
            clock: self.clock.clone(),
            tokens: self.tokens.clone(),
            config: self.config.clone(),
            dummy_hash: self.dummy_hash.clone(),
        }
    }

    /// Creates a `user` account and logs it in.
    ///
    /// # Errors
    /// [`IdentityError::Invalid`] for a bad email or weak password,
    /// [`IdentityError::EmailTaken`] when the email has an account.
    pub async fn register(&self, input: Registration<'_>) -> Result<AuthSession, IdentityError> {
        let account = self.prepare_account(input, Role::User).await?;
        let user = self.insert_account(account, None).await?;
        self.start_session(user).await
    }

    /// Creates an account with any role: the operator's `devforge user create`.
    ///
    /// # Errors
    /// As [`Self::register`].
    pub async fn create_user(
        &self,
        input: Registration<'_>,
        role: Role,
    ) -> Result<User, IdentityError> {
        let account = self.prepare_account(input, role).await?;
        let audit = NewAuditEntry {
            actor: None,
            action: "user.created".into(),
            target_type: "user".into(),
            target_id: account.id.to_string(),
            detail: json!({ "email": account.email.as_str(), "role": role.as_str(), "via": "cli" }),
            at: account.created_at,
        };
        self.insert_account(account, Some(audit)).await
    }

    /// Validates the input and hashes the password: everything before storage.
    async fn prepare_account(
        &self,
        input: Registration<'_>,
        role: Role,
    ) -> Result<NewUser, IdentityError> {
        let email = Email::parse(input.email)?;
        let name = normalise_name(input.name)?;
        let mut personal = vec![email.as_str()];
        personal.extend(name.as_deref());
        personal.extend(email.as_str().split('@').next());
        let password = Password::new_checked(input.password, &personal)?;
        let password_hash = self.hasher.hash(password).await?;
        Ok(NewUser {
            id: UserId::generate(),
            email,
            name,
            role,
            password_hash,
            created_at: self.clock.now(),
        })
    }

    async fn insert_account(
        &self,
        account: NewUser,
        audit: Option<NewAuditEntry>,
    ) -> Result<User, IdentityError> {
        match self.store.insert_user(account, audit).await {
            Err(StoreError::Duplicate { .. }) => Err(IdentityError::EmailTaken),
            other => Ok(other?),
        }
    }

    /// Checks an email and password from `client` (its IP address, as the API decided it)
    /// and starts a session.
    ///
    /// Unknown emails and wrong passwords fail alike, after the same bcrypt work. Attempts
    /// are counted before the password is checked, per client and email and per email
    /// (see [`crate::throttle`]): a client that keeps failing is locked out of that email,
    /// and many clients together are slowed, so nobody can lock the owner out. A lock is
    /// written to the audit trail.
    ///
    /// # Errors
    /// [`IdentityError::InvalidCredentials`], [`IdentityError::LoginLocked`],
    /// [`IdentityError::AccountDisabled`] (only with the right password).
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: &str,
    ) -> Result<AuthSession, IdentityError> {
        let email = Email::parse(email)?;
        // An empty client would share the email's own counter: name it instead.
        let client = if client.is_empty() { "unknown" } else { client };
        let now = self.clock.now();
        let verdict = self
            .store
            .reserve_login_attempt(&email, client, now, &self.config.login_throttle)
            .await?;
        let client_failures = match verdict {
            LoginThrottleVerdict::Refused {
                until,
                client_locked_now,
            } => {
                if client_locked_now {
                    let detail = json!({"client": client, "locked_until": until});
                    self.record_throttle_event("login.client_locked", &email, detail)
                        .await?;
                }
                tracing::warn!(email = %email, client, "login refused: too many failed attempts");
                return Err(IdentityError::LoginLocked {
                    retry_after_secs: seconds_until(now, until),
                });
            }
            LoginThrottleVerdict::Allowed {
                client_failures,
                email_slowed,
            } => {
                if email_slowed {
                    let free = self.config.login_throttle.email_free_attempts;
                    let detail = json!({"client": client, "attempts_before_slowing": free});
                    self.record_throttle_event("login.email_slowed", &email, detail)
                        .await?;
                }
                client_failures
            }
        };
        let user = self.store.find_user_by_email(&email).await?;
        let hash = user
            .as_ref()
            .map_or_else(|| self.dummy_hash.clone(), |u| u.password_hash.clone());
        let matches = self
            .hasher
            .verify(Password::for_login(password), hash)
            .await?;
        let Some(user) = user.filter(|_| matches) else {
            tracing::info!(email = %email, client, attempts = client_failures, "login failed");
            return Err(IdentityError::InvalidCredentials);
        };
        self.store.clear_login_failures(&email, client).await?;
        if user.disabled {
            tracing::warn!(user_id = %user.id, "login refused: account disabled");
            return Err(IdentityError::AccountDisabled);
        }
        self.start_session(user).await
    }

    /// Writes a throttle decision to the audit trail. The target is the email as typed,
    /// known or not: the trail is for admins, who may see which emails are attacked.
    async fn record_throttle_event(
        &self,
        action: &str,
        email: &Email,
        detail: serde_json::Value,
    ) -> Result<(), IdentityError> {
        let entry = NewAuditEntry {
            actor: None,
            action: action.to_owned(),
            target_type: "login".to_owned(),
            target_id: email.as_str().to_owned(),
            detail,
            at: self.clock.now(),
        };
        Ok(self.store.record(entry).await?)
    }

    /// Exchanges a refresh token for a new pair. The old token stops working; presenting it
    /// again revokes every session descended from the same login.
    ///
    /// # Errors
    /// [`IdentityError::InvalidRefreshToken`] for any token that is not live.
    pub async fn refresh(&self, token: RefreshToken) -> Result<AuthSession, IdentityError> {
        let now = self.clock.now();
        let Some(session) = self.store.find_session(&token.hash()).await? else {
            return Err(IdentityError::InvalidRefreshToken);
        };
        if session.revoked_at.is_some() {
            return Err(IdentityError::InvalidRefreshToken);
        }
        // Reuse is checked before expiry: a stolen, spent token replayed late must still
        // take its descendants down with it.
        if session.rotated_at.is_some() {
            tracing::warn!(user_id = %session.user_id, family = %session.family_id,
                "refresh token reused: revoking its session family");
            self.store.revoke_family(session.family_id, now).await?;
            return Err(IdentityError::InvalidRefreshToken);
        }
        if session.expires_at <= now {
            return Err(IdentityError::InvalidRefreshToken);
        }
        let user = match self.store.find_user(session.user_id).await? {
            Some(user) if !user.disabled => user,
            _ => {
                self.store.revoke_family(session.family_id, now).await?;
                return Err(IdentityError::InvalidRefreshToken);
            }
        };
        let next = RefreshToken::generate();
        let new_session = self.new_session(user.id, session.family_id, &next);
        match self
            .store
            .rotate_session(&session, new_session, now)
            .await?
        {
            RotationOutcome::Rotated => self.issue(user, next),
            RotationOutcome::Reused => {
                tracing::warn!(user_id = %user.id, family = %session.family_id,
                    "refresh token used twice concurrently: session family revoked");
                Err(IdentityError::InvalidRefreshToken)
            }
        }
    }

    /// Ends the session the refresh token belongs to. Unknown tokens are ignored, so logout
    /// is idempotent and reveals nothing.
    ///
    /// # Errors
    /// [`IdentityError::Store`] when storage fails.
    pub async fn logout(&self, token: RefreshToken) -> Result<(), IdentityError> {
        if let Some(session) = self.store.find_session(&token.hash()).await? {
            self.store
                .revoke_family(session.family_id, self.clock.now())
                .await?;
        }
        Ok(())
    }

    /// Who is calling, from a bearer access token: the signature, issuer, audience and
    /// expiry are checked, then the account's current state, so a disabled account's tokens
    /// stop working at once and a changed role applies at once.
    ///
    /// # Errors
    /// [`IdentityError::Unauthenticated`].
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, IdentityError> {
        let (user_id, _claims) = self
            .tokens
            .verify(access_token, self.clock.now())
            .ok_or(IdentityError::Unauthenticated)?;
        match self.store.find_user(user_id).await? {
            Some(user) if !user.disabled => Ok(Principal {
                user_id,
                role: user.role,
            }),
            _ => Err(IdentityError::Unauthenticated),
        }
    }

    /// An account by id.
    ///
    /// # Errors
    /// [`IdentityError::UserNotFound`].
    pub async fn user(&self, id: UserId) -> Result<User, IdentityError> {
        self.store
            .find_user(id)
            .await?
            .ok_or(IdentityError::UserNotFound)
    }

    /// Accounts for the admin's list.
    ///
    /// # Errors
    /// [`IdentityError::Store`].
    pub async fn list_users(
        &self,
        filter: UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, IdentityError> {
        Ok(self.store.list_users(filter, page).await?)
    }

    /// An admin changes another account's role or disables it. Writes an audit entry; a
    /// disabled account loses its sessions at once.
    ///
    /// # Errors
    /// [`IdentityError::CannotModifySelf`] when an admin would demote or disable themself,
    /// [`IdentityError::UserNotFound`].
    pub async fn update_user(
        &self,
        actor: Principal,
        id: UserId,
        patch: UserPatch,
    ) -> Result<User, IdentityError> {
        let demotes_self = patch.role.is_some_and(|role| role != actor.role);
        if id == actor.user_id && (demotes_self || patch.disabled == Some(true)) {
            return Err(IdentityError::CannotModifySelf);
        }
        let before = self.user(id).await?;
        let audit = NewAuditEntry {
            actor: Some(actor.user_id),
            action: "user.updated".into(),
            target_type: "user".into(),
            target_id: id.to_string(),
            detail: json!({
                "before": { "role": before.role, "disabled": before.disabled },
                "after": {
                    "role": patch.role.unwrap_or(before.role),
                    "disabled": patch.disabled.unwrap_or(before.disabled),
                },
            }),
            at: self.clock.now(),
        };
        let updated = self
            .store
            .update_user(id, patch, audit)
            .await?
            .ok_or(IdentityError::UserNotFound)?;
        tracing::info!(actor = %actor.user_id, target = %id, "account updated by admin");
        Ok(updated)
    }

    /// Account counts.
    ///
    /// # Errors
    /// [`IdentityError::Store`].
    pub async fn stats(&self) -> Result<UserStats, IdentityError> {
        Ok(self.store.user_stats().await?)
    }

    /// The audit trail, newest first.
    ///
    /// # Errors
    /// [`IdentityError::Store`].
    pub async fn audit_trail(&self, page: PageRequest) -> Result<Page<AuditEntry>, IdentityError> {
        Ok(self.store.list(page).await?)
    }

    async fn start_session(&self, user: User) -> Result<AuthSession, IdentityError> {
        let token = RefreshToken::generate();
        let session = self.new_session(user.id, uuid::Uuid::now_v7(), &token);
        self.store.insert_session(session).await?;
        self.issue(user, token)
    }

    fn new_session(&self, user: UserId, family_id: uuid::Uuid, token: &RefreshToken) -> NewSession {
        let now = self.clock.now();
        NewSession {
            id: uuid::Uuid::now_v7(),
            family_id,
            user_id: user,
            token_hash: token.hash(),
            created_at: now,
            expires_at: now + self.config.refresh_token_ttl,
        }
    }

    fn issue(&self, user: User, refresh_token: RefreshToken) -> Result<AuthSession, IdentityError> {
        let access_token = self
            .tokens
            .issue(user.id, user.role, self.clock.now())
            .map_err(IdentityError::Internal)?;
        Ok(AuthSession {
            user,
            access_token,
            expires_in: self.tokens.ttl().num_seconds(),
            refresh_token,
        })
    }
}

/// Display names are optional; blank means none, and at most 100 characters are kept.
fn normalise_name(name: Option<&str>) -> Result<Option<String>, devforge_domain::InvalidValue> {
    let Some(name) = name.map(str::trim).filter(|name| !name.is_empty()) else {
        return Ok(None);
    };
    if name.chars().any(char::is_control) {
        return Err(devforge_domain::InvalidValue::new(
            "name",
            "must not contain control characters",
        ));
    }
    if name.chars().count() > 100 {
        return Err(devforge_domain::InvalidValue::new(
            "name",
            "must be at most 100 characters long",
        ));
    }
    Ok(Some(name.to_owned()))
}

fn seconds_until(now: chrono::DateTime<chrono::Utc>, until: chrono::DateTime<chrono::Utc>) -> u64 {
    u64::try_from((until - now).num_seconds())
        .unwrap_or(0)
        .max(1)
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
