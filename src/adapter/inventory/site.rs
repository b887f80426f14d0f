//! One site's cache: the last good [`SiteData`], the outcome of the last refresh (degraded,
//! last error, connector health), and the refresh itself. Readers take an `Arc` of the current
//! [`SiteState`]; a refresh builds a new one and swaps it in, so no reader ever waits on the
//! network or sees half a refresh.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::{Mutex, Notify};

use super::snapshot::SiteData;
use crate::cvad::{CvadClient, CvadError};
use crate::model::{Connector, ConnectorHealth, Zone};

/// One connector endpoint as the sites list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorView {
    pub url: String,
    pub health: ConnectorHealth,
    /// Why it was last marked down; absent while it answers.
    pub last_error: Option<String>,
}

/// What is known about a site now. Replaced whole by each refresh.
#[derive(Debug, Default)]
pub struct SiteState {
    /// The last successful refresh's data, kept when later refreshes fail.
    pub data: Option<Arc<SiteData>>,
    /// When the last refresh (successful or not) finished.
    pub last_attempt: Option<DateTime<Utc>>,
    /// Why the last refresh failed; `None` after a success.
    pub last_error: Option<String>,
    /// Every connector of the site is unreachable: the data shown is the last known.
    pub degraded: bool,
    pub connectors: Vec<ConnectorView>,
    /// Increases with every new `data`; lets derived views (users) know when to rebuild.
    pub generation: u64,
}

impl SiteState {
    /// Whole seconds since the last successful refresh; `None` if none succeeded yet.
    pub fn data_age(&self, now: DateTime<Utc>) -> Option<u64> {
        self.data
            .as_ref()
            .map(|d| u64::try_from((now - d.fetched_at).num_seconds()).unwrap_or(0))
    }
}

/// What one refresh did, for the caller of `refresh_now` and for the change events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RefreshReport {
    pub site: String,
    pub ok: bool,
    pub degraded: bool,
    pub error: Option<String>,
}

/// One configured site: its client (if its settings are usable) and its current state.
#[derive(Debug)]
pub struct SiteCache {
    pub name: String,
    pub enabled_in_config: bool,
    pub client: Result<CvadClient, String>,
    state: RwLock<Arc<SiteState>>,
    /// Serializes refreshes of this site: the background one and any `refresh_now`.
    refresh_lock: Mutex<()>,
    /// Wakes the site's background refresher early.
    pub wake: Notify,
}

impl SiteCache {
    pub fn new(name: String, enabled_in_config: bool, client: Result<CvadClient, String>) -> Self {
        let connectors = match &client {
            Ok(client) => connector_views(client),
            Err(_) => Vec::new(),
        };
        let last_error = client.as_ref().err().cloned();
        SiteCache {
            name,
            enabled_in_config,
            client,
            state: RwLock::new(Arc::new(SiteState {
                connectors,
                last_error,
                ..SiteState::default()
            })),
            refresh_lock: Mutex::new(()),
            wake: Notify::new(),
        }
    }

    /// The current state; cheap (one `Arc` clone under a read lock held for no I/O).
    pub fn state(&self) -> Arc<SiteState> {
        // A poisoned lock means a writer panicked mid-swap; the Arc inside is still whole.
        match self.state.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn swap(&self, new: SiteState) -> Arc<SiteState> {
        let new = Arc::new(new);
        match self.state.write() {
            Ok(mut guard) => *guard = Arc::clone(&new),
            Err(poisoned) => *poisoned.into_inner() = Arc::clone(&new),
        }
        new
    }

    /// Puts data in place as a successful refresh would (benches, tests, and the refresh).
    pub fn install(&self, data: SiteData) -> (Arc<SiteState>, Arc<SiteState>) {
        let before = self.state();
        let connectors = match &self.client {
            Ok(client) => connector_views(client),
            Err(_) => before.connectors.clone(),
        };
        let after = self.swap(SiteState {
            data: Some(Arc::new(data)),
            last_attempt: Some(Utc::now()),
            last_error: None,
            degraded: false,
            connectors,
            generation: before.generation + 1,
        });
        (before, after)
    }

    /// Fetches the whole site and swaps the result in; on failure keeps the last good data
    /// and decides whether the site is degraded (no connector answers a probe). Returns the
    /// state before and after.
    pub async fn refresh(&self) -> (Arc<SiteState>, Arc<SiteState>) {
        let _one_at_a_time = self.refresh_lock.lock().await;
        let client = match &self.client {
            Ok(client) => client,
            Err(_) => {
                // Its settings cannot work; the state already carries why.
                let before = self.state();
                return (before.clone(), before);
            }
        };
        // Probe every connector alongside the fetch: the fetch itself only talks to the first
        // that answers, and the sites list shows the health of all of them.
        let (fetched, _) = tokio::join!(fetch(client), client.check_endpoints());
        match fetched {
            Ok(data) => self.install(data),
            Err(err) => {
                // Probe again now that the fetch failed: it decides whether the site is
                // degraded, and the probe above may have raced the connectors going down.
                client.check_endpoints().await;
                let connectors = connector_views(client);
                let degraded = !connectors.is_empty()
                    && connectors.iter().all(|c| c.health != ConnectorHealth::Up);
                let before = self.state();
                let after = self.swap(SiteState {
                    data: before.data.clone(),
                    last_attempt: Some(Utc::now()),
                    last_error: Some(err.to_string()),
                    degraded,
                    connectors,
                    generation: before.generation,
                });
                (before, after)
            }
        }
    }
}

fn connector_views(client: &CvadClient) -> Vec<ConnectorView> {
    client
        .endpoint_details()
        .into_iter()
        .map(|e| ConnectorView {
            url: e.url,
            health: e.health,
            last_error: e.last_error,
        })
        .collect()
}

/// Everything the cache holds, fetched concurrently.
async fn fetch(client: &CvadClient) -> Result<SiteData, CvadError> {
    let (mut zones, groups, machines, sessions) = tokio::try_join!(
        client.zones(),
        client.delivery_groups(),
        client.machines(),
        client.sessions(),
    )?;
    fill_connectors(&mut zones, client);
    Ok(SiteData::new(Utc::now(), zones, groups, machines, sessions))
}

/// Each zone's connectors and their health: the endpoints the site config assigns to the
/// zone (`[[sites.zones]]`), or, for a site with one zone and no assignment, all of them. The
/// CVAD API itself does not say which connector serves which zone.
fn fill_connectors(zones: &mut [Zone], client: &CvadClient) {
    let health = client.endpoint_health();
    let assigned = &client.config().zones;
    let only_zone = zones.len() == 1;
    for zone in zones.iter_mut().filter(|z| z.connectors.is_empty()) {
        let endpoints: Vec<usize> = match assigned
            .iter()
            .find(|a| a.zone.eq_ignore_ascii_case(&zone.name))
        {
            Some(a) => a.endpoints.clone(),
            None if only_zone => (0..health.len()).collect(),
            None => continue,
        };
        zone.connectors = endpoints
            .into_iter()
            .filter_map(|i| health.get(i).cloned())
            .map(|(url, health)| Connector {
                name: host_of(&url),
                url,
                health,
            })
            .collect();
    }
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| u.port().map_or(h.to_owned(), |p| format!("{h}:{p}")))
        })
        .unwrap_or_else(|| url.to_owned())
}
