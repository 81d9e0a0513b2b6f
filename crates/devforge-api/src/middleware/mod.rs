//! Cross-cutting request handling, applied around every route.

pub mod client_ip;
pub mod cors;
pub mod observe;
pub mod problem_fallback;
pub mod rate_limit;
pub mod security_headers;
pub mod shared_rate_limit;
pub mod uri_limit;
