//! Group commit of the engine's task writes: tasks hand their progress and outcomes to one
//! writer per engine, which stores everything queued meanwhile in one transaction
//! ([`crate::adapter::store::JobStore::record_tasks`]: task rows, attempt ends, the site job
//! ids, the jobs' counters moved once per job, and the events). A bulk job's thousands of
//! outcomes cost a few hundred transactions instead of seven writes each.
//!
//! Why an outcome may wait in memory: losing it in a crash loses nothing that happened. The
//! task stays `running` under a lease that lapses; the next claim records a new attempt (the
//! claim's attempt start was durable before anything was sent, so the task is never taken for
//! a first attempt), and a resumed attempt checks the target first: the logoff found logging
//! off or gone, the machine found on, is recorded done without acting again. The one write
//! that waits for its commit is the site job id of an action whose repeat the check cannot
//! rule out (see [`super::worker::TaskEnv::accepted`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::worker::SiteCtx;
use super::{REFRESH_COALESCE, Shared};
use crate::adapter::store::{RecordedTasks, TaskEnd, TaskWrite};

/// The most writes in one transaction: large enough that a bulk job's outcomes share a few
/// commits, small enough that one transaction never holds the writer for long.
const MAX_BATCH: usize = 1000;

/// How often a batch the store refused is tried again before it is dropped.
const TRIES: u32 = 4;

enum Msg {
    Write {
        write: TaskWrite,
        /// The site, told to refresh its inventory if the write ends the task successfully
        /// (none for a directory's tasks).
        site: Option<Arc<SiteCtx>>,
        committed: Option<oneshot::Sender<bool>>,
    },
    /// Answered once everything queued before it is committed.
    Flush(oneshot::Sender<()>),
}

/// The queue into an engine's writer. Cheap to use from any task: submitting never waits.
#[derive(Debug)]
pub struct Recorder {
    queue: mpsc::UnboundedSender<Msg>,
}

/// The writer's end of the queue, handed to [`run`].
pub struct Queue(mpsc::UnboundedReceiver<Msg>);

impl Recorder {
    pub fn new() -> (Recorder, Queue) {
        let (queue, receiver) = mpsc::unbounded_channel();
        (Recorder { queue }, Queue(receiver))
    }

    /// Queues a write for the next commit.
    pub fn submit(&self, site: &Arc<SiteCtx>, write: TaskWrite) {
        self.submit_for(Some(site), write);
    }

    /// Queues a write of a task that may have no site (a directory's).
    pub fn submit_for(&self, site: Option<&Arc<SiteCtx>>, write: TaskWrite) {
        let msg = Msg::Write {
            write,
            site: site.map(Arc::clone),
            committed: None,
        };
        // The writer lives as long as the engine; after it stopped, nothing is recorded
        // anyway (the leases lapse and the tasks are resumed).
        let _ = self.queue.send(msg);
    }

    /// Queues a write and waits for its commit: true if it applied (the lease was still
    /// ours), false if not or if the writer is gone.
    pub async fn commit(&self, site: &Arc<SiteCtx>, write: TaskWrite) -> bool {
        let (tx, rx) = oneshot::channel();
        let msg = Msg::Write {
            write,
            site: Some(Arc::clone(site)),
            committed: Some(tx),
        };
        if self.queue.send(msg).is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Waits until everything queued so far is committed (or given up).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.queue.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

/// One queued write, as the writer keeps it while committing.
struct Pending {
    site: Option<Arc<SiteCtx>>,
    committed: Option<oneshot::Sender<bool>>,
}

/// The engine's writer: commits whatever is queued, as one batch, as soon as the previous
/// commit is done. Batches form by themselves: the longer a commit takes, the more the next
/// one carries. Runs until the engine stops it after its final flush ([`super::Engine::abort`]
/// stops it at once, losing what was queued, as a crash would).
pub async fn run(shared: Arc<Shared>, Queue(mut queue): Queue) {
    let mut writes = Vec::new();
    let mut pending = Vec::new();
    let mut flushes = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Write {
                    write,
                    site,
                    committed,
                } => {
                    writes.push(write);
                    pending.push(Pending { site, committed });
                }
                Msg::Flush(done) => flushes.push(done),
            }
            if writes.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        if !writes.is_empty() {
            commit(&shared, &writes, std::mem::take(&mut pending)).await;
            writes.clear();
        }
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn commit(shared: &Shared, writes: &[TaskWrite], pending: Vec<Pending>) {
    let mut recorded: Option<RecordedTasks> = None;
    for attempt in 1..=TRIES {
        match shared.store.record_tasks(&shared.owner, writes).await {
            Ok(done) => {
                recorded = Some(done);
                break;
            }
            Err(e) if attempt < TRIES => {
                tracing::warn!(writes = writes.len(), error = %e, "storing task changes failed; trying again");
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            Err(e) => {
                // Dropped: the tasks stay running until their leases lapse, then they are
                // claimed again and check their targets first (see the module notes).
                tracing::error!(writes = writes.len(), error = %e, "cannot store task changes; the tasks will be resumed");
            }
        }
    }
    for (i, (write, pending)) in writes.iter().zip(pending).enumerate() {
        let applied = recorded
            .as_ref()
            .is_some_and(|r| r.applied.get(i).copied().unwrap_or(false));
        if let TaskWrite::End { task_id, end, .. } = write {
            // Ended (or not ours any more): its lease is not renewed again.
            shared.held.drop_task(*task_id);
            if applied
                && matches!(end, TaskEnd::Succeeded { .. })
                && let Some(site) = &pending.site
            {
                schedule_refresh(shared, site);
            }
        }
        if let Some(committed) = pending.committed {
            let _ = committed.send(applied);
        }
    }
    if let Some(recorded) = recorded {
        for job in recorded.jobs.iter().filter(|j| j.state.is_terminal()) {
            shared.jobs.forget(job.id);
            shared.secrets.forget_job(job);
        }
    }
}

/// Tells the inventory hook (if any) that the site changed, once per coalescing window.
fn schedule_refresh(shared: &Shared, site: &Arc<SiteCtx>) {
    use std::sync::atomic::Ordering;
    let Some(hook) = shared.options.after_action.clone() else {
        return;
    };
    if site.refresh_pending.swap(true, Ordering::AcqRel) {
        return;
    }
    let site = Arc::clone(site);
    tokio::spawn(async move {
        tokio::time::sleep(REFRESH_COALESCE).await;
        site.refresh_pending.store(false, Ordering::Release);
        hook.refresh_now(&site.name);
    });
}
