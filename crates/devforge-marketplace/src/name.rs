//! Extension names, and the squatting rule that keeps look-alike names apart.

use devforge_domain::InvalidValue;

/// An extension's name: 3–64 characters of `[a-z0-9-]`, starting with a letter. It is the
/// id in URLs and never changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtensionName(String);

impl ExtensionName {
    /// Parses a name.
    ///
    /// # Errors
    /// [`InvalidValue`] for the field `name`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let ok = (3..=64).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidValue::new(
                "name",
                "must be 3-64 characters of a-z, 0-9 and dashes, starting with a letter",
            ))
        }
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name without dashes: what look-alike names are compared on.
    #[must_use]
    pub fn normalized(&self) -> String {
        normalize(&self.0)
    }

    /// Wraps a name read back from storage.
    #[must_use]
    pub fn from_trusted(text: String) -> Self {
        Self(text)
    }

    /// Whether `self` is too close to `existing` (someone else's) to be told apart: equal
    /// once dashes are removed, or one edit apart.
    #[must_use]
    pub fn too_similar_to(&self, existing: &str) -> bool {
        strsim::levenshtein(&self.normalized(), &normalize(existing)) <= 1
    }
}

/// `name` without dashes.
#[must_use]
pub fn normalize(name: &str) -> String {
    name.chars().filter(|c| *c != '-').collect()
}

impl std::fmt::Display for ExtensionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ExtensionName;

    #[test]
    fn names_are_lowercase_words_starting_with_a_letter() {
        for good in ["rust-analyzer", "abc", "x11-tools", &"a".repeat(64)] {
            assert!(ExtensionName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ab",
            "1password",
            "-lead",
            "Upper",
            "with space",
            "emoji-🦀",
            &"a".repeat(65),
        ] {
            assert!(ExtensionName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn look_alike_names_are_too_similar() {
        let name = |n| ExtensionName::parse(n).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            name("rustanalyzer").too_similar_to("rust-analyzer"),
            "dashes removed"
        );
        assert!(
            name("rust-analyser").too_similar_to("rust-analyzer"),
            "one substitution"
        );
        assert!(
            name("rust-analyzers").too_similar_to("rust-analyzer"),
            "one insertion"
        );
        assert!(
            name("rst-analyzer").too_similar_to("rust-analyzer"),
            "one deletion"
        );
        assert!(!name("rust-analyzer-pro").too_similar_to("rust-analyzer"));
        assert!(!name("go-analyzer").too_similar_to("rust-analyzer"));
    }
}
