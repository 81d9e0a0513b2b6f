//! The marketplace over HTTP: the review queue and what it keeps out of sight, ranked
//! search with prefix matching (the same order on both databases), reviews whose average
//! stays exact under parallel edits, downloads counted exactly, paid extensions, and the
//! rules on names and versions.

use devforge_domain::Role;
use devforge_tests::{Account, TestApp, assert_problem, backends, json, on_every_backend};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub(crate) struct Market<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) owner: Account,
    pub(crate) admin: Account,
    pub(crate) user: Account,
}

pub(crate) async fn market(app: &TestApp) -> Market<'_> {
    Market {
        owner: app.register("owner@example.com").await,
        admin: app
            .account_with_role("admin@example.com", Role::Admin)
            .await,
        user: app.register("user@example.com").await,
        app,
    }
}

impl Market<'_> {
    pub(crate) async fn create(
        &self,
        who: &Account,
        name: &str,
        extra: Value,
    ) -> reqwest::Response {
        let mut body = json!({"name": name, "display_name": name, "description": format!("The {name} extension"), "category": "other"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.app
            .post("/v1/extensions", body, Some(&who.token))
            .await
    }

    pub(crate) async fn upload(
        &self,
        who: &Account,
        name: &str,
        version: &str,
        package: &[u8],
    ) -> reqwest::Response {
        self.app
            .request(Method::POST, &format!("/v1/extensions/{name}/versions?version={version}&changelog=Initial&engine=%3E%3D1.0"), Some(&who.token))
            .header("content-type", "application/octet-stream")
            .body(package.to_vec())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub(crate) async fn review_version(
        &self,
        name: &str,
        version: &str,
        verdict: &str,
    ) -> reqwest::Response {
        let body = (verdict == "reject").then(|| json!({"reason": "Missing license file"}));
        self.app
            .send(
                Method::POST,
                &format!("/v1/extensions/{name}/versions/{version}/{verdict}"),
                body,
                Some(&self.admin.token),
            )
            .await
    }

    /// An extension with one approved version.
    pub(crate) async fn publish(&self, name: &str, extra: Value) {
        assert_eq!(
            self.create(&self.owner, name, extra).await.status(),
            201,
            "creating {name}"
        );
        assert_eq!(
            self.upload(&self.owner, name, "1.0.0", name.as_bytes())
                .await
                .status(),
            201
        );
        assert_eq!(
            self.review_version(name, "1.0.0", "approve").await.status(),
            200
        );
    }

    pub(crate) async fn names(&self, query: &str) -> Vec<String> {
        let page = json(self.app.get(&format!("/v1/extensions?{query}"), None).await).await;
        page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["name"].as_str().map(str::to_owned))
            .collect()
    }

    pub(crate) async fn download(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.app.get(path, token).await
    }
}

on_every_backend! {
    async fn only_approved_unyanked_versions_are_public(app) {
        let m = market(&app).await;
        assert_eq!(m.create(&m.owner, "quiet-theme", json!({})).await.status(), 201);
        assert_eq!(m.app.get("/v1/extensions/quiet-theme", None).await.status(), 404, "nothing public yet");
        assert_eq!(m.app.get("/v1/extensions/quiet-theme", Some(&m.owner.token)).await.status(), 200, "its owner sees it");
        assert_eq!(m.upload(&m.owner, "quiet-theme", "1.0.0", b"v1").await.status(), 201);
        let pending = json(m.app.get("/v1/admin/extensions/pending", Some(&m.admin.token)).await).await;
        assert_eq!(pending["total"], 1);
        assert_eq!(pending["items"][0]["extension"]["name"], "quiet-theme");
        assert!(m.names("q=quiet").await.is_empty(), "pending never leaks into search");
        assert_problem(m.download("/v1/extensions/quiet-theme/versions/1.0.0/download", None).await, 404, "version_not_found").await;

        assert_eq!(m.review_version("quiet-theme", "1.0.0", "approve").await.status(), 200);
        assert_problem(m.review_version("quiet-theme", "1.0.0", "approve").await, 409, "wrong_state").await;
        assert_eq!(m.names("q=quiet").await, ["quiet-theme"]);
        for (version, verdict) in [("1.1.0", "reject"), ("1.2.0", "approve"), ("2.0.0-beta.1", "none")] {
            assert_eq!(m.upload(&m.owner, "quiet-theme", version, version.as_bytes()).await.status(), 201);
            if verdict != "none" {
                assert_eq!(m.review_version("quiet-theme", version, verdict).await.status(), 200);
            }
        }
        let public = json(m.app.get("/v1/extensions/quiet-theme", None).await).await;
        let listed: Vec<&str> = public["versions"].as_array().into_iter().flatten().filter_map(|v| v["version"].as_str()).collect();
        assert_eq!(listed, ["1.2.0", "1.0.0"], "rejected and pending versions stay hidden");
        assert_eq!(public["latest_version"], "1.2.0");
        let mine = json(m.app.get("/v1/me/extensions", Some(&m.owner.token)).await).await;
        let rejected = mine["items"][0]["versions"].as_array().into_iter().flatten().find(|v| v["version"] == "1.1.0").cloned().unwrap_or_default();
        assert_eq!((rejected["state"].clone(), rejected["reject_reason"].clone()), (json!("rejected"), json!("Missing license file")));
        assert_eq!(mine["items"][0]["review_state"], "public");

        let yank = m.app.post("/v1/extensions/quiet-theme/versions/1.2.0/yank", json!({}), Some(&m.owner.token)).await;
        assert_eq!(yank.status(), 200);
        assert_eq!(json(m.app.get("/v1/extensions/quiet-theme", None).await).await["latest_version"], "1.0.0", "a yanked version is never the latest");
        let pinned = m.download("/v1/extensions/quiet-theme/versions/1.2.0/download", None).await;
        assert_eq!(pinned.status(), 200, "still downloadable by exact version");
        assert_eq!(pinned.bytes().await.map(|b| b.to_vec()).unwrap_or_default(), b"1.2.0");
        let latest = m.download("/v1/extensions/quiet-theme/latest/download", None).await;
        assert_eq!(latest.bytes().await.map(|b| b.to_vec()).unwrap_or_default(), b"v1");
        let other = m.app.post("/v1/extensions/quiet-theme/versions/1.0.0/yank", json!({}), Some(&m.user.token)).await;
        assert_problem(other, 403, "forbidden").await;
        assert_eq!(m.app.post("/v1/extensions/quiet-theme/versions/1.0.0/yank", json!({}), Some(&m.admin.token)).await.status(), 200);
        assert_eq!(m.app.get("/v1/extensions/quiet-theme", None).await.status(), 404, "no public version left");
        assert!(m.names("q=quiet").await.is_empty());
        assert_eq!(m.app.post("/v1/extensions/quiet-theme/versions/1.2.0/unyank", json!({}), Some(&m.owner.token)).await.status(), 200);
        assert_eq!(json(m.app.get("/v1/extensions/quiet-theme", None).await).await["latest_version"], "1.2.0");
    }
}

on_every_backend! {
    async fn search_ranks_exact_names_then_name_matches_with_prefixes_and_filters(app) {
        let m = market(&app).await;
        m.publish("rust-analyzer", json!({"display_name": "Rust Analyzer", "category": "languages", "tags": ["rust", "lsp"], "description": "Language server for Rust"})).await;
        m.publish("rust-tools", json!({"display_name": "Rust Tools", "category": "languages", "tags": ["rust"], "description": "Runnables and inlay hints"})).await;
        m.publish("crate-helper", json!({"display_name": "Crate Helper", "category": "other", "tags": ["cargo"], "description": "Shows the latest version of every rust crate"})).await;
        m.publish("lint", json!({"display_name": "Lint", "category": "linters", "description": "A generic linter"})).await;
        m.publish("lint-everything", json!({"display_name": "Lint Everything", "category": "linters", "description": "Lints all the files"})).await;
        m.publish("dark-theme", json!({"display_name": "Dark Theme", "category": "themes", "tags": ["dark"], "description": "Easy on the eyes"})).await;
        for _ in 0..3 {
            assert_eq!(m.download("/v1/extensions/lint-everything/latest/download", None).await.status(), 200);
        }
        assert_eq!(m.download("/v1/extensions/rust-tools/latest/download", None).await.status(), 200);

        assert_eq!(m.names("q=rust-an").await, ["rust-analyzer"], "prefixes while typing (`an` is no stop word here; `and` in a description is)");
        assert_eq!(m.names("q=rust-ana").await, ["rust-analyzer"]);
        assert_eq!(m.names("q=lint").await, ["lint", "lint-everything"], "the exact name first, downloads notwithstanding");
        let rust = m.names("q=rust").await;
        assert_eq!(rust.len(), 3, "{rust:?}");
        assert_eq!(rust[2], "crate-helper", "a match in the description ranks below name matches: {rust:?}");
        assert_eq!(m.names("q=themes").await, ["dark-theme"], "stemmed");
        assert_eq!(m.names("q=rust&category=languages&sort=name").await, ["rust-analyzer", "rust-tools"]);
        assert_eq!(m.names("tag=lsp").await, ["rust-analyzer"]);
        assert_eq!(m.names("q=the+of").await, Vec::<String>::new());
        assert_eq!(m.app.get("/v1/extensions?q=rust%00", None).await.status(), 200, "a NUL is no name, and no 500");
        let counted = json(m.app.get("/v1/extensions?q=rust&category=languages&per_page=1", None).await).await;
        assert_eq!(counted["total"], 2, "{counted}");
        let by_downloads = m.names("sort=downloads").await;
        assert_eq!(&by_downloads[..2], ["lint-everything", "rust-tools"], "the default without q");
        assert_eq!(m.names("").await, by_downloads);
        assert_eq!(m.names("sort=name&per_page=2").await, ["crate-helper", "dark-theme"]);
        let newest = m.names("sort=newest").await;
        assert_eq!(newest.first().map(String::as_str), Some("dark-theme"));
        // Listings are answered from memory for a few seconds; changes show at once all the same.
        assert_eq!(m.names("sort=rating").await.first().map(String::as_str), Some("crate-helper"), "unrated: by name");
        let reviewed = m.app.post("/v1/extensions/rust-tools/reviews", json!({"rating": 5}), Some(&m.user.token)).await;
        assert_eq!(reviewed.status(), 201);
        assert_eq!(m.names("sort=rating").await.first().map(String::as_str), Some("rust-tools"), "a new rating shows at once");
        assert_eq!(m.names("q=eyes").await, ["dark-theme"]);
        let edit = json!({"description": "Midnight colours for long nights"});
        let edited = m.app.patch("/v1/extensions/dark-theme", edit, Some(&m.owner.token)).await;
        assert_eq!(edited.status(), 200);
        assert_eq!(m.names("q=midnight").await, ["dark-theme"], "search follows edits");
        assert!(m.names("q=eyes").await.is_empty(), "and forgets the old text");
        assert_eq!(m.names("category=languages&tag=rust").await, ["rust-tools", "rust-analyzer"]);
        assert!(m.names("category=themes&tag=rust").await.is_empty(), "a tag outside the category");
        let moved = m.app.patch("/v1/extensions/rust-tools", json!({"category": "other"}), Some(&m.owner.token)).await;
        assert_eq!(moved.status(), 200);
        assert_eq!(m.names("category=languages&tag=rust").await, ["rust-analyzer"], "tag filters follow a new category");
        assert_eq!(m.names("category=other&tag=rust").await, ["rust-tools"]);
        let retagged = m.app.patch("/v1/extensions/crate-helper", json!({"tags": ["cargo", "rust"]}), Some(&m.owner.token)).await;
        assert_eq!(retagged.status(), 200);
        assert_eq!(m.names("category=other&tag=rust&sort=name").await, ["crate-helper", "rust-tools"], "and new tags");
        let page = json(m.app.get("/v1/extensions?q=rust&per_page=1", None).await).await;
        assert_eq!((page["total"].clone(), page["per_page"].clone()), (json!(3), json!(1)));
        let item = &page["items"][0];
        for field in ["name", "display_name", "description", "category", "tags", "latest_version", "downloads", "rating_count", "paid"] {
            assert!(!item[field].is_null(), "{field} in {item}");
        }
    }
}

on_every_backend! {
    async fn names_that_look_like_someone_elses_are_refused(app) {
        let m = market(&app).await;
        assert_eq!(m.create(&m.owner, "rust-analyzer", json!({})).await.status(), 201);
        assert_problem(m.create(&m.user, "rust-analyzer", json!({})).await, 409, "name_taken").await;
        for squat in ["rustanalyzer", "rust-analyser", "rust-analyzers", "rst-analyzer"] {
            let problem = assert_problem(m.create(&m.user, squat, json!({})).await, 409, "name_too_similar").await;
            assert!(problem["detail"].as_str().is_some_and(|d| d.contains("rust-analyzer")), "{problem}");
        }
        assert_eq!(m.create(&m.user, "rust-analyzer-pro", json!({})).await.status(), 201);
        assert_eq!(m.create(&m.owner, "rust-analyzers", json!({})).await.status(), 201, "one's own look-alike is fine");
        assert_problem(m.create(&m.owner, "rust-analyzer", json!({})).await, 409, "name_taken").await;
    }
}

on_every_backend! {
    async fn reviews_are_one_per_user_and_the_average_stays_exact(app) {
        let m = market(&app).await;
        m.publish("good-ext", json!({})).await;
        let path = "/v1/extensions/good-ext/reviews";
        assert_problem(m.app.post(path, json!({"rating": 5}), Some(&m.owner.token)).await, 403, "forbidden").await;
        for bad in [0, 6] {
            assert_problem(m.app.post(path, json!({"rating": bad}), Some(&m.user.token)).await, 422, "validation_failed").await;
        }
        assert_eq!(m.app.post(path, json!({"rating": 2, "title": "Meh"}), Some(&m.user.token)).await.status(), 201);
        assert_problem(m.app.post(path, json!({"rating": 5}), Some(&m.user.token)).await, 409, "already_reviewed").await;

        let reviewers: Vec<Account> = join_all((0..8).map(|n| {
            let app = &m.app;
            async move { app.register(&format!("reviewer{n}@example.com")).await }
        }))
        .await;
        join_all(reviewers.iter().enumerate().map(|(n, r)| {
            let app = &m.app;
            async move { app.post(path, json!({"rating": 1 + n % 5}), Some(&r.token)).await.status() }
        }))
        .await;
        // Interleave edits, deletions and repeated creations.
        join_all(reviewers.iter().enumerate().flat_map(|(n, r)| {
            let app = &m.app;
            [
                Box::pin(async move { app.send(Method::PUT, path, Some(json!({"rating": 5 - n % 5})), Some(&r.token)).await.status() })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = reqwest::StatusCode> + Send>>,
                Box::pin(async move {
                    if n % 3 == 0 {
                        app.send(Method::DELETE, path, None, Some(&r.token)).await.status()
                    } else {
                        app.post(path, json!({"rating": 3}), Some(&r.token)).await.status()
                    }
                }),
            ]
        }))
        .await;
        let reviews = json(m.app.get(&format!("{path}?per_page=100"), None).await).await;
        let ratings: Vec<u64> = reviews["items"].as_array().into_iter().flatten().filter_map(|r| r["rating"].as_u64()).collect();
        let listing = json(m.app.get("/v1/extensions/good-ext", None).await).await;
        assert_eq!(listing["rating_count"], json!(ratings.len()), "{listing}");
        #[allow(clippy::cast_precision_loss)]
        let average = ratings.iter().sum::<u64>() as f64 / ratings.len() as f64;
        assert!((listing["rating_average"].as_f64().unwrap_or(-1.0) - average).abs() < 1e-9, "{listing} vs {ratings:?}");

        let edited = json(m.app.send(Method::PUT, path, Some(json!({"rating": 4})), Some(&m.user.token)).await).await;
        assert_eq!(edited["rating"], 4);
        let removed = m.app.send(Method::DELETE, &format!("{path}?author={}", m.user.id), None, Some(&m.admin.token)).await;
        assert_eq!(removed.status(), 204, "admins remove anyone's review");
        assert_problem(m.app.send(Method::DELETE, path, None, Some(&m.user.token)).await, 404, "review_not_found").await;
        let other = m.app.send(Method::DELETE, &format!("{path}?author={}", reviewers[1].id), None, Some(&m.user.token)).await;
        assert_problem(other, 403, "forbidden").await;
    }
}

on_every_backend! {
    async fn two_hundred_parallel_downloads_count_two_hundred(app) {
        let m = market(&app).await;
        let package: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(m.create(&m.owner, "busy-ext", json!({})).await.status(), 201);
        assert_eq!(m.upload(&m.owner, "busy-ext", "1.0.0", &package).await.status(), 201);
        assert_eq!(m.review_version("busy-ext", "1.0.0", "approve").await.status(), 200);
        let sha = hex::encode(Sha256::digest(&package));
        let first = m.download("/v1/extensions/busy-ext/versions/1.0.0/download", None).await;
        let header = |name: &str| first.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(header("content-length"), package.len().to_string());
        assert_eq!(header("content-type"), "application/octet-stream");
        assert_eq!(header("etag"), format!("\"{sha}\""));
        assert_eq!(header("x-checksum-sha256"), sha);
        assert!(header("digest").starts_with("sha-256="));
        assert_eq!(first.bytes().await.map(|b| b.to_vec()).unwrap_or_default(), package);
        let statuses = join_all((0..199).map(|_| {
            let m = &m;
            async move { m.download("/v1/extensions/busy-ext/latest/download", None).await.status().as_u16() }
        }))
        .await;
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
        let detail = json(m.app.get("/v1/extensions/busy-ext", None).await).await;
        assert_eq!(detail["downloads"], 200);
        assert_eq!(detail["versions"][0]["downloads"], 200);
        let stats = json(m.app.get("/v1/extensions/busy-ext/stats", Some(&m.owner.token)).await).await;
        assert_eq!(stats["total"], 200);
        assert_eq!(stats["daily"].as_array().map(Vec::len), Some(1));
        assert_eq!(stats["daily"][0]["downloads"], 200);
        assert_eq!(stats["per_version"][0], json!({"version": "1.0.0", "downloads": 200}));
        assert_problem(m.app.get("/v1/extensions/busy-ext/stats", Some(&m.user.token)).await, 403, "forbidden").await;
        let dashboard = json(m.app.get("/v1/admin/stats", Some(&m.admin.token)).await).await;
        assert_eq!(dashboard["marketplace"]["downloads"], 200);
        assert_eq!(dashboard["marketplace"]["public_extensions"], 1);
    }
}

on_every_backend! {
    async fn a_paid_extension_needs_a_license_with_its_entitlement(app) {
        let m = market(&app).await;
        m.publish("pro-tools", json!({"entitlement": "ext:pro-tools"})).await;
        let path = "/v1/extensions/pro-tools/latest/download";
        assert_problem(m.download(path, None).await, 403, "entitlement_required").await;
        assert_problem(m.download(path, Some(&m.user.token)).await, 403, "entitlement_required").await;
        let product = json!({"sku": "pro-tools-license", "name": "Pro Tools", "price": 500, "currency": "EUR",
            "license_duration_days": 30, "max_activations": 1, "entitlements": ["ext:pro-tools"]});
        assert_eq!(m.app.post("/v1/products", product, Some(&m.admin.token)).await.status(), 201);
        let issue = json!({"user_id": m.user.id, "product": "pro-tools-license"});
        let license = json(m.app.post("/v1/licenses", issue, Some(&m.admin.token)).await).await;
        assert_eq!(m.download(path, Some(&m.user.token)).await.status(), 200);
        let revoke = m.app.post(&format!("/v1/licenses/{}/revoke", license["id"].as_str().unwrap_or_default()), json!({"reason": "test"}), Some(&m.admin.token)).await;
        assert_eq!(revoke.status(), 200);
        assert_problem(m.download(path, Some(&m.user.token)).await, 403, "entitlement_required").await;
        let listed = json(m.app.get("/v1/extensions/pro-tools", None).await).await;
        assert_eq!((listed["paid"].clone(), listed["entitlement"].clone()), (json!(true), json!("ext:pro-tools")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_immutable_and_uploads_are_checked() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, |settings| settings.max_package_bytes = 1024).await;
        let m = market(&app).await;
        assert_eq!(
            m.create(&m.owner, "strict-ext", json!({})).await.status(),
            201
        );
        assert_eq!(
            m.upload(&m.owner, "strict-ext", "1.0.0", b"first")
                .await
                .status(),
            201
        );
        assert_problem(
            m.upload(&m.owner, "strict-ext", "1.0.0", b"second").await,
            409,
            "version_exists",
        )
        .await;
        for bad in ["1.0", "latest", "v1.0.0"] {
            assert_problem(
                m.upload(&m.owner, "strict-ext", bad, b"x").await,
                422,
                "validation_failed",
            )
            .await;
        }
        assert_problem(
            m.upload(&m.owner, "strict-ext", "1.1.0", &[0; 2048]).await,
            413,
            "payload_too_large",
        )
        .await;
        assert_problem(
            m.upload(&m.owner, "strict-ext", "1.1.0", b"").await,
            422,
            "validation_failed",
        )
        .await;
        assert_problem(
            m.upload(&m.owner, "strict-ext", "1.1.0%2Bbuild.1", b"x")
                .await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(
            m.upload(&m.owner, "strict-ext", "1.1.0", b"x")
                .await
                .status(),
            201
        );
        let nul = m
            .app
            .post(
                "/v1/extensions/strict-ext/versions/1.1.0/reject",
                json!({"reason": "bad\u{0}"}),
                Some(&m.admin.token),
            )
            .await;
        assert_problem(nul, 422, "validation_failed").await;
        assert_problem(
            m.upload(&m.user, "strict-ext", "1.1.0", b"x").await,
            404,
            "extension_not_found",
        )
        .await;
        let wrong_type = m
            .app
            .request(
                Method::POST,
                "/v1/extensions/strict-ext/versions?version=1.2.0",
                Some(&m.owner.token),
            )
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_problem(wrong_type, 415, "unsupported_media_type").await;
        let bad_engine = m
            .app
            .request(
                Method::POST,
                "/v1/extensions/strict-ext/versions?version=1.3.0&engine=whenever",
                Some(&m.owner.token),
            )
            .header("content-type", "application/octet-stream")
            .body("x")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_problem(bad_engine, 422, "validation_failed").await;
        for (body, field) in [
            (
                json!({"name": "ab", "display_name": "x", "description": "x", "category": "other"}),
                "name",
            ),
            (
                json!({"name": "9lives", "display_name": "x", "description": "x", "category": "other"}),
                "name",
            ),
            (
                json!({"name": "good-name", "display_name": "x", "description": "x", "category": "other", "tags": ["Bad Tag"]}),
                "tags",
            ),
            (
                json!({"name": "good-name", "display_name": "x", "description": "x", "category": "other", "homepage_url": "ftp://x"}),
                "homepage_url",
            ),
        ] {
            let problem = assert_problem(
                m.app
                    .post("/v1/extensions", body, Some(&m.owner.token))
                    .await,
                422,
                "validation_failed",
            )
            .await;
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        let unknown = json!({"name": "good-name", "display_name": "x", "description": "x", "category": "games"});
        assert_problem(
            m.app
                .post("/v1/extensions", unknown, Some(&m.owner.token))
                .await,
            422,
            "invalid_body",
        )
        .await;
        assert_problem(
            m.app.get("/v1/extensions?sort=best", None).await,
            400,
            "invalid_query",
        )
        .await;
        assert_problem(
            m.app.get("/v1/extensions?category=games", None).await,
            400,
            "invalid_query",
        )
        .await;

        app.shutdown().await;
    }
}

/// The downloads of `name` as the default listing (sorted by downloads) shows them.
async fn listed_downloads(m: &Market<'_>, name: &str) -> Option<u64> {
    let page = json(m.app.get("/v1/extensions?sort=downloads", None).await).await;
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == name)
        .and_then(|e| e["downloads"].as_u64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_listing_is_answered_at_once_and_read_again_in_the_background() {
    use std::time::{Duration, Instant};
    const LIFETIME: Duration = Duration::from_secs(3);
    for backend in backends() {
        // The page cache serves listings only when the listing index does not.
        let app = TestApp::spawn_with(backend, |settings| {
            settings.listing_cache_seconds = 3;
            settings.search_index = false;
        })
        .await;
        let m = market(&app).await;
        m.publish("counted-ext", json!({})).await;
        // The server reads the page between these two instants; it expires LIFETIME after
        // that, and its grace (when a request would read it itself) ends LIFETIME later.
        let before_read = Instant::now();
        assert_eq!(listed_downloads(&m, "counted-ext").await, Some(0));
        let after_read = Instant::now();
        let grace_ends = before_read + 2 * LIFETIME;

        let download = m
            .download("/v1/extensions/counted-ext/latest/download", None)
            .await;
        assert_eq!(download.status(), 200);
        assert_eq!(
            listed_downloads(&m, "counted-ext").await,
            Some(0),
            "a download does not drop the kept page"
        );

        tokio::time::sleep_until((after_read + LIFETIME + Duration::from_millis(100)).into()).await;
        assert_eq!(
            listed_downloads(&m, "counted-ext").await,
            Some(0),
            "the expired page answers the request that found it expired"
        );
        let mut shown = None;
        while Instant::now() + Duration::from_millis(200) < grace_ends {
            shown = listed_downloads(&m, "counted-ext").await;
            if shown == Some(1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            shown,
            Some(1),
            "the page read in the background replaces it ({backend:?})"
        );
        assert!(
            Instant::now() < grace_ends,
            "shown within the grace, when no request reads the page itself ({backend:?})"
        );
        app.shutdown().await;
    }
}
