//! Asynchronous jobs: reading, listing, cancelling and following them to the end.

use super::client::CvadClient;
use super::convert;
use super::error::{CvadError, job_failure_hint, truncate};
use super::paging::{MAX_PAGE_SIZE, Pager};
use super::transport::ApiRequest;
use super::wire::{JobResponse, JobStateResponse, JobStatus};
use chrono::{DateTime, Utc};
use reqwest::Method;
use std::time::Duration;
use tokio::time::Instant;

/// The longest job message kept in an error; ErrorDetails can be a whole stack dump.
const MAX_MESSAGE: usize = 500;

/// The `Type` of the site jobs the adapter starts and follows, as the API names them.
pub mod job_types {
    pub const LOGOFF_SESSIONS: &str = "LogoffSessions";
    pub const DISCONNECT_SESSIONS: &str = "DisconnectSessions";
    pub const UPDATE_MACHINE: &str = "UpdateMachineCatalogMachine";
    pub const PROVISION_MACHINE: &str = "AddMachineCatalogMachine";
    pub const ADD_GROUP_MACHINES: &str = "AddDeliveryGroupMachines";
    pub const REMOVE_GROUP_MACHINES: &str = "RemoveDeliveryGroupMachines";
    pub const UPDATE_DELIVERY_GROUP: &str = "UpdateDeliveryGroup";
    pub const UPDATE_APPLICATION_GROUP: &str = "UpdateApplicationGroup";
    pub const DELETE_MACHINE: &str = "DeleteMachine";
}

/// A CVAD job (`JobResponseModel`), with times parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    /// `JobType`, e.g. `StartMachines`.
    pub job_type: String,
    pub status: JobStatus,
    /// 0..=100; `None` when the job does not report progress.
    pub progress: Option<u32>,
    pub is_cancellable: bool,
    pub parameters: Vec<(String, String)>,
    pub sub_jobs: Vec<Job>,
    pub error_string: Option<String>,
    pub error_code: Option<String>,
    pub error_parameters: Vec<(String, String)>,
    pub result_location: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
}

impl Job {
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    pub fn succeeded(&self) -> bool {
        matches!(
            self.status,
            JobStatus::Complete | JobStatus::CompleteWithWarning
        )
    }

    /// The job parameter `name` (`Id`, `Name`, `NameOrId`, …).
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// What went wrong, as the site put it: `ErrorParameters[ErrorDetails]`, else
    /// `ErrorString`, else `ErrorCode`, else the first failed sub-job's message.
    pub fn failure_message(&self) -> Option<String> {
        let details = self
            .error_parameters
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("ErrorDetails"))
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty());
        details
            .or_else(|| self.error_string.clone())
            .or_else(|| self.error_code.clone())
            .or_else(|| {
                self.sub_jobs
                    .iter()
                    .filter(|s| matches!(s.status, JobStatus::Failed | JobStatus::Canceled))
                    .find_map(Job::failure_message)
            })
    }

    /// How many sub-jobs have finished, out of how many.
    pub fn sub_job_counts(&self) -> (usize, usize) {
        let done = self.sub_jobs.iter().filter(|s| s.is_terminal()).count();
        (done, self.sub_jobs.len())
    }
}

/// Where a job stands, as a listing gives it (`GET /Jobs` read by [`CvadClient::job_states`]):
/// no parameters, sub-jobs, errors or times. A failed job's reason needs [`CvadClient::job`].
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    pub id: String,
    /// `JobType`, e.g. `LogoffSessions`.
    pub job_type: String,
    pub status: JobStatus,
    /// 0..=100; `None` when the job does not report progress.
    pub progress: Option<u32>,
    pub is_cancellable: bool,
}

fn job_state(j: JobStateResponse) -> JobState {
    JobState {
        id: j.id,
        job_type: j.job_type,
        status: j.status,
        progress: j.overall_progress_percent.map(|p| p.min(100)),
        is_cancellable: j.is_cancellable,
    }
}

/// The error for a job that ended in `Failed` or `Canceled`.
pub(crate) fn job_failed(site: &str, job: &Job) -> CvadError {
    let message = job.failure_message().unwrap_or_else(|| match job.status {
        JobStatus::Canceled => "canceled before it finished".to_string(),
        _ => "the site gave no reason".to_string(),
    });
    // Match the hint on every message the job carries: the outage string may be in
    // ErrorString while ErrorDetails holds something longer.
    let hint = job_failure_hint(&message)
        .or_else(|| job.error_string.as_deref().and_then(job_failure_hint));
    CvadError::JobFailed {
        site: site.to_string(),
        job_id: job.id.clone(),
        job_type: job.job_type.clone(),
        status: job.status,
        message: truncate(&message, MAX_MESSAGE),
        hint,
    }
}

impl CvadClient {
    /// `GET /Jobs/{id}`.
    pub async fn job(&self, id: &str) -> Result<Job, CvadError> {
        let wire: JobResponse = self.get_json(&["Jobs", id]).await?;
        Ok(convert::job(wire))
    }

    /// `GET /Jobs`: the caller's active and recently finished jobs.
    pub async fn jobs(&self) -> Result<Vec<Job>, CvadError> {
        let request = ApiRequest::new(Method::GET, &["Jobs"]);
        Pager::new(self.clone(), request, None, convert::job)
            .collect_all()
            .await
    }

    /// `GET /Jobs` in the largest pages the API serves, each job decoded for its state only:
    /// for following many jobs at once, where the listing holds every job the site keeps.
    pub async fn job_states(&self) -> Result<Vec<JobState>, CvadError> {
        let request = ApiRequest::new(Method::GET, &["Jobs"]);
        Pager::new(self.clone(), request, Some(MAX_PAGE_SIZE), job_state)
            .collect_all()
            .await
    }

    /// `POST /Jobs/{id}/$cancel`.
    pub async fn cancel_job(&self, id: &str) -> Result<(), CvadError> {
        let mut request = ApiRequest::new(Method::POST, &["Jobs", id, "$cancel"]);
        // Cancelling twice is harmless.
        request.replayable = true;
        self.call(request).await.map(|_| ())
    }

    /// Polls a job every `poll_interval` until it ends, calling `on_progress` with each state
    /// read (progress percent, sub-jobs). Returns the finished job on `Complete` or
    /// `CompleteWithWarning`, [`CvadError::JobFailed`] with the site's message on `Failed` or
    /// `Canceled`. After `timeout` the job is cancelled (if it can be) and
    /// [`CvadError::JobTimeout`] is returned. Passing blips (site unreachable, throttled) do
    /// not end the wait; they are retried until the timeout.
    pub async fn wait_job(
        &self,
        id: &str,
        poll_interval: Duration,
        timeout: Duration,
        mut on_progress: impl FnMut(&Job),
    ) -> Result<Job, CvadError> {
        let started = Instant::now();
        let deadline = started + timeout;
        let poll_interval = poll_interval.max(Duration::from_millis(50));
        let mut last: Option<Job> = None;
        loop {
            match self.job(id).await {
                Ok(job) => {
                    on_progress(&job);
                    if job.is_terminal() {
                        return if job.succeeded() {
                            Ok(job)
                        } else {
                            Err(job_failed(self.site_name(), &job))
                        };
                    }
                    last = Some(job);
                }
                Err(err) if err.is_retryable() => {
                    tracing::debug!(job = id, error = %err, "job poll failed; will poll again");
                }
                Err(err) => return Err(err),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(self.give_up(id, last.as_ref(), now - started).await);
            }
            tokio::time::sleep(poll_interval.min(deadline - now)).await;
        }
    }

    async fn give_up(&self, id: &str, last: Option<&Job>, waited: Duration) -> CvadError {
        // Try to cancel unless the site told us it cannot be.
        let cancellable = last.is_none_or(|j| j.is_cancellable);
        let canceled = cancellable
            && match self.cancel_job(id).await {
                Ok(()) => true,
                Err(err) => {
                    tracing::warn!(job = id, error = %err, "could not cancel a timed-out job");
                    false
                }
            };
        CvadError::JobTimeout {
            site: self.site_name().to_string(),
            job_id: id.to_string(),
            job_type: last.map(|j| j.job_type.clone()).unwrap_or_default(),
            waited,
            progress: last.and_then(|j| j.progress),
            canceled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cvad::error::CONNECTOR_HINT;

    fn job(status: JobStatus) -> Job {
        Job {
            id: "j1".into(),
            job_type: "StartMachines".into(),
            status,
            progress: None,
            is_cancellable: true,
            parameters: vec![("NameOrId".into(), "LAB|VDI-001".into())],
            sub_jobs: Vec::new(),
            error_string: None,
            error_code: None,
            error_parameters: Vec::new(),
            result_location: None,
            created: None,
            started: None,
            ended: None,
        }
    }

    #[test]
    fn failure_messages_prefer_error_details() {
        let mut failed = job(JobStatus::Failed);
        failed.error_string = Some("Generic failure".into());
        assert_eq!(failed.failure_message().as_deref(), Some("Generic failure"));
        failed.error_parameters = vec![("ErrorDetails".into(), "Disk quota exceeded".into())];
        assert_eq!(
            failed.failure_message().as_deref(),
            Some("Disk quota exceeded")
        );
        assert_eq!(failed.parameter("nameorid"), Some("LAB|VDI-001"));
    }

    #[test]
    fn sub_job_failures_surface() {
        let mut parent = job(JobStatus::Failed);
        let mut child = job(JobStatus::Failed);
        child.error_string = Some("No Citrix Workspace Cloud Connector was found".into());
        parent.sub_jobs = vec![job(JobStatus::Complete), child];
        assert_eq!(parent.sub_job_counts(), (2, 2));
        let err = job_failed("Cloud", &parent);
        match err {
            CvadError::JobFailed { hint, message, .. } => {
                assert_eq!(hint, Some(CONNECTOR_HINT));
                assert!(message.contains("Cloud Connector"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn canceled_jobs_say_so() {
        let err = job_failed("London", &job(JobStatus::Canceled));
        assert_eq!(
            err.to_string(),
            "CVAD site London: job StartMachines j1 was canceled: canceled before it finished"
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn a_listed_job_keeps_its_state_and_skips_the_rest() {
        let listed = serde_json::json!({
            "Id": "J1", "Type": "LogoffSessions", "Status": "InProgress",
            "OverallProgressPercent": 140, "IsCancellable": true,
            "Parameters": [{"Name": "Id", "Value": "s1"}],
            "SubJobs": [{"Id": "J2", "Type": "LogoffSessions", "Status": "Complete"}],
            "ErrorParameters": [], "FormattedCreationTime": "2026-11-27T10:00:00Z"
        });
        let wire: JobStateResponse = serde_json::from_value(listed).expect("a job model");
        assert_eq!(
            job_state(wire),
            JobState {
                id: "J1".into(),
                job_type: "LogoffSessions".into(),
                status: JobStatus::InProgress,
                progress: Some(100),
                is_cancellable: true,
            }
        );
    }
}
