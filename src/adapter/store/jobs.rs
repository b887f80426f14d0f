//! Jobs (one requested action over targets), their tasks (one per target) and attempts, and
//! the operations the job engine runs on them: idempotent creation, lease-based claiming,
//! progress, completion, cancel and retry.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StoreError;

/// A ServiceNow ticket: the instance name (as configured) and the record number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TicketRef {
    pub instance: String,
    pub number: String,
}

macro_rules! str_enum {
    ($name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

str_enum!(JobState {
    Queued = "queued",
    Running = "running",
    Succeeded = "succeeded",
    Failed = "failed",
    PartiallyFailed = "partially_failed",
    Cancelled = "cancelled",
});

str_enum!(TaskState {
    Queued = "queued",
    Running = "running",
    Succeeded = "succeeded",
    Failed = "failed",
    Cancelled = "cancelled",
});

str_enum!(AttemptOutcome {
    Succeeded = "succeeded",
    Failed = "failed",
    Cancelled = "cancelled",
});

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::PartiallyFailed,
        JobState::Cancelled,
    ];

    pub fn is_terminal(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

impl TaskState {
    pub fn is_terminal(self) -> bool {
        !matches!(self, TaskState::Queued | TaskState::Running)
    }
}

/// Task counts of a job. `total` = queued + running + succeeded + failed + cancelled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub total: u32,
    pub queued: u32,
    pub running: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub cancelled: u32,
}

impl Progress {
    /// The job state these counts imply. `started` says whether any task has been claimed or
    /// attempted, so a job whose tasks all wait for a retry reads `running`, not `queued`.
    pub fn job_state(&self, started: bool) -> JobState {
        if self.queued + self.running > 0 {
            if self.running > 0 || started {
                JobState::Running
            } else {
                JobState::Queued
            }
        } else if self.failed > 0 {
            if self.succeeded > 0 {
                JobState::PartiallyFailed
            } else {
                JobState::Failed
            }
        } else if self.cancelled > 0 {
            JobState::Cancelled
        } else {
            JobState::Succeeded
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    pub action: String,
    pub requested_by: String,
    pub ticket: Option<TicketRef>,
    pub params: serde_json::Value,
    pub idempotency_key: Option<String>,
    pub state: JobState,
    pub progress: Progress,
    /// When a cancel was requested: queued tasks were dropped then, and workers holding
    /// running tasks of this job should cancel them at the site ([`JobStore::cancel_task`]).
    pub cancel_requested_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: i64,
    pub job_id: Uuid,
    pub site: String,
    pub target_id: String,
    pub display_name: String,
    pub state: TaskState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub percent: u8,
    pub result: Option<String>,
    pub error: Option<String>,
    /// The site's async job id, kept so a resumed task can look the action up instead of
    /// repeating it.
    pub external_job_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub task_id: i64,
    pub number: u32,
    pub owner: String,
    pub started_at: DateTime<Utc>,
    /// `None` while running, or forever if its worker died mid-attempt.
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Option<AttemptOutcome>,
    pub error: Option<String>,
}

/// A job with its tasks in creation order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    pub job: Job,
    pub tasks: Vec<Task>,
}

impl JobDetail {
    /// A job just created, read back, with its tasks as reading them back would give them:
    /// queued, in the order given, numbered by the ids the insert returned (assigned in that
    /// order). A bulk job's thousands of task rows are then not read back while its creation
    /// holds the write.
    pub(crate) fn created(
        job: Job,
        tasks: Vec<NewTask>,
        mut ids: Vec<i64>,
    ) -> Result<JobDetail, StoreError> {
        if ids.len() != tasks.len() {
            return Err(StoreError::Corrupt {
                column: "tasks.id",
                reason: format!("{} tasks inserted, {} ids returned", tasks.len(), ids.len()),
            });
        }
        ids.sort_unstable();
        let at = job.created_at;
        let tasks = tasks
            .into_iter()
            .zip(ids)
            .map(|(task, id)| Task {
                id,
                job_id: job.id,
                site: task.site,
                target_id: task.target_id,
                display_name: task.display_name,
                state: TaskState::Queued,
                attempts: 0,
                next_attempt_at: at,
                lease_owner: None,
                lease_expires_at: None,
                percent: 0,
                result: None,
                error: None,
                external_job_id: None,
                created_at: at,
                updated_at: at,
            })
            .collect();
        Ok(JobDetail { job, tasks })
    }
}

#[derive(Debug, Clone)]
pub struct NewTask {
    pub site: String,
    pub target_id: String,
    pub display_name: String,
}

/// A job to create. `params` must not contain secrets (the caller guarantees it).
#[derive(Debug, Clone)]
pub struct NewJob {
    pub action: String,
    pub requested_by: String,
    pub ticket: Option<TicketRef>,
    pub params: serde_json::Value,
    pub idempotency_key: Option<String>,
    pub tasks: Vec<NewTask>,
}

/// Result of [`JobStore::create_job`]: `created` is false when an existing job was returned
/// for a repeated idempotency key or ticket+action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedJob {
    pub detail: JobDetail,
    pub created: bool,
}

/// A task after a change, with its job's recomputed state and progress (for events).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskTransition {
    pub task: Task,
    pub job: Job,
}

/// A task claimed for a new attempt by [`JobStore::claim_attempts`]: leased, `running`, its
/// attempt recorded as started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimedTask {
    /// As committed by the claim: `attempts` is this attempt's number.
    pub task: Task,
    /// The previous attempt never ended: its worker died, maybe after acting. The claim
    /// closed it as interrupted.
    pub interrupted: bool,
}

impl ClaimedTask {
    /// This attempt's number (1 for a task never attempted before).
    pub fn attempt(&self) -> u32 {
        self.task.attempts
    }
}

/// How an attempt ended, for [`JobStore::record_tasks`].
#[derive(Debug, Clone, PartialEq)]
pub enum TaskEnd {
    Succeeded {
        result: String,
    },
    /// Failed for good.
    Failed {
        error: String,
    },
    /// Cancelled at the site because the job was cancelled.
    Cancelled {
        note: String,
    },
    /// A transient failure: back to queued, due after `delay`.
    Retry {
        error: String,
        delay: Duration,
    },
}

/// One change to a task held by the writer's lease, for [`JobStore::record_tasks`].
#[derive(Debug, Clone, PartialEq)]
pub enum TaskWrite {
    /// Percent done as the site reports it, and the site's async job id once known.
    Progress {
        task_id: i64,
        percent: u8,
        external_job_id: Option<String>,
    },
    /// The attempt ended: closes it, releases the lease, moves the job's counters. The site's
    /// job id, if the attempt started one, is stored with it.
    End {
        task_id: i64,
        end: TaskEnd,
        external_job_id: Option<String>,
    },
}

impl TaskWrite {
    pub fn task_id(&self) -> i64 {
        match self {
            TaskWrite::Progress { task_id, .. } | TaskWrite::End { task_id, .. } => *task_id,
        }
    }
}

/// What [`JobStore::record_tasks`] committed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedTasks {
    /// One per write, in order: false when the writer no longer held the task's lease (taken
    /// over after it expired, or the task had ended), so the write changed nothing.
    pub applied: Vec<bool>,
    /// Every job whose counters moved, as committed.
    pub jobs: Vec<Job>,
}

/// Filters for [`JobStore::list_jobs`]; newest first.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub state: Option<JobState>,
    pub requested_by: Option<String>,
    pub ticket: Option<TicketRef>,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
    /// 0 means 100; capped at 1000.
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobPage {
    pub items: Vec<Job>,
    pub next_cursor: Option<String>,
}

/// Signed changes to a job's task counters, one per task state: what a batch of task changes
/// does to its job, which each backend applies to the job's row in one statement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Moves {
    pub(crate) queued: i64,
    pub(crate) running: i64,
    pub(crate) succeeded: i64,
    pub(crate) failed: i64,
    pub(crate) cancelled: i64,
}

impl Moves {
    /// `n` more (or, negative, fewer) tasks in `state`.
    pub(crate) fn add(&mut self, state: TaskState, n: i64) {
        let counter = match state {
            TaskState::Queued => &mut self.queued,
            TaskState::Running => &mut self.running,
            TaskState::Succeeded => &mut self.succeeded,
            TaskState::Failed => &mut self.failed,
            TaskState::Cancelled => &mut self.cancelled,
        };
        *counter += n;
    }

    /// `n` tasks moved from `from` to `to`.
    pub(crate) fn shift(&mut self, from: TaskState, to: TaskState, n: i64) {
        self.add(from, -n);
        self.add(to, n);
    }
}

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Creates the job and all its tasks atomically. A repeated idempotency key, or a repeated
    /// (ticket, action), returns the existing job (`created: false`), never a second one,
    /// even under concurrent calls.
    async fn create_job(&self, job: NewJob) -> Result<CreatedJob, StoreError>;
    async fn get_job(&self, id: Uuid) -> Result<Option<JobDetail>, StoreError>;
    async fn list_jobs(&self, query: JobQuery) -> Result<JobPage, StoreError>;
    async fn list_attempts(&self, task_id: i64) -> Result<Vec<Attempt>, StoreError>;
    /// Every attempt of every task of a job, by task id then number: one query where a job
    /// of thousands of targets would otherwise take one per task.
    async fn list_job_attempts(&self, job_id: Uuid) -> Result<Vec<Attempt>, StoreError>;
    /// Records the cancel request and turns queued tasks into cancelled ones; running ones
    /// are left to their workers, which see `cancel_requested_at` and finish or cancel them
    /// at the site. Returns the job after recomputation.
    async fn cancel_job(&self, id: Uuid) -> Result<JobDetail, StoreError>;
    /// Failed tasks become queued again, due now; their attempt history is kept and the next
    /// attempt gets the next number.
    async fn retry_job(&self, id: Uuid) -> Result<JobDetail, StoreError>;

    /// Claims up to `limit` due tasks of `site` for `owner` for `lease`: queued tasks whose
    /// `next_attempt_at` has come, and running tasks whose lease expired (their worker died).
    /// Claimed tasks are `running`, leased to `owner`. Two claimers never get the same task.
    ///
    /// SQLite: one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING` inside `BEGIN
    /// IMMEDIATE`, so claims are serialised by the database's single writer.
    /// PostgreSQL: the same UPDATE with the inner SELECT `… ORDER BY next_attempt_at LIMIT n
    /// FOR UPDATE SKIP LOCKED`, so replicas claim disjoint tasks without waiting on each other.
    async fn claim_tasks(
        &self,
        site: &str,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Task>, StoreError>;
    /// Extends the lease; fails with `LeaseLost` if `owner` no longer holds the task.
    async fn renew_lease(
        &self,
        task_id: i64,
        owner: &str,
        lease: Duration,
    ) -> Result<Task, StoreError>;
    /// Records the start of the next attempt (before acting on the target), so a crash
    /// mid-attempt leaves an open attempt behind and the resumed task knows to check first.
    async fn start_attempt(&self, task_id: i64, owner: &str) -> Result<Attempt, StoreError>;
    /// Percent done and the site's async job id, as the site reports them.
    async fn update_task_progress(
        &self,
        task_id: i64,
        owner: &str,
        percent: u8,
        external_job_id: Option<&str>,
    ) -> Result<Task, StoreError>;
    /// Task succeeded: closes the open attempt, releases the lease, recomputes the job.
    async fn complete_task(
        &self,
        task_id: i64,
        owner: &str,
        result: Option<&str>,
    ) -> Result<TaskTransition, StoreError>;
    /// Task failed for good.
    async fn fail_task(
        &self,
        task_id: i64,
        owner: &str,
        error: &str,
    ) -> Result<TaskTransition, StoreError>;
    /// The worker cancelled the task at the site (the job was cancelled meanwhile).
    async fn cancel_task(
        &self,
        task_id: i64,
        owner: &str,
        note: &str,
    ) -> Result<TaskTransition, StoreError>;
    /// Transient failure: back to queued, due after `delay`, lease released.
    async fn reschedule_task(
        &self,
        task_id: i64,
        owner: &str,
        error: &str,
        delay: Duration,
    ) -> Result<TaskTransition, StoreError>;
    /// The job alone, without its tasks (which may be thousands): what a worker needs.
    async fn job(&self, id: Uuid) -> Result<Option<Job>, StoreError>;

    /// Claims up to `limit` due tasks of `site` for `owner`, as [`JobStore::claim_tasks`]
    /// does, and starts the next attempt of each in the same transaction: an open attempt of
    /// a dead worker is closed as interrupted (and reported in [`ClaimedTask::interrupted`]),
    /// the new one is recorded as started. So a claimed task is a durable mark before anything
    /// is sent: a task claimed again after a crash always has an earlier attempt and is never
    /// taken for a first one. Appends a `task` event per claimed task and a `job` event per job
    /// whose counters moved, in the same transaction.
    ///
    /// PostgreSQL: the claim's inner SELECT takes `FOR UPDATE SKIP LOCKED`; the attempts are
    /// one `INSERT … SELECT` over the claimed ids.
    async fn claim_attempts(
        &self,
        site: &str,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<ClaimedTask>, StoreError>;
    /// Extends the leases `owner` holds on `task_ids`, in one statement; returns the ids still
    /// held. An id missing from the answer was taken over (or has ended): its worker must stop.
    async fn renew_leases(
        &self,
        owner: &str,
        task_ids: &[i64],
        lease: Duration,
    ) -> Result<Vec<i64>, StoreError>;
    /// Applies many task changes in one transaction (group commit), in order: each one only
    /// if `owner` still holds the task's lease. Appends a `task` event per changed task and a
    /// `job` event per job whose counters moved, in the same transaction, so the event feed
    /// carries every committed change and nothing uncommitted.
    async fn record_tasks(
        &self,
        owner: &str,
        writes: &[TaskWrite],
    ) -> Result<RecordedTasks, StoreError>;
    /// Gives back tasks `owner` claimed with [`JobStore::claim_attempts`] but never started
    /// (no action was sent): queued again and the unstarted attempt removed, as if never
    /// claimed. Not for tasks whose claim closed an interrupted attempt: those keep the mark.
    async fn release_tasks(&self, owner: &str, task_ids: &[i64]) -> Result<(), StoreError>;
    /// Running tasks whose lease has expired: work of a crashed worker, to be resumed.
    async fn expired_leases(&self, limit: u32) -> Result<Vec<Task>, StoreError>;
    /// Sites with due work (queued and due, or lease expired), for the engine's dispatcher.
    async fn sites_with_due_tasks(&self) -> Result<Vec<String>, StoreError>;
    /// How many jobs are in each state, for `/metrics`: every state of [`JobState::ALL`] in
    /// that order, 0 for a state no job is in (a scraper must see the 0, not a gap).
    async fn count_jobs_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(queued: u32, running: u32, succeeded: u32, failed: u32, cancelled: u32) -> Progress {
        Progress {
            total: queued + running + succeeded + failed + cancelled,
            queued,
            running,
            succeeded,
            failed,
            cancelled,
        }
    }

    #[test]
    fn job_state_from_task_counts() {
        assert_eq!(p(3, 0, 0, 0, 0).job_state(false), JobState::Queued);
        // Waiting for a retry after a transient failure is still a running job.
        assert_eq!(p(3, 0, 0, 0, 0).job_state(true), JobState::Running);
        assert_eq!(p(1, 1, 1, 0, 0).job_state(true), JobState::Running);
        assert_eq!(p(0, 0, 3, 0, 0).job_state(true), JobState::Succeeded);
        assert_eq!(p(0, 0, 2, 1, 0).job_state(true), JobState::PartiallyFailed);
        assert_eq!(p(0, 0, 0, 3, 0).job_state(true), JobState::Failed);
        assert_eq!(p(0, 0, 0, 1, 2).job_state(true), JobState::Failed);
        assert_eq!(p(0, 0, 1, 0, 2).job_state(true), JobState::Cancelled);
        assert_eq!(p(0, 0, 0, 0, 2).job_state(false), JobState::Cancelled);
    }

    #[test]
    fn state_names_round_trip() {
        for s in [
            JobState::Queued,
            JobState::Running,
            JobState::Succeeded,
            JobState::Failed,
            JobState::PartiallyFailed,
            JobState::Cancelled,
        ] {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::json!(s.as_str()))
            );
        }
        assert_eq!(TaskState::parse("nope"), None);
    }
}
