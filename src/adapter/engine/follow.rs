//! Following a site's asynchronous jobs together: every task waiting for a CVAD job of the
//! site subscribes here, and one poller per site reads the state of all of them once per poll
//! interval, instead of each task polling its own job.
//!
//! A bulk job of thousands of logoffs has thousands of site jobs in flight; polling each one
//! would cost a second CVAD call per target. The poller lists the caller's jobs (`GET /Jobs`,
//! paged) when that is fewer calls than reading the waiting jobs one by one, and reads them one
//! by one otherwise (one task waiting, or a site holding many old jobs).
//!
//! The listing holds every job the site still keeps (completed ones for 48 h), so a bulk job's
//! poller reads thousands of jobs per poll to find the few hundred it waits for. It reads them
//! in the API's largest pages and decodes only their state ([`crate::cvad::JobState`]): the
//! parameters, sub-jobs and times of the jobs nobody waits for are skipped, not allocated. A
//! waited-for job listed as failed or cancelled is read whole, for the site's reason.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::watch;

use super::worker::SiteCtx;
use crate::cvad::{Job, JobState, JobStatus};

/// Page size of the site's job listing ([`crate::cvad::CvadClient::job_states`]).
const LISTING_PAGE: usize = crate::cvad::MAX_PAGE_SIZE as usize;

/// What the poller last read about one job.
#[derive(Debug, Clone)]
pub enum Polled {
    /// Boxed: a job is large and this is cloned out of the watch on every read.
    Job(Box<Job>),
    /// The site answered 404: it no longer knows the job.
    Gone,
    /// A permanent error reading the job, in the site's words.
    Failed(String),
}

/// The jobs a site's tasks are waiting for.
#[derive(Debug, Default)]
pub struct JobWatch {
    waiting: Mutex<HashMap<String, watch::Sender<Option<Polled>>>>,
    polling: AtomicBool,
    /// How many jobs the site listed last time (pages of the next listing).
    listed: AtomicUsize,
}

impl JobWatch {
    /// Starts following `job_id`: the receiver sees each state the poller reads, the first
    /// one a poll interval from now. The job is dropped from the poll once every receiver is.
    pub fn subscribe(
        site: &Arc<SiteCtx>,
        job_id: &str,
        every: Duration,
    ) -> watch::Receiver<Option<Polled>> {
        let watch = &site.watch;
        let receiver = {
            let mut waiting = lock(&watch.waiting);
            waiting
                .entry(job_id.to_ascii_lowercase())
                .or_insert_with(|| watch::channel(None).0)
                .subscribe()
        };
        if !watch.polling.swap(true, Ordering::AcqRel) {
            tokio::spawn(poll(Arc::clone(site), every));
        }
        receiver
    }

    /// The jobs someone still waits for; forgets the others.
    fn wanted(&self) -> Vec<String> {
        let mut waiting = lock(&self.waiting);
        waiting.retain(|_, sender| sender.receiver_count() > 0);
        waiting.keys().cloned().collect()
    }

    fn publish(&self, job_id: &str, polled: Polled) {
        if let Some(sender) = lock(&self.waiting).get(job_id) {
            sender.send_replace(Some(polled));
        }
    }
}

/// The map stays consistent whatever a panicking holder did: each entry is replaced whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The site's poller: runs while anyone waits, then stops (the next subscriber restarts it).
async fn poll(site: Arc<SiteCtx>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let wanted = site.watch.wanted();
        if wanted.is_empty() {
            site.watch.polling.store(false, Ordering::Release);
            // A subscriber that came in between saw the poller running and did not start one.
            if site.watch.wanted().is_empty() || site.watch.polling.swap(true, Ordering::AcqRel) {
                return;
            }
            continue;
        }
        let pages = site.watch.listed.load(Ordering::Relaxed) / LISTING_PAGE + 1;
        let mut left: HashSet<String> = wanted.into_iter().collect();
        if left.len() > pages {
            list(&site, &mut left).await;
        }
        one_by_one(&site, left).await;
    }
}

/// One listing of the caller's jobs; publishes the wanted ones and removes them from `left`.
/// A failed listing leaves them to be read one by one, and so does a failed or cancelled job
/// (the listing's state carries no reason).
async fn list(site: &SiteCtx, left: &mut HashSet<String>) {
    let jobs = {
        let _call = site.pace().await;
        site.client.job_states().await
    };
    match jobs {
        Ok(jobs) => {
            site.watch.listed.store(jobs.len(), Ordering::Relaxed);
            for job in jobs {
                if matches!(job.status, JobStatus::Failed | JobStatus::Canceled) {
                    continue;
                }
                let id = if job.id.bytes().any(|b| b.is_ascii_uppercase()) {
                    job.id.to_ascii_lowercase()
                } else {
                    job.id.clone()
                };
                if left.remove(&id) {
                    site.watch
                        .publish(&id, Polled::Job(Box::new(state_only(job))));
                }
            }
        }
        Err(e) => tracing::debug!(site = %site.name, error = %e, "job listing failed"),
    }
}

/// A listed job as a [`Job`] without the parts a listing leaves out: enough for a job still
/// running (progress, cancellable) or one that succeeded, which is all `list` publishes.
fn state_only(job: JobState) -> Job {
    Job {
        id: job.id,
        job_type: job.job_type,
        status: job.status,
        progress: job.progress,
        is_cancellable: job.is_cancellable,
        parameters: Vec::new(),
        sub_jobs: Vec::new(),
        error_string: None,
        error_code: None,
        error_parameters: Vec::new(),
        result_location: None,
        created: None,
        started: None,
        ended: None,
    }
}

/// Reads each job in `left` (concurrently, each call paced like any other).
async fn one_by_one(site: &SiteCtx, left: HashSet<String>) {
    join_all(left.into_iter().map(|id| async move {
        let read = {
            let _call = site.pace().await;
            site.client.job(&id).await
        };
        match read {
            Ok(job) => site.watch.publish(&id, Polled::Job(Box::new(job))),
            Err(e) if e.is_not_found() => site.watch.publish(&id, Polled::Gone),
            // Passing blips: the next round reads it again.
            Err(e) if e.is_retryable() => {
                tracing::debug!(job = %id, error = %e, "job poll failed; polling again")
            }
            Err(e) => site.watch.publish(&id, Polled::Failed(e.to_string())),
        }
    }))
    .await;
}
