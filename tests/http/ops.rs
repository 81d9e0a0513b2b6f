//! Health, metrics, OpenAPI, docs, request ids, security headers and CORS.

use devforge_tests::{TestApp, assert_problem, json, on_every_backend};
use reqwest::Method;

fn header<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

on_every_backend! {
    async fn health_reports_live_and_ready_then_503_when_the_database_is_gone(app) {
        let live = app.get("/health/live", None).await;
        assert_eq!(live.status(), 200);
        assert_eq!(json(live).await["status"], "ok");
        assert_eq!(app.get("/health/ready", None).await.status(), 200);

        app.close_database().await;
        let ready = app.get("/health/ready", None).await;
        assert!(header(&ready, "retry-after").is_some(), "503 without Retry-After");
        assert_problem(ready, 503, "database_unavailable").await;
        let login = serde_json::json!({"email": "someone@example.com", "password": "a password 123"});
        let refused = app.post("/v1/auth/login", login, None).await;
        assert!(header(&refused, "retry-after").is_some(), "503 without Retry-After");
        assert_problem(refused, 503, "database_unavailable").await;
        assert_eq!(app.get("/health/live", None).await.status(), 200);
    }
}

on_every_backend! {
    async fn metrics_count_requests_by_route_template(app) {
        let path = format!("/v1/admin/users/{}", uuid::Uuid::new_v4());
        app.send(Method::PATCH, &path, None, None).await;
        app.get("/v1/auth/me", None).await;
        let text = app.get("/metrics", None).await.text().await.unwrap_or_default();
        assert!(
            text.contains(r#"http_requests_total{method="PATCH",route="/v1/admin/users/{id}",status="401"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"http_requests_total{method="GET",route="/v1/auth/me",status="401"} 1"#));
        assert!(text.contains("http_request_duration_seconds_bucket"));
        assert!(text.contains(r#"db_pool_connections{state="idle"}"#));
    }
}

on_every_backend! {
    async fn the_openapi_document_describes_every_route_with_errors(app) {
        let spec = json(app.get("/openapi.json", None).await).await;
        assert_eq!(spec["openapi"], "3.1.0");
        assert_eq!(spec["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        assert!(spec["components"]["schemas"]["Problem"].is_object());
        let paths = spec["paths"].as_object().cloned().unwrap_or_default();
        for path in ["/v1/auth/register", "/v1/auth/login", "/v1/auth/refresh", "/v1/auth/logout",
            "/v1/auth/me", "/v1/admin/users", "/v1/admin/users/{id}", "/v1/admin/stats",
            "/v1/admin/audit", "/health/live", "/health/ready", "/metrics"] {
            assert!(paths.contains_key(path), "{path} missing from the OpenAPI document");
        }
        let register = &spec["paths"]["/v1/auth/register"]["post"];
        assert!(register["requestBody"].is_object());
        assert!(register["responses"]["409"]["content"]["application/problem+json"].is_object());
    }
}

on_every_backend! {
    async fn the_docs_page_is_served_without_external_resources(app) {
        let page = app.get("/docs/", None).await;
        assert_eq!(page.status(), 200);
        let csp = header(&page, "content-security-policy").unwrap_or_default().to_owned();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        let html = page.text().await.unwrap_or_default();
        assert!(html.contains("swagger"), "{html}");
        assert!(!html.contains("https://") && !html.contains("http://"), "no CDN: {html}");
    }
}

on_every_backend! {
    async fn request_ids_are_kept_when_sane_and_generated_otherwise(app) {
        let kept = app.request(Method::GET, "/health/live", None).header("x-request-id", "trace-42.a:b").send().await;
        let kept = kept.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header(&kept, "x-request-id"), Some("trace-42.a:b"));

        let replaced = app.request(Method::GET, "/health/live", None).header("x-request-id", "bad id\twith spaces").send().await;
        let replaced = replaced.unwrap_or_else(|e| panic!("{e}"));
        let id = header(&replaced, "x-request-id").unwrap_or_default();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");

        let error = app.get("/nowhere", None).await;
        assert!(header(&error, "x-request-id").is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()));
    }
}

on_every_backend! {
    async fn security_headers_are_on_every_response(app) {
        for path in ["/health/live", "/v1/auth/me", "/nowhere", "/openapi.json"] {
            let response = app.get(path, None).await;
            assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"), "{path}");
            assert_eq!(header(&response, "x-frame-options"), Some("DENY"), "{path}");
            assert_eq!(header(&response, "referrer-policy"), Some("no-referrer"), "{path}");
            assert_eq!(
                header(&response, "content-security-policy"),
                Some("default-src 'none'; frame-ancestors 'none'"),
                "{path}"
            );
        }
    }
}

on_every_backend! {
    async fn cors_allows_only_configured_origins(app) {
        let preflight = |origin: &'static str| {
            app.request(Method::OPTIONS, "/v1/auth/login", None)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type")
                .send()
        };
        let allowed = preflight("https://app.devforge.test").await.unwrap_or_else(|e| panic!("{e}"));
        assert!(allowed.status().is_success());
        assert_eq!(header(&allowed, "access-control-allow-origin"), Some("https://app.devforge.test"));

        let refused = preflight("https://evil.example").await.unwrap_or_else(|e| panic!("{e}"));
        assert!(refused.status().is_client_error());
        assert_eq!(header(&refused, "access-control-allow-origin"), None);
    }
}

/// Every `$ref` string anywhere in `value`.
fn references(value: &serde_json::Value, found: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner.as_str()) {
                    ("$ref", Some(target)) => found.push(target.to_owned()),
                    _ => references(inner, found),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

/// Path parameters are exactly the path's `{placeholders}`; everything else is a query or
/// header parameter, so a client puts each where the server reads it.
fn assert_parameters_fit_the_path(path: &str, id: &str, operation: &serde_json::Value) {
    let placeholders: Vec<&str> = path
        .split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
        .collect();
    let mut in_path = Vec::new();
    for parameter in operation["parameters"].as_array().into_iter().flatten() {
        let name = parameter["name"].as_str().unwrap_or_default();
        match parameter["in"].as_str() {
            Some("path") => {
                assert!(
                    placeholders.contains(&name),
                    "{id}: {name} is not in {path}"
                );
                in_path.push(name);
            }
            Some("query" | "header") => {}
            other => panic!("{id}: {name} in {other:?}"),
        }
    }
    for placeholder in placeholders {
        assert!(
            in_path.contains(&placeholder),
            "{id}: {{{placeholder}}} undescribed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_holds_together_and_names_every_operation() {
    let app = TestApp::spawn(devforge_tests::Backend::Sqlite).await;
    let spec = json(app.get("/openapi.json", None).await).await;

    // A generator or fuzzer can read every operation: each reference resolves.
    let mut refs = Vec::new();
    references(&spec, &mut refs);
    assert!(!refs.is_empty());
    for target in &refs {
        let (kind, name) = target
            .strip_prefix("#/components/")
            .and_then(|rest| rest.split_once('/'))
            .unwrap_or_else(|| panic!("{target}"));
        assert!(
            matches!(kind, "schemas" | "responses") && spec["components"][kind][name].is_object(),
            "{target} does not exist"
        );
    }
    assert!(
        refs.iter()
            .any(|r| r == "#/components/responses/NotLoggedIn"),
        "the shared problem responses are referred to"
    );

    // Every operation has a stable camelCase id, used once.
    let mut ids = Vec::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            let camel = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric());
            assert!(camel, "{method} {path}: {id}");
            ids.push(id.to_owned());
            assert_parameters_fit_the_path(path, id, operation);
            let responses = &operation["responses"];
            if operation["requestBody"].is_object() {
                for status in ["400", "413", "415", "422"] {
                    assert!(
                        responses[status].is_object(),
                        "{id}: no {status} for its body"
                    );
                }
            }
            if path.starts_with("/v1/") {
                assert!(responses["429"].is_object(), "{id}: no 429");
                let needs_database = id != "getLicensePublicKeys";
                assert_eq!(responses["503"].is_object(), needs_database, "{id}: 503");
            }
        }
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operation ids are unique");
    for expected in [
        "activateLicense",
        "validateLicense",
        "searchExtensions",
        "openTicket",
        "login",
    ] {
        assert!(ids.iter().any(|id| id == expected), "{expected} missing");
    }

    // What the server serves is the committed document the clients are generated from.
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../clients/openapi.json");
    let committed: serde_json::Value = std::fs::read_to_string(file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| panic!("{file} is missing or not JSON"));
    assert!(
        committed == spec,
        "the served document differs from clients/openapi.json: run `cargo xtask openapi`"
    );

    // `/docs` without the slash leads to the explorer.
    let bare = app.get("/docs", None).await;
    assert_eq!(bare.status(), 200, "followed to the explorer");
    assert!(bare.url().path().ends_with("/docs/"), "{}", bare.url());
    app.shutdown().await;
}
