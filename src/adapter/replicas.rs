//! This process as one replica of the adapters sharing a store: its heartbeat, the number of
//! replicas alive (which divides every site's limits), whether it may claim work, and the
//! singleton leases that make a job of the group run on one replica at a time.
//!
//! Rules (the engine's module docs say how its lanes apply them):
//! - Each replica heartbeats every [`ReplicaOptions::every`] for [`ReplicaOptions::ttl`]; the
//!   store answers with the number alive, kept in a `watch` channel ([`Group::alive_watch`]).
//! - A replica uses `max(1, concurrency / alive)` slots and `rate_limit / alive` calls per
//!   second of each site ([`slot_share`], [`rate_share`]), resized when the count changes.
//! - A replica that finds others alive at its first heartbeat claims nothing for one interval
//!   and a quarter: by then every other replica has heartbeated once more, seen it, and shrunk
//!   its share, so the newcomer never pushes the group over a limit. A replica alone at its
//!   first heartbeat starts at once (a later one waits for it in turn).
//! - A replica whose heartbeat fails stops claiming at once (the others count it dead after the
//!   ttl and take up its share) and resumes by itself once the store answers; back after more
//!   than the ttl, it joins again as a newcomer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::adapter::store::Store;
use crate::adapter::store::replicas::ReplicaHeartbeat;

/// How often a replica heartbeats, and for how long a heartbeat counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaOptions {
    pub every: Duration,
    /// Longer than a few intervals, so one slow heartbeat does not drop a replica's share.
    pub ttl: Duration,
}

impl Default for ReplicaOptions {
    fn default() -> Self {
        ReplicaOptions {
            every: Duration::from_secs(2),
            ttl: Duration::from_secs(10),
        }
    }
}

/// Slots of a limit of `concurrency` that one of `alive` replicas uses: never below one, so
/// every replica can make progress (with more replicas than slots the group may then exceed
/// the limit, by at most one slot per replica).
pub fn slot_share(concurrency: u32, alive: u32) -> u32 {
    (concurrency / alive.max(1)).max(1)
}

/// Calls per second of a `rate_limit` that one of `alive` replicas uses.
pub fn rate_share(rate: f64, alive: u32) -> f64 {
    rate / f64::from(alive.max(1))
}

/// Where this replica stands in the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Registered, waiting for the others to see it before it claims.
    Joining,
    /// Claims its share.
    Member,
    /// Its heartbeat fails (the store does not answer): claims nothing.
    Unreachable,
}

/// What the rest of the process reads about the group. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Group {
    id: String,
    alive: watch::Receiver<u32>,
    standing: watch::Receiver<Standing>,
}

impl Group {
    /// A replica that heartbeats nowhere: alone, claiming at once (tests, and engines started
    /// without [`ReplicaOptions`]).
    pub fn solo(id: &str) -> Group {
        Group {
            id: id.to_owned(),
            alive: watch::channel(1).1,
            standing: watch::channel(Standing::Member).1,
        }
    }

    /// This replica's id: the engine's lease owner name, unique per process start.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Replicas alive at the last heartbeat, this one included.
    pub fn alive(&self) -> u32 {
        *self.alive.borrow()
    }

    pub fn alive_watch(&self) -> watch::Receiver<u32> {
        self.alive.clone()
    }

    pub fn standing(&self) -> Standing {
        *self.standing.borrow()
    }

    pub fn standing_watch(&self) -> watch::Receiver<Standing> {
        self.standing.clone()
    }

    pub fn may_claim(&self) -> bool {
        self.standing() == Standing::Member
    }
}

/// The heartbeat of this replica; [`Membership::leave`] ends it.
pub struct Membership {
    group: Group,
    store: Arc<dyn Store>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Membership {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Membership")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

impl Membership {
    /// Registers replica `id` and heartbeats until [`Membership::leave`].
    pub fn start(store: Arc<dyn Store>, id: &str, options: ReplicaOptions) -> Membership {
        let (alive_tx, alive) = watch::channel(1);
        let (standing_tx, standing) = watch::channel(Standing::Joining);
        let (stop, stopped) = watch::channel(false);
        let me = ReplicaHeartbeat {
            id: id.to_owned(),
            host: host_name(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        let task = tokio::spawn(beat(
            Arc::clone(&store),
            me,
            options,
            (alive_tx, standing_tx),
            stopped,
        ));
        Membership {
            group: Group {
                id: id.to_owned(),
                alive,
                standing,
            },
            store,
            stop,
            task,
        }
    }

    pub fn group(&self) -> Group {
        self.group.clone()
    }

    /// Stops heartbeating and removes this replica, so the others take up its share at their
    /// next heartbeat instead of after the ttl.
    pub async fn leave(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
        match tokio::time::timeout(STORE_PATIENCE, self.store.leave(&self.group.id)).await {
            Ok(Ok(())) => tracing::info!(replica = %self.group.id, "replica left the group"),
            Ok(Err(e)) => {
                tracing::warn!(replica = %self.group.id, error = %e, "cannot leave the group; the others notice when the heartbeat expires")
            }
            Err(_) => {
                tracing::warn!(replica = %self.group.id, "the store did not answer the leave; the others notice when the heartbeat expires")
            }
        }
    }

    /// Stops heartbeating without a word, as a killed process does.
    pub fn abort(self) {
        self.task.abort();
    }
}

/// The longest one heartbeat or singleton call may take before it counts as failed: a pool
/// waiting for a connection to a dead database must not hold a replica in limbo.
pub const STORE_PATIENCE: Duration = Duration::from_secs(5);

type Senders = (watch::Sender<u32>, watch::Sender<Standing>);

async fn beat(
    store: Arc<dyn Store>,
    me: ReplicaHeartbeat,
    options: ReplicaOptions,
    (alive, standing): Senders,
    mut stop: watch::Receiver<bool>,
) {
    let every = options.every.max(Duration::from_millis(10));
    let patience = every.min(STORE_PATIENCE);
    let mut outage = Outage::default();
    let mut last_ok: Option<Instant> = None;
    // When a joining replica may start claiming.
    let mut member_at: Option<Instant> = None;
    let mut next_beat = Instant::now();
    loop {
        let now = Instant::now();
        if now >= next_beat {
            next_beat = now + every;
            let answer = tokio::time::timeout(patience, store.heartbeat(&me, options.ttl)).await;
            match answer {
                Ok(Ok(n)) => {
                    outage.recovered("replica heartbeat");
                    alive.send_if_modified(|old| std::mem::replace(old, n) != n);
                    let current = *standing.borrow();
                    // Back after the others may have dropped this replica: join again.
                    let rejoin = last_ok.is_none_or(|at| at.elapsed() > options.ttl);
                    if current != Standing::Member || rejoin {
                        if rejoin && n > 1 {
                            member_at.get_or_insert(Instant::now() + every + every / 4);
                            standing.send_replace(Standing::Joining);
                        } else if member_at.is_none() {
                            member_at = Some(Instant::now());
                        }
                    }
                    last_ok = Some(Instant::now());
                }
                Ok(Err(e)) => {
                    outage.failed("replica heartbeat", &e);
                    standing.send_replace(Standing::Unreachable);
                    member_at = None;
                }
                Err(_) => {
                    outage.failed("replica heartbeat", &"the store did not answer in time");
                    standing.send_replace(Standing::Unreachable);
                    member_at = None;
                }
            }
        }
        if let Some(at) = member_at
            && Instant::now() >= at
        {
            member_at = None;
            if *standing.borrow() != Standing::Member {
                tracing::info!(replica = %me.id, alive = *alive.borrow(), "replica claims its share");
                standing.send_replace(Standing::Member);
            }
        }
        let wake = member_at.map_or(next_beat, |at| at.min(next_beat));
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Logs a run of failures of one store call once (a warning at the first, debug after), and
/// its end once: a dead database costs one line per outage, not one per tick.
#[derive(Debug, Default)]
pub struct Outage {
    since: Option<Instant>,
}

impl Outage {
    /// Records a failure; true on the first of an outage.
    pub fn failed(&mut self, what: &str, error: &dyn std::fmt::Display) -> bool {
        if self.since.is_some() {
            tracing::debug!(what, %error, "still failing");
            return false;
        }
        self.since = Some(Instant::now());
        tracing::warn!(what, %error, "the store does not answer; retrying quietly until it does");
        true
    }

    /// Records a success; logs the end of an outage.
    pub fn recovered(&mut self, what: &str) {
        if let Some(since) = self.since.take() {
            tracing::info!(what, after = ?since.elapsed(), "the store answers again");
        }
    }

    pub fn is_failing(&self) -> bool {
        self.since.is_some()
    }
}

/// A singleton lease of the group (`idle:…`, `outbox`, …) as one replica tries to hold it.
pub struct Singleton {
    store: Arc<dyn Store>,
    name: String,
    owner: String,
    ttl: Duration,
    held: bool,
    outage: Outage,
}

impl std::fmt::Debug for Singleton {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Singleton")
            .field("name", &self.name)
            .field("owner", &self.owner)
            .field("held", &self.held)
            .finish_non_exhaustive()
    }
}

impl Singleton {
    pub fn new(store: Arc<dyn Store>, name: &str, owner: &str, ttl: Duration) -> Singleton {
        Singleton {
            store,
            name: name.to_owned(),
            owner: owner.to_owned(),
            ttl,
            held: false,
            outage: Outage::default(),
        }
    }

    /// Takes or renews the lease for another ttl; false when another replica holds it or the
    /// store does not answer (then nobody can be sure, so nobody here acts).
    pub async fn hold(&mut self) -> bool {
        let patience = self.ttl.min(STORE_PATIENCE);
        let call = self.store.hold_singleton(&self.name, &self.owner, self.ttl);
        let held = match tokio::time::timeout(patience, call).await {
            Ok(Ok(held)) => {
                self.outage.recovered(&self.name);
                held
            }
            Ok(Err(e)) => {
                self.outage.failed(&self.name, &e);
                false
            }
            Err(_) => {
                self.outage
                    .failed(&self.name, &"the store did not answer in time");
                false
            }
        };
        if held != self.held {
            if held {
                tracing::info!(lease = %self.name, "this replica runs it now");
            } else {
                tracing::info!(lease = %self.name, "another replica runs it now");
            }
            self.held = held;
        }
        held
    }

    /// Whether the last [`Singleton::hold`] got the lease.
    pub fn is_held(&self) -> bool {
        self.held
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Gives the lease up if held, so another replica need not wait for it to expire.
    pub async fn release(&mut self) {
        if !self.held {
            return;
        }
        self.held = false;
        let call = self.store.release_singleton(&self.name, &self.owner);
        if let Ok(Err(e)) = tokio::time::timeout(STORE_PATIENCE, call).await {
            tracing::debug!(lease = %self.name, error = %e, "cannot release; it expires by itself");
        }
    }
}

/// Keeps `sem` (of `full` permits) at this replica's [`slot_share`]: holds the permits above
/// the share, taking them as they come free (a running task is never interrupted), and
/// hands them back when the share grows. Runs until the group's watch closes, then returns
/// the permits it held.
pub async fn keep_share(sem: Arc<Semaphore>, full: u32, mut alive: watch::Receiver<u32>) {
    let mut parked: Vec<OwnedSemaphorePermit> = Vec::new();
    loop {
        let share = slot_share(full, *alive.borrow_and_update());
        let want = full.saturating_sub(share) as usize;
        parked.truncate(want);
        if parked.len() < want {
            tokio::select! {
                permit = Arc::clone(&sem).acquire_owned() => match permit {
                    Ok(permit) => parked.push(permit),
                    Err(_) => return,
                },
                changed = alive.changed() => if changed.is_err() { return },
            }
        } else if alive.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
