//! Download counts of `SqlMarketStore` under parallel downloads, on SQLite always and on
//! PostgreSQL when `DEVFORGE_TEST_POSTGRES_URL` names a server: every download that
//! returns is counted once, in its extension's, its version's and its day's figures,
//! however the downloads are batched.

use chrono::{NaiveDate, Utc};
use devforge_domain::UserId;
use devforge_marketplace::extension::{ExtCategory, Extension, ExtensionId, Pricing};
use devforge_marketplace::name::ExtensionName;
use devforge_marketplace::ports::{
    CatalogRepository, DownloadRepository, PublisherQuota, VersionInsert,
};
use devforge_marketplace::version::{ExtVersion, ReviewState, VersionId};
use devforge_persistence::SqlMarketStore;

mod support;

use support::TestDb;

async fn extension(store: &SqlMarketStore, owner: UserId, name: &str) -> ExtensionId {
    let now = Utc::now();
    let extension = Extension {
        id: ExtensionId::generate(),
        name: ExtensionName::parse(name).unwrap_or_else(|e| panic!("{e:?}")),
        display_name: name.to_owned(),
        description: String::new(),
        category: ExtCategory::ALL[0],
        tags: Vec::new(),
        repository_url: None,
        homepage_url: None,
        pricing: Pricing::Free,
        owner,
        latest_version: None,
        published_at: None,
        downloads: 0,
        rating_sum: 0,
        rating_count: 0,
        created_at: now,
        updated_at: now,
    };
    let id = extension.id;
    store
        .insert_extension(extension)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    id
}

async fn version(
    store: &SqlMarketStore,
    owner: UserId,
    extension: ExtensionId,
    minor: u64,
) -> VersionId {
    let version = ExtVersion {
        id: VersionId::generate(),
        extension_id: extension,
        version: semver::Version::new(1, minor, 0),
        engine: semver::VersionReq::STAR,
        changelog: String::new(),
        sha256: String::new(),
        size: 0,
        state: ReviewState::Pending,
        reject_reason: None,
        yanked: false,
        downloads: 0,
        created_at: Utc::now(),
        published_at: None,
    };
    let id = version.id;
    let inserted = store
        .insert_version(
            version,
            format!("test/{id}"),
            owner,
            PublisherQuota::UNLIMITED,
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(matches!(inserted, VersionInsert::Inserted));
    id
}

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, n).unwrap_or_else(|| panic!("day {n}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_downloads_are_each_counted_once() {
    for test in TestDb::all().await {
        let owner = test.user().await;
        let store = SqlMarketStore::new(test.db.clone());
        let busy = extension(&store, owner, "busy-counted").await;
        let quiet = extension(&store, owner, "quiet-counted").await;
        let busy_old = version(&store, owner, busy, 0).await;
        let busy_new = version(&store, owner, busy, 1).await;
        let quiet_only = version(&store, owner, quiet, 0).await;
        // Two stores over one database, as two server workers have: their batches meet
        // in the database.
        let stores = [store.clone(), SqlMarketStore::new(test.db.clone())];
        let plan: Vec<(ExtensionId, VersionId, NaiveDate)> = (0..600u32)
            .map(|n| match n % 6 {
                0..=2 => (busy, busy_new, day(3 + n % 2)),
                3 | 4 => (busy, busy_old, day(3)),
                _ => (quiet, quiet_only, day(4)),
            })
            .collect();
        let tasks: Vec<_> = plan
            .iter()
            .enumerate()
            .map(|(n, &(extension, version, day))| {
                let store = stores[n % 2].clone();
                tokio::spawn(async move { store.count_download(extension, version, day).await })
            })
            .collect();
        for task in tasks {
            task.await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e:?}"));
        }

        let downloads = |id| {
            let store = store.clone();
            async move {
                store
                    .extension_by_id(id)
                    .await
                    .unwrap_or_else(|e| panic!("{e:?}"))
                    .map(|e| e.downloads)
            }
        };
        assert_eq!(downloads(busy).await, Some(500), "{}", test.url);
        assert_eq!(downloads(quiet).await, Some(100));
        let stats = store
            .download_stats(busy, day(1))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(stats.total, 500);
        let mut per_version = stats.per_version.clone();
        per_version.sort();
        assert_eq!(
            per_version,
            vec![("1.0.0".to_owned(), 200), ("1.1.0".to_owned(), 300)]
        );
        // Day 3: all 200 of 1.0.0 and two in three of 1.1.0's 300; day 4: the rest.
        assert_eq!(stats.daily, vec![(day(3), 400), (day(4), 100)]);
        let quiet_stats = store
            .download_stats(quiet, day(1))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(quiet_stats.daily, vec![(day(4), 100)]);
    }
}
