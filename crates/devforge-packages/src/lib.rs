//! [`PackageStore`] over the `object_store` crate: a directory on local disk (the default,
//! under the data directory) or an S3-compatible bucket, for several server instances that
//! must all serve every package. One implementation serves both, so what the tests prove on
//! a directory holds for a bucket.

use devforge_marketplace::ports::{PackageError, PackageStore, PackageStream};
use futures_util::TryStreamExt as _;
use object_store::path::Path;
use object_store::{ObjectStore, WriteMultipart};
use std::sync::Arc;

/// Parts written to a directory: small, since writing one costs little.
const DISK_PART_BYTES: usize = 1024 * 1024;
/// Parts sent to a bucket: S3's smallest part (but the last).
const BUCKET_PART_BYTES: usize = 5 * 1024 * 1024;

/// Packages in an object store.
#[derive(Debug, Clone)]
pub struct ObjectPackageStore {
    store: Arc<dyn ObjectStore>,
    part_bytes: usize,
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
            part_bytes: DISK_PART_BYTES,
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
            part_bytes: BUCKET_PART_BYTES,
        })
    }

    /// Packages in any object store (e.g. an in-memory one in tests).
    #[must_use]
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            part_bytes: BUCKET_PART_BYTES,
        }
    }
}

impl PackageStore for ObjectPackageStore {
    async fn put_stream(&self, key: &str, package: PackageStream) -> Result<(), PackageError> {
        let path = Path::parse(key).map_err(failed)?;
        let upload = self.store.put_multipart(&path).await.map_err(failed)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_bytes);
        let mut package = package;
        let written = loop {
            // One part in flight at most: the next chunk is read only when the store has
            // taken the previous part, so a slow store slows the sender instead of
            // filling memory.
            if let Err(err) = writer.wait_for_capacity(1).await {
                break Err(failed(err));
            }
            match package.try_next().await {
                Ok(Some(chunk)) => writer.put(chunk),
                Ok(None) => break Ok(()),
                Err(err) => break Err(failed(err)),
            }
        };
        match written {
            Ok(()) => writer.finish().await.map(drop).map_err(failed),
            Err(err) => {
                // Best effort: the failure that matters is the one that stopped the upload.
                let _aborted = writer.abort().await;
                Err(err)
            }
        }
    }

    async fn remove(&self, key: &str) -> Result<(), PackageError> {
        let path = Path::parse(key).map_err(failed)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(failed(err)),
        }
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
    use devforge_marketplace::ports::{PackageStore, PackageStream};
    use futures_util::TryStreamExt as _;

    fn chunks(parts: Vec<Result<Bytes, std::io::Error>>) -> PackageStream {
        Box::pin(futures_util::stream::iter(parts))
    }

    fn store_in(dir: &tempfile::TempDir) -> ObjectPackageStore {
        ObjectPackageStore::in_directory(&dir.path().join("packages"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every file under `dir`, staging files included.
    fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(next) = pending.pop() {
            for entry in std::fs::read_dir(&next).unwrap_or_else(|e| panic!("{e}")) {
                let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.push(path);
                }
            }
        }
        found
    }

    #[tokio::test]
    async fn a_package_of_many_parts_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = store_in(&dir);
        // 3.5 parts on disk, sent in uneven chunks.
        let bytes: Vec<u8> = (0..3_670_016_u32).map(|i| (i % 251) as u8).collect();
        let parts = bytes
            .chunks(300_001)
            .map(|part| Ok(Bytes::copy_from_slice(part)))
            .collect();
        store
            .put_stream("rust-tools/1.0.0/a.pkg", chunks(parts))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let stream = store
            .open("rust-tools/1.0.0/a.pkg")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let read: Vec<Bytes> = stream.try_collect().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.concat(), bytes);
        assert!(store.open("missing/0.0.1/x.pkg").await.is_err());
    }

    #[tokio::test]
    async fn a_failed_stream_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = store_in(&dir);
        let broken = chunks(vec![
            Ok(Bytes::from(vec![1_u8; 1_500_000])),
            Err(std::io::Error::other("connection reset")),
        ]);
        assert!(store.put_stream("cut/1.0.0/b.pkg", broken).await.is_err());
        assert!(store.open("cut/1.0.0/b.pkg").await.is_err());
        assert_eq!(
            files_under(&dir.path().join("packages")),
            Vec::<std::path::PathBuf>::new(),
            "no staging file stays"
        );
    }

    #[tokio::test]
    async fn a_removed_package_is_gone_and_removing_nothing_succeeds() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = store_in(&dir);
        let package = chunks(vec![Ok(Bytes::from_static(b"package"))]);
        store
            .put_stream("gone/1.0.0/c.pkg", package)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .remove("gone/1.0.0/c.pkg")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(store.open("gone/1.0.0/c.pkg").await.is_err());
        store
            .remove("gone/1.0.0/c.pkg")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
