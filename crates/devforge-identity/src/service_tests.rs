use super::{IdentityConfig, IdentityService, Registration};
use crate::fakes::{FakeHasher, FakeStore};
use crate::{IdentityError, Principal, RefreshToken, UserPatch};
use chrono::{Duration, TimeZone, Utc};
use devforge_domain::{ManualClock, Role};

const PASSWORD: &str = "correct horse battery staple 42";
const CLIENT: &str = "203.0.113.7";
const OWNER_CLIENT: &str = "198.51.100.20";

struct Harness {
    service: IdentityService<FakeStore, FakeHasher, ManualClock>,
    store: FakeStore,
    hasher: FakeHasher,
    clock: ManualClock,
}

async fn harness() -> Harness {
    let store = FakeStore::default();
    let hasher = FakeHasher::default();
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).single();
    let clock = ManualClock::starting_at(start.unwrap_or_else(Utc::now));
    let tokens = crate::AccessTokens::new(&[7_u8; 32], Duration::minutes(15))
        .unwrap_or_else(|e| panic!("{e}"));
    let service = IdentityService::new(
        store.clone(),
        hasher.clone(),
        clock.clone(),
        tokens,
        IdentityConfig::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    Harness {
        service,
        store,
        hasher,
        clock,
    }
}

fn audit_actions(store: &FakeStore) -> Vec<String> {
    store
        .audit_entries()
        .into_iter()
        .map(|entry| entry.entry.action)
        .filter(|action| action.starts_with("login."))
        .collect()
}

fn registration(email: &str) -> Registration<'_> {
    Registration {
        email,
        password: PASSWORD,
        name: Some("Ada"),
    }
}

#[tokio::test]
async fn registering_creates_a_user_account_and_a_working_session() {
    let h = harness().await;
    let session = h
        .service
        .register(registration(" Ada@Example.com "))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(session.user.email.as_str(), "ada@example.com");
    assert_eq!(session.user.role, Role::User);
    assert_eq!(session.expires_in, 900);
    let principal = h.service.authenticate(&session.access_token).await;
    assert_eq!(
        principal.ok(),
        Some(Principal {
            user_id: session.user.id,
            role: Role::User
        })
    );
}

#[tokio::test]
async fn registering_an_email_twice_is_refused_whatever_its_case() {
    let h = harness().await;
    h.service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = h.service.register(registration("ADA@example.com")).await;
    assert!(matches!(again, Err(IdentityError::EmailTaken)));
}

#[tokio::test]
async fn a_name_with_control_characters_is_refused() {
    let h = harness().await;
    let input = Registration {
        email: "ada@example.com",
        password: PASSWORD,
        name: Some("a\u{0}b"),
    };
    let result = h.service.register(input).await;
    assert!(matches!(result, Err(IdentityError::Invalid(e)) if e.field == "name"));
}

#[tokio::test]
async fn a_weak_password_is_refused_at_registration() {
    let h = harness().await;
    let weak = Registration {
        email: "ada@example.com",
        password: "ada@example.com!",
        name: None,
    };
    let result = h.service.register(weak).await;
    assert!(matches!(result, Err(IdentityError::Invalid(e)) if e.field == "password"));
}

#[tokio::test]
async fn unknown_email_and_wrong_password_fail_alike_after_the_same_hashing_work() {
    let h = harness().await;
    h.service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = h.hasher.verifies();
    let wrong = h
        .service
        .login("ada@example.com", "not the password at all", CLIENT)
        .await;
    let unknown = h
        .service
        .login("nobody@example.com", PASSWORD, CLIENT)
        .await;
    assert!(matches!(wrong, Err(IdentityError::InvalidCredentials)));
    assert!(matches!(unknown, Err(IdentityError::InvalidCredentials)));
    assert_eq!(
        h.hasher.verifies() - before,
        2,
        "each attempt verifies one hash"
    );
}

#[tokio::test]
async fn repeated_failures_lock_that_client_out_but_never_the_owner_elsewhere() {
    let h = harness().await;
    h.service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..5 {
        let attempt = h
            .service
            .login("ada@example.com", "wrong password here", CLIENT)
            .await;
        assert!(matches!(attempt, Err(IdentityError::InvalidCredentials)));
    }
    let locked = h.service.login("ada@example.com", PASSWORD, CLIENT).await;
    assert!(matches!(
        locked,
        Err(IdentityError::LoginLocked {
            retry_after_secs: 900
        })
    ));
    let audit = audit_actions(&h.store);
    assert_eq!(
        audit,
        ["login.client_locked"],
        "the lock is in the audit trail"
    );

    let owner = h
        .service
        .login("ada@example.com", PASSWORD, OWNER_CLIENT)
        .await;
    assert!(owner.is_ok(), "the owner elsewhere still gets in");
    let still = h.service.login("ada@example.com", PASSWORD, CLIENT).await;
    assert!(matches!(still, Err(IdentityError::LoginLocked { .. })));
    h.clock.advance(Duration::minutes(15));
    assert!(
        h.service
            .login("ada@example.com", PASSWORD, CLIENT)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn guesses_from_many_clients_are_slowed_and_the_owner_waits_at_most_30_seconds() {
    let h = harness().await;
    h.service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut refused = 0;
    for i in 0..60 {
        let client = format!("203.0.113.{i}");
        let attempt = h
            .service
            .login("ada@example.com", "wrong password here", &client)
            .await;
        match attempt {
            Err(IdentityError::InvalidCredentials) => {}
            Err(IdentityError::LoginLocked { retry_after_secs }) => {
                assert!(retry_after_secs <= 30, "{retry_after_secs}");
                refused += 1;
            }
            other => panic!("{other:?}"),
        }
        h.clock.advance(Duration::milliseconds(100));
    }
    assert!(
        refused > 30,
        "only {refused} of 60 quick guesses were held back"
    );
    assert!(audit_actions(&h.store).contains(&"login.email_slowed".to_owned()));
    h.clock.advance(Duration::seconds(30));
    let owner = h
        .service
        .login("ada@example.com", PASSWORD, OWNER_CLIENT)
        .await;
    assert!(owner.is_ok(), "{owner:?}");
}

#[tokio::test]
async fn unknown_emails_are_locked_too_so_locking_reveals_nothing() {
    let h = harness().await;
    for _ in 0..5 {
        let _ = h
            .service
            .login("ghost@example.com", "wrong password here", CLIENT)
            .await;
    }
    let locked = h.service.login("ghost@example.com", PASSWORD, CLIENT).await;
    assert!(matches!(locked, Err(IdentityError::LoginLocked { .. })));
}

#[tokio::test]
async fn refreshing_rotates_and_reusing_an_old_token_revokes_the_family() {
    let h = harness().await;
    let first = h
        .service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let old = first.refresh_token.clone();
    let second = h
        .service
        .refresh(old.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(second.refresh_token, old);

    let reuse = h.service.refresh(old).await;
    assert!(matches!(reuse, Err(IdentityError::InvalidRefreshToken)));
    let after_reuse = h.service.refresh(second.refresh_token).await;
    assert!(
        matches!(after_reuse, Err(IdentityError::InvalidRefreshToken)),
        "the token issued by rotation dies with its family"
    );
    assert_eq!(h.store.live_sessions_of(first.user.id), 0);
}

#[tokio::test]
async fn a_spent_token_replayed_after_it_expired_still_revokes_the_family() {
    let h = harness().await;
    let first = h
        .service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.clock.advance(Duration::days(29));
    let second = h
        .service
        .refresh(first.refresh_token.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.clock.advance(Duration::days(2));
    let replay = h.service.refresh(first.refresh_token).await;
    assert!(matches!(replay, Err(IdentityError::InvalidRefreshToken)));
    let descendant = h.service.refresh(second.refresh_token).await;
    assert!(matches!(
        descendant,
        Err(IdentityError::InvalidRefreshToken)
    ));
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let h = harness().await;
    let session = h
        .service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.clock.advance(Duration::days(31));
    let result = h.service.refresh(session.refresh_token).await;
    assert!(matches!(result, Err(IdentityError::InvalidRefreshToken)));
}

#[tokio::test]
async fn logout_ends_the_session_and_ignores_unknown_tokens() {
    let h = harness().await;
    let session = h
        .service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.service
        .logout(session.refresh_token.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refreshed = h.service.refresh(session.refresh_token).await;
    assert!(matches!(refreshed, Err(IdentityError::InvalidRefreshToken)));
    assert!(h.service.logout(RefreshToken::generate()).await.is_ok());
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let h = harness().await;
    let session = h
        .service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    h.clock.advance(Duration::minutes(15));
    let result = h.service.authenticate(&session.access_token).await;
    assert!(matches!(result, Err(IdentityError::Unauthenticated)));
}

async fn admin(h: &Harness) -> Principal {
    let admin = h
        .service
        .create_user(registration("root@example.com"), Role::Admin)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Principal {
        user_id: admin.id,
        role: Role::Admin,
    }
}

#[tokio::test]
async fn disabling_an_account_ends_its_tokens_sessions_and_logins() {
    let h = harness().await;
    let admin = admin(&h).await;
    let session = h
        .service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let patch = UserPatch {
        disabled: Some(true),
        role: None,
    };
    h.service
        .update_user(admin, session.user.id, patch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let auth = h.service.authenticate(&session.access_token).await;
    assert!(matches!(auth, Err(IdentityError::Unauthenticated)));
    let refresh = h.service.refresh(session.refresh_token).await;
    assert!(matches!(refresh, Err(IdentityError::InvalidRefreshToken)));
    let login = h.service.login("ada@example.com", PASSWORD, CLIENT).await;
    assert!(matches!(login, Err(IdentityError::AccountDisabled)));
}

#[tokio::test]
async fn a_role_change_applies_to_existing_tokens_at_once_and_is_audited() {
    let h = harness().await;
    let admin = admin(&h).await;
    let session = h
        .service
        .register(registration("ada@example.com"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let patch = UserPatch {
        role: Some(Role::Support),
        disabled: None,
    };
    h.service
        .update_user(admin, session.user.id, patch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let principal = h.service.authenticate(&session.access_token).await;
    assert_eq!(principal.ok().map(|p| p.role), Some(Role::Support));

    let entries = h.store.audit_entries();
    let last = entries.last().map(|e| &e.entry);
    assert_eq!(last.map(|e| e.action.as_str()), Some("user.updated"));
    assert_eq!(last.and_then(|e| e.actor), Some(admin.user_id));
    assert_eq!(
        last.map(|e| e.detail["after"]["role"].clone()),
        Some("support".into())
    );
}

#[tokio::test]
async fn an_admin_cannot_demote_or_disable_themself() {
    let h = harness().await;
    let admin = admin(&h).await;
    let demote = UserPatch {
        role: Some(Role::User),
        disabled: None,
    };
    let disable = UserPatch {
        role: None,
        disabled: Some(true),
    };
    assert!(matches!(
        h.service.update_user(admin, admin.user_id, demote).await,
        Err(IdentityError::CannotModifySelf)
    ));
    assert!(matches!(
        h.service.update_user(admin, admin.user_id, disable).await,
        Err(IdentityError::CannotModifySelf)
    ));
}

#[tokio::test]
async fn updating_a_missing_account_is_not_found() {
    let h = harness().await;
    let admin = admin(&h).await;
    let result = h
        .service
        .update_user(
            admin,
            devforge_domain::UserId::generate(),
            UserPatch::default(),
        )
        .await;
    assert!(matches!(result, Err(IdentityError::UserNotFound)));
}

#[tokio::test]
async fn an_operator_created_account_is_audited_without_an_actor() {
    let h = harness().await;
    admin(&h).await;
    let entries = h.store.audit_entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].entry.action, "user.created");
    assert_eq!(entries[0].entry.actor, None);
}
