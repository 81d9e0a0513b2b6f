//! Ratings and reviews: one per user per extension.

use crate::extension::ExtensionId;
use chrono::{DateTime, Utc};
use devforge_domain::{InvalidValue, UserId};

devforge_domain::uuid_id!(
    /// Identifies a review.
    ReviewId
);

/// A rating from 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(u8);

impl Rating {
    /// Parses a rating.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `rating`.
    pub fn new(value: i64) -> Result<Self, InvalidValue> {
        u8::try_from(value)
            .ok()
            .filter(|v| (1..=5).contains(v))
            .map(Self)
            .ok_or_else(|| InvalidValue::new("rating", "must be between 1 and 5"))
    }

    /// The value.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }
}

/// A review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    /// Identifier.
    pub id: ReviewId,
    /// The extension.
    pub extension_id: ExtensionId,
    /// The reviewer.
    pub author: UserId,
    /// 1–5.
    pub rating: Rating,
    /// Optional headline (≤ 100 characters).
    pub title: Option<String>,
    /// Optional text (≤ 5,000 characters).
    pub body: Option<String>,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Last edited.
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::Rating;

    #[test]
    fn ratings_are_one_to_five() {
        assert!(Rating::new(1).is_ok() && Rating::new(5).is_ok());
        for bad in [0, 6, -1, 300] {
            assert!(Rating::new(bad).is_err(), "{bad}");
        }
    }
}
