//! The `[[idle_power_off]]` schedules of adapter.toml: one task per entry that, every `every`,
//! applies the rule for real as the internal client `scheduler` (role admin: the config is an
//! administrator's decision), exactly as `POST /api/v1/power/idle` with `dry_run = false`
//! would, and records each job it creates (and each failure) in the audit log.
//!
//! Replicas sharing a store all run the loop, but each run first takes the schedule's
//! singleton lease ([`schedule_lease`]) for two periods: its holder renews it at every run,
//! so one replica runs the schedule and the others skip; when the holder stops (its lease is
//! released) or dies (it expires), another takes over at its next period. A new holder does
//! not know the previous holder's last job; a machine it picks again while that job still
//! shuts it down is harmless, since every power task checks the machine's state first.

use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::adapter::api::AppState;
use crate::adapter::api::guard::Caller;
use crate::adapter::api::idle::{IdleRequest, apply};
use crate::adapter::replicas::Singleton;
use crate::adapter::store::{AuditOutcome, NewAuditEntry, Role};
use crate::config::IdlePowerOff;

/// The name the schedules act under: jobs' `requested_by` and the audit log's actor.
pub const SCHEDULER: &str = "scheduler";

/// The running schedules; [`Scheduler::stop`] ends them.
#[derive(Debug)]
pub struct Scheduler {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Stops every schedule and waits for them; a run under way is abandoned between its
    /// steps (a job already created goes on in the engine).
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            // A schedule that panicked has nothing left to stop.
            let _ = task.await;
        }
    }

    /// How many schedules run.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

/// Starts one task per `[[idle_power_off]]` entry of the state's config. Each first runs one
/// `every` after the start (the inventory is being read meanwhile), then every `every`. They
/// end with [`Scheduler::stop`] or when the API server stops (the state's `closing`).
pub fn start_schedules(state: &AppState) -> Scheduler {
    let (stop, _) = watch::channel(false);
    let tasks = state
        .config
        .idle_power_off
        .iter()
        .enumerate()
        .map(|(index, rule)| {
            tokio::spawn(run_schedule(
                state.clone(),
                index,
                rule.clone(),
                stop.subscribe(),
            ))
        })
        .collect();
    Scheduler { stop, tasks }
}

async fn run_schedule(
    state: AppState,
    index: usize,
    rule: IdlePowerOff,
    mut stop: watch::Receiver<bool>,
) {
    let every = rule.every.max(Duration::from_millis(100));
    let mut closing = state.closing.subscribe();
    let mut last_job: Option<Uuid> = None;
    let owner = state.jobs.as_ref().map_or_else(
        || format!("scheduler-{}", Uuid::new_v4().simple()),
        |jobs| jobs.group().id().to_owned(),
    );
    // Two periods: a holder whose run or store call is slow still renews in time.
    let mut lease = Singleton::new(
        std::sync::Arc::clone(&state.store),
        &schedule_lease(index, &rule),
        &owner,
        every * 2,
    );
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            // A dropped sender (the scheduler gone) stops the loop as well.
            _ = stop.changed() => break,
            _ = closing.changed() => break,
        }
        if *stop.borrow() || *closing.borrow() {
            break;
        }
        if !lease.hold().await {
            // Another replica runs this schedule (or the store cannot say who does).
            last_job = None;
            continue;
        }
        if let Some(job) = last_job
            && still_running(&state, job).await
        {
            // Its machines may not show the shutdown yet; a new run could pick them again.
            tracing::debug!(schedule = index, %job, "idle power-off: previous job still running");
            continue;
        }
        tokio::select! {
            created = run_once(&state, index, &rule) => last_job = created.or(last_job),
            _ = stop.changed() => break,
            _ = closing.changed() => break,
        }
    }
    // Handed on at once rather than after the lease expires.
    lease.release().await;
}

/// The name of schedule `index`'s singleton lease: its place in the config and what it
/// covers, so replicas with the same config agree on it and an edited entry is a new one.
pub fn schedule_lease(index: usize, rule: &IdlePowerOff) -> String {
    format!(
        "idle:{index}:{}:{}",
        rule.site.as_deref().unwrap_or("*"),
        rule.delivery_groups.join(",")
    )
}

/// Whether a job is queued or running (a store that cannot answer counts as running: the
/// next run will ask again).
async fn still_running(state: &AppState, job: Uuid) -> bool {
    match state.store.get_job(job).await {
        Ok(Some(detail)) => !detail.job.state.is_terminal(),
        Ok(None) => false,
        Err(_) => true,
    }
}

/// One run of schedule `index`: the rule applied for real, the outcome audited when it did
/// something or failed. Answers the job it created.
pub async fn run_once(state: &AppState, index: usize, rule: &IdlePowerOff) -> Option<Uuid> {
    let caller = Caller {
        id: Uuid::nil(),
        name: SCHEDULER.to_owned(),
        role: Role::Admin,
        expires_at: None,
    };
    let request = IdleRequest {
        delivery_groups: rule.delivery_groups.clone(),
        site: rule.site.clone(),
        idle_minutes: rule.idle_minutes,
        dry_run: false,
        include_unregistered: rule.include_unregistered,
        ticket: None,
    };
    let mut created = None;
    let (outcome, message, targets) = match apply(state, &caller, &request).await {
        Ok((_, note, answer)) => match &answer.job {
            Some(job) => {
                created = Some(job.id);
                tracing::info!(
                    schedule = index,
                    job = %job.id,
                    machines = answer.candidates.len(),
                    "idle power-off: shutdown job created"
                );
                (
                    AuditOutcome::Succeeded,
                    note.message.unwrap_or_default(),
                    note.targets.unwrap_or_else(|| json!([])),
                )
            }
            None => {
                tracing::debug!(
                    schedule = index,
                    skipped = answer.skipped.len(),
                    "idle power-off: nothing to shut down"
                );
                return None;
            }
        },
        Err(e) => {
            tracing::warn!(schedule = index, error = %e.message, "idle power-off schedule failed");
            (
                AuditOutcome::Failed,
                format!("idle_power_off[{index}]: {}", e.message),
                json!(rule.delivery_groups),
            )
        }
    };
    let entry = NewAuditEntry {
        actor_id: None,
        actor_name: SCHEDULER.to_owned(),
        action: "power.idle".to_owned(),
        targets,
        ticket: None,
        outcome,
        message: Some(format!("schedule idle_power_off[{index}]: {message}")),
        request_id: None,
    };
    if let Err(e) = state.store.append_audit(entry).await {
        tracing::warn!(error = %e, "cannot audit an idle power-off run");
    }
    created
}
