//! Licensing: products, license keys, machine activations, validation and offline
//! certificates.
//!
//! [`LicensingService`] holds the rules; storage is reached through the ports in [`ports`]
//! (SQL adapters in the persistence crate, in-memory fakes in the unit tests). Keys are
//! never stored in plaintext ([`KeyProtector`]), and certificates can be checked anywhere
//! with [`verify_certificate`] and the published keys alone.
//!
//! Like every service crate it depends on no web framework and no database driver, so the
//! desktop tooling and other Rust services can parse and check keys with it alone.
//!
//! # Wiring
//!
//! A program that serves licenses builds [`LicensingService::new`] from a store
//! (`devforge_persistence::SqlLicensingStore` over `devforge_persistence::Database`), a
//! clock (`devforge_domain::SystemClock`), a [`KeyProtector`] and a [`CertificateSigner`]
//! from its secrets, and a [`LicensingConfig`]. The persistence crate's example
//! `license_without_http` does exactly that, then issues, activates and validates a license
//! and verifies the certificate offline:
//! `cargo run -p devforge-persistence --example license_without_http`.

#![warn(missing_docs)]

pub mod activation;
pub mod cache;
pub mod certificate;
pub mod certificate_reuse;
pub mod error;
pub mod event;
pub mod key;
pub mod key_protection;
pub mod license;
pub mod ports;
pub mod product;
pub mod service;

#[cfg(test)]
mod fakes;

pub use activation::{Activation, ActivationId, Fingerprint};
pub use cache::{CacheAnswer, ValidationCache};
pub use certificate::{
    CertificateClaims, CertificateError, CertificateSigner, PublicKey, SigningKeyPair,
    verify_certificate,
};
pub use certificate_reuse::ReusableCertificates;
pub use error::LicensingError;
pub use event::{Actor, EventKind, LicenseEvent};
pub use key::{KeyError, LicenseKey};
pub use key_protection::KeyProtector;
pub use license::{License, LicenseId, LicenseSource, LicenseStatus, ValidationCode};
pub use ports::{LicenseFilter, LicensingStore};
pub use product::{
    Entitlement, LicenseTerms, NewProduct, Product, ProductChanges, ProductPatch, Sku,
    parse_entitlements,
};
pub use service::{
    ActivationResult, IssueRequest, IssuedLicense, LicensingConfig, LicensingService, Requester,
    ValidationResult,
};
