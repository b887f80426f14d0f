//! The store tests' two backends: each behaviour test is written once against [`Backend`] and
//! run on SQLite (a file in a temporary directory) and on PostgreSQL (a database of its own on
//! the test server), by [`store_tests!`](crate::store_tests). "Two replicas" are two stores
//! opened on the same file or database, as two adapter processes would open them.
#![allow(dead_code)]

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use deskbridge::adapter::store::{
    AuditOutcome, NewAuditEntry, NewJob, NewOutboxItem, NewTask, PgStore, SqliteStore, Store,
    StoreError, TicketRef,
};
use serde_json::json;

use super::postgres::TestDatabase;

/// A lease long enough never to expire during a test.
pub const LEASE: Duration = Duration::from_secs(60);

/// Generates `sqlite::<name>` and `postgres::<name>` tests from `async fn <name>(b: &Backend)`
/// bodies. The PostgreSQL ones are skipped when `DESKBRIDGE_TEST_DATABASE_URL` is unset (and
/// fail under CI, see `support::postgres`).
#[macro_export]
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(&$crate::support::stores::Backend::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    if let Some(b) = $crate::support::stores::Backend::postgres().await {
                        super::$name(&b).await;
                    }
                }
            )*
        }
    };
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let dir = std::env::temp_dir().join(format!("deskbridge-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// The database file, inside a not-yet-existing subdirectory (the store must create it).
    pub fn db_path(&self) -> PathBuf {
        self.0.join("data/adapter.db")
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}", self.db_path().display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where a test's stores live: one SQLite file or one PostgreSQL database, empty at first.
pub enum Backend {
    Sqlite(TempDir),
    Postgres(TestDatabase),
}

impl Backend {
    pub fn sqlite() -> Backend {
        Backend::Sqlite(TempDir::new())
    }

    /// `None` when the test is skipped (no test server configured).
    pub async fn postgres() -> Option<Backend> {
        TestDatabase::create().await.map(Backend::Postgres)
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Backend::Sqlite(_))
    }

    pub fn url(&self) -> String {
        match self {
            Backend::Sqlite(dir) => dir.url(),
            Backend::Postgres(db) => db.url.clone(),
        }
    }

    /// Opens one more store on the backend's database, as another adapter process would.
    pub async fn open(&self) -> AnyStore {
        self.try_open().await.expect("open store")
    }

    pub async fn try_open(&self) -> Result<AnyStore, StoreError> {
        match self {
            Backend::Sqlite(dir) => {
                let store = Arc::new(SqliteStore::open(&dir.url()).await?);
                Ok(AnyStore {
                    store: store.clone(),
                    concrete: Concrete::Sqlite(store),
                })
            }
            Backend::Postgres(db) => {
                let store = Arc::new(PgStore::open(&db.url).await?);
                Ok(AnyStore {
                    store: pg_dyn(store.clone()),
                    concrete: Concrete::Postgres(store),
                })
            }
        }
    }

    /// The newest schema version the backend's migrations know.
    pub fn supported_schema_version(&self) -> i64 {
        match self {
            Backend::Sqlite(_) => SqliteStore::supported_schema_version(),
            Backend::Postgres(_) => PgStore::supported_schema_version(),
        }
    }

    /// A raw connection to the same database, for looking under the store's API.
    pub async fn raw(&self) -> Raw {
        match self {
            Backend::Sqlite(dir) => Raw::Sqlite(
                sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.db_path().display()))
                    .await
                    .expect("raw SQLite connection"),
            ),
            Backend::Postgres(db) => Raw::Postgres(
                sqlx::PgPool::connect(&db.url)
                    .await
                    .expect("raw PostgreSQL connection"),
            ),
        }
    }

    /// The same query in each backend's dialect.
    pub fn dialect(&self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self {
            Backend::Sqlite(_) => sqlite,
            Backend::Postgres(_) => postgres,
        }
    }
}

/// `Arc<PgStore>` as the `dyn Store` the engine holds.
fn pg_dyn(store: Arc<PgStore>) -> Arc<dyn Store> {
    store
}

/// A store of either backend: usable as `dyn Store` (it derefs to one), plus what only the
/// concrete type offers.
#[derive(Clone)]
pub struct AnyStore {
    store: Arc<dyn Store>,
    concrete: Concrete,
}

#[derive(Clone)]
enum Concrete {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl AnyStore {
    pub fn as_dyn(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    pub async fn schema_version(&self) -> i64 {
        match &self.concrete {
            Concrete::Sqlite(s) => s.schema_version().await,
            Concrete::Postgres(s) => s.schema_version().await,
        }
        .expect("schema version")
    }

    pub async fn close(&self) {
        match &self.concrete {
            Concrete::Sqlite(s) => s.close().await,
            Concrete::Postgres(s) => s.close().await,
        }
    }
}

impl Deref for AnyStore {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

/// A raw connection pool to a test's database.
pub enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    pub async fn execute(&self, sql: &'static str) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Raw::Sqlite(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
            Raw::Postgres(p) => sqlx::query(sql).execute(p).await?.rows_affected(),
        })
    }

    pub async fn scalar_i64(&self, sql: &'static str) -> i64 {
        match self {
            Raw::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await,
            Raw::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await,
        }
        .expect("raw scalar query")
    }

    pub async fn strings(&self, sql: &'static str) -> Vec<String> {
        match self {
            Raw::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await,
            Raw::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await,
        }
        .expect("raw string query")
    }

    pub async fn string_pair(&self, sql: &'static str) -> (String, String) {
        match self {
            Raw::Sqlite(p) => sqlx::query_as(sql).fetch_one(p).await,
            Raw::Postgres(p) => sqlx::query_as(sql).fetch_one(p).await,
        }
        .expect("raw row query")
    }

    /// Records a migration this deskbridge does not know, as a newer one would have.
    pub async fn insert_migration(&self, version: i64) {
        match self {
            Raw::Sqlite(p) => sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
                 execution_time) VALUES (?, 'from the future', 1, x'00', 0)",
            )
            .bind(version)
            .execute(p)
            .await
            .map(|_| ()),
            Raw::Postgres(p) => sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
                 execution_time) VALUES ($1, 'from the future', true, '\\x00'::bytea, 0)",
            )
            .bind(version)
            .execute(p)
            .await
            .map(|_| ()),
        }
        .expect("insert a future migration");
    }

    pub async fn close(&self) {
        match self {
            Raw::Sqlite(p) => p.close().await,
            Raw::Postgres(p) => p.close().await,
        }
    }
}

pub fn targets(site: &str, n: usize) -> Vec<NewTask> {
    (0..n)
        .map(|i| NewTask {
            site: site.to_owned(),
            target_id: format!("{site}-t{i}"),
            display_name: format!("target {i}"),
        })
        .collect()
}

pub fn new_job(action: &str, tasks: Vec<NewTask>) -> NewJob {
    NewJob {
        action: action.to_owned(),
        requested_by: "alice".to_owned(),
        ticket: None,
        params: json!({"force": false}),
        idempotency_key: None,
        tasks,
    }
}

pub fn ticket(instance: &str, number: &str) -> Option<TicketRef> {
    Some(TicketRef {
        instance: instance.to_owned(),
        number: number.to_owned(),
    })
}

/// The `n`th work note for `ticket` on instance `prod`.
pub fn write(ticket: &str, n: u32) -> NewOutboxItem {
    NewOutboxItem {
        instance: "prod".to_owned(),
        table: "incident".to_owned(),
        ticket: ticket.to_owned(),
        job_id: None,
        payload: json!({"work_notes": format!("note {n}")}),
    }
}

pub fn audit(actor: &str, action: &str, message: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor_id: None,
        actor_name: actor.to_owned(),
        action: action.to_owned(),
        targets: json!([{"site": "s1", "id": "m-1"}]),
        ticket: ticket("prod", "INC001"),
        outcome: AuditOutcome::Allowed,
        message: Some(message.to_owned()),
        request_id: Some("req-1".to_owned()),
    }
}
