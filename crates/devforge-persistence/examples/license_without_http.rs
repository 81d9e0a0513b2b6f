//! A Rust service using licensing with no HTTP in between: open the database through the
//! persistence adapters, create an account, issue a license through the licensing service,
//! activate and validate it, and check the offline certificate with the public keys alone.
//!
//! ```text
//! cargo run -p devforge-persistence --example license_without_http [DATABASE_URL]
//! ```
//!
//! Without an argument it uses a new SQLite file in a temporary directory; any
//! `sqlite://...` or `postgres://...` URL works (the schema is migrated first). It exits
//! non-zero when any step does not answer as described.

use std::error::Error;

use chrono::{Duration, Utc};
use devforge_domain::{Currency, Money, Role, SystemClock};
use devforge_identity::{
    AccessTokens, BcryptHasher, IdentityConfig, IdentityService, Registration,
};
use devforge_licensing::{
    CertificateSigner, IssueRequest, KeyProtector, LicenseSource, LicenseTerms, LicensingConfig,
    LicensingService, NewProduct, Requester, SigningKeyPair, Sku, ValidationCode,
    verify_certificate,
};
use devforge_persistence::{Database, SqlIdentityStore, SqlLicensingStore};
use rand::RngCore;

type Outcome = Result<(), Box<dyn Error>>;

#[tokio::main]
async fn main() -> Outcome {
    let scratch = tempfile::tempdir()?;
    let url = std::env::args().nth(1).unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            scratch.path().join("devforge.db").display()
        )
    });
    let database = Database::connect(&url, 4).await?;
    database.migrate_up(None).await?;

    // The composition root: the ports get their adapters, the services their secrets.
    // A real service reads these secrets from its configuration; fresh ones do here.
    let identity = IdentityService::new(
        SqlIdentityStore::new(database.clone()),
        BcryptHasher::new(4, 2)?,
        SystemClock,
        AccessTokens::new(&random_bytes(), Duration::minutes(15))?,
        IdentityConfig::default(),
    )
    .await?;
    let signing_key = SigningKeyPair::generate("example-key");
    let licensing = LicensingService::new(
        SqlLicensingStore::new(database.clone()),
        SystemClock,
        KeyProtector::new(random_bytes(), random_bytes()),
        CertificateSigner::new(&[signing_key], Duration::days(7))?,
        LicensingConfig::default(),
    );

    let admin = identity
        .create_user(
            Registration {
                email: "licensing-admin@example.com",
                password: "a long passphrase nobody guesses",
                name: Some("Licensing admin"),
            },
            Role::Admin,
        )
        .await?;
    let admin = Requester {
        user_id: admin.id,
        role: Role::Admin,
    };
    let product = licensing
        .create_product(
            admin,
            NewProduct {
                sku: Sku::parse("forge-pro")?,
                name: "Dev Forge Pro".into(),
                price: Money::new(9_900, Currency::parse("EUR")?),
                terms: LicenseTerms::new(Some(365), 2, 14)?,
                entitlements: Vec::new(),
                active: true,
            },
        )
        .await?;

    let issued = licensing
        .issue(
            IssueRequest {
                user_id: admin.user_id,
                product: product.sku.clone(),
                expires_at: None,
                max_activations: None,
            },
            LicenseSource::Admin(admin.user_id),
        )
        .await?;
    let key = issued.key.as_str().to_owned();
    println!("issued a license for {}", product.sku.as_str());

    let machine = "0f3c9a7e5d1b4c2a8e6f0d9b7a5c3e1f";
    let activation = licensing
        .activate(&key, machine, Some("build server"), Some("linux"))
        .await?;
    expect(activation.created, "the first activation takes a seat")?;
    println!(
        "activated on {} ({} of {} seats)",
        machine, activation.license.activations_count, activation.license.max_activations
    );

    let validation = licensing
        .validate(&key, Some(machine), Some(product.sku.as_str()))
        .await?;
    expect(
        validation.code == ValidationCode::Valid,
        "the activated machine validates",
    )?;
    let certificate = validation
        .certificate
        .ok_or("a valid answer carries an offline certificate")?;

    // What the desktop app does offline: only the published keys, no database, no server.
    let claims = verify_certificate(
        &certificate,
        licensing.public_keys(),
        Utc::now(),
        Some(machine),
    )?;
    expect(
        claims.product == product.sku.as_str(),
        "the claims name the product",
    )?;
    println!(
        "certificate verified offline: product {}, valid until {}",
        claims.product, claims.exp
    );

    let elsewhere = verify_certificate(
        &certificate,
        licensing.public_keys(),
        Utc::now(),
        Some("another-machine-fingerprint-000000"),
    );
    expect(
        elsewhere.is_err(),
        "a certificate does not verify for another machine",
    )?;

    let unknown_machine = licensing
        .validate(&key, Some("ffffffffffffffffffffffffffffffff"), None)
        .await?;
    expect(
        unknown_machine.code == ValidationCode::NotActivated,
        "a machine without a seat answers NOT_ACTIVATED",
    )?;
    println!(
        "another machine answers {:?}: the seat is per machine",
        unknown_machine.code
    );
    Ok(())
}

fn random_bytes() -> [u8; 32] {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn expect(holds: bool, what: &str) -> Outcome {
    if holds {
        Ok(())
    } else {
        Err(format!("expected: {what}").into())
    }
}
