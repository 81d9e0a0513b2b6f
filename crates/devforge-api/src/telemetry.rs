//! Logging setup. The request middleware opens a span per request carrying its id, so both
//! formats show `request_id` on every line written while serving it.

use crate::settings::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `filter` uses `tracing` directive syntax; the database
/// driver's per-statement logs stay at `warn` unless the filter names them.
pub fn init(format: LogFormat, filter: &str) {
    let mut directives = filter.to_owned();
    for noisy in ["sqlx", "sea_orm"] {
        if !filter.contains(noisy) {
            directives.push_str(&format!(",{noisy}=warn"));
        }
    }
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
    // A subscriber is already installed when the server runs embedded (tests): keep it.
    drop(result);
}
