//! Secrets that default to "generated once, kept in the data directory", so a fresh
//! install is secure without configuration and stays stable across restarts.

use rand::RngCore as _;
use std::io::Write as _;
use std::path::Path;

/// The secret in `configured`, or the one stored in `data_dir/file_name`, created with 64
/// random bytes (hex) when missing. Logs a warning naming the file (never the secret) when
/// it falls back to the file.
///
/// # Errors
/// When the file cannot be read or written.
pub fn configured_or_persisted(
    configured: Option<&str>,
    data_dir: &Path,
    file_name: &str,
    variable: &str,
) -> std::io::Result<String> {
    configured_or_generated(configured, data_dir, file_name, variable, random_hex)
}

fn random_hex() -> String {
    let mut bytes = [0_u8; 64];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// As [`configured_or_persisted`], with `generate` making the value when there is none.
///
/// # Errors
/// When the file cannot be read or written.
pub fn configured_or_generated(
    configured: Option<&str>,
    data_dir: &Path,
    file_name: &str,
    variable: &str,
    generate: impl FnOnce() -> String,
) -> std::io::Result<String> {
    if let Some(secret) = configured {
        return Ok(secret.to_owned());
    }
    let path = data_dir.join(file_name);
    let secret = match std::fs::read_to_string(&path) {
        Ok(existing) => existing.trim().to_owned(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let secret = generate();
            write_private(&path, &secret)?;
            secret
        }
        Err(err) => return Err(err),
    };
    tracing::warn!(
        file = %path.display(),
        "{variable} is not set: using the generated secret kept in the data directory; \
         set {variable} when several servers must share it"
    );
    Ok(secret)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::configured_or_persisted;

    #[test]
    fn a_generated_secret_is_kept_and_reused() {
        let dir = std::env::temp_dir().join(format!("devforge-secret-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let first = configured_or_persisted(None, &dir, "s", "X").unwrap_or_else(|e| panic!("{e}"));
        let second =
            configured_or_persisted(None, &dir, "s", "X").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first, second);
        assert_eq!(first.len(), 128);
        let configured = configured_or_persisted(Some("mine"), &dir, "s", "X");
        assert_eq!(configured.ok().as_deref(), Some("mine"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
