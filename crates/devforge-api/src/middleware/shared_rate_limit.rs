//! Rate limits counted in Redis, so several instances share one count per client IP.
//!
//! Each request takes one atomic step in Redis: a GCRA script (the algorithm redis-cell and
//! actix-governor use) run with EVALSHA, on Redis's own clock so that instances never
//! disagree about time. The limit, burst and bucket are the same as the in-process
//! limiter's (see [`super::rate_limit`]); only where the count lives differs.
//!
//! When Redis does not answer within [`REDIS_TIMEOUT`], the limiter does not wait for it
//! again for [`REDIS_RETRY`], and until it answers:
//! - the general limit fails open (requests pass), since refusing every request because
//!   the counter is away would turn a Redis outage into an API outage;
//! - the credential and license-key limits fall back to an in-process count, since those
//!   guard against guessing, which must never become unlimited.
//!
//! The change is logged once each way, counted in `/metrics`
//! (`rate_limit_redis_failures_total`, `rate_limit_redis_up`) and shown by `/health/ready`.

use super::rate_limit::{AUTH_EXEMPT, Bucket, Counted, LICENSE_KEY_ROUTES, bucket_of};
use crate::error::ApiError;
use crate::state::AppState;
use actix_governor::governor::clock::{Clock as _, DefaultClock};
use actix_governor::governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use actix_web::ResponseError as _;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a request waits for Redis before the limiter treats it as away.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// How long the limiter leaves Redis alone after it failed to answer.
pub const REDIS_RETRY: Duration = Duration::from_secs(1);

/// GCRA over one key, in milliseconds of Redis's clock. ARGV: the emission interval and
/// the burst. Returns `{allowed (1/0), retry after ms, remaining}`.
const GCRA: &str = r"
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tolerance = interval * (burst - 1)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then
  return {0, tat - tolerance - now, 0}
end
local next_tat = tat + interval
redis.call('SET', KEYS[1], next_tat, 'PX', next_tat - now)
return {1, 0, math.floor((tolerance + interval - (next_tat - now)) / interval)}
";

/// The connection to Redis, shared by every limiter of the process, and whether it is up.
pub struct SharedCounter {
    connection: ConnectionManager,
    script: redis::Script,
    up: AtomicBool,
    /// Milliseconds since `started` before which Redis is not asked again.
    retry_after_ms: AtomicU64,
    failures: AtomicU64,
    started: Instant,
}

impl std::fmt::Debug for SharedCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCounter")
            .field("up", &self.is_up())
            .field("failures", &self.failures())
            .finish_non_exhaustive()
    }
}

impl SharedCounter {
    /// A counter in the Redis at `url`, connected on first use (a Redis that is away at
    /// start is a Redis that is away, not a failed start).
    ///
    /// # Errors
    /// When `url` is not a Redis URL.
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("DEVFORGE_REDIS_URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("DEVFORGE_REDIS_URL: {e}"))?;
        Ok(Self {
            connection,
            script: redis::Script::new(GCRA),
            up: AtomicBool::new(true),
            retry_after_ms: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            started: Instant::now(),
        })
    }

    /// Whether the last request to Redis was answered.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Requests Redis did not answer since start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// One GCRA step for `key`; `None` when Redis is away (or was, a moment ago).
    async fn step(&self, key: &str, interval_ms: u64, burst: u32) -> Option<Step> {
        if !self.is_up() && self.elapsed_ms() < self.retry_after_ms.load(Ordering::Relaxed) {
            return None;
        }
        let mut connection = self.connection.clone();
        let mut invocation = self.script.key(key);
        invocation.arg(interval_ms).arg(burst);
        let attempt = async {
            match invocation.invoke_async(&mut connection).await {
                // A connection Redis dropped (it restarted) is only noticed on use; the
                // manager reconnects, so one more try tells whether Redis is back.
                Err(err) if err.is_connection_dropped() || err.is_io_error() => {
                    invocation.invoke_async(&mut connection).await
                }
                answered => answered,
            }
        };
        let answer: Result<redis::RedisResult<(i64, i64, i64)>, _> =
            tokio::time::timeout(REDIS_TIMEOUT, attempt).await;
        match answer {
            Ok(Ok((allowed, retry_ms, remaining))) => {
                if !self.up.swap(true, Ordering::Relaxed) {
                    tracing::info!("Redis answers again: rate limits are shared across instances");
                }
                Some(Step {
                    allowed: allowed == 1,
                    retry_after: Duration::from_millis(u64::try_from(retry_ms).unwrap_or(0)),
                    remaining: u64::try_from(remaining).unwrap_or(0),
                })
            }
            failed => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                let retry = u64::try_from(REDIS_RETRY.as_millis()).unwrap_or(1000);
                self.retry_after_ms
                    .store(self.elapsed_ms().saturating_add(retry), Ordering::Relaxed);
                if self.up.swap(false, Ordering::Relaxed) {
                    let reason = match failed {
                        Ok(Err(err)) => err.to_string(),
                        _ => format!("no answer within {} ms", REDIS_TIMEOUT.as_millis()),
                    };
                    tracing::warn!(
                        error = %reason,
                        "Redis does not answer: general limits let requests pass, credential \
                         and license-key limits count in this process until it answers"
                    );
                }
                None
            }
        }
    }
}

struct Step {
    allowed: bool,
    retry_after: Duration,
    remaining: u64,
}

/// What a limit does while Redis is away.
enum WhileRedisIsAway {
    /// Requests pass.
    Pass,
    /// Requests are counted in this process.
    CountLocally(DefaultKeyedRateLimiter<Option<IpAddr>>),
}

/// One limit (general, credentials or license keys) counted in Redis.
struct SharedLimit {
    name: &'static str,
    interval: Duration,
    burst: NonZeroU32,
    counted: Counted,
    trusted_proxies: Vec<IpAddr>,
    counter: Arc<SharedCounter>,
    while_away: WhileRedisIsAway,
}

impl std::fmt::Debug for SharedLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLimit")
            .field("name", &self.name)
            .field("interval", &self.interval)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

impl SharedLimit {
    /// A limit named `name` (its keys in Redis start `devforge:rate:{name}:`) that admits
    /// `burst` requests at once and then one every `interval`, per client IP; while Redis is
    /// away, requests pass when `fail_open`, and are counted in this process otherwise.
    ///
    /// # Errors
    /// When `interval` or `burst` is zero.
    fn new(
        name: &'static str,
        interval: Duration,
        burst: u32,
        counted: Counted,
        trusted_proxies: &[IpAddr],
        counter: Arc<SharedCounter>,
        fail_open: bool,
    ) -> Result<Self, String> {
        let invalid = || "rate limits must have a non-zero rate and burst".to_owned();
        let burst = NonZeroU32::new(burst).ok_or_else(invalid)?;
        if interval.is_zero() {
            return Err(invalid());
        }
        let while_away = if fail_open {
            WhileRedisIsAway::Pass
        } else {
            let quota = Quota::with_period(interval)
                .ok_or_else(invalid)?
                .allow_burst(burst);
            WhileRedisIsAway::CountLocally(RateLimiter::keyed(quota))
        };
        Ok(Self {
            name,
            interval,
            burst,
            counted,
            trusted_proxies: trusted_proxies.to_vec(),
            counter,
            while_away,
        })
    }

    /// The verdict on `req`.
    async fn verdict(&self, req: &ServiceRequest) -> Verdict {
        let Bucket::Client(ip) = bucket_of(req, self.counted, &self.trusted_proxies) else {
            return Verdict::Uncounted;
        };
        let key = format!(
            "devforge:rate:{}:{}",
            self.name,
            ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
        );
        let interval_ms = u64::try_from(self.interval.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        match self.counter.step(&key, interval_ms, self.burst.get()).await {
            Some(step) if step.allowed => Verdict::Allowed {
                remaining: step.remaining,
            },
            Some(step) => Verdict::Limited(step.retry_after),
            None => match &self.while_away {
                WhileRedisIsAway::Pass => Verdict::Uncounted,
                WhileRedisIsAway::CountLocally(local) => match local.check_key(&ip) {
                    Ok(()) => Verdict::Uncounted,
                    Err(not_until) => {
                        Verdict::Limited(not_until.wait_time_from(DefaultClock::default().now()))
                    }
                },
            },
        }
    }
}

enum Verdict {
    /// Not counted here (an exempt route, or Redis away and the limit failing open or
    /// counted locally and within it).
    Uncounted,
    /// Counted in Redis and within the limit.
    Allowed { remaining: u64 },
    /// Over the limit: retry after this long.
    Limited(Duration),
}

const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");

/// How fast a limit refills, and how many requests it admits at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// One request more every `interval`.
    pub interval: Duration,
    /// Requests admitted at once.
    pub burst: u32,
}

/// The three limits of the API, counted in one Redis.
#[derive(Debug)]
pub struct SharedLimits {
    /// The connection and its health, for readiness and metrics.
    pub counter: Arc<SharedCounter>,
    general: SharedLimit,
    credentials: SharedLimit,
    license_keys: SharedLimit,
}

impl SharedLimits {
    /// The general, credential and license-key limits, counted in the Redis at `url`.
    ///
    /// # Errors
    /// When `url` is not a Redis URL, or a rate or burst is zero.
    pub fn new(
        url: &str,
        general: Rate,
        credentials: Rate,
        license_keys: Rate,
        trusted_proxies: &[IpAddr],
    ) -> Result<Self, String> {
        let counter = Arc::new(SharedCounter::new(url)?);
        let limit = |name, rate: Rate, counted, fail_open| {
            SharedLimit::new(
                name,
                rate.interval,
                rate.burst,
                counted,
                trusted_proxies,
                Arc::clone(&counter),
                fail_open,
            )
        };
        Ok(Self {
            general: limit("general", general, Counted::All, true)?,
            credentials: limit("credentials", credentials, AUTH_EXEMPT, false)?,
            license_keys: limit("license-keys", license_keys, LICENSE_KEY_ROUTES, false)?,
            counter,
        })
    }
}

/// The general limit, on the whole API (passes everything when the limits are not shared).
///
/// # Errors
/// Passes on errors of the inner service.
pub async fn general_limit(
    state: web::Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limit = state.shared_rate_limits.as_ref().map(|l| &l.general);
    enforce(limit, req, next).await
}

/// The credential limit, on login, registration and refresh.
///
/// # Errors
/// Passes on errors of the inner service.
pub async fn credential_limit(
    state: web::Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limit = state.shared_rate_limits.as_ref().map(|l| &l.credentials);
    enforce(limit, req, next).await
}

/// The license-key limit, on activation, deactivation and validation.
///
/// # Errors
/// Passes on errors of the inner service.
pub async fn license_key_limit(
    state: web::Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limit = state.shared_rate_limits.as_ref().map(|l| &l.license_keys);
    enforce(limit, req, next).await
}

/// Enforces `limit` (when there is one) on the request: a 429 problem with `Retry-After`
/// over it, and `x-ratelimit-limit` / `x-ratelimit-remaining` on what it counts.
async fn enforce(
    limit: Option<&SharedLimit>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(limit) = limit else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let burst = HeaderValue::from(limit.burst.get());
    match limit.verdict(&req).await {
        Verdict::Uncounted => Ok(next.call(req).await?.map_into_boxed_body()),
        Verdict::Allowed { remaining } => {
            let mut response = next.call(req).await?.map_into_boxed_body();
            let headers = response.headers_mut();
            headers.insert(LIMIT, burst);
            headers.insert(REMAINING, HeaderValue::from(remaining));
            Ok(response)
        }
        Verdict::Limited(wait) => {
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            tracing::warn!(
                retry_after_secs = seconds,
                limit = limit.name,
                "rate limit exceeded"
            );
            let mut refusal = ApiError::too_many_requests(
                "rate_limited",
                "too many requests from this address; slow down",
                seconds.max(1),
            )
            .error_response();
            let headers = refusal.headers_mut();
            headers.insert(LIMIT, burst);
            headers.insert(REMAINING, HeaderValue::from(0_u32));
            let (request, _payload) = req.into_parts();
            Ok(ServiceResponse::new(request, refusal))
        }
    }
}
