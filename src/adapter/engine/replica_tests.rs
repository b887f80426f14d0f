//! Engines sharing one store divide each site's limits, and take them back when one leaves.

use std::sync::Arc;
use std::time::Duration;

use super::{Engine, EngineOptions};
use crate::adapter::replicas::ReplicaOptions;
use crate::adapter::store::{self, Store};
use crate::config::SiteConfig;
use crate::cvad::CvadAuth;
use crate::model::SiteKind;
use crate::secret::Secret;

fn site(concurrency: u32, rate_limit: f64) -> SiteConfig {
    SiteConfig {
        name: "London".to_owned(),
        kind: SiteKind::Onprem,
        // Never contacted: no job is queued.
        endpoints: vec!["http://127.0.0.1:9".to_owned()],
        customer_id: "CitrixOnPremises".to_owned(),
        site_id: "site".to_owned(),
        auth: CvadAuth::OnPrem {
            username: "CORP\\svc".to_owned(),
            password: Secret::new("not-used"),
        },
        enabled: true,
        concurrency,
        rate_limit: Some(rate_limit),
        request_timeout: Duration::from_secs(5),
        zones: Vec::new(),
    }
}

fn options() -> EngineOptions {
    EngineOptions {
        claim_interval: Duration::from_millis(50),
        shutdown_grace: Duration::from_secs(1),
        replicas: Some(ReplicaOptions {
            every: Duration::from_millis(100),
            ttl: Duration::from_millis(600),
        }),
        ..EngineOptions::default()
    }
}

/// The call slots free and the rate of the engine's one site.
fn limits(engine: &Engine) -> (usize, f64) {
    let ctx = engine
        .handle
        .shared
        .sites
        .get("London")
        .expect("the configured site");
    let rate = ctx.limiter.as_ref().map_or(0.0, |l| l.rate());
    (ctx.calls.available_permits(), rate)
}

async fn until(what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !probe() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_engines_on_one_store_share_a_sites_limits() {
    let dir = std::env::temp_dir().join(format!("deskbridge-engines-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}", dir.join("store.db").display());
    // Two pools on one file, as two processes would have.
    let first_store: Arc<dyn Store> = store::open(&url).await.expect("store");
    let second_store: Arc<dyn Store> = store::open(&url).await.expect("store");
    let sites = [site(8, 40.0)];

    let first = Engine::start(first_store, &sites, options()).expect("engine");
    until("the first engine to claim", || {
        first.handle().group().may_claim()
    })
    .await;
    assert_eq!(limits(&first), (8, 40.0));

    let second = Engine::start(second_store, &sites, options()).expect("engine");
    assert_ne!(
        first.handle().group().id(),
        second.handle().group().id(),
        "replica ids are unique per engine"
    );
    until("both engines to count two and claim", || {
        first.handle().group().alive() == 2
            && second.handle().group().alive() == 2
            && second.handle().group().may_claim()
    })
    .await;
    until("the limits to be halved", || {
        limits(&first) == (4, 20.0) && limits(&second) == (4, 20.0)
    })
    .await;

    // One leaves cleanly: the other takes the whole limit back.
    second.shutdown().await;
    until("the first engine to be alone", || {
        first.handle().group().alive() == 1
    })
    .await;
    until("the whole limit back", || limits(&first) == (8, 40.0)).await;
    first.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}
