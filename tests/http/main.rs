//! End-to-end tests over real HTTP, on every configured database.

mod admin;
mod auth;
mod bad_input;
mod billing;
mod body_limits;
mod certificate_reuse;
mod concurrency;
mod contract;
mod fuzz;
mod knowledge_base;
mod licensing;
mod marketplace;
mod migrations;
mod ops;
mod outage;
mod rate_limit;
mod role_matrix;
mod search;
mod support;
mod uploads;
