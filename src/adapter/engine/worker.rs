//! CVAD sites as lanes of work ([`super::lane`]): each claimed task runs ([`super::run`]) up
//! to the site's concurrency, and how it went goes to the engine's writer
//! ([`super::record`]). Leases are renewed for all of the engine's tasks at once
//! ([`super::lease`]).
//!
//! A site's `concurrency` limits CVAD calls in flight (as the config documents it): every call
//! takes a slot ([`SiteCtx::pace`]), and a task waiting for its site job gives its task slot
//! back ([`TaskSlot::release`]) so the next task can act meanwhile.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, SemaphorePermit, watch};
use tokio::time::Instant;
use uuid::Uuid;

use super::actions::{self, Operation};
use super::follow::JobWatch;
use super::lane::{self, Claimed, Lane, Opened};
use super::lease;
use super::rate::TokenBucket;
use super::run::{Outcome, TaskRun};
use super::{AttemptEnd, AttemptRecord, EngineOptions, Shared};
use crate::adapter::replicas::{keep_share, rate_share};
use crate::adapter::store::{TaskEnd, TaskWrite};
use crate::cvad::CvadClient;

/// One site as the engine sees it.
#[derive(Debug)]
pub struct SiteCtx {
    pub name: String,
    pub client: CvadClient,
    /// At this replica's share of the configured rate ([`SiteCtx::follow_group`]).
    pub limiter: Option<TokenBucket>,
    /// As configured, for the whole group of replicas.
    pub concurrency: u32,
    pub enabled_in_config: bool,
    /// A coalesced inventory refresh is scheduled (see [`super::REFRESH_COALESCE`]).
    pub refresh_pending: AtomicBool,
    /// One permit per call in flight: `concurrency` in all, of which this replica's share is
    /// free ([`crate::adapter::replicas::keep_share`] holds the rest).
    pub calls: Arc<Semaphore>,
    /// The site jobs tasks are waiting for, polled together.
    pub watch: JobWatch,
}

impl SiteCtx {
    /// Waits for a call slot and the site's rate limit before one CVAD call; the slot is held
    /// until the returned guard is dropped, so keep it for the call and no longer.
    #[must_use = "the call slot is released when the guard is dropped"]
    pub async fn pace(&self) -> Option<SemaphorePermit<'_>> {
        // The semaphore is never closed; `None` would only mean pacing without a slot.
        let slot = self.calls.acquire().await.ok();
        if let Some(limiter) = &self.limiter {
            limiter.acquire().await;
        }
        slot
    }

    /// Keeps the site's call slots and rate at this replica's share of the configured ones,
    /// following the group's size until its watch closes.
    pub async fn follow_group(self: Arc<Self>, alive: watch::Receiver<u32>) {
        let mut rate_alive = alive.clone();
        let rate = async {
            let Some(limiter) = &self.limiter else {
                return;
            };
            loop {
                let n = *rate_alive.borrow_and_update();
                limiter.set_rate(rate_share(limiter.full_rate(), n));
                if rate_alive.changed().await.is_err() {
                    return;
                }
            }
        };
        let calls = keep_share(Arc::clone(&self.calls), self.concurrency.max(1), alive);
        futures::future::join(calls, rate).await;
    }
}

/// A running task's place among the site's `concurrency` acting tasks.
#[derive(Debug)]
pub struct TaskSlot {
    permit: std::sync::Mutex<Option<OwnedSemaphorePermit>>,
    freed: Arc<Notify>,
}

impl TaskSlot {
    /// A slot holding `permit`; giving it back notifies `freed`.
    pub(super) fn new(permit: OwnedSemaphorePermit, freed: &Arc<Notify>) -> TaskSlot {
        TaskSlot {
            permit: std::sync::Mutex::new(Some(permit)),
            freed: Arc::clone(freed),
        }
    }

    /// Gives the place back while the task only waits (for its site job, or for a session to
    /// go), and wakes the worker to start the next task.
    pub fn release(&self) {
        let permit = match self.permit.lock() {
            Ok(mut permit) => permit.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if permit.is_some() {
            self.freed.notify_one();
        }
    }
}

/// What the engine knows about a job while running its tasks.
#[derive(Debug, Clone)]
pub(super) struct JobInfo {
    /// The job's action as stored, for the attempt observer.
    pub action: String,
    pub op: Result<Operation, String>,
    /// As stored (no secrets; a password reset's `secret_ref` names its secrets).
    pub params: serde_json::Value,
    /// The API client that asked (the operator, for verification records).
    pub requested_by: String,
    cancel_requested: bool,
    checked: Instant,
}

/// Jobs by id: the operation never changes, the cancel flag is re-read at most once per
/// `CANCEL_RECHECK` however many tasks of the job ask.
#[derive(Debug, Default)]
pub struct JobCache {
    jobs: std::sync::Mutex<HashMap<Uuid, JobInfo>>,
}

const CANCEL_RECHECK: Duration = Duration::from_secs(1);

impl JobCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, JobInfo>> {
        // Entries are replaced whole; a panicking holder leaves nothing half written.
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the job was cancelled (re-read at most once a second).
    pub(super) async fn cancel_requested(&self, shared: &Shared, job_id: Uuid) -> bool {
        self.info(shared, job_id, true)
            .await
            .map(|i| i.cancel_requested)
            .unwrap_or(false)
    }

    pub(super) async fn info(
        &self,
        shared: &Shared,
        job_id: Uuid,
        fresh: bool,
    ) -> Result<JobInfo, String> {
        if let Some(info) = self.lock().get(&job_id)
            && (!fresh || info.checked.elapsed() < CANCEL_RECHECK)
        {
            return Ok(info.clone());
        }
        let job = match shared.store.job(job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => return Err(format!("job {job_id} is gone from the store")),
            Err(e) => return Err(e.to_string()),
        };
        let info = JobInfo {
            op: actions::task_operation(&job.action, &job.params),
            action: job.action,
            params: job.params,
            requested_by: job.requested_by,
            cancel_requested: job.cancel_requested_at.is_some(),
            checked: Instant::now(),
        };
        self.lock().insert(job_id, info.clone());
        Ok(info)
    }

    /// Forgets finished jobs, so the cache does not grow for the life of the process.
    pub fn forget(&self, job_id: Uuid) {
        self.lock().remove(&job_id);
    }
}

/// What a running task needs from the engine.
pub struct TaskEnv {
    pub shared: Arc<Shared>,
    pub options: EngineOptions,
    pub job_id: Uuid,
    task_id: i64,
    site: Arc<SiteCtx>,
    /// The site job this attempt started, stored with its outcome.
    site_job: std::sync::Mutex<Option<String>>,
}

impl TaskEnv {
    /// The site accepted the action as its job `job_id`. Returns false if the task is no
    /// longer ours.
    ///
    /// Why only some actions wait for the id to be stored: a resumed task follows the stored
    /// site job, or, without one, checks the target first. For a logoff the check settles it
    /// (a session logging off or gone is done, and a logoff repeated on a session that is
    /// still there is accepted again and harms nothing), so its id travels with the outcome
    /// and costs no write of its own. The other actions' checks cannot always tell an action
    /// still under way from one never sent (a disconnect or maintenance change the site has
    /// not applied yet), so their id is committed before the task goes on, as before.
    pub async fn accepted(&self, job_id: &str, wait_until_stored: bool) -> bool {
        *lock(&self.site_job) = Some(job_id.to_owned());
        let write = TaskWrite::Progress {
            task_id: self.task_id,
            percent: 0,
            external_job_id: Some(job_id.to_owned()),
        };
        let recorder = &self.shared.recorder;
        if wait_until_stored {
            recorder.commit(&self.site, write).await
        } else {
            recorder.submit(&self.site, write);
            true
        }
    }

    /// The site's percent done, stored with the next commit.
    pub fn progress(&self, percent: u8) {
        let write = TaskWrite::Progress {
            task_id: self.task_id,
            percent,
            external_job_id: None,
        };
        self.shared.recorder.submit(&self.site, write);
    }

    /// Whether the job was cancelled (re-read at most once a second).
    pub async fn cancel_requested(&self) -> bool {
        self.shared
            .jobs
            .cancel_requested(&self.shared, self.job_id)
            .await
    }

    fn site_job(&self) -> Option<String> {
        lock(&self.site_job).clone()
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Lane for SiteCtx {
    fn name(&self) -> &str {
        &self.name
    }

    fn concurrency(&self) -> u32 {
        self.concurrency
    }

    fn enabled_in_config(&self) -> bool {
        self.enabled_in_config
    }

    fn follow_group(
        self: &Arc<Self>,
        alive: watch::Receiver<u32>,
    ) -> impl Future<Output = ()> + Send + 'static {
        Arc::clone(self).follow_group(alive)
    }

    fn run(
        self: &Arc<Self>,
        shared: Arc<Shared>,
        claimed: Claimed,
        slot: TaskSlot,
    ) -> impl Future<Output = ()> + Send + 'static {
        run_claimed(shared, Arc::clone(self), claimed, slot)
    }
}

/// Runs one claimed task to the end of this attempt and hands the outcome to the writer.
async fn run_claimed(shared: Arc<Shared>, site: Arc<SiteCtx>, claimed: Claimed, slot: TaskSlot) {
    let Some(Opened {
        task,
        interrupted,
        lost,
        job: info,
    }) = lane::open(&shared, claimed).await
    else {
        return;
    };
    let attempt = task.attempts;
    let started = Instant::now();
    let env = TaskEnv {
        shared: Arc::clone(&shared),
        options: shared.options.clone(),
        job_id: task.job_id,
        task_id: task.id,
        site: Arc::clone(&site),
        site_job: std::sync::Mutex::new(None),
    };
    // Cancelled while it waited for its slot: nothing was sent in this attempt. (An
    // interrupted one may have acted before; it runs, and follows or checks.)
    let cancelled = !interrupted && env.cancel_requested().await;
    let outcome = match &info.op {
        Ok(_) if cancelled => Outcome::Cancelled("cancelled before this attempt started".into()),
        Ok(op) => {
            let run = TaskRun {
                env: &env,
                site: &site,
                slot: &slot,
                task_id: task.id,
                target: &task.target_id,
                op,
                interrupted,
                // The claim recorded this attempt: any earlier one may have acted.
                resumed: attempt > 1 || task.external_job_id.is_some(),
                external_job_id: task.external_job_id.as_deref(),
            };
            // The lease is renewed elsewhere ([`lease::renew`]); here it is only watched.
            tokio::select! {
                biased;
                () = lease::lost(lost) => Outcome::LeaseLost,
                outcome = run.run() => outcome,
            }
        }
        // Parameters were checked when the job was created; this only happens if the stored
        // job was changed by hand or by a newer version.
        Err(e) => Outcome::Failed(format!("the job's parameters are not valid: {e}")),
    };
    slot.release();
    let ended = Ended {
        action: &info.action,
        attempt,
        started,
    };
    record(
        &shared,
        (&site.name, Some(&site)),
        task.id,
        ended,
        outcome,
        env.site_job(),
    );
}

/// Which attempt of which action ended, and when it started.
pub(super) struct Ended<'a> {
    pub action: &'a str,
    pub attempt: u32,
    pub started: Instant,
}

/// Hands an attempt's outcome to the writer. `lane` is the task's lane name and, for a CVAD
/// site, the site (told to refresh its inventory after a success).
pub(super) fn record(
    shared: &Shared,
    lane: (&str, Option<&Arc<SiteCtx>>),
    task_id: i64,
    ended: Ended<'_>,
    outcome: Outcome,
    site_job: Option<String>,
) {
    let retry = shared.options.retry;
    let attempt = ended.attempt;
    if let Some(observer) = &shared.hooks.attempts {
        let end = match &outcome {
            Outcome::Done(_) => AttemptEnd::Succeeded,
            Outcome::Failed(_) => AttemptEnd::Failed,
            Outcome::Cancelled(_) => AttemptEnd::Cancelled,
            Outcome::Retry(_) if attempt >= retry.max_attempts => AttemptEnd::Failed,
            Outcome::Retry(_) => AttemptEnd::Retry,
            Outcome::LeaseLost => AttemptEnd::LeaseLost,
        };
        observer.attempt_ended(&AttemptRecord {
            site: lane.0,
            action: ended.action,
            end,
            elapsed: ended.started.elapsed(),
        });
    }
    let end = match outcome {
        Outcome::Done(result) => TaskEnd::Succeeded { result },
        Outcome::Failed(error) => TaskEnd::Failed { error },
        Outcome::Cancelled(note) => TaskEnd::Cancelled { note },
        Outcome::Retry(error) if attempt >= retry.max_attempts => TaskEnd::Failed {
            error: format!("gave up after {attempt} attempts; last error: {error}"),
        },
        Outcome::Retry(error) => TaskEnd::Retry {
            error,
            delay: retry.delay(attempt),
        },
        Outcome::LeaseLost => {
            shared.held.drop_task(task_id);
            return;
        }
    };
    shared.recorder.submit_for(
        lane.1,
        TaskWrite::End {
            task_id,
            end,
            external_job_id: site_job,
        },
    );
}
