//! Handlers: parse, authorize (by extractor), call a service, map the result. No rules
//! live here.

pub mod admin;
pub mod auth;
pub mod ops;
