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

on_every_backend! {
    async fn repeated_failed_logins_lock_the_email_with_retry_after(app) {
        app.register("ada@example.com").await;
        for _ in 0..5 {
            let attempt = app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": "wrong password 123"}), None).await;
            assert_problem(attempt, 401, "invalid_credentials").await;
        }
        let locked = app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": PASSWORD}), None).await;
        let retry_after = locked
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        assert!(retry_after.is_some_and(|s| s > 0 && s <= 900), "{retry_after:?}");
        assert_problem(locked, 429, "too_many_login_attempts").await;
    }
}
