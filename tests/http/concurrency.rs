//! Limits that must hold under parallel requests.

use devforge_tests::{PASSWORD, on_every_backend};
use futures_util::future::join_all;
use serde_json::json;

on_every_backend! {
    async fn a_refresh_token_raced_by_twenty_requests_rotates_at_most_once(app) {
        let account = app.register("ada@example.com").await;
        let body = json!({"refresh_token": account.refresh_token});
        let responses = join_all((0..20).map(|_| app.post("/v1/auth/refresh", body.clone(), None))).await;
        let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
        let successes = statuses.iter().filter(|s| **s == 200).count();
        assert!(successes <= 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 401), "{statuses:?}");
    }
}

on_every_backend! {
    async fn parallel_registrations_of_one_email_create_one_account(app) {
        let body = json!({"email": "ada@example.com", "password": PASSWORD});
        let responses = join_all((0..10).map(|_| app.post("/v1/auth/register", body.clone(), None))).await;
        let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 9, "{statuses:?}");
    }
}

on_every_backend! {
    async fn parallel_login_attempts_cannot_outrun_the_lockout(app) {
        app.register("ada@example.com").await;
        let wrong = json!({"email": "ada@example.com", "password": "wrong password 123"});
        let responses = join_all((0..10).map(|_| app.post("/v1/auth/login", wrong.clone(), None))).await;
        let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 5, "five guesses, no more: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 5, "{statuses:?}");
        let right = app.post("/v1/auth/login", json!({"email": "ada@example.com", "password": PASSWORD}), None).await;
        assert_eq!(right.status(), 429, "that client stays locked out even with the right password");
    }
}
