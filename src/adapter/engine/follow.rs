//! Following a site's asynchronous jobs together: every task waiting for a CVAD job of the
//! site subscribes here, and one poller per site reads the state of all of them once per poll
//! interval, instead of each task polling its own job. When everything it waits for should have
//! ended before the next regular poll (by the progress the site reported, [`super::job_eta`]),
//! it looks then instead: the last jobs of a bulk job are seen done when they end, not up to a
//! poll interval later.
//!
//! A bulk job of thousands of logoffs has thousands of site jobs in flight; polling each one
//! would cost a second CVAD call per target. The poller lists the caller's jobs (`GET /Jobs`,
//! paged) when that is fewer calls than reading the waiting jobs one by one, and reads them one
//! by one otherwise (one task waiting, or a site holding many old jobs). It also reads them one
//! by one when the site's free call slots cover them all and the listing is several pages:
//! at the end of a bulk job that is one round trip instead of one per page, and takes no slot
//! an action waits for. A rate-limited site keeps the listing, whose budget is the actions'.
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
use tokio::time::Instant;

use super::job_eta::{self, Durations};
use super::worker::SiteCtx;
use crate::cvad::{Job, JobState, JobStatus};

/// Page size of the site's job listing ([`crate::cvad::CvadClient::job_states`]).
const LISTING_PAGE: usize = crate::cvad::MAX_PAGE_SIZE as usize;

/// The shortest gap between two polls when one comes early ([`super::job_eta`]), as a share
/// of the poll interval: at most five polls per interval however the estimates fall.
const EARLIEST_DIVISOR: u32 = 5;

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

/// One job someone waits for.
#[derive(Debug)]
struct Waiting {
    sender: watch::Sender<Option<Polled>>,
    /// The follower's label for the job (the action that started it), for learned lengths.
    kind: Arc<str>,
    since: Instant,
    /// When the site's progress says it ends; until a poll has seen some, the kind's length.
    eta: Eta,
}

#[derive(Debug, Clone, Copy)]
enum Eta {
    /// Not polled yet: the kind's learned length, if any.
    Unseen,
    At(Instant),
    /// Seen running without usable progress: regular polls only.
    Unknown,
}

/// The jobs a site's tasks are waiting for.
#[derive(Debug, Default)]
pub struct JobWatch {
    waiting: Mutex<HashMap<String, Waiting>>,
    polling: AtomicBool,
    /// How many jobs the site listed last time (pages of the next listing).
    listed: AtomicUsize,
    durations: Durations,
}

impl JobWatch {
    /// Starts following `job_id`, a job of `kind` (the action that started it: jobs of one
    /// kind take about as long as each other): the receiver sees each state the poller reads,
    /// the first one a poll interval from now at the latest. The job is dropped from the poll
    /// once every receiver is.
    pub fn subscribe(
        site: &Arc<SiteCtx>,
        job_id: &str,
        kind: &str,
        every: Duration,
    ) -> watch::Receiver<Option<Polled>> {
        let receiver = site.watch.follow(job_id, kind);
        if !site.watch.polling.swap(true, Ordering::AcqRel) {
            tokio::spawn(poll(Arc::clone(site), every));
        }
        receiver
    }

    /// Adds a follower of `job_id` (the poller is started by [`JobWatch::subscribe`]).
    fn follow(&self, job_id: &str, kind: &str) -> watch::Receiver<Option<Polled>> {
        lock(&self.waiting)
            .entry(job_id.to_ascii_lowercase())
            .or_insert_with(|| Waiting {
                sender: watch::channel(None).0,
                kind: Arc::from(kind),
                since: Instant::now(),
                eta: Eta::Unseen,
            })
            .sender
            .subscribe()
    }

    /// The jobs someone still waits for; forgets the others.
    fn wanted(&self) -> Vec<String> {
        let mut waiting = lock(&self.waiting);
        waiting.retain(|_, job| job.sender.receiver_count() > 0);
        waiting.keys().cloned().collect()
    }

    /// When every job still waited for should have ended; `None` when any has no estimate.
    fn all_done_by(&self) -> Option<Instant> {
        let waiting = lock(&self.waiting);
        let mut latest: Option<Instant> = None;
        for job in waiting.values() {
            if job.sender.receiver_count() == 0 {
                continue;
            }
            let end = match job.eta {
                Eta::At(at) => at,
                Eta::Unseen => job_eta::expected_end(job.since, self.durations.get(&job.kind)?),
                Eta::Unknown => return None,
            };
            latest = Some(latest.map_or(end, |l| l.max(end)));
        }
        latest
    }

    /// Hands `polled` to the job's followers, and updates its estimate (and the kind's
    /// learned length) from the progress read.
    fn publish(&self, job_id: &str, polled: Polled) {
        let now = Instant::now();
        if let Some(job) = lock(&self.waiting).get_mut(job_id) {
            if let Polled::Job(read) = &polled
                && !read.is_terminal()
            {
                let elapsed = now.saturating_duration_since(job.since);
                job.eta = match job_eta::projected_total(elapsed, read.progress) {
                    Some(total) => {
                        self.durations.learn(&job.kind, total);
                        Eta::At(job_eta::next_look(job.since, total, now))
                    }
                    None => Eta::Unknown,
                };
            }
            job.sender.send_replace(Some(polled));
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
/// It polls a poll interval after the previous poll ended, or sooner when everything it waits
/// for should be done by then ([`super::job_eta`]).
async fn poll(site: Arc<SiteCtx>, every: Duration) {
    let mut last = Instant::now();
    loop {
        wait_for_next_poll(&site.watch, last, every).await;
        let wanted = site.watch.wanted();
        if wanted.is_empty() {
            site.watch.polling.store(false, Ordering::Release);
            // A subscriber that came in between saw the poller running and did not start one.
            if site.watch.wanted().is_empty() || site.watch.polling.swap(true, Ordering::AcqRel) {
                return;
            }
            last = Instant::now();
            continue;
        }
        let pages = site.watch.listed.load(Ordering::Relaxed) / LISTING_PAGE + 1;
        let mut left: HashSet<String> = wanted.into_iter().collect();
        if left.len() > pages && !one_round_trip(&site, left.len(), pages) {
            list(&site, &mut left).await;
        }
        one_by_one(&site, left).await;
        last = Instant::now();
    }
}

/// Whether reading `jobs` one by one takes one round trip where the listing takes `pages`:
/// every read gets a free call slot at once, and no rate limit spaces them out.
fn one_round_trip(site: &SiteCtx, jobs: usize, pages: usize) -> bool {
    pages > 1 && site.limiter.is_none() && jobs <= site.calls.available_permits()
}

/// Sleeps until the next poll is due after one that ended at `last`. Jobs subscribed
/// meanwhile can only move the expected end later, so an early wake-up checks again before
/// polling.
async fn wait_for_next_poll(watch: &JobWatch, last: Instant, every: Duration) {
    let regular = last + every;
    let earliest = last + every / EARLIEST_DIVISOR;
    loop {
        let at = job_eta::next_poll(regular, earliest, watch.all_done_by());
        if at <= Instant::now() {
            return;
        }
        tokio::time::sleep_until(at).await;
        if at >= regular {
            return;
        }
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

#[cfg(test)]
#[path = "follow_tests.rs"]
mod tests;
