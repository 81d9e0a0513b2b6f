//! Rate limits per client IP (actix-governor, GCRA), answered with 429 in the problem shape
//! and a `Retry-After` header.
//!
//! Two limits: a general one on the whole API, and a stricter one on the credential
//! endpoints (login, registration, refresh), where guessing is the threat. The limiter
//! keeps its state in the process: several instances each count on their own.

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

/// Keys requests by client IP. With `only_credentials`, the auth routes that check no
/// password or refresh token (`/v1/auth/me`, `/v1/auth/logout`) share the key `None`,
/// which is exempt; every other path is limited, so no spelling of a credential route
/// (percent-encoded or not) escapes.
#[derive(Debug, Clone)]
pub struct ClientIpKey {
    trusted_proxies: Vec<IpAddr>,
    only_credentials: bool,
}

const EXEMPT_FROM_CREDENTIAL_LIMIT: [&str; 2] = ["/v1/auth/me", "/v1/auth/logout"];

impl KeyExtractor for ClientIpKey {
    type Key = Option<IpAddr>;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Self::Key, Self::KeyExtractionError> {
        // The decoded path, as the router matches it.
        let path = req.match_info().as_str();
        if self.only_credentials && EXEMPT_FROM_CREDENTIAL_LIMIT.contains(&path) {
            return Ok(None);
        }
        // No peer address (a unix socket): one shared bucket.
        Ok(client_ip(req, &self.trusted_proxies))
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
        if self.only_credentials {
            vec![None]
        } else {
            Vec::new()
        }
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
    only_credentials: bool,
) -> Result<LimiterConfig, String> {
    GovernorConfigBuilder::default()
        .period(period)
        .burst_size(burst)
        .key_extractor(ClientIpKey {
            trusted_proxies: trusted_proxies.to_vec(),
            only_credentials,
        })
        .finish()
        .ok_or_else(|| "rate limits must have a non-zero rate and burst".to_owned())
}
