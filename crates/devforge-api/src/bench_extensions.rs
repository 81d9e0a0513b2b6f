//! `devforge bench seed-extensions`: fills a database with public extensions for
//! `cargo xtask bench search`, either from a catalogue file (`--from PATH`: a TSV of
//! `name`, `description`, `downloads` with a header line, such as the npm catalogue the
//! benchmark uses) or made up from a few word lists (`--count N`). Each goes through the
//! marketplace's storage port (listing, version, approval), so the search indexes are
//! built as in production. Hidden from `--help`: never for production.

use crate::app::{self, MigrationPolicy};
use crate::settings::Settings;
use devforge_domain::UserId;
use devforge_marketplace::extension::{ExtCategory, Extension, ExtensionId, Pricing, Tag};
use devforge_marketplace::name::ExtensionName;
use devforge_marketplace::ports::{CatalogRepository, PublisherQuota, VersionChange};
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

/// Where the seeded extensions come from.
#[derive(Debug)]
pub enum Source {
    /// `count` extensions made up from the word lists above.
    MadeUp(usize),
    /// Every row of a catalogue TSV (`name`, `description`, `downloads`, header line).
    Catalogue(std::path::PathBuf),
}

/// One extension to seed, with the figures it is given.
struct Seed {
    name: String,
    display_name: String,
    description: String,
    category: ExtCategory,
    tags: Vec<String>,
    downloads: u64,
    rating_count: u64,
    rating_sum: u64,
}

fn made_up(count: usize) -> Vec<Seed> {
    let mut rng = rand::rng();
    (0..count)
        .map(|n| {
            let (kind, category) = KINDS[n % KINDS.len()];
            let language = LANGUAGES[(n / KINDS.len()) % LANGUAGES.len()];
            let rating_count = rng.random_range(0..50);
            Seed {
                name: format!("{language}-{kind}-{n}"),
                display_name: format!("{language} {kind}"),
                description: format!(
                    "{} {} {kind} for {language}: {}, {} and {}.",
                    pick(&mut rng, &WORDS),
                    pick(&mut rng, &WORDS),
                    pick(&mut rng, &WORDS),
                    pick(&mut rng, &WORDS),
                    pick(&mut rng, &WORDS),
                ),
                category,
                tags: vec![language.to_owned(), kind.to_owned()],
                downloads: rng.random_range(0..1_000_000),
                rating_count,
                rating_sum: rng.random_range(rating_count..=rating_count * 5),
            }
        })
        .collect()
}

/// Words that place a catalogue entry in a category, checked in this order against the
/// words of its name, then of its description.
const CATEGORY_WORDS: [(ExtCategory, &[&str]); 7] = [
    (
        ExtCategory::Linters,
        &[
            "eslint",
            "lint",
            "linter",
            "prettier",
            "stylelint",
            "formatter",
            "format",
            "tslint",
        ],
    ),
    (
        ExtCategory::Themes,
        &[
            "theme", "themes", "color", "colors", "icon", "icons", "font", "fonts",
        ],
    ),
    (
        ExtCategory::Debuggers,
        &[
            "debug",
            "debugger",
            "test",
            "testing",
            "jest",
            "mocha",
            "inspector",
            "coverage",
        ],
    ),
    (
        ExtCategory::Snippets,
        &[
            "snippet",
            "snippets",
            "template",
            "templates",
            "boilerplate",
        ],
    ),
    (
        ExtCategory::Scm,
        &["git", "github", "gitlab", "commit", "svn", "diff"],
    ),
    (
        ExtCategory::Ai,
        &["ai", "gpt", "openai", "llm", "langchain", "anthropic", "ml"],
    ),
    (
        ExtCategory::Languages,
        &[
            "typescript",
            "babel",
            "parser",
            "syntax",
            "compiler",
            "language",
            "types",
            "ast",
            "grammar",
        ],
    ),
];

fn category_of(name_words: &[&str], description: &str) -> ExtCategory {
    let description = description.to_lowercase();
    let description_words: Vec<&str> = description
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    for words in [name_words, description_words.as_slice()] {
        for (category, keys) in CATEGORY_WORDS {
            if words.iter().any(|w| keys.contains(w)) {
                return category;
            }
        }
    }
    ExtCategory::Other
}

/// A stable pseudo-random number per name (FNV-1a), so every run rates alike.
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn catalogue(path: &std::path::Path) -> Result<Vec<Seed>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut seeds = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let mut columns = line.split('\t');
        let (Some(name), Some(description), Some(downloads)) =
            (columns.next(), columns.next(), columns.next())
        else {
            return Err(format!(
                "{}:{}: expected 3 columns",
                path.display(),
                number + 1
            ));
        };
        let downloads = downloads
            .trim()
            .parse()
            .map_err(|e| format!("{}:{}: downloads: {e}", path.display(), number + 1))?;
        let description: String = description
            .chars()
            .filter(|c| !c.is_control())
            .take(2000)
            .collect();
        let description = match description.trim() {
            "" => name.to_owned(),
            text => text.to_owned(),
        };
        let words: Vec<&str> = name.split('-').filter(|w| !w.is_empty()).collect();
        let mut tags: Vec<String> = Vec::new();
        for word in words.iter().filter(|w| w.len() >= 2 && w.len() <= 30) {
            if tags.len() < 3 && !tags.iter().any(|t| t == word) {
                tags.push((*word).to_owned());
            }
        }
        let hash = stable_hash(name);
        let rating_count = hash % 50;
        seeds.push(Seed {
            category: category_of(&words, &description),
            name: name.to_owned(),
            display_name: name.to_owned(),
            description,
            tags,
            downloads,
            rating_count,
            rating_sum: rating_count + (hash >> 8) % (4 * rating_count + 1),
        });
    }
    Ok(seeds)
}

/// Stores `seed` as a public extension owned by `owner`, through the storage port.
/// `Ok(false)` when its name (or a look-alike) is taken.
async fn store_one(
    store: &SqlMarketStore,
    owner: UserId,
    n: usize,
    seed: &Seed,
) -> Result<bool, String> {
    let now = chrono::Utc::now();
    let id = ExtensionId::generate();
    let extension = Extension {
        id,
        name: ExtensionName::parse(&seed.name).map_err(failed)?,
        display_name: seed.display_name.clone(),
        description: seed.description.clone(),
        category: seed.category,
        tags: Tag::parse_all(&seed.tags).map_err(failed)?,
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
    let version = ExtVersion {
        id: VersionId::generate(),
        extension_id: id,
        version: semver::Version::new(1, u64::try_from(n % 10).unwrap_or(0), 0),
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
    let version_id = version.id;
    match store.insert_extension(extension).await {
        Ok(_) => {}
        Err(devforge_domain::StoreError::Duplicate { .. }) => return Ok(false),
        Err(err) => return Err(failed(err)),
    }
    // The benchmark's own catalogue: no publisher quota applies.
    store
        .insert_version(
            version,
            format!("bench/{n}.pkg"),
            owner,
            PublisherQuota::UNLIMITED,
        )
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
    Ok(true)
}

/// Gives the seeded extensions their download and rating figures, 500 rows a statement.
async fn set_figures(
    database: &devforge_persistence::Database,
    seeds: &[Seed],
) -> Result<(), String> {
    for chunk in seeds.chunks(500) {
        // Names are checked `[a-z0-9-]` and the figures are numbers: safe to inline.
        let rows = chunk
            .iter()
            .filter(|seed| ExtensionName::parse(&seed.name).is_ok())
            .map(|seed| {
                format!(
                    "('{}', {}, {}, {})",
                    seed.name, seed.downloads, seed.rating_count, seed.rating_sum
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        if rows.is_empty() {
            continue;
        }
        let sql = format!(
            "WITH figures (name, downloads, rating_count, rating_sum) AS (VALUES {rows}) \
             UPDATE extensions SET downloads = figures.downloads, \
             rating_count = figures.rating_count, rating_sum = figures.rating_sum \
             FROM figures WHERE extensions.name = figures.name"
        );
        database
            .connection()
            .execute_unprepared(&sql)
            .await
            .map_err(failed)?;
    }
    Ok(())
}

/// Seeds the extensions of `source` with `concurrency` writers, then gives them their
/// download and rating figures.
///
/// # Errors
/// A message when the file cannot be read or the database fails.
pub async fn seed_extensions(
    settings: &Settings,
    source: Source,
    concurrency: usize,
) -> Result<(), String> {
    let seeds = match &source {
        Source::MadeUp(count) => made_up(*count),
        Source::Catalogue(path) => catalogue(path)?,
    };
    let database = app::open_database(settings).await.map_err(failed)?;
    app::prepare_schema(&database, MigrationPolicy::Default)
        .await
        .map_err(failed)?;
    let state = app::build_state(settings, database.clone())
        .await
        .map_err(failed)?;
    let owner = crate::bench_seed::bench_admin(&state).await?.user_id;
    let store = SqlMarketStore::new(database.clone());
    let seeds = std::sync::Arc::new(seeds);
    let writers = concurrency.max(1);
    let mut tasks = Vec::new();
    for writer in 0..writers {
        let store = store.clone();
        let seeds = std::sync::Arc::clone(&seeds);
        tasks.push(tokio::spawn(async move {
            let mut skipped = 0_usize;
            for n in (writer..seeds.len()).step_by(writers) {
                if !store_one(&store, owner, n, &seeds[n]).await? {
                    skipped += 1;
                }
            }
            Ok::<_, String>(skipped)
        }));
    }
    let mut skipped = 0;
    for task in tasks {
        skipped += task.await.map_err(failed)??;
    }
    set_figures(&database, &seeds).await?;
    // The figures above rewrote every row: settle the table as a bulk load would leave it.
    let settle = match database.kind() {
        devforge_persistence::DatabaseKind::Postgres => "VACUUM ANALYZE",
        devforge_persistence::DatabaseKind::Sqlite => "ANALYZE",
    };
    database
        .connection()
        .execute_unprepared(settle)
        .await
        .map_err(failed)?;
    println!(
        "seeded {} extensions ({skipped} skipped: name taken)",
        seeds.len() - skipped
    );
    Ok(())
}
