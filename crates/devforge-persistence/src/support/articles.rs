//! [`KnowledgeBaseRepository`] on SQL: articles, tags, revisions, views and votes.

use super::SqlSupportStore;
use crate::entities::{kb_article_tags, kb_articles, kb_feedback, kb_revisions};
use crate::error::{corrupt, store_error};
use chrono::{DateTime, Utc};
use devforge_domain::{Page, PageRequest, StoreError, UserId};
use devforge_support::article::{ArticlePatch, ArticleText};
use devforge_support::ports::{ArticleFilter, KnowledgeBaseRepository};
use devforge_support::{
    Article, ArticleHit, ArticleId, ArticleStatus, Label, Revision, Slug, Voter,
};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    Statement, TransactionTrait,
};
use std::collections::HashMap;

fn counter(what: &str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|e| corrupt(what, e))
}

/// An article row with its tags, as the domain's type.
pub(super) fn to_article(
    row: kb_articles::Model,
    tags: Vec<String>,
) -> Result<Article, StoreError> {
    let slug = Slug::parse(&row.slug).map_err(|e| corrupt("article slug", e))?;
    Ok(Article {
        id: ArticleId::from_uuid(row.id),
        slug,
        text: ArticleText {
            title: row.title,
            body: row.body,
        },
        category: Label::from_trusted(row.category),
        tags: tags.into_iter().map(Label::from_trusted).collect(),
        status: ArticleStatus::parse(&row.status).map_err(|e| corrupt("article status", e))?,
        author: UserId::from_uuid(row.author_id),
        revision: u32::try_from(row.revision).map_err(|e| corrupt("article revision", e))?,
        created_at: row.created_at,
        updated_at: row.updated_at,
        published_at: row.published_at,
        views: counter("views", row.views)?,
        helpful_yes: counter("helpful votes", row.helpful_yes)?,
        helpful_no: counter("unhelpful votes", row.helpful_no)?,
    })
}

/// The tags of each of `ids`, in one query.
pub(super) async fn tags_of(
    db: &impl ConnectionTrait,
    ids: &[uuid::Uuid],
) -> Result<Vec<(uuid::Uuid, String)>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = kb_article_tags::Entity::find()
        .filter(kb_article_tags::Column::ArticleId.is_in(ids.iter().copied()))
        .order_by_asc(kb_article_tags::Column::Tag)
        .all(db)
        .await
        .map_err(store_error)?;
    Ok(rows
        .into_iter()
        .map(|row| (row.article_id, row.tag))
        .collect())
}

/// Rows with their tags attached.
pub(super) async fn with_tags(
    db: &impl ConnectionTrait,
    rows: Vec<kb_articles::Model>,
) -> Result<Vec<Article>, StoreError> {
    let ids: Vec<uuid::Uuid> = rows.iter().map(|row| row.id).collect();
    let tags = tags_of(db, &ids).await?;
    attach_tags(rows, tags)
}

/// Each row with its own of `tags` (sorted as given).
fn attach_tags(
    rows: Vec<kb_articles::Model>,
    tags: Vec<(uuid::Uuid, String)>,
) -> Result<Vec<Article>, StoreError> {
    let mut by_article: HashMap<uuid::Uuid, Vec<String>> = HashMap::new();
    for (id, tag) in tags {
        by_article.entry(id).or_default().push(tag);
    }
    rows.into_iter()
        .map(|row| {
            let own = by_article.remove(&row.id).unwrap_or_default();
            to_article(row, own)
        })
        .collect()
}

/// Advances the search generation (see `devforge_support::search_index`), inside the
/// transaction of the change it counts.
async fn advance_search_generation(db: &impl ConnectionTrait) -> Result<(), StoreError> {
    db.execute_unprepared("UPDATE kb_search_generation SET generation = generation + 1")
        .await
        .map_err(store_error)?;
    Ok(())
}

async fn find_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<Article>, StoreError> {
    let row = kb_articles::Entity::find()
        .filter(kb_articles::Column::Slug.eq(slug))
        .one(db)
        .await
        .map_err(store_error)?;
    match row {
        Some(row) => Ok(with_tags(db, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

async fn replace_tags(
    db: &impl ConnectionTrait,
    article: uuid::Uuid,
    tags: &[Label],
) -> Result<(), StoreError> {
    kb_article_tags::Entity::delete_many()
        .filter(kb_article_tags::Column::ArticleId.eq(article))
        .exec(db)
        .await
        .map_err(store_error)?;
    if tags.is_empty() {
        return Ok(());
    }
    let rows = tags.iter().map(|tag| kb_article_tags::ActiveModel {
        article_id: Set(article),
        tag: Set(tag.as_str().to_owned()),
    });
    kb_article_tags::Entity::insert_many(rows)
        .exec(db)
        .await
        .map_err(store_error)?;
    Ok(())
}

async fn insert_revision(
    db: &impl ConnectionTrait,
    article: uuid::Uuid,
    number: i32,
    text: &ArticleText,
    author: UserId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    kb_revisions::ActiveModel {
        article_id: Set(article),
        number: Set(number),
        title: Set(text.title.clone()),
        body: Set(text.body.clone()),
        author_id: Set(author.as_uuid()),
        created_at: Set(at),
    }
    .insert(db)
    .await
    .map_err(store_error)?;
    Ok(())
}

fn to_revision(row: kb_revisions::Model) -> Result<Revision, StoreError> {
    Ok(Revision {
        number: u32::try_from(row.number).map_err(|e| corrupt("revision number", e))?,
        text: ArticleText {
            title: row.title,
            body: row.body,
        },
        author: UserId::from_uuid(row.author_id),
        created_at: row.created_at,
    })
}

/// The stored key of a voter: `(voter, day)`, the day empty for accounts.
fn voter_key(voter: &Voter) -> (String, String) {
    match voter {
        Voter::User(id) => (format!("user:{id}"), String::new()),
        Voter::Anonymous { client, day } => (format!("client:{client}"), day.to_string()),
    }
}

impl KnowledgeBaseRepository for SqlSupportStore {
    async fn insert_article(&self, article: Article) -> Result<Article, StoreError> {
        let txn = self.conn().begin().await.map_err(store_error)?;
        let id = article.id.as_uuid();
        kb_articles::ActiveModel {
            id: Set(id),
            slug: Set(article.slug.as_str().to_owned()),
            title: Set(article.text.title.clone()),
            body: Set(article.text.body.clone()),
            category: Set(article.category.as_str().to_owned()),
            status: Set(article.status.as_str().to_owned()),
            author_id: Set(article.author.as_uuid()),
            revision: Set(1),
            created_at: Set(article.created_at),
            updated_at: Set(article.updated_at),
            published_at: Set(article.published_at),
            views: Set(0),
            helpful_yes: Set(0),
            helpful_no: Set(0),
        }
        .insert(&txn)
        .await
        .map_err(store_error)?;
        advance_search_generation(&txn).await?;
        replace_tags(&txn, id, &article.tags).await?;
        insert_revision(
            &txn,
            id,
            1,
            &article.text,
            article.author,
            article.created_at,
        )
        .await?;
        txn.commit().await.map_err(store_error)?;
        Ok(article)
    }

    async fn find_article(&self, slug: &Slug) -> Result<Option<Article>, StoreError> {
        find_by_slug(self.conn(), slug.as_str()).await
    }

    async fn record_view(
        &self,
        slug: &Slug,
        published_only: bool,
    ) -> Result<Option<Article>, StoreError> {
        use kb_articles::Column as C;
        let mut view = kb_articles::Entity::update_many()
            .col_expr(C::Views, Expr::col(C::Views).add(1))
            .filter(C::Slug.eq(slug.as_str()));
        if published_only {
            view = view.filter(C::Status.eq(ArticleStatus::Published.as_str()));
        }
        let counted = view.exec(self.conn()).await.map_err(store_error)?;
        if counted.rows_affected == 0 {
            return Ok(None);
        }
        find_by_slug(self.conn(), slug.as_str()).await
    }

    async fn update_article(
        &self,
        slug: &Slug,
        patch: ArticlePatch,
        author: UserId,
        at: DateTime<Utc>,
    ) -> Result<Option<Article>, StoreError> {
        use kb_articles::Column as C;
        let mut change = kb_articles::Entity::update_many()
            .col_expr(C::UpdatedAt, Expr::value(at))
            .filter(C::Slug.eq(slug.as_str()));
        if let Some(text) = &patch.text {
            change = change
                .col_expr(C::Title, Expr::value(text.title.clone()))
                .col_expr(C::Body, Expr::value(text.body.clone()))
                .col_expr(C::Revision, Expr::col(C::Revision).add(1));
        }
        if let Some(category) = &patch.category {
            change = change.col_expr(C::Category, Expr::value(category.as_str()));
        }
        if let Some(status) = patch.status {
            change = change.col_expr(C::Status, Expr::value(status.as_str()));
            if status == ArticleStatus::Published {
                change = change.col_expr(C::PublishedAt, Expr::col(C::PublishedAt).if_null(at));
            }
        }
        let txn = self.conn().begin().await.map_err(store_error)?;
        let updated = change.exec(&txn).await.map_err(store_error)?;
        if updated.rows_affected == 0 {
            txn.rollback().await.map_err(store_error)?;
            return Ok(None);
        }
        advance_search_generation(&txn).await?;
        let row = kb_articles::Entity::find()
            .filter(C::Slug.eq(slug.as_str()))
            .one(&txn)
            .await
            .map_err(store_error)?
            .ok_or_else(|| StoreError::unexpected("an article vanished while being updated"))?;
        if let Some(tags) = &patch.tags {
            replace_tags(&txn, row.id, tags).await?;
        }
        if let Some(text) = &patch.text {
            insert_revision(&txn, row.id, row.revision, text, author, at).await?;
        }
        let article = with_tags(&txn, vec![row]).await?.pop();
        txn.commit().await.map_err(store_error)?;
        Ok(article)
    }

    async fn list_articles(
        &self,
        filter: ArticleFilter,
        page: PageRequest,
    ) -> Result<Page<ArticleHit>, StoreError> {
        super::article_list::list(self.conn(), filter, page).await
    }

    async fn search_generation(&self) -> Result<u64, StoreError> {
        let db = self.conn();
        let read = Statement::from_string(
            db.get_database_backend(),
            "SELECT generation FROM kb_search_generation",
        );
        let row = db
            .query_one_raw(read)
            .await
            .map_err(store_error)?
            .ok_or_else(|| StoreError::unexpected("kb_search_generation has no row"))?;
        let generation: i64 = row.try_get("", "generation").map_err(store_error)?;
        counter("search generation", generation)
    }

    async fn all_articles(&self) -> Result<Vec<Article>, StoreError> {
        // Read in one transaction, so the tags belong to the rows read.
        let txn = self.conn().begin().await.map_err(store_error)?;
        let rows = kb_articles::Entity::find()
            .all(&txn)
            .await
            .map_err(store_error)?;
        let tags = kb_article_tags::Entity::find()
            .order_by_asc(kb_article_tags::Column::Tag)
            .all(&txn)
            .await
            .map_err(store_error)?;
        txn.commit().await.map_err(store_error)?;
        let tags = tags.into_iter().map(|t| (t.article_id, t.tag)).collect();
        attach_tags(rows, tags)
    }

    async fn articles_by_id(&self, ids: &[ArticleId]) -> Result<Vec<Article>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = kb_articles::Entity::find()
            .filter(kb_articles::Column::Id.is_in(ids.iter().map(|id| id.as_uuid())))
            .all(self.conn())
            .await
            .map_err(store_error)?;
        with_tags(self.conn(), rows).await
    }

    async fn list_revisions(
        &self,
        article: ArticleId,
        page: PageRequest,
    ) -> Result<Page<Revision>, StoreError> {
        let query = kb_revisions::Entity::find()
            .filter(kb_revisions::Column::ArticleId.eq(article.as_uuid()))
            .order_by_desc(kb_revisions::Column::Number);
        crate::paging::fetch_page(self.conn(), query, page, to_revision).await
    }

    async fn find_revision(
        &self,
        article: ArticleId,
        number: u32,
    ) -> Result<Option<Revision>, StoreError> {
        let Ok(number) = i32::try_from(number) else {
            return Ok(None);
        };
        kb_revisions::Entity::find_by_id((article.as_uuid(), number))
            .one(self.conn())
            .await
            .map_err(store_error)?
            .map(to_revision)
            .transpose()
    }

    async fn record_feedback(
        &self,
        article: ArticleId,
        voter: Voter,
        helpful: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<Article>, StoreError> {
        use kb_articles::Column as A;
        use kb_feedback::Column as F;
        let (voter, day) = voter_key(&voter);
        let id = article.as_uuid();
        let (counted, other) = if helpful {
            (A::HelpfulYes, A::HelpfulNo)
        } else {
            (A::HelpfulNo, A::HelpfulYes)
        };
        let txn = self.conn().begin().await.map_err(store_error)?;
        // A changed vote: flip it and move one count from the other side.
        let flipped = kb_feedback::Entity::update_many()
            .col_expr(F::Helpful, Expr::value(helpful))
            .filter(F::ArticleId.eq(id))
            .filter(F::Voter.eq(voter.as_str()))
            .filter(F::Day.eq(day.as_str()))
            .filter(F::Helpful.eq(!helpful))
            .exec(&txn)
            .await
            .map_err(store_error)?;
        let recount = if flipped.rows_affected == 1 {
            Some(vec![(counted, 1), (other, -1)])
        } else {
            // A first vote counts; a repeated one conflicts and changes nothing.
            let insert = Query::insert()
                .into_table(kb_feedback::Entity)
                .columns([F::ArticleId, F::Voter, F::Day, F::Helpful, F::CreatedAt])
                .values([
                    id.into(),
                    voter.clone().into(),
                    day.clone().into(),
                    helpful.into(),
                    at.into(),
                ])
                .map_err(|e| StoreError::unexpected(e.to_string()))?
                .on_conflict(
                    OnConflict::columns([F::ArticleId, F::Voter, F::Day])
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned();
            let inserted = txn.execute(&insert).await.map_err(store_error)?;
            (inserted.rows_affected() == 1).then(|| vec![(counted, 1)])
        };
        if let Some(changes) = recount {
            let mut update = kb_articles::Entity::update_many().filter(A::Id.eq(id));
            for (column, delta) in changes {
                update = update.col_expr(column, Expr::col(column).add(delta));
            }
            update.exec(&txn).await.map_err(store_error)?;
        }
        let row = kb_articles::Entity::find_by_id(id)
            .one(&txn)
            .await
            .map_err(store_error)?;
        let article = match row {
            Some(row) => with_tags(&txn, vec![row]).await?.pop(),
            None => None,
        };
        txn.commit().await.map_err(store_error)?;
        Ok(article)
    }
}
