//! Jobs, tasks and attempts as the API shows them, built from the store's records.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::super::AppState;
use super::super::error::ApiError;
use crate::adapter::store::{
    Attempt, Job, JobDetail, JobState, Progress, StepRecord, StepState, Task, TaskState, TicketRef,
};
use crate::adapter::workflows::{self, WorkflowKind};

#[derive(Debug, Serialize)]
pub struct ProgressView {
    pub total: u32,
    pub queued: u32,
    pub running: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub cancelled: u32,
}

impl From<Progress> for ProgressView {
    fn from(p: Progress) -> Self {
        ProgressView {
            total: p.total,
            queued: p.queued,
            running: p.running,
            succeeded: p.succeeded,
            failed: p.failed,
            cancelled: p.cancelled,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct AttemptView {
    pub number: u32,
    /// The adapter replica that ran it (its engine's id, as `/readyz` names it): with several
    /// replicas, where to look in the logs.
    pub replica: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TaskView {
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
    /// The site's asynchronous job, when the action ran as one.
    pub external_job_id: Option<String>,
    pub attempts: Vec<AttemptView>,
    /// A workflow's whole plan: the steps recorded so far, then the ones still `pending`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Serialize)]
pub struct JobView {
    pub id: Uuid,
    pub action: String,
    pub requested_by: String,
    pub ticket: Option<TicketRef>,
    pub params: Value,
    pub idempotency_key: Option<String>,
    pub state: JobState,
    pub progress: ProgressView,
    pub cancel_requested_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the job succeeded: what was done.
    pub result: Option<String>,
    /// When tasks failed: how many, and the first reason.
    pub error: Option<String>,
    /// Only in single-job answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Vec<TaskView>>,
    /// Only in single-job answers of ticket-linked jobs: the last ticket write's outcome
    /// ("resolve: written to INC0010001", "job started: not written (conflict): …").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket_status: Option<String>,
    /// Only in the answer that created a password reset with `generate`: the password the
    /// adapter made, shown this once and kept nowhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<ShownOnce>,
}

/// A secret that goes into one answer and nowhere else: serialized as itself, printed as `***`.
pub struct ShownOnce(pub crate::secret::Secret);

impl std::fmt::Debug for ShownOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShownOnce(***)")
    }
}

impl Serialize for ShownOnce {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose())
    }
}

#[derive(Debug, Serialize)]
pub struct JobPageView {
    pub items: Vec<JobView>,
    pub next_cursor: Option<String>,
}

fn summary(job: &Job, tasks: Option<&[Task]>) -> (Option<String>, Option<String>) {
    let p = job.progress;
    match job.state {
        JobState::Succeeded => (
            Some(format!("{} of {} targets done", p.succeeded, p.total)),
            None,
        ),
        JobState::Failed | JobState::PartiallyFailed => {
            let first = tasks
                .and_then(|t| t.iter().find(|t| t.state == TaskState::Failed))
                .and_then(|t| {
                    t.error
                        .as_ref()
                        .map(|e| format!("; first: {} {}: {e}", t.site, t.target_id))
                })
                .unwrap_or_default();
            (
                None,
                Some(format!("{} of {} targets failed{first}", p.failed, p.total)),
            )
        }
        _ => (None, None),
    }
}

pub(super) fn job_view(job: Job, tasks: Option<Vec<TaskView>>, raw: Option<&[Task]>) -> JobView {
    let (result, error) = summary(&job, raw);
    JobView {
        id: job.id,
        action: job.action,
        requested_by: job.requested_by,
        ticket: job.ticket,
        params: job.params,
        idempotency_key: job.idempotency_key,
        state: job.state,
        progress: job.progress.into(),
        cancel_requested_at: job.cancel_requested_at,
        created_at: job.created_at,
        updated_at: job.updated_at,
        result,
        error,
        tasks,
        ticket_status: None,
        temporary_password: None,
    }
}

fn attempt_view(a: Attempt) -> AttemptView {
    AttemptView {
        number: a.number,
        replica: a.owner,
        started_at: a.started_at,
        ended_at: a.ended_at,
        outcome: a.outcome.map(|o| o.as_str().to_owned()),
        error: a.error,
    }
}

pub(super) async fn detail_view(state: &AppState, detail: JobDetail) -> Result<JobView, ApiError> {
    let mut attempts: HashMap<i64, Vec<AttemptView>> = HashMap::new();
    for a in state
        .store
        .list_job_attempts(detail.job.id)
        .await
        .map_err(ApiError::store)?
    {
        attempts.entry(a.task_id).or_default().push(attempt_view(a));
    }
    let mut steps = workflow_steps(state, &detail).await?;
    let mut tasks = Vec::with_capacity(detail.tasks.len());
    for t in &detail.tasks {
        tasks.push(TaskView {
            id: t.id,
            site: t.site.clone(),
            target_id: t.target_id.clone(),
            display_name: t.display_name.clone(),
            state: t.state,
            percent: t.percent,
            attempt_count: t.attempts,
            next_attempt_at: t.next_attempt_at,
            result: t.result.clone(),
            error: t.error.clone(),
            external_job_id: t.external_job_id.clone(),
            attempts: attempts.remove(&t.id).unwrap_or_default(),
            steps: steps.remove(&t.id).unwrap_or_default(),
        });
    }
    let ticket_status = match &detail.job.ticket {
        Some(_) => state
            .store
            .ticket_status(detail.job.id)
            .await
            .map_err(ApiError::store)?,
        None => None,
    };
    let mut view = job_view(detail.job, Some(tasks), Some(&detail.tasks));
    view.ticket_status = ticket_status;
    Ok(view)
}

/// Each workflow task's plan with its recorded steps, by task id; empty for other jobs.
async fn workflow_steps(
    state: &AppState,
    detail: &JobDetail,
) -> Result<HashMap<i64, Vec<StepRecord>>, ApiError> {
    let job = &detail.job;
    let Some(kind) = WorkflowKind::from_action(&job.action) else {
        return Ok(HashMap::new());
    };
    let mut recorded: HashMap<i64, Vec<StepRecord>> = HashMap::new();
    for (task, step) in state
        .store
        .job_steps(job.id)
        .await
        .map_err(ApiError::store)?
    {
        recorded.entry(task).or_default().push(step);
    }
    // A job whose stored parameters no longer plan (they always should) shows what ran.
    let Ok(planned) = workflows::params::stored(&job.action, &job.params)
        .and_then(|params| workflows::plan::plan(kind, &params))
    else {
        return Ok(recorded);
    };
    let mut steps = HashMap::new();
    for task in &detail.tasks {
        let mut done = recorded.remove(&task.id).unwrap_or_default();
        let mut all = Vec::with_capacity(planned.len());
        for (number, step) in planned.iter().enumerate() {
            let number = u32::try_from(number).unwrap_or(u32::MAX);
            match done.iter().position(|r| r.number == number) {
                Some(at) => all.push(done.swap_remove(at)),
                None => all.push(StepRecord {
                    number,
                    kind: step.kind().to_owned(),
                    title: step.title(&task.target_id),
                    state: StepState::Pending,
                    detail: None,
                    output: Value::Null,
                    started_at: None,
                    ended_at: None,
                }),
            }
        }
        steps.insert(task.id, all);
    }
    Ok(steps)
}
