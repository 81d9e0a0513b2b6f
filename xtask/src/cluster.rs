//! `cargo xtask cluster`: the multi-instance test bed. Installs nginx (Debian's
//! `nginx-light`) and Redis when missing, builds the release server, then runs the
//! `cluster` scenarios of the test crate (`tests/cluster/`), which start three instances
//! behind nginx on one PostgreSQL database (from `DEVFORGE_TEST_POSTGRES_URL`), their own
//! Redis, the fake S3 and the fake Stripe, and print what they measured.

use crate::bench::{build_release_server, ensure_tool};

pub(crate) fn run(extra: &[String]) -> Result<(), String> {
    if std::env::var("DEVFORGE_TEST_POSTGRES_URL").is_err() {
        return Err(
            "cluster needs PostgreSQL: set DEVFORGE_TEST_POSTGRES_URL (e.g. \
             postgres://postgres@127.0.0.1:5432/postgres)"
                .into(),
        );
    }
    ensure_tool("nginx", "nginx-light")?;
    ensure_tool("redis-server", "redis-server")?;
    let server = build_release_server()?;
    let status = crate::cargo_command()
        .args(["test", "--package", "devforge-tests", "--test", "cluster"])
        .args(extra)
        .env("DEVFORGE_CLUSTER_BIN", &server)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the cluster scenarios failed ({status})"))
    }
}
