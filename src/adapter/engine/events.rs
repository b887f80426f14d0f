//! Job and task changes as store events (kinds `job` and `task`), which consoles follow over
//! SSE. An event that cannot be written is logged, never allowed to stop the work.

use serde_json::{Value, json};

use crate::adapter::store::{EventKind, Job, Store, Task, TaskTransition};

fn task_payload(task: &Task) -> Value {
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

pub fn job_payload(job: &Job) -> Value {
    json!({
        "job_id": job.id,
        "action": job.action,
        "state": job.state,
        "progress": job.progress,
        "ticket": job.ticket,
    })
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

/// A task that a worker started (state and attempt number as of now).
pub async fn task_state(store: &dyn Store, task: &Task, state: &str, attempt: u32) {
    let mut payload = task_payload(task);
    payload["state"] = json!(state);
    payload["attempts"] = json!(attempt);
    append(store, EventKind::Task, task.id.to_string(), payload).await;
}

/// A job's state and counts.
pub async fn job(store: &dyn Store, job: &Job) {
    append(store, EventKind::Job, job.id.to_string(), job_payload(job)).await;
}

/// A task's change and its job's recomputed state.
pub async fn transition(store: &dyn Store, transition: &TaskTransition) {
    task(store, &transition.task).await;
    job(store, &transition.job).await;
}
