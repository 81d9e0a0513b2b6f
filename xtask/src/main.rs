//! Project automation, run as `cargo xtask <task>`.
//!
//! - `migrate ...`: the server's own `devforge migrate ...` against `DEVFORGE_DATABASE_URL`
//!   (one implementation, two doors).
//! - `billing ...`: likewise `devforge billing ...` (e.g. `billing reconcile --since 3d`).
//! - `test`: the whole test suite (`cargo test --workspace`); PostgreSQL too when
//!   `DEVFORGE_TEST_POSTGRES_URL` is set; then the licensing example that wires the crates
//!   without HTTP, and the TypeScript client's flows in Node.
//! - `ci`: what CI checks: formatting, clippy with warnings denied, the dependency direction
//!   of the inner crates, then `test`.
//! - `bench validate`: the license-validation load benchmark (see `bench.rs`);
//!   `bench search`: the marketplace listings benchmark (see `search.rs`);
//!   `bench kb`: the knowledge-base search benchmark (see `bench_kb.rs`).
//! - `openapi`: writes the server's OpenAPI document to `clients/openapi.json` (from the
//!   routes, without serving), which the clients are generated from.
//! - `cluster`: three release instances behind nginx on one PostgreSQL, Redis and S3 store,
//!   and the invariants that must hold across them (see `cluster.rs`).
//!
//! It stays dependency-free so it compiles in a second, and calls cargo through `$CARGO`.

mod bench;
mod bench_kb;
mod bench_mixed;
mod cluster;
mod search;

use std::process::{Command, ExitCode};

const USAGE: &str = "usage: cargo xtask <migrate ARGS...|billing ARGS...|test [ARGS...]|ci|check-deps|bench validate|search|kb [...]|cluster|openapi>";

/// Crates that must never depend on the web framework or the ORM.
const INNER_CRATES: [&str; 6] = [
    "devforge-billing",
    "devforge-domain",
    "devforge-identity",
    "devforge-licensing",
    "devforge-marketplace",
    "devforge-support",
];
const OUTER_FRAMEWORKS: [&str; 6] = [
    "actix-web",
    "sea-orm",
    "sqlx",
    "actix-governor",
    "async-stripe",
    "tantivy",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("migrate") => cargo(
            &[
                "run",
                "--quiet",
                "--package",
                "devforge-api",
                "--bin",
                "devforge",
                "--",
                "migrate",
            ],
            &args[1..],
        ),
        Some("billing") => cargo(
            &[
                "run",
                "--quiet",
                "--package",
                "devforge-api",
                "--bin",
                "devforge",
                "--",
                "billing",
            ],
            &args[1..],
        ),
        Some("test") => test(&args[1..]),
        Some("check-deps") => check_dependency_direction(),
        Some("ci") => ci(),
        Some("bench") => bench::run(&args[1..]),
        Some("cluster") => cluster::run(&args[1..]),
        Some("openapi") => write_openapi(),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn cargo_binary() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// A `cargo` command with the environment it would have in a shell. `cargo xtask` runs
/// this binary with variables describing the xtask package (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, ...); some build scripts (ring's) watch them, so a nested build would
/// otherwise redo everything built from a shell, and the next shell build would redo it
/// again.
pub(crate) fn cargo_command() -> Command {
    let mut command = Command::new(cargo_binary());
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let describes_xtask = name.starts_with("CARGO_PKG_")
            || matches!(
                name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            );
        if describes_xtask {
            command.env_remove(name);
        }
    }
    command
}

fn cargo(fixed: &[&str], extra: &[String]) -> Result<(), String> {
    let status = cargo_command()
        .args(fixed)
        .args(extra)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", fixed.join(" ")))
    }
}

/// Where the committed OpenAPI document lives.
/// The workspace this run belongs to, from the `CARGO_MANIFEST_DIR` cargo sets when it runs
/// xtask (read at run time: two checkouts sharing one build directory share this binary).
pub(crate) fn workspace_root() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(
            || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            std::path::PathBuf::from,
        )
        .join("..")
}

const OPENAPI_FILE: &str = "clients/openapi.json";

fn write_openapi() -> Result<(), String> {
    let output = cargo_command()
        .args([
            "run",
            "--quiet",
            "--package",
            "devforge-api",
            "--bin",
            "devforge",
            "--",
            "openapi",
        ])
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`devforge openapi` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let root = workspace_root();
    let file = root.join(OPENAPI_FILE);
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&file, &output.stdout).map_err(|e| format!("{}: {e}", file.display()))?;
    println!("wrote {OPENAPI_FILE} ({} bytes)", output.stdout.len());
    Ok(())
}

fn test(extra: &[String]) -> Result<(), String> {
    cargo(&["test", "--workspace"], extra)?;
    // A Rust service wiring licensing to the database with no HTTP (built by `cargo test`).
    cargo(
        &[
            "run",
            "--quiet",
            "--package",
            "devforge-persistence",
            "--example",
            "license_without_http",
        ],
        cargo_flags(extra),
    )?;
    client_tests()
}

/// The flags meant for cargo itself (`--locked`, ...): what comes before a `--`, after
/// which the arguments belong to the test binaries.
fn cargo_flags(extra: &[String]) -> &[String] {
    extra
        .iter()
        .position(|arg| arg == "--")
        .map_or(extra, |end| &extra[..end])
}

/// The TypeScript client's flows (`clients/typescript/test/`) against the `devforge` binary
/// `cargo test` just built: whenever `node` is installed, and always under `CI=true`.
fn client_tests() -> Result<(), String> {
    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    let has_node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !has_node {
        if in_ci {
            return Err("CI=true but node is not installed: the client tests need Node 18+".into());
        }
        println!("skipped: the TypeScript client tests (node is not installed)");
        return Ok(());
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| workspace_root().join("target"),
        std::path::PathBuf::from,
    );
    let binary = target.join("debug").join("devforge");
    let client = workspace_root().join("clients/typescript");
    let npm = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("npm")
            .args(args)
            .current_dir(&client)
            .env("DEVFORGE_BIN", &binary)
            .status()
            .map_err(|e| format!("cannot run npm: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`npm {}` failed ({status})", args.join(" ")))
        }
    };
    if !client.join("node_modules").is_dir() {
        npm(&["ci", "--no-audit", "--no-fund"])?;
    }
    npm(&["test"])
}

fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(
        &[
            "clippy",
            "--package",
            "devforge-tests",
            "--test",
            "cluster",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    check_dependency_direction()?;
    test(&[])
}

/// Fails when a domain or service crate reaches actix-web, sea-orm or sqlx, directly or
/// through another crate: other services must be able to link them alone.
fn check_dependency_direction() -> Result<(), String> {
    for inner in INNER_CRATES {
        let output = cargo_command()
            .args([
                "tree",
                "--package",
                inner,
                "--edges",
                "normal",
                "--prefix",
                "none",
                "--format",
                "{p}",
            ])
            .output()
            .map_err(|e| format!("cannot run cargo tree: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo tree for {inner} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let tree = String::from_utf8_lossy(&output.stdout);
        for framework in OUTER_FRAMEWORKS {
            let found = tree
                .lines()
                .any(|line| line.split_whitespace().next() == Some(framework));
            if found {
                return Err(format!(
                    "{inner} depends on {framework}: dependencies must point inward"
                ));
            }
        }
        println!(
            "dependency direction: {inner} reaches none of {}",
            OUTER_FRAMEWORKS.join(", ")
        );
    }
    Ok(())
}
