//! The `devforge` binary as operators use it: migrations, creating the first admin,
//! refusing to serve PostgreSQL with a schema behind, reconciling payments, and keeping
//! packages in an S3 bucket configured through the standard `AWS_*` variables.

use devforge_marketplace::ports::PackageStore as _;
use devforge_packages::ObjectPackageStore;
use devforge_tests::server_process::ServerProcess;
use devforge_tests::{Backend, TestDatabase, backends, files_under};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packages_go_to_an_s3_bucket_when_one_is_configured() {
    let Some(s3) = devforge_tests::s3::FakeS3::start().await else {
        return;
    };
    s3.create_bucket("devforge-packages").await;
    let db = TestDatabase::create(Backend::Sqlite).await;
    assert!(devforge(&db, &["migrate", "up"], None).status.success());
    let password = "correct horse battery staple 42";
    let admin = devforge(
        &db,
        &[
            "user",
            "create",
            "--email",
            "ops@example.com",
            "--role",
            "admin",
            "--password-stdin",
        ],
        Some(password),
    );
    assert!(admin.status.success(), "{}", stderr(&admin));

    let server = ServerProcess::spawn(|port| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_devforge"));
        command
            .arg("serve")
            .env("DEVFORGE_DATABASE_URL", &db.url)
            .env("DEVFORGE_DATA_DIR", db.dir())
            .env("DEVFORGE_LISTEN", format!("127.0.0.1:{port}"))
            .env("DEVFORGE_RATE_LIMIT_ENABLED", "false")
            .env("DEVFORGE_PACKAGE_STORE", "s3://devforge-packages")
            .envs(s3.client_environment());
        command
    })
    .unwrap_or_else(|e| panic!("{e}"));
    server
        .wait_until_answering(|client| client.get(format!("{}/health/live", server.url)))
        .await;
    let (base, client) = (&server.url, &server.client);

    let login: serde_json::Value = client
        .post(format!("{base}/v1/auth/login"))
        .json(&serde_json::json!({"email": "ops@example.com", "password": password}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .unwrap_or_else(|e| panic!("login: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let token = login["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let send = |method: reqwest::Method, path: &str| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&token)
    };
    let status = |response: Result<reqwest::Response, reqwest::Error>| {
        response.unwrap_or_else(|e| panic!("{e}")).status().as_u16()
    };
    let extension = serde_json::json!({"name": "bucket-tools", "display_name": "Bucket tools",
        "description": "Stored in a bucket", "category": "other"});
    let created = send(reqwest::Method::POST, "/v1/extensions")
        .json(&extension)
        .send()
        .await;
    assert_eq!(status(created), 201);
    // Three parts of a multipart upload: 5 MiB, 5 MiB and the rest.
    let package: Vec<u8> = (0..12_000_000_u32).map(|i| (i % 253) as u8).collect();
    let upload = || {
        send(
            reqwest::Method::POST,
            "/v1/extensions/bucket-tools/versions?version=1.0.0&engine=%3E%3D1.0",
        )
        .header("content-type", "application/octet-stream")
        .body(package.clone())
        .send()
    };
    assert_eq!(status(upload().await), 201);
    assert_eq!(status(upload().await), 409, "a version is uploaded once");
    let stored = s3.objects("devforge-packages").await;
    assert_eq!(stored.len(), 1, "one object in the bucket: {stored:?}");
    assert_eq!(stored[0].1, package.len() as u64);
    assert_eq!(
        files_under(&db.dir().join("packages")).len(),
        0,
        "nothing was written to the default package directory"
    );
    let bucket = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&s3.endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("devforge-test")
        .with_secret_access_key("devforge-test-secret")
        .with_bucket_name("devforge-packages")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let store = ObjectPackageStore::new(std::sync::Arc::new(bucket));
    let probe: devforge_marketplace::ports::PackageStream =
        Box::pin(futures_util::stream::iter([Ok(bytes::Bytes::from_static(
            b"probe",
        ))]));
    store
        .put_stream("probe/0.0.1/new.pkg", probe)
        .await
        .unwrap_or_else(|e| panic!("the same client writes a new key: {e}"));
    assert_eq!(s3.objects("devforge-packages").await.len(), 2);
    store
        .remove("probe/0.0.1/new.pkg")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s3.objects("devforge-packages").await,
        stored,
        "the probe is removed and the package is as uploaded"
    );

    let approve = send(
        reqwest::Method::POST,
        "/v1/extensions/bucket-tools/versions/1.0.0/approve",
    )
    .send()
    .await;
    assert_eq!(status(approve), 200);
    let download = client
        .get(format!("{base}/v1/extensions/bucket-tools/latest/download"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(download.status().as_u16(), 200);
    let checksum = download
        .headers()
        .get("x-checksum-sha256")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = download.bytes().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        body.as_ref(),
        package.as_slice(),
        "read back from the bucket"
    );
    assert_eq!(checksum.len(), 64);
}
