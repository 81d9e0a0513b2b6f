//! Download counts written in batches.
//!
//! A download adds one to its extension's row, its version's row and the day's row. Written
//! one transaction per download, parallel downloads of a popular extension queue on that
//! extension's row lock one commit at a time, each holding a pool connection while it
//! waits; in a burst the last of them wait past the pool's acquire timeout and are answered
//! 503. Here a download joins the batch that fills while the previous batch is written; a
//! batch is written in one transaction that adds each row's total, and every download in it
//! returns once that transaction has committed, or with its error. A download that returns
//! is counted, as before, and a burst of a thousand costs a handful of transactions.
//!
//! The write runs on a task of its own, so a request dropped by its client does not cancel
//! a batch that carries the counts of others.

use crate::entities::{extension_downloads, extension_versions, extensions};
use crate::error::store_error;
use chrono::NaiveDate;
use devforge_domain::StoreError;
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use uuid::Uuid;

/// What one batch adds: downloads per (extension, version, day).
type Counts = BTreeMap<(Uuid, Uuid, NaiveDate), u64>;

/// How a batch's write ended, shared by every download in it.
type Outcome = Arc<OnceLock<Result<(), Arc<StoreError>>>>;

/// The batch being filled, and the one-at-a-time right to write.
#[derive(Debug, Default)]
pub(super) struct DownloadBatches {
    filling: Mutex<Batch>,
    writer: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug, Default)]
struct Batch {
    counts: Counts,
    outcome: Outcome,
}

impl DownloadBatches {
    /// Counts one download and returns once it is stored.
    pub(super) async fn count(
        &self,
        db: &DatabaseConnection,
        extension: Uuid,
        version: Uuid,
        day: NaiveDate,
    ) -> Result<(), StoreError> {
        let outcome = {
            let mut filling = self.filling.lock().unwrap_or_else(PoisonError::into_inner);
            *filling.counts.entry((extension, version, day)).or_insert(0) += 1;
            Arc::clone(&filling.outcome)
        };
        let writing = Arc::clone(&self.writer).lock_owned().await;
        if let Some(written) = outcome.get() {
            return shared(written);
        }
        // Batches are taken only by the holder of `writing`, which settles the outcome
        // before it lets go: an unsettled outcome is the batch still filling.
        let batch =
            std::mem::take(&mut *self.filling.lock().unwrap_or_else(PoisonError::into_inner));
        let db = db.clone();
        let write = tokio::spawn(async move {
            let result = write(&db, &batch.counts).await.map_err(Arc::new);
            let _ = batch.outcome.set(result);
            drop(writing);
        });
        if let Err(failed) = write.await {
            return Err(StoreError::unexpected(format!(
                "writing download counts: {failed}"
            )));
        }
        outcome.get().map_or_else(
            || Err(StoreError::unexpected("download batch left unsettled")),
            shared,
        )
    }
}

/// Adds a batch's counts in one transaction: extensions first, then versions, each in id
/// order, as every other change of an extension takes its row before its versions'.
async fn write(db: &DatabaseConnection, counts: &Counts) -> Result<(), StoreError> {
    let mut per_extension: BTreeMap<Uuid, u64> = BTreeMap::new();
    let mut per_version: BTreeMap<Uuid, u64> = BTreeMap::new();
    for (&(extension, version, _), &n) in counts {
        *per_extension.entry(extension).or_insert(0) += n;
        *per_version.entry(version).or_insert(0) += n;
    }
    let txn = db.begin().await.map_err(store_error)?;
    for (extension, n) in per_extension {
        extensions::Entity::update_many()
            .col_expr(
                extensions::Column::Downloads,
                Expr::col(extensions::Column::Downloads).add(as_sql(n)?),
            )
            .filter(extensions::Column::Id.eq(extension))
            .exec(&txn)
            .await
            .map_err(store_error)?;
    }
    for (version, n) in per_version {
        extension_versions::Entity::update_many()
            .col_expr(
                extension_versions::Column::Downloads,
                Expr::col(extension_versions::Column::Downloads).add(as_sql(n)?),
            )
            .filter(extension_versions::Column::Id.eq(version))
            .exec(&txn)
            .await
            .map_err(store_error)?;
    }
    for (&(extension, version, day), &n) in counts {
        add_daily(&txn, extension, version, day, as_sql(n)?).await?;
    }
    txn.commit().await.map_err(store_error)
}

async fn add_daily(
    txn: &DatabaseTransaction,
    extension: Uuid,
    version: Uuid,
    day: NaiveDate,
    n: i64,
) -> Result<(), StoreError> {
    use extension_downloads::Column as D;
    let mut on_conflict = OnConflict::columns([D::VersionId, D::Day]);
    on_conflict.value(
        D::Count,
        Expr::col((extension_downloads::Entity, D::Count)).add(n),
    );
    extension_downloads::Entity::insert(extension_downloads::ActiveModel {
        version_id: Set(version),
        day: Set(day.to_string()),
        extension_id: Set(extension),
        count: Set(n),
    })
    .on_conflict(on_conflict)
    .exec_without_returning(txn)
    .await
    .map_err(store_error)?;
    Ok(())
}

fn as_sql(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::unexpected("download batch too large"))
}

/// The batch's outcome for one of its downloads: the same kind of error for each.
fn shared(written: &Result<(), Arc<StoreError>>) -> Result<(), StoreError> {
    let Err(cause) = written else { return Ok(()) };
    Err(match &**cause {
        StoreError::Duplicate { constraint } => StoreError::Duplicate {
            constraint: constraint.clone(),
        },
        StoreError::MissingReference { constraint } => StoreError::MissingReference {
            constraint: constraint.clone(),
        },
        StoreError::Unavailable(_) => {
            StoreError::Unavailable(Box::new(SharedCause(Arc::clone(cause))))
        }
        StoreError::Unexpected(_) => {
            StoreError::Unexpected(Box::new(SharedCause(Arc::clone(cause))))
        }
    })
}

/// One batch's error, reported to each download in it.
#[derive(Debug)]
struct SharedCause(Arc<StoreError>);

impl std::fmt::Display for SharedCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "writing a batch of download counts: {}", self.0)
    }
}

impl StdError for SharedCause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}
