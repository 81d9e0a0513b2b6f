//! Malformed input of every kind gets a 4xx problem, never a 500.

use devforge_domain::Role;
use devforge_tests::{assert_problem, on_every_backend};
use reqwest::Method;
use serde_json::json;

const BODY_ROUTES: [&str; 4] = [
    "/v1/auth/register",
    "/v1/auth/login",
    "/v1/auth/refresh",
    "/v1/auth/logout",
];

on_every_backend! {
    async fn malformed_json_is_a_400(app) {
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        let patch = format!("/v1/admin/users/{}", admin.id);
        for (method, path) in BODY_ROUTES.iter().map(|p| (Method::POST, p.to_string())).chain([(Method::PATCH, patch)]) {
            let response = app
                .request(method, &path, Some(&admin.token))
                .header("content-type", "application/json")
                .body("{not json")
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_problem(response, 400, "malformed_json").await;
        }
    }
}

on_every_backend! {
    async fn wrong_types_missing_and_unknown_fields_are_422(app) {
        for path in BODY_ROUTES {
            for body in [json!({"email": 5, "password": [], "refresh_token": 1}), json!({}), json!([1, 2])] {
                let response = app.post(path, body.clone(), None).await;
                assert_problem(response, 422, "invalid_body").await;
            }
        }
        let extra = app
            .post("/v1/auth/login", json!({"email": "a@example.com", "password": "x", "admin": true}), None)
            .await;
        let problem = assert_problem(extra, 422, "invalid_body").await;
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("unknown field")), "{problem}");
    }
}

on_every_backend! {
    async fn an_unknown_role_or_non_boolean_flag_is_422(app) {
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        let user = app.register("ada@example.com").await;
        let path = format!("/v1/admin/users/{}", user.id);
        assert_problem(app.patch(&path, json!({"role": "root"}), Some(&admin.token)).await, 422, "invalid_body").await;
        assert_problem(app.patch(&path, json!({"disabled": "yes"}), Some(&admin.token)).await, 422, "invalid_body").await;
    }
}

on_every_backend! {
    async fn invalid_values_name_their_field(app) {
        let cases = [
            (json!({"email": "", "password": "correct horse battery staple 42"}), "email"),
            (json!({"email": "not-an-email", "password": "correct horse battery staple 42"}), "email"),
            (json!({"email": "ada@example.com", "password": ""}), "password"),
            (json!({"email": "ada@example.com", "password": "correct horse battery staple 42", "name": "n".repeat(101)}), "name"),
        ];
        for (body, field) in cases {
            let response = app.post("/v1/auth/register", body.clone(), None).await;
            let problem = assert_problem(response, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{body}");
            assert!(problem["errors"][0]["message"].is_string());
        }
        let login = app.post("/v1/auth/login", json!({"email": "nope", "password": "whatever"}), None).await;
        assert_problem(login, 422, "validation_failed").await;
    }
}

on_every_backend! {
    async fn an_oversized_body_is_413_and_a_non_json_body_is_415(app) {
        let huge = json!({"email": "a".repeat(1024 * 1024 + 1), "password": "x"});
        assert_problem(app.post("/v1/auth/login", huge, None).await, 413, "payload_too_large").await;
        let text = app
            .request(Method::POST, "/v1/auth/login", None)
            .header("content-type", "text/plain")
            .body("email=a")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_problem(text, 415, "unsupported_media_type").await;
    }
}

on_every_backend! {
    async fn bad_path_ids_and_queries_are_4xx(app) {
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        let token = Some(admin.token.as_str());
        assert_problem(app.patch("/v1/admin/users/not-a-uuid", json!({}), token).await, 400, "invalid_path").await;
        assert_problem(app.get("/v1/admin/users?per_page=abc", token).await, 400, "invalid_query").await;
        assert_problem(app.get("/v1/admin/users?role=root", token).await, 400, "invalid_query").await;
        assert_problem(app.get("/v1/admin/users?sort=evil", token).await, 400, "invalid_query").await;
        let zero = assert_problem(app.get("/v1/admin/users?page=0", token).await, 422, "validation_failed").await;
        assert_eq!(zero["errors"][0]["field"], "page");
        let large = assert_problem(app.get("/v1/admin/audit?per_page=101", token).await, 422, "validation_failed").await;
        assert_eq!(large["errors"][0]["field"], "per_page");
        assert_problem(app.get("/v1/admin/users?email=", token).await, 422, "validation_failed").await;
    }
}

/// Sends `head` (a request line and headers, without the closing blank line) and returns
/// the status line and whatever followed before the server closed or went quiet.
async fn raw_request(addr: std::net::SocketAddr, head: &[u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(head)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(b"Connection: close\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the server answers and closes");
    String::from_utf8_lossy(&answer).into_owned()
}

on_every_backend! {
    async fn overlong_targets_and_broken_heads_are_refused_before_any_route(app) {
        let long = format!("/v1/extensions?q={}", "a".repeat(9_000));
        let refused = assert_problem(app.get(&long, None).await, 414, "uri_too_long").await;
        assert!(refused["detail"].as_str().is_some_and(|d| d.contains("8192")), "{refused}");
        let just_fits = format!("/health/live?padding={}", "a".repeat(8_000));
        assert_eq!(app.get(&just_fits, None).await.status(), 200);

        // Beyond what the HTTP layer can represent (64 KiB), or with a byte no header may
        // hold, it answers a bare 400 itself and closes the connection: never a 500.
        let huge = format!("GET /v1/extensions?q={} HTTP/1.1\r\nHost: x\r\n", "a".repeat(100_000));
        assert!(raw_request(app.addr(), huge.as_bytes()).await.starts_with("HTTP/1.1 400"));
        let control = b"GET /v1/extensions HTTP/1.1\r\nHost: x\r\nX-Bad: a\x7fb\r\n";
        assert!(raw_request(app.addr(), control).await.starts_with("HTTP/1.1 400"));
        assert_eq!(app.get("/health/live", None).await.status(), 200, "and serves on");
    }
}

on_every_backend! {
    async fn unknown_routes_and_methods_are_problems_too(app) {
        assert_problem(app.get("/v1/nothing-here", None).await, 404, "not_found").await;
        // A path that exists, with a method it does not take.
        assert_problem(app.get("/v1/auth/register", None).await, 405, "method_not_allowed").await;
        assert_problem(app.send(Method::DELETE, "/v1/auth/me", None, None).await, 405, "method_not_allowed").await;
    }
}

on_every_backend! {
    async fn huge_pages_and_control_characters_are_422_not_500(app) {
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        let token = Some(admin.token.as_str());
        let huge = app.get("/v1/admin/users?page=100000000000000000&per_page=100", token).await;
        let problem = assert_problem(huge, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "page");
        assert_problem(app.get("/v1/admin/users?email=a%00b", token).await, 422, "validation_failed").await;
        let nul_name = app
            .post("/v1/auth/register", json!({"email": "ada@example.com", "password": "correct horse battery staple 42", "name": "a\u{0}b"}), None)
            .await;
        let problem = assert_problem(nul_name, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "name");
        let long_but_few_chars = app
            .post("/v1/auth/register", json!({"email": "kim@example.com", "password": "correct horse battery staple 42", "name": "名".repeat(60)}), None)
            .await;
        assert_eq!(long_but_few_chars.status(), 201, "names are limited in characters, not bytes");
    }
}

on_every_backend! {
    async fn anonymous_callers_are_refused_before_any_validation(app) {
        let bad_id = app.patch("/v1/admin/users/not-a-uuid", json!({"role": "root"}), None).await;
        assert_problem(bad_id, 401, "unauthenticated").await;
        let user = app.register("ada@example.com").await;
        let bad_query = app.get("/v1/admin/users?page=0", Some(&user.token)).await;
        assert_problem(bad_query, 403, "forbidden").await;
    }
}

on_every_backend! {
    async fn support_input_is_checked_field_by_field(app) {
        let customer = app.register("customer@example.com").await;
        let token = Some(customer.token.as_str());
        let ticket = |subject: &str, body: &str, category: &str| {
            json!({"subject": subject, "body": body, "category": category})
        };
        for (request, field) in [
            (ticket("", "body", "billing"), "subject"),
            (ticket("   ", "body", "billing"), "subject"),
            (ticket(&"s".repeat(201), "body", "billing"), "subject"),
            (ticket("Subject", &"b".repeat(20_001), "billing"), "body"),
            (ticket("Subject", "nul \u{0} inside", "billing"), "body"),
        ] {
            let response = app.post("/v1/support/tickets", request, token).await;
            let problem = assert_problem(response, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        let unknown = app.post("/v1/support/tickets", ticket("Subject", "body", "sales"), token).await;
        assert_problem(unknown, 422, "invalid_body").await;
        let huge = app.post("/v1/support/tickets", ticket("Subject", &"b".repeat(2 * 1024 * 1024), "billing"), token).await;
        assert_problem(huge, 413, "payload_too_large").await;
        let not_mine = app.post("/v1/support/tickets", json!({"subject": "S", "body": "B", "category": "licensing", "license_id": uuid::Uuid::nil()}), token).await;
        let problem = assert_problem(not_mine, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "license_id");

        let created = app.post("/v1/support/tickets", ticket("Subject", "body", "billing"), token).await;
        let id = devforge_tests::json(created).await["id"].as_str().unwrap_or_default().to_owned();
        let path = format!("/v1/support/tickets/{id}");
        assert_problem(app.patch(&path, json!({"status": "pending"}), token).await, 422, "invalid_body").await;
        assert_problem(app.patch(&path, json!({"status": 3}), token).await, 422, "invalid_body").await;
        let empty_reply = app.post(&format!("{path}/messages"), json!({"body": " "}), token).await;
        assert_problem(empty_reply, 422, "validation_failed").await;
        assert_problem(app.get("/v1/support/tickets?status=pending", token).await, 400, "invalid_query").await;
        assert_problem(app.get("/v1/support/tickets?sort=random", token).await, 400, "invalid_query").await;
        assert_problem(app.get("/v1/support/tickets/not-a-uuid", token).await, 404, "not_found").await;
        assert_problem(app.get(&format!("/v1/support/tickets?q={}", "q".repeat(201)), token).await, 422, "validation_failed").await;
    }
}
