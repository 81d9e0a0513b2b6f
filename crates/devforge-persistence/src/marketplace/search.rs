//! Public listings: filters, sorting, and ranked full text with prefix matching.
//!
//! Ranking follows one rule on both databases: the extension whose name is exactly what was
//! typed comes first; then matches in the name and display name weigh most, then tags, then
//! the description (PostgreSQL: weights A, A, B, C under `ts_rank`; SQLite: bm25 with
//! weights 10, 10, 4, 1); then downloads, then the name. Every term matches as a prefix, so
//! `rust-an` finds `rust-analyzer` while it is being typed.
//!
//! The reported total is capped ([`COUNT_CAP`], [`QUERY_COUNT_CAP`]): counting every match
//! of a broad query would cost more than the page itself. A page short of full is the
//! last one and tells the total without a count.

use super::to_extensions;
use crate::entities::extensions;
use crate::error::store_error;
use crate::search_sql::{
    Params, count_rows, fts5_prefix_match, postgres_prefix_text, postgres_typing_text,
};
use devforge_domain::{Page, PageRequest, StoreError};
use devforge_marketplace::extension::Extension;
use devforge_marketplace::name::ExtensionName;
use devforge_marketplace::ports::{ExtSort, ExtensionSearch};
use sea_orm::{
    DatabaseConnection, DbBackend, EntityTrait, IdenStatic as _, Iterable as _, Statement,
};
use std::sync::LazyLock;

/// Counting stops here: listings report at most this many results (a full count of a
/// broad match costs as much as reading every row of it, on every page request).
pub(crate) const COUNT_CAP: u64 = 10_000;
/// The same for full-text queries, whose matches are read from the heap one by one.
pub(crate) const QUERY_COUNT_CAP: u64 = 1_000;

/// The listing's own columns, as `e.column, …` (not `e.*`, which would also ship the
/// stored `tsvector` on PostgreSQL); built once.
static LISTING_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    extensions::Column::iter()
        .map(|column| format!("e.{}", column.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
});

/// The ORDER BY of a sort other than relevance.
fn order_of(sort: ExtSort) -> &'static str {
    match sort {
        ExtSort::Relevance | ExtSort::Downloads => "e.downloads DESC, e.name",
        ExtSort::Rating => {
            "CASE WHEN e.rating_count = 0 THEN 0 ELSE CAST(e.rating_sum AS REAL) / e.rating_count END DESC, \
             e.rating_count DESC, e.name"
        }
        ExtSort::Newest => "e.latest_published_at DESC, e.name",
        ExtSort::Name => "e.name",
    }
}

/// `FROM … WHERE …` and the ORDER BY for `search`, binding its values into `params` in
/// the order they appear in the SQL (SQLite's `?` placeholders are positional).
fn clauses(
    backend: DbBackend,
    search: &ExtensionSearch,
    params: &mut Params,
    with_order: bool,
) -> (String, String) {
    let mut filters = vec!["e.latest_version IS NOT NULL".to_owned()];
    let mut tsquery = None;
    let from = match (&search.query, backend) {
        (Some((query, _)), DbBackend::Postgres) => {
            let english = (!query.terms().is_empty()).then(|| {
                format!(
                    "to_tsquery('english', {})",
                    params.bind(postgres_prefix_text(query))
                )
            });
            let typing = postgres_typing_text(query)
                .map(|text| format!("to_tsquery('simple', {})", params.bind(text)));
            let combined = english
                .into_iter()
                .chain(typing)
                .collect::<Vec<_>>()
                .join(" && ");
            filters.push(format!("e.search @@ ({combined})"));
            tsquery = Some(combined);
            "FROM extensions e"
        }
        (Some((query, _)), _) => {
            filters.push(format!(
                "extension_search MATCH {}",
                params.bind(fts5_prefix_match(query))
            ));
            "FROM extension_search s JOIN extensions e ON e.id = s.extension_id"
        }
        (None, _) => "FROM extensions e",
    };
    if let Some(category) = search.category {
        filters.push(format!("e.category = {}", params.bind(category.as_str())));
    }
    if let Some(tag) = &search.tag {
        // The tag rows carry the category: the index on (tag, category) yields exactly
        // the listings asked for, however rarely the two meet. The category stays on the
        // listing too, which also steers the planner to start from the tags.
        let mut tagged = format!("t.tag = {}", params.bind(tag.as_str()));
        if let Some(category) = search.category {
            tagged.push_str(&format!(
                " AND t.category = {}",
                params.bind(category.as_str())
            ));
        }
        filters.push(format!(
            "e.id IN (SELECT t.extension_id FROM extension_tags t WHERE {tagged})"
        ));
    }
    let order = match (&search.query, search.sort) {
        _ if !with_order => String::new(),
        (Some((_, raw)), ExtSort::Relevance) => {
            // Only a text that could be a name is compared with names (and bound).
            let exact = match ExtensionName::parse(raw) {
                Ok(name) => params.bind(name.as_str().to_owned()),
                Err(_) => "NULL".to_owned(),
            };
            // PostgreSQL's placeholders are numbered: the query text is used again as is.
            let rank = match &tsquery {
                Some(tsquery) => format!("ts_rank(e.search, ({tsquery})) DESC"),
                None => "bm25(extension_search, 0.0, 10.0, 10.0, 4.0, 1.0)".to_owned(),
            };
            format!("(e.name = {exact}) DESC, {rank}, e.downloads DESC, e.name")
        }
        (_, sort) => order_of(sort).to_owned(),
    };
    (format!("{from} WHERE {}", filters.join(" AND ")), order)
}

pub(super) async fn search(
    db: &DatabaseConnection,
    search: ExtensionSearch,
    page: PageRequest,
) -> Result<Page<Extension>, StoreError> {
    if search
        .query
        .as_ref()
        .is_some_and(|(query, _)| query.is_empty())
    {
        return Ok(Page {
            items: Vec::new(),
            request: page,
            total: 0,
        });
    }
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let (from, order) = clauses(backend, &search, &mut params, true);
    let limit = params.bind(i64::try_from(page.per_page()).unwrap_or(i64::MAX));
    let offset = params.bind(i64::try_from(page.offset()).unwrap_or(i64::MAX));
    let columns = &*LISTING_COLUMNS;
    let sql = format!("SELECT {columns} {from} ORDER BY {order} LIMIT {limit} OFFSET {offset}");
    let rows = extensions::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(
            backend,
            sql,
            params.into_values(),
        ))
        .all(db)
        .await
        .map_err(store_error)?;
    let total = match total_from_page(page, rows.len()) {
        Some(total) => total,
        None => count(db, &search).await?,
    };
    Ok(Page {
        items: to_extensions(rows)?,
        request: page,
        total,
    })
}

/// The total, when the page itself tells it: a page that is neither full nor past the end
/// holds the last results.
fn total_from_page(page: PageRequest, found: usize) -> Option<u64> {
    let found = u64::try_from(found).ok()?;
    let last_page = found < page.per_page() && (found > 0 || page.offset() == 0);
    last_page.then(|| page.offset() + found)
}

/// How many listings match `search`, counted up to a cap.
async fn count(db: &DatabaseConnection, search: &ExtensionSearch) -> Result<u64, StoreError> {
    let backend = db.get_database_backend();
    let mut params = Params::new(backend);
    let (from, _) = clauses(backend, search, &mut params, false);
    let cap = if search.query.is_some() {
        QUERY_COUNT_CAP
    } else {
        COUNT_CAP
    };
    count_rows(
        db,
        format!("SELECT COUNT(*) AS total FROM (SELECT 1 {from} LIMIT {cap}) capped"),
        params,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::total_from_page;
    use devforge_domain::PageRequest;

    fn page(number: u64, per_page: u64) -> PageRequest {
        PageRequest::new(Some(number), Some(per_page)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_page_short_of_full_is_the_last_one() {
        assert_eq!(total_from_page(page(1, 20), 0), Some(0), "nothing matches");
        assert_eq!(total_from_page(page(1, 20), 7), Some(7));
        assert_eq!(total_from_page(page(3, 20), 5), Some(45));
    }

    #[test]
    fn a_full_or_empty_later_page_needs_a_count() {
        assert_eq!(total_from_page(page(1, 20), 20), None, "more may follow");
        assert_eq!(
            total_from_page(page(4, 20), 0),
            None,
            "past the end: how far?"
        );
    }
}
