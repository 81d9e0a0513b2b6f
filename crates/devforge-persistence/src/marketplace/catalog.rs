//! [`CatalogRepository`] on SQL: listings and versions.

use super::{SqlMarketStore, publisher_usage, to_extension, to_extensions, to_version};
use crate::entities::{extension_tags, extension_versions, extensions};
use crate::error::store_error;
use crate::search_sql::Params;
use chrono::{DateTime, Utc};
use devforge_domain::search::without_stop_words;
use devforge_domain::{Page, PageRequest, StoreError, UserId};
use devforge_marketplace::extension::{ExtCategory, Extension, ExtensionId, Pricing, Tag};
use devforge_marketplace::name::ExtensionName;
use devforge_marketplace::ports::{
    CatalogRepository, ExtensionPatch, ExtensionSearch, MarketStats, PublisherQuota,
    PublisherUsage, VersionChange, VersionInsert,
};
use devforge_marketplace::version::{ExtVersion, ReviewState, VersionId, latest};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, Statement, TransactionTrait,
};

/// Keeps SQLite's FTS5 row of an extension in step with its listing (PostgreSQL's
/// generated `tsvector` needs nothing). The row is found by the id kept in
/// `search_rowid`, never by scanning the FTS table.
async fn index_for_search(db: &impl ConnectionTrait, id: uuid::Uuid) -> Result<(), StoreError> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        return Ok(());
    }
    let Some(row) = find_row(db, id).await? else {
        return Ok(());
    };
    if let Some(rowid) = row.search_rowid {
        let mut params = Params::new(backend);
        let delete = format!(
            "DELETE FROM extension_search WHERE rowid = {}",
            params.bind(rowid)
        );
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            delete,
            params.into_values(),
        ))
        .await
        .map_err(store_error)?;
    }
    let mut params = Params::new(backend);
    let insert = format!(
        "INSERT INTO extension_search (rowid, extension_id, name, display_name, tags, description) \
         VALUES ({}, {}, {}, {}, {}, {})",
        params.bind(row.search_rowid),
        params.bind(id),
        params.bind(without_stop_words(&row.name)),
        params.bind(without_stop_words(&row.display_name)),
        params.bind(without_stop_words(&row.tags_text)),
        params.bind(without_stop_words(&row.description)),
    );
    let inserted = db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            insert,
            params.into_values(),
        ))
        .await
        .map_err(store_error)?;
    if row.search_rowid.is_none() {
        let rowid = i64::try_from(inserted.last_insert_id())
            .map_err(|e| StoreError::unexpected(e.to_string()))?;
        extensions::Entity::update_many()
            .col_expr(extensions::Column::SearchRowid, Expr::value(rowid))
            .filter(extensions::Column::Id.eq(id))
            .exec(db)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

fn tags_text(tags: &[Tag]) -> String {
    tags.iter().map(Tag::as_str).collect::<Vec<_>>().join(" ")
}

/// Writes an extension's tag rows (with its category, which tag filters read from them).
async fn replace_tags(
    db: &impl ConnectionTrait,
    extension: uuid::Uuid,
    category: ExtCategory,
    tags: &[Tag],
) -> Result<(), StoreError> {
    extension_tags::Entity::delete_many()
        .filter(extension_tags::Column::ExtensionId.eq(extension))
        .exec(db)
        .await
        .map_err(store_error)?;
    if tags.is_empty() {
        return Ok(());
    }
    extension_tags::Entity::insert_many(tags.iter().map(|tag| extension_tags::ActiveModel {
        extension_id: Set(extension),
        tag: Set(tag.as_str().to_owned()),
        category: Set(category.as_str().to_owned()),
    }))
    .exec(db)
    .await
    .map_err(store_error)?;
    Ok(())
}

async fn find_row(
    db: &impl ConnectionTrait,
    id: uuid::Uuid,
) -> Result<Option<extensions::Model>, StoreError> {
    extensions::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(store_error)
}

async fn versions(
    db: &impl ConnectionTrait,
    extension: uuid::Uuid,
) -> Result<Vec<ExtVersion>, StoreError> {
    extension_versions::Entity::find()
        .filter(extension_versions::Column::ExtensionId.eq(extension))
        .all(db)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(to_version)
        .collect()
}

impl CatalogRepository for SqlMarketStore {
    async fn insert_extension(&self, extension: Extension) -> Result<Extension, StoreError> {
        let normalized = extension.name.normalized();
        let txn = self.conn().begin().await.map_err(store_error)?;
        extensions::ActiveModel {
            id: Set(extension.id.as_uuid()),
            name: Set(extension.name.as_str().to_owned()),
            normalized_length: Set(i32::try_from(normalized.chars().count()).unwrap_or(i32::MAX)),
            normalized_name: Set(normalized),
            display_name: Set(extension.display_name.clone()),
            description: Set(extension.description.clone()),
            category: Set(extension.category.as_str().to_owned()),
            tags_text: Set(tags_text(&extension.tags)),
            entitlement: Set(extension.pricing.entitlement().map(str::to_owned)),
            repository_url: Set(extension.repository_url.clone()),
            homepage_url: Set(extension.homepage_url.clone()),
            owner_id: Set(extension.owner.as_uuid()),
            latest_version: Set(None),
            latest_published_at: Set(None),
            downloads: Set(0),
            rating_sum: Set(0),
            rating_count: Set(0),
            search_rowid: Set(None),
            created_at: Set(extension.created_at),
            updated_at: Set(extension.updated_at),
        }
        .insert(&txn)
        .await
        .map_err(store_error)?;
        replace_tags(
            &txn,
            extension.id.as_uuid(),
            extension.category,
            &extension.tags,
        )
        .await?;
        index_for_search(&txn, extension.id.as_uuid()).await?;
        txn.commit().await.map_err(store_error)?;
        Ok(extension)
    }

    async fn names_near(
        &self,
        lengths: std::ops::RangeInclusive<usize>,
        except_owner: UserId,
    ) -> Result<Vec<String>, StoreError> {
        let bound = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        extensions::Entity::find()
            .select_only()
            .column(extensions::Column::Name)
            .filter(
                extensions::Column::NormalizedLength
                    .between(bound(*lengths.start()), bound(*lengths.end())),
            )
            .filter(extensions::Column::OwnerId.ne(except_owner.as_uuid()))
            .into_tuple()
            .all(self.conn())
            .await
            .map_err(store_error)
    }

    async fn find_extension(&self, name: &ExtensionName) -> Result<Option<Extension>, StoreError> {
        let row = extensions::Entity::find()
            .filter(extensions::Column::Name.eq(name.as_str()))
            .one(self.conn())
            .await
            .map_err(store_error)?;
        row.map(to_extension).transpose()
    }

    async fn extension_by_id(&self, id: ExtensionId) -> Result<Option<Extension>, StoreError> {
        find_row(self.conn(), id.as_uuid())
            .await?
            .map(to_extension)
            .transpose()
    }

    async fn public_extensions(
        &self,
        after: Option<ExtensionId>,
        limit: u64,
    ) -> Result<Vec<Extension>, StoreError> {
        let mut query = extensions::Entity::find()
            .filter(extensions::Column::LatestVersion.is_not_null())
            .order_by_asc(extensions::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(extensions::Column::Id.gt(after.as_uuid()));
        }
        to_extensions(query.all(self.conn()).await.map_err(store_error)?)
    }

    async fn update_extension(
        &self,
        id: ExtensionId,
        patch: ExtensionPatch,
        at: DateTime<Utc>,
    ) -> Result<Option<Extension>, StoreError> {
        use extensions::Column as C;
        let tag_rows_change = patch.category.is_some() || patch.tags.is_some();
        let mut update = extensions::Entity::update_many()
            .col_expr(C::UpdatedAt, Expr::value(at))
            .filter(C::Id.eq(id.as_uuid()));
        if let Some(display_name) = patch.display_name {
            update = update.col_expr(C::DisplayName, Expr::value(display_name));
        }
        if let Some(description) = patch.description {
            update = update.col_expr(C::Description, Expr::value(description));
        }
        if let Some(category) = patch.category {
            update = update.col_expr(C::Category, Expr::value(category.as_str()));
        }
        if let Some(tags) = &patch.tags {
            update = update.col_expr(C::TagsText, Expr::value(tags_text(tags)));
        }
        if let Some(url) = patch.repository_url {
            update = update.col_expr(C::RepositoryUrl, Expr::value(url));
        }
        if let Some(url) = patch.homepage_url {
            update = update.col_expr(C::HomepageUrl, Expr::value(url));
        }
        if let Some(pricing) = patch.pricing {
            let entitlement = match pricing {
                Pricing::Free => None,
                Pricing::Paid(entitlement) => Some(entitlement),
            };
            update = update.col_expr(C::Entitlement, Expr::value(entitlement));
        }
        let txn = self.conn().begin().await.map_err(store_error)?;
        let changed = update.exec(&txn).await.map_err(store_error)?;
        if changed.rows_affected == 0 {
            txn.rollback().await.map_err(store_error)?;
            return Ok(None);
        }
        let extension = find_row(&txn, id.as_uuid())
            .await?
            .map(to_extension)
            .transpose()?;
        if tag_rows_change && let Some(edited) = &extension {
            replace_tags(&txn, id.as_uuid(), edited.category, &edited.tags).await?;
        }
        index_for_search(&txn, id.as_uuid()).await?;
        txn.commit().await.map_err(store_error)?;
        Ok(extension)
    }

    async fn owned_by(
        &self,
        owner: UserId,
        page: PageRequest,
    ) -> Result<Page<Extension>, StoreError> {
        let query = extensions::Entity::find()
            .filter(extensions::Column::OwnerId.eq(owner.as_uuid()))
            .order_by_asc(extensions::Column::Name);
        let rows = crate::paging::fetch_page(self.conn(), query, page, Ok).await?;
        let items = to_extensions(rows.items)?;
        Ok(Page {
            items,
            request: rows.request,
            total: rows.total,
        })
    }

    async fn search(
        &self,
        search: ExtensionSearch,
        page: PageRequest,
    ) -> Result<Page<Extension>, StoreError> {
        super::search::search(self.conn(), search, page).await
    }

    async fn publisher_usage(&self, owner: UserId) -> Result<PublisherUsage, StoreError> {
        publisher_usage::publisher_usage(self.conn(), owner).await
    }

    async fn insert_version(
        &self,
        version: ExtVersion,
        storage_key: String,
        owner: UserId,
        quota: PublisherQuota,
    ) -> Result<VersionInsert, StoreError> {
        let txn = self.conn().begin().await.map_err(store_error)?;
        // Without limits there is nothing to count (seeding a benchmark catalogue).
        if quota != PublisherQuota::UNLIMITED {
            publisher_usage::lock_publisher(&txn, owner).await?;
            let usage = publisher_usage::publisher_usage(&txn, owner).await?;
            if let Err(refusal) = quota.admits(usage, version.size) {
                txn.rollback().await.map_err(store_error)?;
                return Ok(VersionInsert::Refused(refusal));
            }
        }
        extension_versions::ActiveModel {
            id: Set(version.id.as_uuid()),
            extension_id: Set(version.extension_id.as_uuid()),
            version: Set(version.version.to_string()),
            engine: Set(version.engine.to_string()),
            changelog: Set(version.changelog.clone()),
            sha256: Set(version.sha256.clone()),
            size: Set(i64::try_from(version.size).unwrap_or(i64::MAX)),
            state: Set(version.state.as_str().to_owned()),
            reject_reason: Set(None),
            yanked: Set(false),
            downloads: Set(0),
            storage_key: Set(storage_key),
            created_at: Set(version.created_at),
            published_at: Set(None),
        }
        .insert(&txn)
        .await
        .map_err(store_error)?;
        txn.commit().await.map_err(store_error)?;
        Ok(VersionInsert::Inserted)
    }

    async fn versions_of(&self, extension: ExtensionId) -> Result<Vec<ExtVersion>, StoreError> {
        versions(self.conn(), extension.as_uuid()).await
    }

    async fn storage_key(&self, version: VersionId) -> Result<Option<String>, StoreError> {
        extension_versions::Entity::find_by_id(version.as_uuid())
            .select_only()
            .column(extension_versions::Column::StorageKey)
            .into_tuple()
            .one(self.conn())
            .await
            .map_err(store_error)
    }

    async fn change_version(
        &self,
        version: VersionId,
        change: VersionChange,
        at: DateTime<Utc>,
    ) -> Result<Option<ExtVersion>, StoreError> {
        use extension_versions::Column as V;
        let txn = self.conn().begin().await.map_err(store_error)?;
        // First lock the extension: reviews and yanks of one extension take turns, so the
        // latest version computed below always sees every other change.
        let owner_of_version = Query::select()
            .column(V::ExtensionId)
            .from(extension_versions::Entity)
            .and_where(V::Id.eq(version.as_uuid()))
            .to_owned();
        extensions::Entity::update_many()
            .col_expr(
                extensions::Column::UpdatedAt,
                Expr::col(extensions::Column::UpdatedAt),
            )
            .filter(extensions::Column::Id.in_subquery(owner_of_version))
            .exec(&txn)
            .await
            .map_err(store_error)?;
        let update = extension_versions::Entity::update_many().filter(V::Id.eq(version.as_uuid()));
        let update = match change {
            VersionChange::Review { to, reason } => {
                let published = (to == ReviewState::Approved).then_some(at);
                update
                    .col_expr(V::State, Expr::value(to.as_str()))
                    .col_expr(V::RejectReason, Expr::value(reason))
                    .col_expr(V::PublishedAt, Expr::value(published))
                    .filter(V::State.eq(ReviewState::Pending.as_str()))
            }
            VersionChange::Yank(yanked) => update.col_expr(V::Yanked, Expr::value(yanked)),
        };
        let changed = update.exec(&txn).await.map_err(store_error)?;
        if changed.rows_affected == 0 {
            txn.rollback().await.map_err(store_error)?;
            return Ok(None);
        }
        let row = extension_versions::Entity::find_by_id(version.as_uuid())
            .one(&txn)
            .await
            .map_err(store_error)?
            .ok_or_else(|| StoreError::unexpected("a version vanished"))?;
        let all = versions(&txn, row.extension_id).await?;
        let newest = latest(&all);
        extensions::Entity::update_many()
            .col_expr(
                extensions::Column::LatestVersion,
                Expr::value(newest.map(|v| v.version.to_string())),
            )
            .col_expr(
                extensions::Column::LatestPublishedAt,
                Expr::value(newest.and_then(|v| v.published_at)),
            )
            .filter(extensions::Column::Id.eq(row.extension_id))
            .exec(&txn)
            .await
            .map_err(store_error)?;
        txn.commit().await.map_err(store_error)?;
        to_version(row).map(Some)
    }

    async fn pending(
        &self,
        page: PageRequest,
    ) -> Result<Page<(Extension, ExtVersion)>, StoreError> {
        let query = extension_versions::Entity::find()
            .filter(extension_versions::Column::State.eq(ReviewState::Pending.as_str()))
            .order_by_asc(extension_versions::Column::CreatedAt)
            .order_by_asc(extension_versions::Column::Id);
        let rows = crate::paging::fetch_page(self.conn(), query, page, to_version).await?;
        let ids: Vec<uuid::Uuid> = rows
            .items
            .iter()
            .map(|v| v.extension_id.as_uuid())
            .collect();
        let owners = extensions::Entity::find()
            .filter(extensions::Column::Id.is_in(ids))
            .all(self.conn())
            .await
            .map_err(store_error)?;
        let owners = to_extensions(owners)?;
        let mut items = Vec::with_capacity(rows.items.len());
        for version in rows.items {
            if let Some(extension) = owners.iter().find(|e| e.id == version.extension_id) {
                items.push((extension.clone(), version));
            }
        }
        Ok(Page {
            items,
            request: rows.request,
            total: rows.total,
        })
    }

    async fn market_stats(&self) -> Result<MarketStats, StoreError> {
        let db = self.conn();
        let public = extensions::Entity::find()
            .filter(extensions::Column::LatestVersion.is_not_null())
            .count(db)
            .await
            .map_err(store_error)?;
        let all = extensions::Entity::find()
            .count(db)
            .await
            .map_err(store_error)?;
        let pending = extension_versions::Entity::find()
            .filter(extension_versions::Column::State.eq(ReviewState::Pending.as_str()))
            .count(db)
            .await
            .map_err(store_error)?;
        let downloads: Option<i64> = extensions::Entity::find()
            .select_only()
            .column_as(
                crate::aggregate::sum_bigint(extensions::Column::Downloads),
                "total",
            )
            .into_tuple()
            .one(db)
            .await
            .map_err(store_error)?
            .flatten();
        Ok(MarketStats {
            public_extensions: public,
            unpublished_extensions: all.saturating_sub(public),
            pending_versions: pending,
            downloads: u64::try_from(downloads.unwrap_or(0)).unwrap_or(0),
        })
    }
}
