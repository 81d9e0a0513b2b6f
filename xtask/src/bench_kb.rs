//! `cargo xtask bench kb`: knowledge-base search under load, and what a change costs it.
//!
//! The knowledge base searches an in-memory index that is rebuilt from the database after
//! any article changes. This benchmark measures both sides of that trade on a knowledge
//! base of real prose: typed searches under load, the first search of a fresh server (the
//! build), and the first search after an edit (a rebuild of everything).
//!
//! Steps, on PostgreSQL then SQLite, for the release server and for each `--baseline`
//! binary (an older build, so that two search engines are measured in the same run on the
//! same data): a fresh database, migrated by that binary; a support account made with its
//! CLI; `--articles` articles written through `POST /v1/kb/articles`, each titled with one
//! description of the npm catalogue and holding ten more as its body, in 8 categories with
//! 2 of 12 tags, every tenth a draft; then
//! - the first search (the index built, on servers that have one),
//! - `wrk` at 16 connections replaying 2,000 searches of one or two title words, anonymous,
//!   as the help pane asks (3 s warm-up, then the measured seconds),
//! - ten edits of an article's body, each followed by one search (which rebuilds the index
//!   on servers that have one); the median and the slowest of those searches.
//!
//! Prints throughput and p50/p95/p99 of the searches, the search times above, and the
//! server's RSS under load and at its peak, per database and server.

use crate::bench::{
    build_release_server, curl, ensure_tool, median, peak_rss_mb, psql, rss_mb, run_quiet,
    server_command, start_server, stop, with_database,
};
use crate::search::{Percentiles, read_data, script, url_encoded, wrk_percentiles};
use std::path::{Path, PathBuf};
use std::time::Instant;

const SUPPORT_EMAIL: &str = "bench-support@example.com";
const SUPPORT_PASSWORD: &str = "support horse battery staple";
const CATEGORIES: [&str; 8] = [
    "getting-started",
    "accounts",
    "billing",
    "licensing",
    "extensions",
    "editor",
    "debugging",
    "troubleshooting",
];
const TAGS: [&str; 12] = [
    "windows", "macos", "linux", "sync", "keys", "proxy", "themes", "git", "remote", "ai",
    "terminal", "updates",
];
/// Catalogue rows in one article's body.
const ROWS_PER_BODY: usize = 10;
const QUERIES: usize = 2_000;
const EDITS: usize = 10;

struct Options {
    articles: usize,
    seconds: u32,
    connections: u32,
    postgres: String,
    sqlite: bool,
    /// Older server binaries measured beside the release build.
    baselines: Vec<PathBuf>,
    catalogue: PathBuf,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            articles: 2_000,
            seconds: 20,
            connections: 16,
            postgres: std::env::var("DEVFORGE_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            sqlite: true,
            baselines: Vec::new(),
            catalogue: crate::workspace_root().join("xtask/data/extensions-npm-100k.tsv.gz"),
        };
        let mut iter = args.iter();
        while let Some(flag) = iter.next() {
            let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
            match flag.as_str() {
                "--articles" => options.articles = number(value)? as usize,
                "--seconds" => options.seconds = number(value)? as u32,
                "--connections" => options.connections = number(value)? as u32,
                "--postgres" => options.postgres = value.clone(),
                "--sqlite" => options.sqlite = value != "false",
                "--baseline" => options.baselines.push(PathBuf::from(value)),
                "--from" => options.catalogue = PathBuf::from(value),
                other => return Err(format!("unknown flag {other}")),
            }
        }
        if options.articles == 0 {
            return Err("--articles must be at least 1".into());
        }
        Ok(options)
    }
}

/// One article as written through the API.
struct Article {
    slug: String,
    title: String,
    body: String,
    category: &'static str,
    tags: [&'static str; 2],
    published: bool,
}

/// `count` articles from the catalogue's described rows: a title and ten body rows each.
fn articles(catalogue: &str, count: usize) -> Result<Vec<Article>, String> {
    let rows: Vec<(&str, &str)> = catalogue
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut columns = line.split('\t');
            let name = columns.next()?;
            let description = columns.next()?.trim();
            (description.split_whitespace().count() >= 3).then_some((name, description))
        })
        .collect();
    let per_article = ROWS_PER_BODY + 1;
    if rows.len() < count * per_article {
        return Err(format!(
            "the catalogue has {} described rows, {count} articles need {}",
            rows.len(),
            count * per_article
        ));
    }
    Ok(rows
        .chunks(per_article)
        .take(count)
        .enumerate()
        .map(|(i, chunk)| Article {
            slug: format!("kb-bench-{i}"),
            title: chunk[0].1.chars().take(200).collect(),
            body: chunk[1..]
                .iter()
                .map(|(name, description)| format!("**{name}**: {description}"))
                .collect::<Vec<_>>()
                .join("\n\n"),
            category: CATEGORIES[i % CATEGORIES.len()],
            tags: [TAGS[i % TAGS.len()], TAGS[(i * 7 + 3) % TAGS.len()]],
            published: i % 10 != 9,
        })
        .collect())
}

/// Searches of one or two words of published titles, as people type what they read.
fn queries(articles: &[Article]) -> Vec<String> {
    let published: Vec<&Article> = articles.iter().filter(|a| a.published).collect();
    (0..QUERIES)
        .filter_map(|n| {
            let article = published[(n * 7_919) % published.len()];
            let words: Vec<String> = article
                .title
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() >= 3)
                .map(str::to_lowercase)
                .collect();
            let first = words.get(n % words.len().max(1))?;
            let text = match words.get(n % words.len() + 1) {
                Some(second) if n % 2 == 0 => format!("{first} {second}"),
                _ => first.clone(),
            };
            Some(format!("/v1/kb/articles?q={}", url_encoded(&text)))
        })
        .collect()
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Article {
    fn json(&self) -> String {
        format!(
            r#"{{"slug":"{}","title":{},"body":{},"category":"{}","tags":["{}","{}"],"status":"{}"}}"#,
            self.slug,
            json_string(&self.title),
            json_string(&self.body),
            self.category,
            self.tags[0],
            self.tags[1],
            if self.published { "published" } else { "draft" },
        )
    }
}

/// What every server is given: the articles it stores and the searches it answers.
struct Workload {
    articles: Vec<Article>,
    paths: Vec<String>,
}

/// What one server gave on one database.
struct Measured {
    server: String,
    database: &'static str,
    load: Percentiles,
    first_search_ms: f64,
    after_edit_median_ms: f64,
    after_edit_max_ms: f64,
    rss_under_load: f64,
    rss_peak: f64,
}

fn bench_server(
    database: &'static str,
    server: &Path,
    server_label: &str,
    dir: &Path,
    url: &str,
    options: &Options,
    workload: &Workload,
) -> Result<Measured, String> {
    let Workload { articles, paths } = workload;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    run_quiet(server_command(server, dir, url).args(["migrate", "up"]))?;
    run_quiet(server_command(server, dir, url).args([
        "user",
        "create",
        "--email",
        SUPPORT_EMAIL,
        "--password",
        SUPPORT_PASSWORD,
        "--role",
        "support",
    ]))?;
    let (mut child, port) = start_server(server, dir, url, 2, 16, &[])?;
    let base = format!("http://127.0.0.1:{port}");
    let result = (|| {
        let login = format!(r#"{{"email":"{SUPPORT_EMAIL}","password":"{SUPPORT_PASSWORD}"}}"#);
        let (status, answer, _) =
            curl("POST", &format!("{base}/v1/auth/login"), Some(&login), None)?;
        if status != 200 {
            return Err(format!("signing in as support answered {status}"));
        }
        let token = crate::bench_mixed::field(&answer, "access_token")
            .ok_or("no access token in the login answer")?;
        let started = Instant::now();
        for article in articles {
            let (status, answer, _) = curl(
                "POST",
                &format!("{base}/v1/kb/articles"),
                Some(&article.json()),
                Some(&token),
            )?;
            if status != 201 {
                return Err(format!(
                    "writing {} answered {status}: {answer}",
                    article.slug
                ));
            }
        }
        eprintln!(
            "{database} ({server_label}): wrote {} articles in {:.0} s",
            articles.len(),
            started.elapsed().as_secs_f64()
        );
        let search = |path: &str| -> Result<f64, String> {
            let (status, answer, ms) = curl("GET", &format!("{base}{path}"), None, None)?;
            if status != 200 {
                return Err(format!("{path} answered {status}: {answer}"));
            }
            Ok(ms)
        };
        let first_search_ms = search(&paths[0])?;
        let script = script(dir, "kb-searches", paths)?;
        wrk_percentiles(&script, &base, options.connections, 3)?;
        let load = wrk_percentiles(&script, &base, options.connections, options.seconds)?;
        let rss_under_load = rss_mb(child.id()).unwrap_or(f64::NAN);
        let mut after_edit = Vec::new();
        for edit in 0..EDITS {
            let article = &articles[(edit * 97) % articles.len()];
            let body = format!(
                r#"{{"body":{}}}"#,
                json_string(&format!("{}\n\nEdited {edit}.", article.body))
            );
            let (status, answer, _) = curl(
                "PATCH",
                &format!("{base}/v1/kb/articles/{}", article.slug),
                Some(&body),
                Some(&token),
            )?;
            if status != 200 {
                return Err(format!(
                    "editing {} answered {status}: {answer}",
                    article.slug
                ));
            }
            after_edit.push(search(&paths[(edit + 1) * 13 % paths.len()])?);
        }
        let after_edit_max_ms = after_edit.iter().copied().fold(0.0, f64::max);
        eprintln!(
            "{database} ({server_label}): {:.0} rps, p95 {:.2} ms; first search {first_search_ms:.1} ms",
            load.rps, load.p95
        );
        Ok(Measured {
            server: server_label.to_owned(),
            database,
            load,
            first_search_ms,
            after_edit_median_ms: median(after_edit),
            after_edit_max_ms,
            rss_under_load,
            rss_peak: peak_rss_mb(child.id()).unwrap_or(f64::NAN),
        })
    })();
    stop(&mut child);
    result
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    ensure_tool("wrk", "wrk")?;
    ensure_tool("curl", "curl")?;
    ensure_tool("psql", "postgresql-client")?;
    let release = build_release_server()?;
    let articles = articles(&read_data(&options.catalogue)?, options.articles)?;
    let paths = queries(&articles);
    if paths.is_empty() {
        return Err("no article title has a word to search for".into());
    }
    let workload = Workload { articles, paths };
    let mut servers = vec![("release build".to_owned(), release)];
    for baseline in &options.baselines {
        servers.push((format!("baseline {}", baseline.display()), baseline.clone()));
    }
    let work = std::env::temp_dir().join(format!("devforge-kb-bench-{}", std::process::id()));
    let db = "devforge_kb_bench";
    let mut measured = Vec::new();
    for (n, (label, server)) in servers.iter().enumerate() {
        if options.postgres != "false" {
            psql(
                &options.postgres,
                &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
            )?;
            psql(&options.postgres, &format!("CREATE DATABASE {db}"))?;
            measured.push(bench_server(
                "PostgreSQL",
                server,
                label,
                &work.join(format!("postgres-{n}")),
                &with_database(&options.postgres, db),
                &options,
                &workload,
            )?);
        }
        if options.sqlite {
            let dir = work.join(format!("sqlite-{n}"));
            let url = format!("sqlite://{}?mode=rwc", dir.join("devforge.db").display());
            measured.push(bench_server(
                "SQLite", server, label, &dir, &url, &options, &workload,
            )?);
        }
    }
    println!(
        "## knowledge-base search benchmark ({} articles, {} searches, {} connections, {} s, 2 workers)",
        workload.articles.len(),
        workload.paths.len(),
        options.connections,
        options.seconds
    );
    println!(
        "| database | server | rps | p50 ms | p95 ms | p99 ms | non-2xx | first search ms | search after an edit, median / max ms | RSS under load / peak MB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut errors = 0;
    for m in &measured {
        errors += m.load.errors;
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.1} | {:.1} / {:.1} | {:.1} / {:.1} |",
            m.database,
            m.server,
            m.load.rps,
            m.load.p50,
            m.load.p95,
            m.load.p99,
            m.load.errors,
            m.first_search_ms,
            m.after_edit_median_ms,
            m.after_edit_max_ms,
            m.rss_under_load,
            m.rss_peak
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    if options.postgres != "false" {
        psql(
            &options.postgres,
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        )?;
    }
    if errors > 0 {
        return Err(format!("{errors} searches failed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{articles, json_string, queries};

    #[test]
    fn json_string_escapes_quotes_backslashes_and_control_characters() {
        assert_eq!(
            json_string("a \"b\" \\ c\n\u{1}"),
            r#""a \"b\" \\ c\n\u0001""#
        );
    }

    #[test]
    fn articles_take_a_title_and_ten_body_rows_each_and_queries_words_of_published_titles()
    -> Result<(), String> {
        let mut catalogue = String::from("name\tdescription\tdownloads\n");
        for i in 0..30 {
            catalogue.push_str(&format!("pkg-{i}\tparses words number {i}\t{i}\n"));
        }
        catalogue.push_str("short\tno words\t1\n");
        let made = articles(&catalogue, 2)?;
        assert_eq!(made[0].title, "parses words number 0");
        assert_eq!(made[1].title, "parses words number 11");
        assert_eq!(made[0].body.matches("**pkg-").count(), 10);
        assert!(articles(&catalogue, 3).is_err(), "33 rows are needed");
        let searches = queries(&made);
        assert!(!searches.is_empty());
        assert!(
            searches
                .iter()
                .all(|p| p.starts_with("/v1/kb/articles?q=") && !p.contains(' '))
        );
        Ok(())
    }
}
