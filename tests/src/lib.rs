//! The test harness: a real `devforge` server on a free port, over a fresh database of its
//! own, spoken to over real HTTP.
//!
//! Every test runs against SQLite, and against PostgreSQL too when
//! `DEVFORGE_TEST_POSTGRES_URL` names a server (a URL whose user may create databases, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`). Under `CI=true` a missing or unreachable
//! PostgreSQL fails the run instead of being skipped.

use devforge_api::Settings;
use devforge_api::app::{self, MigrationPolicy, RunningServer};
use devforge_api::state::AppState;
use devforge_domain::Role;
use devforge_identity::Registration;
use devforge_persistence::Database;
use reqwest::{Method, RequestBuilder, Response};
use sea_orm::ConnectionTrait as _;
use serde_json::Value;
use std::sync::Once;

pub mod cluster;
pub mod nginx;
pub mod python_fakes;
pub mod raw_http;
pub mod redis_server;
pub mod s3;
pub mod schemathesis;
pub mod server_process;
pub mod stripe;
pub mod tcp_gate;

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery staple 42";

/// A database the server can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server of `DEVFORGE_TEST_POSTGRES_URL`.
    Postgres,
}

const POSTGRES_URL_VAR: &str = "DEVFORGE_TEST_POSTGRES_URL";

/// The backends this run covers: SQLite always, PostgreSQL when configured.
///
/// # Panics
/// Under `CI=true` when PostgreSQL is not configured: CI must never skip it.
#[must_use]
pub fn backends() -> Vec<Backend> {
    let postgres = std::env::var(POSTGRES_URL_VAR).is_ok_and(|url| !url.is_empty());
    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    assert!(
        postgres || !in_ci,
        "CI=true but {POSTGRES_URL_VAR} is not set: the PostgreSQL suite must run in CI"
    );
    if postgres {
        vec![Backend::Sqlite, Backend::Postgres]
    } else {
        static NOTE: Once = Once::new();
        NOTE.call_once(|| {
            eprintln!("note: {POSTGRES_URL_VAR} is not set; running against SQLite only");
        });
        vec![Backend::Sqlite]
    }
}

/// Runs an async test body once per backend, each on a fresh server.
#[macro_export]
macro_rules! on_every_backend {
    ($(#[$meta:meta])* async fn $name:ident($app:ident) $body:block) => {
        $(#[$meta])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in $crate::backends() {
                eprintln!("-- {} on {backend:?}", stringify!($name));
                let $app = $crate::TestApp::spawn(backend).await;
                $body
                $app.shutdown().await;
            }
        }
    };
}

/// A fresh database for one test; PostgreSQL ones are dropped when this is.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL the server connects to.
    pub url: String,
    postgres_name: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl TestDatabase {
    /// Creates an empty database on `backend`.
    ///
    /// # Panics
    /// When the database cannot be created (PostgreSQL unreachable, disk full, ...).
    pub async fn create(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temporary directory: {e}"));
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", dir.path().join("test.db").display()),
                postgres_name: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_URL_VAR)
                    .unwrap_or_else(|_| panic!("{POSTGRES_URL_VAR} is not set"));
                let name = format!("devforge_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url, 1).await.unwrap_or_else(|e| {
                    panic!("cannot reach PostgreSQL at {POSTGRES_URL_VAR}: {e:?}")
                });
                admin
                    .connection()
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
                let _ = admin.close().await;
                Self {
                    url: replace_database(&admin_url, &name),
                    postgres_name: Some((admin_url, name)),
                    _dir: dir,
                }
            }
        }
    }

    /// PostgreSQL only: ends every server process connected to this database, as
    /// `pg_terminate_backend` by an administrator or a fast shutdown does (the clients get
    /// SQLSTATE 57P01 in mid-query). Returns how many were ended; 0 on SQLite.
    ///
    /// # Panics
    /// When PostgreSQL cannot be reached.
    pub async fn terminate_backends(&self) -> usize {
        let Some((admin_url, name)) = &self.postgres_name else {
            return 0;
        };
        let admin = Database::connect(admin_url, 1)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL: {e:?}"));
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        );
        let ended = admin
            .connection()
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                sql,
            ))
            .await
            .unwrap_or_else(|e| panic!("pg_terminate_backend: {e}"))
            .len();
        let _ = admin.close().await;
        ended
    }

    /// A directory that lives as long as the database.
    #[must_use]
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres_name.take() else {
            return;
        };
        // Drop runs outside async context: use a short-lived runtime on its own thread.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async move {
                    if let Ok(admin) = Database::connect(&admin_url, 1).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = admin.connection().execute_unprepared(&sql).await;
                        let _ = admin.close().await;
                    }
                });
            }
        });
        let _ = dropper.join();
    }
}

/// The address of the PostgreSQL server named by `DEVFORGE_TEST_POSTGRES_URL`.
///
/// # Panics
/// When the variable is unset or its host does not resolve.
pub async fn postgres_address() -> std::net::SocketAddr {
    let url =
        std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| panic!("{POSTGRES_URL_VAR} is not set"));
    let authority = authority(&url);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    tokio::net::lookup_host(&host_port)
        .await
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| panic!("cannot resolve {host_port}"))
}

/// `url` with its host and port replaced by `addr` (user and database kept).
#[must_use]
pub fn rerouted(url: &str, addr: std::net::SocketAddr) -> String {
    let authority = authority(url);
    let replacement = match authority.rsplit_once('@') {
        Some((user, _)) => format!("{user}@{addr}"),
        None => addr.to_string(),
    };
    url.replacen(authority, &replacement, 1)
}

/// The `user@host:port` part of a URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest)
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').map_or(base, |(prefix, _)| prefix);
    match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Settings for a test server: loopback port 0, cheap bcrypt, no rate limits.
#[must_use]
pub fn test_settings(database: &TestDatabase) -> Settings {
    let mut settings =
        Settings::from_env().unwrap_or_else(|e| panic!("settings from environment: {e}"));
    settings.data_dir = Some(database.dir().to_path_buf());
    settings.database_url = Some(database.url.clone());
    settings.listen = "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}"));
    settings.jwt_secret = Some(uuid::Uuid::new_v4().simple().to_string().repeat(2));
    settings.bcrypt_cost = 4;
    settings.workers = Some(2);
    settings.db_pool_size = 5;
    settings.rate_limit_enabled = false;
    settings.cors_origins = vec!["https://app.devforge.test".into()];
    // Payments only where a test asks for the fake Stripe.
    settings.stripe_secret_key = None;
    settings.stripe_webhook_secret = Vec::new();
    settings
}

/// A running server with its own database, and a client for it.
#[derive(Debug)]
pub struct TestApp {
    /// Which database it runs on.
    pub backend: Backend,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The services, for arranging state that has no public route (e.g. staff accounts).
    pub state: AppState,
    client: reqwest::Client,
    server: Option<RunningServer>,
    database: std::sync::Arc<TestDatabase>,
}

/// A logged-in account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its id.
    pub id: String,
    /// Its email.
    pub email: String,
    /// A valid access token.
    pub token: String,
    /// A valid refresh token.
    pub refresh_token: String,
}

impl TestApp {
    /// A server with the default test settings.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A server whose settings `adjust` changes first.
    ///
    /// # Panics
    /// When the server cannot start.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Self {
        let database = std::sync::Arc::new(TestDatabase::create(backend).await);
        Self::start(database, backend, adjust).await
    }

    /// A server whose payments go to a fresh fake Stripe, which delivers its webhooks back
    /// to it. `None` (the test is skipped) where the fake cannot run outside CI.
    pub async fn spawn_with_stripe(backend: Backend) -> Option<(Self, stripe::FakeStripe)> {
        let fake = stripe::FakeStripe::start().await?;
        let url = fake.url.clone();
        let app = Self::spawn_with(backend, |settings| {
            settings.stripe_secret_key = Some(stripe::SECRET_KEY.into());
            settings.stripe_webhook_secret = vec![stripe::WEBHOOK_SECRET.into()];
            settings.stripe_api_base = url;
        })
        .await;
        fake.deliver_webhooks_to(&format!("{}/v1/webhooks/stripe", app.base_url))
            .await;
        Some((app, fake))
    }

    /// Another server on this one's database and data directory (so the same secrets), as a
    /// second instance behind a load balancer would be.
    pub async fn second_instance(&self) -> Self {
        self.second_instance_with(|_| {}).await
    }

    /// A second server on the same database, whose settings `adjust` changes first.
    pub async fn second_instance_with(&self, adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::start(std::sync::Arc::clone(&self.database), self.backend, adjust).await
    }

    async fn start(
        database: std::sync::Arc<TestDatabase>,
        backend: Backend,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let mut settings = test_settings(&database);
        adjust(&mut settings);
        let db = app::open_database(&settings)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        app::prepare_schema(&db, MigrationPolicy::Apply)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let state = app::build_state(&settings, db)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let server = app::serve(settings, state.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let app = Self {
            backend,
            base_url: format!("http://{}", server.addr()),
            state,
            client,
            server: Some(server),
            database,
        };
        app.wait_until_ready().await;
        app
    }

    /// Waits until `/health/ready` answers 200 (the listing index is built), as a load
    /// balancer would before sending traffic.
    ///
    /// # Panics
    /// When it is not ready within 30 seconds.
    pub async fn wait_until_ready(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let ready = self
                .request(Method::GET, "/health/ready", None)
                .send()
                .await
                .is_ok_and(|r| r.status() == reqwest::StatusCode::OK);
            if ready {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server was not ready within 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Closes every connection pool the server uses, as if the database went away.
    pub async fn close_database(&self) {
        let _ = self.state.database.clone().close().await;
        for pool in self.server.iter().flat_map(|server| server.pools()) {
            let _ = pool.clone().close().await;
        }
    }

    /// The server's data directory (packages are kept in `packages` under it).
    #[must_use]
    pub fn data_dir(&self) -> &std::path::Path {
        self.database.dir()
    }

    /// The server's socket address.
    ///
    /// # Panics
    /// Never: `base_url` is made from it.
    #[must_use]
    pub fn addr(&self) -> std::net::SocketAddr {
        let authority = self.base_url.trim_start_matches("http://");
        authority
            .parse()
            .unwrap_or_else(|e| panic!("{authority}: {e}"))
    }

    /// Ends every PostgreSQL backend serving this server's database (see
    /// [`TestDatabase::terminate_backends`]).
    pub async fn terminate_database_backends(&self) -> usize {
        self.database.terminate_backends().await
    }

    /// Stops the server gracefully (the database goes when `self` is dropped).
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        let _ = &self.database;
    }

    /// A request to `path`, with a bearer token when given.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self
            .client
            .request(method, format!("{}{path}", self.base_url));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request with an optional JSON body and token.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Response {
        let mut request = self.request(method, path, token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.send(Method::GET, path, None, token).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Response {
        self.send(Method::POST, path, Some(body), token).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: Value, token: Option<&str>) -> Response {
        self.send(Method::PATCH, path, Some(body), token).await
    }

    /// Registers a `user` account through the API.
    ///
    /// # Panics
    /// When registration does not answer 201.
    pub async fn register(&self, email: &str) -> Account {
        let response = self
            .post(
                "/v1/auth/register",
                serde_json::json!({ "email": email, "password": PASSWORD }),
                None,
            )
            .await;
        assert_eq!(response.status(), 201, "registering {email}");
        account_from(json(response).await)
    }

    /// Creates an account with `role` as an operator would, then logs it in.
    ///
    /// # Panics
    /// When creation or login fails.
    pub async fn account_with_role(&self, email: &str, role: Role) -> Account {
        let registration = Registration {
            email,
            password: PASSWORD,
            name: None,
        };
        self.state
            .identity
            .create_user(registration, role)
            .await
            .unwrap_or_else(|e| panic!("creating {email}: {e}"));
        self.login(email).await
    }

    /// Logs an existing account in.
    ///
    /// # Panics
    /// When login does not answer 200.
    pub async fn login(&self, email: &str) -> Account {
        let response = self
            .post(
                "/v1/auth/login",
                serde_json::json!({ "email": email, "password": PASSWORD }),
                None,
            )
            .await;
        assert_eq!(response.status(), 200, "logging in {email}");
        account_from(json(response).await)
    }
}

fn account_from(body: Value) -> Account {
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    Account {
        id: text(&body["user"]["id"]),
        email: text(&body["user"]["email"]),
        token: text(&body["access_token"]),
        refresh_token: text(&body["refresh_token"]),
    }
}

/// Every file under `dir` at any depth (none when it does not exist).
#[must_use]
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir).map_or_else(
        |_| Vec::new(),
        |entries| {
            entries
                .flatten()
                .flat_map(|entry| {
                    let path = entry.path();
                    if path.is_dir() {
                        files_under(&path)
                    } else {
                        vec![path]
                    }
                })
                .collect()
        },
    )
}

/// The JSON body of a response.
///
/// # Panics
/// When the body is not JSON.
pub async fn json(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{status} body is not JSON ({e}): {text}"))
}

/// Asserts a response is a problem document with `status` and `code`, and returns it.
///
/// # Panics
/// When it is not.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    let actual = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = json(response).await;
    assert_eq!(actual, status, "status of {body}");
    assert_eq!(
        content_type, "application/problem+json",
        "content type of {body}"
    );
    assert_eq!(body["code"], code, "code of {body}");
    assert_eq!(body["status"], status, "status field of {body}");
    assert!(
        body["type"].as_str().is_some_and(|t| t.ends_with(code)),
        "{body}"
    );
    assert!(
        body["title"].is_string() && body["detail"].is_string(),
        "{body}"
    );
    body
}
