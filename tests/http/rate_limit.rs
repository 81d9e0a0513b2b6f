//! Per-IP rate limits: stricter on credential routes, 429 problems with Retry-After,
//! `X-Forwarded-For` believed only from trusted proxies, and one count shared by several
//! instances through Redis, with the documented fallback while Redis is away.

use devforge_tests::redis_server::RedisServer;
use devforge_tests::{Backend, TestApp, assert_problem};
use reqwest::Method;
use serde_json::json;

async fn limited_app(trusted_proxy: bool) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |settings| {
        settings.rate_limit_enabled = true;
        settings.auth_rate_limit_per_minute = 1;
        settings.auth_rate_limit_burst = 2;
        settings.rate_limit_per_second = 1;
        settings.rate_limit_burst = 10;
        if trusted_proxy {
            settings.trusted_proxies = vec!["127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))];
        }
    })
    .await
}

fn login_body() -> serde_json::Value {
    json!({"email": "nobody@example.com", "password": "whatever password"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_routes_are_limited_harder_and_answer_429_problems() {
    let app = limited_app(false).await;
    for _ in 0..2 {
        assert_eq!(
            app.post("/v1/auth/login", login_body(), None)
                .await
                .status(),
            401
        );
    }
    let limited = app.post("/v1/auth/login", login_body(), None).await;
    let retry_after = limited
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|s| (1..=60).contains(&s)),
        "{retry_after:?}"
    );
    assert_problem(limited, 429, "rate_limited").await;

    // No spelling of the route escapes the limit.
    let encoded = app.post("/v1/auth/logi%6E", login_body(), None).await;
    assert_problem(encoded, 429, "rate_limited").await;

    // Non-credential auth routes are not held by the stricter limit.
    for _ in 0..3 {
        assert_eq!(app.get("/v1/auth/me", None).await.status(), 401);
    }
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_general_limit_applies_to_the_whole_api() {
    let app = limited_app(false).await;
    let mut statuses = Vec::new();
    for _ in 0..14 {
        statuses.push(app.get("/v1/auth/me", None).await.status().as_u16());
    }
    assert!(
        statuses.contains(&401) && statuses.last() == Some(&429),
        "{statuses:?}"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let send = |app: &TestApp, client: &'static str| {
        app.request(Method::POST, "/v1/auth/login", None)
            .header("x-forwarded-for", client)
            .json(&login_body())
            .send()
    };
    let untrusted = limited_app(false).await;
    let mut last = 0;
    for client in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        last = send(&untrusted, client)
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
    }
    assert_eq!(last, 429, "spoofed headers must not buy fresh buckets");
    untrusted.shutdown().await;

    let proxied = limited_app(true).await;
    for client in [
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.2",
    ] {
        let status = send(&proxied, client)
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        assert_eq!(
            status, 401,
            "each client behind the proxy has its own bucket"
        );
    }
    let third = send(&proxied, "198.51.100.1")
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    assert_eq!(third, 429);
    proxied.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn license_key_routes_are_limited_like_the_credential_routes() {
    let app = limited_app(false).await;
    let key = devforge_licensing::LicenseKey::generate();
    let body = json!({"key": key.as_str()});
    for _ in 0..2 {
        assert_eq!(
            app.post("/v1/licenses/validate", body.clone(), None)
                .await
                .status(),
            200
        );
    }
    assert_problem(
        app.post("/v1/licenses/validate", body.clone(), None).await,
        429,
        "rate_limited",
    )
    .await;
    let activate = json!({"key": key.as_str(), "fingerprint": "m"});
    assert_problem(
        app.post("/v1/licenses/activate", activate, None).await,
        429,
        "rate_limited",
    )
    .await;
    // Routes that need a login or read public data are not held by this limit.
    assert_eq!(app.get("/v1/licenses/public-key", None).await.status(), 200);
    assert_eq!(app.get("/v1/licenses", None).await.status(), 401);
    app.shutdown().await;
}

/// Two instances on one database, their rate limits counted in `redis`.
async fn instances_sharing(redis: &RedisServer) -> (TestApp, TestApp) {
    let url = redis.url();
    let shared = move |settings: &mut devforge_api::settings::Settings| {
        settings.rate_limit_enabled = true;
        settings.rate_limit_per_second = 1;
        settings.rate_limit_burst = 10;
        settings.auth_rate_limit_per_minute = 1;
        settings.auth_rate_limit_burst = 2;
        settings.redis_url = Some(url.clone());
    };
    let first = TestApp::spawn_with(Backend::Sqlite, shared.clone()).await;
    let second = first.second_instance_with(shared).await;
    (first, second)
}

async fn readiness(app: &TestApp) -> serde_json::Value {
    devforge_tests::json(app.get("/health/ready", None).await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_count_one_shared_limit_in_redis_and_survive_it_going_away() {
    let Some(mut redis) = RedisServer::start().await else {
        return;
    };
    let (first, second) = instances_sharing(&redis).await;
    assert_eq!(readiness(&first).await["rate_limits"], "shared");

    // Alternating between the instances, one client gets the burst of 10 once, not twice.
    let mut allowed = 0;
    let mut remaining = Vec::new();
    for n in 0..16 {
        let app = if n % 2 == 0 { &first } else { &second };
        let response = app.get("/v1/auth/me", None).await;
        if response.status() == 429 {
            let retry = response.headers().get("retry-after").cloned();
            assert!(retry.is_some(), "a refusal says when to retry");
            assert_problem(response, 429, "rate_limited").await;
        } else {
            allowed += 1;
            assert_eq!(response.headers()["x-ratelimit-limit"], "10");
            remaining.push(
                response.headers()["x-ratelimit-remaining"]
                    .to_str()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
    }
    // One more may have been earned back while the requests ran (one per second).
    assert!(
        (10..=11).contains(&allowed),
        "allowed {allowed} of 16 across two instances"
    );
    assert_eq!(
        remaining.first().map(String::as_str),
        Some("9"),
        "{remaining:?}"
    );

    // Redis goes away: general limits let requests pass, credential limits count locally.
    redis.stop();
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(first.get("/v1/auth/me", None).await.status().as_u16());
    }
    assert!(
        statuses.iter().all(|s| *s == 401),
        "general limit fails open: {statuses:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "and fast: {:?}",
        started.elapsed()
    );
    let mut logins = Vec::new();
    for _ in 0..3 {
        logins.push(
            first
                .post("/v1/auth/login", login_body(), None)
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        logins,
        [401, 401, 429],
        "credential limit counted in the process"
    );
    assert_eq!(readiness(&first).await["rate_limits"], "degraded");
    let metrics = first
        .get("/metrics", None)
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(metrics.contains("rate_limit_redis_up 0"), "{metrics}");
    assert!(
        !metrics.contains("rate_limit_redis_failures_total 0\n"),
        "{metrics}"
    );

    // Redis is back (empty): the limits are shared again without a restart.
    redis.restart().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let _probe = first.get("/v1/auth/me", None).await;
        if readiness(&first).await["rate_limits"] == "shared" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the shared limits did not come back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let counted = second.get("/v1/auth/me", None).await;
    assert!(
        counted.headers().contains_key("x-ratelimit-remaining"),
        "counted in Redis again"
    );
    first.shutdown().await;
    second.shutdown().await;
}
