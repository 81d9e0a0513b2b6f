//! `cargo xtask bench search`: marketplace listings under load, on a real catalogue.
//!
//! Steps, on PostgreSQL then SQLite: a fresh database, migrated and seeded with the npm
//! catalogue (`devforge bench seed-extensions --from PATH`: 100,000 real package names,
//! descriptions and download counts, through the marketplace's storage port); the release
//! server with rate limits off; then `wrk` at 16 connections against three mixes of
//! requests: typed queries (20,000 texts as people type them into a search box, replayed in
//! order from a random start per thread, so a page cache sees few repeats), filtered
//! listings (category × tag), and sorted pages (every sort, 25 pages each). Each mix runs
//! under three server settings, in the same run: today's SQL full-text path with the page
//! cache on (5 s) and off, and the listing index (which answers before the page cache is
//! consulted, so the cache setting does not change it). Prints throughput and p50/p95/p99
//! per database, setting and mix, the ratio of the index to the SQL path with the cache
//! off, the time from start until the server is ready (the index built), and the server's
//! RSS: the highest it reached, and the highest at the end of a mix (under load, after the
//! build's buffers were handed back). `--sqlite false` measures PostgreSQL only,
//! `--postgres false` SQLite only;
//! `--keep DIR` keeps the seeded databases in DIR (and PostgreSQL's) and seeds only where
//! DIR does not say it already did, so the server can be measured again without seeding.
//!
//! The catalogue and queries are committed, compressed, in `xtask/data/` (`--from` and
//! `--queries` take others).

use crate::bench::{
    build_release_server, ensure_tool, millis, peak_rss_mb, psql, rss_mb, run_quiet,
    server_command, start_server, stop, with_database,
};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Options {
    /// The catalogue TSV (`name`, `description`, `downloads`), plain or gzipped.
    catalogue: PathBuf,
    /// The typed queries, one a line, plain or gzipped.
    queries: PathBuf,
    seconds: u32,
    connections: u32,
    /// The PostgreSQL server's URL, or `false` to measure SQLite only.
    postgres: String,
    /// Also measure SQLite (its single writer makes seeding 100,000 extensions slow).
    sqlite: bool,
    /// Where to keep the seeded databases between runs (none: a fresh, removed directory).
    keep: Option<PathBuf>,
}

/// Where the committed benchmark data lives.
fn data_dir() -> PathBuf {
    crate::workspace_root().join("xtask/data")
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            catalogue: data_dir().join("extensions-npm-100k.tsv.gz"),
            queries: data_dir().join("queries-npm.txt.gz"),
            seconds: 15,
            connections: 16,
            postgres: std::env::var("DEVFORGE_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            sqlite: true,
            keep: None,
        };
        let mut iter = args.iter();
        while let Some(flag) = iter.next() {
            let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--from" => options.catalogue = PathBuf::from(value),
                "--queries" => options.queries = PathBuf::from(value),
                "--seconds" => {
                    options.seconds = value.parse().map_err(|e| format!("{flag}: {e}"))?
                }
                "--connections" => {
                    options.connections = value.parse().map_err(|e| format!("{flag}: {e}"))?
                }
                "--postgres" => options.postgres = value.clone(),
                "--sqlite" => options.sqlite = value != "false",
                "--keep" => options.keep = Some(PathBuf::from(value)),
                other => return Err(format!("unknown flag {other}")),
            }
        }
        Ok(options)
    }
}

/// A file's text, gunzipped (by the system's `gzip`) when its name ends in `.gz`.
pub(crate) fn read_data(path: &Path) -> Result<String, String> {
    if path.extension().is_some_and(|e| e == "gz") {
        let output = Command::new("gzip")
            .arg("-dc")
            .arg(path)
            .output()
            .map_err(|e| format!("gzip: {e}"))?;
        if !output.status.success() {
            return Err(format!("gzip -dc {} failed", path.display()));
        }
        String::from_utf8(output.stdout).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(text)
    }
}

/// `text` as a URL query value: everything but unreserved characters percent-encoded.
pub(crate) fn url_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The request mixes: a name and the paths requested, in the order replayed.
fn mixes(queries: &str) -> Vec<(&'static str, Vec<String>)> {
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
    // The most frequent words of the catalogue's names, which its seeder makes tags.
    let tags = [
        "react", "types", "plugin", "js", "sdk", "native", "client", "node", "core", "eslint",
        "ui", "vue",
    ];
    vec![
        (
            "typed queries",
            queries
                .lines()
                .filter(|q| !q.trim().is_empty())
                .map(|q| format!("/v1/extensions?q={}", url_encoded(q)))
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
            "sorted pages",
            ["downloads", "rating", "newest", "name"]
                .iter()
                .flat_map(|sort| {
                    (1..=25).map(move |page| format!("/v1/extensions?sort={sort}&page={page}"))
                })
                .collect(),
        ),
    ]
}

/// A server setting the mixes are measured under.
struct Mode {
    label: &'static str,
    /// `DEVFORGE_SEARCH_INDEX`.
    index: &'static str,
    /// `DEVFORGE_LISTING_CACHE_SECONDS`.
    cache_seconds: &'static str,
}

/// The SQL full-text path with and without the page cache, then the listing index.
const MODES: [Mode; 3] = [
    Mode {
        label: "SQL, page cache 5 s",
        index: "false",
        cache_seconds: "5",
    },
    Mode {
        label: SQL_UNCACHED,
        index: "false",
        cache_seconds: "0",
    },
    Mode {
        label: INDEX,
        index: "true",
        cache_seconds: "0",
    },
];
const SQL_UNCACHED: &str = "SQL, page cache off";
const INDEX: &str = "listing index";

/// One mix measured under one mode.
struct Measured {
    mode: &'static str,
    mix: &'static str,
    load: Percentiles,
}

/// What a `wrk` run with [`script`]'s percentiles reported.
pub(crate) struct Percentiles {
    pub(crate) rps: f64,
    pub(crate) p50: f64,
    pub(crate) p95: f64,
    pub(crate) p99: f64,
    pub(crate) errors: u64,
}

pub(crate) fn script(dir: &Path, name: &str, paths: &[String]) -> Result<PathBuf, String> {
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
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local next = nil
request = function()
  if next == nil then
    math.randomseed(os.time() + 7919 * (id or 0))
    next = math.random(#paths)
  end
  local path = paths[next]
  next = next % #paths + 1
  return wrk.format("GET", path)
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

/// Runs `wrk` with a [`script`] against `base` for `seconds`.
pub(crate) fn wrk_percentiles(
    script: &Path,
    base: &str,
    connections: u32,
    seconds: u32,
) -> Result<Percentiles, String> {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
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
    let mut load = Percentiles {
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

/// Waits until `/health/ready` answers 200 (the listing index is built, when it is on).
fn wait_ready(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let request =
                "GET /health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
            let mut answer = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut answer).is_ok()
                && answer.starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("the server was not ready within 120 s".into())
}

/// The file that says a database directory holds a catalogue an earlier run seeded.
fn seeded_marker(dir: &Path) -> PathBuf {
    dir.join("seeded")
}

fn bench_database(
    label: &str,
    server: &Path,
    dir: &Path,
    url: &str,
    options: &Options,
    catalogue: &Path,
    mixes: &[(&'static str, Vec<String>)],
) -> Result<Vec<Measured>, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let seeded = seeded_marker(dir);
    if seeded.exists() {
        eprintln!(
            "{label}: the catalogue seeded by an earlier run ({})",
            dir.display()
        );
    } else {
        run_quiet(server_command(server, dir, url).args(["migrate", "up"]))?;
        let started = Instant::now();
        run_quiet(
            server_command(server, dir, url)
                .args(["bench", "seed-extensions", "--from"])
                .arg(catalogue),
        )?;
        eprintln!(
            "{label}: seeded the catalogue in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        std::fs::write(&seeded, "").map_err(|e| e.to_string())?;
    }
    let mut results = Vec::new();
    for mode in MODES {
        let settings = [
            ("DEVFORGE_SEARCH_INDEX", mode.index),
            ("DEVFORGE_LISTING_CACHE_SECONDS", mode.cache_seconds),
        ];
        let spawned = Instant::now();
        let (mut child, port) = start_server(server, dir, url, 2, 16, &settings)?;
        wait_ready(port)?;
        eprintln!(
            "{label} ({}): ready {:.1} s after start",
            mode.label,
            spawned.elapsed().as_secs_f64()
        );
        let base = format!("http://127.0.0.1:{port}");
        let mut under_load: f64 = 0.0;
        for (name, paths) in mixes {
            let script = script(dir, name, paths)?;
            wrk_percentiles(&script, &base, options.connections, 3)?;
            let load = wrk_percentiles(&script, &base, options.connections, options.seconds)?;
            under_load = under_load.max(rss_mb(child.id()).unwrap_or(0.0));
            eprintln!(
                "{label} {name} ({}): {:.0} rps, p95 {:.2} ms",
                mode.label, load.rps, load.p95
            );
            results.push(Measured {
                mode: mode.label,
                mix: name,
                load,
            });
        }
        if let Some(peak) = peak_rss_mb(child.id()) {
            eprintln!(
                "{label} ({}): server RSS {under_load:.1} MB under load, {peak:.1} MB at its peak",
                mode.label
            );
        }
        stop(&mut child);
        let behind = fell_behind(&dir.join(format!("server-{port}.log")));
        if behind > 0 {
            eprintln!(
                "{label} ({}): the listing index fell behind its change feed {behind} times",
                mode.label
            );
        }
    }
    Ok(results)
}

/// How often a server's log says its listing index fell behind (listings then read SQL).
fn fell_behind(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |text| {
        text.matches("listing index behind its change feed").count()
    })
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    ensure_tool("wrk", "wrk")?;
    ensure_tool("psql", "postgresql-client")?;
    let server = build_release_server()?;
    let work = options.keep.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("devforge-search-bench-{}", std::process::id()))
    });
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let catalogue = work.join("catalogue.tsv");
    std::fs::write(&catalogue, read_data(&options.catalogue)?).map_err(|e| e.to_string())?;
    let extensions = std::fs::read_to_string(&catalogue)
        .map_err(|e| e.to_string())?
        .lines()
        .count()
        .saturating_sub(1);
    let mixes = mixes(&read_data(&options.queries)?);
    let db = "devforge_search_bench";
    let pg_dir = work.join("postgres");
    let mut measured = Vec::new();
    if options.postgres != "false" && !seeded_marker(&pg_dir).exists() {
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
    }
    if options.postgres != "false" {
        let pg = bench_database(
            "PostgreSQL",
            &server,
            &pg_dir,
            &with_database(&options.postgres, db),
            &options,
            &catalogue,
            &mixes,
        )?;
        measured.push(("PostgreSQL", pg));
    }
    if options.sqlite {
        let lite_dir = work.join("sqlite");
        let lite_url = format!(
            "sqlite://{}?mode=rwc",
            lite_dir.join("devforge.db").display()
        );
        let lite = bench_database(
            "SQLite", &server, &lite_dir, &lite_url, &options, &catalogue, &mixes,
        )?;
        measured.push(("SQLite", lite));
    }
    println!(
        "## search benchmark ({extensions} catalogue rows, {} connections, {} s per mix, 2 workers)",
        options.connections, options.seconds
    );
    println!("| database | server | mix | rps | p50 ms | p95 ms | p99 ms | non-2xx |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut errors = 0;
    for (label, results) in &measured {
        for Measured { mode, mix, load } in results {
            errors += load.errors;
            println!(
                "| {label} | {mode} | {mix} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
                load.rps, load.p50, load.p95, load.p99, load.errors
            );
        }
    }
    println!();
    println!("| database | mix | index ÷ SQL (cache off), rps | SQL p95 ÷ index p95 |");
    println!("|---|---|---|---|");
    for (label, results) in &measured {
        let find = |mode: &str, mix: &str| {
            results
                .iter()
                .find(|m| m.mode == mode && m.mix == mix)
                .map(|m| &m.load)
        };
        for (mix, _) in &mixes {
            if let (Some(index), Some(sql)) = (find(INDEX, mix), find(SQL_UNCACHED, mix)) {
                println!(
                    "| {label} | {mix} | {:.1} | {:.1} |",
                    index.rps / sql.rps,
                    sql.p95 / index.p95
                );
            }
        }
    }
    if options.keep.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }
    if options.keep.is_none() && options.postgres != "false" {
        psql(
            &options.postgres,
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        )?;
    }
    if errors > 0 {
        return Err(format!("{errors} requests failed"));
    }
    Ok(())
}
