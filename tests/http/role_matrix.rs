//! Every route × every kind of caller, with the status each must get. A route missing from
//! the matrix fails the test, so no route ships without its authorization decided.

use devforge_domain::Role;
use devforge_tests::{Account, PASSWORD, TestApp, backends, json, on_every_backend};
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
        row(Method::GET, "/v1/products", [200, 200, 200, 200, 200]),
        row(Method::POST, "/v1/products", [401, 403, 403, 403, 201]),
        row(Method::GET, "/v1/products/{sku}", [200, 200, 200, 200, 200]),
        row(
            Method::PATCH,
            "/v1/products/{sku}",
            [401, 403, 403, 403, 200],
        ),
        row(Method::POST, "/v1/licenses", [401, 403, 403, 403, 201]),
        row(Method::GET, "/v1/licenses", [401, 200, 200, 200, 200]),
        row(
            Method::GET,
            "/v1/licenses/public-key",
            [200, 200, 200, 200, 200],
        ),
        row(
            Method::POST,
            "/v1/licenses/activate",
            [201, 201, 201, 201, 201],
        ),
        row(
            Method::POST,
            "/v1/licenses/deactivate",
            [404, 404, 404, 404, 404],
        ),
        row(
            Method::POST,
            "/v1/licenses/validate",
            [200, 200, 200, 200, 200],
        ),
        row(Method::GET, "/v1/licenses/{id}", [401, 200, 404, 404, 200]),
        row(
            Method::POST,
            "/v1/licenses/{id}/renew",
            [401, 403, 403, 403, 200],
        ),
        row(
            Method::POST,
            "/v1/licenses/{id}/suspend",
            [401, 403, 403, 403, 200],
        ),
        row(
            Method::POST,
            "/v1/licenses/{id}/reinstate",
            [401, 403, 403, 403, 200],
        ),
        row(
            Method::POST,
            "/v1/licenses/{id}/revoke",
            [401, 403, 403, 403, 200],
        ),
        row(
            Method::GET,
            "/v1/licenses/{id}/events",
            [401, 200, 404, 404, 200],
        ),
        row(
            Method::GET,
            "/v1/licenses/{id}/activations",
            [401, 200, 404, 404, 200],
        ),
        row(
            Method::DELETE,
            "/v1/licenses/{id}/activations/{activation_id}",
            [401, 204, 404, 404, 204],
        ),
        row(Method::GET, "/v1/extensions", [200, 200, 200, 200, 200]),
        row(Method::POST, "/v1/extensions", [401, 201, 201, 201, 201]),
        row(
            Method::GET,
            "/v1/extensions/{name}",
            [200, 200, 200, 200, 200],
        ),
        row(
            Method::PATCH,
            "/v1/extensions/{name}",
            [401, 200, 403, 403, 200],
        ),
        row(
            Method::POST,
            "/v1/extensions/{name}/versions",
            [401, 201, 403, 403, 403],
        ),
        row(
            Method::POST,
            "/v1/extensions/{name}/versions/{version}/yank",
            [401, 200, 403, 403, 200],
        ),
        row(
            Method::POST,
            "/v1/extensions/{name}/versions/{version}/unyank",
            [401, 200, 403, 403, 200],
        ),
        row(
            Method::POST,
            "/v1/extensions/{name}/versions/{version}/approve",
            [401, 403, 403, 403, 200],
        ),
        row(
            Method::POST,
            "/v1/extensions/{name}/versions/{version}/reject",
            [401, 403, 403, 403, 200],
        ),
        row(
            Method::GET,
            "/v1/extensions/{name}/versions/{version}/download",
            [200, 200, 200, 200, 200],
        ),
        row(
            Method::GET,
            "/v1/extensions/{name}/latest/download",
            [200, 200, 200, 200, 200],
        ),
        row(
            Method::GET,
            "/v1/extensions/{name}/stats",
            [401, 200, 403, 403, 200],
        ),
        row(
            Method::GET,
            "/v1/extensions/{name}/reviews",
            [200, 200, 200, 200, 200],
        ),
        row(
            Method::POST,
            "/v1/extensions/{name}/reviews",
            [401, 403, 201, 201, 201],
        ),
        row(
            Method::PUT,
            "/v1/extensions/{name}/reviews",
            [401, 404, 200, 200, 200],
        ),
        row(
            Method::DELETE,
            "/v1/extensions/{name}/reviews",
            [401, 404, 204, 204, 204],
        ),
        row(Method::GET, "/v1/me/extensions", [401, 200, 200, 200, 200]),
        row(
            Method::GET,
            "/v1/admin/extensions/pending",
            [401, 403, 403, 403, 200],
        ),
        row(Method::POST, "/v1/payments", [401, 201, 201, 201, 201]),
        row(Method::GET, "/v1/payments", [401, 200, 200, 200, 200]),
        row(Method::GET, "/v1/payments/{id}", [401, 200, 404, 200, 200]),
        row(
            Method::POST,
            "/v1/payments/{id}/confirm",
            [401, 200, 404, 404, 404],
        ),
        row(
            Method::POST,
            "/v1/payments/{id}/refunds",
            [401, 403, 403, 403, 409],
        ),
        row(
            Method::POST,
            "/v1/webhooks/stripe",
            [400, 400, 400, 400, 400],
        ),
        row(
            Method::POST,
            "/v1/support/tickets",
            [401, 201, 201, 201, 201],
        ),
        row(
            Method::GET,
            "/v1/support/tickets",
            [401, 200, 200, 200, 200],
        ),
        row(
            Method::GET,
            "/v1/support/tickets/{id}",
            [401, 200, 404, 200, 200],
        ),
        row(
            Method::PATCH,
            "/v1/support/tickets/{id}",
            [401, 403, 404, 200, 200],
        ),
        row(
            Method::POST,
            "/v1/support/tickets/{id}/assign",
            [401, 403, 404, 200, 200],
        ),
        row(
            Method::POST,
            "/v1/support/tickets/{id}/messages",
            [401, 201, 404, 201, 201],
        ),
        row(
            Method::GET,
            "/v1/support/tickets/{id}/messages",
            [401, 200, 404, 200, 200],
        ),
        row(
            Method::GET,
            "/v1/support/tickets/{id}/events",
            [401, 200, 404, 200, 200],
        ),
        row(Method::POST, "/v1/kb/articles", [401, 403, 403, 201, 201]),
        row(Method::GET, "/v1/kb/articles", [200, 200, 200, 200, 200]),
        row(
            Method::GET,
            "/v1/kb/articles/{slug}",
            [200, 200, 200, 200, 200],
        ),
        row(
            Method::PATCH,
            "/v1/kb/articles/{slug}",
            [401, 403, 403, 200, 200],
        ),
        row(
            Method::DELETE,
            "/v1/kb/articles/{slug}",
            [401, 403, 403, 204, 204],
        ),
        row(
            Method::GET,
            "/v1/kb/articles/{slug}/revisions",
            [401, 403, 403, 200, 200],
        ),
        row(
            Method::GET,
            "/v1/kb/articles/{slug}/revisions/{n}",
            [401, 403, 403, 200, 200],
        ),
        row(
            Method::POST,
            "/v1/kb/articles/{slug}/revisions/{n}/restore",
            [401, 403, 403, 200, 200],
        ),
        row(
            Method::POST,
            "/v1/kb/articles/{slug}/feedback",
            [200, 200, 200, 200, 200],
        ),
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
    /// A 30-day license of `user`'s, with many seats.
    license_id: String,
    license_key: String,
    /// A license of `user`'s for the status-changing rows.
    status_license_id: String,
    /// Seats of `license_id`, one per caller who may free one.
    seat_for_user: String,
    seat_for_admin: String,
    /// A support ticket of `user`'s.
    ticket_id: String,
    /// An unpaid payment of `user`'s.
    payment_id: String,
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
fn call(row: &Row, cast: &Cast, caller: &str, attempt: usize) -> (String, Option<Value>) {
    let license = &cast.license_id;
    let status_license = &cast.status_license_id;
    match row.template {
        "/v1/products" if row.method == Method::POST => (
            row.template.into(),
            Some(
                json!({"sku": format!("sku-{attempt}"), "name": "P", "price": 100, "currency": "EUR", "max_activations": 1}),
            ),
        ),
        "/v1/products/{sku}" => (
            "/v1/products/matrix-pro".into(),
            (row.method == Method::PATCH).then(|| json!({"name": "Renamed"})),
        ),
        "/v1/licenses" if row.method == Method::POST => (
            row.template.into(),
            Some(json!({"user_id": cast.user.id, "product": "matrix-pro"})),
        ),
        "/v1/licenses/activate" => (
            row.template.into(),
            Some(json!({"key": cast.license_key, "fingerprint": format!("matrix-{attempt}")})),
        ),
        "/v1/licenses/deactivate" => (
            row.template.into(),
            Some(json!({"key": cast.license_key, "fingerprint": "never-activated"})),
        ),
        "/v1/licenses/validate" => (row.template.into(), Some(json!({"key": cast.license_key}))),
        "/v1/licenses/{id}" => (format!("/v1/licenses/{license}"), None),
        "/v1/licenses/{id}/renew" => (
            format!("/v1/licenses/{license}/renew"),
            Some(json!({"days": 1})),
        ),
        "/v1/licenses/{id}/suspend" | "/v1/licenses/{id}/revoke" => (
            row.template.replace("{id}", status_license),
            Some(json!({"reason": "matrix"})),
        ),
        "/v1/licenses/{id}/reinstate" => (row.template.replace("{id}", status_license), None),
        "/v1/licenses/{id}/events" | "/v1/licenses/{id}/activations" => {
            (row.template.replace("{id}", license), None)
        }
        "/v1/licenses/{id}/activations/{activation_id}" => {
            let seat = if caller == "admin" {
                &cast.seat_for_admin
            } else {
                &cast.seat_for_user
            };
            (format!("/v1/licenses/{license}/activations/{seat}"), None)
        }
        "/v1/extensions" if row.method == Method::POST => (
            row.template.into(),
            Some(
                json!({"name": format!("matrix-by-{}", caller.replace('_', "-")), "display_name": "New", "description": "New", "category": "other"}),
            ),
        ),
        "/v1/extensions/{name}" => (
            row.template.replace("{name}", "matrix-ext"),
            (row.method == Method::PATCH)
                .then(|| json!({"display_name": format!("Matrix {attempt}")})),
        ),
        "/v1/extensions/{name}/versions" => (
            format!("/v1/extensions/matrix-ext/versions?version=5.0.{attempt}"),
            None,
        ),
        "/v1/extensions/{name}/versions/{version}/yank"
        | "/v1/extensions/{name}/versions/{version}/unyank" => (
            row.template
                .replace("{name}", "matrix-ext")
                .replace("{version}", "1.0.1"),
            None,
        ),
        "/v1/extensions/{name}/versions/{version}/approve" => (
            row.template
                .replace("{name}", "matrix-ext")
                .replace("{version}", "2.0.0"),
            None,
        ),
        "/v1/extensions/{name}/versions/{version}/reject" => (
            row.template
                .replace("{name}", "matrix-ext")
                .replace("{version}", "3.0.0"),
            Some(json!({"reason": "matrix"})),
        ),
        "/v1/extensions/{name}/versions/{version}/download" => (
            row.template
                .replace("{name}", "matrix-ext")
                .replace("{version}", "1.0.0"),
            None,
        ),
        "/v1/extensions/{name}/reviews" => (
            row.template.replace("{name}", "matrix-ext"),
            matches!(row.method, Method::POST | Method::PUT).then(|| json!({"rating": 4})),
        ),
        "/v1/extensions/{name}/latest/download" | "/v1/extensions/{name}/stats" => {
            (row.template.replace("{name}", "matrix-ext"), None)
        }
        "/v1/payments" if row.method == Method::POST => {
            (row.template.into(), Some(json!({"product": "matrix-pro"})))
        }
        "/v1/payments/{id}" | "/v1/payments/{id}/confirm" => {
            (row.template.replace("{id}", &cast.payment_id), None)
        }
        "/v1/payments/{id}/refunds" => (
            row.template.replace("{id}", &cast.payment_id),
            Some(json!({})),
        ),
        "/v1/webhooks/stripe" => (row.template.into(), Some(json!({"id": "evt_1"}))),
        "/v1/support/tickets" if row.method == Method::POST => (
            row.template.into(),
            Some(json!({"subject": "Matrix", "body": "Hello", "category": "other"})),
        ),
        "/v1/support/tickets/{id}" => (
            row.template.replace("{id}", &cast.ticket_id),
            (row.method == Method::PATCH).then(|| json!({"priority": "high"})),
        ),
        "/v1/support/tickets/{id}/assign" => (
            row.template.replace("{id}", &cast.ticket_id),
            Some(json!({"assignee_id": cast.support.id})),
        ),
        "/v1/support/tickets/{id}/messages" => (
            row.template.replace("{id}", &cast.ticket_id),
            (row.method == Method::POST).then(|| json!({"body": "A reply"})),
        ),
        "/v1/support/tickets/{id}/events" => (row.template.replace("{id}", &cast.ticket_id), None),
        "/v1/kb/articles" if row.method == Method::POST => (
            row.template.into(),
            Some(
                json!({"slug": format!("article-{attempt}"), "title": "T", "body": "B", "category": "misc"}),
            ),
        ),
        "/v1/kb/articles/{slug}" => {
            let slug = if row.method == Method::DELETE {
                "matrix-archive"
            } else {
                "matrix-guide"
            };
            (
                row.template.replace("{slug}", slug),
                (row.method == Method::PATCH).then(|| json!({"title": format!("Guide {attempt}")})),
            )
        }
        "/v1/kb/articles/{slug}/revisions" => {
            (row.template.replace("{slug}", "matrix-guide"), None)
        }
        "/v1/kb/articles/{slug}/revisions/{n}" | "/v1/kb/articles/{slug}/revisions/{n}/restore" => {
            (
                row.template
                    .replace("{slug}", "matrix-guide")
                    .replace("{n}", "1"),
                None,
            )
        }
        "/v1/kb/articles/{slug}/feedback" => (
            row.template.replace("{slug}", "matrix-guide"),
            Some(json!({"helpful": true})),
        ),
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

/// `matrix-ext` of `user`'s: 1.0.0 and 1.0.1 public, 2.0.0 and 3.0.0 pending.
async fn marketplace(app: &TestApp, user: &Account, admin: &Account) {
    let extension = json!({"name": "matrix-ext", "display_name": "Matrix", "description": "Matrix", "category": "other"});
    assert_eq!(
        app.post("/v1/extensions", extension, Some(&user.token))
            .await
            .status(),
        201
    );
    for version in ["1.0.0", "1.0.1", "2.0.0", "3.0.0"] {
        let upload = app
            .request(
                Method::POST,
                &format!("/v1/extensions/matrix-ext/versions?version={version}"),
                Some(&user.token),
            )
            .header("content-type", "application/octet-stream")
            .body(b"package".to_vec())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(upload.status(), 201, "uploading {version}");
    }
    for version in ["1.0.0", "1.0.1"] {
        let path = format!("/v1/extensions/matrix-ext/versions/{version}/approve");
        assert_eq!(
            app.post(&path, json!({}), Some(&admin.token))
                .await
                .status(),
            200
        );
    }
}

async fn cast(app: &TestApp) -> Cast {
    let user = app.register("user@example.com").await;
    let admin = app
        .account_with_role("admin@example.com", Role::Admin)
        .await;
    let token = Some(admin.token.as_str());
    let product = json!({"sku": "matrix-pro", "name": "Matrix", "price": 100, "currency": "EUR",
        "license_duration_days": 30, "max_activations": 100});
    assert_eq!(app.post("/v1/products", product, token).await.status(), 201);
    let issue = json!({"user_id": user.id, "product": "matrix-pro"});
    let license = json(app.post("/v1/licenses", issue.clone(), token).await).await;
    let status_license = json(app.post("/v1/licenses", issue, token).await).await;
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let key = text(&license["key"]);
    let mut seats = Vec::new();
    for fingerprint in ["seat-user", "seat-admin"] {
        let body = json!({"key": key, "fingerprint": fingerprint});
        let seat = json(app.post("/v1/licenses/activate", body, None).await).await;
        seats.push(text(&seat["activation"]["id"]));
    }
    let support = app
        .account_with_role("support@example.com", Role::Support)
        .await;
    let ticket = json!({"subject": "Matrix ticket", "body": "Help", "category": "technical"});
    let ticket = json(
        app.post("/v1/support/tickets", ticket, Some(&user.token))
            .await,
    )
    .await;
    for slug in ["matrix-guide", "matrix-archive"] {
        let article = json!({"slug": slug, "title": "Guide", "body": "How to", "category": "misc", "status": "published"});
        let created = app
            .post("/v1/kb/articles", article, Some(&support.token))
            .await;
        assert_eq!(created.status(), 201);
    }
    marketplace(app, &user, &admin).await;
    let payment = app
        .request(Method::POST, "/v1/payments", Some(&user.token))
        .header("idempotency-key", "matrix-payment")
        .json(&json!({"product": "matrix-pro"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(payment.status(), 201, "creating the matrix payment");
    let payment = json(payment).await;
    Cast {
        other_user: app.register("other@example.com").await,
        ticket_id: text(&ticket["id"]),
        payment_id: text(&payment["id"]),
        support,
        license_id: text(&license["id"]),
        license_key: key,
        status_license_id: text(&status_license["id"]),
        seat_for_user: seats[0].clone(),
        seat_for_admin: seats[1].clone(),
        user,
        admin,
    }
}

/// Payments need Stripe: the matrix runs against a fake one (see `devforge_tests::stripe`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_caller_as_the_matrix_says() {
    for backend in backends() {
        let Some((app, _stripe)) = TestApp::spawn_with_stripe(backend).await else {
            return;
        };
        let cast = cast(&app).await;
        let mut failures = Vec::new();
        let mut attempt = 0;
        for row in rows() {
            for (caller, expected) in CALLERS.iter().zip(row.expected) {
                attempt += 1;
                let (path, body) = call(&row, &cast, caller, attempt);
                let mut request = app
                    .request(row.method.clone(), &path, cast.token(caller))
                    .header("idempotency-key", format!("matrix-{attempt}"));
                if row.template.ends_with("/versions") {
                    request = request
                        .header("content-type", "application/octet-stream")
                        .body(b"package".to_vec());
                } else if let Some(body) = body {
                    request = request.json(&body);
                }
                let response = request.send().await.unwrap_or_else(|e| panic!("{e}"));
                let status = response.status().as_u16();
                if status != expected {
                    failures.push(format!(
                        "{} {path} as {caller}: got {status}, want {expected}",
                        row.method
                    ));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "role matrix mismatches:\n{}",
            failures.join("\n")
        );
        app.shutdown().await;
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
