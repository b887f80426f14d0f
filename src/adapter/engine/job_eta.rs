//! When a site's jobs should end, so its job poller ([`super::follow`]) can look once
//! everything it waits for should be done instead of up to a whole poll interval later.
//!
//! A bulk job's last site jobs, or an operator's single logoff, would otherwise be seen done at
//! the next regular poll: on average half a poll interval after they ended, and a whole one in
//! the worst case. The estimates come from the progress the site reports: a job at 40 % after
//! 2 s should end at 5 s, and the site's jobs of the same kind took about as long before. A
//! job that reports no usable progress has no estimate; while any job the poller waits for has
//! none, only the regular cadence applies. So the early poll only ever replaces a regular one
//! that would come later and costs no extra calls in a steady stream of jobs (new jobs keep
//! moving the expected end out). A job that outruns its estimate is looked at again after a
//! quarter of its age, so one stuck at 99 % soon falls back to the regular cadence instead of
//! making the poller spin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// How much later than estimated the early poll comes: estimates from a few percent points of
/// progress are rough, and a poll that comes too early costs a second one.
const MARGIN_DIVISOR: u32 = 10;

/// A job past its estimate is looked at again after its age divided by this.
const OVERRUN_DIVISOR: u32 = 4;

/// How much weight each new measurement of a kind's length gets.
const LEARNING_RATE: f64 = 0.25;

/// How long a site's jobs of each kind take, learned from the progress its polls read. The
/// kind is the follower's label (the action that started the job), since a job nobody has
/// polled yet has no type the poller knows.
#[derive(Debug, Default)]
pub struct Durations {
    by_kind: Mutex<HashMap<Arc<str>, Duration>>,
}

impl Durations {
    /// The learned length of the site's `kind` jobs, if any poll has measured one.
    pub fn get(&self, kind: &str) -> Option<Duration> {
        self.lock().get(kind).copied()
    }

    /// Folds one measured length into the kind's running estimate.
    pub fn learn(&self, kind: &Arc<str>, total: Duration) {
        let mut by_kind = self.lock();
        let learned = match by_kind.get(&**kind) {
            Some(old) => old.mul_f64(1.0 - LEARNING_RATE) + total.mul_f64(LEARNING_RATE),
            None => total,
        };
        by_kind.insert(Arc::clone(kind), learned);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Duration>> {
        // Values are replaced whole: a panicking holder leaves nothing half written.
        self.by_kind
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The whole length a running job's progress points to, `elapsed` stretched by 100 ÷
/// `percent`; `None` when the progress says nothing about the rest (none, 0 % or 100 % while
/// the job still runs).
pub fn projected_total(elapsed: Duration, percent: Option<u32>) -> Option<Duration> {
    match percent {
        Some(p @ 1..=99) => Some(elapsed.mul_f64(100.0 / f64::from(p))),
        _ => None,
    }
}

/// When a job that has run `total` from `since` should have ended, with the margin.
pub fn expected_end(since: Instant, total: Duration) -> Instant {
    since + total + total / MARGIN_DIVISOR
}

/// When to look at a job running since `since` again, read at `now` with its progress
/// projecting `total`: at its expected end, but a job at or past it (progress is a rough
/// guide) only after another quarter of its age.
pub fn next_look(since: Instant, total: Duration, now: Instant) -> Instant {
    let age = now.saturating_duration_since(since);
    expected_end(since, total).max(now + age / OVERRUN_DIVISOR)
}

/// When the poller looks next: at `regular`, or at `all_done` (when every job it waits for
/// should have ended, `None` if any job has no estimate) if that is sooner, but never before
/// `earliest`.
pub fn next_poll(regular: Instant, earliest: Instant, all_done: Option<Instant>) -> Instant {
    match all_done {
        Some(done) if done < regular => done.max(earliest).min(regular),
        _ => regular,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn progress_stretches_the_elapsed_time_to_the_whole_job() {
        assert_eq!(projected_total(2000 * MS, Some(40)), Some(5000 * MS));
        assert_eq!(projected_total(150 * MS, Some(50)), Some(300 * MS));
    }

    #[test]
    fn progress_that_says_nothing_gives_no_length() {
        assert_eq!(projected_total(2000 * MS, None), None);
        assert_eq!(projected_total(2000 * MS, Some(0)), None);
        // Still running at 100 %: the rest is unknown.
        assert_eq!(projected_total(2000 * MS, Some(100)), None);
        assert_eq!(projected_total(2000 * MS, Some(250)), None);
    }

    #[test]
    fn the_expected_end_leaves_a_margin() {
        let since = Instant::now();
        assert_eq!(expected_end(since, 1000 * MS), since + 1100 * MS);
    }

    #[test]
    fn a_job_is_looked_at_again_at_its_expected_end() {
        let since = Instant::now();
        // Half done after 1 s: ends at 2 s, looked at 2.2 s in.
        assert_eq!(
            next_look(since, 2000 * MS, since + 1000 * MS),
            since + 2200 * MS
        );
    }

    #[test]
    fn a_job_past_its_estimate_waits_longer_each_time() {
        let since = Instant::now();
        // Stuck near the end: a quarter of its age more each time, so the gaps grow.
        let first = next_look(since, 1000 * MS, since + 1200 * MS);
        assert_eq!(first, since + 1500 * MS);
        let second = next_look(since, 1000 * MS, first);
        assert_eq!(second, since + 1875 * MS);
        assert!(second - first > first - (since + 1200 * MS));
    }

    #[test]
    fn the_poll_comes_early_only_when_every_job_should_be_done_by_then() {
        let last = Instant::now();
        let regular = last + 500 * MS;
        let earliest = last + 100 * MS;
        assert_eq!(
            next_poll(regular, earliest, Some(last + 200 * MS)),
            last + 200 * MS
        );
        // Some job has no estimate: the regular cadence.
        assert_eq!(next_poll(regular, earliest, None), regular);
        // Expected after the regular poll: nothing to gain.
        assert_eq!(next_poll(regular, earliest, Some(last + 900 * MS)), regular);
    }

    #[test]
    fn an_early_poll_never_comes_sooner_than_the_earliest_allowed() {
        let last = Instant::now();
        let regular = last + 500 * MS;
        let earliest = last + 100 * MS;
        // An estimate already passed (the jobs overran a little) waits for the earliest.
        assert_eq!(next_poll(regular, earliest, Some(last)), earliest);
        // A regular cadence shorter than the earliest early poll is kept as it is.
        assert_eq!(
            next_poll(last + 50 * MS, earliest, Some(last + 10 * MS)),
            last + 50 * MS
        );
    }

    #[test]
    fn learned_lengths_follow_new_measurements_per_kind() {
        let durations = Durations::default();
        let logoff: Arc<str> = Arc::from("logoff");
        let restart: Arc<str> = Arc::from("RebootMachines");
        assert_eq!(durations.get("logoff"), None);
        durations.learn(&logoff, 1000 * MS);
        assert_eq!(durations.get("logoff"), Some(1000 * MS));
        durations.learn(&logoff, 2000 * MS);
        assert_eq!(durations.get("logoff"), Some(1250 * MS));
        durations.learn(&restart, 60_000 * MS);
        assert_eq!(durations.get("logoff"), Some(1250 * MS));
        assert_eq!(durations.get("RebootMachines"), Some(60_000 * MS));
    }
}
