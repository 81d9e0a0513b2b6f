//! The read model's feed on SQLite: a poll of the `license_changes` log every
//! [`POLL_EVERY`].
//!
//! A poll that starts at `t` reads every change committed before `t` (a read in WAL mode
//! sees every commit made before it began), so once it has applied them the copy is
//! current as of `t`. The log is written by triggers, so writes from another process on the
//! same file arrive the same way. `PRAGMA data_version` would also notice those, but not say
//! which licenses changed: every write anywhere would mean reloading the whole table.
//!
//! Readers prune rows older than [`KEEP_CHANGES`]; a reader whose position in the log was
//! read longer ago than that, less [`PRUNE_SLACK`] (a stalled process, a database that was
//! unreachable), may have missed pruned rows, so it loads everything again instead. The
//! position of a load is read when the load starts: a load must take less than that time,
//! or every poll after it would load again.

use super::LicenseReadModel;
use crate::Database;
use crate::entities::license_changes;
use crate::error::store_error;
use devforge_domain::StoreError;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashSet;
use std::sync::Weak;
use std::time::{Duration, Instant};

/// How often the log is read.
const POLL_EVERY: Duration = Duration::from_millis(50);
/// How long a logged change is kept for readers that fall behind.
const KEEP_CHANGES: Duration = Duration::from_secs(120);
/// What a position's age must stay below [`KEEP_CHANGES`] by: a change's time is written
/// in whole seconds when it is logged, a moment before its transaction commits, and
/// another process's clock decides when it is pruned.
const PRUNE_SLACK: Duration = Duration::from_secs(20);
/// How often a reader prunes.
const PRUNE_EVERY: Duration = Duration::from_secs(10);
/// Changes read per query.
const POLL_PAGE: u64 = 5_000;
/// More changed licenses than this in one poll: load the table again rather than each.
const RELOAD_ALL_ABOVE: usize = 20_000;

/// Follows the log for as long as the model is in use and the pool open.
pub(super) fn spawn(model: Weak<LicenseReadModel>, database: Database) {
    tokio::spawn(async move {
        let mut follower = Follower {
            database,
            last_seq: None,
            last_good_poll: None,
            last_prune: Instant::now(),
        };
        loop {
            let Some(model) = model.upgrade() else { return };
            if follower.closed() {
                return;
            }
            if let Err(err) = follower.step(&model).await {
                model.no_longer_current();
                follower.last_seq = None;
                tracing::warn!(error = %err, "license read model cannot read the change log; validating from the database");
            }
            drop(model);
            tokio::time::sleep(POLL_EVERY).await;
        }
    });
}

struct Follower {
    database: Database,
    /// The newest change applied; `None` until the table is loaded.
    last_seq: Option<i64>,
    last_good_poll: Option<Instant>,
    last_prune: Instant,
}

impl Follower {
    fn closed(&self) -> bool {
        self.database
            .connection()
            .get_sqlite_connection_pool()
            .is_closed()
    }

    async fn step(&mut self, model: &LicenseReadModel) -> Result<(), StoreError> {
        let started = Instant::now();
        let behind = self
            .last_good_poll
            .is_none_or(|at| may_be_pruned(at.elapsed()));
        match self.last_seq {
            Some(after) if !behind => self.apply_changes(model, after).await?,
            _ => self.load(model).await?,
        }
        self.last_good_poll = Some(started);
        model.proven_current(started);
        if self.last_prune.elapsed() > PRUNE_EVERY {
            self.last_prune = Instant::now();
            prune(&self.database).await?;
        }
        Ok(())
    }

    /// Loads the whole table, noting first where the log stands, so changes committed
    /// during the load are applied again afterwards.
    async fn load(&mut self, model: &LicenseReadModel) -> Result<(), StoreError> {
        model.no_longer_current();
        let newest = license_changes::Entity::find()
            .order_by_desc(license_changes::Column::Seq)
            .one(self.database.connection())
            .await
            .map_err(store_error)?
            .map_or(0, |change| change.seq);
        model.load_all(&self.database).await?;
        tracing::info!(licenses = model.len(), "license read model loaded");
        self.last_seq = Some(newest);
        Ok(())
    }

    async fn apply_changes(
        &mut self,
        model: &LicenseReadModel,
        mut after: i64,
    ) -> Result<(), StoreError> {
        let mut changed = HashSet::new();
        loop {
            let page = license_changes::Entity::find()
                .filter(license_changes::Column::Seq.gt(after))
                .order_by_asc(license_changes::Column::Seq)
                .limit(POLL_PAGE)
                .all(self.database.connection())
                .await
                .map_err(store_error)?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            let full = page.len() == usize::try_from(POLL_PAGE).unwrap_or(usize::MAX);
            changed.extend(page.into_iter().map(|change| change.license_id));
            if changed.len() > RELOAD_ALL_ABOVE {
                return self.load(model).await;
            }
            if !full {
                break;
            }
        }
        let ids: Vec<uuid::Uuid> = changed.into_iter().collect();
        model.reload(&self.database, &ids).await?;
        self.last_seq = Some(after);
        Ok(())
    }
}

/// Whether changes after a position read `age` ago may have been pruned by now.
fn may_be_pruned(age: Duration) -> bool {
    age > KEEP_CHANGES - PRUNE_SLACK
}

async fn prune(database: &Database) -> Result<(), StoreError> {
    let horizon =
        chrono::Utc::now().timestamp() - i64::try_from(KEEP_CHANGES.as_secs()).unwrap_or(i64::MAX);
    license_changes::Entity::delete_many()
        .filter(license_changes::Column::At.lt(horizon))
        .exec(database.connection())
        .await
        .map_err(store_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{KEEP_CHANGES, may_be_pruned};
    use std::time::Duration;

    #[test]
    fn a_position_read_by_a_slow_load_is_still_followed() {
        // A load slower than half the log's lifetime (a million licenses beside a validation
        // load can be): the position read at its start must still count, or every poll
        // after it would load again.
        assert!(!may_be_pruned(Duration::from_secs(45)));
        assert!(!may_be_pruned(KEEP_CHANGES / 2 + Duration::from_secs(1)));
    }

    #[test]
    fn a_position_older_than_the_log_keeps_changes_is_not_trusted() {
        assert!(may_be_pruned(KEEP_CHANGES));
        assert!(may_be_pruned(KEEP_CHANGES - Duration::from_secs(1)));
    }
}
