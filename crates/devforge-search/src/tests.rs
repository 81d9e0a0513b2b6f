//! The index's own rules, without a server: freshness, the order of reads, and sort orders
//! that stay sorted while extensions change.

use crate::{ExtensionIndex, MAX_STALENESS, typos_allowed};
use devforge_domain::{PageRequest, SearchQuery, UserId};
use devforge_marketplace::extension::{ExtCategory, Extension, ExtensionId, Pricing, Tag};
use devforge_marketplace::index::{IndexState, ListingIndex, ListingUpdate};
use devforge_marketplace::name::ExtensionName;
use devforge_marketplace::ports::{ExtSort, ExtensionSearch};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

fn extension(name: &str, downloads: u64) -> Extension {
    let now = chrono::Utc::now();
    Extension {
        id: ExtensionId::generate(),
        name: ExtensionName::parse(name).unwrap_or_else(|e| panic!("{e}")),
        display_name: name.to_owned(),
        description: format!("The {name} extension"),
        category: ExtCategory::Other,
        tags: Tag::parse_all(&["tool".to_owned()]).unwrap_or_default(),
        repository_url: None,
        homepage_url: None,
        pricing: Pricing::Free,
        owner: UserId::generate(),
        latest_version: Some("1.0.0".to_owned()),
        published_at: Some(now),
        downloads,
        rating_sum: 0,
        rating_count: 0,
        created_at: now,
        updated_at: now,
    }
}

fn page() -> PageRequest {
    PageRequest::new(Some(1), Some(100)).unwrap_or_else(|e| panic!("{e}"))
}

fn by(sort: ExtSort) -> ExtensionSearch {
    ExtensionSearch {
        sort,
        ..ExtensionSearch::default()
    }
}

fn typed(text: &str) -> ExtensionSearch {
    let query = SearchQuery::parse_typing(text).unwrap_or_else(|e| panic!("{e}"));
    ExtensionSearch {
        query: Some((query, text.to_owned())),
        sort: ExtSort::Relevance,
        ..ExtensionSearch::default()
    }
}

fn names(index: &ExtensionIndex, search: &ExtensionSearch) -> Option<Vec<String>> {
    let listing = index.search(search, page())?;
    Some(
        listing
            .page
            .items
            .iter()
            .map(|e| e.name.as_str().to_owned())
            .collect(),
    )
}

fn update(extension: &Extension, read_started: Instant) -> ListingUpdate {
    ListingUpdate {
        id: extension.id,
        current: Some(extension.clone()),
        read_started,
    }
}

#[test]
fn nothing_is_answered_before_the_load_and_its_proof() {
    let index = ExtensionIndex::new();
    assert_eq!(index.state(), IndexState::Building);
    assert_eq!(names(&index, &by(ExtSort::Name)), None);
    index.load(vec![extension("alpha", 1)], Instant::now());
    assert_eq!(
        index.state(),
        IndexState::Behind,
        "loaded, but nothing vouches for it"
    );
    assert_eq!(names(&index, &by(ExtSort::Name)), None);
    index.confirm(None);
    assert_eq!(index.state(), IndexState::Current);
    assert_eq!(
        names(&index, &by(ExtSort::Name)),
        Some(vec!["alpha".to_owned()])
    );
}

#[test]
fn a_feed_proof_expires_and_a_lost_feed_or_change_stops_answers() {
    let index = ExtensionIndex::new();
    let alpha = extension("alpha", 1);
    index.load(vec![alpha.clone()], Instant::now());
    let old = overdue();
    index.confirm(Some(old));
    assert_eq!(
        names(&index, &by(ExtSort::Name)),
        None,
        "a proof older than the limit"
    );
    index.confirm(Some(Instant::now()));
    assert!(names(&index, &by(ExtSort::Name)).is_some());
    index.confirm(Some(old));
    assert!(
        names(&index, &by(ExtSort::Name)).is_some(),
        "an older proof never replaces a newer one"
    );
    index.suspect();
    assert_eq!(names(&index, &by(ExtSort::Name)), None, "the feed was lost");
    index.confirm(Some(Instant::now()));
    index.lost(alpha.id);
    assert_eq!(index.lost_ids(), vec![alpha.id]);
    assert_eq!(
        names(&index, &by(ExtSort::Name)),
        None,
        "a change not read back"
    );
    index.apply(vec![update(&alpha, Instant::now())]);
    assert!(index.lost_ids().is_empty());
    assert!(names(&index, &by(ExtSort::Name)).is_some());
}

/// A proof older than the limit, as a feed whose heartbeats are late leaves it.
fn overdue() -> Instant {
    Instant::now()
        .checked_sub(MAX_STALENESS + Duration::from_millis(50))
        .unwrap_or_else(Instant::now)
}

fn late_index() -> Arc<ExtensionIndex> {
    let index = Arc::new(ExtensionIndex::new());
    index.load(vec![extension("alpha", 1)], Instant::now());
    index.confirm(Some(overdue()));
    assert_eq!(index.state(), IndexState::Behind);
    index
}

/// Starts a wait of at most `within` on `index`, and lets it begin waiting.
async fn waiting(index: &Arc<ExtensionIndex>, within: Duration) -> JoinHandle<bool> {
    let waiter = Arc::clone(index);
    let wait = tokio::spawn(async move { waiter.wait_current(within).await });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!wait.is_finished(), "a late proof is waited for");
    wait
}

#[tokio::test(start_paused = true)]
async fn a_late_proof_is_waited_for_until_the_feed_confirms() {
    let index = late_index();
    let started = tokio::time::Instant::now();
    let wait = waiting(&index, Duration::from_secs(1)).await;
    index.confirm(Some(Instant::now()));
    assert_eq!(wait.await.ok(), Some(true));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "ended by the confirm"
    );
    assert!(names(&index, &by(ExtSort::Name)).is_some());
}

#[tokio::test(start_paused = true)]
async fn a_confirm_still_too_old_keeps_the_wait_going_to_its_bound() {
    let index = late_index();
    let started = tokio::time::Instant::now();
    let wait = waiting(&index, Duration::from_secs(1)).await;
    index.confirm(Some(overdue()));
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        !wait.is_finished(),
        "an overdue proof does not end the wait"
    );
    assert_eq!(wait.await.ok(), Some(false));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_millis(1_100),
        "ended by the bound, after {waited:?}"
    );
    assert_eq!(names(&index, &by(ExtSort::Name)), None);
}

#[tokio::test(start_paused = true)]
async fn a_lost_feed_ends_the_wait_at_once() {
    let index = late_index();
    let started = tokio::time::Instant::now();
    let wait = waiting(&index, Duration::from_secs(1)).await;
    index.suspect();
    assert_eq!(wait.await.ok(), Some(false));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "ended by the loss"
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_is_waited_for_when_waiting_cannot_help() {
    let within = Duration::from_secs(1);
    let started = tokio::time::Instant::now();
    let unloaded = ExtensionIndex::new();
    unloaded.confirm(Some(overdue()));
    assert!(!unloaded.wait_current(within).await, "not loaded yet");
    let index = late_index();
    index.suspect();
    assert!(!index.wait_current(within).await, "no feed");
    let beta = extension("beta", 2);
    index.confirm(Some(overdue()));
    index.lost(beta.id);
    assert!(!index.wait_current(within).await, "a change not read back");
    index.apply(vec![update(&beta, Instant::now())]);
    index.confirm(Some(Instant::now()));
    assert!(index.wait_current(within).await, "already current");
    assert_eq!(started.elapsed(), Duration::ZERO, "none of them waited");
}

#[test]
fn a_read_older_than_the_one_held_is_ignored() {
    let index = ExtensionIndex::new();
    let before = Instant::now();
    let mut alpha = extension("alpha", 1);
    index.load(vec![alpha.clone()], Instant::now());
    index.confirm(None);
    alpha.description = "Renamed everything".to_owned();
    index.apply(vec![update(&alpha, Instant::now())]);
    let mut stale = alpha.clone();
    stale.description = "The old text".to_owned();
    index.apply(vec![update(&stale, before)]);
    assert_eq!(
        names(&index, &typed("renamed")),
        Some(vec!["alpha".to_owned()])
    );
    assert_eq!(names(&index, &typed("old")), Some(Vec::new()));
    alpha.latest_version = None;
    index.apply(vec![update(&alpha, Instant::now())]);
    assert_eq!(
        names(&index, &typed("renamed")),
        Some(Vec::new()),
        "no longer public"
    );
    assert_eq!(names(&index, &by(ExtSort::Name)), Some(Vec::new()));
}

#[test]
fn updates_before_the_load_are_replayed_onto_it() {
    let index = ExtensionIndex::new();
    let scan_started = Instant::now();
    let mut alpha = extension("alpha", 1);
    let scanned = alpha.clone();
    alpha.downloads = 50;
    index.apply(vec![update(&alpha, Instant::now())]);
    index.load(vec![scanned], scan_started);
    index.confirm(None);
    let listing = index.search(&by(ExtSort::Downloads), page());
    let downloads = listing.and_then(|l| l.page.items.first().map(|e| e.downloads));
    assert_eq!(
        downloads,
        Some(50),
        "the change read after the scan began wins"
    );
}

#[test]
fn orders_stay_sorted_as_counts_change() {
    let index = ExtensionIndex::new();
    let mut all: Vec<Extension> = (0..60)
        .map(|n| extension(&format!("ext-{n:02}"), (n * 37) % 11))
        .collect();
    index.load(all.clone(), Instant::now());
    index.confirm(None);
    for round in 0..200_u64 {
        let n = usize::try_from((round * 17) % 60).unwrap_or(0);
        all[n].downloads = (round * 7919) % 23;
        all[n].rating_count = round % 3;
        all[n].rating_sum = round % 3 * (1 + round % 5);
        index.apply(vec![update(&all[n], Instant::now())]);
    }
    for sort in [
        ExtSort::Downloads,
        ExtSort::Rating,
        ExtSort::Name,
        ExtSort::Newest,
    ] {
        let mut expected = all.clone();
        expected.sort_by(|a, b| crate::rank::sorted(sort, a, b));
        let expected: Vec<String> = expected
            .iter()
            .map(|e| e.name.as_str().to_owned())
            .collect();
        assert_eq!(names(&index, &by(sort)), Some(expected), "{sort:?}");
    }
    let total = index
        .search(&by(ExtSort::Name), page())
        .map(|l| l.page.total);
    assert_eq!(total, Some(60));
}

#[test]
fn typos_are_forgiven_by_word_length() {
    assert_eq!(
        [1, 4, 5, 8, 9, 20].map(typos_allowed),
        [0, 0, 1, 1, 2, 2],
        "as Meilisearch: one from 5 letters, two from 9"
    );
}
