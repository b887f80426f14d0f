//! Events pushed to consoles over SSE: an append-only, id-ordered feed with a retention
//! window, so a client reconnecting with `Last-Event-ID` gets what it missed or is told that
//! it was away too long.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::StoreError;
use super::jobs::{Job, Task};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Job,
    Task,
    Inventory,
    Ticket,
    Site,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Job => "job",
            EventKind::Task => "task",
            EventKind::Inventory => "inventory",
            EventKind::Ticket => "ticket",
            EventKind::Site => "site",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        match s {
            "job" => Some(EventKind::Job),
            "task" => Some(EventKind::Task),
            "inventory" => Some(EventKind::Inventory),
            "ticket" => Some(EventKind::Ticket),
            "site" => Some(EventKind::Site),
            _ => None,
        }
    }
}

/// The payload of a `task` event: the task as consoles show it. Shared by every backend,
/// since the task batches ([`super::JobStore::record_tasks`]) append their events themselves.
pub fn task_payload(task: &Task) -> serde_json::Value {
    json!({
        "job_id": task.job_id,
        "task_id": task.id,
        "site": task.site,
        "target_id": task.target_id,
        "state": task.state,
        "percent": task.percent,
        "attempts": task.attempts,
        "result": task.result,
        "error": task.error,
        "external_job_id": task.external_job_id,
    })
}

/// The payload of a `job` event: its state and counts.
pub fn job_payload(job: &Job) -> serde_json::Value {
    json!({
        "job_id": job.id,
        "action": job.action,
        "state": job.state,
        "progress": job.progress,
        "ticket": job.ticket,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Strictly increasing, never reused.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub subject: String,
    pub payload: serde_json::Value,
}

/// Events after a given id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventPage {
    pub events: Vec<Event>,
    /// True when events after the requested id were pruned before it was read: the client
    /// must reload its state instead of trusting the feed.
    pub missed: bool,
    /// The oldest event still kept, if any.
    pub oldest_retained: Option<i64>,
}

/// How long events are kept. The default keeps 24 hours and at most 100,000 events,
/// whichever is smaller: enough for a console that was away over a night, bounded in size
/// during a large bulk job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRetention {
    pub max_age: Duration,
    pub max_events: u64,
}

impl Default for EventRetention {
    fn default() -> Self {
        EventRetention {
            max_age: Duration::from_secs(24 * 3600),
            max_events: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    pub deleted: u64,
    /// The oldest event kept after pruning (`None` if the feed is empty).
    pub oldest_retained: Option<i64>,
    /// Every id up to and including this one is gone.
    pub pruned_through: i64,
}

#[async_trait]
pub trait EventStore: Send + Sync {
    /// Appends an event and returns it with its id.
    ///
    /// PostgreSQL note: a sequence hands out ids in call order, not commit order, so a reader
    /// could see id 11 before 10 commits and skip 10. The Postgres backend serialises appends
    /// (a transaction-scoped advisory lock around insert+commit) so ids become visible in
    /// order, which is what `events_since` relies on.
    async fn append_event(
        &self,
        kind: EventKind,
        subject: &str,
        payload: serde_json::Value,
    ) -> Result<Event, StoreError>;
    /// Up to `limit` events with id > `after_id`, oldest first (0 = from the start).
    async fn events_since(&self, after_id: i64, limit: u32) -> Result<EventPage, StoreError>;
    /// The newest event id (0 when none was ever written), where a new client starts.
    async fn last_event_id(&self) -> Result<i64, StoreError>;
    /// Deletes events older than `max_age` and beyond the newest `max_events`.
    async fn prune_events(&self, retention: EventRetention) -> Result<PruneReport, StoreError>;
}
