//! Rate limits across instances: counted once in Redis, so a client spread over the
//! instances by the proxy gets the configured rate in total, not once per instance; and
//! with Redis gone the instances follow the documented rule (general limits let requests
//! pass, credential limits count in each process), then share again once it is back,
//! without a restart.

use crate::Outcome;
use crate::check::ensure;
use devforge_tests::cluster::{AUTH_BURST, Cluster, RATE_BURST, RATE_PER_SECOND};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const HAMMER_FOR: Duration = Duration::from_secs(4);
const CONNECTIONS_PER_CLIENT: usize = 6;
const LISTING: &str = "/v1/products";

/// What one client got.
#[derive(Debug, Default)]
struct Tally {
    allowed: usize,
    limited: usize,
    other: Vec<u16>,
    limited_without_headers: usize,
}

/// Sends `GET /v1/products` as `client_ip` through the proxy over several connections for
/// `HAMMER_FOR`; returns the tally and how long it ran.
async fn hammer(c: &Cluster, client_ip: &str) -> Result<(Tally, Duration), String> {
    let started = Instant::now();
    let workers = (0..CONNECTIONS_PER_CLIENT).map(|_| async move {
        let mut tally = Tally::default();
        while started.elapsed() < HAMMER_FOR {
            let response = c
                .request_from(client_ip, Method::GET, &c.proxy, LISTING)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            match response.status().as_u16() {
                200 => tally.allowed += 1,
                429 => {
                    tally.limited += 1;
                    let headers = response.headers();
                    let complete = ["retry-after", "x-ratelimit-limit", "x-ratelimit-remaining"]
                        .iter()
                        .all(|name| headers.contains_key(*name));
                    if !complete {
                        tally.limited_without_headers += 1;
                    }
                }
                status => tally.other.push(status),
            }
        }
        Ok::<Tally, String>(tally)
    });
    let mut total = Tally::default();
    for tally in join_all(workers).await {
        let tally = tally?;
        total.allowed += tally.allowed;
        total.limited += tally.limited;
        total.other.extend(tally.other);
        total.limited_without_headers += tally.limited_without_headers;
    }
    Ok((total, started.elapsed()))
}

/// Requests instance `number` has answered on the listing route so far.
async fn listing_requests(c: &Cluster, number: usize) -> Result<u64, String> {
    let metrics = c.metrics(number).await?;
    Ok(metrics
        .lines()
        .filter(|line| line.starts_with("http_requests_total{"))
        .filter(|line| line.contains(&format!("route=\"{LISTING}\"")))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum())
}

pub(crate) async fn one_limit_for_all_instances(cluster: Arc<Cluster>) -> Outcome {
    let c = &*cluster;
    let mut before = Vec::new();
    for number in 0..c.instances.len() {
        before.push(listing_requests(c, number).await?);
    }
    // Two clients at once: each has a limit of its own.
    let clients = [c.fresh_client_ip(), c.fresh_client_ip()];
    let results = join_all(clients.iter().map(|ip| hammer(c, ip))).await;
    let mut figures = Vec::new();
    for (ip, result) in clients.iter().zip(results) {
        let (tally, took) = result?;
        let expected = f64::from(RATE_BURST) + f64::from(RATE_PER_SECOND) * took.as_secs_f64();
        #[allow(clippy::cast_precision_loss)] // counts of a few thousand
        let allowed = tally.allowed as f64;
        let ratio = allowed / expected;
        ensure!(
            tally.other.is_empty(),
            "client {ip}: unexpected answers {:?}",
            tally.other
        );
        ensure!(
            tally.limited_without_headers == 0,
            "client {ip}: {} of {} 429s lack Retry-After or x-ratelimit-*",
            tally.limited_without_headers,
            tally.limited
        );
        ensure!(
            (0.9..=1.1).contains(&ratio),
            "client {ip}: {} allowed in {:.2} s, configured {expected:.1} (ratio {ratio:.3})",
            tally.allowed,
            took.as_secs_f64()
        );
        figures.push(format!(
            "client {ip}: {} allowed, {} × 429 in {:.2} s; configured {RATE_PER_SECOND}/s burst \
             {RATE_BURST} = {expected:.1}; ratio {ratio:.3}",
            tally.allowed,
            tally.limited,
            took.as_secs_f64()
        ));
    }
    let mut spread = Vec::new();
    for (number, counted) in before.iter().enumerate() {
        let served = listing_requests(c, number).await? - counted;
        ensure!(
            served > 0,
            "instance {} got none of the requests",
            number + 1
        );
        spread.push(format!("instance {}: {served}", number + 1));
    }
    figures.push(format!("requests the proxy spread: {}", spread.join(", ")));
    Ok(figures)
}

/// Each instance's `/health/ready` `rate_limits` field.
async fn readiness(c: &Cluster) -> Result<Vec<String>, String> {
    let mut states = Vec::new();
    for instance in &c.instances {
        let (status, body) = c.get(&instance.url, "/health/ready", None).await?;
        ensure!(status == 200, "{} not ready: {status} {body}", instance.url);
        states.push(body["rate_limits"].as_str().unwrap_or("-").to_owned());
    }
    Ok(states)
}

/// Wrong logins from one client to one instance until the first 429; how many came first.
async fn logins_before_429(c: &Cluster, client_ip: &str, base: &str) -> Result<usize, String> {
    for attempt in 0..20 {
        // A new email each time: the per-account lockout stays out of it.
        let body = json!({"email": format!("nobody-{attempt}-{client_ip}@cluster.test"),
            "password": "not the password"});
        let response = c
            .request_from(client_ip, Method::POST, base, "/v1/auth/login")
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match response.status().as_u16() {
            401 => {}
            429 => return Ok(attempt),
            status => return Err(format!("login answered {status}")),
        }
    }
    Err("20 wrong logins were never limited".into())
}

pub(crate) async fn redis_goes_away_and_comes_back(cluster: Arc<Cluster>) -> Outcome {
    let c = &*cluster;
    let mut figures = Vec::new();
    c.redis.lock().await.stop();
    let stopped = Instant::now();

    // General limits fail open: one client gets far more than the burst, quickly.
    let client = c.fresh_client_ip();
    let mut slowest = Duration::ZERO;
    let attempts = 4 * RATE_BURST;
    for _ in 0..attempts {
        let sent = Instant::now();
        let response = c
            .request_from(&client, Method::GET, &c.proxy, LISTING)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        slowest = slowest.max(sent.elapsed());
        ensure!(
            response.status() == 200,
            "with Redis away a general request got {}",
            response.status()
        );
    }
    ensure!(
        slowest < Duration::from_secs(1),
        "a request waited {} ms for Redis",
        slowest.as_millis()
    );
    figures.push(format!(
        "Redis stopped: {attempts} requests from one client (burst {RATE_BURST}) all 200, \
         slowest {} ms",
        slowest.as_millis()
    ));

    // Credential limits count in each process: every instance lets the burst through.
    let client = c.fresh_client_ip();
    let mut per_instance = Vec::new();
    for instance in &c.instances {
        let before = logins_before_429(c, &client, &instance.url).await?;
        ensure!(
            before == AUTH_BURST as usize,
            "{}: {before} wrong logins before 429 with Redis away, burst {AUTH_BURST}",
            instance.url
        );
        per_instance.push(before.to_string());
    }
    figures.push(format!(
        "Redis stopped: one client's wrong logins before 429, per instance: {} (burst \
         {AUTH_BURST}, counted in each process)",
        per_instance.join(", ")
    ));

    let states = readiness(c).await?;
    ensure!(
        states.iter().all(|s| s == "degraded"),
        "/health/ready with Redis away: {states:?}"
    );
    for number in 0..c.instances.len() {
        let metrics = c.metrics(number).await?;
        ensure!(
            metrics.lines().any(|line| line == "rate_limit_redis_up 0"),
            "instance {} metrics do not show Redis down",
            number + 1
        );
    }
    figures.push(format!(
        "/health/ready: {states:?}, rate_limit_redis_up 0 on every instance"
    ));

    // Back: each instance notices on its next request, without a restart.
    c.redis.lock().await.restart().await;
    let restarted = Instant::now();
    loop {
        for instance in &c.instances {
            let _ = c.get(&instance.url, LISTING, None).await?;
        }
        if readiness(c).await?.iter().all(|s| s == "shared") {
            break;
        }
        ensure!(
            restarted.elapsed() < Duration::from_secs(10),
            "still degraded 10 s after Redis came back: {:?}",
            readiness(c).await?
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = restarted.elapsed();
    let client = c.fresh_client_ip();
    let burst_started = Instant::now();
    let mut allowed = 0;
    for _ in 0..(3 * RATE_BURST) {
        let response = c
            .request_from(&client, Method::GET, &c.proxy, LISTING)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        allowed += usize::from(response.status() == 200);
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a few seconds
    let refilled =
        (burst_started.elapsed().as_secs_f64() * f64::from(RATE_PER_SECOND)).ceil() as usize;
    let most = RATE_BURST as usize + refilled;
    ensure!(
        (RATE_BURST as usize..=most).contains(&allowed),
        "after Redis came back one client got {allowed} of {} (at most {most})",
        3 * RATE_BURST
    );
    figures.push(format!(
        "Redis back: shared again on every instance {} ms after it restarted (down {:.1} s); \
         one client then got {allowed} of {} (burst {RATE_BURST})",
        recovered.as_millis(),
        (restarted - stopped).as_secs_f64(),
        3 * RATE_BURST
    ));
    Ok(figures)
}
