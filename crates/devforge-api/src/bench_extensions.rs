//! `devforge bench seed-extensions`: fills a database with public extensions whose names,
//! tags and descriptions read like a real marketplace's, for `cargo xtask bench search`.
//! Each goes through the marketplace's storage port (listing, version, approval), so the
//! search indexes are built as in production. Hidden from `--help`: never for production.

use crate::app::{self, MigrationPolicy};
use crate::settings::Settings;
use devforge_marketplace::extension::{ExtCategory, Extension, ExtensionId, Pricing, Tag};
use devforge_marketplace::name::ExtensionName;
use devforge_marketplace::ports::{CatalogRepository, VersionChange};
use devforge_marketplace::version::{ExtVersion, ReviewState, VersionId};
use devforge_persistence::SqlMarketStore;
use rand::Rng as _;
use sea_orm::ConnectionTrait as _;

const LANGUAGES: [&str; 24] = [
    "rust",
    "python",
    "go",
    "typescript",
    "javascript",
    "java",
    "kotlin",
    "swift",
    "ruby",
    "elixir",
    "haskell",
    "zig",
    "scala",
    "php",
    "lua",
    "dart",
    "julia",
    "ocaml",
    "clojure",
    "erlang",
    "perl",
    "r",
    "csharp",
    "cpp",
];
const KINDS: [(&str, ExtCategory); 16] = [
    ("analyzer", ExtCategory::Languages),
    ("language-server", ExtCategory::Languages),
    ("syntax", ExtCategory::Languages),
    ("formatter", ExtCategory::Linters),
    ("linter", ExtCategory::Linters),
    ("debugger", ExtCategory::Debuggers),
    ("test-runner", ExtCategory::Debuggers),
    ("snippets", ExtCategory::Snippets),
    ("theme", ExtCategory::Themes),
    ("icons", ExtCategory::Themes),
    ("git-lens", ExtCategory::Scm),
    ("blame", ExtCategory::Scm),
    ("copilot", ExtCategory::Ai),
    ("assistant", ExtCategory::Ai),
    ("docs", ExtCategory::Other),
    ("preview", ExtCategory::Other),
];
const WORDS: [&str; 24] = [
    "fast",
    "smart",
    "modern",
    "lightweight",
    "powerful",
    "dark",
    "light",
    "minimal",
    "inline",
    "hints",
    "completion",
    "refactoring",
    "navigation",
    "highlighting",
    "errors",
    "warnings",
    "projects",
    "workspace",
    "remote",
    "notebooks",
    "react",
    "testing",
    "coverage",
    "performance",
];

/// An error as a message, with its causes (the binary prints only messages).
fn failed(err: impl std::fmt::Display + std::fmt::Debug) -> String {
    format!("{err}: {err:?}")
}

fn pick<'a>(rng: &mut impl rand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// Seeds `count` public extensions with `concurrency` writers, then spreads download
/// counts over them.
///
/// # Errors
/// A message when the database fails.
pub async fn seed_extensions(
    settings: &Settings,
    count: usize,
    concurrency: usize,
) -> Result<(), String> {
    let database = app::open_database(settings).await.map_err(failed)?;
    app::prepare_schema(&database, MigrationPolicy::Default)
        .await
        .map_err(failed)?;
    let state = app::build_state(settings, database.clone())
        .await
        .map_err(failed)?;
    let owner = crate::bench_seed::bench_admin(&state).await?.user_id;
    let store = SqlMarketStore::new(database.clone());
    let per_task = count.div_ceil(concurrency.max(1));
    let mut tasks = Vec::new();
    for task in 0..concurrency.max(1) {
        let store = store.clone();
        let from = task * per_task;
        let to = count.min(from + per_task);
        tasks.push(tokio::spawn(async move {
            for n in from..to {
                let (kind, category) = KINDS[n % KINDS.len()];
                let (extension, version) = {
                    let mut rng = rand::rng();
                    let language = LANGUAGES[(n / KINDS.len()) % LANGUAGES.len()];
                    let name = format!("{language}-{kind}-{n}");
                    let description = format!(
                        "{} {} {kind} for {language}: {}, {} and {}.",
                        pick(&mut rng, &WORDS),
                        pick(&mut rng, &WORDS),
                        pick(&mut rng, &WORDS),
                        pick(&mut rng, &WORDS),
                        pick(&mut rng, &WORDS),
                    );
                    let now = chrono::Utc::now();
                    let id = ExtensionId::generate();
                    let tags =
                        Tag::parse_all(&[language.to_owned(), kind.to_owned()]).map_err(failed)?;
                    let extension = Extension {
                        id,
                        name: ExtensionName::parse(&name).map_err(failed)?,
                        display_name: format!("{language} {kind}"),
                        description,
                        category,
                        tags,
                        repository_url: None,
                        homepage_url: None,
                        pricing: Pricing::Free,
                        owner,
                        latest_version: None,
                        downloads: 0,
                        rating_sum: 0,
                        rating_count: 0,
                        created_at: now,
                        updated_at: now,
                    };
                    let version = ExtVersion {
                        id: VersionId::generate(),
                        extension_id: id,
                        version: semver::Version::new(1, rng.random_range(0..10), 0),
                        engine: semver::VersionReq::STAR,
                        changelog: String::new(),
                        sha256: String::new(),
                        size: 0,
                        state: ReviewState::Pending,
                        reject_reason: None,
                        yanked: false,
                        downloads: 0,
                        created_at: now,
                        published_at: None,
                    };
                    (extension, version)
                };
                let version_id = version.id;
                store.insert_extension(extension).await.map_err(failed)?;
                store
                    .insert_version(version, format!("bench/{n}.pkg"))
                    .await
                    .map_err(failed)?;
                let approve = VersionChange::Review {
                    to: ReviewState::Approved,
                    reason: None,
                };
                store
                    .change_version(version_id, approve, chrono::Utc::now())
                    .await
                    .map_err(failed)?;
            }
            Ok::<_, String>(())
        }));
    }
    for task in tasks {
        task.await.map_err(failed)??;
    }
    let spread = match database.kind() {
        devforge_persistence::DatabaseKind::Postgres => {
            "UPDATE extensions SET downloads = floor(random() * 1000000)::bigint, \
             rating_count = floor(random() * 50)::bigint, rating_sum = floor(random() * 250)::bigint"
        }
        devforge_persistence::DatabaseKind::Sqlite => {
            "UPDATE extensions SET downloads = abs(random()) % 1000000, \
             rating_count = abs(random()) % 50, rating_sum = abs(random()) % 250"
        }
    };
    database
        .connection()
        .execute_unprepared(spread)
        .await
        .map_err(failed)?;
    // The spread above rewrote every row: settle the table as a bulk load would leave it.
    let settle = match database.kind() {
        devforge_persistence::DatabaseKind::Postgres => "VACUUM ANALYZE",
        devforge_persistence::DatabaseKind::Sqlite => "ANALYZE",
    };
    database
        .connection()
        .execute_unprepared(settle)
        .await
        .map_err(failed)?;
    println!("seeded {count} extensions");
    Ok(())
}
