//! Article lists: filters, and ranked full text with highlighted snippets.
//!
//! Ranking follows one rule on both databases: matches in the title weigh more than
//! matches in the body (PostgreSQL: title weight A, body B under `ts_rank`; SQLite: bm25
//! with the title weighted 10 to the body's 1), then the most recently published first,
//! then by slug, so equal ranks still list in a stable order.

use super::articles::with_tags;
use crate::entities::kb_articles;
use crate::error::store_error;
use crate::search_sql::{Params, count_rows, fts5_match, headline_options, postgres_text};
use devforge_domain::{Page, PageRequest, StoreError};
use devforge_domain::{SearchQuery, Snippet};
use devforge_support::ArticleHit;
use devforge_support::ports::ArticleFilter;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, Statement,
};

#[derive(Debug, FromQueryResult)]
struct HitRow {
    #[sea_orm(nested)]
    article: kb_articles::Model,
    snippet: Option<String>,
}

/// The filter's conditions other than the text, as SQL over the alias `a`.
fn conditions(filter: &ArticleFilter, params: &mut Params) -> String {
    let mut sql = String::new();
    if let Some(status) = filter.status {
        sql.push_str(&format!(" AND a.status = {}", params.bind(status.as_str())));
    }
    if let Some(category) = &filter.category {
        sql.push_str(&format!(
            " AND a.category = {}",
            params.bind(category.as_str())
        ));
    }
    if let Some(tag) = &filter.tag {
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM kb_article_tags t WHERE t.article_id = a.id AND t.tag = {})",
            params.bind(tag.as_str())
        ));
    }
    sql
}

/// `FROM … WHERE …` of a ranked search, and the ORDER BY that ranks it. With `snippet`,
/// SQLite's snippet markers are bound first, as they come first in the SELECT list
/// (SQLite's `?` placeholders are positional); a count query binds none.
fn search_clauses(
    backend: DbBackend,
    query: &SearchQuery,
    filter: &ArticleFilter,
    params: &mut Params,
    snippet: bool,
) -> (String, String, String) {
    match backend {
        DbBackend::Postgres => {
            let text = params.bind(postgres_text(query));
            let options = params.bind(headline_options());
            let tsquery = format!("plainto_tsquery('english', {text})");
            let from = format!(
                "FROM kb_articles a WHERE a.search @@ {tsquery}{}",
                conditions(filter, params)
            );
            let snippet = format!("ts_headline('english', a.body, {tsquery}, {options})");
            let order = format!(
                "ts_rank(a.search, {tsquery}) DESC, a.published_at DESC NULLS LAST, a.slug"
            );
            (from, snippet, order)
        }
        _ => {
            let (start, end) = if snippet {
                (
                    params.bind(devforge_domain::search::MATCH_START.to_string()),
                    params.bind(devforge_domain::search::MATCH_END.to_string()),
                )
            } else {
                (String::new(), String::new())
            };
            let matched = params.bind(fts5_match(query));
            let from = format!(
                "FROM kb_search s JOIN kb_articles a ON a.id = s.article_id \
                 WHERE kb_search MATCH {matched}{}",
                conditions(filter, params)
            );
            let snippet = format!("snippet(kb_search, 2, {start}, {end}, '…', 24)");
            let order = "bm25(kb_search, 0.0, 10.0, 1.0), a.published_at DESC, a.slug".to_owned();
            (from, snippet, order)
        }
    }
}

async fn search(
    db: &DatabaseConnection,
    query: &SearchQuery,
    filter: &ArticleFilter,
    page: PageRequest,
) -> Result<Page<ArticleHit>, StoreError> {
    if query.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            request: page,
            total: 0,
        });
    }
    let backend = db.get_database_backend();
    let mut count_params = Params::new(backend);
    let (from, _, _) = search_clauses(backend, query, filter, &mut count_params, false);
    let total = count_rows(db, format!("SELECT COUNT(*) AS total {from}"), count_params).await?;

    let mut params = Params::new(backend);
    let (from, snippet, order) = search_clauses(backend, query, filter, &mut params, true);
    let limit = params.bind(i64::try_from(page.per_page()).unwrap_or(i64::MAX));
    let offset = params.bind(i64::try_from(page.offset()).unwrap_or(i64::MAX));
    let sql = format!(
        "SELECT a.id, a.slug, a.title, a.body, a.category, a.status, a.author_id, a.revision, \
         a.created_at, a.updated_at, a.published_at, a.views, a.helpful_yes, a.helpful_no, \
         {snippet} AS snippet {from} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    );
    let rows = HitRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        params.into_values(),
    ))
    .all(db)
    .await
    .map_err(store_error)?;
    let snippets: Vec<Option<String>> = rows.iter().map(|row| row.snippet.clone()).collect();
    let articles = with_tags(db, rows.into_iter().map(|row| row.article).collect()).await?;
    let items = articles
        .into_iter()
        .zip(snippets)
        .map(|(article, snippet)| ArticleHit {
            article,
            snippet: snippet.as_deref().map(Snippet::from_marked),
        })
        .collect();
    Ok(Page {
        items,
        request: page,
        total,
    })
}

pub(super) async fn list(
    db: &DatabaseConnection,
    filter: ArticleFilter,
    page: PageRequest,
) -> Result<Page<ArticleHit>, StoreError> {
    if let Some(query) = &filter.query {
        return search(db, query, &filter, page).await;
    }
    use kb_articles::Column as C;
    let mut select = kb_articles::Entity::find()
        .order_by_desc(C::PublishedAt)
        .order_by_desc(C::CreatedAt)
        .order_by_asc(C::Slug);
    if let Some(status) = filter.status {
        select = select.filter(C::Status.eq(status.as_str()));
    }
    if let Some(category) = &filter.category {
        select = select.filter(C::Category.eq(category.as_str()));
    }
    if let Some(tag) = &filter.tag {
        use crate::entities::kb_article_tags as tags;
        let tagged = sea_orm::sea_query::Query::select()
            .column(tags::Column::ArticleId)
            .from(tags::Entity)
            .and_where(tags::Column::Tag.eq(tag.as_str()))
            .to_owned();
        select = select.filter(C::Id.in_subquery(tagged));
    }
    let page = crate::paging::fetch_page(db, select, page, Ok).await?;
    let request = page.request;
    let total = page.total;
    let articles = with_tags(db, page.items).await?;
    Ok(Page {
        items: articles
            .into_iter()
            .map(|article| ArticleHit {
                article,
                snippet: None,
            })
            .collect(),
        request,
        total,
    })
}
