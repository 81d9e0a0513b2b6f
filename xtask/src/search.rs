//! `cargo xtask bench search`: marketplace listings under load.
//!
//! Steps, on PostgreSQL then SQLite: a fresh database, migrated and seeded with
//! realistic public extensions (`devforge bench seed-extensions`, through the marketplace's
//! storage port so the search indexes are real); the release server with rate limits off;
//! then `wrk` at 16 connections against three mixes of requests: full-text queries (with
//! prefixes, as typed), filtered listings (category and tag, by downloads), and
//! sort-by-downloads pages. Each mix runs twice: with the listing cache as configured by
//! default (a repeated listing is answered from memory for 5 s), and with it off, so every
//! request reaches the database. Prints throughput and p50/p95/p99 per database, cache
//! mode and mix. `--sqlite false` measures PostgreSQL only.

use crate::bench::{
    build_release_server, ensure_tool, millis, peak_rss_mb, psql, run_quiet, server_command,
    start_server, stop, with_database,
};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Options {
    extensions: usize,
    seconds: u32,
    connections: u32,
    postgres: String,
    /// Also measure SQLite (its single writer makes seeding 100,000 extensions slow).
    sqlite: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            extensions: 100_000,
            seconds: 15,
            connections: 16,
            postgres: std::env::var("DEVFORGE_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            sqlite: true,
        };
        let mut iter = args.iter();
        while let Some(flag) = iter.next() {
            let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--extensions" => {
                    options.extensions = value.parse().map_err(|e| format!("{flag}: {e}"))?
                }
                "--seconds" => {
                    options.seconds = value.parse().map_err(|e| format!("{flag}: {e}"))?
                }
                "--connections" => {
                    options.connections = value.parse().map_err(|e| format!("{flag}: {e}"))?
                }
                "--postgres" => options.postgres = value.clone(),
                "--sqlite" => options.sqlite = value != "false",
                other => return Err(format!("unknown flag {other}")),
            }
        }
        Ok(options)
    }
}

/// The request mixes: a name and the paths requested at random.
fn mixes() -> Vec<(&'static str, Vec<String>)> {
    let queries = [
        "rust",
        "python lint",
        "dark theme",
        "go-an",
        "typescript debugger",
        "snippets react",
        "java formatter",
        "kotlin",
        "swift test",
        "copilot",
        "git blame",
        "haskell language",
        "zig",
        "elixir docs",
        "fast",
        "inline hints",
        "ruby preview",
        "icons",
        "lua syntax",
        "php language-server",
        "scala",
        "julia notebooks",
        "dart",
        "rust-analyzer",
    ];
    let categories = [
        "languages",
        "themes",
        "linters",
        "debuggers",
        "snippets",
        "scm",
        "ai",
        "other",
    ];
    let tags = [
        "rust",
        "python",
        "go",
        "typescript",
        "java",
        "theme",
        "linter",
        "debugger",
    ];
    vec![
        (
            "q= queries",
            queries
                .iter()
                .map(|q| format!("/v1/extensions?q={}", q.replace(' ', "+")))
                .collect(),
        ),
        (
            "filtered listings",
            categories
                .iter()
                .flat_map(|c| {
                    tags.iter()
                        .map(move |t| format!("/v1/extensions?category={c}&tag={t}&sort=downloads"))
                })
                .collect(),
        ),
        (
            "sort=downloads pages",
            (1..=50)
                .map(|page| format!("/v1/extensions?sort=downloads&page={page}"))
                .collect(),
        ),
    ]
}

/// A server setting the mixes are measured under.
struct CacheMode {
    label: &'static str,
    /// `DEVFORGE_LISTING_CACHE_SECONDS`.
    seconds: &'static str,
}

/// The default configuration (repeated listings answered from memory for a few seconds),
/// then every listing from the database, so both costs are on record.
const CACHE_MODES: [CacheMode; 2] = [
    CacheMode {
        label: "on (5 s)",
        seconds: "5",
    },
    CacheMode {
        label: "off",
        seconds: "0",
    },
];

/// One mix measured under one cache mode.
struct Measured {
    cache: &'static str,
    mix: &'static str,
    load: Load,
}

struct Load {
    rps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    errors: u64,
}

fn script(dir: &Path, name: &str, paths: &[String]) -> Result<PathBuf, String> {
    let path = dir.join(format!("{}.lua", name.replace([' ', '='], "-")));
    let mut file = std::fs::File::create(&path).map_err(|e| e.to_string())?;
    let list = paths
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join(", ");
    write!(
        file,
        r#"local paths = {{ {list} }}
math.randomseed(os.time())
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  io.write(string.format("PERCENTILES %.3fms %.3fms %.3fms\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"#
    )
    .map_err(|e| e.to_string())?;
    Ok(path)
}

fn wrk(script: &Path, base: &str, options: &Options, seconds: u32) -> Result<Load, String> {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", options.connections),
            &format!("-d{seconds}s"),
            "-s",
        ])
        .arg(script)
        .arg(base)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("wrk failed: {text}"));
    }
    let mut load = Load {
        rps: 0.0,
        p50: f64::NAN,
        p95: f64::NAN,
        p99: f64::NAN,
        errors: 0,
    };
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", rps, ..] => load.rps = rps.parse().unwrap_or(0.0),
            ["PERCENTILES", p50, p95, p99] => {
                load.p50 = millis(p50);
                load.p95 = millis(p95);
                load.p99 = millis(p99);
            }
            ["Non-2xx", ..] => load.errors = words.last().and_then(|n| n.parse().ok()).unwrap_or(1),
            _ => {}
        }
    }
    Ok(load)
}

fn bench_database(
    label: &str,
    server: &Path,
    dir: &Path,
    url: &str,
    options: &Options,
) -> Result<Vec<Measured>, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    run_quiet(server_command(server, dir, url).args(["migrate", "up"]))?;
    let started = Instant::now();
    run_quiet(server_command(server, dir, url).args([
        "bench",
        "seed-extensions",
        "--count",
        &options.extensions.to_string(),
    ]))?;
    eprintln!(
        "{label}: seeded {} extensions in {:.0} s",
        options.extensions,
        started.elapsed().as_secs_f64()
    );
    let mut results = Vec::new();
    for cache in CACHE_MODES {
        let settings = [("DEVFORGE_LISTING_CACHE_SECONDS", cache.seconds)];
        let (mut child, port) = start_server(server, dir, url, 2, 16, &settings)?;
        let base = format!("http://127.0.0.1:{port}");
        for (name, paths) in mixes() {
            let script = script(dir, name, &paths)?;
            wrk(&script, &base, options, 3)?;
            let load = wrk(&script, &base, options, options.seconds)?;
            eprintln!(
                "{label} {name} (listing cache {}): {:.0} rps, p95 {:.2} ms",
                cache.label, load.rps, load.p95
            );
            results.push(Measured {
                cache: cache.label,
                mix: name,
                load,
            });
        }
        if let Some(rss) = peak_rss_mb(child.id()) {
            eprintln!(
                "{label} (listing cache {}): server peak RSS {rss:.1} MB",
                cache.label
            );
        }
        stop(&mut child);
    }
    Ok(results)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    ensure_tool("wrk", "wrk")?;
    ensure_tool("psql", "postgresql-client")?;
    let server = build_release_server()?;
    let work = std::env::temp_dir().join(format!("devforge-search-bench-{}", std::process::id()));
    let db = "devforge_search_bench";
    psql(
        &options.postgres,
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )?;
    psql(&options.postgres, &format!("CREATE DATABASE {db}"))?;
    // Seeding commits 300,000 small transactions; waiting for each to reach the disk
    // only slows the set-up. The measured requests read and write nothing.
    psql(
        &options.postgres,
        &format!("ALTER DATABASE {db} SET synchronous_commit = off"),
    )?;
    let pg = bench_database(
        "PostgreSQL",
        &server,
        &work.join("postgres"),
        &with_database(&options.postgres, db),
        &options,
    )?;
    let mut measured = vec![("PostgreSQL", pg)];
    if options.sqlite {
        let lite_dir = work.join("sqlite");
        let lite_url = format!(
            "sqlite://{}?mode=rwc",
            lite_dir.join("devforge.db").display()
        );
        let lite = bench_database("SQLite", &server, &lite_dir, &lite_url, &options)?;
        measured.push(("SQLite", lite));
    }
    println!(
        "## search benchmark ({} extensions, {} connections, {} s per mix, 2 workers)",
        options.extensions, options.connections, options.seconds
    );
    println!("| database | listing cache | mix | rps | p50 ms | p95 ms | p99 ms | non-2xx |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut errors = 0;
    for (label, results) in &measured {
        for Measured { cache, mix, load } in results {
            errors += load.errors;
            println!(
                "| {label} | {cache} | {mix} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
                load.rps, load.p50, load.p95, load.p99, load.errors
            );
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    psql(
        &options.postgres,
        &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
    )?;
    if errors > 0 {
        return Err(format!("{errors} requests failed"));
    }
    Ok(())
}
