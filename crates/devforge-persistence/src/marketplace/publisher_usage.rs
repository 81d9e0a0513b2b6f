//! What one publisher keeps stored, counted for its quotas, and the lock that makes the
//! count and the insert that follows it one step.
//!
//! Every version of the publisher's extensions counts its bytes, whatever its state:
//! rejected and yanked packages stay in the store until removed, so they keep their room.

use crate::entities::users;
use crate::error::store_error;
use crate::search_sql::Params;
use devforge_domain::{StoreError, UserId};
use devforge_marketplace::ports::PublisherUsage;
use devforge_marketplace::version::ReviewState;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};

/// Counts `owner`'s pending versions and stored bytes.
pub(super) async fn publisher_usage(
    db: &impl ConnectionTrait,
    owner: UserId,
) -> Result<PublisherUsage, StoreError> {
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let pending = params.bind(ReviewState::Pending.as_str());
    let owner = params.bind(owner.as_uuid());
    // SUM over BIGINT is NUMERIC on PostgreSQL: cast back so both databases answer BIGINT.
    let sql = format!(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN v.state = {pending} THEN 1 ELSE 0 END), 0) AS BIGINT) \
             AS pending_versions, \
           CAST(COALESCE(SUM(v.size), 0) AS BIGINT) AS stored_bytes \
         FROM extension_versions v JOIN extensions e ON e.id = v.extension_id \
         WHERE e.owner_id = {owner}"
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            params.into_values(),
        ))
        .await
        .map_err(store_error)?
        .ok_or_else(|| StoreError::unexpected("an aggregate returned no row"))?;
    let count = |column: &str| -> Result<u64, StoreError> {
        let value: i64 = row.try_get("", column).map_err(store_error)?;
        u64::try_from(value).map_err(|_| StoreError::unexpected("a negative usage figure"))
    };
    Ok(PublisherUsage {
        pending_versions: count("pending_versions")?,
        stored_bytes: count("stored_bytes")?,
    })
}

/// Takes the write lock on `owner`'s account row (a no-op update), so that inserts for one
/// publisher take turns and each counts what the one before it added.
pub(super) async fn lock_publisher(
    db: &impl ConnectionTrait,
    owner: UserId,
) -> Result<(), StoreError> {
    users::Entity::update_many()
        .col_expr(
            users::Column::UpdatedAt,
            Expr::col(users::Column::UpdatedAt),
        )
        .filter(users::Column::Id.eq(owner.as_uuid()))
        .exec(db)
        .await
        .map_err(store_error)?;
    Ok(())
}
