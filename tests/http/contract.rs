//! What fuzzing the OpenAPI contract found, kept as regression tests: each case a request
//! the document allowed or described wrongly, and the answer it must now get.

use devforge_domain::Role;
use devforge_tests::{assert_problem, json, on_every_backend};
use reqwest::Method;
use serde_json::json;

on_every_backend! {
    async fn a_json_array_is_never_read_as_an_object_body(app) {
        // serde reads a struct from an array of its fields; `[null, null]` was a 200 that
        // changed nothing the caller could mean.
        let admin = app.account_with_role("root@example.com", Role::Admin).await;
        let user = app.register("someone@example.com").await;
        let path = format!("/v1/admin/users/{}", user.id);
        for body in [json!([null, null]), json!(["admin", true]), json!("user"), json!(7)] {
            let response = app.patch(&path, body.clone(), Some(&admin.token)).await;
            assert_problem(response, 422, "invalid_body").await;
        }
        let unchanged = json(app.get("/v1/admin/users?role=user", Some(&admin.token)).await).await;
        assert_eq!(unchanged["items"][0]["id"], user.id.as_str());
        assert_eq!(unchanged["items"][0]["disabled"], false);
    }
}

on_every_backend! {
    async fn a_known_path_asked_with_another_method_is_405_with_allow(app) {
        // `GET /v1/licenses/validate` was routed to `GET /v1/licenses/{id}` and answered 404.
        for (method, path, allow) in [
            (Method::GET, "/v1/licenses/validate", "POST"),
            (Method::GET, "/v1/licenses/activate", "POST"),
            (Method::PUT, "/v1/licenses/deactivate", "POST"),
            (Method::TRACE, "/health/live", "GET"),
            (Method::DELETE, "/v1/extensions", "GET, POST"),
        ] {
            let response = app
                .request(method.clone(), path, None)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let allowed = response
                .headers()
                .get("allow")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            assert_problem(response, 405, "method_not_allowed").await;
            assert_eq!(allowed, allow, "{method} {path}");
        }
        let nowhere = app.get("/v1/no-such-thing", None).await;
        assert_problem(nowhere, 404, "not_found").await;
        let not_an_id = app.get("/v1/licenses/not-a-license", None).await;
        assert_problem(not_an_id, 404, "not_found").await;
    }
}

on_every_backend! {
    async fn an_upload_target_always_fits_the_uri_limit(app) {
        // A changelog of 20,000 characters was schema-valid but could never fit the 8 KiB
        // target limit: the longest one allowed now does, even percent-encoded.
        let user = app.register("publisher@example.com").await;
        let extension = json!({"name": "forge-lint", "display_name": "Forge Lint",
            "description": "Lints", "category": "linters"});
        assert_eq!(app.post("/v1/extensions", extension, Some(&user.token)).await.status(), 201);
        let upload = |changelog: String| {
            let encoded: String = changelog
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect();
            app.request(
                Method::POST,
                &format!("/v1/extensions/forge-lint/versions?version=1.0.0&changelog={encoded}"),
                Some(&user.token),
            )
            .header("content-type", "application/octet-stream")
            .body(vec![1_u8; 64])
            .send()
        };
        let longest = upload("€".repeat(500)).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(longest.status(), 201);
        let longer = upload("x".repeat(501)).await.unwrap_or_else(|e| panic!("{e}"));
        assert_problem(longer, 422, "validation_failed").await;
    }
}
