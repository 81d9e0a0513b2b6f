//! Prometheus metrics: requests by route template, method and status; latency; the
//! database pool; with shared rate limits, whether Redis answers. Route *templates* (`/v1/admin/users/{id}`) keep label cardinality bounded.

use crate::middleware::shared_rate_limit::SharedCounter;
use devforge_persistence::PoolStatus;
use prometheus::core::Collector as _;
use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// The server's metric families.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool: IntGaugeVec,
    redis_up: IntGauge,
    redis_failures: IntCounter,
}

impl Metrics {
    /// Registers the families in a fresh registry.
    ///
    /// # Errors
    /// When a family cannot be registered (a programming error).
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from request to response",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by state"),
            &["state"],
        )?;
        let redis_up = IntGauge::new(
            "rate_limit_redis_up",
            "1 while Redis answers the shared rate limits, 0 while it does not",
        )?;
        let redis_failures = IntCounter::new(
            "rate_limit_redis_failures_total",
            "Rate-limit steps Redis did not answer (the limit then fell back)",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool,
            redis_up,
            redis_failures,
        })
    }

    /// Counts one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    /// The text exposition, with the pool gauges taken now (and Redis's, when the rate
    /// limits are shared through it).
    ///
    /// # Errors
    /// When encoding fails.
    pub fn render(
        &self,
        pool: PoolStatus,
        shared_limits: Option<&SharedCounter>,
    ) -> Result<String, prometheus::Error> {
        let idle = i64::from(pool.idle);
        self.pool.with_label_values(&["idle"]).set(idle);
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(pool.size) - idle);
        let mut families = self.registry.gather();
        if let Some(counter) = shared_limits {
            self.redis_up.set(i64::from(counter.is_up()));
            let counted = self.redis_failures.get();
            self.redis_failures
                .inc_by(counter.failures().saturating_sub(counted));
            families.extend(self.redis_up.collect());
            families.extend(self.redis_failures.collect());
        }
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&families, &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}
