//! Keeps a [`ListingIndex`] loaded from the database and, on PostgreSQL, in step with what
//! other server instances change.
//!
//! - SQLite (one embedded server): the catalogue is loaded once; afterwards the service
//!   hands the index every change this process commits, so the copy needs no proof
//!   ([`ListingIndex::confirm`] with `None`).
//! - PostgreSQL: the follower listens to `devforge_extensions` (a trigger on `extensions`
//!   announces every written row, see the migration `extension_change_feed`) before it
//!   loads, so nothing committed meanwhile is missed; each announced extension is read
//!   again, in batches of whatever has arrived. Heartbeats through the same connection
//!   ([`crate::change_feed`]) prove how current the copy is; when the feed is lost the
//!   index is told to distrust itself, and loads again once the feed is back.
//!
//! On both, extensions whose change the service could not read back are retried every
//! second.

use super::to_extension;
use crate::Database;
use crate::change_feed::{Heartbeats, next_turn};
use crate::entities::extensions;
use crate::error::store_error;
use devforge_domain::StoreError;
use devforge_marketplace::ExtensionId;
use devforge_marketplace::index::{ListingIndex, ListingUpdate};
use devforge_marketplace::ports::CatalogRepository as _;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHANGES: &str = "devforge_extensions";
const HEARTBEATS: &str = "devforge_extension_heartbeat";
/// Extensions read per query while loading. Every row read through SQLite is first copied
/// into SQLite's own allocator: a page of 5,000 made that heap peak at 22.5 MB during the
/// load. The server's resident memory after the load was the same with either size.
const LOAD_PAGE: u64 = 1_000;
/// Announced extensions read back per query.
const BATCH: usize = 500;
/// How often changes the service could not read back are tried again.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Loads and follows the catalogue for one [`ListingIndex`].
#[derive(Debug)]
pub struct ListingFeed;

impl ListingFeed {
    /// Starts loading `index` from `database` in the background (on the current Tokio
    /// runtime) and keeps it current as long as the database's pool is open.
    pub fn start(database: Database, index: Arc<dyn ListingIndex>) {
        match database.kind() {
            crate::DatabaseKind::Sqlite => {
                tokio::spawn(async move { follow_own_writes(database, index).await });
            }
            crate::DatabaseKind::Postgres => {
                let heartbeats = Heartbeats::start(database.clone(), HEARTBEATS);
                tokio::spawn(async move { follow_feed(database, index, heartbeats).await });
            }
        }
    }
}

fn is_closed(database: &Database) -> bool {
    let db = database.connection();
    match database.kind() {
        crate::DatabaseKind::Sqlite => db.get_sqlite_connection_pool().is_closed(),
        crate::DatabaseKind::Postgres => db.get_postgres_connection_pool().is_closed(),
    }
}

/// Every public extension, page by page, and when the scan began.
async fn load(database: &Database, index: &dyn ListingIndex) -> Result<(), StoreError> {
    let store = super::SqlMarketStore::new(database.clone());
    let read_started = Instant::now();
    let mut public = Vec::new();
    let mut after: Option<ExtensionId> = None;
    loop {
        let page = store.public_extensions(after, LOAD_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let full = page.len() as u64 == LOAD_PAGE;
        public.extend(page);
        if !full {
            break;
        }
    }
    index.load(public, read_started);
    Ok(())
}

/// Reads `ids` again and hands the index what is stored now (`None` for the deleted).
async fn reread(
    database: &Database,
    index: &dyn ListingIndex,
    ids: Vec<uuid::Uuid>,
) -> Result<(), StoreError> {
    for batch in ids.chunks(BATCH) {
        let read_started = Instant::now();
        let rows = extensions::Entity::find()
            .filter(extensions::Column::Id.is_in(batch.iter().copied()))
            .all(database.connection())
            .await
            .map_err(store_error)?;
        let mut missing: HashSet<uuid::Uuid> = batch.iter().copied().collect();
        let mut updates = Vec::with_capacity(batch.len());
        for row in rows {
            missing.remove(&row.id);
            let extension = to_extension(row)?;
            updates.push(ListingUpdate {
                id: extension.id,
                current: Some(extension),
                read_started,
            });
        }
        updates.extend(missing.into_iter().map(|id| ListingUpdate {
            id: ExtensionId::from_uuid(id),
            current: None,
            read_started,
        }));
        index.apply(updates);
    }
    Ok(())
}

async fn retry_lost(database: &Database, index: &dyn ListingIndex) {
    let lost: Vec<uuid::Uuid> = index.lost_ids().iter().map(ExtensionId::as_uuid).collect();
    if lost.is_empty() {
        return;
    }
    if let Err(err) = reread(database, index, lost).await {
        tracing::debug!(error = %err, "listing index: changes not read back yet");
    }
}

async fn follow_own_writes(database: Database, index: Arc<dyn ListingIndex>) {
    loop {
        match load(&database, index.as_ref()).await {
            Ok(()) => break,
            Err(err) => tracing::warn!(error = %err, "listing index not loaded; retrying"),
        }
        if is_closed(&database) {
            return;
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
    index.confirm(None);
    while !is_closed(&database) {
        tokio::time::sleep(RETRY_EVERY).await;
        retry_lost(&database, index.as_ref()).await;
    }
}

async fn follow_feed(
    database: Database,
    index: Arc<dyn ListingIndex>,
    heartbeats: Arc<Heartbeats>,
) {
    loop {
        index.suspect();
        if let Err(err) = follow_once(&database, index.as_ref(), &heartbeats).await {
            tracing::warn!(error = %err, "listing index lost its change feed; listings are read from the database");
        }
        index.suspect();
        if is_closed(&database) {
            return;
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

async fn follow_once(
    database: &Database,
    index: &dyn ListingIndex,
    heartbeats: &Heartbeats,
) -> Result<(), String> {
    let pool = database.connection().get_postgres_connection_pool();
    let mut listener = PgListener::connect_with(pool)
        .await
        .map_err(|e| e.to_string())?;
    listener
        .listen_all([CHANGES, heartbeats.channel()])
        .await
        .map_err(|e| e.to_string())?;
    load(database, index).await.map_err(|e| e.to_string())?;
    let mut last_retry = Instant::now();
    loop {
        let turn = next_turn(&mut listener, CHANGES, heartbeats).await?;
        if !turn.changed.is_empty() {
            reread(database, index, turn.changed)
                .await
                .map_err(|e| e.to_string())?;
        }
        if turn.returned.is_some() {
            index.confirm(turn.returned);
        }
        if last_retry.elapsed() >= RETRY_EVERY {
            last_retry = Instant::now();
            retry_lost(database, index).await;
        }
    }
}
