//! Each engine's spelling of a [`SearchQuery`], and placeholders for hand-written SQL.
//!
//! Terms are lower-case alphanumerics (the domain guarantees it), so neither spelling can
//! carry query syntax; they are still passed as bound values, never spliced into SQL.

use crate::error::store_error;
use devforge_domain::StoreError;
use devforge_domain::search::SearchQuery;
use sea_orm::{DatabaseConnection, DbBackend, FromQueryResult, Statement, Value};

/// PostgreSQL: the text for `plainto_tsquery('english', …)`, which ANDs the stemmed terms.
pub(crate) fn postgres_text(query: &SearchQuery) -> String {
    query.terms().join(" ")
}

/// SQLite FTS5: every term as a quoted string, which FTS5 ANDs (and stems with Porter).
pub(crate) fn fts5_match(query: &SearchQuery) -> String {
    query
        .terms()
        .iter()
        .map(|term| format!("\"{term}\""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// PostgreSQL: a `to_tsquery('english', …)` text matching every term as a prefix (for
/// search-as-you-type: `rust an` finds `rust-analyzer`).
pub(crate) fn postgres_prefix_text(query: &SearchQuery) -> String {
    query
        .terms()
        .iter()
        .map(|term| format!("{term}:*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// PostgreSQL: the `to_tsquery('simple', …)` text for a stop word being typed (the
/// `english` configuration would drop it), matched as a plain prefix of the stemmed words.
pub(crate) fn postgres_typing_text(query: &SearchQuery) -> Option<String> {
    query.typing().map(|word| format!("{word}:*"))
}

/// SQLite FTS5: every term (and a stop word being typed) as a quoted prefix.
pub(crate) fn fts5_prefix_match(query: &SearchQuery) -> String {
    query
        .terms()
        .iter()
        .map(String::as_str)
        .chain(query.typing())
        .map(|term| format!("\"{term}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds a hand-written statement's values alongside its text, numbering placeholders
/// the way the backend wants them (`$1` on PostgreSQL, `?` on SQLite).
pub(crate) struct Params {
    backend: DbBackend,
    values: Vec<Value>,
}

impl Params {
    pub(crate) fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            values: Vec::new(),
        }
    }

    /// Binds `value` and returns its placeholder.
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_owned(),
        }
    }

    pub(crate) fn into_values(self) -> Vec<Value> {
        self.values
    }
}

#[derive(Debug, FromQueryResult)]
struct Total {
    total: i64,
}

/// Runs `sql`, a `SELECT COUNT(*) AS total …` over `params`, and returns the count.
pub(crate) async fn count_rows(
    db: &DatabaseConnection,
    sql: String,
    params: Params,
) -> Result<u64, StoreError> {
    let total = Total::find_by_statement(Statement::from_sql_and_values(
        params.backend,
        sql,
        params.into_values(),
    ))
    .one(db)
    .await
    .map_err(store_error)?;
    Ok(total.map_or(0, |t| u64::try_from(t.total).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::{
        Params, fts5_match, fts5_prefix_match, postgres_prefix_text, postgres_text,
        postgres_typing_text,
    };
    use devforge_domain::SearchQuery;
    use sea_orm::DbBackend;

    #[test]
    fn queries_are_spelled_for_each_engine() -> Result<(), devforge_domain::InvalidValue> {
        let query = SearchQuery::parse("Installing plugins offline")?;
        assert_eq!(postgres_text(&query), "installing plugins offline");
        assert_eq!(fts5_match(&query), "\"installing\" \"plugins\" \"offline\"");
        let typed = SearchQuery::parse_typing("rust-analy")?;
        assert_eq!(postgres_prefix_text(&typed), "rust:* & analy:*");
        assert_eq!(fts5_prefix_match(&typed), "\"rust\"* \"analy\"*");
        let stop = SearchQuery::parse_typing("rust-an")?;
        assert_eq!(postgres_prefix_text(&stop), "rust:*");
        assert_eq!(postgres_typing_text(&stop), Some("an:*".to_owned()));
        assert_eq!(fts5_prefix_match(&stop), "\"rust\"* \"an\"*");
        Ok(())
    }

    #[test]
    fn placeholders_follow_the_backend() {
        let mut postgres = Params::new(DbBackend::Postgres);
        assert_eq!(
            (postgres.bind(1_i64), postgres.bind("a")),
            ("$1".into(), "$2".into())
        );
        let mut sqlite = Params::new(DbBackend::Sqlite);
        assert_eq!(
            (sqlite.bind(1_i64), sqlite.bind("a")),
            ("?".into(), "?".into())
        );
        assert_eq!(sqlite.into_values().len(), 2);
    }
}
