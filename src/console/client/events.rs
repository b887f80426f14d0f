//! The events of `GET /api/v1/events`, typed: what the adapter's event table records for jobs,
//! tasks, inventory refreshes, tickets and site health (src/adapter/engine/events.rs,
//! src/adapter/inventory/changes.rs, src/adapter/tickets), and what the stream itself says
//! about its connection.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::types::{ConnectorStatus, SiteCounts, TicketLink};
use super::work::{JobProgress, JobState, TaskState, TicketRow};

/// What an event is about; also the `kinds` filter of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    Job,
    Task,
    Inventory,
    Ticket,
    Site,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::Job,
        EventKind::Task,
        EventKind::Inventory,
        EventKind::Ticket,
        EventKind::Site,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Job => "job",
            EventKind::Task => "task",
            EventKind::Inventory => "inventory",
            EventKind::Ticket => "ticket",
            EventKind::Site => "site",
        }
    }
}

/// A job's state and counts changed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobEvent {
    pub job_id: Uuid,
    pub action: String,
    pub state: JobState,
    pub progress: JobProgress,
    pub ticket: Option<TicketLink>,
}

/// One target of a job moved on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskEvent {
    pub job_id: Uuid,
    pub task_id: i64,
    pub site: String,
    pub target_id: String,
    pub state: TaskState,
    pub percent: u8,
    pub attempts: u32,
    pub result: Option<String>,
    pub error: Option<String>,
    pub external_job_id: Option<String>,
}

/// A count before and after a refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct CountChange {
    pub from: usize,
    pub to: usize,
}

/// A site's refresh changed its counts (or was its first): reload its lists.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InventoryEvent {
    pub site: String,
    pub first_load: bool,
    pub counts: SiteCounts,
    #[serde(default)]
    pub changed: BTreeMap<String, CountChange>,
    pub fetched_at: DateTime<Utc>,
}

/// A site's health changed: degraded, connectors up or down, refresh failing or recovered.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SiteEvent {
    pub site: String,
    pub degraded: bool,
    #[serde(default)]
    pub connectors: Vec<ConnectorStatus>,
    pub last_error: Option<String>,
    pub data_age: Option<u64>,
}

/// The outcome of a ticket write (the operator's or a job's).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WriteReport {
    pub id: i64,
    pub purpose: String,
    /// `delivered`, `conflict`, `rejected` or `retrying`.
    pub result: String,
    pub error: Option<String>,
    pub job_id: Option<Uuid>,
}

/// A queue ticket was added, updated or removed, or a write to it ended.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TicketEvent {
    /// `added`, `updated`, `removed` or `write`.
    pub change: String,
    #[serde(default)]
    pub ticket: Option<TicketRow>,
    #[serde(default)]
    pub write: Option<WriteReport>,
}

/// What an event says, by kind. `Other` keeps what this console cannot read (a kind or a
/// payload of a newer adapter), so the stream goes on and the id still counts.
#[derive(Debug, Clone, PartialEq)]
pub enum EventPayload {
    Job(JobEvent),
    Task(TaskEvent),
    Inventory(InventoryEvent),
    /// Boxed: a ticket row is far larger than the other payloads.
    Ticket(Box<TicketEvent>),
    Site(SiteEvent),
    /// A step of a workflow task moved on (a `task` event that carries a `step`).
    Step(super::workflows::StepEvent),
    Other {
        kind: String,
        payload: Value,
    },
}

/// One event of the adapter's feed.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerEvent {
    /// Strictly increasing; the stream resumes after the last one seen.
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The job id, task id, site name or `instance/number` the event is about.
    pub subject: String,
    pub payload: EventPayload,
}

/// What the stream hands the console, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// The stream is (again) connected; events after `resume_after` follow. `reconnected`
    /// is false for the first connection.
    Connected {
        resume_after: i64,
        reconnected: bool,
    },
    /// An event of the feed.
    Event(ServerEvent),
    /// The connection was lost (or could not be made); the next try is at `retry_at`.
    Reconnecting {
        attempt: u32,
        after: Duration,
        retry_at: DateTime<Utc>,
        reason: String,
    },
    /// Events were missed (pruned before the stream came back): reload every list.
    Reset { reason: String },
}

/// The JSON `data` of a feed event.
#[derive(Deserialize)]
struct RawEvent {
    id: i64,
    at: DateTime<Utc>,
    kind: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    payload: Value,
}

/// Reads a feed event's data; an error when it is not a feed event at all.
pub(crate) fn decode(data: &str) -> Result<ServerEvent, String> {
    let raw: RawEvent = serde_json::from_str(data).map_err(|e| e.to_string())?;
    fn typed<T: serde::de::DeserializeOwned>(
        payload: &Value,
        wrap: fn(T) -> EventPayload,
    ) -> Option<EventPayload> {
        T::deserialize(payload).ok().map(wrap)
    }
    let payload = match raw.kind.as_str() {
        "job" => typed(&raw.payload, EventPayload::Job),
        "task" if raw.payload.get("step").is_some() => typed(&raw.payload, EventPayload::Step),
        "task" => typed(&raw.payload, EventPayload::Task),
        "inventory" => typed(&raw.payload, EventPayload::Inventory),
        "ticket" => typed(&raw.payload, |t| EventPayload::Ticket(Box::new(t))),
        "site" => typed(&raw.payload, EventPayload::Site),
        _ => None,
    }
    .unwrap_or_else(|| EventPayload::Other {
        kind: raw.kind.clone(),
        payload: raw.payload.clone(),
    });
    Ok(ServerEvent {
        id: raw.id,
        at: raw.at,
        subject: raw.subject,
        payload,
    })
}

/// The `hello` and `reset` messages of the stream.
#[derive(Deserialize)]
pub(crate) struct Hello {
    pub resume_after: i64,
}

#[derive(Deserialize)]
pub(crate) struct Reset {
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_events_are_typed_and_unknown_ones_kept() {
        let job = decode(
            r#"{"id":3,"at":"2026-01-31T09:00:00Z","kind":"job","subject":"x",
               "payload":{"job_id":"6f9619ff-8b86-4011-b42d-00c04fc964ff","action":"session.logoff",
               "state":"running","progress":{"total":2,"queued":1,"running":1,"succeeded":0,
               "failed":0,"cancelled":0},"ticket":null}}"#,
        )
        .expect("a job event");
        assert_eq!(job.id, 3);
        let EventPayload::Job(payload) = job.payload else {
            panic!("not typed as a job: {job:?}");
        };
        assert_eq!(payload.state, JobState::Running);
        assert_eq!(payload.progress.total, 2);

        let other = decode(r#"{"id":4,"at":"2026-01-31T09:00:00Z","kind":"weather","payload":1}"#)
            .expect("an event of a newer adapter");
        assert!(matches!(other.payload, EventPayload::Other { ref kind, .. } if kind == "weather"));
        assert!(decode("not json").is_err());
    }
}
