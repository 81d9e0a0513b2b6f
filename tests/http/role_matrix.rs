//! Every route × every kind of caller, with the status each must get. A route missing from
//! the matrix fails the test, so no route ships without its authorization decided.

use devforge_domain::Role;
use devforge_tests::{Account, PASSWORD, TestApp, json, on_every_backend};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Who calls: nobody, a customer, another customer, support staff, an admin.
const CALLERS: [&str; 5] = ["anonymous", "user", "other_user", "support", "admin"];

struct Row {
    method: Method,
    /// The OpenAPI path template.
    template: &'static str,
    /// Expected status for each caller, in the order of [`CALLERS`].
    expected: [u16; 5],
}

fn rows() -> Vec<Row> {
    let row = |method: Method, template, expected| Row {
        method,
        template,
        expected,
    };
    vec![
        row(Method::POST, "/v1/auth/register", [201, 201, 201, 201, 201]),
        row(Method::POST, "/v1/auth/login", [200, 200, 200, 200, 200]),
        row(Method::POST, "/v1/auth/refresh", [401, 401, 401, 401, 401]),
        row(Method::POST, "/v1/auth/logout", [204, 204, 204, 204, 204]),
        row(Method::GET, "/v1/auth/me", [401, 200, 200, 200, 200]),
        row(Method::GET, "/v1/admin/users", [401, 403, 403, 403, 200]),
        row(
            Method::PATCH,
            "/v1/admin/users/{id}",
            [401, 403, 403, 403, 200],
        ),
        row(Method::GET, "/v1/admin/stats", [401, 403, 403, 403, 200]),
        row(Method::GET, "/v1/admin/audit", [401, 403, 403, 403, 200]),
        row(Method::GET, "/health/live", [200, 200, 200, 200, 200]),
        row(Method::GET, "/health/ready", [200, 200, 200, 200, 200]),
        row(Method::GET, "/metrics", [200, 200, 200, 200, 200]),
    ]
}

struct Cast {
    user: Account,
    other_user: Account,
    support: Account,
    admin: Account,
}

impl Cast {
    fn token(&self, caller: &str) -> Option<&str> {
        match caller {
            "user" => Some(&self.user.token),
            "other_user" => Some(&self.other_user.token),
            "support" => Some(&self.support.token),
            "admin" => Some(&self.admin.token),
            _ => None,
        }
    }
}

/// The concrete path and body for one call; bodies are valid so only authorization decides.
fn call(row: &Row, cast: &Cast, attempt: usize) -> (String, Option<Value>) {
    match row.template {
        "/v1/auth/register" => (
            row.template.into(),
            Some(json!({"email": format!("new{attempt}@example.com"), "password": PASSWORD})),
        ),
        "/v1/auth/login" => (
            row.template.into(),
            Some(json!({"email": cast.user.email, "password": PASSWORD})),
        ),
        "/v1/auth/refresh" | "/v1/auth/logout" => (
            row.template.into(),
            Some(json!({"refresh_token": "not-a-live-refresh-token"})),
        ),
        "/v1/admin/users/{id}" => (
            format!("/v1/admin/users/{}", cast.user.id),
            Some(json!({"disabled": false})),
        ),
        _ => (row.template.into(), None),
    }
}

async fn cast(app: &TestApp) -> Cast {
    Cast {
        user: app.register("user@example.com").await,
        other_user: app.register("other@example.com").await,
        support: app
            .account_with_role("support@example.com", Role::Support)
            .await,
        admin: app
            .account_with_role("admin@example.com", Role::Admin)
            .await,
    }
}

on_every_backend! {
    async fn every_route_answers_each_caller_as_the_matrix_says(app) {
        let cast = cast(&app).await;
        let mut failures = Vec::new();
        let mut attempt = 0;
        for row in rows() {
            for (caller, expected) in CALLERS.iter().zip(row.expected) {
                attempt += 1;
                let (path, body) = call(&row, &cast, attempt);
                let response = app.send(row.method.clone(), &path, body, cast.token(caller)).await;
                let status = response.status().as_u16();
                if status != expected {
                    failures.push(format!("{} {path} as {caller}: got {status}, want {expected}", row.method));
                }
            }
        }
        assert!(failures.is_empty(), "role matrix mismatches:\n{}", failures.join("\n"));
    }
}

on_every_backend! {
    async fn the_matrix_covers_every_documented_route(app) {
        let spec = json(app.get("/openapi.json", None).await).await;
        let documented: BTreeSet<String> = spec["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(path, item)| {
                item.as_object()
                    .into_iter()
                    .flatten()
                    .map(move |(method, _)| format!("{} {path}", method.to_uppercase()))
            })
            .collect();
        let covered: BTreeSet<String> =
            rows().iter().map(|row| format!("{} {}", row.method, row.template)).collect();
        assert_eq!(documented, covered, "routes documented vs. in the role matrix");
    }
}
