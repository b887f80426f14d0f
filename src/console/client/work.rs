//! Jobs and tickets as the console reads and changes them: mirrors of the adapter's job, task
//! and ticket views (src/adapter/api/jobs/view.rs, src/adapter/api/tickets.rs), the bodies the
//! console sends, and the idempotency key that makes a retried action run once.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::types::{SyncByInstance, TicketLink, push_text};
use crate::model::{JournalEntry, TicketKind};
use crate::secret::Secret;

/// Declares a lower-case state enum with a catch-all, so a state added by a newer adapter
/// shows as `Unknown` instead of breaking the jobs view.
macro_rules! state_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant,)+
            #[serde(other)]
            Unknown,
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ $name::Unknown => "unknown" }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

state_enum!(
    /// A job's state.
    JobState {
        Queued = "queued",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        PartiallyFailed = "partially_failed",
        Cancelled = "cancelled",
    }
);

state_enum!(
    /// One target's state.
    TaskState {
        Queued = "queued",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        Cancelled = "cancelled",
    }
);

impl JobState {
    /// The job will not change any more (unless retried).
    pub fn is_terminal(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

/// Counts of a job's targets by state: what the gauge draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct JobProgress {
    pub total: u32,
    pub queued: u32,
    pub running: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub cancelled: u32,
}

/// One try of a task.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AttemptInfo {
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub error: Option<String>,
}

/// One target of a job.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskInfo {
    pub id: i64,
    pub site: String,
    pub target_id: String,
    pub display_name: String,
    pub state: TaskState,
    pub percent: u8,
    pub attempt_count: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub result: Option<String>,
    pub error: Option<String>,
    pub external_job_id: Option<String>,
    #[serde(default)]
    pub attempts: Vec<AttemptInfo>,
    /// A workflow's whole plan with each step's state (empty for other jobs).
    #[serde(default)]
    pub steps: Vec<super::workflows::StepInfo>,
}

/// A job; `tasks` and `ticket_status` only in single-job answers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobInfo {
    pub id: Uuid,
    pub action: String,
    pub requested_by: String,
    pub ticket: Option<TicketLink>,
    #[serde(default)]
    pub params: Value,
    pub idempotency_key: Option<String>,
    pub state: JobState,
    pub progress: JobProgress,
    pub cancel_requested_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What was done, once the job succeeded.
    pub result: Option<String>,
    /// How many targets failed and the first reason.
    pub error: Option<String>,
    #[serde(default)]
    pub tasks: Option<Vec<TaskInfo>>,
    #[serde(default)]
    pub ticket_status: Option<String>,
}

/// A page of jobs, newest first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct JobPage {
    pub items: Vec<JobInfo>,
    pub next_cursor: Option<String>,
}

/// A job request's answer: `created` is false when the adapter already had this request
/// (same idempotency key, or the same ticket and action) and answered with that job.
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub job: JobInfo,
    pub created: bool,
    /// The password the adapter generated (`account.password_reset` with `generate`): shown
    /// to the operator once, never kept.
    pub temporary_password: Option<Secret>,
}

/// Makes a confirmed action run once. The console makes one when the operator confirms and
/// sends it with every try of that action, so a retry after a timeout finds the job the
/// first try created instead of running the action again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh key, unique to this confirmation.
    pub fn generate() -> IdempotencyKey {
        IdempotencyKey(format!("console-{}", Uuid::new_v4().simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for IdempotencyKey {
    fn from(value: String) -> Self {
        IdempotencyKey(value)
    }
}

/// One target of a job: a session id, a machine id or name, or `DOMAIN\user`, at a site.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Target {
    pub site: String,
    pub id: String,
}

/// The body of `POST /api/v1/jobs`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRequest {
    /// `session.logoff`, `machine.restart`…
    pub action: String,
    pub targets: Vec<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketLink>,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub params: Value,
    pub idempotency_key: IdempotencyKey,
    /// Secret parameters by their path in `params` (`["password"]`,
    /// `["verification", "code"]`). Not serialized with the rest: the client puts them into
    /// the body it sends and nowhere else, and `Debug` shows `***`.
    #[serde(skip)]
    pub secrets: Vec<(SecretPath, Secret)>,
}

/// Where a secret goes in a job's `params`.
pub type SecretPath = &'static [&'static str];

impl JobRequest {
    /// The body of `POST /api/v1/jobs`, secrets included: for the wire only.
    pub(crate) fn body(&self) -> Result<Value, serde_json::Error> {
        let mut body = serde_json::to_value(self)?;
        if self.secrets.is_empty() {
            return Ok(body);
        }
        if let Some(top) = body.as_object_mut() {
            let params = top
                .entry("params")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            for (path, secret) in &self.secrets {
                let mut node = &mut *params;
                for (i, segment) in path.iter().enumerate() {
                    if !node.is_object() {
                        *node = Value::Object(serde_json::Map::new());
                    }
                    let Some(map) = node.as_object_mut() else {
                        break;
                    };
                    if i + 1 == path.len() {
                        map.insert((*segment).to_owned(), Value::from(secret.expose()));
                        break;
                    }
                    node = map
                        .entry(*segment)
                        .or_insert_with(|| Value::Object(serde_json::Map::new()));
                }
            }
        }
        Ok(body)
    }
}

/// Filters of the jobs list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobQuery {
    pub state: Option<JobState>,
    pub action: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl JobQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(state) = self.state {
            pairs.push(("state", state.as_str().to_owned()));
        }
        push_text(
            &mut pairs,
            [("action", &self.action), ("cursor", &self.cursor)],
        );
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        pairs
    }
}

/// A reference field of a ticket: the sys_id and the name ServiceNow shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedRef {
    pub sys_id: String,
    pub name: String,
}

/// A ticket as the queue shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketRow {
    pub instance: String,
    pub queue: String,
    pub number: String,
    pub sys_id: String,
    pub table: String,
    pub kind: TicketKind,
    pub short_description: String,
    pub description: String,
    /// The state's label ("In Progress").
    pub state: String,
    pub state_code: i32,
    /// Still needs work.
    pub open: bool,
    pub priority: u8,
    pub priority_label: String,
    pub assignment_group: Option<NamedRef>,
    pub assigned_to: Option<NamedRef>,
    pub requester: Option<NamedRef>,
    pub catalog_item: Option<NamedRef>,
    pub parent: Option<NamedRef>,
    pub opened_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub mod_count: u64,
    /// The record in ServiceNow's own UI.
    pub url: String,
}

/// A page of the ticket queue, with each instance's sync status.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TicketPage {
    pub items: Vec<TicketRow>,
    pub next_cursor: Option<String>,
    pub total: usize,
    #[serde(default)]
    pub sync: SyncByInstance,
}

/// A catalog variable; masked ones come as `********`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Variable {
    pub name: String,
    pub question: String,
    pub value: String,
    pub masked: bool,
}

/// A ticket read live, with its variables, journal and jobs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TicketDetail {
    pub ticket: TicketRow,
    /// False when ServiceNow was away and this is the last synced copy (`error` says why).
    pub live: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub journal: Vec<JournalEntry>,
    /// Linked jobs, newest first.
    #[serde(default)]
    pub jobs: Vec<Uuid>,
}

/// Filters of the ticket queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketQuery {
    pub instance: Option<String>,
    pub queue: Option<String>,
    /// `incident`, `sc_req_item` or `sc_task`.
    pub kind: Option<String>,
    pub group: Option<String>,
    /// A login, e-mail, name or sys_id; `me` (needs `instance`); `none`.
    pub assigned_to: Option<String>,
    /// `open`, `closed` or a state such as `in_progress`.
    pub state: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl TicketQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        push_text(
            &mut pairs,
            [
                ("instance", &self.instance),
                ("queue", &self.queue),
                ("kind", &self.kind),
                ("group", &self.group),
                ("assigned_to", &self.assigned_to),
                ("state", &self.state),
                ("q", &self.q),
                ("sort", &self.sort),
                ("cursor", &self.cursor),
            ],
        );
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        pairs
    }
}

/// Who sees a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoteVisibility {
    /// Internal work notes.
    #[default]
    WorkNotes,
    /// A comment the requester sees.
    Comments,
}

impl NoteVisibility {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteVisibility::WorkNotes => "work_notes",
            NoteVisibility::Comments => "comments",
        }
    }
}

/// What became of a ticket write.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WriteStatus {
    pub id: i64,
    /// `delivered`, or `queued` when ServiceNow was slow or away (it will be delivered).
    pub status: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// The answer to take, note and resolve.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TicketWrite {
    pub write: WriteStatus,
    /// The ticket as synced after the write, when it was delivered.
    #[serde(default)]
    pub ticket: Option<TicketRow>,
}

impl TicketWrite {
    pub fn delivered(&self) -> bool {
        self.write.status == "delivered"
    }
}
