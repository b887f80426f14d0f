//! Two adapters sharing one SQLite store in front of one lab, each started as `deskbridge
//! serve` starts one: they count each other (`deskbridge_replicas_alive`), and an
//! `[[idle_power_off]]` schedule both of them carry runs on one of them per period: while its
//! shutdown job is held up (the site answers 503 to shutdowns) no second job is made by the
//! other replica, and once the site answers every idle machine is shut down once. (The
//! PostgreSQL multi-replica tests live with the PostgreSQL store's.)

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use deskbridge::adapter::store;
use deskbridge::cli::serve::{lab_config, start};
use deskbridge::config::{EngineConfig, IdlePowerOff, StoreConfig};
use deskbridge::lab::{Lab, LabOptions, Scale};
use deskbridge::secret::Secret;
use serde_json::{Value, json};
use support::api::Api;
use support::{SECRET, Scratch, token, until};
use uuid::Uuid;

const SITE: &str = "London";
const GROUP: &str = "London Pooled Desktops";
/// Below every seeded idle machine's last connection (20 minutes at least).
const IDLE_MINUTES: u32 = 15;
const EVERY: Duration = Duration::from_millis(1500);

/// `deskbridge_replicas_alive` as one adapter's `/metrics` says it.
async fn replicas_alive(url: &str) -> Option<u32> {
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("deskbridge_replicas_alive "))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_run_an_idle_schedule_once_per_period() {
    let lab = Lab::start(LabOptions {
        scale: Scale::Small,
        ..LabOptions::default()
    })
    .await
    .expect("lab");
    // Power actions take simulated time: 20× as the other lab tests run it.
    let clock = reqwest::Client::new()
        .post(format!("{}/clock", lab.info().control))
        .json(&json!({ "speed": 20 }))
        .send()
        .await
        .expect("clock");
    assert!(clock.status().is_success());
    // Shutdowns fail (transiently) until the end: the first job keeps running, so only a
    // second replica running the schedule on its own could make a second job.
    let faults = format!("{}/sites/{SITE}/faults", lab.info().control);
    let held_up = reqwest::Client::new()
        .post(&faults)
        .json(&json!({ "fail_next": {
            "method": "POST", "path_contains": "$shutdown", "status": 503, "count": 100000
        } }))
        .send()
        .await
        .expect("faults");
    assert!(held_up.status().is_success());
    let dir = std::env::temp_dir().join(format!("deskbridge-replicas-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let scratch = Scratch(dir.clone());
    let store_config = StoreConfig::Sqlite {
        path: dir.join("deskbridge.db"),
    };
    let admin = Uuid::new_v4();
    let mut config = lab_config(
        lab.info(),
        &dir,
        store_config.clone(),
        admin,
        &Secret::new(SECRET),
    );
    config.idle_power_off = vec![IdlePowerOff {
        delivery_groups: vec![GROUP.to_owned()],
        site: Some(SITE.to_owned()),
        idle_minutes: IDLE_MINUTES,
        every: EVERY,
        include_unregistered: false,
    }];
    // Two processes' worth: each adapter opens the file with its own pool.
    let mut servers = Vec::new();
    for _ in 0..2 {
        let store = store::open(&store_config.url()).await.expect("store");
        let server = start(config.clone(), EngineConfig::default(), store)
            .await
            .expect("adapter");
        servers.push(server);
    }
    let urls: Vec<String> = servers.iter().map(|s| s.url()).collect();
    for url in &urls {
        until(
            "both replicas to count each other",
            Duration::from_secs(20),
            async || (replicas_alive(url).await == Some(2)).then_some(()),
        )
        .await;
    }

    let http = reqwest::Client::new();
    let token = token(&http, &urls[0], admin).await;
    let api = Api::new(&urls[0]);
    let job = until("the scheduler's job", Duration::from_secs(60), async || {
        let (_, jobs) = api
            .get(&token, "/api/v1/jobs?action=machine.shutdown")
            .await;
        jobs["items"].as_array().and_then(|j| j.first().cloned())
    })
    .await;
    assert_eq!(job["requested_by"], "scheduler");
    // Three more periods on both replicas while the job is held up: still one job.
    tokio::time::sleep(EVERY * 3).await;
    let (_, jobs) = api
        .get(&token, "/api/v1/jobs?action=machine.shutdown")
        .await;
    assert_eq!(jobs["items"].as_array().map(Vec::len), Some(1), "{jobs}");
    let cleared = reqwest::Client::new()
        .delete(&faults)
        .send()
        .await
        .expect("faults");
    assert!(cleared.status().is_success());
    let done = api.finished(&token, &job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    tokio::time::sleep(EVERY * 2).await;
    let (_, jobs) = api
        .get(&token, "/api/v1/jobs?action=machine.shutdown")
        .await;
    assert_eq!(jobs["items"].as_array().map(Vec::len), Some(1), "{jobs}");
    let calls: Value = reqwest::get(format!("{}/sites/{SITE}/calls", lab.info().control))
        .await
        .expect("calls")
        .json()
        .await
        .expect("calls JSON");
    let shutdowns: BTreeMap<String, u64> =
        serde_json::from_value(calls["calls"]["shutdown"].clone()).unwrap_or_default();
    assert!(!shutdowns.is_empty(), "{calls}");
    assert!(shutdowns.values().all(|n| *n == 1), "{shutdowns:?}");
    let (_, audit) = api
        .get(&token, "/api/v1/audit?actor=scheduler&limit=100")
        .await;
    let runs = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "power.idle" && e["outcome"] == "succeeded")
        .count();
    assert_eq!(runs, 1, "{audit}");

    for server in servers {
        server.shutdown().await.expect("clean shutdown");
    }
    lab.shutdown().await;
    drop(scratch);
}
