//! Errors shared across layers.
//!
//! [`InvalidValue`] is what a value object's constructor returns; the API turns it into a
//! 422 naming the field. [`StoreError`] is the one error type every storage port returns,
//! so services can react to "already exists" without knowing which database said it.

use std::error::Error as StdError;

/// A value that breaks a rule of its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidValue {
    /// The input field the value came from (as the client named it).
    pub field: &'static str,
    /// What is wrong, in words a client can show.
    pub message: String,
}

impl InvalidValue {
    /// An error for `field` with a human-readable `message`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// What a storage port can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; `constraint` names which one (e.g. `users_email`).
    #[error("duplicate value for {constraint}")]
    Duplicate {
        /// The violated uniqueness rule.
        constraint: String,
    },
    /// A reference to another record that does not exist (a foreign key); `constraint`
    /// names which.
    #[error("missing referenced record for {constraint}")]
    MissingReference {
        /// The violated reference.
        constraint: String,
    },
    /// The storage could not be reached or timed out: worth retrying later.
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync>),
    /// Anything else: a bug or a broken invariant in storage.
    #[error("unexpected storage error")]
    Unexpected(#[source] Box<dyn StdError + Send + Sync>),
}

impl StoreError {
    /// Wraps an unexpected error with a message saying what was being done.
    pub fn unexpected(context: impl Into<String>) -> Self {
        Self::Unexpected(context.into().into())
    }
}
