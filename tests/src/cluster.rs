//! Several release `devforge` instances as operators run them: one PostgreSQL database,
//! one Redis, one S3 package store (moto), one fake Stripe, and nginx in front, with every
//! secret set once and given to all instances (nothing generated per data directory).
//!
//! Each instance is its own process on its own port, so a test can speak to one directly
//! (to know which instance answered) or through the proxy (as clients do), stop one with
//! SIGTERM, or stop Redis under all of them.

use crate::nginx::Nginx;
use crate::redis_server::RedisServer;
use crate::s3::FakeS3;
use crate::server_process::free_port;
use crate::stripe::{self, FakeStripe};
use crate::{Account, Backend, PASSWORD, TestDatabase};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How many instances the cluster runs.
pub const INSTANCES: usize = 3;
/// The general rate limit every instance is configured with, per client IP.
pub const RATE_PER_SECOND: u32 = 10;
/// Its burst.
pub const RATE_BURST: u32 = 10;
/// The credential (login, registration, license key) limit per client IP, per minute.
pub const AUTH_PER_MINUTE: u32 = 5;
/// Its burst.
pub const AUTH_BURST: u32 = 5;
/// The S3 bucket packages are kept in.
const BUCKET: &str = "devforge-cluster";

/// One `devforge serve` process.
#[derive(Debug)]
pub struct Instance {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its address.
    pub addr: SocketAddr,
    log: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Instance {
    /// What the instance has logged so far.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pid(&self) -> Option<u32> {
        self.child
            .lock()
            .ok()
            .and_then(|child| child.as_ref().map(Child::id))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock()
            && let Some(mut child) = child.take()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The running cluster; everything stops when it is dropped.
#[derive(Debug)]
pub struct Cluster {
    /// Where clients send their requests: nginx.
    pub proxy: String,
    /// The instances, each reachable directly.
    pub instances: Vec<Instance>,
    /// The shared Redis, which a test may stop and start again.
    pub redis: tokio::sync::Mutex<RedisServer>,
    /// The fake Stripe every instance's payments go to.
    pub stripe: FakeStripe,
    /// The fake S3 holding the packages.
    pub s3: FakeS3,
    /// An administrator, created with `devforge user create` as an operator would.
    pub admin: Account,
    client: reqwest::Client,
    next_client_ip: AtomicU32,
    nginx: Nginx,
    database: TestDatabase,
    _dir: tempfile::TempDir,
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

impl Cluster {
    /// Starts everything with the release binary at `binary`.
    ///
    /// # Errors
    /// When any part cannot start (PostgreSQL, Redis, Python for the fakes, nginx, an
    /// instance), with what it printed.
    pub async fn start(binary: &Path) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let database = TestDatabase::create(Backend::Postgres).await;
        let redis = RedisServer::start()
            .await
            .ok_or("redis-server cannot be started")?;
        let s3 = FakeS3::start().await.ok_or("the fake S3 cannot start")?;
        s3.create_bucket(BUCKET).await;
        let stripe = FakeStripe::start()
            .await
            .ok_or("the fake Stripe cannot start")?;
        // The tests deliver webhooks themselves, to the instance of their choice.
        stripe
            .deliver_webhooks_to("http://127.0.0.1:9/unreachable")
            .await;

        let environment = shared_environment(&database, &redis, &s3, &stripe);
        run(binary, &environment, dir.path(), &["migrate", "up"], None)?;
        run(
            binary,
            &environment,
            dir.path(),
            &[
                "user",
                "create",
                "--email",
                "admin@cluster.test",
                "--password-stdin",
                "--role",
                "admin",
            ],
            Some(PASSWORD),
        )?;

        let mut instances = Vec::with_capacity(INSTANCES);
        for number in 1..=INSTANCES {
            instances.push(spawn_instance(binary, &environment, dir.path(), number)?);
        }
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        for instance in &instances {
            wait_until_ready(&client, instance).await?;
        }
        let upstreams: Vec<SocketAddr> = instances.iter().map(|i| i.addr).collect();
        let nginx = Nginx::start(&upstreams, &dir.path().join("nginx")).await?;
        let mut cluster = Self {
            proxy: nginx.url.clone(),
            instances,
            redis: tokio::sync::Mutex::new(redis),
            stripe,
            s3,
            admin: Account {
                id: String::new(),
                email: String::new(),
                token: String::new(),
                refresh_token: String::new(),
            },
            client,
            next_client_ip: AtomicU32::new(1),
            nginx,
            database,
            _dir: dir,
        };
        cluster.admin = cluster.login(&cluster.proxy, "admin@cluster.test").await?;
        Ok(cluster)
    }

    /// A request to `base` (the proxy or an instance's URL) from a client address of its
    /// own (`X-Forwarded-For`, which the instances trust from loopback), so that only the
    /// rate-limit test's own client is ever limited.
    pub fn request(&self, method: Method, base: &str, path: &str) -> RequestBuilder {
        let client_ip = self.fresh_client_ip();
        self.request_from(&client_ip, method, base, path)
    }

    /// A request to `base` from the client address `client_ip`.
    pub fn request_from(
        &self,
        client_ip: &str,
        method: Method,
        base: &str,
        path: &str,
    ) -> RequestBuilder {
        self.client
            .request(method, format!("{base}{path}"))
            .header("x-forwarded-for", client_ip)
    }

    /// A client address no other request has used (from 10.0.0.0/8).
    #[must_use]
    pub fn fresh_client_ip(&self) -> String {
        let n = self.next_client_ip.fetch_add(1, Ordering::Relaxed);
        format!("10.{}.{}.{}", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff)
    }

    /// `POST base+path` with a JSON body and an optional bearer token.
    ///
    /// # Errors
    /// When the request cannot be sent.
    pub async fn post(
        &self,
        base: &str,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let mut request = self.request(Method::POST, base, path).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request).await
    }

    /// `GET base+path` with an optional bearer token.
    ///
    /// # Errors
    /// When the request cannot be sent.
    pub async fn get(
        &self,
        base: &str,
        path: &str,
        token: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let mut request = self.request(Method::GET, base, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request).await
    }

    /// Registers a `user` account through `base`.
    ///
    /// # Errors
    /// When registration does not answer 201.
    pub async fn register(&self, base: &str, email: &str) -> Result<Account, String> {
        let body = json!({"email": email, "password": PASSWORD});
        match self.post(base, "/v1/auth/register", &body, None).await? {
            (201, body) => Ok(account_from(&body)),
            (status, body) => Err(format!("registering {email}: {status} {body}")),
        }
    }

    /// Logs an existing account in through `base`.
    ///
    /// # Errors
    /// When login does not answer 200.
    pub async fn login(&self, base: &str, email: &str) -> Result<Account, String> {
        let body = json!({"email": email, "password": PASSWORD});
        match self.post(base, "/v1/auth/login", &body, None).await? {
            (200, body) => Ok(account_from(&body)),
            (status, body) => Err(format!("logging in {email}: {status} {body}")),
        }
    }

    /// `/metrics` of instance `number` (0-based).
    ///
    /// # Errors
    /// When it does not answer.
    pub async fn metrics(&self, number: usize) -> Result<String, String> {
        let url = format!("{}/metrics", self.instances[number].url);
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        response.text().await.map_err(|e| e.to_string())
    }

    /// Sends SIGTERM to instance `number` and waits for it to exit.
    ///
    /// # Errors
    /// When it is not running, or has not exited after 40 s.
    pub async fn terminate(&self, number: usize) -> Result<ExitStatus, String> {
        let instance = &self.instances[number];
        let pid = instance.pid().ok_or("the instance is not running")?;
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .map_err(|e| format!("kill: {e}"))?;
        if !sent.success() {
            return Err(format!("kill -TERM {pid} failed"));
        }
        for _ in 0..400 {
            let exited = instance
                .child
                .lock()
                .map_err(|e| e.to_string())?
                .as_mut()
                .map(Child::try_wait)
                .transpose()
                .map_err(|e| e.to_string())?
                .flatten();
            if let Some(status) = exited {
                return Ok(status);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!(
            "instance {} did not exit after SIGTERM",
            number + 1
        ))
    }

    /// What nginx logged.
    #[must_use]
    pub fn proxy_log(&self) -> String {
        self.nginx.error_log()
    }

    /// The shared PostgreSQL database's URL, for checking what was stored.
    #[must_use]
    pub fn database_url(&self) -> &str {
        &self.database.url
    }
}

/// Sends `request`; its status and JSON body (`null` when it has none).
///
/// # Errors
/// When the request cannot be sent.
pub async fn answer(request: RequestBuilder) -> Result<(u16, Value), String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

fn account_from(body: &Value) -> Account {
    Account {
        id: text(&body["user"]["id"]),
        email: text(&body["user"]["email"]),
        token: text(&body["access_token"]),
        refresh_token: text(&body["refresh_token"]),
    }
}

/// The settings every instance shares: the stores, the secrets, and the limits.
fn shared_environment(
    database: &TestDatabase,
    redis: &RedisServer,
    s3: &FakeS3,
    stripe: &FakeStripe,
) -> Vec<(String, String)> {
    let secret = || uuid::Uuid::new_v4().simple().to_string().repeat(2);
    let signing_key = devforge_licensing::SigningKeyPair::generate("cluster-1").encode();
    let mut environment: Vec<(String, String)> = [
        ("DEVFORGE_DATABASE_URL", database.url.clone()),
        ("DEVFORGE_REDIS_URL", redis.url()),
        ("DEVFORGE_PACKAGE_STORE", format!("s3://{BUCKET}")),
        ("DEVFORGE_JWT_SECRET", secret()),
        ("DEVFORGE_LICENSE_LOOKUP_SECRET", secret()),
        ("DEVFORGE_LICENSE_ENCRYPTION_SECRET", secret()),
        ("DEVFORGE_CERTIFICATE_SIGNING_KEYS", signing_key),
        ("DEVFORGE_STRIPE_SECRET_KEY", stripe::SECRET_KEY.to_owned()),
        ("DEVFORGE_STRIPE_API_BASE", stripe.url.clone()),
        (
            "DEVFORGE_STRIPE_WEBHOOK_SECRET",
            stripe::WEBHOOK_SECRET.to_owned(),
        ),
        ("DEVFORGE_TRUSTED_PROXIES", "127.0.0.1".to_owned()),
        ("DEVFORGE_RATE_LIMIT_ENABLED", "true".to_owned()),
        (
            "DEVFORGE_RATE_LIMIT_PER_SECOND",
            RATE_PER_SECOND.to_string(),
        ),
        ("DEVFORGE_RATE_LIMIT_BURST", RATE_BURST.to_string()),
        (
            "DEVFORGE_AUTH_RATE_LIMIT_PER_MINUTE",
            AUTH_PER_MINUTE.to_string(),
        ),
        ("DEVFORGE_AUTH_RATE_LIMIT_BURST", AUTH_BURST.to_string()),
        ("DEVFORGE_BCRYPT_COST", "10".to_owned()),
        ("DEVFORGE_WORKERS", "2".to_owned()),
        ("DEVFORGE_DB_POOL_SIZE", "10".to_owned()),
        ("DEVFORGE_LOG", "info".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    environment.extend(
        s3.client_environment()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value)),
    );
    environment
}

/// Runs a one-off `devforge` command (a migration, an account), as an operator does.
fn run(
    binary: &Path,
    environment: &[(String, String)],
    data_dir: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<(), String> {
    use std::io::Write as _;
    let mut child = Command::new(binary)
        .args(args)
        .envs(environment.iter().map(|(k, v)| (k, v)))
        .env("DEVFORGE_DATA_DIR", data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        writeln!(pipe, "{input}").map_err(|e| e.to_string())?;
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "devforge {}: {}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn spawn_instance(
    binary: &Path,
    environment: &[(String, String)],
    dir: &Path,
    number: usize,
) -> Result<Instance, String> {
    let port = free_port()?;
    let data_dir = dir.join(format!("instance-{number}"));
    std::fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let log = dir.join(format!("instance-{number}.log"));
    let output = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let errors = output.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new(binary)
        .arg("serve")
        .envs(environment.iter().map(|(k, v)| (k, v)))
        .env("DEVFORGE_DATA_DIR", &data_dir)
        .env("DEVFORGE_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors)
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    Ok(Instance {
        url: format!("http://{addr}"),
        addr,
        log,
        child: Mutex::new(Some(child)),
    })
}

async fn wait_until_ready(client: &reqwest::Client, instance: &Instance) -> Result<(), String> {
    let url = format!("{}/health/ready", instance.url);
    for _ in 0..600 {
        let ready = client.get(&url).send().await;
        if ready.is_ok_and(|response| response.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!(
        "{} was not ready after 30 s:\n{}",
        instance.url,
        instance.log()
    ))
}
