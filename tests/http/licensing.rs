//! Products, licenses, activations, validation and certificates over HTTP.

use devforge_domain::Role;
use devforge_licensing::{PublicKey, verify_certificate};
use devforge_tests::{Account, TestApp, assert_problem, json, on_every_backend};
use futures_util::future::join_all;
use reqwest::Method;
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::{Value, json};

async fn product(app: &TestApp, admin: &Account, sku: &str, days: Option<u32>, seats: u32) {
    let body = json!({
        "sku": sku, "name": "Dev Forge Pro", "price": 9900, "currency": "eur",
        "license_duration_days": days, "max_activations": seats, "grace_days": 7,
        "entitlements": ["pro", "ext:rust-analyzer"],
    });
    let response = app.post("/v1/products", body, Some(&admin.token)).await;
    assert_eq!(response.status(), 201, "creating {sku}");
}

async fn issue(app: &TestApp, admin: &Account, owner: &Account, sku: &str) -> Value {
    let response = app
        .post(
            "/v1/licenses",
            json!({"user_id": owner.id, "product": sku}),
            Some(&admin.token),
        )
        .await;
    assert_eq!(response.status(), 201);
    json(response).await
}

pub(crate) async fn setup(
    app: &TestApp,
    days: Option<u32>,
    seats: u32,
) -> (Account, Account, Value) {
    let admin = app
        .account_with_role("admin@example.com", Role::Admin)
        .await;
    let owner = app.register("owner@example.com").await;
    product(app, &admin, "devforge-pro", days, seats).await;
    let license = issue(app, &admin, &owner, "devforge-pro").await;
    (admin, owner, license)
}

pub(crate) async fn jwks(app: &TestApp) -> Vec<PublicKey> {
    let set = json(app.get("/v1/licenses/public-key", None).await).await;
    set["keys"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|key| PublicKey {
            kid: key["kid"].as_str().unwrap_or_default().into(),
            x: key["x"].as_str().unwrap_or_default().into(),
        })
        .collect()
}

pub(crate) fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

on_every_backend! {
    async fn a_license_goes_from_issue_to_activation_validation_and_revocation(app) {
        let (admin, owner, issued) = setup(&app, Some(365), 3).await;
        let key = text(&issued["key"]);
        let id = text(&issued["id"]);
        assert!(key.starts_with("DF-") && key.len() == 32, "{key}");
        assert_eq!(issued["max_activations"], 3);
        assert_eq!(issued["entitlements"], json!(["ext:rust-analyzer", "pro"]));
        assert_eq!(issued["source"], format!("admin:{}", admin.id));

        let mine = json(app.get(&format!("/v1/licenses/{id}"), Some(&owner.token)).await).await;
        assert_eq!(mine["key"], key.as_str(), "the owner sees the key again");

        let body = json!({"key": key.to_lowercase().replace('-', ""), "fingerprint": "machine-1", "name": "Laptop", "platform": "linux"});
        let activated = app.post("/v1/licenses/activate", body.clone(), None).await;
        assert_eq!(activated.status(), 201);
        let activated = json(activated).await;
        assert_eq!(activated["license"]["activations_count"], 1);
        assert_eq!(activated["activation"]["name"], "Laptop");
        let claims = verify_certificate(&text(&activated["certificate"]), &jwks(&app).await, chrono::Utc::now(), Some("machine-1"));
        let claims = claims.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(claims.sub, id);
        assert_eq!(claims.product, "devforge-pro");

        let again = app.post("/v1/licenses/activate", body, None).await;
        assert_eq!(again.status(), 200, "activating the same machine again is idempotent");
        assert_eq!(json(again).await["activation"]["id"], activated["activation"]["id"]);

        let valid = json(app.post("/v1/licenses/validate", json!({"key": key, "fingerprint": "machine-1", "product": "devforge-pro"}), None).await).await;
        assert_eq!((valid["valid"].clone(), valid["code"].clone()), (json!(true), json!("VALID")));
        assert!(valid["certificate"].is_string());
        assert!(valid["license"].get("user_id").is_none() && valid["license"].get("source").is_none(),
            "a key holder sees the license, not its owner's account or payment: {valid}");
        let elsewhere = json(app.post("/v1/licenses/validate", json!({"key": key, "fingerprint": "machine-2"}), None).await).await;
        assert_eq!(elsewhere["code"], "NOT_ACTIVATED");
        assert_eq!(elsewhere["valid"], false);
        let mismatch = json(app.post("/v1/licenses/validate", json!({"key": key, "product": "devforge-team"}), None).await).await;
        assert_eq!(mismatch["code"], "PRODUCT_MISMATCH");

        let revoked = app.post(&format!("/v1/licenses/{id}/revoke"), json!({"reason": "chargeback"}), Some(&admin.token)).await;
        assert_eq!(json(revoked).await["status"], "revoked");
        let after = json(app.post("/v1/licenses/validate", json!({"key": key}), None).await).await;
        assert_eq!(after["code"], "REVOKED");
        assert!(after.get("certificate").is_none());
        let activate = app.post("/v1/licenses/activate", json!({"key": key, "fingerprint": "machine-3"}), None).await;
        assert_problem(activate, 403, "license_revoked").await;

        let events = json(app.get(&format!("/v1/licenses/{id}/events"), Some(&owner.token)).await).await;
        let kinds: Vec<String> = events["items"].as_array().into_iter().flatten().map(|e| text(&e["kind"])).collect();
        assert_eq!(kinds, ["issued", "activated", "revoked"]);
        assert_eq!(events["items"][2]["actor_id"], admin.id.as_str());
        assert_eq!(events["items"][1]["actor"], "key_holder");
    }
}

on_every_backend! {
    async fn fifty_parallel_activations_of_a_three_seat_license_take_exactly_three_seats(app) {
        let (admin, _owner, issued) = setup(&app, None, 3).await;
        let key = text(&issued["key"]);
        let requests = (0..50).map(|n| {
            app.post("/v1/licenses/activate", json!({"key": key, "fingerprint": format!("machine-{n}")}), None)
        });
        let statuses: Vec<u16> = join_all(requests).await.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 47, "{statuses:?}");
        let id = text(&issued["id"]);
        let license = json(app.get(&format!("/v1/licenses/{id}"), Some(&admin.token)).await).await;
        assert_eq!(license["activations_count"], 3);
        let seats = json(app.get(&format!("/v1/licenses/{id}/activations"), Some(&admin.token)).await).await;
        assert_eq!(seats["items"].as_array().map(Vec::len), Some(3));
    }
}

on_every_backend! {
    async fn an_unknown_key_reveals_nothing_and_a_mistyped_one_is_422(app) {
        let (_admin, _owner, issued) = setup(&app, None, 3).await;
        let unknown = devforge_licensing::LicenseKey::generate();
        let answer = app.post("/v1/licenses/validate", json!({"key": unknown.as_str()}), None).await;
        assert_eq!(answer.status(), 200);
        let answer = json(answer).await;
        assert_eq!(answer, json!({"valid": false, "code": "NOT_FOUND", "detail": "no license has this key"}));

        let key = text(&issued["key"]);
        let mut typo: Vec<char> = key.chars().collect();
        typo[5] = if typo[5] == 'Q' { 'R' } else { 'Q' };
        let typo: String = typo.into_iter().collect();
        let problem = assert_problem(app.post("/v1/licenses/validate", json!({"key": typo}), None).await, 422, "invalid_license_key").await;
        assert_eq!(problem["errors"][0]["field"], "key");
        assert_problem(app.post("/v1/licenses/activate", json!({"key": "DF-123", "fingerprint": "m"}), None).await, 422, "invalid_license_key").await;
    }
}

on_every_backend! {
    async fn keys_are_not_stored_in_plaintext(app) {
        let (_admin, _owner, issued) = setup(&app, None, 3).await;
        let key = text(&issued["key"]);
        let compact = key.replace('-', "");
        let db = app.state.database.connection();
        let rows = db
            .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT * FROM licenses"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 1);
        let dump = format!("{rows:?}");
        assert!(!dump.contains(&key) && !dump.contains(&compact[2..]), "a dump must not contain the key");
        assert!(!dump.to_lowercase().contains(&compact[2..].to_lowercase()));
    }
}

on_every_backend! {
    async fn self_service_deactivation_is_throttled_and_admins_are_not(app) {
        let (admin, owner, issued) = setup(&app, None, 1).await;
        let key = text(&issued["key"]);
        let id = text(&issued["id"]);
        for round in 0..3 {
            let fp = format!("m{round}");
            assert_eq!(app.post("/v1/licenses/activate", json!({"key": key, "fingerprint": fp}), None).await.status(), 201);
            let freed = app.post("/v1/licenses/deactivate", json!({"key": key, "fingerprint": fp}), None).await;
            assert_eq!(freed.status(), 204);
        }
        let seat = json(app.post("/v1/licenses/activate", json!({"key": key, "fingerprint": "m3"}), None).await).await;
        let throttled = app.post("/v1/licenses/deactivate", json!({"key": key, "fingerprint": "m3"}), None).await;
        assert_problem(throttled, 429, "deactivation_limit_reached").await;
        let path = format!("/v1/licenses/{id}/activations/{}", text(&seat["activation"]["id"]));
        assert_problem(app.send(Method::DELETE, &path, None, Some(&owner.token)).await, 429, "deactivation_limit_reached").await;
        assert_eq!(app.send(Method::DELETE, &path, None, Some(&admin.token)).await.status(), 204);
        assert_problem(app.send(Method::DELETE, &path, None, Some(&admin.token)).await, 404, "activation_not_found").await;
        let missing = app.post("/v1/licenses/deactivate", json!({"key": key, "fingerprint": "never"}), None).await;
        assert_problem(missing, 404, "activation_not_found").await;
    }
}

on_every_backend! {
    async fn suspension_renewal_and_reinstatement_work_through_the_api(app) {
        let (admin, owner, issued) = setup(&app, Some(30), 3).await;
        let id = text(&issued["id"]);
        let key = text(&issued["key"]);
        let token = Some(admin.token.as_str());
        let suspended = json(app.post(&format!("/v1/licenses/{id}/suspend"), json!({"reason": "dispute"}), token).await).await;
        assert_eq!((suspended["status"].clone(), suspended["revocation_reason"].clone()), (json!("suspended"), json!("dispute")));
        assert_eq!(json(app.post("/v1/licenses/validate", json!({"key": key}), None).await).await["code"], "SUSPENDED");
        assert_problem(app.post("/v1/licenses/activate", json!({"key": key, "fingerprint": "m"}), None).await, 403, "license_suspended").await;
        assert_problem(app.post(&format!("/v1/licenses/{id}/suspend"), json!({"reason": "again"}), token).await, 409, "invalid_transition").await;
        let reinstated = json(app.send(Method::POST, &format!("/v1/licenses/{id}/reinstate"), None, token).await).await;
        assert_eq!(reinstated["status"], "active");
        assert_eq!(reinstated["revocation_reason"], Value::Null);

        let before = chrono::DateTime::parse_from_rfc3339(&text(&issued["expires_at"])).unwrap_or_else(|e| panic!("{e}"));
        let renewed = json(app.post(&format!("/v1/licenses/{id}/renew"), json!({"days": 10}), token).await).await;
        let after = chrono::DateTime::parse_from_rfc3339(&text(&renewed["expires_at"])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(after - before, chrono::Duration::days(10));
        let default = json(app.post(&format!("/v1/licenses/{id}/renew"), json!({}), token).await).await;
        let later = chrono::DateTime::parse_from_rfc3339(&text(&default["expires_at"])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(later - after, chrono::Duration::days(30), "the product's duration by default");

        let listed = json(app.get("/v1/licenses?status=active", Some(&owner.token)).await).await;
        assert_eq!(listed["total"], 1);
        let none = json(app.get("/v1/licenses?status=revoked", Some(&owner.token)).await).await;
        assert_eq!(none["total"], 0);
    }
}

on_every_backend! {
    async fn licenses_are_private_to_their_owner_and_admins(app) {
        let (admin, owner, issued) = setup(&app, None, 3).await;
        let stranger = app.register("stranger@example.com").await;
        let id = text(&issued["id"]);
        for path in [format!("/v1/licenses/{id}"), format!("/v1/licenses/{id}/events"), format!("/v1/licenses/{id}/activations")] {
            assert_problem(app.get(&path, Some(&stranger.token)).await, 404, "license_not_found").await;
            assert_eq!(app.get(&path, Some(&owner.token)).await.status(), 200);
        }
        let theirs = json(app.get(&format!("/v1/licenses?user_id={}", owner.id), Some(&stranger.token)).await).await;
        assert_eq!(theirs["total"], 0, "a user_id filter never widens a non-admin's view");
        let all = json(app.get(&format!("/v1/licenses?user_id={}", owner.id), Some(&admin.token)).await).await;
        assert_eq!(all["total"], 1);
        assert!(all["items"][0].get("key").is_none(), "lists never carry keys");
    }
}

on_every_backend! {
    async fn the_catalogue_hides_inactive_products_from_the_public(app) {
        let admin = app.account_with_role("admin@example.com", Role::Admin).await;
        product(&app, &admin, "devforge-pro", Some(365), 3).await;
        product(&app, &admin, "devforge-legacy", None, 1).await;
        let hidden = app.patch("/v1/products/devforge-legacy", json!({"active": false, "price": 100}), Some(&admin.token)).await;
        let hidden = json(hidden).await;
        assert_eq!((hidden["active"].clone(), hidden["price"].clone(), hidden["currency"].clone()), (json!(false), json!(100), json!("EUR")));
        let public = json(app.get("/v1/products", None).await).await;
        assert_eq!(public["total"], 1);
        assert_eq!(public["items"][0]["sku"], "devforge-pro");
        assert_eq!(public["items"][0]["license_duration_days"], 365);
        assert_eq!(json(app.get("/v1/products", Some(&admin.token)).await).await["total"], 2);
        assert_problem(app.get("/v1/products/devforge-legacy", None).await, 404, "product_not_found").await;
        assert_eq!(app.get("/v1/products/devforge-legacy", Some(&admin.token)).await.status(), 200);
        let perpetual = json(app.patch("/v1/products/devforge-pro", json!({"license_duration_days": null}), Some(&admin.token)).await).await;
        assert_eq!(perpetual["license_duration_days"], Value::Null);
        let duplicate = app.post("/v1/products", json!({"sku": "devforge-pro", "name": "x", "price": 1, "currency": "EUR", "max_activations": 1}), Some(&admin.token)).await;
        assert_problem(duplicate, 409, "sku_taken").await;
    }
}

on_every_backend! {
    async fn licensing_bad_input_is_4xx(app) {
        let (admin, owner, issued) = setup(&app, Some(30), 3).await;
        let token = Some(admin.token.as_str());
        let id = text(&issued["id"]);
        let key = text(&issued["key"]);
        let cases: Vec<(&str, Value, u16, &str)> = vec![
            ("/v1/licenses", json!({"user_id": uuid::Uuid::new_v4(), "product": "devforge-pro"}), 422, "validation_failed"),
            ("/v1/licenses", json!({"user_id": owner.id, "product": "nothing-here"}), 422, "validation_failed"),
            ("/v1/licenses", json!({"user_id": owner.id, "product": "devforge-pro", "expires_at": "2001-01-01T00:00:00Z"}), 422, "validation_failed"),
            ("/v1/licenses", json!({"user_id": "not-a-uuid", "product": "devforge-pro"}), 422, "invalid_body"),
            ("/v1/licenses", json!({"user_id": owner.id, "product": "devforge-pro", "max_activations": -1}), 422, "invalid_body"),
            ("/v1/products", json!({"sku": "Bad Sku", "name": "x", "price": 1, "currency": "EUR", "max_activations": 1}), 422, "validation_failed"),
            ("/v1/products", json!({"sku": "good-sku", "name": "x", "price": -5, "currency": "EUR", "max_activations": 1}), 422, "validation_failed"),
            ("/v1/products", json!({"sku": "good-sku", "name": "x", "price": 5, "currency": "EURO", "max_activations": 1}), 422, "validation_failed"),
            ("/v1/products", json!({"sku": "good-sku", "name": "x", "price": 5, "currency": "EUR", "max_activations": 0}), 422, "validation_failed"),
            ("/v1/licenses/activate", json!({"key": key, "fingerprint": "   "}), 422, "validation_failed"),
            ("/v1/licenses/activate", json!({"key": key, "fingerprint": ""}), 422, "validation_failed"),
            ("/v1/licenses/validate", json!({"key": key, "product": "NOT A SKU"}), 422, "validation_failed"),
            ("/v1/licenses/validate", json!({"fingerprint": "m"}), 422, "invalid_body"),
        ];
        for (path, body, status, code) in cases {
            let response = app.post(path, body.clone(), token).await;
            assert_eq!(response.status().as_u16(), status, "{path} {body}");
            assert_problem(response, status, code).await;
        }
        assert_problem(app.post(&format!("/v1/licenses/{id}/renew"), json!({"days": -3}), token).await, 422, "invalid_body").await;
        assert_problem(app.post(&format!("/v1/licenses/{id}/renew"), json!({"days": 0}), token).await, 422, "validation_failed").await;
        assert_problem(app.post(&format!("/v1/licenses/{id}/revoke"), json!({"reason": ""}), token).await, 422, "validation_failed").await;
        assert_problem(app.get("/v1/licenses/not-a-uuid", token).await, 404, "not_found").await;
        assert_problem(app.get(&format!("/v1/licenses/{}", uuid::Uuid::new_v4()), token).await, 404, "license_not_found").await;
        assert_problem(app.get("/v1/licenses?status=expired", token).await, 400, "invalid_query").await;
        assert_problem(app.patch("/v1/products/devforge-pro", json!({"max_activations": 0}), token).await, 422, "validation_failed").await;
        assert_problem(app.patch("/v1/products/nothing-here", json!({"name": "x"}), token).await, 404, "product_not_found").await;
        let anonymous = app.post("/v1/licenses/not-a-uuid/renew", json!({"days": "x"}), None).await;
        assert_problem(anonymous, 401, "unauthenticated").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_another_instance_within_a_second() {
    for backend in devforge_tests::backends() {
        eprintln!("-- cross-instance revocation on {backend:?}");
        let first = TestApp::spawn(backend).await;
        let second = first.second_instance().await;
        // Let the second instance load its (empty) copy first, so the new license reaches it
        // through the change feed.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let (admin, _owner, issued) = setup(&first, None, 3).await;
        let key = text(&issued["key"]);
        let id = text(&issued["id"]);
        let validate = || second.post("/v1/licenses/validate", json!({"key": key}), None);
        assert_eq!(
            json(validate().await).await["code"],
            "VALID",
            "the second instance knows the license"
        );

        let revoked = first
            .post(
                &format!("/v1/licenses/{id}/revoke"),
                json!({"reason": "refunded"}),
                Some(&admin.token),
            )
            .await;
        assert_eq!(revoked.status(), 200);
        let revoked_at = std::time::Instant::now();
        // Whatever the second instance answers from now on, a second after the change it
        // must say REVOKED: the bound every cache in the path must keep.
        tokio::time::sleep(
            std::time::Duration::from_millis(1000).saturating_sub(revoked_at.elapsed()),
        )
        .await;
        for _ in 0..20 {
            assert_eq!(json(validate().await).await["code"], "REVOKED");
        }
        let fresh = json(
            first
                .post("/v1/licenses/validate", json!({"key": key}), None)
                .await,
        )
        .await;
        assert_eq!(
            fresh["code"], "REVOKED",
            "the instance that made the change answers at once"
        );
        second.shutdown().await;
        first.shutdown().await;
    }
}
