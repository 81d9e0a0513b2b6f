//! The composition root: builds the adapters, hands them to the services, and mounts the
//! routes with their middleware. Nothing else in the workspace names concrete adapters.

use crate::api_routes;
use crate::background::RuntimeBackground;
use crate::desk::{LicensingDesk, LicensingEntitlements};
use crate::extract_errors;
use crate::known_routes::{self, KnownRoutes};
use crate::listener::{self, DOOR_DRAIN, Door};
use crate::metrics::Metrics;
use crate::middleware::shared_rate_limit::{Rate, SharedLimits};
use crate::middleware::{
    cors::cors, observe::observe, problem_fallback::problem_fallback, rate_limit,
    security_headers::security_headers, uri_limit::uri_limit,
};
use crate::openapi::ApiDoc;
use crate::openapi_links;
use crate::problem_responses;
use crate::secrets;
use crate::settings::Settings;
use crate::state::{AppState, Billing, Licensing};
use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use chrono::Duration;
use devforge_billing::{BillingConfig, BillingService};
use devforge_domain::SystemClock;
use devforge_identity::{
    AccessTokens, BcryptHasher, IdentityConfig, IdentityService, LoginThrottlePolicy,
};
use devforge_licensing::{
    CertificateSigner, KeyProtector, LicensingConfig, LicensingService, SigningKeyPair,
};
use devforge_marketplace::ports::PublisherQuota;
use devforge_marketplace::{
    ChangesDropCache, ListingCache, ListingIndex, MarketplaceService, UploadLimits,
};
use devforge_packages::ObjectPackageStore;
use devforge_persistence::{
    Database, DatabaseKind, LicenseReadModel, ListingFeed, SqlBillingStore, SqlIdentityStore,
    SqlLicensingStore, SqlMarketStore, SqlSupportStore,
};
use devforge_search::{ArticleSearchIndex, ExtensionIndex};
use devforge_stripe::StripeGateway;
use devforge_support::{Lifecycle, SupportConfig, SupportService};
use sha2::{Digest as _, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa::OpenApi as _;
use utoipa_actix_web::AppExt as _;
use utoipa_swagger_ui::SwaggerUi;

/// How many listed extensions an instance keeps in memory at most, over all kept pages
/// (about 1 KB each with a typical description, at most 9 KB with the longest allowed).
const LISTING_CACHE_EXTENSIONS: usize = 10_000;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] devforge_domain::StoreError),
    /// PostgreSQL has migrations waiting and the operator did not ask to apply them.
    #[error(
        "{} migration(s) pending ({}): run `devforge migrate up` (or `cargo xtask migrate up`), \
         or start with `devforge serve --migrate`",
        .0.len(), .0.join(", ")
    )]
    PendingMigrations(Vec<String>),
    /// Files in the data directory could not be read or written.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Whether to apply pending migrations at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationPolicy {
    /// Apply them on SQLite (the embedded default); refuse to start on PostgreSQL.
    Default,
    /// Apply them on any database (`devforge serve --migrate`).
    Apply,
}

/// Opens the configured database, creating the data directory for a SQLite default.
///
/// # Errors
/// [`StartupError`] when the directory or the database cannot be opened.
pub async fn open_database(settings: &Settings) -> Result<Database, StartupError> {
    std::fs::create_dir_all(settings.resolved_data_dir())?;
    Ok(Database::connect(&settings.resolved_database_url(), settings.db_pool_size).await?)
}

/// Builds the services over `database`.
///
/// # Errors
/// [`StartupError`] for unusable settings.
pub async fn build_state(
    settings: &Settings,
    database: Database,
) -> Result<AppState, StartupError> {
    let secret = secrets::configured_or_persisted(
        settings.jwt_secret.as_deref(),
        &settings.resolved_data_dir(),
        "jwt-secret",
        "DEVFORGE_JWT_SECRET",
    )?;
    let tokens = AccessTokens::new(
        secret.as_bytes(),
        Duration::seconds(i64::from(settings.access_token_ttl_secs)),
    )
    .map_err(StartupError::Config)?;
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let hasher = BcryptHasher::new(
        settings.bcrypt_cost,
        settings.password_hash_concurrency.unwrap_or(cores),
    )
    .map_err(|e| StartupError::Config(e.to_string()))?;
    let config = IdentityConfig {
        refresh_token_ttl: Duration::days(i64::from(settings.refresh_token_ttl_days)),
        login_throttle: LoginThrottlePolicy {
            client_max_failures: settings.login_max_failures.max(1),
            client_lockout: Duration::seconds(i64::from(settings.login_lockout_secs)),
            email_free_attempts: settings.login_email_free_attempts.max(1),
            email_window: LoginThrottlePolicy::default().email_window,
            email_max_delay: Duration::seconds(i64::from(
                settings.login_email_max_delay_secs.max(1),
            )),
        },
    };
    let identity = IdentityService::new(
        SqlIdentityStore::new(database.clone()),
        hasher,
        SystemClock,
        tokens,
        config,
    )
    .await
    .map_err(|e| StartupError::Config(e.to_string()))?;
    let licensing = build_licensing(settings, &database)?;
    let metrics = Metrics::new().map_err(|e| StartupError::Config(e.to_string()))?;
    let support = SupportService::new(
        SqlSupportStore::new(database.clone()),
        SystemClock,
        SupportConfig {
            lifecycle: Lifecycle {
                reopen_window: Duration::days(i64::from(settings.support_reopen_days)),
            },
            auto_assign: settings.support_auto_assign,
        },
        Arc::new(ArticleSearchIndex::new()),
    );
    let licensing = Arc::new(licensing);
    let billing = build_billing(settings, &database, &licensing)?;
    let packages = match settings.package_store.as_deref() {
        Some(bucket) if bucket.starts_with("s3://") => {
            ObjectPackageStore::in_s3_bucket(bucket.trim_start_matches("s3://"))
        }
        Some(directory) => ObjectPackageStore::in_directory(std::path::Path::new(directory)),
        None => ObjectPackageStore::in_directory(&settings.resolved_data_dir().join("packages")),
    }
    .map_err(|e| StartupError::Config(format!("DEVFORGE_PACKAGE_STORE: {e}")))?;
    let mut market = MarketplaceService::new(
        SqlMarketStore::new(database.clone()),
        packages,
        LicensingEntitlements::new(Arc::clone(&licensing)),
        SystemClock,
    )
    .with_upload_limits(UploadLimits {
        max_package_bytes: settings.max_package_bytes,
        quota: PublisherQuota {
            max_pending_versions: settings.max_pending_versions,
            max_stored_bytes: settings.publisher_quota_bytes,
        },
    })
    .with_listing_cache(
        ListingCache::new(
            Duration::seconds(settings.listing_cache_seconds.into()),
            LISTING_CACHE_EXTENSIONS,
        )
        .refreshed_in(Arc::new(RuntimeBackground)),
    );
    // Loaded and followed once the server starts (`serve`); until then listings come from
    // the database.
    let listing_index = settings
        .search_index
        .then(|| Arc::new(ExtensionIndex::new()));
    if let Some(index) = &listing_index {
        market = market.with_index(Arc::clone(index) as Arc<dyn ListingIndex>);
    }
    Ok(AppState {
        identity: Arc::new(identity),
        licensing,
        support: Arc::new(support),
        billing,
        market: Arc::new(market),
        listing_index,
        trusted_proxies: settings.trusted_proxies.clone().into(),
        pools: Arc::new(vec![database.clone()]),
        database,
        metrics: Arc::new(metrics),
        shared_rate_limits: shared_rate_limits(settings)?.map(Arc::new),
    })
}

/// The rate limits counted in Redis, when rate limiting is on and `DEVFORGE_REDIS_URL` set.
fn shared_rate_limits(settings: &Settings) -> Result<Option<SharedLimits>, StartupError> {
    let Some(url) = settings
        .redis_url
        .as_deref()
        .filter(|_| settings.rate_limit_enabled)
    else {
        return Ok(None);
    };
    let general = Rate {
        interval: std::time::Duration::from_secs(1) / settings.rate_limit_per_second.max(1),
        burst: settings.rate_limit_burst,
    };
    let credentials = Rate {
        interval: std::time::Duration::from_secs(60) / settings.auth_rate_limit_per_minute.max(1),
        burst: settings.auth_rate_limit_burst,
    };
    SharedLimits::new(
        url,
        general,
        credentials,
        credentials,
        &settings.trusted_proxies,
    )
    .map(Some)
    .map_err(StartupError::Config)
}

/// A 32-byte key derived from a configured secret (SHA-256), so operators can supply any
/// sufficiently long secret string.
fn derive_key(secret: &str, variable: &str) -> Result<[u8; 32], StartupError> {
    if secret.len() < 32 {
        return Err(StartupError::Config(format!(
            "{variable} must be at least 32 characters"
        )));
    }
    Ok(Sha256::digest(secret.as_bytes()).into())
}

fn build_licensing(settings: &Settings, database: &Database) -> Result<Licensing, StartupError> {
    let data_dir = settings.resolved_data_dir();
    let lookup = secrets::configured_or_persisted(
        settings.license_lookup_secret.as_deref(),
        &data_dir,
        "license-lookup-secret",
        "DEVFORGE_LICENSE_LOOKUP_SECRET",
    )?;
    let encryption = secrets::configured_or_persisted(
        settings.license_encryption_secret.as_deref(),
        &data_dir,
        "license-encryption-secret",
        "DEVFORGE_LICENSE_ENCRYPTION_SECRET",
    )?;
    let protector = KeyProtector::new(
        derive_key(&lookup, "DEVFORGE_LICENSE_LOOKUP_SECRET")?,
        derive_key(&encryption, "DEVFORGE_LICENSE_ENCRYPTION_SECRET")?,
    );
    let signing = secrets::configured_or_generated(
        settings.certificate_signing_keys.as_deref(),
        &data_dir,
        "certificate-signing-keys",
        "DEVFORGE_CERTIFICATE_SIGNING_KEYS",
        || SigningKeyPair::generate(&format!("k{}", chrono::Utc::now().format("%Y%m%d"))).encode(),
    )?;
    let keys = signing
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(SigningKeyPair::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StartupError::Config(format!("DEVFORGE_CERTIFICATE_SIGNING_KEYS: {e}")))?;
    let signer = CertificateSigner::new(
        &keys,
        Duration::days(i64::from(settings.certificate_offline_days.max(1))),
    )
    .map_err(|e| StartupError::Config(e.to_string()))?;
    let config = LicensingConfig {
        self_deactivations: settings.self_deactivations_per_day,
        deactivation_window: Duration::hours(24),
        reusable_certificates: settings.certificate_reuse_slots,
    };
    let service = LicensingService::new(
        SqlLicensingStore::new(database.clone()),
        SystemClock,
        protector,
        signer,
        config,
    );
    if settings.validation_cache {
        return Ok(service.with_cache(LicenseReadModel::start(database.clone())));
    }
    Ok(service)
}

/// The billing service, when a Stripe key is configured.
fn build_billing(
    settings: &Settings,
    database: &Database,
    licensing: &Arc<Licensing>,
) -> Result<Option<Arc<Billing>>, StartupError> {
    let Some(key) = settings
        .stripe_secret_key
        .as_deref()
        .filter(|k| !k.is_empty())
    else {
        tracing::warn!("DEVFORGE_STRIPE_SECRET_KEY is not set: payment routes answer 503");
        return Ok(None);
    };
    let secrets: Vec<String> = settings
        .stripe_webhook_secret
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if secrets.is_empty() {
        tracing::warn!("DEVFORGE_STRIPE_WEBHOOK_SECRET is not set: every webhook is refused");
    }
    let gateway = StripeGateway::new(key, &settings.stripe_api_base)
        .map_err(|e| StartupError::Config(format!("DEVFORGE_STRIPE_API_BASE: {e}")))?;
    let config = BillingConfig {
        webhook_secrets: secrets,
        webhook_tolerance_secs: i64::from(settings.stripe_webhook_tolerance_secs),
    };
    Ok(Some(Arc::new(BillingService::new(
        SqlBillingStore::new(database.clone()),
        gateway,
        LicensingDesk::new(Arc::clone(licensing)),
        SystemClock,
        config,
    ))))
}

/// Applies pending migrations as the policy allows.
///
/// # Errors
/// [`StartupError::PendingMigrations`] on PostgreSQL without [`MigrationPolicy::Apply`].
pub async fn prepare_schema(
    database: &Database,
    policy: MigrationPolicy,
) -> Result<(), StartupError> {
    let pending = database.pending_migrations().await?;
    if pending.is_empty() {
        return Ok(());
    }
    if policy == MigrationPolicy::Default && database.kind() == DatabaseKind::Postgres {
        return Err(StartupError::PendingMigrations(pending));
    }
    tracing::info!(count = pending.len(), "applying pending migrations");
    database.migrate_up(None).await?;
    Ok(())
}

/// A server accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    pools: Arc<Vec<Database>>,
    handle: ServerHandle,
    door: Arc<Door>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The address it listens on (useful with port 0).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The workers' connection pools.
    #[must_use]
    pub fn pools(&self) -> &[Database] {
        &self.pools
    }

    /// Stops gracefully when the process gets SIGINT or SIGTERM: the listener's door shuts
    /// (no new connection completes) while what is queued is still accepted, then the
    /// socket closes and in-flight requests finish (up to 30 s). See [`crate::listener`].
    pub fn stop_on_signals(&self) {
        let handle = self.handle.clone();
        let door = Arc::clone(&self.door);
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutdown signal received: finishing in-flight requests");
            match door.shut() {
                Ok(true) => tokio::time::sleep(DOOR_DRAIN).await,
                Ok(false) => {}
                Err(err) => {
                    tracing::warn!(%err, "the listener's door cannot be shut; closing it at once");
                }
            }
            door.release();
            handle.stop(true).await;
        });
    }

    /// Stops gracefully and waits, closing the listener at once: for a server in the same
    /// process as its clients (tests, benchmarks), which has no proxy to drain.
    pub async fn stop(self) {
        self.door.release();
        self.handle.stop(true).await;
        let _ = self.task.await;
    }

    /// Waits until the server stops.
    ///
    /// # Errors
    /// When the server failed.
    pub async fn wait(self) -> std::io::Result<()> {
        self.task
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => return interrupt.await.unwrap_or(()),
            };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
}

/// Opens the database, prepares the schema, builds the services and starts serving.
///
/// # Errors
/// [`StartupError`] when any step fails; nothing is served then.
pub async fn start(
    settings: Settings,
    policy: MigrationPolicy,
) -> Result<RunningServer, StartupError> {
    let database = open_database(&settings).await?;
    prepare_schema(&database, policy).await?;
    let state = build_state(&settings, database).await?;
    serve(settings, state).await
}

/// Whether `text` is a browser origin: `http(s)://host[:port]`, nothing after.
fn is_origin(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// Starts serving `state` with the HTTP settings of `settings`.
///
/// Each worker thread gets its own connection pool (`DEVFORGE_DB_POOL_SIZE` split between
/// them), opened lazily from that worker: a pool shared by all workers has its sockets
/// registered with whichever runtime opened them, and every query then wakes another
/// thread, which cost the validation hot path most of its throughput.
///
/// # Errors
/// [`StartupError`] when the address cannot be bound or a limit is invalid.
pub async fn serve(settings: Settings, state: AppState) -> Result<RunningServer, StartupError> {
    let workers = settings
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
        .max(1);
    let per_worker = settings
        .db_pool_size
        .div_ceil(u32::try_from(workers).unwrap_or(u32::MAX))
        .max(2);
    if let Some(index) = &state.listing_index {
        // What other instances change reaches the index and drops the kept pages.
        let follower = ChangesDropCache::new(
            Arc::clone(index) as Arc<dyn ListingIndex>,
            state.market.listing_cache(),
        );
        ListingFeed::start(state.database.clone(), Arc::new(follower));
    }
    let url = settings.resolved_database_url();
    let mut pools = Vec::with_capacity(workers);
    for _ in 0..workers {
        pools.push(Database::connect_lazy(&url, per_worker).await?);
    }
    let pools = Arc::new(pools);
    let next_worker = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let trusted = settings.trusted_proxies.clone();
    let general = rate_limit::limiter(
        std::time::Duration::from_secs(1) / settings.rate_limit_per_second.max(1),
        settings.rate_limit_burst,
        &trusted,
        rate_limit::Counted::All,
    )
    .map_err(StartupError::Config)?;
    let key_routes = rate_limit::limiter(
        std::time::Duration::from_secs(60) / settings.auth_rate_limit_per_minute.max(1),
        settings.auth_rate_limit_burst,
        &trusted,
        rate_limit::LICENSE_KEY_ROUTES,
    )
    .map_err(StartupError::Config)?;
    let credentials = rate_limit::limiter(
        std::time::Duration::from_secs(60) / settings.auth_rate_limit_per_minute.max(1),
        settings.auth_rate_limit_burst,
        &trusted,
        rate_limit::AUTH_EXEMPT,
    )
    .map_err(StartupError::Config)?;
    // In-process limits count only where Redis does not count for every instance.
    let limiters = api_routes::Limiters {
        enabled: settings.rate_limit_enabled && state.shared_rate_limits.is_none(),
        general,
        credentials,
        license_keys: key_routes,
    };
    let origins = settings.cors_origins.clone();
    if let Some(bad) = origins.iter().find(|origin| !is_origin(origin)) {
        return Err(StartupError::Config(format!(
            "DEVFORGE_CORS_ORIGINS: `{bad}` is not an origin like https://app.example.com"
        )));
    }
    let max_body = settings.max_body_bytes;
    let worker_pools = Arc::clone(&pools);
    let server = HttpServer::new(move || {
        let worker = next_worker.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let database = pools[worker % pools.len()].clone();
        let data = web::Data::new(state.on_database(database, Arc::clone(&pools)));
        let (json, path, query) = extract_errors::configure(max_body);
        let app = App::new()
            .app_data(data)
            .app_data(json)
            // Packages stream past this limit (their own is checked while they arrive).
            .app_data(web::PayloadConfig::new(max_body))
            .app_data(path)
            .app_data(query)
            .into_utoipa_app()
            .openapi(ApiDoc::openapi());
        let (app, mut api) = api_routes::mount(app, &limiters).split_for_parts();
        problem_responses::add_to_every_operation(&mut api);
        openapi_links::add_links(&mut api);
        let known_routes = web::Data::new(KnownRoutes::from_document(&api));
        app.app_data(known_routes)
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
            .service(web::redirect("/docs", "/docs/").permanent())
            .default_service(web::to(known_routes::no_route))
            .wrap(from_fn(uri_limit))
            .wrap(cors(&origins))
            .wrap(from_fn(problem_fallback))
            .wrap(from_fn(security_headers))
            .wrap(from_fn(observe))
    })
    .disable_signals()
    .workers(workers);
    let (listener, door) = listener::bind(settings.listen)?;
    let server = server.listen(listener)?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| StartupError::Config("no address bound".into()))?;
    let server = server.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    tracing::info!(%addr, "listening");
    Ok(RunningServer {
        addr,
        pools: worker_pools,
        handle,
        door: Arc::new(door),
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::is_origin;

    #[test]
    fn only_scheme_host_and_port_make_an_origin() {
        assert!(is_origin("https://app.example.com"));
        assert!(is_origin("http://localhost:5173"));
        assert!(!is_origin("*"));
        assert!(!is_origin("app.example.com"));
        assert!(!is_origin("https://app.example.com/path"));
        assert!(!is_origin("https://"));
    }
}
