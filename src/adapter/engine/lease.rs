//! The leases of the tasks an engine holds: renewed together, one store statement per tick
//! for all of them ([`crate::adapter::store::JobStore::renew_leases`]), instead of one per
//! task; a task whose lease was taken over is told, and stops.
//!
//! The renewal runs on its own, never inside a task's future: a task blocked on the store (or
//! waiting behind other writers) must not hold up the renewal, and a renewal must never wait
//! for a task that is not being polled. (The engine once renewed each lease from within the
//! task's own `select!`, awaiting the store in the renewal's arm while the task's paused
//! future held its place in the store's write queue: the renewal waited for that place, the
//! place waited for the renewal, and every writer of the process queued behind both.)

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};

use super::Shared;
use crate::adapter::replicas::Outage;

/// The tasks this engine holds a lease on, each with the flag that says it was lost.
#[derive(Debug, Default)]
pub struct Held {
    tasks: Mutex<HashMap<i64, watch::Sender<bool>>>,
}

/// Turns true when the task's lease was taken over.
pub type LeaseLost = watch::Receiver<bool>;

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, watch::Sender<bool>>> {
        // Entries are inserted and removed whole; a panicking holder leaves nothing half done.
        self.tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts renewing `task_id`'s lease (just claimed).
    pub fn hold(&self, task_id: i64) -> LeaseLost {
        let (lost, receiver) = watch::channel(false);
        self.lock().insert(task_id, lost);
        receiver
    }

    /// Stops renewing: the task ended, or is left to its lease.
    pub fn drop_task(&self, task_id: i64) {
        self.lock().remove(&task_id);
    }

    fn ids(&self) -> Vec<i64> {
        self.lock().keys().copied().collect()
    }

    /// The leases of `ids` are no longer ours: their tasks stop.
    fn lost(&self, ids: &[i64]) {
        let mut tasks = self.lock();
        for id in ids {
            if let Some(lost) = tasks.remove(id) {
                lost.send_replace(true);
            }
        }
    }
}

/// Waits until the lease is lost; never returns if it is not (also when nobody can say so
/// any more: the task ended or was let go).
pub async fn lost(mut flag: LeaseLost) {
    if flag.wait_for(|lost| *lost).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Renews every held lease each third of the lease, until aborted by the engine.
///
/// A store that does not answer is logged once per outage. Once renewals have failed for a
/// whole lease, the leases have expired in the store and another replica may have claimed
/// the tasks: they all stop here (as if taken over), so no task runs twice.
pub async fn renew(shared: Arc<Shared>) {
    let every = shared.options.lease / 3;
    let mut ticker = tokio::time::interval_at(Instant::now() + every, every);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut outage = Outage::default();
    // The last time every held lease was known renewed.
    let mut renewed = Instant::now();
    loop {
        ticker.tick().await;
        let ids = shared.held.ids();
        if ids.is_empty() {
            renewed = Instant::now();
            continue;
        }
        let call = shared
            .store
            .renew_leases(&shared.owner, &ids, shared.options.lease);
        // A call stuck waiting for a connection counts as failed once the next tick is due.
        let answer = match tokio::time::timeout(every, call).await {
            Ok(answer) => answer.map_err(|e| e.to_string()),
            Err(_) => Err("the store did not answer in time".to_owned()),
        };
        match answer {
            Ok(kept) => {
                outage.recovered("lease renewal");
                renewed = Instant::now();
                let kept: HashSet<i64> = kept.into_iter().collect();
                let lost: Vec<i64> = ids.into_iter().filter(|id| !kept.contains(id)).collect();
                if !lost.is_empty() {
                    tracing::info!(tasks = lost.len(), "leases taken over; those tasks stop");
                    shared.held.lost(&lost);
                }
            }
            // A store blip: the leases have two more renewals' worth of time left.
            Err(e) => {
                outage.failed("lease renewal", &e);
                if renewed.elapsed() >= shared.options.lease {
                    tracing::warn!(
                        tasks = ids.len(),
                        "leases expired while the store did not answer; those tasks stop \
                         and are resumed by whichever replica claims them"
                    );
                    shared.held.lost(&ids);
                }
            }
        }
    }
}
