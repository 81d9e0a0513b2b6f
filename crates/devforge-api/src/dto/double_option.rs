//! Telling "field absent" from "field null" in PATCH-like bodies: `Option<Option<T>>`,
//! where `None` is absent and `Some(None)` is an explicit `null`.

use serde::{Deserialize, Deserializer};

/// Use with `#[serde(default, deserialize_with = "double_option::deserialize")]`.
///
/// # Errors
/// When the value is neither null nor a `T`.
pub fn deserialize<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
