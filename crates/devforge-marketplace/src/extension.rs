//! An extension's listing: what it is, who owns it, what it costs, and how it is doing.

use crate::name::ExtensionName;
use chrono::{DateTime, Utc};
use devforge_domain::{InvalidValue, UserId};

devforge_domain::uuid_id!(
    /// Identifies an extension.
    ExtensionId
);

/// What an extension is for (a fixed list, so filters mean the same for everyone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtCategory {
    /// Language support.
    Languages,
    /// Colour themes and icons.
    Themes,
    /// Linters and formatters.
    Linters,
    /// Debuggers.
    Debuggers,
    /// Snippets.
    Snippets,
    /// Source control.
    Scm,
    /// AI assistance.
    Ai,
    /// Anything else.
    Other,
}

impl ExtCategory {
    /// Every category.
    pub const ALL: [ExtCategory; 8] = [
        Self::Languages,
        Self::Themes,
        Self::Linters,
        Self::Debuggers,
        Self::Snippets,
        Self::Scm,
        Self::Ai,
        Self::Other,
    ];

    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Languages => "languages",
            Self::Themes => "themes",
            Self::Linters => "linters",
            Self::Debuggers => "debuggers",
            Self::Snippets => "snippets",
            Self::Scm => "scm",
            Self::Ai => "ai",
            Self::Other => "other",
        }
    }

    /// Parses a stable name.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `category`.
    pub fn parse(name: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| {
                InvalidValue::new(
                    "category",
                    "must be one of languages, themes, linters, debuggers, snippets, scm, ai, other",
                )
            })
    }
}

/// A tag: 1–30 characters of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// A de-duplicated, sorted list of at most 10 tags.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `tags`.
    pub fn parse_all(raw: &[String]) -> Result<Vec<Self>, InvalidValue> {
        let mut tags = Vec::with_capacity(raw.len());
        for tag in raw {
            let ok = (1..=30).contains(&tag.len())
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(InvalidValue::new(
                    "tags",
                    "each tag must be 1-30 characters of a-z, 0-9 and dashes",
                ));
            }
            tags.push(Self(tag.clone()));
        }
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

    /// Wraps a tag read back from storage.
    #[must_use]
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }
}

/// Checks an optional link: `http(s)://`, at most 300 characters, no white space.
///
/// # Errors
/// [`InvalidValue`] for `field`.
pub fn parse_url(field: &'static str, raw: Option<&str>) -> Result<Option<String>, InvalidValue> {
    let Some(url) = raw.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let ok = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() <= 300
        && url.len() > "https://".len()
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(Some(url.to_owned()))
    } else {
        Err(InvalidValue::new(
            field,
            "must be an http(s) URL of at most 300 characters",
        ))
    }
}

/// Checks a one-line text field: trimmed, `min..=max` characters, no control characters.
///
/// # Errors
/// [`InvalidValue`] for `field`.
pub fn parse_line(field: &'static str, raw: &str, max: usize) -> Result<String, InvalidValue> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(InvalidValue::new(
            field,
            format!("must be 1-{max} characters without control characters"),
        ));
    }
    Ok(text.to_owned())
}

/// What an extension costs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pricing {
    /// Anyone may download it.
    Free,
    /// Downloading needs an active license carrying this entitlement (e.g. `pro` or
    /// `ext:<name>`).
    Paid(String),
}

impl Pricing {
    /// A paid pricing for `entitlement` (1–64 characters of `[a-z0-9:._-]`).
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `entitlement`.
    pub fn paid(entitlement: &str) -> Result<Self, InvalidValue> {
        let ok = (1..=64).contains(&entitlement.len())
            && entitlement
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":._-".contains(&b));
        if ok {
            Ok(Self::Paid(entitlement.to_owned()))
        } else {
            Err(InvalidValue::new(
                "entitlement",
                "must be 1-64 characters of a-z, 0-9 and : . _ -",
            ))
        }
    }

    /// The entitlement a paid extension needs.
    #[must_use]
    pub fn entitlement(&self) -> Option<&str> {
        match self {
            Self::Free => None,
            Self::Paid(entitlement) => Some(entitlement),
        }
    }
}

/// An extension as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// Identifier.
    pub id: ExtensionId,
    /// Unique name (the id in URLs).
    pub name: ExtensionName,
    /// Shown name.
    pub display_name: String,
    /// What it does.
    pub description: String,
    /// Area.
    pub category: ExtCategory,
    /// Tags, sorted.
    pub tags: Vec<Tag>,
    /// Source code.
    pub repository_url: Option<String>,
    /// Home page.
    pub homepage_url: Option<String>,
    /// Free or paid.
    pub pricing: Pricing,
    /// The submitting account.
    pub owner: UserId,
    /// The highest approved, unyanked version: set once the extension is public.
    pub latest_version: Option<String>,
    /// When its latest public version was approved (`None` while it is not public).
    pub published_at: Option<DateTime<Utc>>,
    /// Downloads of all versions.
    pub downloads: u64,
    /// Sum of the ratings of its reviews.
    pub rating_sum: u64,
    /// Number of reviews.
    pub rating_count: u64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Metadata last changed.
    pub updated_at: DateTime<Utc>,
}

impl Extension {
    /// Whether everyone may see it: it has an approved, unyanked version.
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.latest_version.is_some()
    }

    /// The average rating, when it has reviews.
    #[must_use]
    pub fn rating_average(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        (self.rating_count > 0).then(|| self.rating_sum as f64 / self.rating_count as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::{ExtCategory, Pricing, Tag, parse_url};

    #[test]
    fn categories_tags_urls_and_prices_are_checked() {
        for category in ExtCategory::ALL {
            assert_eq!(ExtCategory::parse(category.as_str()), Ok(category));
        }
        assert!(ExtCategory::parse("games").is_err());
        assert!(Tag::parse_all(&["b".into(), "a".into(), "b".into()]).is_ok_and(|t| t.len() == 2));
        assert!(Tag::parse_all(&(0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()).is_err());
        assert!(Tag::parse_all(&["No Caps".into()]).is_err());
        assert_eq!(
            parse_url("homepage_url", Some(" https://x.dev ")),
            Ok(Some("https://x.dev".into()))
        );
        assert_eq!(parse_url("homepage_url", None), Ok(None));
        assert!(parse_url("homepage_url", Some("javascript:alert(1)")).is_err());
        assert!(parse_url("homepage_url", Some("https://a b")).is_err());
        assert_eq!(
            Pricing::paid("ext:rust-analyzer").map(|p| p.entitlement().map(str::to_owned)),
            Ok(Some("ext:rust-analyzer".into()))
        );
        assert!(Pricing::paid("Pro Plan").is_err());
    }
}
