//! `POST /api/v1/jobs`, `GET /api/v1/jobs`, `GET /api/v1/jobs/{id}`,
//! `POST /api/v1/jobs/{id}/cancel|retry`: jobs as the API shows them. The handlers validate
//! completely before anything is stored (a bad request creates nothing), check the action's
//! own role on top of the route's, and wake the engine when there is new work.

mod account;
mod child;
mod openapi;
mod validate;
mod view;
mod workflow;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::AppState;
use super::body::{ApiPath, ApiQuery, OptionalJson};
use super::error::{ApiError, AuditNote};
use super::guard::Caller;
use crate::adapter::engine::actions;
use crate::adapter::engine::events;
use crate::adapter::store::{
    Job, JobDetail, JobQuery, JobState, NewJob, NewTask, TaskState, TicketRef,
};

pub use child::ApiSubmitter;
pub use openapi::document;
use validate::{check_role, same_request, tasks_for, validate};
pub use view::{AttemptView, JobPageView, JobView, ProgressView, TaskView};
use view::{detail_view, job_view};
pub use workflow::preview;

/// Most targets one job may have: a whole large site's sessions fit, a runaway script does not.
pub const MAX_TARGETS: usize = 10_000;
/// Longest target id, idempotency key and ticket field accepted.
pub(super) const MAX_ID: usize = 256;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetIn {
    pub site: String,
    pub id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketIn {
    pub instance: String,
    pub number: String,
}

/// The body of `POST /api/v1/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateJob {
    pub action: String,
    pub targets: Vec<TargetIn>,
    #[serde(default)]
    pub ticket: Option<TicketIn>,
    #[serde(default)]
    pub params: Value,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

pub type Created = (StatusCode, Extension<AuditNote>, Json<JobView>);

pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    OptionalJson(body): OptionalJson<CreateJob>,
) -> Result<Created, ApiError> {
    let Some(body) = body else {
        return Err(ApiError::bad_request(
            "the body is empty; send {\"action\":…,\"targets\":[{\"site\":…,\"id\":…}],…}",
        ));
    };
    submit(&state, &caller, &body).await
}

/// A job as the single-job answer shows it (tasks, attempts, ticket status).
pub async fn job_view_of(state: &AppState, detail: JobDetail) -> Result<JobView, ApiError> {
    detail_view(state, detail).await
}

/// Validates and stores a job request from any entry point (the jobs API, zero-touch
/// requests): 202 for a new job, 200 for the same request repeated, 409 for a key or ticket
/// that already belongs to a different request.
pub async fn submit(
    state: &AppState,
    caller: &Caller,
    body: &CreateJob,
) -> Result<Created, ApiError> {
    let state = state.clone();
    let mut checked = validate(&state, caller, body)?;
    let tasks = tasks_for(&state, checked.spec, body).await?;
    let kept = match checked.op {
        actions::Operation::Workflow { .. } => {
            workflow::keep_secrets(&state, caller, body, &mut checked).await?
        }
        _ => account::keep_secrets(&state, body, &mut checked).await?,
    };
    let forget = |kept: &account::Kept| {
        if let (Some(jobs), Some(reference)) = (&state.jobs, kept.reference) {
            jobs.secrets().drop_ref(reference);
        }
    };
    let (spec, params) = (checked.spec, checked.params);
    let new = NewJob {
        action: spec.name.to_owned(),
        requested_by: caller.name.clone(),
        ticket: body.ticket.as_ref().map(|t| TicketRef {
            instance: t.instance.clone(),
            number: t.number.clone(),
        }),
        params: params.clone(),
        idempotency_key: body.idempotency_key.clone(),
        tasks,
    };
    let created = match state.store.create_job(new.clone()).await {
        Ok(created) => created,
        Err(e) => {
            forget(&kept);
            return Err(ApiError::store(e));
        }
    };
    if !created.created {
        forget(&kept);
        let job = &created.detail.job;
        if !same_request(&created.detail, spec, &params, &new) {
            let why = if new.idempotency_key.is_some() && job.idempotency_key == new.idempotency_key
            {
                format!(
                    "idempotency key {:?}",
                    job.idempotency_key.as_deref().unwrap_or_default()
                )
            } else {
                "the same ticket and action".to_owned()
            };
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "{why} already belongs to job {} ({} on {} targets) with different content; \
                     use a new key, or repeat the original request exactly",
                    job.id, job.action, job.progress.total
                ),
            ));
        }
        let note = AuditNote {
            message: Some(format!("repeated request: existing job {}", job.id)),
            targets: None,
        };
        let view = detail_view(&state, created.detail).await?;
        return Ok((StatusCode::OK, Extension(note), Json(view)));
    }
    events::job(state.store.as_ref(), &created.detail.job).await;
    if let Some(jobs) = &state.jobs {
        jobs.wake();
    }
    let job = &created.detail.job;
    let note = AuditNote {
        message: Some(format!(
            "job {}: {} on {} target(s){}",
            job.id,
            job.action,
            job.progress.total,
            job.ticket
                .as_ref()
                .map(|t| format!(" for ticket {} {}", t.instance, t.number))
                .unwrap_or_default()
        )),
        targets: Some(audit_targets(&new.tasks)),
    };
    let mut view = detail_view(&state, created.detail).await?;
    view.temporary_password = kept.temporary.map(view::ShownOnce);
    Ok((StatusCode::ACCEPTED, Extension(note), Json(view)))
}

/// Most targets one audit entry lists; a bulk job's entry names the first ones and how many
/// more there are (the job itself lists them all).
const AUDIT_TARGETS: usize = 100;

/// A new job's targets as its audit entry records them.
fn audit_targets(tasks: &[NewTask]) -> Value {
    let mut listed: Vec<Value> = tasks
        .iter()
        .take(AUDIT_TARGETS)
        .map(|t| serde_json::json!({ "site": t.site, "id": t.target_id }))
        .collect();
    if tasks.len() > AUDIT_TARGETS {
        listed.push(serde_json::json!({ "more": tasks.len() - AUDIT_TARGETS }));
    }
    Value::Array(listed)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub state: Option<String>,
    pub action: Option<String>,
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: u32,
}

/// Pages scanned for one answer when filtering by action (the store filters by state only).
const MAX_SCAN_PAGES: usize = 20;

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<JobPageView>, ApiError> {
    let job_state = match query.state.as_deref() {
        None => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "state {s:?} is not one of queued, running, succeeded, failed, \
                 partially_failed, cancelled"
            ))
        })?),
    };
    if let Some(action) = &query.action
        && actions::lookup(action).is_none()
    {
        return Err(ApiError::bad_request(format!(
            "unknown action {action:?}; known actions: {}",
            actions::names()
        )));
    }
    let limit = match query.limit {
        0 => 100,
        n => n.min(1000),
    } as usize;
    let mut items = Vec::new();
    let mut cursor = query.cursor.clone();
    for _ in 0..MAX_SCAN_PAGES {
        let page = state
            .store
            .list_jobs(JobQuery {
                state: job_state,
                cursor: cursor.clone(),
                limit: limit as u32,
                ..JobQuery::default()
            })
            .await
            .map_err(ApiError::store)?;
        cursor = page.next_cursor.clone();
        let mut jobs = page.items.into_iter();
        for job in jobs.by_ref() {
            if query.action.as_deref().is_none_or(|a| a == job.action) {
                items.push(job);
            }
            if items.len() == limit {
                break;
            }
        }
        if items.len() == limit {
            // Resume after the last job returned, not after the page's end.
            if jobs.next().is_some() || cursor.is_some() {
                cursor = items.last().map(cursor_after);
            }
            break;
        }
        if cursor.is_none() {
            break;
        }
    }
    Ok(Json(JobPageView {
        items: items.into_iter().map(|j| job_view(j, None, None)).collect(),
        next_cursor: cursor,
    }))
}

/// The store's cursor after `job`: "<created_at ms>:<id>", the format the SQLite store's
/// `list_jobs` reads (a new backend must accept it too, or the store grows an action filter).
fn cursor_after(job: &Job) -> String {
    format!("{}:{}", job.created_at.timestamp_millis(), job.id)
}

async fn load(state: &AppState, id: &str) -> Result<JobDetail, ApiError> {
    let id = Uuid::parse_str(id)
        .map_err(|_| ApiError::bad_request(format!("{id:?} is not a job id (a UUID)")))?;
    state
        .store
        .get_job(id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("job {id} not found")))
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<JobView>, ApiError> {
    let detail = load(&state, &id).await?;
    Ok(Json(detail_view(&state, detail).await?))
}

fn action_role(caller: &Caller, job: &Job) -> Result<(), ApiError> {
    match actions::lookup(&job.action) {
        Some(spec) => check_role(caller, spec),
        // A job of an action this version does not know: only an admin touches it.
        None if caller.role.allows(crate::adapter::store::Role::Admin) => Ok(()),
        None => Err(ApiError::forbidden(format!(
            "job {} runs {}, which only an admin may change",
            job.id, job.action
        ))),
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<(Extension<AuditNote>, Json<JobView>), ApiError> {
    let detail = load(&state, &id).await?;
    action_role(&caller, &detail.job)?;
    if detail.job.state.is_terminal() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "job {} is already {}; nothing to cancel",
                detail.job.id,
                detail.job.state.as_str()
            ),
        ));
    }
    let detail = state
        .store
        .cancel_job(detail.job.id)
        .await
        .map_err(ApiError::store)?;
    events::job(state.store.as_ref(), &detail.job).await;
    let note = AuditNote {
        message: Some(format!("job {} cancel requested", detail.job.id)),
        targets: None,
    };
    Ok((Extension(note), Json(detail_view(&state, detail).await?)))
}

pub async fn retry(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<String>,
) -> Result<(Extension<AuditNote>, Json<JobView>), ApiError> {
    let detail = load(&state, &id).await?;
    action_role(&caller, &detail.job)?;
    let failed = detail
        .tasks
        .iter()
        .filter(|t| t.state == TaskState::Failed)
        .count();
    if failed == 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("job {} has no failed targets to retry", detail.job.id),
        ));
    }
    let detail = state
        .store
        .retry_job(detail.job.id)
        .await
        .map_err(ApiError::store)?;
    events::job(state.store.as_ref(), &detail.job).await;
    if let Some(jobs) = &state.jobs {
        jobs.wake();
    }
    let note = AuditNote {
        message: Some(format!(
            "job {}: {failed} failed target(s) queued again",
            detail.job.id
        )),
        targets: None,
    };
    Ok((Extension(note), Json(detail_view(&state, detail).await?)))
}
