//! What only the SQLite store does: the in-memory store, opening by URL, and the WAL journal
//! (which lets readers run beside the single writer). Behaviour shared with PostgreSQL is
//! tested on both backends in tests/store_*.rs.

mod support;

use deskbridge::adapter::store::SqliteStore;
use support::stores::{TempDir, new_job, targets};

#[tokio::test]
async fn memory_store_and_open_by_url() {
    let store = deskbridge::adapter::store::open("sqlite::memory:")
        .await
        .unwrap();
    let created = store
        .create_job(new_job("machine.start", targets("s", 1)))
        .await
        .unwrap();
    assert!(created.created);
    let err = deskbridge::adapter::store::open("mysql://x")
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("unsupported store URL"), "{err}");
}

#[tokio::test]
async fn the_file_store_uses_the_write_ahead_log() {
    let dir = TempDir::new();
    let store = SqliteStore::open(&dir.url()).await.expect("open store");
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.db_path().display()))
        .await
        .expect("raw connection");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    raw.close().await;
    store.close().await;
}
