//! `ensure!`: a scenario's checks, failing it with a message instead of panicking, so the
//! run goes on to the next scenario and reports every failure.

/// Fails the scenario with the formatted message unless `condition` holds.
macro_rules! ensure {
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            return Err(format!($($message)+));
        }
    };
}

pub(crate) use ensure;

/// The text of a JSON string field ("" when absent).
pub(crate) fn text(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}
