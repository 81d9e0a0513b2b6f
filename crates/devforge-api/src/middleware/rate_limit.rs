//! Rate limits per client IP (actix-governor, GCRA), answered with 429 in the problem shape
//! and a `Retry-After` header.
//!
//! Two limits: a general one on the whole API, and a stricter one on the credential
//! endpoints (login, registration, refresh), where guessing is the threat. This limiter
//! keeps its state in the process: several instances each count on their own, unless
//! `DEVFORGE_REDIS_URL` is set and [`super::shared_rate_limit`] counts in Redis instead.

use super::client_ip::client_ip;
use crate::error::ApiError;
use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock as _, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError as _};
use std::net::IpAddr;
use std::time::Duration;

/// Which requests under a limiter count.
#[derive(Debug, Clone, Copy)]
pub enum Counted {
    /// Every request.
    All,
    /// Every request except those to these (decoded) paths: no spelling of a limited
    /// route, percent-encoded or not, escapes.
    Except(&'static [&'static str]),
    /// Only requests to these (decoded) paths.
    Only(&'static [&'static str]),
}

/// The auth routes that check no password or refresh token.
pub const AUTH_EXEMPT: Counted = Counted::Except(&["/v1/auth/me", "/v1/auth/logout"]);

/// The license routes where the key is the credential.
pub const LICENSE_KEY_ROUTES: Counted = Counted::Only(&[
    "/v1/licenses/activate",
    "/v1/licenses/deactivate",
    "/v1/licenses/validate",
]);

/// A request's bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Not counted by this limiter.
    Exempt,
    /// Counted per client address (`None`: no peer address, e.g. a unix socket).
    Client(Option<IpAddr>),
}

/// The bucket `req` counts in under a limiter that counts `counted`.
pub(crate) fn bucket_of(
    req: &ServiceRequest,
    counted: Counted,
    trusted_proxies: &[IpAddr],
) -> Bucket {
    // The decoded path, as the router matches it.
    let path = req.match_info().as_str();
    let is_counted = match counted {
        Counted::All => true,
        Counted::Except(paths) => !paths.contains(&path),
        Counted::Only(paths) => paths.contains(&path),
    };
    if is_counted {
        Bucket::Client(client_ip(req, trusted_proxies))
    } else {
        Bucket::Exempt
    }
}

/// Keys requests by client IP; requests a limiter does not count go to [`Bucket::Exempt`].
#[derive(Debug, Clone)]
pub struct ClientIpKey {
    trusted_proxies: Vec<IpAddr>,
    counted: Counted,
}

impl KeyExtractor for ClientIpKey {
    type Key = Bucket;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Self::Key, Self::KeyExtractionError> {
        Ok(bucket_of(req, self.counted, &self.trusted_proxies))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        _response: HttpResponseBuilder,
    ) -> HttpResponse {
        let wait = negative.wait_time_from(DefaultClock::default().now());
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        tracing::warn!(retry_after_secs = seconds, "rate limit exceeded");
        ApiError::too_many_requests(
            "rate_limited",
            "too many requests from this address; slow down",
            seconds.max(1),
        )
        .error_response()
    }

    fn whitelisted_keys(&self) -> Vec<Self::Key> {
        vec![Bucket::Exempt]
    }
}

/// A limiter's configuration.
pub type LimiterConfig = GovernorConfig<ClientIpKey, NoOpMiddleware<QuantaInstant>>;

/// A limiter that admits `burst` requests at once and then one every `period`.
///
/// # Errors
/// When `period` is zero or `burst` is zero.
pub fn limiter(
    period: Duration,
    burst: u32,
    trusted_proxies: &[IpAddr],
    counted: Counted,
) -> Result<LimiterConfig, String> {
    GovernorConfigBuilder::default()
        .period(period)
        .burst_size(burst)
        .key_extractor(ClientIpKey {
            trusted_proxies: trusted_proxies.to_vec(),
            counted,
        })
        .finish()
        .ok_or_else(|| "rate limits must have a non-zero rate and burst".to_owned())
}
