//! The SQLite backend: opening the database (WAL, busy timeout), versioned migrations embedded
//! in the binary, and the conversions every table module shares.
//!
//! Writes go through one connection of their own ([`SqliteStore::writer`]); reads use a pool.
//! SQLite takes one writer at a time anyway: writers on several connections only race for its
//! lock in the busy handler, which sleeps 1, 2, 5, 10… ms between tries, so a bulk job's
//! concurrent writes spent longer asleep there than writing. One connection queues them in
//! order (the pool's fair acquire) and hands the lock on the moment it is free.

mod audit;
mod clients;
mod codes;
mod events;
mod jobs;
mod outbox;
mod replicas;
mod reports;
mod rows;
mod sites;
mod steps;
mod task_batch;
mod tasks;
mod ticket_links;

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use uuid::Uuid;

use super::StoreError;
pub(crate) use super::columns::{col, col_enum, col_u32};

/// The migrations this binary knows, embedded so a deployed binary needs no files beside it.
/// Append new ones; never edit an applied one (sqlx checks their checksums).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "site flags",
        include_str!("../../../../migrations/sqlite/0002_site_flags.sql"),
    ),
    (
        3,
        "ticket links",
        include_str!("../../../../migrations/sqlite/0003_ticket_links.sql"),
    ),
    (
        4,
        "security codes",
        include_str!("../../../../migrations/sqlite/0004_security_codes.sql"),
    ),
    (
        5,
        "task steps",
        include_str!("../../../../migrations/sqlite/0005_task_steps.sql"),
    ),
    (
        6,
        "replicas",
        include_str!("../../../../migrations/sqlite/0006_replicas.sql"),
    ),
];

/// How long a statement waits for another connection's write lock before failing (another
/// process on the same file, or a read transaction's lock upgrade).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a write waits for its turn on the writer connection before failing.
const WRITE_QUEUE_TIMEOUT: Duration = Duration::from_secs(60);

/// The SQLite implementation of [`super::Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// The one connection that writes (the same pool as `pool` for an in-memory database).
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens `sqlite://path` (creating the file and its directory) or `sqlite::memory:`, and
    /// brings the schema up to date. Refuses a database written by a newer deskbridge.
    pub async fn open(url: &str) -> Result<SqliteStore, StoreError> {
        let memory = url == "sqlite::memory:" || url == "sqlite://:memory:";
        let base = if memory {
            SqliteConnectOptions::from_str("sqlite::memory:")?
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .filter(|p| !p.is_empty())
                .ok_or_else(|| StoreError::BadUrl {
                    url: url.to_owned(),
                    reason: "expected sqlite://PATH or sqlite::memory:".to_owned(),
                })?;
            // Drop any query string: options are set here, not taken from the URL.
            let path = path.split('?').next().unwrap_or(path);
            let path = std::path::Path::new(path);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
        };
        let base = base.busy_timeout(BUSY_TIMEOUT).foreign_keys(true);
        // An in-memory database exists per connection, so it must be exactly one connection
        // that is never closed.
        let (pool, writer) = if memory {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(base)
                .await?;
            (pool.clone(), pool)
        } else {
            let writer = connect_writer(
                base.clone()
                    .journal_mode(SqliteJournalMode::Wal)
                    // NORMAL is durable across application crashes in WAL mode (only a
                    // power loss can lose the last transactions), and much faster than FULL.
                    .synchronous(SqliteSynchronous::Normal),
            )
            .await?;
            // WAL is a property of the file, set by the writer above; readers leave the
            // journal mode alone, so only the writer's connect can meet another replica's
            // switch.
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(base)
                .await?;
            (pool, writer)
        };
        migrate(&writer).await?;
        Ok(SqliteStore { pool, writer })
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(applied_version(&self.pool).await?.unwrap_or(0))
    }

    /// The newest schema version this binary knows.
    pub fn supported_schema_version() -> i64 {
        MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0)
    }

    /// Closes the pools (checkpointing the WAL); the store is unusable afterwards.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    /// For reads.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// For writes outside a transaction ([`SqliteStore::write_tx`] for transactions).
    pub(crate) fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// A write transaction that takes the write lock at once. A deferred one that reads
    /// first and writes later can fail with SQLITE_BUSY on lock upgrade, which the busy
    /// timeout does not cover.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.writer.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Connects the writer. Switching a fresh file to WAL takes an exclusive lock that SQLite's
/// busy timeout does not wait for, so a replica starting while another one makes that switch
/// fails at once with SQLITE_BUSY; it waits here instead, as long as the busy timeout.
async fn connect_writer(options: SqliteConnectOptions) -> Result<SqlitePool, StoreError> {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        let connected = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            // Writes queue here behind each other; a long queue is not an error.
            .acquire_timeout(WRITE_QUEUE_TIMEOUT)
            .connect_with(options.clone())
            .await;
        match connected {
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            other => return Ok(other?),
        }
    }
}

/// SQLITE_BUSY, in any of its extended forms.
fn is_busy(e: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    matches!(e, sqlx::Error::Database(db)
        if db.code().and_then(|c| c.parse::<i32>().ok()).is_some_and(|c| c & 0xff == SQLITE_BUSY))
}

async fn applied_version(pool: &SqlitePool) -> Result<Option<i64>, StoreError> {
    let table: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if table.is_none() {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = 1")
            .fetch_one(pool)
            .await?,
    )
}

async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
    let supported = SqliteStore::supported_schema_version();
    // Checked before sqlx runs so the refusal says what to do, not "migration 2 missing".
    if let Some(found) = applied_version(pool).await?
        && found > supported
    {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                (*sql).into_sql_str(),
                false,
            )
        })
        .collect();
    let migrator = Migrator::with_migrations(migrations);
    // sqlx takes no lock on SQLite, so two processes opening a fresh file at once can both
    // apply a migration: the second one's transaction fails ("already exists") and rolls
    // back whole. Running again then finds the other's migration applied and goes on.
    let mut tries = 0;
    loop {
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(sqlx::migrate::MigrateError::ExecuteMigration(..))
                if tries < MIGRATE_RACE_TRIES =>
            {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20 * tries)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// How often a migration that lost the race against another process is tried again; a real
/// error in a migration fails as often and is then reported.
const MIGRATE_RACE_TRIES: u64 = 10;

// ---- conversions shared by the table modules ----

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn now_ms() -> i64 {
    to_ms(Utc::now())
}

/// `now + d` in milliseconds, saturating instead of overflowing on absurd durations.
pub(crate) fn after_ms(now: i64, d: Duration) -> i64 {
    now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn from_ms(column: &'static str, ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt {
            column,
            reason: format!("{ms} is not a valid timestamp"),
        })
}

pub(crate) fn opt_from_ms(
    column: &'static str,
    ms: Option<i64>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(|ms| from_ms(column, ms)).transpose()
}

pub(crate) fn parse_uuid(column: &'static str, s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt {
        column,
        reason: format!("{s:?} is not a UUID: {e}"),
    })
}

pub(crate) fn parse_json(column: &'static str, s: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        column,
        reason: format!("invalid JSON: {e}"),
    })
}

pub(crate) fn to_json(v: &serde_json::Value) -> String {
    // Serialising a Value cannot fail; the fallback keeps this total without unwrap.
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}
