//! The bulk bench's reference row: the same logoff calls from bare CVAD clients, at most the
//! adapter's per-site limit at a time, with nothing stored and the sites' jobs not followed.
//! It is what this machine and these labs give any client, so the adapter's rows can be read
//! against it as well as against the floor.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge::adapter::store::NewTask;
use deskbridge::config::SiteConfig;
use deskbridge::cvad::CvadClient;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Starts a logoff job (`$logoff?async=true`) for every target, at most each site's
/// concurrency at a time, with the client the engine would build for the site; returns how
/// long the calls took, from the first sent to the last answered.
pub async fn logoff_all(sites: &[SiteConfig], targets: Vec<NewTask>) -> Duration {
    let clients: HashMap<String, (CvadClient, Arc<Semaphore>)> = sites
        .iter()
        .map(|site| {
            let client = CvadClient::new(site.to_cvad_config()).expect("client");
            let slots = Arc::new(Semaphore::new(site.concurrency as usize));
            (site.name.clone(), (client, slots))
        })
        .collect();
    let started = Instant::now();
    let mut calls = JoinSet::new();
    for target in targets {
        let (client, slots) = clients
            .get(&target.site)
            .expect("a configured site")
            .clone();
        calls.spawn(async move {
            let _slot = slots.acquire_owned().await.expect("semaphore open");
            client
                .logoff_async(&target.target_id)
                .await
                .expect("the lab accepts the logoff");
        });
    }
    while let Some(done) = calls.join_next().await {
        done.expect("call task");
    }
    started.elapsed()
}
