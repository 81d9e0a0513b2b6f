//! The read model's feed on PostgreSQL: `LISTEN` for changed license ids, with heartbeats
//! proving how current the copy is.
//!
//! Each turn takes every notification that has arrived, re-reads the licenses they name
//! together (one query per few hundred), then records the latest heartbeat among them, as
//! the listing feed does. Re-reading one license per notification, two queries each, fell
//! behind the writes at a few hundred a second: heartbeats then came back late, the copy
//! stopped counting as current, and validation went to the database.

use super::LicenseReadModel;
use crate::Database;
use crate::change_feed::{Heartbeats, next_turn};
use sea_orm::sqlx::postgres::PgListener;
use std::sync::Arc;
use std::time::Duration;

const CHANGES: &str = "devforge_licenses";
const HEARTBEATS: &str = "devforge_license_heartbeat";

/// Follows the feed for as long as the pool is open, reconnecting after a failure.
pub(super) fn spawn(model: Arc<LicenseReadModel>, database: Database) {
    let heartbeats = Heartbeats::start(database.clone(), HEARTBEATS);
    tokio::spawn(async move {
        loop {
            model.no_longer_current();
            if let Err(err) = follow_once(&model, &heartbeats, &database).await {
                tracing::warn!(error = %err, "license read model lost its change feed; validating from the database");
            }
            if database
                .connection()
                .get_postgres_connection_pool()
                .is_closed()
            {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn follow_once(
    model: &LicenseReadModel,
    heartbeats: &Heartbeats,
    database: &Database,
) -> Result<(), String> {
    let pool = database.connection().get_postgres_connection_pool();
    let mut listener = PgListener::connect_with(pool)
        .await
        .map_err(|e| e.to_string())?;
    // Listen before loading, so nothing committed meanwhile is missed.
    listener
        .listen_all([CHANGES, HEARTBEATS])
        .await
        .map_err(|e| e.to_string())?;
    model.load_all(database).await.map_err(|e| e.to_string())?;
    tracing::info!(licenses = model.len(), "license read model loaded");
    loop {
        let turn = next_turn(&mut listener, CHANGES, heartbeats).await?;
        model
            .reload(database, &turn.changed)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(sent) = turn.returned {
            model.proven_current(sent);
        }
    }
}
