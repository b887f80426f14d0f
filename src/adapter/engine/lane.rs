//! The claim loop every lane of work shares: a CVAD site ([`super::worker::SiteCtx`]) or a
//! directory ([`super::accounts::DirectoryCtx`]). It claims due tasks in batches (the claim
//! records each attempt's start), starts them up to the lane's concurrency, and gives back
//! claimed tasks it could not start.
//!
//! The loop claims ahead: up to three times its share of `concurrency` (see
//! [`crate::adapter::replicas`]) tasks beyond the free slots wait, claimed, for a slot, so a
//! bulk job's claims come a batch at a time instead of one per freed slot, and a claim runs
//! beside the loop so freed slots never wait for it. Those
//! tasks have sent nothing; when the worker stops or the lane is disabled they are given back
//! ([`crate::adapter::store::JobStore::release_tasks`]), and one whose job was cancelled
//! meanwhile is cancelled without acting.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Shared;
use super::lease::LeaseLost;
use super::worker::{JobInfo, TaskSlot};
use crate::adapter::replicas::{Outage, keep_share, slot_share};
use crate::adapter::store::{ClaimedTask, StoreError};

/// Where a task runs: its name in the store (the tasks' `site` column), its concurrency, and
/// how one claimed task is run to the end of its attempt.
pub trait Lane: Send + Sync + 'static {
    fn name(&self) -> &str;
    fn concurrency(&self) -> u32;
    /// Whether the lane takes work when no operator switch says otherwise.
    fn enabled_in_config(&self) -> bool;
    /// Keeps the lane's own limits (beyond its task slots, which the loop resizes) at this
    /// replica's share of the group's until the watch closes: a site's call slots and rate.
    fn follow_group(
        self: &Arc<Self>,
        alive: watch::Receiver<u32>,
    ) -> impl Future<Output = ()> + Send + 'static {
        drop(alive);
        async {}
    }
    /// Runs the task and hands its outcome to the engine's writer.
    fn run(
        self: &Arc<Self>,
        shared: Arc<Shared>,
        claimed: Claimed,
        slot: TaskSlot,
    ) -> impl Future<Output = ()> + Send + 'static;
}

/// Whether the site takes actions now: the operator's stored switch, else the config; `Err`
/// when the store does not answer (then nothing is claimed: acting blind is not an option).
async fn site_enabled<L: Lane>(shared: &Shared, lane: &L) -> Result<bool, StoreError> {
    let flags = shared.store.site_flags().await?;
    Ok(flags
        .iter()
        .find(|f| f.name == lane.name())
        .map_or(lane.enabled_in_config(), |f| f.enabled))
}

/// The longest a lane waits between two tries of a store that does not answer.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A claimed task waiting for a slot, with the flag that says its lease was lost.
pub struct Claimed {
    pub task: ClaimedTask,
    pub lost: LeaseLost,
}

/// The loop of one lane: claim, run, repeat until stopped; then let running tasks finish for
/// the grace period and abandon the rest (their leases expire and a later engine resumes them).
///
/// It claims only while this replica is a member of its group (see
/// [`crate::adapter::replicas`]), up to its share of the lane's concurrency; a store that
/// does not answer stops the claims (logged once), gives back what waits for a slot, and is
/// tried again with backoff until it answers.
pub async fn lane_worker<L: Lane>(
    shared: Arc<Shared>,
    site: Arc<L>,
    mut stop: watch::Receiver<bool>,
) {
    let full = site.concurrency().max(1);
    let every = shared.options.claim_interval;
    let permits = Arc::new(Semaphore::new(full as usize));
    let group = shared.group.clone();
    let mut standing = group.standing_watch();
    // The lane's task slots, and a site's call slots and rate, follow the group's size.
    let followers = tokio::spawn(futures::future::join(
        keep_share(Arc::clone(&permits), full, group.alive_watch()),
        site.follow_group(group.alive_watch()),
    ));
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
    // The store stopped answering this lane: one line per outage, and a growing wait.
    let mut outage = Outage::default();
    let mut backoff = every;
    // The claim in flight. It runs beside the loop, not inside it: a claim waits for the
    // store's one writer (often behind a group commit of outcomes), and slots freed
    // meanwhile start claimed tasks at once instead of idling until the claim returns.
    let mut claiming: Option<Pin<Box<ClaimFuture>>> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        while running.try_join_next().is_some() {}
        let member = group.may_claim();
        // The operator's switch is read when woken (a new job, a site enabled) and once a
        // claim interval otherwise (once a backoff while the store fails), not before every
        // claim of a busy lane.
        let due = if outage.is_failing() { backoff } else { every };
        if member && (woken || checked.is_none_or(|at| at.elapsed() >= due)) {
            checked = Some(Instant::now());
            match site_enabled(&shared, site.as_ref()).await {
                Ok(on) => {
                    outage.recovered(site.name());
                    backoff = every;
                    enabled = on;
                }
                Err(e) => {
                    outage.failed(site.name(), &e);
                    backoff = (backoff * 2).min(MAX_BACKOFF.max(every));
                }
            }
        }
        let share = slot_share(full, group.alive()) as usize;
        if member && enabled && !outage.is_failing() {
            disabled_logged = false;
            start_ready(&shared, &site, &permits, &freed, &mut ready, &mut running);
            let free = permits.available_permits();
            let refill = ready.len() < free + share;
            let quiet = !woken && drained.is_some_and(|at| at.elapsed() < every);
            if refill && !quiet && claiming.is_none() {
                // Up to three slots' worth ahead: claims come in batches of one to three
                // times the share, so their cost is shared by many tasks.
                let limit = (free + 3 * share).saturating_sub(ready.len());
                claiming = Some(Box::pin(claim(
                    Arc::clone(&shared),
                    site.name().to_owned(),
                    limit,
                )));
            }
        } else if claiming.is_none() {
            // Not claiming (not yet or no longer counted by the group, the store down, or
            // the site disabled): tasks claimed ahead go back for others to run.
            give_back(&shared, &mut ready).await;
            if member && !enabled && !outage.is_failing() && !disabled_logged {
                // Chosen behaviour: tasks of a disabled site wait (queued) until it is enabled
                // or the job is cancelled; they do not fail, since disabling is usually
                // maintenance.
                tracing::info!(site = %site.name(), "site disabled: its tasks wait");
                disabled_logged = true;
            }
        }
        woken = false;
        let wait = if outage.is_failing() { backoff } else { every };
        tokio::select! {
            _ = shared.wake.notified() => woken = true,
            _ = freed.notified() => {}
            _ = tokio::time::sleep(wait) => woken = true,
            _ = stop.changed() => {}
            // A solo group's watch is closed: the branch is then disabled for this turn.
            Ok(()) = standing.changed() => woken = true,
            Some(_) = running.join_next(), if !running.is_empty() => {}
            (claimed, limit, error) = async {
                match claiming.as_mut() {
                    Some(in_flight) => in_flight.await,
                    None => std::future::pending().await,
                }
            }, if claiming.is_some() => {
                claiming = None;
                match error {
                    Some(e) => {
                        outage.failed(site.name(), &e);
                        backoff = (every * 2).min(MAX_BACKOFF.max(every));
                        checked = Some(Instant::now());
                    }
                    None => outage.recovered(site.name()),
                }
                drained = (claimed.len() < limit).then(Instant::now);
                ready.extend(claimed);
            }
        }
    }
    if let Some(in_flight) = claiming.take() {
        ready.extend(in_flight.await.0);
    }
    give_back(&shared, &mut ready).await;
    let drained = tokio::time::timeout(shared.options.shutdown_grace, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    followers.abort();
    if drained.is_err() {
        tracing::warn!(
            site = %site.name(),
            left = running.len(),
            "tasks still running at shutdown are left to their leases; the next start resumes them"
        );
    }
}

/// A claim in flight: the tasks it took, how many it asked for, and why it failed.
type ClaimFuture = dyn Future<Output = (Vec<Claimed>, usize, Option<StoreError>)> + Send;

/// A claimed task about to run: still ours, with its job read.
pub(super) struct Opened {
    pub task: crate::adapter::store::Task,
    /// The previous attempt never ended: its worker died, maybe after acting.
    pub interrupted: bool,
    pub lost: LeaseLost,
    pub job: JobInfo,
}

/// Opens a claimed task for its run: `None` if it was taken over while it waited for a slot
/// (the new owner runs it) or its job cannot be read (its lease is left to expire).
pub(super) async fn open(shared: &Shared, claimed: Claimed) -> Option<Opened> {
    let Claimed {
        task: ClaimedTask { task, interrupted },
        lost,
    } = claimed;
    if *lost.borrow() {
        return None;
    }
    match shared.jobs.info(shared, task.job_id, false).await {
        Ok(job) => Some(Opened {
            task,
            interrupted,
            lost,
            job,
        }),
        Err(e) => {
            tracing::warn!(task = task.id, error = %e, "cannot read the task's job; lease left to expire");
            shared.held.drop_task(task.id);
            None
        }
    }
}

/// Starts claimed tasks while the site has free task slots.
fn start_ready<L: Lane>(
    shared: &Arc<Shared>,
    site: &Arc<L>,
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
        let slot = TaskSlot::new(permit, freed);
        running.spawn(site.run(Arc::clone(shared), next, slot));
    }
}

/// Claims up to `limit` tasks of lane `name`, their leases held from now on.
async fn claim(
    shared: Arc<Shared>,
    name: String,
    limit: usize,
) -> (Vec<Claimed>, usize, Option<StoreError>) {
    if limit == 0 {
        return (Vec::new(), 0, None);
    }
    let limit32 = u32::try_from(limit).unwrap_or(u32::MAX);
    match shared
        .store
        .claim_attempts(&name, &shared.owner, limit32, shared.options.lease)
        .await
    {
        Ok(tasks) => {
            let claimed = tasks
                .into_iter()
                .map(|task| {
                    let lost = shared.held.hold(task.task.id);
                    Claimed { task, lost }
                })
                .collect();
            (claimed, limit, None)
        }
        // Counted as drained, and logged by the lane once per outage: the next try waits
        // for the backoff.
        Err(e) => (Vec::new(), limit, Some(e)),
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
    if fresh.is_empty() {
        return;
    }
    if let Err(e) = shared.store.release_tasks(&shared.owner, &fresh).await {
        tracing::warn!(tasks = fresh.len(), error = %e, "cannot give tasks back; they are claimed again when their leases lapse");
    }
}
