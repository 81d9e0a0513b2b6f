//! A database that fails under the server: backends terminated in mid-query, and a
//! PostgreSQL that disappears from the network. Both are PostgreSQL's failure modes (a
//! SQLite file does not go away; its pool closing is covered in `ops`). Each test ends
//! only its own database's connections, so other tests never notice.

use devforge_tests::tcp_gate::TcpGate;
use devforge_tests::{
    Backend, TestApp, assert_problem, backends, json, postgres_address, rerouted,
};
use serde_json::json;
use std::time::{Duration, Instant};

fn postgres_configured() -> bool {
    backends().contains(&Backend::Postgres)
}

/// Six writers create tickets while the database's backends are terminated six times: a
/// write either lands (201, and is there afterwards) or is refused as unavailable (503 with
/// `Retry-After`); never 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminated_backends_answer_503_never_500_and_lose_no_acknowledged_write() {
    if !postgres_configured() {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let customer = app.register("writer@example.com").await;
    let stop_at = Instant::now() + Duration::from_secs(4);
    let writers = (0..6).map(|writer| {
        let client = reqwest::Client::new();
        let url = format!("{}/v1/support/tickets", app.base_url);
        let token = customer.token.clone();
        tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let mut n = 0;
            while Instant::now() < stop_at {
                n += 1;
                let body = json!({"subject": format!("writer {writer} #{n}"), "body": "b", "category": "billing"});
                let response = client.post(&url).bearer_auth(&token).json(&body).send().await;
                let Ok(response) = response else { continue };
                let status = response.status().as_u16();
                let retry_after = response.headers().contains_key("retry-after");
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                outcomes.push((status, retry_after, body));
            }
            outcomes
        })
    });
    let writers: Vec<_> = writers.collect();
    let mut terminated = 0;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        terminated += app.terminate_database_backends().await;
    }
    let mut outcomes = Vec::new();
    for writer in writers {
        outcomes.extend(writer.await.unwrap_or_else(|e| panic!("{e}")));
    }
    assert!(terminated > 0, "no backend was terminated");
    let created: Vec<String> = outcomes
        .iter()
        .filter(|(status, _, _)| *status == 201)
        .map(|(_, _, body)| body["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    for (status, retry_after, body) in &outcomes {
        assert!(
            *status == 201 || *status == 503,
            "got {status}: {body} (of {} writes)",
            outcomes.len()
        );
        if *status == 503 {
            assert_eq!(body["code"], "database_unavailable", "{body}");
            assert!(retry_after, "503 without Retry-After: {body}");
        }
    }
    assert!(created.len() > 20, "only {} writes landed", created.len());
    let stored = ticket_ids(&app, &customer.token).await;
    for id in &created {
        assert!(stored.contains(id), "acknowledged ticket {id} is missing");
    }
    // A write cut off during its own commit may have landed though its answer was a 503.
    assert!(
        stored.len() <= outcomes.len(),
        "{} stored of {} writes",
        stored.len(),
        outcomes.len()
    );
    eprintln!(
        "{} writes: {} created, {} refused as unavailable; {terminated} backends terminated",
        outcomes.len(),
        created.len(),
        outcomes.len() - created.len()
    );
    app.shutdown().await;
}

/// Every ticket id the customer can see, page by page.
async fn ticket_ids(app: &TestApp, token: &str) -> std::collections::HashSet<String> {
    let mut ids = std::collections::HashSet::new();
    for page in 1.. {
        let path = format!("/v1/support/tickets?per_page=100&page={page}");
        let listed = json(app.get(&path, Some(token)).await).await;
        let items = listed["items"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            break;
        }
        ids.extend(
            items
                .iter()
                .filter_map(|t| t["id"].as_str().map(str::to_owned)),
        );
    }
    ids
}

/// With PostgreSQL unreachable, readiness and requests that need the database answer 503
/// within a second (a load balancer's probe timeout), and the server recovers by itself
/// once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_unreachable_answers_are_503_within_a_second() {
    if !postgres_configured() {
        return;
    }
    let gate = TcpGate::start(postgres_address().await).await;
    let gate_addr = gate.addr();
    let app = TestApp::spawn_with(Backend::Postgres, |settings| {
        let url = settings.database_url.clone().unwrap_or_default();
        settings.database_url = Some(rerouted(&url, gate_addr));
    })
    .await;
    let login = json!({"email": "nobody@example.com", "password": "wrong password 123"});
    assert_eq!(
        app.post("/v1/auth/login", login.clone(), None)
            .await
            .status(),
        401
    );

    gate.close();
    for _ in 0..3 {
        let started = Instant::now();
        let ready = app.get("/health/ready", None).await;
        let ready_took = started.elapsed();
        let retry_after = ready.headers().get("retry-after").cloned();
        assert_problem(ready, 503, "database_unavailable").await;
        assert!(retry_after.is_some(), "readiness 503 without Retry-After");
        assert!(
            ready_took < Duration::from_secs(1),
            "ready took {ready_took:?}"
        );

        let started = Instant::now();
        let refused = app.post("/v1/auth/login", login.clone(), None).await;
        let login_took = started.elapsed();
        assert_problem(refused, 503, "database_unavailable").await;
        assert!(
            login_took < Duration::from_secs(1),
            "login took {login_took:?}"
        );
    }

    gate.reopen();
    app.wait_until_ready().await;
    assert_eq!(app.post("/v1/auth/login", login, None).await.status(), 401);
    app.shutdown().await;
}
