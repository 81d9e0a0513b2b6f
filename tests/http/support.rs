//! Support tickets over HTTP: the lifecycle table, replies, the reopen window, internal
//! notes, assignment (manual and automatic), lists and the dashboard figures.

use devforge_domain::Role;
use devforge_tests::{Account, TestApp, assert_problem, backends, json, on_every_backend};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const STATUSES: [&str; 5] = [
    "open",
    "in_progress",
    "waiting_on_customer",
    "resolved",
    "closed",
];

/// The lifecycle as the issue states it, written out independently of the domain code:
/// `(from, to)` pairs each party may set explicitly.
fn allowed(staff: bool, from: &str) -> Vec<&'static str> {
    match (staff, from) {
        (_, "closed") => vec![],
        (true, "open") => vec!["in_progress"],
        (true, "in_progress") => vec!["waiting_on_customer", "resolved"],
        (true, "waiting_on_customer") => vec!["in_progress", "resolved"],
        (_, "resolved") => vec!["open", "closed"],
        (false, _) => vec!["closed"],
        _ => unreachable!("unknown status {from}"),
    }
}

/// How staff bring a new ticket to `status`.
fn path_to(status: &str) -> &'static [&'static str] {
    match status {
        "open" => &[],
        "in_progress" => &["in_progress"],
        "waiting_on_customer" => &["in_progress", "waiting_on_customer"],
        "resolved" => &["in_progress", "resolved"],
        "closed" => &["in_progress", "resolved", "closed"],
        _ => unreachable!("unknown status {status}"),
    }
}

struct Desk {
    customer: Account,
    other: Account,
    agent: Account,
    admin: Account,
}

async fn desk(app: &TestApp) -> Desk {
    Desk {
        customer: app.register("customer@example.com").await,
        other: app.register("other@example.com").await,
        agent: app
            .account_with_role("agent@example.com", Role::Support)
            .await,
        admin: app
            .account_with_role("admin@example.com", Role::Admin)
            .await,
    }
}

async fn open(app: &TestApp, customer: &Account, subject: &str, body: &str) -> Value {
    let request = json!({"subject": subject, "body": body, "category": "technical"});
    let response = app
        .post("/v1/support/tickets", request, Some(&customer.token))
        .await;
    assert_eq!(response.status(), 201, "opening a ticket");
    json(response).await
}

fn id(ticket: &Value) -> String {
    ticket["id"].as_str().unwrap_or_default().to_owned()
}

async fn set_status(app: &TestApp, token: &str, ticket: &str, status: &str) -> reqwest::Response {
    app.patch(
        &format!("/v1/support/tickets/{ticket}"),
        json!({"status": status}),
        Some(token),
    )
    .await
}

async fn bring_to(app: &TestApp, staff: &Account, ticket: &str, status: &str) {
    for step in path_to(status) {
        let response = set_status(app, &staff.token, ticket, step).await;
        assert_eq!(response.status(), 200, "moving {ticket} to {step}");
    }
}

async fn reply(
    app: &TestApp,
    who: &Account,
    ticket: &str,
    body: &str,
    internal: bool,
) -> reqwest::Response {
    app.post(
        &format!("/v1/support/tickets/{ticket}/messages"),
        json!({"body": body, "internal": internal}),
        Some(&who.token),
    )
    .await
}

on_every_backend! {
    async fn every_transition_of_the_lifecycle_table_is_allowed_or_refused_with_the_allowed_list(app) {
        let desk = desk(&app).await;
        let mut checked = 0;
        for (staff, who) in [(true, &desk.agent), (false, &desk.customer)] {
            for from in STATUSES {
                for to in STATUSES {
                    let ticket = id(&open(&app, &desk.customer, "Lifecycle", "table").await);
                    bring_to(&app, &desk.agent, &ticket, from).await;
                    let response = set_status(&app, &who.token, &ticket, to).await;
                    let permitted = allowed(staff, from);
                    if to == from || permitted.contains(&to) {
                        assert_eq!(response.status(), 200, "{from} -> {to} by staff={staff}");
                        let body = json(response).await;
                        assert_eq!(body["status"], to, "{from} -> {to}");
                    } else {
                        let problem = assert_problem(response, 409, "invalid_transition").await;
                        assert_eq!(problem["allowed"], json!(permitted), "{from} -> {to} by staff={staff}");
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 50);
    }
}

on_every_backend! {
    async fn replies_move_tickets_and_the_first_public_staff_reply_is_the_first_response(app) {
        let desk = desk(&app).await;
        let ticket = id(&open(&app, &desk.customer, "Crash on start", "It crashes").await);
        let path = format!("/v1/support/tickets/{ticket}");

        assert_eq!(reply(&app, &desk.agent, &ticket, "looking", true).await.status(), 201);
        let after_note = json(app.get(&path, Some(&desk.agent.token)).await).await;
        assert!(after_note["first_response_at"].is_null(), "an internal note is no response");

        assert_eq!(reply(&app, &desk.agent, &ticket, "Which version?", false).await.status(), 201);
        let answered = json(app.get(&path, Some(&desk.agent.token)).await).await;
        assert!(answered["first_response_at"].is_string());
        assert_eq!(answered["status"], "open", "a staff reply keeps the status");

        bring_to(&app, &desk.agent, &ticket, "waiting_on_customer").await;
        assert_eq!(reply(&app, &desk.customer, &ticket, "2026.11", false).await.status(), 201);
        let back = json(app.get(&path, Some(&desk.customer.token)).await).await;
        assert_eq!(back["status"], "in_progress", "a customer reply hands it back to staff");

        assert_eq!(set_status(&app, &desk.agent.token, &ticket, "resolved").await.status(), 200);
        assert_eq!(reply(&app, &desk.customer, &ticket, "still broken", false).await.status(), 201);
        let reopened = json(app.get(&path, Some(&desk.customer.token)).await).await;
        assert_eq!(reopened["status"], "open", "a reply to a resolved ticket reopens it");
        assert!(reopened["resolved_at"].is_null());

        bring_to(&app, &desk.agent, &ticket, "closed").await;
        let refused = reply(&app, &desk.customer, &ticket, "hello?", false).await;
        let problem = assert_problem(refused, 409, "invalid_transition").await;
        assert_eq!(problem["allowed"], json!([]));
        let closed = json(app.get(&path, Some(&desk.customer.token)).await).await;
        assert!(closed["closed_at"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolved_ticket_past_its_reopen_window_is_closed() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, |settings| settings.support_reopen_days = 0).await;
        let desk = desk(&app).await;
        let ticket = id(&open(&app, &desk.customer, "Window", "closes at once").await);
        bring_to(&app, &desk.agent, &ticket, "resolved").await;
        let read = json(
            app.get(
                &format!("/v1/support/tickets/{ticket}"),
                Some(&desk.customer.token),
            )
            .await,
        )
        .await;
        assert_eq!(read["status"], "closed", "{read}");
        assert!(read["closed_at"].is_string());
        let reopen = set_status(&app, &desk.customer.token, &ticket, "open").await;
        let problem = assert_problem(reopen, 409, "invalid_transition").await;
        assert_eq!(problem["allowed"], json!([]));
        let late_reply = reply(&app, &desk.customer, &ticket, "wait", false).await;
        assert_problem(late_reply, 409, "invalid_transition").await;
        let closed = json(
            app.get("/v1/support/tickets?status=closed", Some(&desk.agent.token))
                .await,
        )
        .await;
        assert_eq!(closed["total"], 1, "{closed}");
        let resolved = json(
            app.get(
                "/v1/support/tickets?status=resolved",
                Some(&desk.agent.token),
            )
            .await,
        )
        .await;
        assert_eq!(resolved["total"], 0, "{resolved}");
        app.shutdown().await;
    }
}

on_every_backend! {
    async fn internal_notes_never_reach_the_requester(app) {
        let desk = desk(&app).await;
        let ticket = id(&open(&app, &desk.customer, "Billing question", "Charged twice").await);
        let before = json(app.get(&format!("/v1/support/tickets/{ticket}"), Some(&desk.customer.token)).await).await;
        assert_eq!(reply(&app, &desk.agent, &ticket, "zanzibar refund suspicious", true).await.status(), 201);

        let messages = json(app.get(&format!("/v1/support/tickets/{ticket}/messages"), Some(&desk.customer.token)).await).await;
        assert_eq!(messages["total"], 1, "{messages}");
        assert!(!messages.to_string().contains("zanzibar"));
        let staff_view = json(app.get(&format!("/v1/support/tickets/{ticket}/messages"), Some(&desk.agent.token)).await).await;
        assert_eq!(staff_view["total"], 2);
        assert_eq!(staff_view["items"][1]["internal"], true);

        let search = json(app.get("/v1/support/tickets?q=zanzibar", Some(&desk.customer.token)).await).await;
        assert_eq!(search["total"], 0, "customers' searches skip internal notes: {search}");
        let staff_search = json(app.get("/v1/support/tickets?q=zanzibar", Some(&desk.agent.token)).await).await;
        assert_eq!(staff_search["total"], 1, "{staff_search}");

        let events = json(app.get(&format!("/v1/support/tickets/{ticket}/events"), Some(&desk.customer.token)).await).await;
        assert!(!events.to_string().contains("zanzibar"));
        let after = json(app.get(&format!("/v1/support/tickets/{ticket}"), Some(&desk.customer.token)).await).await;
        assert_eq!(before, after, "a note changes nothing the requester can see");

        let sneaky = reply(&app, &desk.customer, &ticket, "let me in", true).await;
        assert_problem(sneaky, 403, "forbidden").await;
    }
}

on_every_backend! {
    async fn requesters_only_close_or_reopen_and_others_see_nothing(app) {
        let desk = desk(&app).await;
        let ticket = id(&open(&app, &desk.customer, "Mine", "only mine").await);
        let path = format!("/v1/support/tickets/{ticket}");
        let priority = app.patch(&path, json!({"priority": "urgent"}), Some(&desk.customer.token)).await;
        assert_problem(priority, 403, "forbidden").await;
        for sub in ["", "/messages", "/events"] {
            let response = app.get(&format!("{path}{sub}"), Some(&desk.other.token)).await;
            assert_problem(response, 404, "ticket_not_found").await;
        }
        let reply = reply(&app, &desk.other, &ticket, "hi", false).await;
        assert_problem(reply, 404, "ticket_not_found").await;
        let mine = json(app.get("/v1/support/tickets", Some(&desk.other.token)).await).await;
        assert_eq!(mine["total"], 0);
        let staff = app.patch(&path, json!({"priority": "urgent", "category": "billing"}), Some(&desk.admin.token)).await;
        let changed = json(staff).await;
        assert_eq!((changed["priority"].clone(), changed["category"].clone()), (json!("urgent"), json!("billing")));
        let events = json(app.get(&format!("{path}/events"), Some(&desk.customer.token)).await).await;
        let kinds: Vec<&str> = events["items"].as_array().into_iter().flatten().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(kinds, ["created", "priority_changed", "category_changed"]);
        assert_eq!(events["items"][1]["actor_id"], json!(desk.admin.id));
        assert_eq!(events["items"][1]["from"], "normal");
        assert_eq!(events["items"][1]["to"], "urgent");
    }
}

on_every_backend! {
    async fn tickets_are_assigned_only_to_enabled_staff(app) {
        let desk = desk(&app).await;
        let ticket = id(&open(&app, &desk.customer, "Assign me", "please").await);
        let path = format!("/v1/support/tickets/{ticket}/assign");
        let to_customer = app.post(&path, json!({"assignee_id": desk.other.id}), Some(&desk.agent.token)).await;
        assert_problem(to_customer, 422, "invalid_assignee").await;
        let by_customer = app.post(&path, json!({"assignee_id": desk.agent.id}), Some(&desk.customer.token)).await;
        assert_problem(by_customer, 403, "forbidden").await;
        let missing = app.post(&path, json!({}), Some(&desk.agent.token)).await;
        assert_problem(missing, 422, "invalid_body").await;

        let assigned = json(app.post(&path, json!({"assignee_id": desk.admin.id}), Some(&desk.agent.token)).await).await;
        assert_eq!(assigned["assignee_id"], json!(desk.admin.id));
        let mine = json(app.get("/v1/support/tickets?assignee=me", Some(&desk.admin.token)).await).await;
        assert_eq!(mine["total"], 1);
        let unassigned = json(app.post(&path, json!({"assignee_id": null}), Some(&desk.agent.token)).await).await;
        assert!(unassigned["assignee_id"].is_null());
        let nobody = json(app.get("/v1/support/tickets?assignee=none", Some(&desk.agent.token)).await).await;
        assert_eq!(nobody["total"], 1);
        let filter = app.get("/v1/support/tickets?assignee=none", Some(&desk.customer.token)).await;
        assert_problem(filter, 403, "forbidden").await;
        let events = json(app.get(&format!("/v1/support/tickets/{ticket}/events"), Some(&desk.agent.token)).await).await;
        let changes: Vec<(Value, Value)> = events["items"].as_array().into_iter().flatten()
            .filter(|e| e["kind"] == "assignee_changed")
            .map(|e| (e["from"].clone(), e["to"].clone()))
            .collect();
        assert_eq!(changes, [(Value::Null, json!(desk.admin.id)), (json!(desk.admin.id), Value::Null)]);
    }
}

/// How many of `tickets` each assignee holds.
fn per_assignee(tickets: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for ticket in tickets {
        let assignee = ticket["assignee_id"]
            .as_str()
            .unwrap_or("nobody")
            .to_owned();
        *counts.entry(assignee).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_assignment_is_fair_in_turn_and_under_parallel_load() {
    for backend in backends() {
        let app =
            TestApp::spawn_with(backend, |settings| settings.support_auto_assign = true).await;
        let customer = app.register("customer@example.com").await;
        let _admin = app
            .account_with_role("admin@example.com", Role::Admin)
            .await;
        let mut agents = Vec::new();
        for n in 0..3 {
            agents.push(
                app.account_with_role(&format!("agent{n}@example.com"), Role::Support)
                    .await,
            );
        }
        let mut in_turn = Vec::new();
        for n in 0..6 {
            in_turn.push(open(&app, &customer, &format!("In turn {n}"), "body").await);
        }
        let first_round: Vec<&str> = in_turn[..3]
            .iter()
            .filter_map(|t| t["assignee_id"].as_str())
            .collect();
        let second_round: Vec<&str> = in_turn[3..]
            .iter()
            .filter_map(|t| t["assignee_id"].as_str())
            .collect();
        let mut everyone: Vec<&str> = agents.iter().map(|a| a.id.as_str()).collect();
        everyone.sort_unstable();
        let mut sorted_first = first_round.clone();
        sorted_first.sort_unstable();
        assert_eq!(
            sorted_first, everyone,
            "each agent gets one before anyone gets two"
        );
        assert_eq!(
            first_round, second_round,
            "then round-robin in the same order"
        );

        // Agent 0 resolves their ticket: they now have the fewest active tickets.
        let agent0_ticket = in_turn
            .iter()
            .find(|t| t["assignee_id"] == json!(agents[0].id))
            .map(id)
            .unwrap_or_default();
        bring_to(&app, &agents[0], &agent0_ticket, "resolved").await;
        let next = open(&app, &customer, "Next", "body").await;
        assert_eq!(
            next["assignee_id"],
            json!(agents[0].id),
            "fewest active tickets first"
        );

        let parallel = join_all((0..11).map(|n| {
            let app = &app;
            let customer = &customer;
            async move { open(app, customer, &format!("Parallel {n}"), "body").await }
        }))
        .await;
        let all = json(
            app.get("/v1/support/tickets?per_page=100", Some(&agents[1].token))
                .await,
        )
        .await;
        let tickets = all["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(tickets.len(), 18);
        let active: Vec<Value> = tickets
            .into_iter()
            .filter(|t| t["status"] != "resolved")
            .collect();
        let counts = per_assignee(&active);
        assert_eq!(counts.len(), 3, "{counts:?}");
        assert!(
            counts.values().all(|n| *n == 17 / 3 || *n == 17 / 3 + 1),
            "balanced: {counts:?}"
        );
        let mut numbers: Vec<u64> = parallel
            .iter()
            .chain(&in_turn)
            .chain([&next])
            .filter_map(|t| t["number"].as_u64())
            .collect();
        numbers.sort_unstable();
        assert_eq!(
            numbers,
            (1..=18).collect::<Vec<u64>>(),
            "numbers are sequential and unique"
        );
        app.shutdown().await;
    }
}

on_every_backend! {
    async fn lists_filter_search_and_sort(app) {
        let desk = desk(&app).await;
        let low = json(app.post("/v1/support/tickets", json!({"subject": "Theme colours look wrong", "body": "The dark theme is too bright", "category": "technical", "priority": "low"}), Some(&desk.customer.token)).await).await;
        let urgent = json(app.post("/v1/support/tickets", json!({"subject": "Charged twice", "body": "My card was charged twice", "category": "billing", "priority": "urgent"}), Some(&desk.customer.token)).await).await;
        let other = json(app.post("/v1/support/tickets", json!({"subject": "Activation fails", "body": "Activating licenses fails offline", "category": "licensing"}), Some(&desk.other.token)).await).await;
        assert_eq!(reply(&app, &desk.agent, &id(&low), "Try reinstalling the themes", false).await.status(), 201);

        let token = Some(desk.agent.token.as_str());
        let get = |query: &str| {
            let app = &app;
            let query = query.to_owned();
            async move {
                let page = json(app.get(&format!("/v1/support/tickets?{query}"), token).await).await;
                page["items"].as_array().into_iter().flatten().map(id).collect::<Vec<String>>()
            }
        };
        assert_eq!(get("sort=priority").await, [id(&urgent), id(&other), id(&low)]);
        assert_eq!(get("sort=oldest").await, [id(&low), id(&urgent), id(&other)]);
        assert_eq!(get("sort=newest").await, [id(&other), id(&urgent), id(&low)]);
        assert_eq!(get("sort=last_activity").await, [id(&low), id(&other), id(&urgent)]);
        assert_eq!(get("category=billing").await, [id(&urgent)]);
        assert_eq!(get("priority=normal").await, [id(&other)]);
        assert_eq!(get("status=open").await.len(), 3);
        assert_eq!(get("q=charged").await, [id(&urgent)], "subject");
        assert_eq!(get("q=activate").await, [id(&other)], "stemmed: activate finds Activation/Activating");
        assert_eq!(get("q=reinstall+theme").await, [id(&low)], "a staff reply is searched");
        assert_eq!(get("q=the+of").await, Vec::<String>::new(), "stop words alone match nothing");
        let own = json(app.get("/v1/support/tickets", Some(&desk.customer.token)).await).await;
        assert_eq!(own["total"], 2, "customers see only their own");
    }
}

on_every_backend! {
    async fn the_dashboard_counts_open_tickets_and_median_times(app) {
        let desk = desk(&app).await;
        let a = id(&open(&app, &desk.customer, "A", "a").await);
        let b = id(&open(&app, &desk.customer, "B", "b").await);
        let _c = id(&open(&app, &desk.customer, "C", "c").await);
        bring_to(&app, &desk.agent, &a, "resolved").await;
        bring_to(&app, &desk.agent, &b, "in_progress").await;
        assert_eq!(reply(&app, &desk.agent, &b, "on it", false).await.status(), 201);
        let assign = app.post(&format!("/v1/support/tickets/{b}/assign"), json!({"assignee_id": desk.agent.id}), Some(&desk.agent.token)).await;
        assert_eq!(assign.status(), 200);
        let stats = json(app.get("/v1/admin/stats", Some(&desk.admin.token)).await).await;
        let support = &stats["support"];
        assert_eq!(support["open_by_status"], json!({"open": 1, "in_progress": 1, "waiting_on_customer": 0}), "{stats}");
        assert_eq!(support["open_by_priority"]["normal"], 2);
        assert_eq!(support["unassigned"], 1);
        assert!(support["median_first_response_secs"].is_u64(), "{support}");
        assert!(support["median_resolution_secs"].is_u64(), "{support}");
    }
}

on_every_backend! {
    async fn parallel_replies_and_changes_all_land_once(app) {
        let desk = desk(&app).await;
        let ticket = id(&open(&app, &desk.customer, "Busy", "many hands").await);
        bring_to(&app, &desk.agent, &ticket, "in_progress").await;
        let replies = join_all((0..10).map(|n| {
            let (app, agent, ticket) = (&app, &desk.agent, &ticket);
            async move { reply(app, agent, ticket, &format!("reply {n}"), n % 2 == 0).await.status().as_u16() }
        }))
        .await;
        assert!(replies.iter().all(|s| *s == 201), "{replies:?}");
        let messages = json(app.get(&format!("/v1/support/tickets/{ticket}/messages?per_page=100"), Some(&desk.agent.token)).await).await;
        assert_eq!(messages["total"], 11);
        let changes = join_all(["waiting_on_customer", "resolved"].map(|to| {
            let (app, agent, ticket) = (&app, &desk.agent, &ticket);
            async move { set_status(app, &agent.token, ticket, to).await.status().as_u16() }
        }))
        .await;
        let events = json(app.get(&format!("/v1/support/tickets/{ticket}/events"), Some(&desk.agent.token)).await).await;
        let status_changes = events["items"].as_array().into_iter().flatten().filter(|e| e["kind"] == "status_changed").count();
        let succeeded = changes.iter().filter(|s| **s == 200).count();
        assert_eq!(status_changes, 1 + succeeded, "one event per landed change: {changes:?}");
        assert!(changes.iter().all(|s| *s == 200 || *s == 409), "{changes:?}");
    }
}
