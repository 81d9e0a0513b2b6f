//! [`ReviewRepository`] and [`DownloadRepository`] on SQL: rows and the counters they move,
//! in one transaction each.

use super::SqlMarketStore;
use crate::entities::{extension_downloads, extension_reviews, extension_versions, extensions};
use crate::error::{corrupt, store_error};
use chrono::{DateTime, NaiveDate, Utc};
use devforge_domain::{Page, PageRequest, StoreError, UserId};
use devforge_marketplace::extension::ExtensionId;
use devforge_marketplace::ports::{DownloadRepository, DownloadStats, ReviewRepository};
use devforge_marketplace::review::{Rating, Review, ReviewId};
use devforge_marketplace::version::VersionId;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

fn to_review(row: extension_reviews::Model) -> Result<Review, StoreError> {
    Ok(Review {
        id: ReviewId::from_uuid(row.id),
        extension_id: ExtensionId::from_uuid(row.extension_id),
        author: UserId::from_uuid(row.author_id),
        rating: Rating::new(i64::from(row.rating)).map_err(|e| corrupt("rating", e))?,
        title: row.title,
        body: row.body,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Moves an extension's rating counters.
async fn move_rating(
    db: &impl ConnectionTrait,
    extension: uuid::Uuid,
    sum_delta: i64,
    count_delta: i64,
) -> Result<(), StoreError> {
    use extensions::Column as C;
    extensions::Entity::update_many()
        .col_expr(C::RatingSum, Expr::col(C::RatingSum).add(sum_delta))
        .col_expr(C::RatingCount, Expr::col(C::RatingCount).add(count_delta))
        .filter(C::Id.eq(extension))
        .exec(db)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Locks the author's review of an extension (a write to it) and returns it.
async fn lock_review(
    db: &impl ConnectionTrait,
    extension: ExtensionId,
    author: UserId,
    at: DateTime<Utc>,
) -> Result<Option<extension_reviews::Model>, StoreError> {
    use extension_reviews::Column as R;
    let filter = || {
        R::ExtensionId
            .eq(extension.as_uuid())
            .and(R::AuthorId.eq(author.as_uuid()))
    };
    let locked = extension_reviews::Entity::update_many()
        .col_expr(R::UpdatedAt, Expr::value(at))
        .filter(filter())
        .exec(db)
        .await
        .map_err(store_error)?;
    if locked.rows_affected == 0 {
        return Ok(None);
    }
    extension_reviews::Entity::find()
        .filter(filter())
        .one(db)
        .await
        .map_err(store_error)
}

impl ReviewRepository for SqlMarketStore {
    async fn insert_review(&self, review: Review) -> Result<Review, StoreError> {
        let txn = self.conn().begin().await.map_err(store_error)?;
        extension_reviews::ActiveModel {
            id: Set(review.id.as_uuid()),
            extension_id: Set(review.extension_id.as_uuid()),
            author_id: Set(review.author.as_uuid()),
            rating: Set(i16::from(review.rating.get())),
            title: Set(review.title.clone()),
            body: Set(review.body.clone()),
            created_at: Set(review.created_at),
            updated_at: Set(review.updated_at),
        }
        .insert(&txn)
        .await
        .map_err(store_error)?;
        move_rating(
            &txn,
            review.extension_id.as_uuid(),
            i64::from(review.rating.get()),
            1,
        )
        .await?;
        txn.commit().await.map_err(store_error)?;
        Ok(review)
    }

    async fn update_review(
        &self,
        extension: ExtensionId,
        author: UserId,
        rating: Rating,
        title: Option<String>,
        body: Option<String>,
        at: DateTime<Utc>,
    ) -> Result<Option<Review>, StoreError> {
        use extension_reviews::Column as R;
        let txn = self.conn().begin().await.map_err(store_error)?;
        let Some(old) = lock_review(&txn, extension, author, at).await? else {
            txn.rollback().await.map_err(store_error)?;
            return Ok(None);
        };
        extension_reviews::Entity::update_many()
            .col_expr(R::Rating, Expr::value(i16::from(rating.get())))
            .col_expr(R::Title, Expr::value(title))
            .col_expr(R::Body, Expr::value(body))
            .filter(R::Id.eq(old.id))
            .exec(&txn)
            .await
            .map_err(store_error)?;
        let delta = i64::from(rating.get()) - i64::from(old.rating);
        move_rating(&txn, extension.as_uuid(), delta, 0).await?;
        let row = extension_reviews::Entity::find_by_id(old.id)
            .one(&txn)
            .await
            .map_err(store_error)?;
        txn.commit().await.map_err(store_error)?;
        row.map(to_review).transpose()
    }

    async fn delete_review(
        &self,
        extension: ExtensionId,
        author: UserId,
    ) -> Result<Option<Review>, StoreError> {
        let txn = self.conn().begin().await.map_err(store_error)?;
        let Some(old) = lock_review(&txn, extension, author, Utc::now()).await? else {
            txn.rollback().await.map_err(store_error)?;
            return Ok(None);
        };
        extension_reviews::Entity::delete_by_id(old.id)
            .exec(&txn)
            .await
            .map_err(store_error)?;
        move_rating(&txn, extension.as_uuid(), -i64::from(old.rating), -1).await?;
        txn.commit().await.map_err(store_error)?;
        to_review(old).map(Some)
    }

    async fn list_reviews(
        &self,
        extension: ExtensionId,
        page: PageRequest,
    ) -> Result<Page<Review>, StoreError> {
        let query = extension_reviews::Entity::find()
            .filter(extension_reviews::Column::ExtensionId.eq(extension.as_uuid()))
            .order_by_desc(extension_reviews::Column::CreatedAt)
            .order_by_desc(extension_reviews::Column::Id);
        crate::paging::fetch_page(self.conn(), query, page, to_review).await
    }
}

impl DownloadRepository for SqlMarketStore {
    async fn count_download(
        &self,
        extension: ExtensionId,
        version: VersionId,
        day: NaiveDate,
    ) -> Result<(), StoreError> {
        self.downloads
            .count(self.conn(), extension.as_uuid(), version.as_uuid(), day)
            .await
    }

    async fn download_stats(
        &self,
        extension: ExtensionId,
        since: NaiveDate,
    ) -> Result<DownloadStats, StoreError> {
        use extension_downloads::Column as D;
        let db = self.conn();
        let total: Option<i64> = extensions::Entity::find_by_id(extension.as_uuid())
            .select_only()
            .column(extensions::Column::Downloads)
            .into_tuple()
            .one(db)
            .await
            .map_err(store_error)?;
        let per_version: Vec<(String, i64)> = extension_versions::Entity::find()
            .select_only()
            .column(extension_versions::Column::Version)
            .column(extension_versions::Column::Downloads)
            .filter(extension_versions::Column::ExtensionId.eq(extension.as_uuid()))
            .into_tuple()
            .all(db)
            .await
            .map_err(store_error)?;
        let daily: Vec<(String, Option<i64>)> = extension_downloads::Entity::find()
            .select_only()
            .column(D::Day)
            .column_as(crate::aggregate::sum_bigint(D::Count), "n")
            .filter(D::ExtensionId.eq(extension.as_uuid()))
            .filter(D::Day.gte(since.to_string()))
            .group_by(D::Day)
            .order_by_asc(D::Day)
            .into_tuple()
            .all(db)
            .await
            .map_err(store_error)?;
        let mut per_version: Vec<(String, u64)> = per_version
            .into_iter()
            .map(|(v, n)| (v, u64::try_from(n).unwrap_or(0)))
            .collect();
        per_version.sort_by(|a, b| {
            let parse = |v: &str| semver::Version::parse(v).ok();
            parse(&b.0).cmp(&parse(&a.0))
        });
        Ok(DownloadStats {
            total: u64::try_from(total.unwrap_or(0)).unwrap_or(0),
            per_version,
            daily: daily
                .into_iter()
                .filter_map(|(day, n)| {
                    let day = day.parse::<NaiveDate>().ok()?;
                    Some((day, u64::try_from(n.unwrap_or(0)).unwrap_or(0)))
                })
                .collect(),
        })
    }
}
