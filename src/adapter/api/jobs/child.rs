//! Jobs started by other jobs (a runbook's steps) through the same path as
//! `POST /api/v1/jobs`: validated, routed and audited like any request, as a caller named for
//! the runbook and the person who ran it.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use serde_json::json;
use uuid::Uuid;

use super::super::AppState;
use super::super::guard::Caller;
use super::{CreateJob, TargetIn, submit};
use crate::adapter::engine::submit::{ChildJob, JobSubmitter, SubmitError};
use crate::adapter::store::{AuditOutcome, NewAuditEntry};

/// The API's job submission for the engine. The engine starts before the API's state exists
/// (the state holds the engine's handle), so the state is set once both are built.
#[derive(Default)]
pub struct ApiSubmitter {
    state: OnceLock<AppState>,
}

impl ApiSubmitter {
    pub fn new() -> Arc<ApiSubmitter> {
        Arc::new(ApiSubmitter::default())
    }

    /// Called once the state is complete; later calls change nothing.
    pub fn attach(&self, state: AppState) {
        let _ = self.state.set(state);
    }
}

#[async_trait]
impl JobSubmitter for ApiSubmitter {
    async fn submit(&self, job: ChildJob) -> Result<Uuid, SubmitError> {
        let Some(state) = self.state.get() else {
            return Err(SubmitError::Unavailable(
                "the adapter is still starting; jobs cannot be submitted yet".into(),
            ));
        };
        let caller = Caller {
            id: Uuid::nil(),
            name: job.requested_by.clone(),
            role: job.role,
            expires_at: None,
        };
        let request = CreateJob {
            action: job.action.clone(),
            targets: job
                .targets
                .iter()
                .map(|(site, id)| TargetIn {
                    site: site.clone(),
                    id: id.clone(),
                })
                .collect(),
            ticket: None,
            params: job.params.clone(),
            idempotency_key: Some(job.idempotency_key.clone()),
        };
        let answer = submit(state, &caller, &request).await;
        let (outcome, message) = match &answer {
            Ok((_, note, view)) => (
                AuditOutcome::Allowed,
                note.message
                    .clone()
                    .unwrap_or_else(|| format!("job {}", view.id)),
            ),
            Err(e) => (AuditOutcome::Denied, e.message.clone()),
        };
        let entry = NewAuditEntry {
            actor_id: None,
            actor_name: job.requested_by.clone(),
            action: "job.create".to_owned(),
            targets: json!(
                job.targets
                    .iter()
                    .map(|(site, id)| json!({ "site": site, "id": id }))
                    .collect::<Vec<_>>()
            ),
            ticket: None,
            outcome,
            message: Some(message),
            request_id: None,
        };
        if let Err(e) = state.store.append_audit(entry).await {
            tracing::warn!(error = %e, "cannot audit a job started by a runbook");
        }
        match answer {
            Ok((_, _, view)) => Ok(view.id),
            Err(e) if e.status.is_server_error() => Err(SubmitError::Unavailable(e.message)),
            Err(e) => Err(SubmitError::Refused(e.message)),
        }
    }
}
