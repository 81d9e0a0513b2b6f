//! Translation of driver errors into the domain's [`StoreError`].

use devforge_domain::StoreError;
use sea_orm::{DbErr, SqlErr};

/// Classifies a sea-orm error: unique violations become [`StoreError::Duplicate`],
/// foreign-key violations [`StoreError::MissingReference`],
/// connection problems [`StoreError::Unavailable`], everything else unexpected.
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
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => StoreError::Unavailable(Box::new(err)),
        other => StoreError::Unexpected(Box::new(other)),
    }
}

/// A stored value that no longer parses (e.g. an unknown role name): a broken invariant.
pub fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::unexpected(format!("stored {what} is invalid: {detail}"))
}
