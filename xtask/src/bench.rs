//! `cargo xtask bench validate`: the license-validation hot path under load, against the
//! database's own point-select rate measured in the same run.
//!
//! `cargo xtask bench search`: marketplace listings under load (see `search.rs`).
//!
//! Steps: build the release server; on PostgreSQL, create a fresh database, migrate, seed
//! licenses through the real service (`devforge bench seed-licenses`), start the server
//! with rate limits off, warm up, then alternate `wrk` against `POST /v1/licenses/validate`
//! (random seeded keys, Lua body script) with `pgbench -S -M prepared` at the same
//! concurrency; then the same validation load on SQLite. Each database is served by two
//! servers side by side, certificate reuse on and off, measured in turn within every rep.
//! Prints medians, the validate/pgbench ratio (SQLite's too, against the PostgreSQL
//! pgbench of the same run) and each server's peak RSS. Everything talks to 127.0.0.1 only.

use crate::bench_mixed::Mixed;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Settings of one benchmark run, from `--name value` flags.
pub(crate) struct Options {
    licenses: usize,
    pub(crate) seconds: u32,
    warmup: u32,
    pub(crate) connections: u32,
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
pub(crate) struct Load {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: u64,
}

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("validate") => validate(&Options::parse(&args[1..])?),
        Some("search") => crate::search::run(&args[1..]),
        Some("kb") => crate::bench_kb::run(&args[1..]),
        _ => Err("usage: cargo xtask bench validate [--licenses N] [--seconds S] [--reps R] [--connections C] [--workers W] [--pool P]\n       cargo xtask bench search [--from TSV] [--queries FILE] [--seconds S] [--connections C] [--sqlite false]\n       cargo xtask bench kb [--articles N] [--baseline SERVER]... [--seconds S] [--connections C] [--sqlite false]".into()),
    }
}

/// The two servers each database is measured with, side by side in every rep: certificate
/// reuse on (the default) and off (a fresh signature on every answer, as before reuse).
const VARIANTS: [(&str, &str); 2] = [("reuse on", "65536"), ("reuse off", "0")];

/// What one database gave: per variant, the load of each rep; pgbench per rep (PostgreSQL).
struct Measured {
    runs: Vec<Vec<Load>>,
    pgbench: Vec<f64>,
    peak_rss: Vec<Option<f64>>,
    /// Validation (reuse on) with a login flood beside it, and the flood itself.
    flood: (Load, Load),
    /// From the start of a server until its read model holds every license.
    to_memory: Duration,
    /// Validation with writes beside it, and revocations probed across the two servers.
    mixed: Mixed,
}

/// The account the login flood signs in to; every other flood request is a wrong password
/// for an address nobody has, which costs the same bcrypt verification.
const FLOOD_EMAIL: &str = "bench-owner@example.com";
const FLOOD_PASSWORD: &str = "correct horse battery staple";
/// Connections of the login flood.
const FLOOD_CONNECTIONS: u32 = 8;

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
    let pg = measure(
        &server,
        &work.join("postgres"),
        &pg_url,
        Some(&pgbench_url),
        options,
    )?;
    // SQLite, the embedded default.
    let lite_dir = work.join("sqlite");
    let lite_url = format!("sqlite://{}", lite_dir.join("devforge.db").display());
    let lite = measure(&server, &lite_dir, &lite_url, None, options)?;

    report(options, &pg, &lite);
    let errors: u64 = pg
        .runs
        .iter()
        .chain(&lite.runs)
        .flatten()
        .chain([&pg.mixed.validation, &lite.mixed.validation])
        .map(|l| l.errors)
        .sum();
    println!("non-2xx validation responses: {errors}");
    let stale = pg.mixed.stale + pg.mixed.never_seen + lite.mixed.stale + lite.mixed.never_seen;
    if errors == 0 && stale == 0 {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        eprintln!("kept {} with the servers' logs", work.display());
    }
    for db in [app_db, pgbench_db] {
        psql(
            &options.postgres,
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        )?;
    }
    if errors > 0 {
        return Err(format!("{errors} validation requests failed"));
    }
    if stale > 0 {
        return Err(format!(
            "{stale} answers said VALID more than a second after a revocation, or never REVOKED"
        ));
    }
    Ok(())
}

/// Seeds one database, starts one server per variant on it, warms them up, then runs each
/// rep: every variant in turn, then pgbench when there is one.
fn measure(
    server: &Path,
    dir: &Path,
    url: &str,
    pgbench_url: Option<&str>,
    options: &Options,
) -> Result<Measured, String> {
    let keys = seed(server, dir, url, options)?;
    let script = write_lua(dir, &keys)?;
    let to_memory = time_to_memory(server, dir, url, options)?;
    eprintln!(
        "answering from memory {:.1} s after start",
        to_memory.as_secs_f64()
    );
    let mut servers = Vec::new();
    for (name, slots) in VARIANTS {
        let started = Instant::now();
        let running = start_server(
            server,
            dir,
            url,
            options.workers,
            options.pool,
            &[
                ("DEVFORGE_CERTIFICATE_REUSE_SLOTS", slots),
                ("DEVFORGE_BCRYPT_COST", "12"),
                ("DEVFORGE_LOG", READ_MODEL_LOG),
            ],
        )?;
        // One server at a time, each measured only once it answers from memory: a server
        // still loading reads the database, and two loading side by side slow each other.
        wait_until_loaded(dir, running.1)?;
        let endpoint = format!("http://127.0.0.1:{}/v1/licenses/validate", running.1);
        wrk(&script, &endpoint, options.connections, options.warmup)?;
        eprintln!(
            "{name}: loaded and warmed up {:.1} s after start",
            started.elapsed().as_secs_f64()
        );
        servers.push((running, endpoint));
    }
    let mut measured = Measured {
        runs: vec![Vec::new(); VARIANTS.len()],
        pgbench: Vec::new(),
        peak_rss: Vec::new(),
        flood: (Load::default(), Load::default()),
        to_memory,
        mixed: Mixed::default(),
    };
    for rep in 0..options.reps {
        for (variant, (_, endpoint)) in servers.iter().enumerate() {
            let load = wrk(&script, endpoint, options.connections, options.seconds)?;
            eprintln!(
                "rep {} {}: validate {:.0} rps (p99 {:.2} ms)",
                rep + 1,
                VARIANTS[variant].0,
                load.rps,
                load.p99_ms
            );
            measured.runs[variant].push(load);
        }
        if let Some(pgbench_url) = pgbench_url {
            let tps = pgbench(pgbench_url, options)?;
            eprintln!("rep {}: pgbench -S {tps:.0} tps", rep + 1);
            measured.pgbench.push(tps);
        }
    }
    let (_, endpoint) = &servers[0];
    measured.flood = beside_a_login_flood(dir, &script, endpoint, options)?;
    eprintln!(
        "reuse on, beside a login flood: validate {:.0} rps (p99 {:.2} ms); logins {:.0} rps (p99 {:.2} ms)",
        measured.flood.0.rps,
        measured.flood.0.p99_ms,
        measured.flood.1.rps,
        measured.flood.1.p99_ms
    );
    let quiet_rps = median(measured.runs[0].iter().map(|l| l.rps).collect());
    let bases: Vec<String> = servers
        .iter()
        .map(|((_, port), _)| format!("http://127.0.0.1:{port}"))
        .collect();
    let pair = crate::bench_mixed::Servers {
        through: &bases[0],
        other: &bases[1],
        keys: &keys,
        validate_script: &script,
    };
    let behind_before: Vec<usize> = servers
        .iter()
        .map(|((_, port), _)| times_behind(dir, *port))
        .collect();
    measured.mixed = crate::bench_mixed::run(server, dir, url, &pair, quiet_rps, options)?;
    for (((_, port), _), before) in servers.iter().zip(behind_before) {
        let during = times_behind(dir, *port).saturating_sub(before);
        eprintln!("mixed: the read model of the server on port {port} fell behind {during} times");
    }
    let mixed = &measured.mixed;
    eprintln!(
        "mixed: validate {:.0} rps (p99 {:.2} ms), writes {:.0} rps ({:.1} %, {} non-2xx); {} revocations probed, slowest seen after {:.0} ms, {} stale VALID",
        mixed.validation.rps,
        mixed.validation.p99_ms,
        mixed.writes.rps,
        mixed.write_share() * 100.0,
        mixed.writes.errors,
        mixed.probes,
        mixed.slowest_ms,
        mixed.stale
    );
    for ((mut child, _), _) in servers {
        measured.peak_rss.push(peak_rss_mb(child.id()));
        stop(&mut child);
    }
    Ok(measured)
}

/// The measured servers' log filter: warnings, and the read model's own lines, which say
/// when it has loaded.
const READ_MODEL_LOG: &str = "warn,devforge_persistence::licensing::read_model=info";
/// What the read model logs once every license is in memory.
const LOADED: &str = "license read model loaded";

/// Waits until the log of the server on `port` says its read model has loaded.
fn wait_until_loaded(dir: &Path, port: u16) -> Result<(), String> {
    let log = dir.join(format!("server-{port}.log"));
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if std::fs::read_to_string(&log).is_ok_and(|text| text.contains(LOADED)) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "the server on port {port} did not load its read model within 120 s"
    ))
}

/// How often the log of the server on `port` says its read model was not proven current
/// (validation then reads the database).
fn times_behind(dir: &Path, port: u16) -> usize {
    std::fs::read_to_string(dir.join(format!("server-{port}.log"))).map_or(0, |log| {
        log.matches("license read model not proven current").count()
    })
}

/// How long a started server takes until its read model has loaded every license (it says
/// so in its log; until then validation reads the database).
fn time_to_memory(
    server: &Path,
    dir: &Path,
    url: &str,
    options: &Options,
) -> Result<Duration, String> {
    use std::io::BufRead as _;
    let started = Instant::now();
    let mut child = server_command(server, dir, url)
        .env("DEVFORGE_LISTEN", format!("127.0.0.1:{}", free_port()?))
        .env("DEVFORGE_WORKERS", options.workers.to_string())
        .env("DEVFORGE_DB_POOL_SIZE", options.pool.to_string())
        .env("DEVFORGE_LOG", "info")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let output = child.stdout.take().ok_or("no server output")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let lines = std::io::BufReader::new(output).lines();
        for line in lines.map_while(Result::ok) {
            if line.contains(LOADED) {
                let _ = tx.send(started.elapsed());
                return;
            }
        }
    });
    let loaded = rx.recv_timeout(Duration::from_secs(120)).ok();
    stop(&mut child);
    loaded.ok_or_else(|| "the read model did not load within 120 s".into())
}

/// Validation load with logins at bcrypt cost 12 on [`FLOOD_CONNECTIONS`] connections
/// beside it, half right passwords and half wrong ones: the validation load and the flood's.
fn beside_a_login_flood(
    dir: &Path,
    validate_script: &Path,
    endpoint: &str,
    options: &Options,
) -> Result<(Load, Load), String> {
    let base = endpoint.trim_end_matches("/v1/licenses/validate");
    let body = format!(r#"{{"email":"{FLOOD_EMAIL}","password":"{FLOOD_PASSWORD}"}}"#);
    let registered = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H"])
        .arg("Content-Type: application/json")
        .args(["-d", &body])
        .arg(format!("{base}/v1/auth/register"))
        .output()
        .map_err(|e| format!("curl: {e}"))?;
    let status = String::from_utf8_lossy(&registered.stdout).into_owned();
    if status != "201" && status != "409" {
        return Err(format!("registering the flood's account answered {status}"));
    }
    let script = dir.join("login-flood.lua");
    std::fs::write(
        &script,
        format!(
            r#"local n = 0
math.randomseed(os.time())
request = function()
  n = n + 1
  local body
  if n % 2 == 0 then
    body = '{body}'
  else
    body = '{{"email":"nobody-' .. math.random(1000000000) .. '-' .. n .. '@example.com","password":"wrong password"}}'
  end
  return wrk.format("POST", "/v1/auth/login", {{["Content-Type"] = "application/json"}}, body)
end
"#
        ),
    )
    .map_err(|e| e.to_string())?;
    let flood = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{FLOOD_CONNECTIONS}"),
            &format!("-d{}s", options.seconds + 2),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(base)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(1));
    let validation = wrk(
        validate_script,
        endpoint,
        options.connections,
        options.seconds,
    );
    let output = flood.wait_with_output().map_err(|e| e.to_string())?;
    let logins = parse_wrk(&String::from_utf8_lossy(&output.stdout));
    Ok((validation?, logins))
}

fn report(options: &Options, pg: &Measured, lite: &Measured) {
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
    let pgbench_tps = median(pg.pgbench.clone());
    println!("pgbench -S -M prepared: {pgbench_tps:.0} tps (median)");
    println!(
        "| database | certificates | validate rps | p50 ms | p99 ms | validate/pgbench (median of reps) | server peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (database, measured) in [("PostgreSQL", pg), ("SQLite", lite)] {
        for (variant, (name, _)) in VARIANTS.iter().enumerate() {
            let runs = &measured.runs[variant];
            let ratios: Vec<f64> = runs
                .iter()
                .zip(&pg.pgbench)
                .map(|(load, tps)| load.rps / tps.max(1.0))
                .collect();
            println!(
                "| {database} | {name} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
                median(runs.iter().map(|l| l.rps).collect()),
                median(runs.iter().map(|l| l.p50_ms).collect()),
                median(runs.iter().map(|l| l.p99_ms).collect()),
                median(ratios),
                measured.peak_rss[variant].map_or("?".into(), |mb| format!("{mb:.1}"))
            );
        }
    }
    println!(
        "answering from memory after start: PostgreSQL {:.1} s, SQLite {:.1} s",
        pg.to_memory.as_secs_f64(),
        lite.to_memory.as_secs_f64()
    );
    let lite_over_pg = median(lite.runs[0].iter().map(|l| l.rps).collect())
        / median(pg.runs[0].iter().map(|l| l.rps).collect()).max(1.0);
    println!("SQLite / PostgreSQL (reuse on): {lite_over_pg:.2}");
    println!(
        "| database | validate p99 quiet ms | validate p99 beside {FLOOD_CONNECTIONS} login connections (bcrypt 12) ms | ratio | validate rps then | logins rps | login p99 ms |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (database, measured) in [("PostgreSQL", pg), ("SQLite", lite)] {
        let quiet = median(measured.runs[0].iter().map(|l| l.p99_ms).collect());
        let (validation, logins) = measured.flood;
        println!(
            "| {database} | {quiet:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} |",
            validation.p99_ms,
            validation.p99_ms / quiet.max(0.001),
            validation.rps,
            logins.rps,
            logins.p99_ms
        );
    }
    println!(
        "| database | validate rps, writes beside | p50 ms | p99 ms | writes rps | write share | write non-2xx | revocations probed | slowest until REVOKED on both servers, ms | stale VALID after 1 s | never REVOKED |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (database, measured) in [("PostgreSQL", pg), ("SQLite", lite)] {
        let mixed = &measured.mixed;
        println!(
            "| {database} | {:.0} | {:.2} | {:.2} | {:.0} | {:.1} % | {} | {} | {:.0} | {} | {} |",
            mixed.validation.rps,
            mixed.validation.p50_ms,
            mixed.validation.p99_ms,
            mixed.writes.rps,
            mixed.write_share() * 100.0,
            mixed.writes.errors,
            mixed.probes,
            mixed.slowest_ms,
            mixed.stale,
            mixed.never_seen
        );
    }
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
/// `DEVFORGE_*` variables); returns it and its port. Its log (warnings and errors) goes to
/// `server-PORT.log` in `data_dir`, to explain a figure afterwards.
pub(crate) fn start_server(
    server: &Path,
    data_dir: &Path,
    url: &str,
    workers: u32,
    pool: u32,
    settings: &[(&str, &str)],
) -> Result<(Child, u16), String> {
    let port = free_port()?;
    let log = std::fs::File::create(data_dir.join(format!("server-{port}.log")))
        .map_err(|e| format!("the server's log in {}: {e}", data_dir.display()))?;
    let child = server_command(server, data_dir, url)
        .env("DEVFORGE_LISTEN", format!("127.0.0.1:{port}"))
        .env("DEVFORGE_RATE_LIMIT_ENABLED", "false")
        .env("DEVFORGE_WORKERS", workers.to_string())
        .env("DEVFORGE_DB_POOL_SIZE", pool.to_string())
        .envs(settings.iter().copied())
        .arg("serve")
        .stdout(log)
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

pub(crate) fn wrk(
    script: &Path,
    url: &str,
    connections: u32,
    seconds: u32,
) -> Result<Load, String> {
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
    Ok(parse_wrk(&text))
}

/// The figures of a `wrk --latency` report.
pub(crate) fn parse_wrk(text: &str) -> Load {
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
    load
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

/// One request by `curl`: the status, the body, and the time curl took for it in ms.
pub(crate) fn curl(
    method: &str,
    url: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> Result<(u16, String, f64), String> {
    let mut command = Command::new("curl");
    command.args(["-s", "-X", method, "-w", "\n%{http_code} %{time_total}"]);
    if body.is_some() {
        command.args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@-",
        ]);
    }
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    command.arg(url).stdin(std::process::Stdio::piped());
    command.stdout(std::process::Stdio::piped());
    let mut child = command.spawn().map_err(|e| format!("curl: {e}"))?;
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().ok_or("curl has no stdin")?;
        stdin
            .write_all(body.unwrap_or("").as_bytes())
            .map_err(|e| format!("curl: {e}"))?;
    }
    let output = child.wait_with_output().map_err(|e| format!("curl: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let (answer, tail) = text.rsplit_once('\n').unwrap_or(("", &text));
    let mut tail = tail.split_whitespace();
    let status = tail
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| *s != 0)
        .ok_or_else(|| format!("curl got no answer from {url}"))?;
    let seconds: f64 = tail.next().and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
    Ok((status, answer.to_owned(), seconds * 1000.0))
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
