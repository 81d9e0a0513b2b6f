//! `devforge bench seed-licenses`: fills a database with licenses for load tests, through
//! the real licensing service (so keys are hashed and sealed as in production), and writes
//! their keys to a file for the load generator. Hidden from `--help`: it is for
//! `cargo xtask bench`, not for production databases.

use crate::app::{self, MigrationPolicy};
use crate::settings::Settings;
use devforge_domain::{Currency, Money, Role};
use devforge_identity::Registration;
use devforge_licensing::{
    Entitlement, IssueRequest, LicenseSource, LicenseTerms, LicensingError, NewProduct, Requester,
    Sku,
};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

const SKU: &str = "bench-pro";
const ADMIN_EMAIL: &str = "bench-admin@devforge.invalid";

/// Issues `count` licenses with `concurrency` requests in flight and writes their keys,
/// one per line, to `keys_file`.
///
/// # Errors
/// A message when the database, the service or the file fails.
pub async fn seed_licenses(
    settings: &Settings,
    count: usize,
    concurrency: usize,
    keys_file: &Path,
) -> Result<(), String> {
    let database = app::open_database(settings)
        .await
        .map_err(|e| e.to_string())?;
    app::prepare_schema(&database, MigrationPolicy::Default)
        .await
        .map_err(|e| e.to_string())?;
    let state = app::build_state(settings, database)
        .await
        .map_err(|e| e.to_string())?;
    let admin = bench_admin(&state).await?;
    ensure_product(&state, admin).await?;

    let state = Arc::new(state);
    let per_task = count.div_ceil(concurrency.max(1));
    let mut tasks = Vec::new();
    for task in 0..concurrency.max(1) {
        let state = Arc::clone(&state);
        let todo = per_task.min(count.saturating_sub(task * per_task));
        tasks.push(tokio::spawn(async move {
            let mut keys = Vec::with_capacity(todo);
            for _ in 0..todo {
                let request = IssueRequest {
                    user_id: admin.user_id,
                    product: Sku::from_trusted(SKU.into()),
                    expires_at: None,
                    max_activations: None,
                };
                let issued = state
                    .licensing
                    .issue(request, LicenseSource::Admin(admin.user_id))
                    .await
                    .map_err(|e| e.to_string())?;
                keys.push(issued.key.as_str().to_owned());
            }
            Ok::<_, String>(keys)
        }));
    }
    let mut file = std::fs::File::create(keys_file).map_err(|e| e.to_string())?;
    let mut written = 0;
    for task in tasks {
        let keys = task.await.map_err(|e| e.to_string())??;
        for key in keys {
            writeln!(file, "{key}").map_err(|e| e.to_string())?;
            written += 1;
        }
    }
    println!("seeded {written} licenses; keys in {}", keys_file.display());
    Ok(())
}

pub(crate) async fn bench_admin(state: &crate::state::AppState) -> Result<Requester, String> {
    let password = format!("bench {} horse staple", uuid::Uuid::new_v4());
    let registration = Registration {
        email: ADMIN_EMAIL,
        password: &password,
        name: Some("Benchmark"),
    };
    let user = match state.identity.create_user(registration, Role::Admin).await {
        Ok(user) => user,
        Err(devforge_identity::IdentityError::EmailTaken) => {
            let filter = devforge_identity::UserFilter {
                role: Some(Role::Admin),
                email_contains: Some(ADMIN_EMAIL.into()),
            };
            let page = devforge_domain::PageRequest::default();
            let found = state
                .identity
                .list_users(filter, page)
                .await
                .map_err(|e| e.to_string())?;
            found
                .items
                .into_iter()
                .next()
                .ok_or("bench admin vanished")?
        }
        Err(err) => return Err(err.to_string()),
    };
    Ok(Requester {
        user_id: user.id,
        role: Role::Admin,
    })
}

async fn ensure_product(state: &crate::state::AppState, admin: Requester) -> Result<(), String> {
    let invalid = |e: devforge_domain::InvalidValue| e.to_string();
    let product = NewProduct {
        sku: Sku::parse(SKU).map_err(invalid)?,
        name: "Benchmark Pro".into(),
        price: Money::new(9900, Currency::parse("EUR").map_err(invalid)?),
        terms: LicenseTerms::new(Some(365), 3, 7).map_err(invalid)?,
        entitlements: vec![Entitlement::parse("pro").map_err(invalid)?],
        active: true,
    };
    match state.licensing.create_product(admin, product).await {
        Ok(_) | Err(LicensingError::SkuTaken) => Ok(()),
        Err(err) => Err(err.to_string()),
    }
}
