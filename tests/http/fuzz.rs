//! The contract, fuzzed: schemathesis generates requests from the served OpenAPI document
//! for every operation (its examples, coverage, fuzzing and stateful phases, the last one
//! following the document's links) against a server wired to the fake Stripe and seeded
//! with an admin, a user, a product, a license, an extension with a published version, a
//! ticket and an article. Every response is checked: never a 5xx, always the documented
//! status, content type, headers and schema, invalid input refused, auth never ignored.
//!
//! One check is off, `positive_data_acceptance` (a schema-valid request must succeed): the
//! document states lengths, ranges and enums exactly as the server enforces them, but not
//! every rule the domain has (an email's syntax, semver, a license key's check symbols, an
//! SKU's alphabet, "no control characters", references to things that exist), so a
//! schema-valid request may still get a 422 `validation_failed` problem, which every other
//! check still inspects.
//!
//! `DEVFORGE_FUZZ_EXAMPLES` (default 15 per operation and phase) and `DEVFORGE_FUZZ_SEED`
//! (default fixed, so CI runs are repeatable) tune a run.

use devforge_domain::Role;
use devforge_tests::{TestApp, backends, json, schemathesis};
use serde_json::json;

/// Schemathesis' own checks left out, each with the reason (see the module docs).
const CHECKS_OFF: &[(&str, &str)] = &[(
    "positive_data_acceptance",
    "domain rules beyond JSON Schema (syntax of emails, semver, keys, SKUs; existing references) answer 422",
)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_broken_contract() {
    for backend in backends() {
        eprintln!("-- fuzzing on {backend:?}");
        let Some((app, _stripe)) = TestApp::spawn_with_stripe(backend).await else {
            return;
        };
        let Some(mut command) = schemathesis::command().await else {
            return;
        };
        let admin = seed(&app).await;
        let examples = std::env::var("DEVFORGE_FUZZ_EXAMPLES").unwrap_or_else(|_| "15".into());
        let seed = std::env::var("DEVFORGE_FUZZ_SEED").unwrap_or_else(|_| "20261206".into());
        let excluded: Vec<&str> = CHECKS_OFF.iter().map(|(check, _)| *check).collect();
        command
            .arg("run")
            .arg(format!("{}/openapi.json", app.base_url))
            .args(["--header", &format!("Authorization: Bearer {admin}")])
            .args(["--checks", "all", "--exclude-checks", &excluded.join(",")])
            .args(["--phases", "examples,coverage,fuzzing,stateful"])
            .args(["--max-examples", &examples, "--seed", &seed])
            .args(["--generation-database", "none", "--request-timeout", "20"])
            .args(["--no-color", "--max-failures", "50"])
            .env("SCHEMATHESIS_TELEMETRY", "false");
        let report = schemathesis::run(command).await;
        eprintln!(
            "fuzzed {backend:?}: {} operations, {} test cases, {} failures",
            report.operations, report.cases, report.failures
        );
        assert!(
            report.passed && report.failures == 0,
            "schemathesis on {backend:?}:\n{}",
            report.output
        );
        assert!(report.operations >= 70, "{}", report.output);
        assert!(report.cases > 1000, "{}", report.output);
        app.shutdown().await;
    }
}

/// Something of every kind for the fuzzer to find and change; returns the admin's token.
async fn seed(app: &TestApp) -> String {
    let admin = app
        .account_with_role("fuzz-admin@devforge.test", Role::Admin)
        .await;
    let user = app.register("fuzz-user@devforge.test").await;
    let created = |what: &str, response: reqwest::Response| {
        assert!(
            response.status().is_success(),
            "seeding {what}: {}",
            response.status()
        );
        response
    };
    let product = json!({"sku": "forge-pro", "name": "Dev Forge Pro", "price": 9900,
        "currency": "EUR", "max_activations": 3, "entitlements": ["pro"]});
    created(
        "a product",
        app.post("/v1/products", product, Some(&admin.token)).await,
    );
    let license = json!({"user_id": user.id, "product": "forge-pro"});
    let license = json(created(
        "a license",
        app.post("/v1/licenses", license, Some(&admin.token)).await,
    ))
    .await;
    let key = license["key"].as_str().unwrap_or_default();
    let activation = json!({"key": key, "fingerprint": "fuzz-machine"});
    created(
        "an activation",
        app.post("/v1/licenses/activate", activation, None).await,
    );
    let extension = json!({"name": "forge-lint", "display_name": "Forge Lint",
        "description": "Lints as you type", "category": "linters", "tags": ["lint"]});
    created(
        "an extension",
        app.post("/v1/extensions", extension, Some(&user.token))
            .await,
    );
    let upload = app
        .request(
            reqwest::Method::POST,
            "/v1/extensions/forge-lint/versions?version=1.0.0",
            Some(&user.token),
        )
        .header("content-type", "application/octet-stream")
        .body(vec![7_u8; 2048])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    created("a version", upload);
    let approve = "/v1/extensions/forge-lint/versions/1.0.0/approve";
    created(
        "an approval",
        app.post(approve, json!({}), Some(&admin.token)).await,
    );
    let ticket = json!({"subject": "Activation fails", "body": "My key is refused.", "category": "licensing"});
    created(
        "a ticket",
        app.post("/v1/support/tickets", ticket, Some(&user.token))
            .await,
    );
    let article = json!({"slug": "offline-activation", "title": "Activating offline",
        "category": "licensing", "body": "Copy the certificate.", "status": "published"});
    created(
        "an article",
        app.post("/v1/kb/articles", article, Some(&admin.token))
            .await,
    );
    admin.token
}
