//! Licensing: the keys customers type, and (as the service grows) products, licenses,
//! machine activations, validation and offline certificates.
//!
//! Like every service crate it depends on no web framework and no database driver, so the
//! desktop tooling and other Rust services can parse and check keys with it alone.

pub mod activation;
pub mod certificate;
pub mod key;
pub mod key_protection;
pub mod license;
pub mod product;

pub use key::{KeyError, LicenseKey};
