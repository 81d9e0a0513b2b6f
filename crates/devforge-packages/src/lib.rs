//! [`PackageStore`] over the `object_store` crate: a directory on local disk (the default,
//! under the data directory) or an S3-compatible bucket, for several server instances that
//! must all serve every package. One implementation serves both, so what the tests prove on
//! a directory holds for a bucket.

use bytes::Bytes;
use devforge_marketplace::ports::{PackageError, PackageStore, PackageStream};
use futures_util::TryStreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use std::sync::Arc;

/// Packages in an object store.
#[derive(Debug, Clone)]
pub struct ObjectPackageStore {
    store: Arc<dyn ObjectStore>,
}

fn failed(err: impl std::fmt::Display) -> PackageError {
    PackageError(err.to_string())
}

impl ObjectPackageStore {
    /// Packages in `directory` (created when missing).
    ///
    /// # Errors
    /// [`PackageError`] when the directory cannot be created or used.
    pub fn in_directory(directory: &std::path::Path) -> Result<Self, PackageError> {
        std::fs::create_dir_all(directory).map_err(failed)?;
        let store =
            object_store::local::LocalFileSystem::new_with_prefix(directory).map_err(failed)?;
        Ok(Self {
            store: Arc::new(store),
        })
    }

    /// Packages in the S3 bucket `bucket`, with credentials, region and endpoint (for
    /// S3-compatible services) from the standard `AWS_*` environment variables.
    ///
    /// # Errors
    /// [`PackageError`] when the configuration is incomplete.
    pub fn in_s3_bucket(bucket: &str) -> Result<Self, PackageError> {
        let store = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(failed)?;
        Ok(Self {
            store: Arc::new(store),
        })
    }

    /// Packages in any object store (e.g. an in-memory one in tests).
    #[must_use]
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }
}

impl PackageStore for ObjectPackageStore {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), PackageError> {
        let path = Path::parse(key).map_err(failed)?;
        // Create only: a key is never written twice, so nothing stored is ever replaced.
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        self.store
            .put_opts(&path, PutPayload::from_bytes(bytes), options)
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn open(&self, key: &str) -> Result<PackageStream, PackageError> {
        let path = Path::parse(key).map_err(failed)?;
        let found = self.store.get(&path).await.map_err(failed)?;
        let stream = found
            .into_stream()
            .map_err(|e| std::io::Error::other(e.to_string()));
        Ok(Box::pin(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::ObjectPackageStore;
    use bytes::Bytes;
    use devforge_marketplace::ports::PackageStore;
    use futures_util::TryStreamExt as _;

    #[tokio::test]
    async fn a_package_reads_back_as_written_and_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = ObjectPackageStore::in_directory(&dir.path().join("packages"))
            .unwrap_or_else(|e| panic!("{e}"));
        let bytes = Bytes::from(vec![7_u8; 200_000]);
        store
            .put("rust-tools/1.0.0/a.pkg", bytes.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let stream = store
            .open("rust-tools/1.0.0/a.pkg")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let chunks: Vec<Bytes> = stream.try_collect().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(chunks.concat(), bytes.to_vec());
        let again = store
            .put("rust-tools/1.0.0/a.pkg", Bytes::from_static(b"other"))
            .await;
        assert!(again.is_err(), "a stored package is never replaced");
        assert!(store.open("missing/0.0.1/x.pkg").await.is_err());
    }
}
