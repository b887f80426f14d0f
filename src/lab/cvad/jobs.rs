//! Asynchronous jobs (`?async=true`): NotStarted -> InProgress -> Complete | Failed | Canceled,
//! with progress interpolated on the simulated clock, MCS provisioning through sub-jobs, owner
//! scoping and 48-hour retention.

use super::actions::{self, Action};
use super::error::{ApiError, ApiResult, NO_CONNECTOR};
use super::state::SiteState;
use super::timeline::Event;
use crate::cvad::wire::{JobResponse, JobStatus, NameValue};
use chrono::{DateTime, Duration, Utc};

/// Delay between accepting a job and starting it.
pub(super) const START_DELAY_SECS: i64 = 1;
/// Jobs are removed this long after they end.
const RETENTION_HOURS: i64 = 48;
/// MCS provisioning phases: (sub-job type, seconds).
const MCS_PHASES: [(&str, i64); 3] = [
    ("CreateMachineAccounts", 8),
    ("CreateVirtualMachines", 17),
    ("AddMachines", 5),
];

#[derive(Debug, Clone)]
pub struct JobRec {
    pub id: String,
    pub owner: String,
    pub job_type: &'static str,
    pub parameters: Vec<NameValue>,
    pub status: JobStatus,
    pub created: DateTime<Utc>,
    pub started: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// Progress runs from `started` to this time.
    pub expected_end: Option<DateTime<Utc>>,
    pub final_progress: Option<u32>,
    pub error: Option<String>,
    pub action: Action,
    /// Path of the affected object under `/cvad/manage`, for `Results` and `ResultLocation`.
    pub result_path: String,
    /// Base URL of the endpoint the job was created through.
    pub base: String,
    /// Completed MCS phases (0 before the first one ends).
    pub phase: usize,
}

impl JobRec {
    fn is_mcs(&self) -> bool {
        matches!(self.action, Action::AddCatalogMachine { .. })
    }
}

/// Accepts an action as a job; returns its id. The action runs when the job starts.
pub fn create(
    state: &mut SiteState,
    owner: &str,
    action: Action,
    parameters: Vec<NameValue>,
    result_path: String,
    base: &str,
    now: DateTime<Utc>,
) -> String {
    let id = state.new_guid();
    let key = state.next_job_key;
    state.next_job_key += 1;
    if let Action::AddCatalogMachine { catalog, .. } = &action
        && let Some(c) = state.catalogs.get_mut(*catalog)
    {
        c.jobs_running += 1;
    }
    let job = JobRec {
        id: id.clone(),
        owner: owner.to_string(),
        job_type: action.job_type(),
        parameters,
        status: JobStatus::NotStarted,
        created: now,
        started: None,
        ended: None,
        expected_end: None,
        final_progress: None,
        error: None,
        action,
        result_path,
        base: base.to_string(),
        phase: 0,
    };
    state.jobs.insert(key, job);
    state.job_by_id.insert(id.to_ascii_lowercase(), key);
    state.timeline.schedule(
        now + Duration::seconds(START_DELAY_SECS),
        Event::Job { job: key },
    );
    id
}

/// Advances a job at one of its deadlines.
pub fn step(state: &mut SiteState, key: u64, at: DateTime<Utc>) {
    let Some(job) = state.jobs.get(&key) else {
        return;
    };
    if job.status.is_terminal() {
        return;
    }
    let action = job.action.clone();
    if actions::check_zone(state, &action).is_err() {
        finish(
            state,
            key,
            at,
            JobStatus::Failed,
            Some(NO_CONNECTOR.to_string()),
        );
        return;
    }
    let status = job.status;
    let phase = job.phase;
    if status == JobStatus::NotStarted {
        if let Some(job) = state.jobs.get_mut(&key) {
            job.status = JobStatus::InProgress;
            job.started = Some(at);
        }
        if matches!(action, Action::AddCatalogMachine { .. }) {
            let total: i64 = MCS_PHASES.iter().map(|(_, secs)| secs).sum();
            set_expected(state, key, at + Duration::seconds(total));
            state.timeline.schedule(
                at + Duration::seconds(MCS_PHASES[0].1),
                Event::Job { job: key },
            );
            return;
        }
        match actions::perform(state, &action, at) {
            Ok(secs) => {
                set_expected(state, key, at + Duration::seconds(secs));
                state
                    .timeline
                    .schedule(at + Duration::seconds(secs), Event::Job { job: key });
            }
            Err(err) => finish(state, key, at, JobStatus::Failed, Some(err.detail)),
        }
        return;
    }
    // In progress: either an MCS phase ended or the action's effect is done.
    if matches!(action, Action::AddCatalogMachine { .. }) {
        let next = phase + 1;
        if next < MCS_PHASES.len() {
            if let Some(job) = state.jobs.get_mut(&key) {
                job.phase = next;
            }
            state.timeline.schedule(
                at + Duration::seconds(MCS_PHASES[next].1),
                Event::Job { job: key },
            );
            return;
        }
        if let Some(job) = state.jobs.get_mut(&key) {
            job.phase = MCS_PHASES.len();
        }
        match actions::perform(state, &action, at) {
            Ok(_) => {
                let path = match &action {
                    Action::AddCatalogMachine { name, .. } => state
                        .find_machine(name)
                        .and_then(|m| state.machines.get(m))
                        .map(|m| format!("/Machines/{}", m.id)),
                    _ => None,
                };
                if let (Some(path), Some(job)) = (path, state.jobs.get_mut(&key)) {
                    job.result_path = path;
                }
                finish(state, key, at, JobStatus::Complete, None)
            }
            Err(err) => finish(state, key, at, JobStatus::Failed, Some(err.detail)),
        }
        return;
    }
    finish(state, key, at, JobStatus::Complete, None);
}

fn set_expected(state: &mut SiteState, key: u64, end: DateTime<Utc>) {
    if let Some(job) = state.jobs.get_mut(&key) {
        job.expected_end = Some(end);
    }
}

fn finish(
    state: &mut SiteState,
    key: u64,
    at: DateTime<Utc>,
    status: JobStatus,
    error: Option<String>,
) {
    let Some(job) = state.jobs.get_mut(&key) else {
        return;
    };
    let progress = progress(job, at);
    job.status = status;
    if let Some(before) = job.ended.replace(at) {
        state.jobs_ended.remove(&(before, key));
    }
    job.error = error;
    job.final_progress = Some(if status == JobStatus::Complete {
        100
    } else {
        progress
    });
    let catalog = match job.action {
        Action::AddCatalogMachine { catalog, .. } => Some(catalog),
        _ => None,
    };
    state.jobs_ended.insert((at, key));
    if let Some(c) = catalog.and_then(|catalog| state.catalogs.get_mut(catalog)) {
        c.jobs_running = c.jobs_running.saturating_sub(1);
    }
}

/// Cancels a running job of `owner`.
pub fn cancel(state: &mut SiteState, owner: &str, id: &str, now: DateTime<Utc>) -> ApiResult<()> {
    let key = find(state, owner, id)?;
    let job = state
        .jobs
        .get(&key)
        .ok_or_else(|| ApiError::not_found("Job", id))?;
    if job.status.is_terminal() {
        return Err(ApiError::invalid_operation(format!(
            "Job {id} has already ended ({:?})",
            job.status
        )));
    }
    if !job.is_mcs() {
        return Err(ApiError::invalid_operation(format!(
            "Job {id} of type {} cannot be cancelled",
            job.job_type
        )));
    }
    finish(state, key, now, JobStatus::Canceled, None);
    Ok(())
}

/// The key of a job visible to `owner`; other callers' jobs are reported as not found.
pub fn find(state: &SiteState, owner: &str, id: &str) -> ApiResult<u64> {
    state
        .job_by_id
        .get(&id.to_ascii_lowercase())
        .copied()
        .filter(|key| state.jobs.get(key).is_some_and(|j| j.owner == owner))
        .ok_or_else(|| ApiError::not_found("Job", id))
}

/// Drops jobs that ended more than 48 hours ago.
pub fn purge_expired(state: &mut SiteState, now: DateTime<Utc>) {
    let cutoff = now - Duration::hours(RETENTION_HOURS);
    while let Some(&(ended, key)) = state.jobs_ended.first()
        && ended < cutoff
    {
        state.jobs_ended.pop_first();
        if let Some(job) = state.jobs.remove(&key) {
            state.job_by_id.remove(&job.id.to_ascii_lowercase());
        }
    }
}

fn progress(job: &JobRec, now: DateTime<Utc>) -> u32 {
    if let Some(done) = job.final_progress {
        return done;
    }
    match (job.started, job.expected_end) {
        (Some(start), Some(end)) if end > start => {
            let total = (end - start).num_milliseconds() as f64;
            let done = (now - start).num_milliseconds() as f64;
            (5.0 + 90.0 * (done / total).clamp(0.0, 1.0)) as u32
        }
        (Some(_), _) => 50,
        _ => 0,
    }
}

fn time_pair(t: Option<DateTime<Utc>>) -> (Option<String>, Option<String>) {
    match t {
        Some(t) => (
            Some(t.format("%-m/%-d/%Y %-I:%M:%S %p").to_string()),
            Some(t.to_rfc3339()),
        ),
        None => (None, None),
    }
}

/// The job as `JobResponseModel`.
pub fn render(job: &JobRec, now: DateTime<Utc>) -> JobResponse {
    let (creation_time, formatted_creation_time) = time_pair(Some(job.created));
    let (start_time, formatted_start_time) = time_pair(job.started);
    let (end_time, formatted_end_time) = time_pair(job.ended);
    let sub_jobs = if job.is_mcs() {
        mcs_sub_jobs(job, now)
    } else {
        Vec::new()
    };
    let error_parameters = job
        .error
        .iter()
        .map(|e| NameValue {
            name: "ErrorDetails".into(),
            value: e.clone(),
        })
        .collect();
    JobResponse {
        id: job.id.clone(),
        job_type: job.job_type.to_string(),
        overall_progress_percent: Some(progress(job, now)),
        is_cancellable: job.is_mcs() && !job.status.is_terminal(),
        parameters: job.parameters.clone(),
        sub_jobs,
        status: job.status,
        result_location: (job.status == JobStatus::Complete)
            .then(|| format!("{}/cvad/manage{}", job.base, job.result_path)),
        error_string: job.error.clone(),
        error_code: job.error.as_ref().map(|_| "UnknownError".to_string()),
        error_parameters,
        creation_time,
        formatted_creation_time,
        start_time,
        formatted_start_time,
        end_time,
        formatted_end_time,
    }
}

fn mcs_sub_jobs(job: &JobRec, now: DateTime<Utc>) -> Vec<JobResponse> {
    let mut out = Vec::new();
    let mut phase_start = job.started;
    for (index, (kind, secs)) in MCS_PHASES.iter().enumerate() {
        let phase_end = phase_start.map(|s| s + Duration::seconds(*secs));
        let (status, percent) = if index < job.phase {
            (JobStatus::Complete, 100)
        } else if job.status == JobStatus::InProgress && index == job.phase {
            let done = match (phase_start, phase_end) {
                (Some(s), Some(e)) => {
                    let total = (e - s).num_milliseconds().max(1) as f64;
                    ((now - s).num_milliseconds() as f64 / total).clamp(0.0, 0.99)
                }
                _ => 0.0,
            };
            (JobStatus::InProgress, (done * 100.0) as u32)
        } else if job.status.is_terminal()
            && index == job.phase
            && job.status != JobStatus::Complete
        {
            (job.status, 0)
        } else {
            (JobStatus::NotStarted, 0)
        };
        let (start_time, formatted_start_time) =
            time_pair(phase_start.filter(|_| index <= job.phase));
        let (end_time, formatted_end_time) = time_pair(phase_end.filter(|_| index < job.phase));
        out.push(JobResponse {
            id: format!("{}-{}", job.id, index + 1),
            job_type: kind.to_string(),
            overall_progress_percent: Some(percent),
            is_cancellable: false,
            parameters: Vec::new(),
            sub_jobs: Vec::new(),
            status,
            result_location: None,
            error_string: None,
            error_code: None,
            error_parameters: Vec::new(),
            creation_time: None,
            formatted_creation_time: None,
            start_time,
            formatted_start_time,
            end_time,
            formatted_end_time,
        });
        phase_start = phase_end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::cvad::seed::test_site;
    use crate::lab::cvad::timeline::advance;
    use crate::model::PowerState;

    #[test]
    fn a_job_progresses_and_is_seen_only_by_its_owner() {
        let (mut state, clock) = test_site();
        let t0 = clock.now();
        let machine = state
            .machines
            .iter()
            .position(|m| {
                m.power == PowerState::Off
                    && m.fault == crate::model::FaultState::None
                    && !state.supported_actions(m).is_empty()
            })
            .expect("an off machine");
        let action = Action::Power {
            machine,
            action: crate::model::PowerAction::Start,
            force: false,
        };
        let id = create(
            &mut state,
            "alice",
            action,
            Vec::new(),
            "/Machines/x".into(),
            "http://h",
            t0,
        );
        assert!(find(&state, "bob", &id).is_err());
        let key = find(&state, "alice", &id).expect("owner sees it");
        assert_eq!(render(&state.jobs[&key], t0).status, JobStatus::NotStarted);
        advance(&mut state, t0 + Duration::seconds(1));
        let started = render(&state.jobs[&key], t0 + Duration::seconds(1));
        assert_eq!(started.status, JobStatus::InProgress);
        let mid = render(&state.jobs[&key], t0 + Duration::seconds(4));
        assert!(mid.overall_progress_percent > started.overall_progress_percent);
        advance(&mut state, t0 + Duration::seconds(30));
        let done = render(&state.jobs[&key], t0 + Duration::seconds(30));
        assert_eq!(done.status, JobStatus::Complete);
        assert_eq!(done.overall_progress_percent, Some(100));
        assert_eq!(
            done.result_location.as_deref(),
            Some("http://h/cvad/manage/Machines/x")
        );
        // Only MCS jobs can be cancelled, and not once ended.
        assert!(cancel(&mut state, "alice", &id, t0 + Duration::seconds(31)).is_err());
        // Kept for 48 hours after the end.
        assert!(state.jobs_ended.iter().any(|(_, k)| *k == key));
        advance(&mut state, t0 + Duration::hours(47));
        assert!(find(&state, "alice", &id).is_ok());
        advance(&mut state, t0 + Duration::hours(49));
        assert!(find(&state, "alice", &id).is_err());
        // The purge's index of ended jobs holds only jobs the site still keeps.
        assert!(
            state
                .jobs_ended
                .iter()
                .all(|(_, key)| state.jobs.contains_key(key))
        );
        assert!(!state.jobs_ended.iter().any(|(_, k)| *k == key));
    }

    #[test]
    fn an_mcs_job_creates_the_machine_at_the_end_unless_cancelled() {
        let (mut state, clock) = test_site();
        let t0 = clock.now();
        let catalog = state
            .catalogs
            .iter()
            .position(|c| c.naming_scheme.is_some())
            .expect("mcs");
        let before = state.machines.len();
        let add = |name: &str| Action::AddCatalogMachine {
            catalog,
            name: name.into(),
            assigned: Vec::new(),
            maintenance: false,
        };
        let one = create(
            &mut state,
            "a",
            add("NEW-001"),
            Vec::new(),
            String::new(),
            "http://h",
            t0,
        );
        let two = create(
            &mut state,
            "a",
            add("NEW-002"),
            Vec::new(),
            String::new(),
            "http://h",
            t0,
        );
        advance(&mut state, t0 + Duration::seconds(10));
        assert_eq!(state.catalogs[catalog].jobs_running, 2);
        cancel(&mut state, "a", &two, t0 + Duration::seconds(10))
            .expect("cancellable while running");
        advance(&mut state, t0 + Duration::seconds(40));
        let k1 = find(&state, "a", &one).expect("job");
        let k2 = find(&state, "a", &two).expect("job");
        assert_eq!(state.jobs[&k1].status, JobStatus::Complete);
        assert_eq!(state.jobs[&k2].status, JobStatus::Canceled);
        assert_eq!(state.machines.len(), before + 1);
        assert!(state.find_machine("NEW-001").is_some());
        assert!(state.find_machine("NEW-002").is_none());
        assert_eq!(state.catalogs[catalog].jobs_running, 0);
    }
}
