//! Logging setup. The request middleware opens a span per request carrying its id, so both
//! formats show `request_id` on every line written while serving it.

use crate::settings::LogFormat;
use tracing_subscriber::EnvFilter;

/// Targets quieter than the rest unless the filter names them: the database driver's
/// per-statement logs, and actix-http's connection errors, which any client can cause at
/// will (a malformed request head, an oversized one, a reset connection) and which it
/// reports at ERROR. What the server itself fails at is logged by its own code.
const QUIETER: [(&str, &str); 3] = [
    ("sqlx", "warn"),
    ("sea_orm", "warn"),
    ("actix_http::h1::dispatcher", "off"),
];

/// Installs the global subscriber. `filter` uses `tracing` directive syntax; the targets
/// of `QUIETER` keep their quieter level unless the filter names them.
pub fn init(format: LogFormat, filter: &str) {
    let directives = directives(filter);
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
    // A subscriber is already installed when the server runs embedded (tests): keep it.
    drop(result);
}

/// `filter` with the quieter levels of [`QUIETER`] added for the crates it does not name.
fn directives(filter: &str) -> String {
    let mut directives = filter.to_owned();
    for (noisy, level) in QUIETER {
        let crate_name = noisy.split("::").next().unwrap_or(noisy);
        if !filter.contains(crate_name) {
            directives.push_str(&format!(",{noisy}={level}"));
        }
    }
    directives
}

#[cfg(test)]
mod tests {
    use super::directives;

    #[test]
    fn client_caused_connection_errors_stay_out_of_the_log_unless_asked_for() {
        assert_eq!(
            directives("info"),
            "info,sqlx=warn,sea_orm=warn,actix_http::h1::dispatcher=off"
        );
        let asked = directives("info,actix_http=debug");
        assert!(!asked.contains("dispatcher=off"), "{asked}");
        assert!(asked.ends_with("sqlx=warn,sea_orm=warn"), "{asked}");
    }
}
