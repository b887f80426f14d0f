//! Per-site workers: claim due tasks in batches (the claim records each attempt's start), run
//! each one ([`super::run`]) up to the site's concurrency, and hand how it went to the
//! engine's writer ([`super::record`]). Leases are renewed for all of the engine's tasks at
//! once ([`super::lease`]).
//!
//! A site's `concurrency` limits CVAD calls in flight (as the config documents it): every call
//! takes a slot ([`SiteCtx::pace`]), and a task waiting for its site job gives its task slot
//! back ([`TaskSlot::release`]) so the next task can act meanwhile.
//!
//! The worker claims ahead: up to `concurrency` tasks beyond the free slots wait, claimed, for
//! a slot, so a bulk job's claims come a batch at a time instead of one per freed slot. Those
//! tasks have sent nothing; when the worker stops or the site is disabled they are given back
//! ([`crate::adapter::store::JobStore::release_tasks`]), and one whose job was cancelled
//! meanwhile is cancelled without acting.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, SemaphorePermit, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use super::actions::{self, Operation};
use super::follow::JobWatch;
use super::lease::{self, LeaseLost};
use super::rate::TokenBucket;
use super::run::{Outcome, TaskRun};
use super::{AttemptEnd, AttemptRecord, EngineOptions, Shared};
use crate::adapter::store::{ClaimedTask, TaskEnd, TaskWrite};
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

    async fn info(&self, shared: &Shared, job_id: Uuid, fresh: bool) -> Result<JobInfo, String> {
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
            .info(&self.shared, self.job_id, true)
            .await
            .map(|i| i.cancel_requested)
            .unwrap_or(false)
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

/// A claimed task waiting for a slot, with the flag that says its lease was lost.
struct Claimed {
    task: ClaimedTask,
    lost: LeaseLost,
}

/// The loop of one site: claim, run, repeat until stopped; then let running tasks finish for
/// the grace period and abandon the rest (their leases expire and a later engine resumes them).
pub async fn site_worker(shared: Arc<Shared>, site: Arc<SiteCtx>, mut stop: watch::Receiver<bool>) {
    let concurrency = site.concurrency.max(1) as usize;
    let every = shared.options.claim_interval;
    let permits = Arc::new(Semaphore::new(concurrency));
    let freed = Arc::new(Notify::new());
    let mut ready: VecDeque<Claimed> = VecDeque::new();
    let mut running: JoinSet<()> = JoinSet::new();
    let mut enabled = false;
    let mut checked: Option<Instant> = None;
    // When a claim last found fewer due tasks than it asked for: no claim again until woken
    // or a claim interval later, so tasks ending do not each cost an empty claim.
    let mut drained: Option<Instant> = None;
    let mut woken = true;
    let mut disabled_logged = false;
    loop {
        if *stop.borrow() {
            break;
        }
        while running.try_join_next().is_some() {}
        let free = permits.available_permits();
        let refill = ready.len() < free + concurrency.div_ceil(2);
        let quiet = !woken && drained.is_some_and(|at| at.elapsed() < every);
        let claim = refill && !quiet;
        if claim || checked.is_none_or(|at| at.elapsed() >= every) {
            enabled = site_enabled(&shared, &site).await;
            checked = Some(Instant::now());
        }
        if enabled {
            disabled_logged = false;
            // Tasks claimed ahead start before the next claim: a claim waits for the store's
            // one writer (behind a group commit of outcomes), and free slots should not.
            start_ready(&shared, &site, &permits, &freed, &mut ready, &mut running);
            if claim {
                let free = permits.available_permits();
                let limit = (free + concurrency).saturating_sub(ready.len());
                claim_into(&shared, &site, limit, &mut ready, &mut drained).await;
                start_ready(&shared, &site, &permits, &freed, &mut ready, &mut running);
            }
        } else {
            give_back(&shared, &mut ready).await;
            if !disabled_logged {
                // Chosen behaviour: tasks of a disabled site wait (queued) until it is enabled
                // or the job is cancelled; they do not fail, since disabling is usually
                // maintenance.
                tracing::info!(site = %site.name, "site disabled: its tasks wait");
                disabled_logged = true;
            }
        }
        woken = false;
        tokio::select! {
            _ = shared.wake.notified() => woken = true,
            _ = freed.notified() => {}
            _ = tokio::time::sleep(every) => woken = true,
            _ = stop.changed() => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
        }
    }
    give_back(&shared, &mut ready).await;
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

/// Starts claimed tasks while the site has free task slots.
fn start_ready(
    shared: &Arc<Shared>,
    site: &Arc<SiteCtx>,
    permits: &Arc<Semaphore>,
    freed: &Arc<Notify>,
    ready: &mut VecDeque<Claimed>,
    running: &mut JoinSet<()>,
) {
    while !ready.is_empty() {
        let Ok(permit) = Arc::clone(permits).try_acquire_owned() else {
            break;
        };
        let Some(next) = ready.pop_front() else {
            break;
        };
        let slot = TaskSlot {
            permit: std::sync::Mutex::new(Some(permit)),
            freed: Arc::clone(freed),
        };
        running.spawn(run_claimed(
            Arc::clone(shared),
            Arc::clone(site),
            next,
            slot,
        ));
    }
}

/// Claims up to `limit` tasks into `ready`, their leases held from now on.
async fn claim_into(
    shared: &Shared,
    site: &SiteCtx,
    limit: usize,
    ready: &mut VecDeque<Claimed>,
    drained: &mut Option<Instant>,
) {
    if limit == 0 {
        return;
    }
    let limit32 = u32::try_from(limit).unwrap_or(u32::MAX);
    match shared
        .store
        .claim_attempts(&site.name, &shared.owner, limit32, shared.options.lease)
        .await
    {
        Ok(tasks) => {
            *drained = (tasks.len() < limit).then(Instant::now);
            for task in tasks {
                let lost = shared.held.hold(task.task.id);
                ready.push_back(Claimed { task, lost });
            }
        }
        Err(e) => tracing::warn!(site = %site.name, error = %e, "claiming tasks failed"),
    }
}

/// Gives back claimed tasks that never started. A task whose claim closed an interrupted
/// attempt keeps that mark: it is left to its lease instead, and resumed with a check.
async fn give_back(shared: &Shared, ready: &mut VecDeque<Claimed>) {
    if ready.is_empty() {
        return;
    }
    let mut fresh = Vec::new();
    for claimed in ready.drain(..) {
        let id = claimed.task.task.id;
        shared.held.drop_task(id);
        if !claimed.task.interrupted {
            fresh.push(id);
        }
    }
    if let Err(e) = shared.store.release_tasks(&shared.owner, &fresh).await {
        tracing::warn!(tasks = fresh.len(), error = %e, "cannot give tasks back; they are claimed again when their leases lapse");
    }
}

/// Runs one claimed task to the end of this attempt and hands the outcome to the writer.
async fn run_claimed(shared: Arc<Shared>, site: Arc<SiteCtx>, claimed: Claimed, slot: TaskSlot) {
    let Claimed {
        task: ClaimedTask { task, interrupted },
        lost,
    } = claimed;
    if *lost.borrow() {
        // Taken over while it waited for a slot; the new owner runs it.
        return;
    }
    let info = match shared.jobs.info(&shared, task.job_id, false).await {
        Ok(info) => info,
        Err(e) => {
            tracing::warn!(task = task.id, error = %e, "cannot read the task's job; lease left to expire");
            shared.held.drop_task(task.id);
            return;
        }
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
    record(&shared, &site, task.id, ended, outcome, env.site_job());
}

/// Which attempt of which action ended, and when it started.
struct Ended<'a> {
    action: &'a str,
    attempt: u32,
    started: Instant,
}

fn record(
    shared: &Shared,
    site: &Arc<SiteCtx>,
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
            site: &site.name,
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
    shared.recorder.submit(
        site,
        TaskWrite::End {
            task_id,
            end,
            external_job_id: site_job,
        },
    );
}
