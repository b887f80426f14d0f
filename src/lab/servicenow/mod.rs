//! Simulated ServiceNow instances: the Table API (encoded queries, string-valued JSON, paging
//! headers, reference links, display values), the Aggregate API, Basic and OAuth auth,
//! business rules and the task → RITM → REQ cascade, the Service Catalog `order_now`, a seeded
//! helpdesk backlog, fault injection and a control API under `/_lab/servicenow/{instance}`.

mod auth;
mod cascade;
mod catalog;
mod control;
mod envelope;
mod instance;
mod live;
mod paging;
mod query;
mod render;
mod request;
mod rules;
mod schema;
mod seed;
mod stats;
mod store;
mod table_api;

pub use seed::stable_id;

use super::server::HttpServer;
use super::{FaultInjector, LabContext, ServiceNowInfo};
use axum::Router;
use axum::response::Response;
use axum::routing::post;
use instance::{Credentials, Instance, format_time};
use rand::distr::{Alphanumeric, SampleString};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use seed::{Backlog, Directory, INTEGRATION_USER, seed_backlog, seed_directory};
use std::collections::HashMap;
use std::sync::Arc;
use store::Db;
use tokio::task::JoinHandle;

/// The instances the lab serves; the structure allows several.
const INSTANCE_NAMES: &[&str] = &["lab"];

struct Running {
    instance: Arc<Instance>,
    directory: Arc<Directory>,
    server: HttpServer,
}

/// The running simulated ServiceNow instances.
pub struct SnLab {
    running: Vec<Running>,
    live: Option<JoinHandle<()>>,
}

impl SnLab {
    /// Seeds every instance and binds its listener on 127.0.0.1.
    pub async fn start(ctx: &LabContext) -> anyhow::Result<SnLab> {
        let mut rng = ctx.rng(2);
        let mut running = Vec::new();
        for name in INSTANCE_NAMES {
            let (instance, directory) = build(ctx, name, &mut rng);
            let instance = Arc::new(instance);
            let server = HttpServer::bind_loopback(api_router(instance.clone())).await?;
            // Only `start` sets it, once, right after binding.
            let _ = instance.base_url.set(server.url());
            running.push(Running {
                instance,
                directory: Arc::new(directory),
                server,
            });
        }
        let live = ctx.live.then(|| {
            let feeds = running
                .iter()
                .map(|r| live::Feed {
                    instance: r.instance.clone(),
                    directory: r.directory.clone(),
                })
                .collect();
            let live_rng = ChaCha8Rng::seed_from_u64(rng.random());
            tokio::spawn(live::run(feeds, ctx.people.clone(), live_rng))
        });
        Ok(SnLab { running, live })
    }

    pub fn instances(&self) -> Vec<ServiceNowInfo> {
        self.running
            .iter()
            .map(|r| {
                let c = &r.instance.credentials;
                ServiceNowInfo {
                    name: r.instance.name.clone(),
                    url: r.server.url(),
                    username: c.username.clone(),
                    password: c.password.clone(),
                    client_id: c.client_id.clone(),
                    client_secret: c.client_secret.clone(),
                }
            })
            .collect()
    }

    /// Routes under `/_lab/servicenow/{instance}/…`.
    pub fn control_router(&self) -> Router {
        let instances = self
            .running
            .iter()
            .map(|r| (r.instance.name.clone(), r.instance.clone()))
            .collect::<HashMap<_, _>>();
        control::router(Arc::new(instances))
    }

    pub async fn shutdown(mut self) {
        if let Some(live) = self.live.take() {
            live.abort();
        }
        for running in &mut self.running {
            running.server.stop().await;
        }
    }
}

/// Seeds one instance. Every random draw comes from `rng`, so a seed gives the same instance.
fn build(ctx: &LabContext, name: &str, rng: &mut ChaCha8Rng) -> (Instance, Directory) {
    let credentials = Credentials {
        username: INTEGRATION_USER.to_string(),
        password: format!("Sn-{}", Alphanumeric.sample_string(rng, 20)),
        client_id: format!("{:032x}", rng.random::<u128>()),
        client_secret: Alphanumeric.sample_string(rng, 24),
    };
    let mut db = Db::new(ChaCha8Rng::seed_from_u64(rng.random()));
    let tokens = auth::Tokens::new(ChaCha8Rng::seed_from_u64(rng.random()));
    let faults = FaultInjector::new(ctx.faults.clone(), rng.random());
    let now = ctx.clock.now();
    let long_ago = format_time(now - chrono::Duration::days(400));
    let directory = seed_directory(&mut db, &ctx.people, &long_ago, &format_time(now));
    seed_backlog(
        &mut db,
        rng,
        &directory,
        &ctx.people,
        Backlog::for_scale(ctx.scale),
        now,
    );
    let instance = Instance::new(
        name.to_string(),
        ctx.clock.clone(),
        faults,
        credentials,
        directory.integration.clone(),
        db,
        tokens,
    );
    (instance, directory)
}

/// Every API route of one instance, behind the fault and auth middleware.
fn api_router(instance: Arc<Instance>) -> Router {
    Router::new()
        .merge(table_api::routes())
        .merge(catalog::routes())
        .merge(stats::routes())
        .route("/oauth_token.do", post(auth::token))
        .fallback(unknown_resource)
        .layer(axum::middleware::from_fn_with_state(
            instance.clone(),
            auth::middleware,
        ))
        .with_state(instance)
}

async fn unknown_resource() -> Response {
    envelope::error(
        400,
        "Requested URI does not represent any resource",
        "No API is served at this path",
    )
}
