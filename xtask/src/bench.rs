//! `cargo xtask bench validate`: the license-validation hot path under load, against the
//! database's own point-select rate measured in the same run.
//!
//! `cargo xtask bench search`: marketplace listings under load (see `search.rs`).
//!
//! Steps: build the release server; on PostgreSQL, create a fresh database, migrate, seed
//! licenses through the real service (`devforge bench seed-licenses`), start the server
//! with rate limits off, warm up, then alternate `wrk` against `POST /v1/licenses/validate`
//! (random seeded keys, Lua body script) with `pgbench -S -M prepared` at the same
//! concurrency; then the same validation load on SQLite. Prints medians, the
//! validate/pgbench ratio and the server's peak RSS. Everything talks to 127.0.0.1 only.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Settings of one benchmark run, from `--name value` flags.
struct Options {
    licenses: usize,
    seconds: u32,
    warmup: u32,
    connections: u32,
    reps: usize,
    workers: u32,
    pool: u32,
    postgres: String,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            licenses: 100_000,
            seconds: 15,
            warmup: 5,
            connections: 32,
            reps: 3,
            workers: 2,
            pool: 16,
            postgres: std::env::var("DEVFORGE_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
        };
        let mut iter = args.iter();
        while let Some(flag) = iter.next() {
            let value = iter.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || value.parse::<u32>().map_err(|e| format!("{flag}: {e}"));
            match flag.as_str() {
                "--licenses" => {
                    options.licenses = value.parse().map_err(|e| format!("{flag}: {e}"))?
                }
                "--seconds" => options.seconds = number()?,
                "--warmup" => options.warmup = number()?,
                "--connections" => options.connections = number()?,
                "--reps" => options.reps = number()? as usize,
                "--workers" => options.workers = number()?,
                "--pool" => options.pool = number()?,
                "--postgres" => options.postgres = value.clone(),
                other => return Err(format!("unknown flag {other}")),
            }
        }
        Ok(options)
    }
}

/// Figures of one load run.
#[derive(Debug, Clone, Copy, Default)]
struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("validate") => validate(&Options::parse(&args[1..])?),
        Some("search") => crate::search::run(&args[1..]),
        _ => Err("usage: cargo xtask bench validate [--licenses N] [--seconds S] [--reps R] [--connections C] [--workers W] [--pool P]\n       cargo xtask bench search [--from TSV] [--queries FILE] [--seconds S] [--connections C] [--sqlite false]".into()),
    }
}

fn validate(options: &Options) -> Result<(), String> {
    ensure_tool("wrk", "wrk")?;
    ensure_tool("pgbench", "postgresql-client")?;
    ensure_tool("psql", "postgresql-client")?;
    let server = build_release_server()?;
    let work = std::env::temp_dir().join(format!("devforge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;

    // PostgreSQL: the server's database and pgbench's, both fresh.
    let app_db = "devforge_bench";
    let pgbench_db = "devforge_pgbench";
    for db in [app_db, pgbench_db] {
        psql(
            &options.postgres,
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        )?;
        psql(&options.postgres, &format!("CREATE DATABASE {db}"))?;
    }
    let pg_url = with_database(&options.postgres, app_db);
    let pgbench_url = with_database(&options.postgres, pgbench_db);
    run_quiet(Command::new("pgbench").args(["-i", "-q", "-s", "10", &pgbench_url]))?;

    let pg_dir = work.join("postgres");
    let pg_keys = seed(&server, &pg_dir, &pg_url, options)?;
    let script = write_lua(&work, &pg_keys)?;
    let mut pg = start_server(
        &server,
        &pg_dir,
        &pg_url,
        options.workers,
        options.pool,
        &[],
    )?;
    let port = pg.1;
    let url = format!("http://127.0.0.1:{port}/v1/licenses/validate");
    wrk(&script, &url, options.connections, options.warmup)?;
    let mut validate_runs = Vec::new();
    let mut pgbench_runs = Vec::new();
    for rep in 0..options.reps {
        let load = wrk(&script, &url, options.connections, options.seconds)?;
        let tps = pgbench(&pgbench_url, options)?;
        eprintln!(
            "rep {}: validate {:.0} rps (p99 {:.2} ms), pgbench -S {:.0} tps",
            rep + 1,
            load.rps,
            load.p99_ms,
            tps
        );
        validate_runs.push(load);
        pgbench_runs.push(tps);
    }
    let pg_rss = peak_rss_mb(pg.0.id());
    stop(&mut pg.0);

    // SQLite, the embedded default.
    let lite_dir = work.join("sqlite");
    let lite_url = format!("sqlite://{}", lite_dir.join("devforge.db").display());
    let lite_keys = seed(&server, &lite_dir, &lite_url, options)?;
    let lite_script = write_lua(&work, &lite_keys)?;
    let mut lite = start_server(
        &server,
        &lite_dir,
        &lite_url,
        options.workers,
        options.pool,
        &[],
    )?;
    let lite_endpoint = format!("http://127.0.0.1:{}/v1/licenses/validate", lite.1);
    wrk(
        &lite_script,
        &lite_endpoint,
        options.connections,
        options.warmup,
    )?;
    let mut lite_runs = Vec::new();
    for _ in 0..options.reps {
        lite_runs.push(wrk(
            &lite_script,
            &lite_endpoint,
            options.connections,
            options.seconds,
        )?);
    }
    let lite_rss = peak_rss_mb(lite.0.id());
    stop(&mut lite.0);

    let validate_rps = median(validate_runs.iter().map(|l| l.rps).collect());
    let pgbench_tps = median(pgbench_runs.clone());
    let errors: u64 = validate_runs
        .iter()
        .chain(&lite_runs)
        .map(|l| l.errors)
        .sum();
    println!(
        "## validate benchmark ({} licenses, {} connections, {} s x {} reps, {} workers, pool {})",
        options.licenses,
        options.connections,
        options.seconds,
        options.reps,
        options.workers,
        options.pool
    );
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!(
        "| database | validate rps | p50 ms | p99 ms | pgbench -S tps | validate/pgbench | server peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| PostgreSQL | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {} |",
        validate_rps,
        median(validate_runs.iter().map(|l| l.p50_ms).collect()),
        median(validate_runs.iter().map(|l| l.p99_ms).collect()),
        pgbench_tps,
        validate_rps / pgbench_tps.max(1.0),
        pg_rss.map_or("?".into(), |mb| format!("{mb:.1}"))
    );
    println!(
        "| SQLite | {:.0} | {:.2} | {:.2} | - | - | {} |",
        median(lite_runs.iter().map(|l| l.rps).collect()),
        median(lite_runs.iter().map(|l| l.p50_ms).collect()),
        median(lite_runs.iter().map(|l| l.p99_ms).collect()),
        lite_rss.map_or("?".into(), |mb| format!("{mb:.1}"))
    );
    println!("non-2xx responses: {errors}");
    let _ = std::fs::remove_dir_all(&work);
    for db in [app_db, pgbench_db] {
        psql(
            &options.postgres,
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        )?;
    }
    if errors > 0 {
        return Err(format!("{errors} validation requests failed"));
    }
    Ok(())
}

pub(crate) fn ensure_tool(tool: &str, package: &str) -> Result<(), String> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status();
    if found.is_ok_and(|s| s.success()) {
        return Ok(());
    }
    eprintln!("installing {package} for {tool}");
    run_quiet(Command::new("apt-get").args(["update", "-qq"]))?;
    run_quiet(Command::new("apt-get").args(["install", "-y", "-qq", package]))
}

pub(crate) fn build_release_server() -> Result<PathBuf, String> {
    let status = crate::cargo_command()
        .args([
            "build",
            "--release",
            "--quiet",
            "--package",
            "devforge-api",
            "--bin",
            "devforge",
        ])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("release build failed".into());
    }
    let target =
        std::env::var("CARGO_TARGET_DIR").map_or_else(|_| PathBuf::from("target"), PathBuf::from);
    Ok(target.join("release").join("devforge"))
}

pub(crate) fn server_command(server: &Path, data_dir: &Path, url: &str) -> Command {
    let mut command = Command::new(server);
    command
        .env("DEVFORGE_DATA_DIR", data_dir)
        .env("DEVFORGE_DATABASE_URL", url)
        .env("DEVFORGE_BCRYPT_COST", "10")
        .env("DEVFORGE_LOG", "warn");
    command
}

fn seed(server: &Path, data_dir: &Path, url: &str, options: &Options) -> Result<PathBuf, String> {
    std::fs::create_dir_all(data_dir).map_err(|e| e.to_string())?;
    run_quiet(server_command(server, data_dir, url).args(["migrate", "up"]))?;
    let keys = data_dir.join("keys.txt");
    let started = Instant::now();
    let count = options.licenses.to_string();
    run_quiet(
        server_command(server, data_dir, url)
            .args(["bench", "seed-licenses", "--count", &count, "--keys-file"])
            .arg(&keys),
    )?;
    eprintln!(
        "seeded {} licenses in {:.0} s",
        options.licenses,
        started.elapsed().as_secs_f64()
    );
    Ok(keys)
}

/// Starts the release server on a free port with rate limits off and `settings` (extra
/// `DEVFORGE_*` variables); returns it and its port.
pub(crate) fn start_server(
    server: &Path,
    data_dir: &Path,
    url: &str,
    workers: u32,
    pool: u32,
    settings: &[(&str, &str)],
) -> Result<(Child, u16), String> {
    let port = free_port()?;
    let child = server_command(server, data_dir, url)
        .env("DEVFORGE_LISTEN", format!("127.0.0.1:{port}"))
        .env("DEVFORGE_RATE_LIMIT_ENABLED", "false")
        .env("DEVFORGE_WORKERS", workers.to_string())
        .env("DEVFORGE_DB_POOL_SIZE", pool.to_string())
        .envs(settings.iter().copied())
        .arg("serve")
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((child, port));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("the server did not start listening".into())
}

pub(crate) fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

fn write_lua(dir: &Path, keys: &Path) -> Result<PathBuf, String> {
    let script = dir.join(format!(
        "validate-{}.lua",
        keys.parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .unwrap_or("keys")
    ));
    let mut file = std::fs::File::create(&script).map_err(|e| e.to_string())?;
    write!(
        file,
        r#"local keys = {{}}
for line in io.lines("{keys}") do keys[#keys + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time())
request = function()
  local key = keys[math.random(#keys)]
  return wrk.format(nil, nil, nil, '{{"key":"' .. key .. '"}}')
end
"#,
        keys = keys.display()
    )
    .map_err(|e| e.to_string())?;
    Ok(script)
}

fn wrk(script: &Path, url: &str, connections: u32, seconds: u32) -> Result<Load, String> {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "wrk failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let mut load = Load::default();
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(rps)) => load.rps = rps.parse().unwrap_or(0.0),
            (Some("50%"), Some(latency)) => load.p50_ms = millis(latency),
            (Some("99%"), Some(latency)) => load.p99_ms = millis(latency),
            (Some("Non-2xx"), _) => {
                load.errors = line
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1)
            }
            _ => {}
        }
    }
    Ok(load)
}

pub(crate) fn millis(latency: &str) -> f64 {
    let split = latency
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(latency.len());
    let (number, unit) = latency.split_at(split);
    let value: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        _ => f64::NAN,
    }
}

fn pgbench(url: &str, options: &Options) -> Result<f64, String> {
    let output = Command::new("pgbench")
        .args([
            "-S",
            "-M",
            "prepared",
            "-n",
            "-j",
            "2",
            "-c",
            &options.connections.to_string(),
            "-T",
            &options.seconds.to_string(),
            url,
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find(|line| line.starts_with("tps = "))
        .and_then(|line| line.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .ok_or_else(|| {
            format!(
                "pgbench printed no tps: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

pub(crate) fn psql(url: &str, sql: &str) -> Result<(), String> {
    run_quiet(Command::new("psql").args(["-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql]))
}

pub(crate) fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(prefix, _)| prefix);
    query.map_or_else(
        || format!("{prefix}/{name}"),
        |q| format!("{prefix}/{name}?{q}"),
    )
}

pub(crate) fn run_quiet(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

pub(crate) fn peak_rss_mb(pid: u32) -> Option<f64> {
    status_mb(pid, "VmHWM:")
}

/// The process's resident memory now, in MB.
pub(crate) fn rss_mb(pid: u32) -> Option<f64> {
    status_mb(pid, "VmRSS:")
}

fn status_mb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub(crate) fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
