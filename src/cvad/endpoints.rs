//! Health of a site's connector endpoints: which to try first, which to skip, when to probe.
//!
//! An endpoint that fails (no connection, timeout, or a 502/503/504 of its own) is marked down
//! and tried only after every healthy one, until a health probe finds it answering again.
//! Probes are due `probe_interval` after the last failure; the transport starts them in the
//! background when it sees one is due, so no caller waits for a dead connector.

use crate::model::ConnectorHealth;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct State {
    health: ConnectorHealth,
    last_error: Option<String>,
    failed_at: Option<Instant>,
    probing: bool,
}

#[derive(Debug)]
struct Endpoint {
    /// The connector's base URL as configured (no trailing slash).
    base: String,
    state: Mutex<State>,
}

/// Live health of every endpoint of one site.
#[derive(Debug)]
pub(crate) struct Endpoints {
    list: Vec<Endpoint>,
    /// The endpoint that answered last; tried first so calls stick to one working connector.
    preferred: AtomicUsize,
    probe_interval: Duration,
}

impl Endpoints {
    pub fn new(bases: &[String], probe_interval: Duration) -> Self {
        Endpoints {
            list: bases
                .iter()
                .map(|b| Endpoint {
                    base: b.trim_end_matches('/').to_string(),
                    state: Mutex::new(State {
                        health: ConnectorHealth::Unknown,
                        last_error: None,
                        failed_at: None,
                        probing: false,
                    }),
                })
                .collect(),
            preferred: AtomicUsize::new(0),
            probe_interval,
        }
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The connector base URL of endpoint `i`.
    pub fn base(&self, i: usize) -> &str {
        self.list
            .get(i)
            .map(|e| e.base.as_str())
            .unwrap_or_default()
    }

    fn state(&self, i: usize) -> Option<std::sync::MutexGuard<'_, State>> {
        // A panic while holding this lock cannot leave the state inconsistent (plain fields),
        // so a poisoned lock is still usable.
        self.list
            .get(i)
            .map(|e| e.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The order to try endpoints in: healthy or untested ones first, starting with the one
    /// that answered last, then the ones marked down, longest-failed first. Every endpoint is
    /// always in the list, so a site whose endpoints all look down is still tried.
    pub fn order(&self) -> Vec<usize> {
        let n = self.list.len();
        let start = self.preferred.load(Ordering::Relaxed) % n.max(1);
        let mut up = Vec::with_capacity(n);
        let mut down = Vec::new();
        for k in 0..n {
            let i = (start + k) % n;
            match self.state(i) {
                Some(s) if s.health == ConnectorHealth::Down => down.push((s.failed_at, i)),
                _ => up.push(i),
            }
        }
        down.sort_by_key(|&(failed_at, _)| failed_at);
        up.extend(down.into_iter().map(|(_, i)| i));
        up
    }

    /// Endpoints that are down and due for a probe; each is marked as being probed, so the
    /// caller owns the probe and must report it with [`Self::probe_finished`].
    pub fn claim_due_probes(&self) -> Vec<usize> {
        let now = Instant::now();
        (0..self.list.len())
            .filter(|&i| {
                let Some(mut s) = self.state(i) else {
                    return false;
                };
                let due = s.health == ConnectorHealth::Down
                    && !s.probing
                    && s.failed_at
                        .is_none_or(|t| now.duration_since(t) >= self.probe_interval);
                if due {
                    s.probing = true;
                }
                due
            })
            .collect()
    }

    /// Records a probe's result: up clears the failure, down restarts the skip period.
    pub fn probe_finished(&self, i: usize, result: Result<(), String>) {
        if let Some(mut s) = self.state(i) {
            s.probing = false;
        }
        match result {
            Ok(()) => self.mark_up(i),
            Err(reason) => self.mark_down(i, reason),
        }
    }

    /// The endpoint answered (with anything but a sickness status).
    pub fn mark_up(&self, i: usize) {
        if let Some(mut s) = self.state(i) {
            if s.health == ConnectorHealth::Down {
                tracing::info!(endpoint = %self.base(i), "CVAD connector answers again");
            }
            s.health = ConnectorHealth::Up;
            s.last_error = None;
            s.failed_at = None;
        }
        self.preferred.store(i, Ordering::Relaxed);
    }

    /// The endpoint did not answer, or answered that it is unwell.
    pub fn mark_down(&self, i: usize, reason: String) {
        if let Some(mut s) = self.state(i) {
            if s.health != ConnectorHealth::Down {
                tracing::warn!(endpoint = %self.base(i), %reason, "CVAD connector marked down");
            }
            s.health = ConnectorHealth::Down;
            s.last_error = Some(reason);
            s.failed_at = Some(Instant::now());
        }
    }

    /// `(base URL, health)` of every endpoint, in configuration order.
    pub fn snapshot(&self) -> Vec<(String, ConnectorHealth)> {
        (0..self.list.len())
            .map(|i| {
                let health = self
                    .state(i)
                    .map(|s| s.health)
                    .unwrap_or(ConnectorHealth::Unknown);
                (self.base(i).to_string(), health)
            })
            .collect()
    }

    /// Why endpoint `i` was last marked down.
    pub fn last_error(&self, i: usize) -> Option<String> {
        self.state(i).and_then(|s| s.last_error.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Endpoints {
        Endpoints::new(
            &["http://a/".into(), "http://b".into(), "http://c".into()],
            Duration::from_secs(3600),
        )
    }

    #[test]
    fn healthy_endpoints_come_first_and_down_ones_last() {
        let eps = three();
        assert_eq!(eps.base(0), "http://a");
        assert_eq!(eps.order(), vec![0, 1, 2]);
        eps.mark_down(0, "refused".into());
        assert_eq!(eps.order(), vec![1, 2, 0]);
        eps.mark_down(2, "refused".into());
        assert_eq!(eps.order(), vec![1, 0, 2]);
        eps.mark_down(1, "refused".into());
        // Every endpoint is still tried, the one down longest first.
        assert_eq!(eps.order(), vec![0, 2, 1]);
    }

    #[test]
    fn the_last_endpoint_that_answered_is_preferred() {
        let eps = three();
        eps.mark_up(2);
        assert_eq!(eps.order(), vec![2, 0, 1]);
        assert_eq!(eps.snapshot()[2].1, ConnectorHealth::Up);
        assert_eq!(eps.snapshot()[0].1, ConnectorHealth::Unknown);
    }

    #[test]
    fn probes_are_due_after_the_skip_period_and_claimed_once() {
        let eps = Endpoints::new(&["http://a".into()], Duration::ZERO);
        assert!(eps.claim_due_probes().is_empty(), "nothing is down");
        eps.mark_down(0, "refused".into());
        assert_eq!(eps.claim_due_probes(), vec![0]);
        assert!(eps.claim_due_probes().is_empty(), "already being probed");
        eps.probe_finished(0, Err("still refused".into()));
        assert_eq!(eps.last_error(0).as_deref(), Some("still refused"));
        assert_eq!(eps.claim_due_probes(), vec![0]);
        eps.probe_finished(0, Ok(()));
        assert_eq!(eps.snapshot()[0].1, ConnectorHealth::Up);

        let slow = Endpoints::new(&["http://a".into()], Duration::from_secs(3600));
        slow.mark_down(0, "refused".into());
        assert!(slow.claim_due_probes().is_empty(), "skip period not over");
    }
}
