//! Registration, login, refresh rotation, logout and the current user.

use devforge_domain::Role;
use devforge_tests::{PASSWORD, assert_problem, json, on_every_backend};
use serde_json::json;

on_every_backend! {
    async fn registering_returns_the_user_and_a_token_pair(app) {
        let response = app
            .post("/v1/auth/register", json!({"email": " Ada@Example.COM ", "password": PASSWORD, "name": "Ada"}), None)
            .await;
        assert_eq!(response.status(), 201);
        let body = json(response).await;
        assert_eq!(body["user"]["email"], "ada@example.com");
        assert_eq!(body["user"]["name"], "Ada");
        assert_eq!(body["user"]["role"], "user");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900);
        assert!(body["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3));
        assert!(body["refresh_token"].as_str().is_some_and(|t| t.len() >= 43));
        assert!(body["user"].get("password_hash").is_none());
    }
}

on_every_backend! {
    async fn registering_a_taken_email_is_a_conflict(app) {
        app.register("ada@example.com").await;
        let again = app
            .post("/v1/auth/register", json!({"email": "ADA@example.com", "password": PASSWORD}), None)
            .await;
        assert_problem(again, 409, "email_taken").await;
    }
}

on_every_backend! {
    async fn weak_short_and_overlong_passwords_are_rejected_with_a_reason(app) {
        for (password, reason) in [
            ("short", "at least 12"),
            ("password1234", "too easy to guess"),
            (&"ü".repeat(40)[..], "at most 72 bytes"),
        ] {
            let response = app
                .post("/v1/auth/register", json!({"email": "ada@example.com", "password": password}), None)
                .await;
            let body = assert_problem(response, 422, "validation_failed").await;
            assert_eq!(body["errors"][0]["field"], "password");
            assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains(reason)), "{body}");
        }
    }
}

on_every_backend! {
    async fn unknown_email_and_wrong_password_answer_identically(app) {
        app.register("ada@example.com").await;
        let wrong = app
            .post("/v1/auth/login", json!({"email": "ada@example.com", "password": "not the right password"}), None)
            .await;
        let unknown = app
            .post("/v1/auth/login", json!({"email": "nobody@example.com", "password": PASSWORD}), None)
            .await;
        let wrong = assert_problem(wrong, 401, "invalid_credentials").await;
        let unknown = assert_problem(unknown, 401, "invalid_credentials").await;
        assert_eq!(wrong, unknown);
    }
}

on_every_backend! {
    async fn logging_in_returns_a_working_access_token(app) {
        let registered = app.register("ada@example.com").await;
        let session = app.login("ADA@example.com").await;
        let me = app.get("/v1/auth/me", Some(&session.token)).await;
        assert_eq!(me.status(), 200);
        let me = json(me).await;
        assert_eq!(me["id"], registered.id.as_str());
        assert_eq!(me["email"], "ada@example.com");
        assert_eq!(me["role"], "user");
        assert!(me["created_at"].is_string());
    }
}

on_every_backend! {
    async fn refresh_rotates_and_reusing_a_rotated_token_revokes_the_family(app) {
        let first = app.register("ada@example.com").await;
        let rotated = app.post("/v1/auth/refresh", json!({"refresh_token": first.refresh_token}), None).await;
        assert_eq!(rotated.status(), 200);
        let rotated = json(rotated).await;
        let second = rotated["refresh_token"].as_str().unwrap_or_default().to_owned();
        assert_ne!(second, first.refresh_token);

        let reuse = app.post("/v1/auth/refresh", json!({"refresh_token": first.refresh_token}), None).await;
        assert_problem(reuse, 401, "invalid_refresh_token").await;
        let after = app.post("/v1/auth/refresh", json!({"refresh_token": second}), None).await;
        assert_problem(after, 401, "invalid_refresh_token").await;
    }
}

on_every_backend! {
    async fn an_access_token_is_not_a_refresh_token_and_vice_versa(app) {
        let account = app.register("ada@example.com").await;
        let refresh_with_access = app.post("/v1/auth/refresh", json!({"refresh_token": account.token}), None).await;
        assert_problem(refresh_with_access, 401, "invalid_refresh_token").await;
        let me_with_refresh = app.get("/v1/auth/me", Some(&account.refresh_token)).await;
        assert_problem(me_with_refresh, 401, "unauthenticated").await;
    }
}

on_every_backend! {
    async fn logout_ends_the_session(app) {
        let account = app.register("ada@example.com").await;
        let logout = app.post("/v1/auth/logout", json!({"refresh_token": account.refresh_token}), None).await;
        assert_eq!(logout.status(), 204);
        let refresh = app.post("/v1/auth/refresh", json!({"refresh_token": account.refresh_token}), None).await;
        assert_problem(refresh, 401, "invalid_refresh_token").await;
        let unknown = app.post("/v1/auth/logout", json!({"refresh_token": "never-issued"}), None).await;
        assert_eq!(unknown.status(), 204);
    }
}

on_every_backend! {
    async fn forged_and_malformed_bearer_tokens_are_unauthenticated(app) {
        let account = app.register("ada@example.com").await;
        let mut forged = account.token.clone();
        forged.pop();
        forged.push(if account.token.ends_with('A') { 'B' } else { 'A' });
        for token in [forged.as_str(), "not-a-jwt", ""] {
            let response = app.get("/v1/auth/me", Some(token)).await;
            let problem = assert_problem(response, 401, "unauthenticated").await;
            assert_eq!(problem["status"], 401);
        }
        let basic = app
            .request(reqwest::Method::GET, "/v1/auth/me", None)
            .header("authorization", "Basic YWRhOnBhc3N3b3Jk")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(basic.headers().get("www-authenticate").map(|v| v.as_bytes()), Some(&b"Bearer"[..]));
        assert_problem(basic, 401, "unauthenticated").await;
    }
}

on_every_backend! {
    async fn a_disabled_account_loses_its_tokens_and_cannot_log_in_or_refresh(app) {
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        let user = app.register("ada@example.com").await;
        let disable = app.patch(&format!("/v1/admin/users/{}", user.id), json!({"disabled": true}), Some(&admin.token)).await;
        assert_eq!(disable.status(), 200);

        assert_problem(app.get("/v1/auth/me", Some(&user.token)).await, 401, "unauthenticated").await;
        let refresh = app.post("/v1/auth/refresh", json!({"refresh_token": user.refresh_token}), None).await;
        assert_problem(refresh, 401, "invalid_refresh_token").await;
        let login = app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": PASSWORD}), None).await;
        assert_problem(login, 403, "account_disabled").await;

        let enable = app.patch(&format!("/v1/admin/users/{}", user.id), json!({"disabled": false}), Some(&admin.token)).await;
        assert_eq!(enable.status(), 200);
        app.login("ada@example.com").await;
    }
}

/// Logins as if from `client`, through the loopback proxy the test server trusts.
async fn login_from(
    app: &devforge_tests::TestApp,
    client: &str,
    password: &str,
) -> reqwest::Response {
    app.request(reqwest::Method::POST, "/v1/auth/login", None)
        .header("x-forwarded-for", client)
        .json(&json!({"email": "ada@example.com", "password": password}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_lock_out_the_guessing_client_never_the_owner_elsewhere() {
    for backend in devforge_tests::backends() {
        let app = devforge_tests::TestApp::spawn_with(backend, |settings| {
            settings.trusted_proxies = vec![std::net::Ipv4Addr::LOCALHOST.into()];
        })
        .await;
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        app.register("ada@example.com").await;
        for _ in 0..5 {
            let attempt = login_from(&app, "203.0.113.7", "wrong password 123").await;
            assert_problem(attempt, 401, "invalid_credentials").await;
        }
        let locked = login_from(&app, "203.0.113.7", PASSWORD).await;
        let retry_after = locked
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert!(
            retry_after.is_some_and(|s| s > 0 && s <= 900),
            "{retry_after:?}"
        );
        assert_problem(locked, 429, "too_many_login_attempts").await;

        let owner = login_from(&app, "198.51.100.20", PASSWORD).await;
        assert_eq!(owner.status(), 200, "the owner on another address gets in");
        let guesser = login_from(&app, "203.0.113.7", PASSWORD).await;
        assert_eq!(guesser.status(), 429, "the guessing address stays locked");

        let audit = json(app.get("/v1/admin/audit", Some(&admin.token)).await).await;
        let locks: Vec<&serde_json::Value> = audit["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["action"] == "login.client_locked")
            .collect();
        assert_eq!(locks.len(), 1, "{audit}");
        assert_eq!(locks[0]["target_id"], "ada@example.com", "{audit}");
        assert_eq!(locks[0]["detail"]["client"], "203.0.113.7", "{audit}");
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_spread_over_many_addresses_are_slowed_not_turned_into_a_lockout() {
    for backend in devforge_tests::backends() {
        let app = devforge_tests::TestApp::spawn_with(backend, |settings| {
            settings.trusted_proxies = vec![std::net::Ipv4Addr::LOCALHOST.into()];
            settings.login_email_free_attempts = 10;
            settings.login_email_max_delay_secs = 2;
        })
        .await;
        app.register("ada@example.com").await;
        let mut statuses = Vec::new();
        for i in 0..30 {
            let attempt = login_from(&app, &format!("203.0.113.{i}"), "wrong password 123").await;
            statuses.push(attempt.status().as_u16());
        }
        assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
        let held_back = statuses.iter().filter(|s| **s == 429).count();
        assert!(
            held_back >= 15,
            "quick guesses past the free ones wait: {statuses:?}"
        );
        // Within the longest wait, the owner gets in from an address of their own.
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        let owner = login_from(&app, "198.51.100.20", PASSWORD).await;
        assert_eq!(owner.status(), 200);
        app.shutdown().await;
    }
}
