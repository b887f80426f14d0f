//! Job and task changes as store events (kinds `job` and `task`), which consoles follow over
//! SSE. The engine's task changes are written with their events by the store's task batches
//! ([`crate::adapter::store::JobStore::record_tasks`]); this module is for the changes made
//! elsewhere (the API's create, cancel and retry). An event that cannot be written is logged,
//! never allowed to stop the work.

use serde_json::Value;

use crate::adapter::store::events::{job_payload as payload_of_job, task_payload};
use crate::adapter::store::{EventKind, Job, Store, Task};

/// The payload of a `job` event.
pub fn job_payload(job: &Job) -> Value {
    payload_of_job(job)
}

async fn append(store: &dyn Store, kind: EventKind, subject: String, payload: Value) {
    if let Err(e) = store.append_event(kind, &subject, payload).await {
        tracing::warn!(kind = kind.as_str(), %subject, error = %e, "cannot append an event");
    }
}

/// A task's progress or state.
pub async fn task(store: &dyn Store, task: &Task) {
    append(
        store,
        EventKind::Task,
        task.id.to_string(),
        task_payload(task),
    )
    .await;
}

/// A job's state and counts.
pub async fn job(store: &dyn Store, job: &Job) {
    append(store, EventKind::Job, job.id.to_string(), job_payload(job)).await;
}
