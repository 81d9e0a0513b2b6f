//! Knowledge-base articles: their value types, revisions and reader feedback.

use chrono::{DateTime, Utc};
use devforge_domain::Snippet;
use devforge_domain::{InvalidValue, UserId};

devforge_domain::uuid_id!(
    /// Identifies an article.
    ArticleId
);

/// An article's URL name: 3–100 characters of `[a-z0-9-]`, starting with a letter or
/// digit, no leading, trailing or doubled dashes. Fixed once created, so links stay valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `slug`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok = (3..=100).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-')
            && !raw.ends_with('-')
            && !raw.contains("--");
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(
                "slug",
                "must be 3-100 characters of a-z, 0-9 and single inner dashes",
            ))
        }
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A category or tag: 1–40 characters of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(String);

impl Label {
    /// Parses a label for the input field `field`.
    ///
    /// # Errors
    /// [`InvalidValue`] for `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, InvalidValue> {
        let ok = (1..=40).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(
                field,
                "must be 1-40 characters of a-z, 0-9 and dashes",
            ))
        }
    }

    /// A de-duplicated, sorted tag list of at most 10.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `tags`.
    pub fn parse_tags(raw: &[String]) -> Result<Vec<Self>, InvalidValue> {
        let mut tags = raw
            .iter()
            .map(|tag| Self::parse("tags", tag))
            .collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        if tags.len() > 10 {
            return Err(InvalidValue::new("tags", "at most 10 tags"));
        }
        Ok(tags)
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps text read back from storage.
    #[must_use]
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }
}

/// An article's title (1–200 characters) and Markdown body (1–100,000 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleText {
    /// The title, trimmed.
    pub title: String,
    /// The body, as written.
    pub body: String,
}

impl ArticleText {
    /// The longest body, in characters.
    pub const MAX_BODY_CHARS: usize = 100_000;

    /// Checks a title and body.
    ///
    /// # Errors
    /// [`InvalidValue`] for `title` or `body`.
    pub fn parse(title: &str, body: &str) -> Result<Self, InvalidValue> {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
            return Err(InvalidValue::new(
                "title",
                "must be 1-200 characters without control characters",
            ));
        }
        if body.trim().is_empty()
            || body.chars().count() > Self::MAX_BODY_CHARS
            || body.contains('\0')
        {
            return Err(InvalidValue::new(
                "body",
                format!("must be 1-{} characters without NUL", Self::MAX_BODY_CHARS),
            ));
        }
        Ok(Self {
            title: title.to_owned(),
            body: body.to_owned(),
        })
    }
}

/// Who may see an article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArticleStatus {
    /// Staff only, being written.
    Draft,
    /// Everyone.
    Published,
    /// Staff only, retired.
    Archived,
}

impl ArticleStatus {
    /// Every status.
    pub const ALL: [ArticleStatus; 3] = [Self::Draft, Self::Published, Self::Archived];

    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Archived => "archived",
        }
    }

    /// Parses a stable name.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `status`.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| InvalidValue::new("status", "must be one of draft, published, archived"))
    }
}

/// An article as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    /// Identifier.
    pub id: ArticleId,
    /// URL name.
    pub slug: Slug,
    /// Current title and body.
    pub text: ArticleText,
    /// Area.
    pub category: Label,
    /// Tags, sorted.
    pub tags: Vec<Label>,
    /// Visibility.
    pub status: ArticleStatus,
    /// Who created it.
    pub author: UserId,
    /// Number of the current revision (1 for a new article).
    pub revision: u32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// First published.
    pub published_at: Option<DateTime<Utc>>,
    /// Times read.
    pub views: u64,
    /// "Was this helpful?" yes votes.
    pub helpful_yes: u64,
    /// ... and no votes.
    pub helpful_no: u64,
}

/// A search or listing result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleHit {
    /// The article.
    pub article: Article,
    /// For searches: the best-matching excerpt of the body.
    pub snippet: Option<Snippet>,
}

/// A stored version of an article's title and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// 1, 2, ...
    pub number: u32,
    /// Title and body as they were.
    pub text: ArticleText,
    /// Who wrote this version.
    pub author: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A change to an article: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticlePatch {
    /// New title and body (both, merged by the service); stores a revision.
    pub text: Option<ArticleText>,
    /// New category.
    pub category: Option<Label>,
    /// New tags.
    pub tags: Option<Vec<Label>>,
    /// New status.
    pub status: Option<ArticleStatus>,
}

/// Who gives feedback: one vote per account, or per anonymous client per day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Voter {
    /// A logged-in account.
    User(UserId),
    /// An anonymous client (an opaque key derived from its address) on a day.
    Anonymous {
        /// Opaque client key.
        client: String,
        /// The UTC day the vote counts for.
        day: chrono::NaiveDate,
    },
}

#[cfg(test)]
mod tests {
    use super::{ArticleStatus, ArticleText, Label, Slug};

    #[test]
    fn slugs_are_lowercase_words_joined_by_single_dashes() {
        for good in ["install-on-linux", "faq", "2fa-setup"] {
            assert!(Slug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "-lead",
            "trail-",
            "dou--ble",
            "Upper",
            "sp ace",
            &"a".repeat(101),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_sorted_deduplicated_and_limited() {
        let tags = Label::parse_tags(&["b".into(), "a".into(), "b".into()]);
        assert_eq!(
            tags.map(|t| t.iter().map(|l| l.as_str().to_owned()).collect::<Vec<_>>()),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
        assert!(Label::parse_tags(&eleven).is_err());
        assert!(Label::parse_tags(&["Bad Tag".into()]).is_err());
    }

    #[test]
    fn text_and_status_are_checked() {
        assert!(ArticleText::parse(" ", "body").is_err());
        assert!(ArticleText::parse("Title", "  ").is_err());
        assert!(ArticleText::parse("Title", "body").is_ok());
        assert!(ArticleText::parse("Title", "nul\0").is_err());
        assert!(ArticleStatus::parse("deleted").is_err());
        for status in ArticleStatus::ALL {
            assert_eq!(ArticleStatus::parse(status.as_str()), Ok(status));
        }
    }
}
