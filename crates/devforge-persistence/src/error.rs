//! Translation of driver errors into the domain's [`StoreError`].
//!
//! What matters most is the line between [`StoreError::Unavailable`] (the database went
//! away or is overloaded: the caller answers 503 and may retry) and
//! [`StoreError::Unexpected`] (a bug: 500). A PostgreSQL restart ends connections in
//! mid-query with SQLSTATE `57P01`, and a dropped socket surfaces as an I/O error of the
//! query, not of the connection: both are outages, not bugs.

use devforge_domain::StoreError;
use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Classifies a sea-orm error: unique violations become [`StoreError::Duplicate`],
/// foreign-key violations [`StoreError::MissingReference`], a lost, refused or busy
/// database [`StoreError::Unavailable`], everything else unexpected.
pub fn store_error(err: DbErr) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(detail)) => {
            return StoreError::Duplicate { constraint: detail };
        }
        Some(SqlErr::ForeignKeyConstraintViolation(detail)) => {
            return StoreError::MissingReference { constraint: detail };
        }
        _ => {}
    }
    if is_unavailable(&err) {
        StoreError::Unavailable(Box::new(err))
    } else {
        StoreError::Unexpected(Box::new(err))
    }
}

/// Whether `err` says the database cannot serve now rather than that the request is wrong.
fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(cause)) | DbErr::Query(RuntimeErr::SqlxError(cause)) => {
            is_sqlx_unavailable(cause)
        }
        _ => false,
    }
}

fn is_sqlx_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_outage_code(&code)),
        _ => false,
    }
}

/// SQLSTATEs of a PostgreSQL that is going away or full (class 08 connection exceptions,
/// `57P01` admin shutdown, `57P02` crash shutdown, `57P03` cannot connect now, `53300`
/// too many connections), and SQLite's busy and locked codes (5 and 6, with their
/// extended forms), which its busy timeout already waited out.
fn is_outage_code(code: &str) -> bool {
    if code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300") {
        return true;
    }
    code.parse::<u32>()
        .is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6))
}

/// A stored value that no longer parses (e.g. an unknown role name): a broken invariant.
pub fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::unexpected(format!("stored {what} is invalid: {detail}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn query_error(cause: sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(cause)))
    }

    #[test]
    fn a_lost_connection_in_mid_query_is_an_outage_not_a_bug() {
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        for err in [
            query_error(sqlx::Error::Io(reset)),
            query_error(sqlx::Error::Protocol("unexpected end of stream".into())),
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(sqlx::Error::PoolClosed))),
            DbErr::ConnectionAcquire(sea_orm::error::ConnAcquireErr::Timeout),
        ] {
            assert!(
                matches!(store_error(err), StoreError::Unavailable(_)),
                "should be unavailable"
            );
        }
    }

    #[test]
    fn shutdown_and_busy_codes_are_outages_and_others_are_not() {
        for code in [
            "57P01", "57P02", "57P03", "08006", "08003", "53300", "5", "517", "6",
        ] {
            assert!(is_outage_code(code), "{code}");
        }
        for code in ["23505", "42P01", "22001", "19", "1", "2067", "40001"] {
            assert!(!is_outage_code(code), "{code}");
        }
    }

    #[test]
    fn errors_of_the_request_itself_stay_unexpected() {
        for err in [
            query_error(sqlx::Error::RowNotFound),
            query_error(sqlx::Error::ColumnNotFound("x".into())),
            DbErr::Custom("broken invariant".into()),
            DbErr::RecordNotFound("x".into()),
        ] {
            assert!(matches!(store_error(err), StoreError::Unexpected(_)));
        }
    }
}
