//! The adapter's Prometheus metrics, served at `GET /metrics` (see docs/metrics.md): jobs by
//! state, task attempt latency, CVAD and ServiceNow calls, outbox depth, API requests, site
//! health and when the process started.
//!
//! Counters and histograms are fed as things happen, through the observer hooks of the clients
//! ([`crate::observe::CallObserver`]) and of the engine
//! ([`crate::adapter::engine::AttemptObserver`]), so neither knows about Prometheus. Gauges
//! that mirror stored state (jobs, outbox, sites) are read when a scraper asks, so every
//! replica on a shared database reports the same numbers and nothing can drift.
//!
//! Built on `prometheus-client`, the Prometheus project's own Rust client, encoded in the text
//! exposition format 0.0.4, which every Prometheus-compatible scraper reads.

mod http;
mod observers;

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::adapter::engine::EngineHooks;
use crate::adapter::inventory::Inventory;
use crate::adapter::store::Store;
use crate::observe::CallObserver;

pub use http::{CONTENT_TYPE, serve, track_requests};

/// Upper bounds (seconds) for one HTTP exchange with a site or instance: loopback labs answer
/// in milliseconds, real connectors in tens to hundreds, and timeouts are 10 to 60 s.
const CALL_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds (seconds) for one task attempt: it may follow a site job (a restart, a logoff
/// that waits for the session to go) for minutes.
const ATTEMPT_BUCKETS: [f64; 13] = [
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0,
];

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteCall {
    site: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceCall {
    instance: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Attempt {
    action: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ApiRequest {
    method: &'static str,
    route: String,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabel {
    instance: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SiteLabel {
    site: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

/// Every metric family, registered once.
struct Families {
    cvad_calls: Family<SiteCall, Counter>,
    cvad_latency: Histograms<SiteCall>,
    servicenow_calls: Family<InstanceCall, Counter>,
    servicenow_latency: Histograms<InstanceCall>,
    attempts: Histograms<Attempt>,
    api_requests: Family<ApiRequest, Counter>,
    jobs: Family<StateLabel, Gauge>,
    outbox_depth: Family<InstanceLabel, Gauge>,
    site_degraded: Family<SiteLabel, Gauge>,
    inventory_age: Family<SiteLabel, Gauge>,
    store_up: Gauge,
    replicas_alive: Gauge,
}

struct Inner {
    registry: Registry,
    families: Families,
    /// Scrapes set the stored-state gauges and then encode: one at a time, so one scrape
    /// never encodes a mix of its own and another's readings.
    scrape: tokio::sync::Mutex<()>,
    /// The replicas alive as this one's heartbeat last saw them; unset: alone.
    replicas: std::sync::Mutex<Option<tokio::sync::watch::Receiver<u32>>>,
}

/// The registry and its metrics. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn call_histogram() -> Histogram {
    Histogram::new(CALL_BUCKETS)
}

fn attempt_histogram() -> Histogram {
    Histogram::new(ATTEMPT_BUCKETS)
}

impl Metrics {
    /// A fresh registry; the start time is now.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("deskbridge");
        let families = Families {
            cvad_calls: Family::default(),
            cvad_latency: Family::new_with_constructor(call_histogram),
            servicenow_calls: Family::default(),
            servicenow_latency: Family::new_with_constructor(call_histogram),
            attempts: Family::new_with_constructor(attempt_histogram),
            api_requests: Family::default(),
            jobs: Family::default(),
            outbox_depth: Family::default(),
            site_degraded: Family::default(),
            inventory_age: Family::default(),
            store_up: Gauge::default(),
            replicas_alive: Gauge::default(),
        };
        let build: Family<VersionLabel, Gauge> = Family::default();
        build
            .get_or_create(&VersionLabel {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        let started: Gauge = Gauge::default();
        started.set(chrono::Utc::now().timestamp());
        let f = &families;
        // Help texts get a final period from the encoder.
        let r = &mut registry;
        r.register(
            "build_info",
            "Always 1; the label carries the adapter's version",
            build,
        );
        r.register(
            "start_time_seconds",
            "Unix time the adapter started",
            started,
        );
        r.register(
            "jobs",
            "Jobs in the store by state, read at scrape time",
            f.jobs.clone(),
        );
        r.register(
            "task_attempt_duration_seconds",
            "Duration of task attempts by action and how they ended \
             (succeeded, failed, cancelled, retry, lease_lost)",
            f.attempts.clone(),
        );
        r.register(
            "cvad_requests",
            "HTTP exchanges with CVAD connectors by site and outcome \
             (2xx, 4xx, 5xx, timeout, unreachable, error)",
            f.cvad_calls.clone(),
        );
        r.register(
            "cvad_request_duration_seconds",
            "Duration of HTTP exchanges with CVAD connectors by site and outcome",
            f.cvad_latency.clone(),
        );
        r.register(
            "servicenow_requests",
            "HTTP exchanges with ServiceNow instances by instance and outcome \
             (2xx, 4xx, 5xx, timeout, unreachable, error)",
            f.servicenow_calls.clone(),
        );
        r.register(
            "servicenow_request_duration_seconds",
            "Duration of HTTP exchanges with ServiceNow instances by instance and outcome",
            f.servicenow_latency.clone(),
        );
        r.register(
            "outbox_depth",
            "ServiceNow writes waiting in the outbox by instance, read at scrape time",
            f.outbox_depth.clone(),
        );
        r.register(
            "api_requests",
            "Requests to the adapter's HTTP API by method, route template and status class",
            f.api_requests.clone(),
        );
        r.register(
            "site_degraded",
            "1 while no connector of the site answers and its inventory is last-known data",
            f.site_degraded.clone(),
        );
        r.register(
            "site_inventory_age_seconds",
            "Age of the site's last good inventory refresh",
            f.inventory_age.clone(),
        );
        r.register(
            "store_up",
            "1 if the store answered this scrape; 0 leaves the jobs and outbox gauges out",
            f.store_up.clone(),
        );
        r.register(
            "replicas_alive",
            "Adapter replicas sharing the store, alive at this replica's last heartbeat; \
             each uses its share of every site's concurrency and rate limit",
            f.replicas_alive.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                families,
                scrape: tokio::sync::Mutex::new(()),
                replicas: std::sync::Mutex::new(None),
            }),
        }
    }

    /// Reports the replicas alive from this watch (the engine's group) at every scrape.
    pub fn track_replicas(&self, alive: tokio::sync::watch::Receiver<u32>) {
        let mut slot = self
            .inner
            .replicas
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *slot = Some(alive);
    }

    /// The observer to install in CVAD clients (`CvadConfig::with_observer`).
    pub fn cvad_observer(&self) -> Arc<dyn CallObserver> {
        Arc::new(observers::Cvad(self.clone()))
    }

    /// The observer to install in ServiceNow clients (`ServiceNowConfig::with_observer`).
    pub fn servicenow_observer(&self) -> Arc<dyn CallObserver> {
        Arc::new(observers::ServiceNow(self.clone()))
    }

    /// The engine's observers: task attempts, and the CVAD calls of its site clients.
    pub fn engine_hooks(&self) -> EngineHooks {
        EngineHooks {
            attempts: Some(Arc::new(observers::Attempts(self.clone()))),
            cvad_calls: Some(self.cvad_observer()),
        }
    }

    fn families(&self) -> &Families {
        &self.inner.families
    }

    /// Reads the stored-state gauges and encodes everything in the text format 0.0.4. A store
    /// that does not answer leaves its gauges out (never stale) and sets `store_up` to 0, so
    /// the rest still reaches the scraper.
    pub async fn render(
        &self,
        store: &dyn Store,
        instances: &[String],
        inventory: &Inventory,
    ) -> String {
        let _one_at_a_time = self.inner.scrape.lock().await;
        let f = self.families();
        let jobs = store.count_jobs_by_state().await;
        let depth = store.outbox_depth().await;
        f.jobs.clear();
        f.outbox_depth.clear();
        match (jobs, depth) {
            (Ok(jobs), Ok(depth)) => {
                f.store_up.set(1);
                for (state, n) in jobs {
                    f.jobs
                        .get_or_create(&StateLabel {
                            state: state.as_str(),
                        })
                        .set(gauge_value(n));
                }
                // Every configured instance, 0 when nothing waits, so an alert on the depth
                // sees a value rather than an absent series.
                for instance in instances {
                    f.outbox_depth
                        .get_or_create(&InstanceLabel {
                            instance: instance.clone(),
                        })
                        .set(0);
                }
                for (instance, n) in depth {
                    f.outbox_depth
                        .get_or_create(&InstanceLabel { instance })
                        .set(gauge_value(n));
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "metrics: the store did not answer");
                f.store_up.set(0);
            }
        }
        let alive = match &*self
            .inner
            .replicas
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
        {
            Some(alive) => *alive.borrow(),
            None => 1,
        };
        f.replicas_alive.set(i64::from(alive));
        let now = chrono::Utc::now();
        f.site_degraded.clear();
        f.inventory_age.clear();
        for (site, state) in inventory.states() {
            let label = SiteLabel {
                site: site.to_owned(),
            };
            f.site_degraded
                .get_or_create(&label)
                .set(i64::from(state.degraded));
            if let Some(age) = state.data_age(now) {
                f.inventory_age.get_or_create(&label).set(gauge_value(age));
            }
        }
        let mut text = String::new();
        // Writing to a String cannot fail; an error here would be an encoder bug.
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry)
        {
            tracing::error!(error = %e, "metrics: encoding failed");
        }
        text
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
