//! The durable job engine: runs the tasks of jobs stored in [`crate::adapter::store`] against
//! CVAD sites, one worker per site.
//!
//! - [`actions`]: the registry (name → role, target kind, parameter checks).
//! - [`worker`]: per-site claiming in batches (each claim durably starts its tasks' attempts)
//!   and running up to the site's `concurrency`; [`lease`]: one renewal of all the engine's
//!   leases per tick; [`record`]: group commit of progress and outcomes, many tasks per
//!   transaction; [`rate`]: the site's token bucket and retry backoff.
//! - [`run`]: one task: check the target's state first (resumed tasks; see below), act only if
//!   needed, follow the site's async job; [`follow`]: one poller per site reading the state of
//!   every site job its tasks wait for; `escalate`: a logoff's `escalate_after` (follow the
//!   session, force-restart a single-session machine whose logoff hangs); [`expand`]:
//!   `user.logoff` targets into one task per session.
//! - Lanes ([`lane`]): each CVAD site, each directory domain ([`accounts`]) and the workflows
//!   ([`workflow`]: onboarding, offboarding, desktop and app requests, step by step) claim and
//!   run their tasks the same way.
//! - [`events`]: job and task changes as store events.
//!
//! Decisions:
//! - A disabled site (config `enabled = false` or an operator's switch) takes no actions: its
//!   tasks stay queued until the site is enabled again or the job is cancelled. Failing them
//!   would turn a maintenance window into a pile of failed tickets.
//! - Cancel: the store drops queued tasks; a running task finishes, unless its site job can be
//!   cancelled, in which case it is cancelled at the site.
//! - Crash: every task is leased; a dead engine's leases expire and any engine claims the tasks
//!   again. The resumed task follows the site job it stored, or checks the target before
//!   acting, so an action that happened is recorded as done, never repeated. What makes this
//!   hold with batched writes: a claim records the attempt's start in its own transaction, and
//!   nothing is sent before that commit, so a task claimed again always has an earlier attempt
//!   and is never taken for a first one; outcomes (and a logoff's site job id) may then wait
//!   in memory for the next group commit, since losing them only means a resumed task checks
//!   its target first (see [`record`] and [`worker::TaskEnv::accepted`]).
//! - Check-first is for tasks that may follow an action: any attempt after the first (a retry,
//!   a resumed task) or one with a stored site job. A logoff's first attempt acts directly:
//!   nothing can have happened yet, and every answer the site gives is handled (a session
//!   already logging off accepts the logoff, a gone one answers 404 = success), so a bulk
//!   logoff costs one action call per session instead of a read and an action. The other
//!   actions keep checking first, since their sites refuse a repeat (already disconnected,
//!   already on) where the check says "already done".
//! - A site's `concurrency` bounds its CVAD calls in flight, as the config documents: every
//!   call holds a slot, and a task that only waits (for its site job, or for a session to go)
//!   gives its task slot back so the next task acts meanwhile. The site jobs waited for are
//!   read together by one poller per site ([`follow`]), not one poll per task.
//! - `session.logoff` with `escalate_after` needs the admin role (403 for helpdesk): the
//!   escalation restarts a machine, which is `machine.restart`'s role. It restarts only a
//!   single-session machine (only that user is on it) with force; on a multi-session machine
//!   the task fails and says why, since a restart would end other users' sessions. The time
//!   counts from the start of the attempt that sent the logoff.
//! - Replicas sharing a store ([`crate::adapter::replicas`]): a site's `concurrency` and
//!   `rate_limit` are for the whole group. Each replica heartbeats (every 2 s, counted for
//!   10 s) and uses `max(1, concurrency / alive)` task and call slots and `rate_limit / alive`
//!   calls per second, resized as the count changes: a smaller share is reached as running
//!   calls end, never by interrupting one. A replica that finds others alive at its first
//!   heartbeat claims nothing for one heartbeat interval and a quarter, by when the others
//!   have seen it and shrunk their shares. Since every replica keeps at least one slot, a
//!   group larger than a site's `concurrency` may exceed it by that one slot each.
//! - Losing the store: a replica whose heartbeat fails claims nothing (the others take up its
//!   share once its heartbeat expires), gives back what it claimed ahead, logs once per
//!   outage, retries with backoff, and resumes by itself when the store answers. Its running
//!   tasks go on; if their leases cannot be renewed for a whole lease they stop, since
//!   another replica may have claimed them.
//! - Transient failures (429, 503, unreachable connectors, connector outages) are retried with
//!   exponential backoff and jitter up to [`RetryPolicy::max_attempts`]; permanent ones (400,
//!   403, 404) fail at once, except a 404 on a logoff: the session is gone, which is success.

pub mod account_params;
pub mod accounts;
pub mod actions;
mod escalate;
pub mod events;
pub mod expand;
pub mod follow;
mod job_eta;
pub mod lane;
pub mod lease;
pub mod rate;
pub mod record;
pub mod run;
pub mod secrets;
pub mod submit;
pub mod worker;
pub mod workflow;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::adapter::replicas::{Group, Membership, ReplicaOptions};
use crate::adapter::store::Store;
use crate::config::SiteConfig;
use crate::cvad::{CvadClient, CvadError};
use crate::observe::CallObserver;

pub use rate::{RetryPolicy, TokenBucket};
use worker::{JobCache, SiteCtx};

/// Extension point for the inventory: told after every action that changed a site, so its
/// cache can refresh that site now instead of at the next periodic refresh. The engine knows
/// nothing else about the inventory.
///
/// Calls are coalesced: at most one per site per [`REFRESH_COALESCE`], however many tasks end.
pub trait AfterAction: Send + Sync {
    /// Must return quickly (schedule the refresh, do not run it inline).
    fn refresh_now(&self, site: &str);

    /// An `account.*` task changed this account; it is as the directory reads it now.
    fn account_changed(&self, _account: &crate::directory::Account) {}
}

impl<F: Fn(&str) + Send + Sync> AfterAction for F {
    fn refresh_now(&self, site: &str) {
        self(site)
    }
}

/// Extension point for metrics: told when each task attempt ends, with how long it took. The
/// engine knows nothing of how it is counted.
pub trait AttemptObserver: Send + Sync {
    /// Called before the outcome is stored, so a reader who sees the job finished also sees
    /// its last attempt counted. Must return quickly.
    fn attempt_ended(&self, attempt: &AttemptRecord<'_>);
}

/// One ended attempt, as [`AttemptObserver`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptRecord<'a> {
    pub site: &'a str,
    /// The job's action (`session.logoff`, …).
    pub action: &'a str,
    pub end: AttemptEnd,
    /// From the attempt's start (recorded in the store) to its outcome.
    pub elapsed: Duration,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptEnd {
    Succeeded,
    /// Failed for good: a permanent error, or the last allowed attempt.
    Failed,
    Cancelled,
    /// A transient failure; the task is rescheduled.
    Retry,
    /// Another engine took the task over (our lease expired); nothing was recorded.
    LeaseLost,
}

impl AttemptEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptEnd::Succeeded => "succeeded",
            AttemptEnd::Failed => "failed",
            AttemptEnd::Cancelled => "cancelled",
            AttemptEnd::Retry => "retry",
            AttemptEnd::LeaseLost => "lease_lost",
        }
    }
}

/// Observers of an engine's work, kept apart from [`EngineOptions`] (settings) so adding one
/// changes no caller that sets options.
#[derive(Clone, Default)]
pub struct EngineHooks {
    pub attempts: Option<Arc<dyn AttemptObserver>>,
    /// Installed in every site client the engine builds.
    pub cvad_calls: Option<Arc<dyn CallObserver>>,
}

impl std::fmt::Debug for EngineHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHooks")
            .field("attempts", &self.attempts.is_some())
            .field("cvad_calls", &self.cvad_calls.is_some())
            .finish()
    }
}

/// How long after an action the inventory is asked to refresh: actions finishing meanwhile
/// share the one refresh, so a bulk job of thousands causes a refresh a second, not thousands.
pub const REFRESH_COALESCE: Duration = Duration::from_secs(1);

/// How the engine runs. The defaults suit real sites; tests shorten the times.
#[derive(Clone)]
pub struct EngineOptions {
    /// How long a claimed task is ours without renewal; renewed every third of it. A crashed
    /// engine's tasks are resumed this long after the crash.
    pub lease: Duration,
    /// How often a worker looks for due tasks when nobody woke it.
    pub claim_interval: Duration,
    /// How often a site job is polled.
    pub poll_interval: Duration,
    /// The longest a site job is followed before the task fails.
    pub job_timeout: Duration,
    pub retry: RetryPolicy,
    /// How long a clean shutdown waits for running tasks.
    pub shutdown_grace: Duration,
    pub after_action: Option<Arc<dyn AfterAction>>,
    /// The directories `account.*` tasks run against, one lane per domain.
    pub directories: crate::directory::Directories,
    /// Attempt limits for the security codes a password reset checks.
    pub verification: crate::accounts::verify::VerificationPolicy,
    /// How runbook steps start their jobs; without it a runbook step fails and says so.
    pub submitter: Option<Arc<dyn submit::JobSubmitter>>,
    /// Heartbeat in the store as one replica of a group sharing it, dividing every limit by
    /// the replicas alive (`deskbridge serve` does). `None`: alone, no heartbeat (tests).
    pub replicas: Option<ReplicaOptions>,
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("lease", &self.lease)
            .field("claim_interval", &self.claim_interval)
            .field("poll_interval", &self.poll_interval)
            .field("job_timeout", &self.job_timeout)
            .field("retry", &self.retry)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("after_action", &self.after_action.is_some())
            .field("directories", &self.directories)
            .field("submitter", &self.submitter.is_some())
            .field("replicas", &self.replicas)
            .finish()
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lease: Duration::from_secs(30),
            claim_interval: Duration::from_millis(500),
            poll_interval: Duration::from_millis(500),
            job_timeout: Duration::from_secs(15 * 60),
            retry: RetryPolicy::default(),
            shutdown_grace: Duration::from_secs(10),
            after_action: None,
            directories: crate::directory::Directories::default(),
            verification: crate::accounts::verify::VerificationPolicy::default(),
            submitter: None,
            replicas: None,
        }
    }
}

/// What the workers of one engine share.
pub struct Shared {
    pub store: Arc<dyn Store>,
    /// This engine's lease owner name: unique per start, so a restarted engine never mistakes
    /// a dead predecessor's lease for its own. Also the replica's id in its group.
    pub owner: String,
    /// The replicas sharing the store: whether this one may claim, and how many share the
    /// limits.
    pub group: Group,
    pub options: EngineOptions,
    hooks: EngineHooks,
    sites: BTreeMap<String, Arc<SiteCtx>>,
    wake: Notify,
    jobs: JobCache,
    /// The tasks whose leases this engine holds and renews.
    held: lease::Held,
    /// The queue into the engine's writer.
    recorder: record::Recorder,
    /// Secrets of running jobs (new passwords, security codes), in memory only.
    secrets: secrets::Vault,
}

/// What the API needs from the engine: the site clients (to expand `user.logoff`) and a way to
/// wake the workers when a job arrives. Cheap to clone.
#[derive(Clone)]
pub struct JobsHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for JobsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobsHandle")
            .field("owner", &self.shared.owner)
            .field("sites", &self.shared.sites.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl JobsHandle {
    /// Makes every worker look for due tasks now.
    pub fn wake(&self) {
        self.shared.wake.notify_waiters();
    }

    /// The CVAD client of a site.
    pub fn client(&self, site: &str) -> Option<&CvadClient> {
        self.shared.sites.get(site).map(|s| &s.client)
    }

    /// Where a job's secrets wait for its tasks (see [`secrets`]).
    pub fn secrets(&self) -> &secrets::Vault {
        &self.shared.secrets
    }

    /// The replicas sharing the store, as this engine sees them; its id is the engine's lease
    /// owner name.
    pub fn group(&self) -> &Group {
        &self.shared.group
    }
}

/// A running engine.
pub struct Engine {
    handle: JobsHandle,
    stop: watch::Sender<bool>,
    workers: Vec<JoinHandle<()>>,
    /// The group-commit writer and the lease renewal, stopped after the workers.
    writer: JoinHandle<()>,
    renewer: JoinHandle<()>,
    /// The heartbeat, ended last (after the outcomes are stored) with a leave.
    membership: Option<Membership>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("handle", &self.handle)
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl Engine {
    /// Starts one worker per configured site. Tasks left running by a crashed engine are
    /// claimed again once their leases expire.
    pub fn start(
        store: Arc<dyn Store>,
        sites: &[SiteConfig],
        options: EngineOptions,
    ) -> Result<Engine, CvadError> {
        Engine::start_with_hooks(store, sites, options, EngineHooks::default())
    }

    /// [`Engine::start`] with observers of its attempts and CVAD calls (the adapter's metrics).
    pub fn start_with_hooks(
        store: Arc<dyn Store>,
        sites: &[SiteConfig],
        options: EngineOptions,
        hooks: EngineHooks,
    ) -> Result<Engine, CvadError> {
        let mut contexts = BTreeMap::new();
        for site in sites {
            let mut config = site.to_cvad_config();
            if let Some(observer) = &hooks.cvad_calls {
                config = config.with_observer(Arc::clone(observer));
            }
            let ctx = SiteCtx {
                name: site.name.clone(),
                client: CvadClient::new(config)?,
                limiter: TokenBucket::new(site.rate_limit),
                concurrency: site.concurrency.max(1),
                enabled_in_config: site.enabled,
                refresh_pending: std::sync::atomic::AtomicBool::new(false),
                calls: Arc::new(tokio::sync::Semaphore::new(site.concurrency.max(1) as usize)),
                watch: follow::JobWatch::default(),
            };
            contexts.insert(site.name.clone(), Arc::new(ctx));
        }
        let (recorder, queue) = record::Recorder::new();
        // A fresh UUID per start: unique per process, as a replica id must be.
        let owner = format!("engine-{}", Uuid::new_v4().simple());
        let membership = options
            .replicas
            .map(|replicas| Membership::start(Arc::clone(&store), &owner, replicas));
        let group = membership
            .as_ref()
            .map_or_else(|| Group::solo(&owner), Membership::group);
        let shared = Arc::new(Shared {
            store,
            owner,
            group,
            options,
            hooks,
            sites: contexts,
            wake: Notify::new(),
            jobs: JobCache::default(),
            held: lease::Held::default(),
            recorder,
            secrets: secrets::Vault::default(),
        });
        let writer = tokio::spawn(record::run(Arc::clone(&shared), queue));
        let renewer = tokio::spawn(lease::renew(Arc::clone(&shared)));
        let (stop, stopped) = watch::channel(false);
        let mut workers: Vec<JoinHandle<()>> = shared
            .sites
            .values()
            .map(|site| {
                tokio::spawn(lane::lane_worker(
                    Arc::clone(&shared),
                    Arc::clone(site),
                    stopped.clone(),
                ))
            })
            .collect();
        for directory in shared.options.directories.iter() {
            let ctx =
                accounts::DirectoryCtx::new(Arc::clone(directory), shared.options.verification);
            workers.push(tokio::spawn(lane::lane_worker(
                Arc::clone(&shared),
                Arc::new(ctx),
                stopped.clone(),
            )));
        }
        workers.push(tokio::spawn(lane::lane_worker(
            Arc::clone(&shared),
            Arc::new(workflow::WorkflowCtx),
            stopped.clone(),
        )));
        tracing::info!(
            owner = %shared.owner,
            replica = %shared.group.id(),
            sites = shared.sites.len(),
            "job engine started"
        );
        let engine = Engine {
            handle: JobsHandle { shared },
            stop,
            workers,
            writer,
            renewer,
            membership,
        };
        engine.report_orphans();
        Ok(engine)
    }

    /// Logs work a previous engine left behind; the workers pick it up by themselves.
    fn report_orphans(&self) {
        let store = Arc::clone(&self.handle.shared.store);
        tokio::spawn(async move {
            match store.expired_leases(1000).await {
                Ok(tasks) if !tasks.is_empty() => {
                    tracing::info!(count = tasks.len(), "resuming tasks of a stopped engine")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot look for interrupted tasks"),
            }
        });
    }

    pub fn handle(&self) -> JobsHandle {
        self.handle.clone()
    }

    /// Stops claiming, lets running tasks finish (up to the shutdown grace), stores their
    /// outcomes and returns. Tasks still running then are left to their leases.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for worker in self.workers {
            let _ = worker.await;
        }
        self.handle.shared.recorder.flush().await;
        self.renewer.abort();
        self.writer.abort();
        if let Some(membership) = self.membership {
            membership.leave().await;
        }
        tracing::info!(owner = %self.handle.shared.owner, "job engine stopped");
    }

    /// Stops everything at once, recording nothing (not even what waits for the next group
    /// commit): what `kill -9` does to the process. Tests use it to prove that a later engine
    /// resumes the work exactly once.
    pub fn abort(self) {
        for worker in &self.workers {
            worker.abort();
        }
        self.renewer.abort();
        self.writer.abort();
        if let Some(membership) = self.membership {
            membership.abort();
        }
    }
}

#[cfg(test)]
mod replica_tests;
