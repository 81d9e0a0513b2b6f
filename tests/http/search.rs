//! Marketplace search as a search box meets it, answered by the listing index: exact names
//! first, prefixes while typing, dashes and spaces alike, typos forgiven in longer words,
//! popularity that never outranks a better match, facet counts, the same answers on both
//! databases, bad input refused, and changes made through one instance seen by another
//! within a second.

use crate::marketplace::{Market, market};
use devforge_tests::{Backend, TestApp, assert_problem, backends, json};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A small catalogue with real-looking names, some downloads and one rating.
async fn catalogue(m: &Market<'_>) {
    let entries = [
        (
            "eslint",
            "linters",
            json!(["lint"]),
            "An AST-based pattern checker for JavaScript",
            0,
        ),
        (
            "eslint-plugin-react",
            "linters",
            json!(["eslint", "react"]),
            "React specific linting rules for ESLint",
            3,
        ),
        (
            "eslint-plugin-import",
            "linters",
            json!(["eslint"]),
            "Import with sanity",
            1,
        ),
        (
            "my-eslint-plugin",
            "other",
            json!(["eslint"]),
            "Plugin for eslint",
            5,
        ),
        (
            "react",
            "other",
            json!([]),
            "React is a JavaScript library for building user interfaces",
            0,
        ),
        (
            "preact",
            "other",
            json!([]),
            "Fast 3kB alternative to React",
            0,
        ),
        (
            "typescript",
            "languages",
            json!(["types"]),
            "TypeScript is a language for application scale JavaScript",
            0,
        ),
        (
            "webpack",
            "other",
            json!([]),
            "Packs modules, every plugin welcome",
            8,
        ),
        (
            "prettier",
            "linters",
            json!([]),
            "An opinionated code formatter",
            0,
        ),
        (
            "dprint",
            "linters",
            json!([]),
            "A pluggable code formatter",
            0,
        ),
    ];
    for (name, category, tags, description, downloads) in entries {
        m.publish(
            name,
            json!({"category": category, "tags": tags, "description": description}),
        )
        .await;
        for _ in 0..downloads {
            let path = format!("/v1/extensions/{name}/latest/download");
            assert_eq!(m.download(&path, None).await.status(), 200);
        }
    }
    let rated = m
        .app
        .post(
            "/v1/extensions/dprint/reviews",
            json!({"rating": 5}),
            Some(&m.user.token),
        )
        .await;
    assert_eq!(rated.status(), 201);
}

async fn listing(m: &Market<'_>, query: &str) -> Value {
    json(m.app.get(&format!("/v1/extensions?{query}"), None).await).await
}

/// Runs every relevance rule against the catalogue and returns what each query answered,
/// so the backends can be compared.
async fn relevance_rules(m: &Market<'_>) -> Vec<(String, Vec<String>)> {
    let mut answers = Vec::new();
    let mut ask = async |query: &str| {
        let names = m.names(query).await;
        answers.push((query.to_owned(), names.clone()));
        names
    };

    let eslint = ask("q=eslint").await;
    assert_eq!(
        eslint.first().map(String::as_str),
        Some("eslint"),
        "the exact name first, downloads notwithstanding: {eslint:?}"
    );
    let typing = ask("q=eslint-pl").await;
    assert_eq!(
        typing,
        [
            "eslint-plugin-react",
            "eslint-plugin-import",
            "my-eslint-plugin"
        ],
        "a prefix of a name finds it; names that start with the text first, then by downloads"
    );
    assert_eq!(
        ask("q=eslint+pl").await,
        typing,
        "dashes and spaces are interchangeable"
    );
    assert_eq!(ask("q=eslint+plugin").await, ask("q=eslint-plugin").await);
    assert_eq!(
        ask("q=eslint+plugin+react")
            .await
            .first()
            .map(String::as_str),
        Some("eslint-plugin-react"),
        "the exact name, typed with spaces"
    );
    assert_eq!(
        ask("q=ESLint-Plugin-React")
            .await
            .first()
            .map(String::as_str),
        Some("eslint-plugin-react")
    );

    assert!(
        ask("q=raect").await.contains(&"react".to_owned()),
        "one typo in a word of five letters"
    );
    assert!(
        ask("q=typscript").await.contains(&"typescript".to_owned()),
        "one typo (a letter missing)"
    );
    assert!(
        ask("q=tpyescirpt").await.contains(&"typescript".to_owned()),
        "two typos in a word of nine or more letters"
    );
    assert!(
        !ask("q=raetc").await.contains(&"react".to_owned()),
        "but never two typos in a word of five"
    );
    assert!(
        ask("q=rect").await.iter().all(|name| name != "react"),
        "nor one in a word of four"
    );
    assert_eq!(
        ask("q=preact").await,
        ["preact"],
        "a word spelt as the catalogue spells it is not taken for a typo of another (`react`)"
    );
    assert!(
        ask("q=preakt").await.contains(&"preact".to_owned()),
        "a word it does not hold is"
    );
    assert_eq!(
        ask("q=fast+alternatve").await,
        ["preact"],
        "a typo in one word of several"
    );
    let react = ask("q=react").await;
    assert_eq!(
        react.first().map(String::as_str),
        Some("react"),
        "{react:?}"
    );
    assert!(
        react.iter().position(|n| n == "eslint-plugin-react")
            < react.iter().position(|n| n == "preact"),
        "a name match above a description match: {react:?}"
    );

    let plugin = ask("q=plugin").await;
    assert_eq!(
        plugin,
        [
            "my-eslint-plugin",
            "eslint-plugin-react",
            "eslint-plugin-import",
            "webpack"
        ],
        "among name matches the most downloaded first; the most downloaded of all, matching only in its description, last"
    );
    assert_eq!(
        ask("q=formatter").await,
        ["dprint", "prettier"],
        "the better rated first among equal matches"
    );

    assert_eq!(
        ask("q=eslint&category=linters&sort=name").await,
        ["eslint", "eslint-plugin-import", "eslint-plugin-react"]
    );
    assert_eq!(ask("q=eslint&sort=downloads").await[0], "my-eslint-plugin");
    assert_eq!(
        ask("tag=eslint&sort=downloads").await,
        [
            "my-eslint-plugin",
            "eslint-plugin-react",
            "eslint-plugin-import"
        ]
    );
    assert_eq!(
        ask("category=linters&tag=eslint&sort=name").await,
        ["eslint-plugin-import", "eslint-plugin-react"]
    );
    assert_eq!(
        ask("sort=downloads&per_page=3").await,
        ["webpack", "my-eslint-plugin", "eslint-plugin-react"]
    );
    assert_eq!(ask("sort=rating&per_page=1").await, ["dprint"]);
    assert_eq!(
        ask("sort=name&per_page=2&page=2").await,
        ["eslint-plugin-import", "eslint-plugin-react"]
    );
    assert_eq!(
        ask("sort=newest&per_page=1").await,
        ["dprint"],
        "published last"
    );
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_ranks_as_a_search_box_should_and_alike_on_both_databases() {
    let mut transcripts = Vec::new();
    for backend in backends() {
        eprintln!("-- search relevance on {backend:?}");
        let app = TestApp::spawn(backend).await;
        let m = market(&app).await;
        catalogue(&m).await;
        transcripts.push((backend, relevance_rules(&m).await));
        app.shutdown().await;
    }
    let (first_backend, first) = &transcripts[0];
    for (backend, answers) in &transcripts[1..] {
        for ((query, a), (_, b)) in first.iter().zip(answers) {
            assert_eq!(a, b, "`{query}`: {first_backend:?} and {backend:?} differ");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listing_carries_facet_counts() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let m = market(&app).await;
        catalogue(&m).await;
        let found = listing(&m, "q=eslint").await;
        assert_eq!(found["total"], 4, "{found}");
        assert_eq!(
            found["facets"]["categories"],
            json!([{"value": "linters", "count": 3}, {"value": "other", "count": 1}]),
            "{found}"
        );
        assert_eq!(
            found["facets"]["tags"],
            json!([{"value": "eslint", "count": 3}, {"value": "lint", "count": 1}, {"value": "react", "count": 1}]),
            "most frequent first, then by name: {found}"
        );
        let everything = listing(&m, "per_page=1").await;
        assert_eq!(everything["total"], 10);
        let categories = everything["facets"]["categories"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let counted: u64 = categories.iter().filter_map(|c| c["count"].as_u64()).sum();
        assert_eq!(counted, 10, "{everything}");
        assert_eq!(categories[0], json!({"value": "linters", "count": 5}));
        let linters = listing(&m, "category=linters").await;
        assert_eq!(
            linters["facets"]["categories"],
            json!([{"value": "linters", "count": 5}])
        );
        assert_eq!(
            linters["facets"]["tags"][0],
            json!({"value": "eslint", "count": 2})
        );
        let tagged = listing(&m, "tag=eslint").await;
        assert_eq!(
            tagged["facets"]["categories"],
            json!([{"value": "linters", "count": 2}, {"value": "other", "count": 1}])
        );
        let nothing = listing(&m, "q=zzzzzz").await;
        assert_eq!(
            (
                nothing["total"].clone(),
                nothing["facets"]["categories"].clone()
            ),
            (json!(0), json!([]))
        );
        app.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_search_input_gets_a_clear_4xx() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let m = market(&app).await;
        catalogue(&m).await;
        let huge = "a".repeat(5_000);
        assert_problem(
            app.get(&format!("/v1/extensions?q={huge}"), None).await,
            422,
            "validation_failed",
        )
        .await;
        let many_terms = (0..50)
            .map(|n| format!("t{n}"))
            .collect::<Vec<_>>()
            .join("+");
        let answered = app
            .get(&format!("/v1/extensions?q={many_terms}"), None)
            .await;
        assert_eq!(
            answered.status(),
            200,
            "as many words as 200 characters hold: the first twelve count"
        );
        assert_eq!(
            app.get("/v1/extensions?q=eslint%00", None).await.status(),
            200,
            "a NUL is punctuation"
        );
        for bad in [
            "per_page=0",
            "per_page=101",
            "page=0",
            "sort=popular",
            "category=games",
            "tag=Not%20A%20Tag",
        ] {
            let status = app
                .get(&format!("/v1/extensions?{bad}"), None)
                .await
                .status()
                .as_u16();
            assert!((400..500).contains(&status), "{bad}: {status}");
        }
        let far = listing(&m, "q=eslint&page=1000000").await;
        assert_eq!(
            (far["items"].clone(), far["total"].clone()),
            (json!([]), json!(4))
        );
        app.shutdown().await;
    }
}

/// Polls `names` on `app` until `wanted` holds, and says how long that took.
async fn seen_within(m: &Market<'_>, query: &str, wanted: impl Fn(&[String]) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if wanted(&m.names(query).await) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "`{query}` never showed the change"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_instance_reaches_another_within_a_second() {
    for backend in backends().into_iter().filter(|b| *b == Backend::Postgres) {
        let first = TestApp::spawn(backend).await;
        let m = market(&first).await;
        m.publish(
            "night-owl",
            json!({"description": "A dark theme for late coders", "category": "themes"}),
        )
        .await;
        let second = first.second_instance().await;
        let other = Market {
            app: &second,
            owner: m.owner.clone(),
            admin: m.admin.clone(),
            user: m.user.clone(),
        };
        assert_eq!(
            other.names("q=night").await,
            ["night-owl"],
            "loaded at start"
        );

        let edit = json!({"description": "Midnight colours"});
        assert_eq!(
            first
                .patch("/v1/extensions/night-owl", edit, Some(&m.owner.token))
                .await
                .status(),
            200
        );
        let took = seen_within(&other, "q=midnight", |names| names == ["night-owl"]).await;
        assert!(took < Duration::from_secs(1), "an edit took {took:?}");
        assert!(
            other.names("q=coders").await.is_empty(),
            "the old text is gone there too"
        );

        let yank = first
            .post(
                "/v1/extensions/night-owl/versions/1.0.0/yank",
                json!({}),
                Some(&m.owner.token),
            )
            .await;
        assert_eq!(yank.status(), 200);
        let took = seen_within(&other, "q=midnight", <[String]>::is_empty).await;
        assert!(took < Duration::from_secs(1), "a yank took {took:?}");

        m.publish("day-owl", json!({"description": "A light theme"}))
            .await;
        let took = seen_within(&other, "q=day-owl", |names| names == ["day-owl"]).await;
        assert!(
            took < Duration::from_secs(1),
            "a new extension took {took:?}"
        );
        for _ in 0..2 {
            assert_eq!(
                m.download("/v1/extensions/day-owl/latest/download", None)
                    .await
                    .status(),
                200
            );
        }
        let started = Instant::now();
        loop {
            let page = listing(&other, "q=day-owl").await;
            if page["items"][0]["downloads"] == 2 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "download counts: {page}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        second.shutdown().await;
        first.shutdown().await;
    }
}
