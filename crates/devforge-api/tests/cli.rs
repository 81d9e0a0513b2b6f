//! The `devforge` binary as operators use it: migrations, creating the first admin, and
//! refusing to serve PostgreSQL with a schema behind.

use devforge_tests::{Backend, TestDatabase, backends};
use std::io::Write as _;
use std::process::{Command, Output, Stdio};

fn devforge(db: &TestDatabase, args: &[&str], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_devforge"));
    command
        .args(args)
        .env("DEVFORGE_DATABASE_URL", &db.url)
        .env("DEVFORGE_DATA_DIR", db.dir())
        .env("DEVFORGE_BCRYPT_COST", "10")
        .env("DEVFORGE_LISTEN", "127.0.0.1:0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("spawn devforge: {e}"));
    if let (Some(mut pipe), Some(input)) = (child.stdin.take(), stdin) {
        pipe.write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn migrate_reports_applies_and_rolls_back() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        let status = devforge(&db, &["migrate", "status"], None);
        assert!(status.status.success(), "{}", stderr(&status));
        assert!(
            stdout(&status)
                .lines()
                .all(|line| line.starts_with("pending ")),
            "{}",
            stdout(&status)
        );

        let up = devforge(&db, &["migrate", "up"], None);
        assert!(up.status.success(), "{}", stderr(&up));
        assert!(
            stdout(&up).lines().all(|line| line.starts_with("applied ")),
            "{}",
            stdout(&up)
        );

        let down = devforge(&db, &["migrate", "down", "-n", "1"], None);
        assert!(down.status.success(), "{}", stderr(&down));
        let lines: Vec<String> = stdout(&down).lines().map(str::to_owned).collect();
        assert!(
            lines.last().is_some_and(|l| l.starts_with("pending ")),
            "{lines:?}"
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("pending ")).count(),
            1
        );
    }
}

#[tokio::test]
async fn an_operator_creates_the_first_admin_from_standard_input() {
    for backend in backends() {
        let db = TestDatabase::create(backend).await;
        assert!(devforge(&db, &["migrate", "up"], None).status.success());
        let args = [
            "user",
            "create",
            "--email",
            "Root@Example.com",
            "--role",
            "admin",
            "--password-stdin",
        ];
        let created = devforge(&db, &args, Some("correct horse battery staple 42\n"));
        assert!(created.status.success(), "{}", stderr(&created));
        assert!(
            stdout(&created).contains("created admin account root@example.com"),
            "{}",
            stdout(&created)
        );
        assert!(!stdout(&created).contains("staple") && !stderr(&created).contains("staple"));

        let again = devforge(&db, &args, Some("correct horse battery staple 42\n"));
        assert!(!again.status.success());
        assert!(
            stderr(&again).contains("already exists"),
            "{}",
            stderr(&again)
        );

        let weak = devforge(
            &db,
            &[
                "user",
                "create",
                "--email",
                "x@example.com",
                "--password",
                "password1234",
            ],
            None,
        );
        assert!(!weak.status.success());
        assert!(
            stderr(&weak).contains("too easy to guess"),
            "{}",
            stderr(&weak)
        );
    }
}

#[tokio::test]
async fn the_server_refuses_postgres_with_pending_migrations() {
    if !backends().contains(&Backend::Postgres) {
        eprintln!("PostgreSQL not configured: covered on SQLite by the serve tests only");
        return;
    }
    let db = TestDatabase::create(Backend::Postgres).await;
    let serve = devforge(&db, &["serve"], None);
    assert!(!serve.status.success());
    let message = stderr(&serve);
    assert!(message.contains("migration(s) pending"), "{message}");
    assert!(message.contains("devforge migrate up"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_reconcile_reads_stripes_events_once() {
    let db = TestDatabase::create(Backend::Sqlite).await;
    assert!(devforge(&db, &["migrate", "up"], None).status.success());
    let unconfigured = devforge(&db, &["billing", "reconcile"], None);
    assert!(!unconfigured.status.success());
    assert!(
        stderr(&unconfigured).contains("payments are not configured"),
        "{}",
        stderr(&unconfigured)
    );
    let bad_since = devforge(&db, &["billing", "reconcile", "--since", "31d"], None);
    assert!(!bad_since.status.success());

    let Some(stripe) = devforge_tests::stripe::FakeStripe::start().await else {
        return;
    };
    let (status, _) = stripe
        .post("/v1/customers", &[("email", "a@example.com")])
        .await;
    assert_eq!(status, 200);
    let reconcile = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_devforge"));
        command
            .args(["billing", "reconcile", "--since", "1h"])
            .env("DEVFORGE_DATABASE_URL", &db.url)
            .env("DEVFORGE_DATA_DIR", db.dir())
            .env(
                "DEVFORGE_STRIPE_SECRET_KEY",
                devforge_tests::stripe::SECRET_KEY,
            )
            .env("DEVFORGE_STRIPE_API_BASE", &stripe.url)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let first = reconcile();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("read 1 events") && stdout(&first).contains("applied 1 "),
        "{}",
        stdout(&first)
    );
    let second = reconcile();
    assert!(
        stdout(&second).contains("applied 0 "),
        "{}",
        stdout(&second)
    );
}
