//! Configuration, from `DEVFORGE_*` environment variables (or the matching flags).
//!
//! Every setting has a default that works on a fresh machine; `devforge --help` lists them
//! with their variables. Secrets are read here and never logged: the `Debug` output of
//! [`Settings`] hides them.

use clap::{ArgAction, Args, ValueEnum};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Everything the server can be told.
#[derive(Clone, Args)]
pub struct Settings {
    /// Where the server keeps its files (SQLite database, generated secrets).
    /// Default: the per-user data directory (e.g. ~/.local/share/devforge).
    #[arg(long, env = "DEVFORGE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB`.
    /// Default: a SQLite file `devforge.db` in the data directory.
    #[arg(
        long,
        env = "DEVFORGE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,

    /// Address and port to listen on.
    #[arg(
        long,
        env = "DEVFORGE_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Secret (at least 32 bytes) that signs access tokens. Default: generated once and
    /// kept in the data directory.
    #[arg(
        long,
        env = "DEVFORGE_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<String>,

    /// Log format.
    #[arg(
        long,
        env = "DEVFORGE_LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,

    /// Log filter, in `tracing` directive syntax.
    #[arg(long, env = "DEVFORGE_LOG", default_value = "info", global = true)]
    pub log_filter: String,

    /// HTTP worker threads. Default: one per core.
    #[arg(long, env = "DEVFORGE_WORKERS", global = true)]
    pub workers: Option<usize>,

    /// Largest database connection pool.
    #[arg(
        long,
        env = "DEVFORGE_DB_POOL_SIZE",
        default_value_t = 10,
        global = true
    )]
    pub db_pool_size: u32,

    /// Largest accepted JSON request body, in bytes.
    #[arg(long, env = "DEVFORGE_MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// bcrypt cost for new password hashes (10 to 31).
    #[arg(long, env = "DEVFORGE_BCRYPT_COST", default_value_t = 12,
        value_parser = clap::value_parser!(u32).range(10..=31), global = true)]
    pub bcrypt_cost: u32,

    /// Password hashes computed at once. Default: one per core.
    #[arg(long, env = "DEVFORGE_PASSWORD_HASH_CONCURRENCY", global = true)]
    pub password_hash_concurrency: Option<usize>,

    /// Access token lifetime, in seconds.
    #[arg(
        long,
        env = "DEVFORGE_ACCESS_TOKEN_TTL_SECS",
        default_value_t = 900,
        global = true
    )]
    pub access_token_ttl_secs: u32,

    /// Refresh token lifetime, in days.
    #[arg(
        long,
        env = "DEVFORGE_REFRESH_TOKEN_TTL_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub refresh_token_ttl_days: u32,

    /// Failed logins in a row from one client IP for one email before that client is
    /// locked out of that email (others, the owner included, are not).
    #[arg(
        long,
        env = "DEVFORGE_LOGIN_MAX_FAILURES",
        default_value_t = 5,
        global = true
    )]
    pub login_max_failures: u32,

    /// How long such a lock lasts, in seconds.
    #[arg(
        long,
        env = "DEVFORGE_LOGIN_LOCKOUT_SECS",
        default_value_t = 900,
        global = true
    )]
    pub login_lockout_secs: u32,

    /// Login attempts for one email, from all clients together, within 15 minutes before
    /// each further attempt must wait for the one before it (1 s, 2 s, 4 s, ...).
    #[arg(
        long,
        env = "DEVFORGE_LOGIN_EMAIL_FREE_ATTEMPTS",
        default_value_t = 20,
        global = true
    )]
    pub login_email_free_attempts: u32,

    /// The longest such wait, in seconds: the most a stranger can delay the owner.
    #[arg(
        long,
        env = "DEVFORGE_LOGIN_EMAIL_MAX_DELAY_SECS",
        default_value_t = 30,
        global = true
    )]
    pub login_email_max_delay_secs: u32,

    /// Whether requests are rate limited per client IP.
    #[arg(long, env = "DEVFORGE_RATE_LIMIT_ENABLED", default_value_t = true,
        action = ArgAction::Set, global = true)]
    pub rate_limit_enabled: bool,

    /// Sustained requests per second per client IP on the API.
    #[arg(
        long,
        env = "DEVFORGE_RATE_LIMIT_PER_SECOND",
        default_value_t = 50,
        global = true
    )]
    pub rate_limit_per_second: u32,

    /// Requests a client IP may burst above the sustained rate.
    #[arg(
        long,
        env = "DEVFORGE_RATE_LIMIT_BURST",
        default_value_t = 100,
        global = true
    )]
    pub rate_limit_burst: u32,

    /// Sustained login, registration and refresh attempts per minute per client IP.
    #[arg(
        long,
        env = "DEVFORGE_AUTH_RATE_LIMIT_PER_MINUTE",
        default_value_t = 10,
        global = true
    )]
    pub auth_rate_limit_per_minute: u32,

    /// Such attempts a client IP may burst.
    #[arg(
        long,
        env = "DEVFORGE_AUTH_RATE_LIMIT_BURST",
        default_value_t = 10,
        global = true
    )]
    pub auth_rate_limit_burst: u32,

    /// Redis that several instances share their rate limits through (`redis://host:port`).
    /// Unset: each instance counts its own.
    #[arg(
        long,
        env = "DEVFORGE_REDIS_URL",
        hide_env_values = true,
        global = true
    )]
    pub redis_url: Option<String>,

    /// Reverse proxies whose `X-Forwarded-For` is believed (comma-separated IPs).
    #[arg(
        long,
        env = "DEVFORGE_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// Secret (at least 32 characters) keying the hash that license keys are looked up by.
    /// Default: generated once and kept in the data directory.
    #[arg(
        long,
        env = "DEVFORGE_LICENSE_LOOKUP_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub license_lookup_secret: Option<String>,

    /// Secret (at least 32 characters) encrypting stored license keys. Default: generated
    /// once and kept in the data directory.
    #[arg(
        long,
        env = "DEVFORGE_LICENSE_ENCRYPTION_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub license_encryption_secret: Option<String>,

    /// Ed25519 keys signing offline certificates, comma-separated `kid:base64url-seed`; the
    /// first signs, all are published. Default: one generated and kept in the data
    /// directory.
    #[arg(
        long,
        env = "DEVFORGE_CERTIFICATE_SIGNING_KEYS",
        hide_env_values = true,
        global = true
    )]
    pub certificate_signing_keys: Option<String>,

    /// How long an offline certificate lasts at most, in days.
    #[arg(
        long,
        env = "DEVFORGE_CERTIFICATE_OFFLINE_DAYS",
        default_value_t = 14,
        global = true
    )]
    pub certificate_offline_days: u32,

    /// Answer validations from an in-memory copy of the licenses, kept in step by the
    /// database's change feed (PostgreSQL) or change log (SQLite) and never more than a
    /// second behind.
    #[arg(long, env = "DEVFORGE_VALIDATION_CACHE", default_value_t = true,
        action = ArgAction::Set, global = true)]
    pub validation_cache: bool,

    /// Whether public marketplace listings are answered by the in-memory listing index
    /// (built from the database at start and kept in step with it); `false` reads every
    /// listing from the database's full-text search.
    #[arg(long, env = "DEVFORGE_SEARCH_INDEX", default_value_t = true,
        action = ArgAction::Set, global = true)]
    pub search_index: bool,

    /// How long a public marketplace listing page is answered from memory, in seconds (0:
    /// never). Changes made through this instance show at once; changes made through other
    /// instances, and download counts, within twice this time (an expired page is still
    /// served while it is read again in the background).
    #[arg(
        long,
        env = "DEVFORGE_LISTING_CACHE_SECONDS",
        default_value_t = 5,
        global = true
    )]
    pub listing_cache_seconds: u32,

    /// Self-service seat releases allowed per license per 24 hours.
    #[arg(
        long,
        env = "DEVFORGE_SELF_DEACTIVATIONS_PER_DAY",
        default_value_t = 3,
        global = true
    )]
    pub self_deactivations_per_day: u32,

    /// Signed certificates validation keeps for reuse (about 130 bytes each); 0 signs every
    /// answer anew.
    #[arg(
        long,
        env = "DEVFORGE_CERTIFICATE_REUSE_SLOTS",
        default_value_t = 65_536,
        global = true
    )]
    pub certificate_reuse_slots: usize,

    /// Stripe secret API key. Without it the server runs, and payment routes answer 503
    /// `payments_not_configured`.
    #[arg(
        long,
        env = "DEVFORGE_STRIPE_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    pub stripe_secret_key: Option<String>,

    /// Stripe webhook signing secrets (`whsec_...`), comma-separated during a rotation.
    #[arg(
        long,
        env = "DEVFORGE_STRIPE_WEBHOOK_SECRET",
        hide_env_values = true,
        value_delimiter = ',',
        global = true
    )]
    pub stripe_webhook_secret: Vec<String>,

    /// Stripe API base URL (a local fake Stripe in tests).
    #[arg(
        long,
        env = "DEVFORGE_STRIPE_API_BASE",
        default_value = "https://api.stripe.com/",
        global = true
    )]
    pub stripe_api_base: String,

    /// Largest age (or future skew) of a webhook signature's timestamp, in seconds.
    #[arg(
        long,
        env = "DEVFORGE_STRIPE_WEBHOOK_TOLERANCE_SECS",
        default_value_t = 300,
        global = true
    )]
    pub stripe_webhook_tolerance_secs: u32,

    /// Where marketplace packages are kept: a directory (default: `packages` in the data
    /// directory), or `s3://bucket` for an S3-compatible store (credentials, region and
    /// endpoint from the standard `AWS_*` variables).
    #[arg(long, env = "DEVFORGE_PACKAGE_STORE", global = true)]
    pub package_store: Option<String>,

    /// Largest marketplace package accepted, in bytes.
    #[arg(
        long,
        env = "DEVFORGE_MAX_PACKAGE_BYTES",
        default_value_t = 50 * 1024 * 1024,
        global = true
    )]
    pub max_package_bytes: u64,

    /// Versions one publisher may have waiting for review at once.
    #[arg(
        long,
        env = "DEVFORGE_MAX_PENDING_VERSIONS",
        default_value_t = 10,
        global = true
    )]
    pub max_pending_versions: u64,

    /// Package bytes one publisher may keep stored, all versions in any state (rejected
    /// and yanked ones too, until removed).
    #[arg(
        long,
        env = "DEVFORGE_PUBLISHER_QUOTA_BYTES",
        default_value_t = 1024 * 1024 * 1024,
        global = true
    )]
    pub publisher_quota_bytes: u64,

    /// Give each new support ticket to the support member with the fewest active tickets.
    #[arg(
        long,
        env = "DEVFORGE_SUPPORT_AUTO_ASSIGN",
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub support_auto_assign: bool,

    /// Days after being resolved during which a customer may still reopen a ticket.
    #[arg(
        long,
        env = "DEVFORGE_SUPPORT_REOPEN_DAYS",
        default_value_t = 14,
        global = true
    )]
    pub support_reopen_days: u32,

    /// Browser origins allowed by CORS (comma-separated, e.g. `https://app.example.com`).
    /// Default: none.
    #[arg(
        long,
        env = "DEVFORGE_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field("redis_url", &self.redis_url.as_ref().map(|_| "<set>"))
            .field("listen", &self.listen)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<set>"))
            .field(
                "license_lookup_secret",
                &self.license_lookup_secret.as_ref().map(|_| "<set>"),
            )
            .field(
                "license_encryption_secret",
                &self.license_encryption_secret.as_ref().map(|_| "<set>"),
            )
            .field(
                "certificate_signing_keys",
                &self.certificate_signing_keys.as_ref().map(|_| "<set>"),
            )
            .field(
                "stripe_secret_key",
                &self.stripe_secret_key.as_ref().map(|_| "<set>"),
            )
            .field(
                "stripe_webhook_secret",
                &format!("<{} set>", self.stripe_webhook_secret.len()),
            )
            .field("stripe_api_base", &self.stripe_api_base)
            .field("log_format", &self.log_format)
            .field("workers", &self.workers)
            .field("db_pool_size", &self.db_pool_size)
            .field("rate_limit_enabled", &self.rate_limit_enabled)
            .finish_non_exhaustive()
    }
}

#[derive(clap::Parser)]
struct SettingsOnly {
    #[command(flatten)]
    settings: Settings,
}

impl Settings {
    /// The settings from the environment alone (no command line), as a server embedded in
    /// tests or tools starts from.
    ///
    /// # Errors
    /// When an environment variable holds an invalid value.
    pub fn from_env() -> Result<Self, clap::Error> {
        use clap::Parser as _;
        SettingsOnly::try_parse_from(["devforge"]).map(|parsed| parsed.settings)
    }

    /// The data directory: the configured one, or the per-user default.
    #[must_use]
    pub fn resolved_data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            directories::ProjectDirs::from("dev", "Dev Forge", "devforge").map_or_else(
                || PathBuf::from("devforge-data"),
                |dirs| dirs.data_dir().to_path_buf(),
            )
        })
    }

    /// The database URL: the configured one, or a SQLite file in the data directory.
    #[must_use]
    pub fn resolved_database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            let file = self.resolved_data_dir().join("devforge.db");
            format!("sqlite://{}", file.display())
        })
    }
}
