//! The adapter's durable store: API clients, audit log, jobs and tasks, events and the
//! ServiceNow outbox, behind object-safe traits so the engine holds an `Arc<dyn Store>` and
//! never knows which database is underneath.
//!
//! Backends: [`SqliteStore`] (the embedded default) and [`PgStore`] (several replicas on one
//! database, docs/replicas.md). The places where they differ are documented on the trait
//! methods (task claiming with `FOR UPDATE SKIP LOCKED`, event id ordering).
//!
//! What the PostgreSQL backend does differently (same traits, engine untouched):
//! - `claim_tasks` / `claim_attempts` / `claim_outbox`: the inner `SELECT … LIMIT n` gets `FOR UPDATE SKIP
//!   LOCKED`, so replicas claim disjoint rows without blocking; leases make a dead replica's
//!   tasks claimable again after expiry, exactly as here.
//! - `append_event`: ids from a sequence become visible out of order across transactions;
//!   appends take a transaction-scoped advisory lock so `events_since` never skips one, and
//!   replicas learn of new events with `LISTEN/NOTIFY` or by polling `events_since`. The same
//!   lock is taken by the task batches that append events (`claim_attempts`,
//!   `record_tasks`, `release_tasks`).
//! - `record_tasks` / `renew_leases`: `UPDATE … FROM unnest($ids, …)` with the same
//!   lease-owner guard, one statement per kind of change per batch.
//! - `create_job`: `INSERT … ON CONFLICT DO NOTHING` and the partial unique index on
//!   (ticket, action) carry over unchanged; `signing_key` likewise.
//! - times as `timestamptz`, UUIDs as `uuid`, JSON as `jsonb`; migrations under
//!   `migrations/postgres/`.
//!
//! Every time the store records is UTC and taken from the store's own clock (`Utc::now()`),
//! so replicas never trust each other's arguments for lease arithmetic.

pub mod audit;
pub mod clients;
pub mod codes;
pub(crate) mod columns;
pub mod events;
pub(crate) mod hashing;
pub mod jobs;
pub mod outbox;
pub mod postgres;
pub mod replicas;
pub mod reports;
pub mod sites;
pub mod sqlite;
pub mod steps;
pub mod ticket_links;

use std::sync::Arc;

use crate::config::StoreConfig;

pub use audit::{AuditEntry, AuditOutcome, AuditPage, AuditQuery, AuditStore, NewAuditEntry};
pub use clients::{ApiClient, ClientStore, NewApiClient, Role};
pub use codes::{CodeEvent, CodeLogEntry, CodeStore, EnrolledCode};
pub use events::{Event, EventKind, EventPage, EventRetention, EventStore, PruneReport};
pub use jobs::{
    Attempt, AttemptOutcome, ClaimedTask, CreatedJob, Job, JobDetail, JobPage, JobQuery, JobState,
    JobStore, NewJob, NewTask, Progress, RecordedTasks, Task, TaskEnd, TaskState, TaskTransition,
    TaskWrite, TicketRef,
};
pub use outbox::{NewOutboxItem, OutboxItem, OutboxStore};
pub use postgres::PgStore;
pub use replicas::{ReplicaHeartbeat, ReplicaStore};
pub use reports::{OutcomeBucket, ReportStore};
pub use sites::{SiteFlag, SiteStore};
pub use sqlite::SqliteStore;
pub use steps::{StepRecord, StepState, StepStore};
pub use ticket_links::{TicketLag, TicketLinkStore, TicketPhase};

/// Everything the adapter needs from its database. Implemented by each backend; the engine
/// holds `Arc<dyn Store>`.
pub trait Store:
    ClientStore
    + AuditStore
    + JobStore
    + EventStore
    + OutboxStore
    + SiteStore
    + TicketLinkStore
    + CodeStore
    + StepStore
    + ReportStore
    + ReplicaStore
{
}

impl<
    T: ClientStore
        + AuditStore
        + JobStore
        + EventStore
        + OutboxStore
        + SiteStore
        + TicketLinkStore
        + CodeStore
        + StepStore
        + ReportStore
        + ReplicaStore,
> Store for T
{
}

/// Errors from the store. Messages are written for the person reading the adapter's log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported store URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot create the store directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the database has schema version {found}, newer than the {supported} this deskbridge \
         knows; upgrade deskbridge (or restore a backup) instead of downgrading the schema"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("applying database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("corrupt value in column {column}: {reason}")]
    Corrupt {
        column: &'static str,
        reason: String,
    },
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error(
        "task {task_id} is not leased by {owner} (lease expired and taken over, or task finished)"
    )]
    LeaseLost { task_id: i64, owner: String },
    #[error("outbox item {id} is not leased by {owner} (already delivered, or taken over)")]
    OutboxLeaseLost { id: i64, owner: String },
    #[error("invalid request to the store: {0}")]
    Invalid(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl StoreError {
    /// `owner` no longer holds task `task_id`'s lease.
    pub(crate) fn lease_lost(task_id: i64, owner: &str) -> StoreError {
        StoreError::LeaseLost {
            task_id,
            owner: owner.to_owned(),
        }
    }

    /// `owner` no longer holds outbox item `id`'s lease.
    pub(crate) fn outbox_lease_lost(id: i64, owner: &str) -> StoreError {
        StoreError::OutboxLeaseLost {
            id,
            owner: owner.to_owned(),
        }
    }
}

/// Clamps a requested page size: 0 means 100, never more than 1000, so no caller can ask
/// the database for an unbounded read.
pub(crate) fn page_limit(limit: u32) -> i64 {
    match limit {
        0 => 100,
        n => i64::from(n.min(1000)),
    }
}

/// Opens the store named by `url` (`sqlite://path`, `sqlite::memory:`, `postgres://…`),
/// applying migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::open(url).await?))
    } else {
        Err(StoreError::BadUrl {
            url: postgres::redact(url),
            reason: "expected sqlite://PATH, sqlite::memory: or postgres://…".to_owned(),
        })
    }
}

/// Opens the store the config names, with its password when it has one.
pub async fn open_config(config: &StoreConfig) -> Result<Arc<dyn Store>, StoreError> {
    match config {
        StoreConfig::Postgres { url, password } => {
            Ok(Arc::new(PgStore::open_with(url, password.as_ref()).await?))
        }
        other => open(&other.url()).await,
    }
}
