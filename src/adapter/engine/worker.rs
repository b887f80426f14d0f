//! Per-site workers: claim due tasks with leases up to the site's concurrency, run each one
//! ([`super::run`]) while renewing its lease, and record how each attempt ended, with events.
//!
//! A site's `concurrency` limits CVAD calls in flight (as the config documents it): every call
//! takes a slot ([`SiteCtx::pace`]), and a task waiting for its site job gives its task slot
//! back ([`TaskSlot::release`]) so the next task can act meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{Mutex, Notify, OwnedSemaphorePermit, Semaphore, SemaphorePermit, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use super::actions::{self, Operation};
use super::events;
use super::follow::JobWatch;
use super::rate::TokenBucket;
use super::run::{Outcome, TaskRun};
use super::{AttemptEnd, AttemptRecord, EngineOptions, Shared};
use crate::adapter::store::{StoreError, Task};
use crate::cvad::CvadClient;

/// One site as the engine sees it.
#[derive(Debug)]
pub struct SiteCtx {
    pub name: String,
    pub client: CvadClient,
    pub limiter: Option<TokenBucket>,
    pub concurrency: u32,
    pub enabled_in_config: bool,
    /// A coalesced inventory refresh is scheduled (see [`super::REFRESH_COALESCE`]).
    pub refresh_pending: AtomicBool,
    /// One permit per call in flight, `concurrency` in all.
    pub calls: Semaphore,
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
}

/// A running task's place among the site's `concurrency` acting tasks.
#[derive(Debug)]
pub struct TaskSlot {
    permit: std::sync::Mutex<Option<OwnedSemaphorePermit>>,
    freed: Arc<Notify>,
}

impl TaskSlot {
    /// Gives the place back while the task only waits (for its site job, or for a session to
    /// go), and wakes the worker to claim the next task.
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
struct JobInfo {
    /// The job's action as stored, for the attempt observer.
    action: String,
    op: Result<Operation, String>,
    cancel_requested: bool,
    checked: Instant,
}

/// Jobs by id: the operation never changes, the cancel flag is re-read at most once per
/// `CANCEL_RECHECK` however many tasks of the job ask.
#[derive(Debug, Default)]
pub struct JobCache {
    jobs: Mutex<HashMap<Uuid, JobInfo>>,
}

const CANCEL_RECHECK: Duration = Duration::from_secs(1);

impl JobCache {
    async fn info(&self, store: &Shared, job_id: Uuid, fresh: bool) -> Result<JobInfo, String> {
        {
            let jobs = self.jobs.lock().await;
            if let Some(info) = jobs.get(&job_id)
                && (!fresh || info.checked.elapsed() < CANCEL_RECHECK)
            {
                return Ok(info.clone());
            }
        }
        let detail = match store.store.get_job(job_id).await {
            Ok(Some(detail)) => detail,
            Ok(None) => return Err(format!("job {job_id} is gone from the store")),
            Err(e) => return Err(e.to_string()),
        };
        let info = JobInfo {
            action: detail.job.action.clone(),
            op: actions::task_operation(&detail.job.action, &detail.job.params),
            cancel_requested: detail.job.cancel_requested_at.is_some(),
            checked: Instant::now(),
        };
        self.jobs.lock().await.insert(job_id, info.clone());
        Ok(info)
    }

    /// Forgets finished jobs, so the cache does not grow for the life of the process.
    pub async fn forget(&self, job_id: Uuid) {
        self.jobs.lock().await.remove(&job_id);
    }
}

/// What a running task needs from the engine.
pub struct TaskEnv {
    pub shared: Arc<Shared>,
    pub options: EngineOptions,
    pub job_id: Uuid,
}

impl TaskEnv {
    /// Records the site's progress (and job id) on the task, as an event too.
    pub async fn progress(
        &self,
        task_id: i64,
        percent: u8,
        external_job_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let store = &self.shared.store;
        let task = store
            .update_task_progress(task_id, &self.shared.owner, percent, external_job_id)
            .await?;
        events::task(store.as_ref(), &task).await;
        Ok(())
    }

    /// Whether the job was cancelled (re-read at most once a second).
    pub async fn cancel_requested(&self) -> bool {
        self.shared
            .jobs
            .info(&self.shared, self.job_id, true)
            .await
            .map(|i| i.cancel_requested)
            .unwrap_or(false)
    }
}

/// Whether the site takes actions now: the operator's stored switch, else the config.
async fn site_enabled(shared: &Shared, site: &SiteCtx) -> bool {
    match shared.store.site_flags().await {
        Ok(flags) => flags
            .iter()
            .find(|f| f.name == site.name)
            .map_or(site.enabled_in_config, |f| f.enabled),
        Err(e) => {
            // Without the store nothing can be claimed anyway; acting blind is not an option.
            tracing::warn!(site = %site.name, error = %e, "cannot read site switches");
            false
        }
    }
}

/// The loop of one site: claim, run, repeat until stopped; then let running tasks finish for
/// the grace period and abandon the rest (their leases expire and a later engine resumes them).
pub async fn site_worker(shared: Arc<Shared>, site: Arc<SiteCtx>, mut stop: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(site.concurrency.max(1) as usize));
    let freed = Arc::new(Notify::new());
    let mut running: JoinSet<()> = JoinSet::new();
    let mut disabled_logged = false;
    loop {
        if *stop.borrow() {
            break;
        }
        while running.try_join_next().is_some() {}
        if site_enabled(&shared, &site).await {
            disabled_logged = false;
            let free = permits.available_permits();
            if free > 0 {
                match shared
                    .store
                    .claim_tasks(&site.name, &shared.owner, free as u32, shared.options.lease)
                    .await
                {
                    Ok(tasks) => {
                        for task in tasks {
                            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                                break;
                            };
                            let slot = TaskSlot {
                                permit: std::sync::Mutex::new(Some(permit)),
                                freed: Arc::clone(&freed),
                            };
                            running.spawn(run_claimed(
                                Arc::clone(&shared),
                                Arc::clone(&site),
                                task,
                                slot,
                            ));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(site = %site.name, error = %e, "claiming tasks failed")
                    }
                }
            }
        } else if !disabled_logged {
            // Chosen behaviour: tasks of a disabled site wait (queued) until it is enabled or
            // the job is cancelled; they do not fail, since disabling is usually maintenance.
            tracing::info!(site = %site.name, "site disabled: its tasks wait");
            disabled_logged = true;
        }
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = freed.notified() => {}
            _ = tokio::time::sleep(shared.options.claim_interval) => {}
            _ = stop.changed() => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    let drained = tokio::time::timeout(shared.options.shutdown_grace, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            site = %site.name,
            left = running.len(),
            "tasks still running at shutdown are left to their leases; the next start resumes them"
        );
    }
}

/// Runs one claimed task to the end of this attempt and records the outcome.
async fn run_claimed(shared: Arc<Shared>, site: Arc<SiteCtx>, task: Task, slot: TaskSlot) {
    let store = &shared.store;
    let owner = shared.owner.clone();
    let info = match shared.jobs.info(&shared, task.job_id, false).await {
        Ok(info) => info,
        Err(e) => {
            tracing::warn!(task = task.id, error = %e, "cannot read the task's job; lease left to expire");
            return;
        }
    };
    // A task never attempted has no history to read.
    let previous = if task.attempts == 0 {
        Vec::new()
    } else {
        match store.list_attempts(task.id).await {
            Ok(attempts) => attempts,
            Err(e) => {
                tracing::warn!(task = task.id, error = %e, "cannot read attempts; lease left to expire");
                return;
            }
        }
    };
    let interrupted = previous.last().is_some_and(|a| a.ended_at.is_none());
    let attempt = match store.start_attempt(task.id, &owner).await {
        Ok(attempt) => attempt,
        Err(e) => {
            tracing::debug!(task = task.id, error = %e, "task taken over before it started");
            return;
        }
    };
    let started = Instant::now();
    events::task_state(store.as_ref(), &task, "running", attempt.number).await;
    let env = TaskEnv {
        shared: Arc::clone(&shared),
        options: shared.options.clone(),
        job_id: task.job_id,
    };
    let outcome = match &info.op {
        Ok(op) => {
            let run = TaskRun {
                env: &env,
                site: &site,
                slot: &slot,
                task_id: task.id,
                target: &task.target_id,
                op,
                interrupted,
                resumed: !previous.is_empty() || task.external_job_id.is_some(),
                external_job_id: task.external_job_id.as_deref(),
            };
            with_lease(&shared, task.id, run.run()).await
        }
        // Parameters were checked when the job was created; this only happens if the stored
        // job was changed by hand or by a newer version.
        Err(e) => Outcome::Failed(format!("the job's parameters are not valid: {e}")),
    };
    let ended = Ended {
        action: &info.action,
        attempt: attempt.number,
        started,
    };
    record(&shared, &site, &task, ended, outcome).await;
}

/// Which attempt of which action ended, and when it started.
struct Ended<'a> {
    action: &'a str,
    attempt: u32,
    started: Instant,
}

/// Runs `work` while renewing the task's lease; gives up (LeaseLost) when the lease is gone.
async fn with_lease(
    shared: &Shared,
    task_id: i64,
    work: impl std::future::Future<Output = Outcome>,
) -> Outcome {
    let every = shared.options.lease / 3;
    let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
    tokio::pin!(work);
    loop {
        tokio::select! {
            outcome = &mut work => return outcome,
            _ = ticker.tick() => {
                match shared.store.renew_lease(task_id, &shared.owner, shared.options.lease).await {
                    Ok(_) => {}
                    Err(StoreError::LeaseLost { .. }) => return Outcome::LeaseLost,
                    // A store blip: the lease has two more renewals' worth of time left.
                    Err(e) => tracing::warn!(task = task_id, error = %e, "lease renewal failed"),
                }
            }
        }
    }
}

async fn record(
    shared: &Shared,
    site: &Arc<SiteCtx>,
    task: &Task,
    ended: Ended<'_>,
    outcome: Outcome,
) {
    let store = &shared.store;
    let owner = &shared.owner;
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
            site: &site.name,
            action: ended.action,
            end,
            elapsed: ended.started.elapsed(),
        });
    }
    let result = match &outcome {
        Outcome::Done(why) => store.complete_task(task.id, owner, Some(why)).await,
        Outcome::Failed(error) => store.fail_task(task.id, owner, error).await,
        Outcome::Cancelled(note) => store.cancel_task(task.id, owner, note).await,
        Outcome::Retry(error) if attempt >= retry.max_attempts => {
            let error = format!("gave up after {attempt} attempts; last error: {error}");
            store.fail_task(task.id, owner, &error).await
        }
        Outcome::Retry(error) => {
            store
                .reschedule_task(task.id, owner, error, retry.delay(attempt))
                .await
        }
        Outcome::LeaseLost => return,
    };
    match result {
        Ok(transition) => {
            events::transition(store.as_ref(), &transition).await;
            if transition.job.state.is_terminal() {
                shared.jobs.forget(transition.job.id).await;
            }
            if matches!(outcome, Outcome::Done(_)) {
                schedule_refresh(shared, site);
            }
        }
        Err(StoreError::LeaseLost { .. }) => {}
        Err(e) => tracing::warn!(task = task.id, error = %e, "cannot record the task's outcome"),
    }
}

/// Tells the inventory hook (if any) that the site changed, once per coalescing window.
fn schedule_refresh(shared: &Shared, site: &Arc<SiteCtx>) {
    let Some(hook) = shared.options.after_action.clone() else {
        return;
    };
    if site.refresh_pending.swap(true, Ordering::AcqRel) {
        return;
    }
    let site = Arc::clone(site);
    tokio::spawn(async move {
        tokio::time::sleep(super::REFRESH_COALESCE).await;
        site.refresh_pending.store(false, Ordering::Release);
        hook.refresh_now(&site.name);
    });
}
