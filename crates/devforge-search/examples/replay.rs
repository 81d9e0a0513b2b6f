//! Replays typed queries against an index of a catalogue TSV, in process, and prints where
//! the time goes per kind of query: `cargo run --release -p devforge-search --example replay
//! -- CATALOGUE.tsv QUERIES.txt`.

use devforge_domain::{PageRequest, SearchQuery, UserId};
use devforge_marketplace::extension::{ExtCategory, Extension, ExtensionId, Pricing, Tag};
use devforge_marketplace::index::ListingIndex as _;
use devforge_marketplace::name::ExtensionName;
use devforge_marketplace::ports::{ExtSort, ExtensionSearch};
use devforge_search::ExtensionIndex;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(catalogue), Some(queries)) = (args.first(), args.get(1)) else {
        eprintln!("usage: replay CATALOGUE.tsv QUERIES.txt");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(catalogue).unwrap_or_default();
    let now = chrono::Utc::now();
    let extensions: Vec<Extension> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut columns = line.split('\t');
            let name = ExtensionName::parse(columns.next()?).ok()?;
            let description = columns.next()?.to_owned();
            let downloads = columns.next()?.parse().ok()?;
            let words: Vec<String> = name
                .as_str()
                .split('-')
                .take(3)
                .map(str::to_owned)
                .collect();
            Some(Extension {
                id: ExtensionId::generate(),
                display_name: name.as_str().to_owned(),
                name,
                description,
                category: ExtCategory::Other,
                tags: Tag::parse_all(&words).unwrap_or_default(),
                repository_url: None,
                homepage_url: None,
                pricing: Pricing::Free,
                owner: UserId::generate(),
                latest_version: Some("1.0.0".into()),
                published_at: Some(now),
                downloads,
                rating_sum: 0,
                rating_count: 0,
                created_at: now,
                updated_at: now,
            })
        })
        .collect();
    drop(text);
    println!("resident with the listings read: {} MB", resident_mb());
    let index = ExtensionIndex::new();
    let started = Instant::now();
    let count = extensions.len();
    index.load(extensions, Instant::now());
    index.confirm(None);
    println!("built {count} in {:?}", started.elapsed());
    println!("resident with the index built: {} MB", resident_mb());
    let page = PageRequest::new(Some(1), Some(20)).unwrap_or_else(|e| panic!("{e}"));
    let mut by_length: Vec<(Duration, u32)> = vec![(Duration::ZERO, 0); 40];
    let mut all = Vec::new();
    for raw in std::fs::read_to_string(queries).unwrap_or_default().lines() {
        let Ok(query) = SearchQuery::parse_typing(raw) else {
            continue;
        };
        let search = ExtensionSearch {
            query: Some((query, raw.to_lowercase())),
            sort: ExtSort::Relevance,
            ..ExtensionSearch::default()
        };
        let started = Instant::now();
        let found = index.search(&search, page);
        let took = started.elapsed();
        assert!(found.is_some());
        let bucket = &mut by_length[raw.len().min(39)];
        bucket.0 += took;
        bucket.1 += 1;
        all.push((took, raw.to_owned()));
    }
    all.sort();
    let total: Duration = all.iter().map(|(d, _)| *d).sum();
    println!(
        "{} queries, mean {:?}, p50 {:?}, p95 {:?}, p99 {:?}",
        all.len(),
        total / all.len() as u32,
        all[all.len() / 2].0,
        all[all.len() * 95 / 100].0,
        all[all.len() * 99 / 100].0
    );
    for (length, (sum, n)) in by_length.iter().enumerate().filter(|(_, (_, n))| *n > 0) {
        println!("length {length:2}: {n:5} queries, mean {:?}", *sum / *n);
    }
    for (took, raw) in all.iter().rev().take(15) {
        println!("slowest: {took:?} {raw}");
    }
    println!("resident after the queries: {} MB", resident_mb());
    // jemalloc's background thread returns freed pages within seconds: this is what stays.
    std::thread::sleep(Duration::from_secs(12));
    println!("resident 12 s later: {} MB", resident_mb());
}

/// This process's resident memory, from `/proc/self/statm` (0 where there is none).
fn resident_mb() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    pages * 4096 / 1_000_000
}
