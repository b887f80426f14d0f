//! The PostgreSQL backend, for several adapter replicas sharing one database: opening a pool,
//! versioned migrations embedded in the binary, and the conversions its table modules share.
//!
//! What differs from SQLite, and why:
//! - Claims (`claim_tasks`, `claim_attempts`, `claim_outbox`) select with `FOR UPDATE SKIP
//!   LOCKED`, so replicas claim disjoint rows without waiting on each other.
//! - Lease and due-time arithmetic uses the database's clock (`now()`), so clock skew between
//!   adapter hosts cannot make a live lease look expired.
//! - Every transaction that appends events takes [`EVENTS_LOCK`] just before its inserts, so
//!   event ids become visible in id order and `events_since` never skips one (an identity
//!   column alone hands out ids that concurrent transactions may commit out of order).
//! - Times are `timestamptz`, UUIDs `uuid`, JSON `jsonb`; every integer is `bigint`.

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

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, SqlSafeStr};

use super::StoreError;
use crate::secret::Secret;

/// The migrations this binary knows, embedded so a deployed binary needs no files beside it.
/// Append new ones; never edit an applied one (sqlx checks their checksums).
const MIGRATIONS: &[(i64, &str, &str)] = &[(
    1,
    "initial",
    include_str!("../../../../migrations/postgres/0001_initial.sql"),
)];

/// The advisory lock (a transaction-scoped `pg_advisory_xact_lock`) that orders event
/// appends across replicas. Any 64-bit number no other application on the database uses.
pub(crate) const EVENTS_LOCK: i64 = 0x6465_736b_6576_7473; // "deskevts"

/// The advisory lock that serialises migrations when several replicas start at once.
const MIGRATE_LOCK: i64 = 0x6465_736b_6d69_6772; // "deskmigr"

/// How long a query waits for a pooled connection before failing: long enough for a burst,
/// short enough that a lost database shows in `/readyz` and the logs within seconds.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL implementation of [`super::Store`].
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `postgres://…` (or `postgresql://…`) and brings the schema up to date.
    /// Refuses a database written by a newer deskbridge. Several replicas may start at once:
    /// migrations run under an advisory lock, one replica at a time.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::open_with(url, None).await
    }

    /// As [`PgStore::open`], with the password given apart from the URL (from the config's
    /// `store_password`), so the URL can be shown in logs and errors.
    pub async fn open_with(url: &str, password: Option<&Secret>) -> Result<PgStore, StoreError> {
        let mut options = PgConnectOptions::from_str(url).map_err(|e| StoreError::BadUrl {
            url: redact(url),
            reason: e.to_string(),
        })?;
        if let Some(password) = password {
            options = options.password(password.expose());
        }
        let options = options
            .application_name("deskbridge")
            // Statement logging at debug would print every bulk batch; warnings still show.
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A connection that died with a database restart is found before it is handed out.
            .test_before_acquire(true)
            .connect_with(options)
            .await?;
        migrate(&pool).await?;
        Ok(PgStore { pool })
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(applied_version(&mut conn).await?.unwrap_or(0))
    }

    /// The newest schema version this binary knows.
    pub fn supported_schema_version() -> i64 {
        MIGRATIONS.iter().map(|m| m.0).max().unwrap_or(0)
    }

    /// Closes the pool; the store is unusable afterwards.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// The URL without its password, for error messages and logs.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            // Setting a password only fails for URLs that cannot have one, which this has.
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

async fn applied_version(conn: &mut sqlx::PgConnection) -> Result<Option<i64>, StoreError> {
    let table: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(&mut *conn)
        .await?;
    if table.is_none() {
        return Ok(None);
    }
    Ok(
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(conn)
            .await?,
    )
}

async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    let supported = PgStore::supported_schema_version();
    let mut conn = pool.acquire().await?;
    // Session-level: held across sqlx's own transactions, released below or when the
    // connection closes (a replica that dies mid-migration frees it).
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATE_LOCK)
        .execute(&mut *conn)
        .await?;
    let result = async {
        // Checked before sqlx runs so the refusal says what to do, not "migration 2 missing".
        if let Some(found) = applied_version(&mut conn).await?
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
        let mut migrator = Migrator::with_migrations(migrations);
        // The advisory lock above already serialises replicas.
        migrator.set_locking(false);
        migrator.run(&mut *conn).await?;
        Ok(())
    }
    .await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATE_LOCK)
        .execute(&mut *conn)
        .await;
    result?;
    unlocked?;
    Ok(())
}

/// `d` as a number of milliseconds for SQL (`now() + $n * interval '1 millisecond'`),
/// saturating instead of overflowing on absurd durations.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
