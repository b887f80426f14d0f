//! Extension point for work that starts other jobs (a runbook's steps): the adapter's own job
//! submission, with its validation, routing and secrets handling, installed by `serve`. The
//! engine knows nothing of the API behind it.

use async_trait::async_trait;
use serde_json::Value;
use uuid::Uuid;

use crate::adapter::store::Role;

/// A job another job asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildJob {
    pub action: String,
    /// `(site, id)` as `POST /api/v1/jobs` takes them.
    pub targets: Vec<(String, String)>,
    pub params: Value,
    /// The same key for the same step of the same parent task: a resumed parent finds the
    /// job its earlier attempt started instead of starting a second one.
    pub idempotency_key: String,
    /// Recorded as the job's requester and in the audit log (`runbook drain-and-reboot for
    /// helpdesk-anna`).
    pub requested_by: String,
    /// The role the job runs with (checked like a caller's).
    pub role: Role,
}

/// Why a child job was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitError {
    /// The request is wrong (an unknown site, a target that does not exist, a role too low):
    /// trying again will not help.
    Refused(String),
    /// The adapter cannot take it now (store or engine unavailable): try again later.
    Unavailable(String),
}

#[async_trait]
pub trait JobSubmitter: Send + Sync {
    /// Stores the job (or finds the one with the same key) and wakes the engine; its id.
    async fn submit(&self, job: ChildJob) -> Result<Uuid, SubmitError>;
}
