//! The knowledge base over HTTP: visibility by status, ranked search with snippets (the
//! same order on both databases), revisions and restore, views and feedback.

use devforge_domain::Role;
use devforge_tests::{Account, TestApp, assert_problem, json, on_every_backend};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

/// One article of the fixed corpus.
struct Fixture {
    slug: &'static str,
    title: &'static str,
    body: &'static str,
    category: &'static str,
    tags: &'static [&'static str],
    status: &'static str,
}

/// A fixed corpus, the same on both databases.
const CORPUS: [Fixture; 6] = [
    Fixture {
        slug: "install-extensions",
        title: "Installing extensions",
        body: "Open the marketplace panel, pick an extension and press install. Extensions update themselves.",
        category: "getting-started",
        tags: &["extensions", "marketplace"],
        status: "published",
    },
    Fixture {
        slug: "offline-activation",
        title: "Offline activation",
        body: "Without a network you can activate with a certificate. Installing the IDE first is required.",
        category: "licensing",
        tags: &["licensing"],
        status: "published",
    },
    Fixture {
        slug: "proxy-settings",
        title: "Proxy settings",
        body: "Behind a corporate proxy, set the proxy in preferences. Extensions install through it; install updates the same way.",
        category: "network",
        tags: &["network"],
        status: "published",
    },
    Fixture {
        slug: "keyboard-shortcuts",
        title: "Keyboard shortcuts",
        body: "Every command has a shortcut. <script>alert(1)</script> is shown as text, not run.",
        category: "getting-started",
        tags: &[],
        status: "published",
    },
    Fixture {
        slug: "install-beta",
        title: "Installing beta builds",
        body: "Unreleased notes about installing beta builds.",
        category: "getting-started",
        tags: &[],
        status: "draft",
    },
    Fixture {
        slug: "old-installer",
        title: "The old installer",
        body: "Installing with the old installer is no longer supported.",
        category: "getting-started",
        tags: &[],
        status: "archived",
    },
];

async fn seed(app: &TestApp) -> (Account, Account) {
    let staff = app
        .account_with_role("writer@example.com", Role::Support)
        .await;
    let reader = app.register("reader@example.com").await;
    for fixture in CORPUS {
        let article = json!({
            "slug": fixture.slug, "title": fixture.title, "body": fixture.body,
            "category": fixture.category, "tags": fixture.tags, "status": fixture.status,
        });
        let response = app
            .post("/v1/kb/articles", article, Some(&staff.token))
            .await;
        assert_eq!(response.status(), 201, "creating {}", fixture.slug);
    }
    (staff, reader)
}

async fn slugs(app: &TestApp, query: &str, token: Option<&str>) -> Vec<String> {
    let page = json(app.get(&format!("/v1/kb/articles?{query}"), token).await).await;
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["slug"].as_str().map(str::to_owned))
        .collect()
}

on_every_backend! {
    async fn search_ranks_titles_first_stems_words_and_hides_unpublished_articles(app) {
        let (_staff, _reader) = seed(&app).await;
        // "install" is in two titles' stems and two bodies: title matches first, and the
        // draft and archived articles never show.
        assert_eq!(
            slugs(&app, "q=install", None).await,
            ["install-extensions", "proxy-settings", "offline-activation"].map(String::from),
            "title (stemmed) before body"
        );
        assert_eq!(slugs(&app, "q=installing+extension", None).await, ["install-extensions", "proxy-settings"].map(String::from));
        let counted = json(app.get("/v1/kb/articles?q=install&per_page=1", None).await).await;
        assert_eq!(counted["total"], 3, "the total counts every match: {counted}");
        assert_eq!(slugs(&app, "q=certificates", None).await, ["offline-activation"].map(String::from));
        assert_eq!(slugs(&app, "q=how+to+do+it", None).await, Vec::<String>::new());
        assert_eq!(slugs(&app, "q=install&category=network", None).await, ["proxy-settings"].map(String::from));
        assert_eq!(slugs(&app, "q=install&tag=marketplace", None).await, ["install-extensions"].map(String::from));
        assert_eq!(slugs(&app, "tag=licensing", None).await, ["offline-activation"].map(String::from));
        let all = slugs(&app, "", None).await;
        assert_eq!(all.len(), 4, "only published articles are public: {all:?}");
        assert!(!all.iter().any(|s| s == "install-beta" || s == "old-installer"));
    }
}

on_every_backend! {
    async fn snippets_highlight_matches_and_never_carry_markup(app) {
        let (_staff, _reader) = seed(&app).await;
        let page = json(app.get("/v1/kb/articles?q=extensions", None).await).await;
        let first = &page["items"][0];
        assert_eq!(first["slug"], "install-extensions");
        let snippet = first["snippet"].as_str().unwrap_or_default();
        assert!(snippet.contains("<mark>"), "{snippet}");
        assert!(snippet.to_lowercase().contains("<mark>extension"), "{snippet}");
        assert!(first.get("body").is_none(), "lists carry snippets, not bodies");

        let script = json(app.get("/v1/kb/articles?q=shortcut+command", None).await).await;
        let snippet = script["items"][0]["snippet"].as_str().unwrap_or_default();
        assert!(snippet.contains("<mark>"), "{snippet}");
        assert!(!snippet.contains("<script"), "article markup is escaped or dropped: {snippet}");
        let plain = json(app.get("/v1/kb/articles", None).await).await;
        assert!(plain["items"][0].get("snippet").is_none(), "no snippet without a query");
    }
}

on_every_backend! {
    async fn a_change_through_one_instance_is_searched_by_another_at_once(app) {
        let (staff, _reader) = seed(&app).await;
        let second = app.second_instance().await;
        assert_eq!(slugs(&second, "q=certificates", None).await, ["offline-activation"].map(String::from));

        let path = "/v1/kb/articles/offline-activation";
        let edit = app.patch(path, json!({"body": "Activate with a licence file."}), Some(&staff.token)).await;
        assert_eq!(edit.status(), 200);
        assert!(slugs(&second, "q=certificates", None).await.is_empty(), "the old text is gone on the next search");
        assert_eq!(slugs(&second, "q=licence+files", None).await, ["offline-activation"].map(String::from));

        // Each test server signs with its own secret: log in there.
        let there = second.login(&staff.email).await;
        let tag = second.patch(path, json!({"tags": ["offline"]}), Some(&there.token)).await;
        assert_eq!(tag.status(), 200);
        assert_eq!(slugs(&app, "q=licence&tag=offline", None).await, ["offline-activation"].map(String::from));
        let archive = second.patch(path, json!({"status": "archived"}), Some(&there.token)).await;
        assert_eq!(archive.status(), 200);
        assert!(slugs(&app, "q=licence", None).await.is_empty(), "archived through the other instance: not public here");
        let staff_view = slugs(&app, "q=licence&status=archived", Some(&staff.token)).await;
        assert_eq!(staff_view, ["offline-activation"].map(String::from));
        second.shutdown().await;
    }
}

on_every_backend! {
    async fn staff_see_every_status_and_others_only_published(app) {
        let (staff, reader) = seed(&app).await;
        for (token, status) in [(None, 404), (Some(reader.token.as_str()), 404), (Some(staff.token.as_str()), 200)] {
            let response = app.get("/v1/kb/articles/install-beta", token).await;
            assert_eq!(response.status(), status);
        }
        let drafts = app.get("/v1/kb/articles?status=draft", Some(&reader.token)).await;
        assert_problem(drafts, 403, "forbidden").await;
        assert_eq!(slugs(&app, "status=draft", Some(&staff.token)).await, ["install-beta"].map(String::from));
        assert_eq!(slugs(&app, "status=archived&q=installer", Some(&staff.token)).await, ["old-installer"].map(String::from));

        let archive = app.send(Method::DELETE, "/v1/kb/articles/proxy-settings", None, Some(&staff.token)).await;
        assert_eq!(archive.status(), 204);
        assert_eq!(app.get("/v1/kb/articles/proxy-settings", None).await.status(), 404);
        assert!(!slugs(&app, "q=proxy", None).await.contains(&"proxy-settings".to_owned()));

        let publish = app.patch("/v1/kb/articles/install-beta", json!({"status": "published"}), Some(&staff.token)).await;
        let published = json(publish).await;
        assert!(published["published_at"].is_string());
        assert_eq!(app.get("/v1/kb/articles/install-beta", None).await.status(), 200);
    }
}

on_every_backend! {
    async fn every_text_change_is_a_revision_and_old_ones_can_be_restored(app) {
        let (staff, reader) = seed(&app).await;
        let path = "/v1/kb/articles/offline-activation";
        let retitled = json(app.patch(path, json!({"title": "Activating offline"}), Some(&staff.token)).await).await;
        assert_eq!(retitled["revision"], 2);
        let tagged = json(app.patch(path, json!({"tags": ["offline", "licensing"]}), Some(&staff.token)).await).await;
        assert_eq!(tagged["revision"], 2, "tags are not text: no revision");
        assert_eq!(tagged["tags"], json!(["licensing", "offline"]));
        let same = json(app.patch(path, json!({"title": "Activating offline"}), Some(&staff.token)).await).await;
        assert_eq!(same["revision"], 2, "an unchanged text is no revision");
        let rebodied = json(app.patch(path, json!({"body": "Use a certificate file."}), Some(&staff.token)).await).await;
        assert_eq!((rebodied["revision"].clone(), rebodied["title"].clone()), (json!(3), json!("Activating offline")));

        let revisions = json(app.get(&format!("{path}/revisions"), Some(&staff.token)).await).await;
        let numbers: Vec<u64> = revisions["items"].as_array().into_iter().flatten().filter_map(|r| r["number"].as_u64()).collect();
        assert_eq!(numbers, [3, 2, 1]);
        let first = json(app.get(&format!("{path}/revisions/1"), Some(&staff.token)).await).await;
        assert_eq!(first["title"], "Offline activation");

        let restored = json(app.post(&format!("{path}/revisions/1/restore"), json!({}), Some(&staff.token)).await).await;
        assert_eq!(restored["revision"], 4);
        assert_eq!(restored["title"], "Offline activation");
        assert!(restored["body"].as_str().is_some_and(|b| b.starts_with("Without a network")));
        assert_eq!(slugs(&app, "q=certificate", None).await, ["offline-activation"].map(String::from), "search follows the restored text");

        assert_problem(app.get(&format!("{path}/revisions/9"), Some(&staff.token)).await, 404, "revision_not_found").await;
        assert_problem(app.get(&format!("{path}/revisions/x"), Some(&staff.token)).await, 404, "not_found").await;
        assert_eq!(app.get(&format!("{path}/revisions"), Some(&reader.token)).await.status(), 403);
    }
}

on_every_backend! {
    async fn views_and_votes_are_counted_once_per_voter(app) {
        let (_staff, reader) = seed(&app).await;
        let path = "/v1/kb/articles/keyboard-shortcuts";
        for _ in 0..3 {
            assert_eq!(app.get(path, None).await.status(), 200);
        }
        let read = json(app.get(path, None).await).await;
        assert_eq!(read["views"], 4);

        let vote = |helpful: bool, token: Option<String>| {
            let app = &app;
            async move { json(app.post(&format!("{path}/feedback"), json!({"helpful": helpful}), token.as_deref()).await).await }
        };
        assert_eq!(vote(true, Some(reader.token.clone())).await, json!({"helpful_yes": 1, "helpful_no": 0}));
        assert_eq!(vote(true, Some(reader.token.clone())).await, json!({"helpful_yes": 1, "helpful_no": 0}), "a repeated vote counts once");
        assert_eq!(vote(false, Some(reader.token.clone())).await, json!({"helpful_yes": 0, "helpful_no": 1}), "a changed vote moves");
        assert_eq!(vote(true, None).await, json!({"helpful_yes": 1, "helpful_no": 1}), "an anonymous client counts");
        assert_eq!(vote(true, None).await, json!({"helpful_yes": 1, "helpful_no": 1}), "once a day");

        let voters: Vec<Account> = join_all((0..5).map(|n| {
            let app = &app;
            async move { app.register(&format!("voter{n}@example.com")).await }
        }))
        .await;
        join_all(voters.iter().flat_map(|voter| {
            [true, false, true].map(|helpful| vote(helpful, Some(voter.token.clone())))
        }))
        .await;
        let after = json(app.get(path, None).await).await;
        let total = after["helpful_yes"].as_u64().unwrap_or(0) + after["helpful_no"].as_u64().unwrap_or(0);
        assert_eq!(total, 7, "one vote per voter however the requests interleave: {after}");

        let draft = app.post("/v1/kb/articles/install-beta/feedback", json!({"helpful": true}), None).await;
        assert_problem(draft, 404, "article_not_found").await;
    }
}

on_every_backend! {
    async fn article_input_is_checked(app) {
        let (staff, _reader) = seed(&app).await;
        let token = Some(staff.token.as_str());
        let base = json!({"slug": "fresh-article", "title": "Fresh", "body": "Body", "category": "misc"});
        let with = |field: &str, value: Value| {
            let mut body = base.clone();
            body[field] = value;
            body
        };
        for (body, field) in [
            (with("slug", json!("Bad Slug")), "slug"),
            (with("slug", json!("ab")), "slug"),
            (with("title", json!("   ")), "title"),
            (with("category", json!("Not A Label")), "category"),
            (with("tags", json!(["UPPER"])), "tags"),
        ] {
            let problem = assert_problem(app.post("/v1/kb/articles", body, token).await, 422, "validation_failed").await;
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
        let unknown_status = app.post("/v1/kb/articles", with("status", json!("deleted")), token).await;
        assert_problem(unknown_status, 422, "invalid_body").await;
        let duplicate = app.post("/v1/kb/articles", with("slug", json!("proxy-settings")), token).await;
        assert_problem(duplicate, 409, "slug_taken").await;
        let long_query = app.get(&format!("/v1/kb/articles?q={}", "a".repeat(201)), None).await;
        assert_eq!(long_query.status(), 422);
    }
}
