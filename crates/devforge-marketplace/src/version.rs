//! Versions: an uploaded package, immutable once uploaded, reviewed before it is public.

use crate::extension::ExtensionId;
use chrono::{DateTime, Utc};
use devforge_domain::InvalidValue;

devforge_domain::uuid_id!(
    /// Identifies a version.
    VersionId
);

/// Where a version stands in the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReviewState {
    /// Waiting for an admin.
    Pending,
    /// Public (unless yanked).
    Approved,
    /// Refused, with a reason for the owner.
    Rejected,
}

impl ReviewState {
    /// The stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses a stable name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Approved, Self::Rejected]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// A semantic version, e.g. `1.2.0` or `2.0.0-beta.1`.
///
/// # Errors
/// [`InvalidValue`] for the field `version`.
pub fn parse_version(raw: &str) -> Result<semver::Version, InvalidValue> {
    let version = semver::Version::parse(raw.trim())
        .map_err(|e| InvalidValue::new("version", format!("must be a semantic version: {e}")))?;
    if version.to_string().len() > 64 {
        return Err(InvalidValue::new(
            "version",
            "must be at most 64 characters",
        ));
    }
    // Build metadata does not count for precedence: `1.0.0+b` is `1.0.0`.
    if !version.build.is_empty() {
        return Err(InvalidValue::new(
            "version",
            "must not carry build metadata (+...)",
        ));
    }
    Ok(version)
}

/// A range of compatible IDE versions, e.g. `>=1.80, <2`.
///
/// # Errors
/// [`InvalidValue`] for the field `engine`.
pub fn parse_engine(raw: &str) -> Result<semver::VersionReq, InvalidValue> {
    if raw.len() > 100 {
        return Err(InvalidValue::new(
            "engine",
            "must be at most 100 characters",
        ));
    }
    let range = semver::VersionReq::parse(raw.trim()).map_err(|e| {
        InvalidValue::new("engine", format!("must be a semantic version range: {e}"))
    })?;
    // Stored as written back, which can be longer than typed (`1` becomes `^1`).
    if range.to_string().len() > 100 {
        return Err(InvalidValue::new(
            "engine",
            "must be at most 100 characters",
        ));
    }
    Ok(range)
}

/// One version of an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtVersion {
    /// Identifier.
    pub id: VersionId,
    /// Its extension.
    pub extension_id: ExtensionId,
    /// The version.
    pub version: semver::Version,
    /// Compatible IDE versions.
    pub engine: semver::VersionReq,
    /// What changed.
    pub changelog: String,
    /// SHA-256 of the package, hex.
    pub sha256: String,
    /// Package size in bytes.
    pub size: u64,
    /// Review state.
    pub state: ReviewState,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// Yanked: downloadable by exact version, never the latest.
    pub yanked: bool,
    /// Downloads of this version.
    pub downloads: u64,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
    /// Approved (its publication time).
    pub published_at: Option<DateTime<Utc>>,
}

impl ExtVersion {
    /// Whether everyone may see it.
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.state == ReviewState::Approved && !self.yanked
    }
}

/// The highest public version among `versions`: the extension's latest.
#[must_use]
pub fn latest<'a>(versions: impl IntoIterator<Item = &'a ExtVersion>) -> Option<&'a ExtVersion> {
    versions
        .into_iter()
        .filter(|v| v.is_public())
        .max_by(|a, b| a.version.cmp(&b.version))
}

/// Where an extension stands for its owner.
#[must_use]
pub fn listing_state(versions: &[ExtVersion]) -> &'static str {
    if versions.iter().any(ExtVersion::is_public) {
        "public"
    } else if versions.iter().any(|v| v.state == ReviewState::Pending) {
        "pending"
    } else if versions.iter().any(|v| v.state == ReviewState::Rejected) {
        "rejected"
    } else if versions.is_empty() {
        "draft"
    } else {
        "yanked"
    }
}

#[cfg(test)]
mod tests {
    use super::{
        ExtVersion, ReviewState, VersionId, latest, listing_state, parse_engine, parse_version,
    };
    use crate::extension::ExtensionId;

    fn version(v: &str, state: ReviewState, yanked: bool) -> ExtVersion {
        ExtVersion {
            id: VersionId::generate(),
            extension_id: ExtensionId::generate(),
            version: parse_version(v).unwrap_or_else(|e| panic!("{e}")),
            engine: parse_engine("*").unwrap_or_else(|e| panic!("{e}")),
            changelog: String::new(),
            sha256: String::new(),
            size: 0,
            state,
            reject_reason: None,
            yanked,
            downloads: 0,
            created_at: chrono::Utc::now(),
            published_at: None,
        }
    }

    #[test]
    fn the_latest_is_the_highest_approved_unyanked_version_by_semver() {
        let versions = [
            version("1.10.0", ReviewState::Approved, false),
            version("1.9.0", ReviewState::Approved, false),
            version("2.0.0", ReviewState::Approved, true),
            version("3.0.0", ReviewState::Pending, false),
        ];
        assert_eq!(
            latest(&versions).map(|v| v.version.to_string()),
            Some("1.10.0".into())
        );
        assert_eq!(listing_state(&versions), "public");
        assert_eq!(listing_state(&versions[3..]), "pending");
        assert_eq!(listing_state(&[]), "draft");
    }

    #[test]
    fn versions_and_engines_are_semver() {
        assert!(parse_version("1.2.3-beta.1").is_ok());
        for bad in ["1.2", "v1.2.3", "latest", ""] {
            assert!(parse_version(bad).is_err(), "{bad}");
        }
        assert!(parse_engine(">=1.80, <2").is_ok());
        assert!(parse_version("1.0.0+build.5").is_err(), "build metadata");
        assert!(
            parse_engine(&vec!["1"; 32].join(",")).is_err(),
            "too long once written back"
        );
        assert!(parse_engine("about two").is_err());
    }
}
