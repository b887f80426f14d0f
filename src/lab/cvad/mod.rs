//! Simulated CVAD sites: an on-prem farm ("London") and a DaaS instance ("Cloud"), each with
//! zones of two connector listeners serving the Orchestration API under `/cvad/manage`, a
//! cloud trust service for client-credentials tokens, and control routes under `/_lab/sites`.
//!
//! Layout: `state` (records), `seed` (generation), `timeline` (deadlines), `power` (power
//! state machine), `actions` (every write), `inventory` (catalog/group/machine edits),
//! `entitle` (delivery-group and application-group included users), `jobs`
//! (async jobs), `paging`, `search`, `render` (wire models), `auth`, `error`, `api/` (routes
//! and the HTTP plumbing in `api::http`), `control` (/_lab), `live` (background activity).
//!
//! Fidelity notes:
//! - Every answer of a connector or of the trust service carries `Date` in simulated time.
//! - Resource segments (`/Machines`, `/sessions`...) match in any case; ids are looked up
//!   case-insensitively anyway. Unknown routes, unsupported methods and undecodable path
//!   parameters answer in the CVAD error format, never plain text.
//! - The fault plan's `outage` puts the whole site in outage mode: reads keep serving the
//!   site's data (which admin writes can no longer change; brokering and power transitions
//!   already under way go on, as under Local Host Cache), and writes fail through the same
//!   check as a zone whose connectors are all down: 503 "Hcl request is not allowed when
//!   connector is in outage mode" for synchronous calls, a Failed job "No Citrix Workspace
//!   Cloud Connector was found" for `async=true`. Zones keep reporting their connectors'
//!   `IsHealthy`.
//! - Injected 502/504 answers come from "a gateway": HTML, no CVAD body, no retry hint.

mod actions;
mod api;
mod auth;
mod control;
mod entitle;
mod error;
mod inventory;
mod jobs;
mod live;
mod paging;
mod power;
mod render;
mod search;
mod seed;
mod state;
mod timeline;

use super::server::HttpServer;
use super::{FaultInjector, LabContext, SimClock, SiteCredentials, SiteInfo, ZoneInfo};
use crate::model::SiteKind;
use anyhow::Context as _;
use auth::Credentials;
use axum::Router;
use rand::Rng;
use state::{SiteMeta, SiteState};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long a session logoff job takes, in simulated seconds, from the call that starts it
/// to its end (the start delay of every job, then the logoff itself): the least a client
/// that waits for logoffs to finish waits after its last call.
pub const LOGOFF_JOB_SECS: i64 = jobs::START_DELAY_SECS + timeline::LOGOFF_SECS;

/// One connector listener of a site.
struct Connector {
    zone: usize,
    /// Position of the connector within its zone.
    slot: usize,
    addr: SocketAddr,
    server: Option<HttpServer>,
}

/// One simulated site, shared by its connector listeners, the ticker and the control routes.
pub struct Site {
    meta: SiteMeta,
    clock: SimClock,
    faults: FaultInjector,
    credentials: Credentials,
    state: Mutex<SiteState>,
    endpoints: OnceLock<Vec<String>>,
    token_url: OnceLock<String>,
    connectors: tokio::sync::Mutex<Vec<Connector>>,
    /// The lab's one directory (domain LAB), shared by every site's Identity API.
    identity: Arc<crate::lab::identity::LabDirectory>,
}

impl Site {
    /// The site's state as it is (no clock update); use for short reads and writes.
    fn lock(&self) -> MutexGuard<'_, SiteState> {
        // A panic while holding the lock leaves records individually consistent; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The site's state with every deadline up to now applied.
    fn lock_current(&self) -> MutexGuard<'_, SiteState> {
        let now = self.clock.now();
        let outage = self.faults.plan().outage;
        let mut state = self.lock();
        state.outage = outage;
        if now > state.last_tick {
            timeline::advance(&mut state, now);
        }
        state
    }

    fn endpoint_url(&self, index: usize) -> String {
        self.endpoints
            .get()
            .and_then(|e| e.get(index))
            .cloned()
            .unwrap_or_default()
    }

    fn info(&self) -> SiteInfo {
        let state = self.lock();
        let endpoints = self.endpoints.get().cloned().unwrap_or_default();
        let mut zones: Vec<ZoneInfo> = state
            .zones
            .iter()
            .map(|z| ZoneInfo {
                name: z.name.clone(),
                endpoints: Vec::new(),
            })
            .collect();
        let mut next = 0;
        for (zone, z) in state.zones.iter().enumerate() {
            for _ in &z.connectors_up {
                if let Some(info) = zones.get_mut(zone) {
                    info.endpoints.push(next);
                }
                next += 1;
            }
        }
        let credentials = match self.meta.kind {
            SiteKind::Onprem => SiteCredentials::Basic {
                username: self.credentials.user.clone(),
                password: self.credentials.secret.clone(),
            },
            SiteKind::Cloud => SiteCredentials::Client {
                client_id: self.credentials.user.clone(),
                client_secret: self.credentials.secret.clone(),
            },
        };
        SiteInfo {
            name: self.meta.name.clone(),
            kind: self.meta.kind,
            customer_id: self.meta.customer_id.clone(),
            site_id: self.meta.id.clone(),
            endpoints,
            token_url: self.token_url.get().cloned().unwrap_or_default(),
            credentials,
            zones,
        }
    }

    /// Stops or restarts one connector listener (same port), updating its zone's health.
    async fn set_connector(self: &Arc<Self>, index: usize, up: bool) -> Result<bool, String> {
        let mut connectors = self.connectors.lock().await;
        let connector = connectors
            .get_mut(index)
            .ok_or_else(|| format!("no connector {index}"))?;
        match (up, connector.server.is_some()) {
            (true, false) => {
                let server = HttpServer::bind(connector.addr, api::router(self.clone(), index))
                    .await
                    .map_err(|err| format!("cannot reopen {}: {err}", connector.addr))?;
                connector.server = Some(server);
            }
            (false, true) => {
                if let Some(mut server) = connector.server.take() {
                    server.stop().await;
                }
            }
            _ => {}
        }
        let now = self.clock.now();
        let mut state = self.lock_current();
        if let Some(zone) = state.zones.get_mut(connector.zone) {
            let was = zone.is_healthy();
            if let Some(flag) = zone.connectors_up.get_mut(connector.slot) {
                *flag = up;
            }
            if was != zone.is_healthy() {
                zone.last_state_change = now;
            }
        }
        Ok(up)
    }

    async fn connector_states(&self) -> Vec<(usize, bool)> {
        self.connectors
            .lock()
            .await
            .iter()
            .map(|c| (c.zone, c.server.is_some()))
            .collect()
    }
}

/// The running simulated sites.
pub struct CvadLab {
    sites: Vec<Arc<Site>>,
    trust: Option<HttpServer>,
    background: Vec<JoinHandle<()>>,
    directory: Arc<crate::lab::identity::LabDirectory>,
}

/// Credentials of a site, derived from the lab seed so a given seed always logs in the same way.
fn credentials(ctx: &LabContext, index: usize, kind: SiteKind) -> Credentials {
    let mut rng = ctx.rng(seed::SITE_STREAM_BASE + 100 + index as u64);
    let mut word = |n: usize| -> String {
        (0..n)
            .map(|_| {
                let c = rng.random_range(0..36u8);
                (if c < 10 { b'0' + c } else { b'a' + c - 10 }) as char
            })
            .collect()
    };
    match kind {
        SiteKind::Onprem => Credentials {
            user: format!("{}\\svc-deskbridge", crate::lab::people::DOMAIN),
            secret: format!("Lab-{}!", word(12)),
        },
        SiteKind::Cloud => Credentials {
            user: format!("{}-{}", word(8), word(12)),
            secret: word(32),
        },
    }
}

impl CvadLab {
    /// Seeds every site and binds every connector listener and the trust service.
    pub async fn start(ctx: &LabContext) -> anyhow::Result<CvadLab> {
        let mut builds = Vec::new();
        for (index, spec) in seed::SITES.iter().enumerate() {
            let ctx = ctx.clone();
            builds.push(tokio::task::spawn_blocking(move || {
                seed::build(&ctx, index, spec)
            }));
        }
        let directory = Arc::new(crate::lab::identity::LabDirectory::seed(ctx));
        let mut sites = Vec::new();
        for (index, build) in builds.into_iter().enumerate() {
            let state = build.await.context("seeding a simulated site")?;
            let kind = state.meta.kind;
            sites.push(Arc::new(Site {
                meta: state.meta.clone(),
                clock: ctx.clock.clone(),
                faults: FaultInjector::new(ctx.faults.clone(), ctx.seed ^ (0x5eed + index as u64)),
                credentials: credentials(ctx, index, kind),
                state: Mutex::new(state),
                endpoints: OnceLock::new(),
                token_url: OnceLock::new(),
                connectors: tokio::sync::Mutex::new(Vec::new()),
                identity: directory.clone(),
            }));
        }
        for site in &sites {
            let zones: Vec<usize> = site
                .lock()
                .zones
                .iter()
                .map(|z| z.connectors_up.len())
                .collect();
            let mut connectors = Vec::new();
            let mut urls = Vec::new();
            for (zone, count) in zones.into_iter().enumerate() {
                for slot in 0..count {
                    let index = connectors.len();
                    let server = HttpServer::bind_loopback(api::router(site.clone(), index))
                        .await
                        .with_context(|| {
                            format!("binding a connector of site {}", site.meta.name)
                        })?;
                    urls.push(server.url());
                    connectors.push(Connector {
                        zone,
                        slot,
                        addr: server.addr(),
                        server: Some(server),
                    });
                }
            }
            if let Some(first) = urls.first()
                && site.meta.kind == SiteKind::Onprem
            {
                let _ = site
                    .token_url
                    .set(format!("{first}/citrix/orchestration/api/tokens"));
            }
            let _ = site.endpoints.set(urls);
            *site.connectors.lock().await = connectors;
        }
        let cloud: Vec<Arc<Site>> = sites
            .iter()
            .filter(|s| s.meta.kind == SiteKind::Cloud)
            .cloned()
            .collect();
        let trust = if cloud.is_empty() {
            None
        } else {
            let server =
                HttpServer::bind_loopback(auth::trust_router(cloud.clone(), ctx.clock.clone()))
                    .await
                    .context("binding the cloud trust service")?;
            for site in &cloud {
                let _ = site.token_url.set(format!(
                    "{}/cctrustoauth2/{}/tokens/clients",
                    server.url(),
                    site.meta.customer_id
                ));
            }
            Some(server)
        };
        let mut background = vec![tokio::spawn(ticker(sites.clone()))];
        if ctx.live {
            background.push(tokio::spawn(live::run(
                sites.clone(),
                ctx.rng(seed::SITE_STREAM_BASE + 50),
            )));
        }
        Ok(CvadLab {
            sites,
            trust,
            background,
            directory,
        })
    }

    /// Where each site is and how to log in; endpoints in zone order.
    pub fn sites(&self) -> Vec<SiteInfo> {
        self.sites.iter().map(|s| s.info()).collect()
    }

    /// The `/_lab/sites/...` control routes.
    pub fn control_router(&self) -> Router {
        control::router(self.sites.clone())
            .merge(crate::lab::identity::control_router(self.directory.clone()))
    }

    /// Stops the background tasks and every listener.
    pub async fn shutdown(mut self) {
        for task in self.background.drain(..) {
            task.abort();
        }
        for site in &self.sites {
            let mut connectors = site.connectors.lock().await;
            for connector in connectors.iter_mut() {
                if let Some(mut server) = connector.server.take() {
                    server.stop().await;
                }
            }
        }
        if let Some(mut trust) = self.trust.take() {
            trust.stop().await;
        }
    }
}

/// Applies due deadlines even when nobody is calling, so jobs and power actions finish on time
/// for observers that only read through the control API.
async fn ticker(sites: Vec<Arc<Site>>) {
    let mut interval = tokio::time::interval(Duration::from_millis(250));
    loop {
        interval.tick().await;
        for site in &sites {
            drop(site.lock_current());
        }
    }
}
