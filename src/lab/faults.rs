//! Fault injection shared by the simulators: added latency, random server errors, 429 storms,
//! short pages and full outages, set by flags at start and changed live through `/_lab`.
//!
//! Each simulator asks [`FaultInjector::check`] before serving a request and renders the
//! answer in its own product's error format.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What faults are active. Every field is optional in the control API's JSON so a caller can
/// change one thing at a time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPlan {
    /// Share of requests (0.0 to 1.0) answered with `error_status`.
    pub error_rate: f64,
    /// Status used for random errors (503 unless set; 500, 502, 504 are useful too).
    pub error_status: Option<u16>,
    /// Latency added to every request, in milliseconds.
    pub latency_ms: u64,
    /// The next N requests are answered 429 (a "storm"); counts down as they are served.
    pub throttle_next: u32,
    /// Seconds the 429 and 503 answers ask the client to wait.
    pub retry_after_secs: u64,
    /// Pages hold at most this many items, whatever limit the client asked for.
    pub short_page: Option<usize>,
    /// Every request fails as if the service were down (503, or the product's outage answer).
    pub outage: bool,
}

/// A partial update of a [`FaultPlan`], as sent to the control API.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultPatch {
    pub error_rate: Option<f64>,
    pub error_status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub throttle_next: Option<u32>,
    pub retry_after_secs: Option<u64>,
    /// `0` clears the cap.
    pub short_page: Option<usize>,
    pub outage: Option<bool>,
}

impl FaultPlan {
    pub fn apply(&mut self, patch: &FaultPatch) -> Result<(), String> {
        if let Some(rate) = patch.error_rate {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("error_rate must be between 0 and 1, got {rate}"));
            }
            self.error_rate = rate;
        }
        if let Some(status) = patch.error_status {
            if !(400..=599).contains(&status) {
                return Err(format!(
                    "error_status must be an HTTP error status, got {status}"
                ));
            }
            self.error_status = Some(status);
        }
        if let Some(ms) = patch.latency_ms {
            self.latency_ms = ms;
        }
        if let Some(n) = patch.throttle_next {
            self.throttle_next = n;
        }
        if let Some(secs) = patch.retry_after_secs {
            self.retry_after_secs = secs;
        }
        if let Some(cap) = patch.short_page {
            self.short_page = (cap > 0).then_some(cap);
        }
        if let Some(outage) = patch.outage {
            self.outage = outage;
        }
        Ok(())
    }
}

/// The fault a request must suffer, decided before it is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer 429 and ask the client to wait this long.
    Throttle { retry_after: Duration },
    /// Answer with this server error status.
    Error { status: u16, retry_after: Duration },
    /// The whole service is down.
    Outage,
}

#[derive(Debug)]
struct Inner {
    plan: FaultPlan,
    rng: ChaCha8Rng,
}

/// Shared, live-adjustable fault state for one simulated service.
#[derive(Debug, Clone)]
pub struct FaultInjector {
    inner: Arc<Mutex<Inner>>,
}

impl Default for FaultInjector {
    fn default() -> Self {
        Self::new(FaultPlan::default(), 0)
    }
}

impl FaultInjector {
    pub fn new(plan: FaultPlan, seed: u64) -> Self {
        FaultInjector {
            inner: Arc::new(Mutex::new(Inner {
                plan,
                rng: ChaCha8Rng::seed_from_u64(seed),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn plan(&self) -> FaultPlan {
        self.lock().plan.clone()
    }

    pub fn update(&self, patch: &FaultPatch) -> Result<FaultPlan, String> {
        let mut inner = self.lock();
        inner.plan.apply(patch)?;
        Ok(inner.plan.clone())
    }

    pub fn reset(&self) {
        self.lock().plan = FaultPlan::default();
    }

    /// The largest page the service may return for a requested `limit`.
    pub fn page_cap(&self, limit: usize) -> usize {
        match self.lock().plan.short_page {
            Some(cap) => limit.min(cap).max(1),
            None => limit,
        }
    }

    /// Sleeps for the configured latency, then says which fault (if any) this request gets.
    pub async fn check(&self) -> Option<Fault> {
        let latency = Duration::from_millis(self.lock().plan.latency_ms);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        self.decide()
    }

    fn decide(&self) -> Option<Fault> {
        let mut inner = self.lock();
        let retry_after = Duration::from_secs(inner.plan.retry_after_secs);
        if inner.plan.outage {
            return Some(Fault::Outage);
        }
        if inner.plan.throttle_next > 0 {
            inner.plan.throttle_next -= 1;
            return Some(Fault::Throttle { retry_after });
        }
        let rate = inner.plan.error_rate;
        if rate > 0.0 && inner.rng.random_bool(rate.min(1.0)) {
            let status = inner.plan.error_status.unwrap_or(503);
            return Some(Fault::Error {
                status,
                retry_after,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storm_counts_down_then_stops() {
        let faults = FaultInjector::default();
        faults
            .update(&FaultPatch {
                throttle_next: Some(2),
                ..Default::default()
            })
            .expect("valid patch");
        assert!(matches!(faults.decide(), Some(Fault::Throttle { .. })));
        assert!(matches!(faults.decide(), Some(Fault::Throttle { .. })));
        assert_eq!(faults.decide(), None);
    }

    #[test]
    fn bad_rates_are_refused_and_change_nothing() {
        let faults = FaultInjector::default();
        let err = faults
            .update(&FaultPatch {
                error_rate: Some(1.5),
                ..Default::default()
            })
            .expect_err("rate above 1 is refused");
        assert!(err.contains("error_rate"));
        assert_eq!(faults.plan(), FaultPlan::default());
    }

    #[test]
    fn short_pages_cap_the_limit() {
        let faults = FaultInjector::default();
        assert_eq!(faults.page_cap(1000), 1000);
        faults
            .update(&FaultPatch {
                short_page: Some(7),
                ..Default::default()
            })
            .expect("valid patch");
        assert_eq!(faults.page_cap(1000), 7);
        assert_eq!(faults.page_cap(3), 3);
    }
}
