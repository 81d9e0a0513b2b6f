//! The read model's feed on PostgreSQL: `LISTEN` for changed license ids, with heartbeats
//! proving how current the copy is.

use super::LicenseReadModel;
use crate::Database;
use crate::change_feed::{FEED_SILENCE, Heartbeats};
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
    // Heartbeats arrive every 100 ms: silence this long means a dead connection.
    while let Some(notification) = tokio::time::timeout(FEED_SILENCE, listener.try_recv())
        .await
        .map_err(|_| "the change feed went silent".to_owned())?
        .map_err(|e| e.to_string())?
    {
        if notification.channel() == CHANGES {
            let Ok(id) = notification.payload().parse::<uuid::Uuid>() else {
                continue;
            };
            model
                .reload(database, &[id])
                .await
                .map_err(|e| e.to_string())?;
        } else if let Some(sent) = heartbeats.returned(notification.payload()) {
            model.proven_current(sent);
        }
    }
    Err("the notification connection closed".into())
}
