//! The schema goes up, all the way down, and up again, on every backend.

use devforge_persistence::Database;
use devforge_tests::{TestDatabase, backends};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_go_up_down_and_up_again() {
    for backend in backends() {
        eprintln!("-- migrations on {backend:?}");
        let test_db = TestDatabase::create(backend).await;
        let db = Database::connect(&test_db.url, 2)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let all = db
            .pending_migrations()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(all.len() >= 4, "{all:?}");

        db.migrate_up(None)
            .await
            .unwrap_or_else(|e| panic!("up: {e:?}"));
        assert!(
            db.pending_migrations()
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
                .is_empty()
        );

        db.migrate_down(Some(1))
            .await
            .unwrap_or_else(|e| panic!("down 1: {e:?}"));
        let pending = db
            .pending_migrations()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(pending.last(), all.last());
        assert_eq!(pending.len(), 1);

        db.migrate_down(None)
            .await
            .unwrap_or_else(|e| panic!("down all: {e:?}"));
        assert_eq!(
            db.pending_migrations()
                .await
                .unwrap_or_else(|e| panic!("{e:?}")),
            all
        );

        db.migrate_up(None)
            .await
            .unwrap_or_else(|e| panic!("up again: {e:?}"));
        let status = db
            .migration_status()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(status.iter().all(|(_, applied)| *applied), "{status:?}");
        let _ = db.close().await;
    }
}
