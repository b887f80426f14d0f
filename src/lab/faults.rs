//! Fault injection shared by the simulators: added latency, random server errors, 429 storms,
//! short pages, full outages and targeted failures of the next requests matching a method and
//! path, set by flags at start and changed live through `/_lab`.
//!
//! Each simulator asks [`FaultInjector::check_request`] (or [`FaultInjector::check`], which
//! knows nothing of the request and so never fires targeted failures) before serving a
//! request and renders the answer in its own product's error format.

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
    /// Targeted failures still armed, in the order they were added; each counts down as the
    /// requests it matches are failed and disappears at zero.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail_next: Vec<FailNext>,
}

/// Fail the next `count` requests whose method and path match with `status`: a test breaks
/// exactly one step of a workflow and lets the retry through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailNext {
    /// HTTP method to match (any case); absent matches every method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Text the request path must contain (any case); empty matches every path.
    #[serde(default)]
    pub path_contains: String,
    /// The status to answer with (500 unless set).
    #[serde(default = "default_fail_status")]
    pub status: u16,
    /// How many matching requests fail (1 unless set).
    #[serde(default = "default_fail_count")]
    pub count: u32,
}

fn default_fail_status() -> u16 {
    500
}

fn default_fail_count() -> u32 {
    1
}

impl FailNext {
    /// Whether the request is one of this rule's; the path is tried as sent and decoded
    /// (`%20` as a space), so a rule can name an object as people write it.
    fn matches(&self, method: &str, path: &str) -> bool {
        let needle = self.path_contains.to_lowercase();
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && (path.to_lowercase().contains(&needle)
                || percent_decoded(path).to_lowercase().contains(&needle))
    }
}

/// `%XX` escapes decoded; anything malformed is kept as it is.
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
    /// Arms one more targeted failure (added after those already armed).
    pub fail_next: Option<FailNext>,
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
        if let Some(rule) = &patch.fail_next {
            if !(400..=599).contains(&rule.status) {
                return Err(format!(
                    "fail_next.status must be an HTTP error status, got {}",
                    rule.status
                ));
            }
            if rule.count == 0 {
                return Err("fail_next.count must be at least 1".to_string());
            }
            if let Some(method) = &rule.method
                && (method.is_empty() || !method.chars().all(|c| c.is_ascii_alphabetic()))
            {
                return Err(format!(
                    "fail_next.method must be an HTTP method such as PATCH, got '{method}'"
                ));
            }
        }
        if let Some(outage) = patch.outage {
            self.outage = outage;
        }
        if let Some(rule) = &patch.fail_next {
            self.fail_next.push(rule.clone());
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
    /// Targeted failures need the request: see [`Self::check_request`].
    pub async fn check(&self) -> Option<Fault> {
        self.sleep_latency().await;
        self.decide(None)
    }

    /// [`Self::check`] for a request with this method and path, which may also be one a
    /// targeted failure (`fail_next`) is waiting for.
    pub async fn check_request(&self, method: &str, path: &str) -> Option<Fault> {
        self.sleep_latency().await;
        self.decide(Some((method, path)))
    }

    async fn sleep_latency(&self) {
        let latency = Duration::from_millis(self.lock().plan.latency_ms);
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    fn decide(&self, request: Option<(&str, &str)>) -> Option<Fault> {
        let mut inner = self.lock();
        let retry_after = Duration::from_secs(inner.plan.retry_after_secs);
        if inner.plan.outage {
            return Some(Fault::Outage);
        }
        if let Some((method, path)) = request
            && let Some(at) = inner
                .plan
                .fail_next
                .iter()
                .position(|rule| rule.matches(method, path))
        {
            let rule = &mut inner.plan.fail_next[at];
            let status = rule.status;
            rule.count -= 1;
            if rule.count == 0 {
                inner.plan.fail_next.remove(at);
            }
            return Some(Fault::Error {
                status,
                retry_after,
            });
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
        assert!(matches!(faults.decide(None), Some(Fault::Throttle { .. })));
        assert!(matches!(faults.decide(None), Some(Fault::Throttle { .. })));
        assert_eq!(faults.decide(None), None);
    }

    #[test]
    fn a_targeted_failure_hits_only_matching_requests_and_runs_out() {
        let faults = FaultInjector::default();
        let patch: FaultPatch = serde_json::from_str(
            r#"{"fail_next": {"method":"patch","path_contains":"/deliverygroups/","count":2}}"#,
        )
        .expect("valid patch");
        faults.update(&patch).expect("accepted");
        let group = "/cvad/manage/DeliveryGroups/abc";
        assert_eq!(faults.decide(Some(("GET", group))), None);
        assert_eq!(
            faults.decide(Some(("PATCH", "/cvad/manage/Machines/x"))),
            None
        );
        assert_eq!(faults.decide(None), None, "a request the check cannot see");
        let fault = faults.decide(Some(("PATCH", group)));
        assert!(
            matches!(fault, Some(Fault::Error { status: 500, .. })),
            "{fault:?}"
        );
        assert_eq!(faults.plan().fail_next[0].count, 1);
        assert!(faults.decide(Some(("PATCH", group))).is_some());
        assert_eq!(faults.decide(Some(("PATCH", group))), None);
        assert!(faults.plan().fail_next.is_empty());

        // Names are matched as people write them, whatever the escaping.
        let patch: FaultPatch = serde_json::from_str(
            r#"{"fail_next": {"path_contains":"/London Persistent Desktops","status":503}}"#,
        )
        .expect("valid patch");
        faults.update(&patch).expect("accepted");
        let fault = faults.decide(Some((
            "GET",
            "/cvad/manage/DeliveryGroups/London%20Persistent%20Desktops",
        )));
        assert!(
            matches!(fault, Some(Fault::Error { status: 503, .. })),
            "{fault:?}"
        );
        assert_eq!(percent_decoded("/a%2"), "/a%2");
    }

    #[test]
    fn bad_targeted_failures_are_refused() {
        let faults = FaultInjector::default();
        for bad in [
            r#"{"fail_next": {"path_contains":"/x","status":200}}"#,
            r#"{"fail_next": {"path_contains":"/x","count":0}}"#,
            r#"{"fail_next": {"method":"GET /x","path_contains":"/x"}}"#,
        ] {
            let patch: FaultPatch = serde_json::from_str(bad).expect("parses");
            assert!(faults.update(&patch).is_err(), "{bad}");
        }
        let unknown = serde_json::from_str::<FaultPatch>(r#"{"fail_next": {"path":"/x"}}"#);
        assert!(unknown.is_err());
        assert_eq!(faults.plan(), FaultPlan::default());
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
