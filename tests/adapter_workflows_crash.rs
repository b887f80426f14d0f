//! A workflow's engine killed mid-step (what `kill -9` does to it) and a new engine on the same
//! store: the workflow resumes at the step that was running, which looks before it acts, so
//! the machine being provisioned is made once, never twice, and the done steps are not rerun.

use std::sync::Arc;
use std::time::Duration;

use deskbridge::adapter::api::bootstrap::sync_clients;
use deskbridge::adapter::api::{ApiOptions, ApiServer, AppState};
use deskbridge::adapter::engine::{Engine, EngineOptions, RetryPolicy};
use deskbridge::adapter::store::{SqliteStore, Store};
use deskbridge::cli::serve::lab_config;
use deskbridge::config::{
    AdapterConfig, PersistentDesktop, PooledDesktop, RouteTarget, RoutingConfig, StoreConfig,
};
use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::directory::Directories;
use deskbridge::lab::{Lab, LabOptions};
use deskbridge::model::RegistrationState;
use deskbridge::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const SECRET: &str = "crash-test-secret-0123456789";
const STATIC: &str = "London Persistent Desktops";

fn engine_options(directories: &Directories) -> EngineOptions {
    EngineOptions {
        lease: Duration::from_secs(2),
        claim_interval: Duration::from_millis(50),
        poll_interval: Duration::from_millis(100),
        job_timeout: Duration::from_secs(60),
        retry: RetryPolicy {
            max_attempts: 4,
            base: Duration::from_millis(200),
            cap: Duration::from_millis(800),
        },
        directories: directories.clone(),
        ..EngineOptions::default()
    }
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> Value {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_workflow_killed_while_provisioning_resumes_and_makes_one_machine() {
    let lab = Lab::start(LabOptions::default()).await.expect("lab");
    let http = reqwest::Client::new();
    let clock = http
        .post(format!("{}/clock", lab.info().control))
        .json(&json!({ "speed": 5 }))
        .send()
        .await
        .expect("clock");
    assert!(clock.status().is_success());
    let dir = std::env::temp_dir().join(format!("deskbridge-wf-crash-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let store_config = StoreConfig::Sqlite {
        path: dir.join("deskbridge.db"),
    };
    let admin_id = Uuid::new_v4();
    let mut config: AdapterConfig = lab_config(
        lab.info(),
        &dir,
        store_config.clone(),
        admin_id,
        &Secret::new(SECRET),
    );
    config.routing = RoutingConfig {
        rules: Vec::new(),
        default: Some(RouteTarget {
            site: "London".into(),
            pooled_desktop: Some(PooledDesktop::DeliveryGroup(
                "London Pooled Desktops".into(),
            )),
            persistent_desktop: Some(PersistentDesktop {
                delivery_group: STATIC.into(),
                catalog: "LDN Win11 Persistent".into(),
                naming: Some("LDN-CRASH-##".into()),
            }),
            apps: Vec::new(),
            groups: Vec::new(),
        }),
    };
    let sqlite = SqliteStore::open(&store_config.url()).await.expect("store");
    let store: Arc<dyn Store> = Arc::new(sqlite.clone());
    sync_clients(store.as_ref(), &config.clients)
        .await
        .expect("clients");
    let directories = Directories::open(&config.directories, &|name| {
        let site = config.sites.iter().find(|s| s.name == name)?;
        CvadClient::new(site.to_cvad_config()).ok()
    })
    .expect("directories");
    let engine = Engine::start(
        Arc::clone(&store),
        &config.sites,
        engine_options(&directories),
    )
    .expect("engine");
    let mut state = AppState::new(Arc::clone(&store), config.clone(), ApiOptions::default())
        .await
        .expect("state");
    state.directories = directories.clone();
    state.jobs = Some(engine.handle());
    let server = ApiServer::start(config.listen, state)
        .await
        .expect("listen");
    let url = server.url();
    let token: Value = http
        .post(format!("{url}/api/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &admin_id.to_string()),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    let token = token["access_token"].as_str().expect("token").to_owned();

    // Nothing free: the request provisions.
    let london = lab
        .info()
        .sites
        .iter()
        .find(|s| s.name == "London")
        .expect("London");
    let site = CvadClient::new(CvadConfig::from_lab(london)).expect("client");
    for machine in site.machines().await.expect("machines") {
        let in_group = machine
            .delivery_group
            .as_ref()
            .is_some_and(|g| g.name == STATIC);
        if in_group && machine.assigned_users.is_empty() && !machine.in_maintenance_mode {
            site.set_maintenance_mode(&machine.name, true)
                .await
                .expect("maintenance");
        }
    }
    let accounts = get(
        &http,
        &format!("{url}/api/v1/accounts?q=a&domain=LAB&limit=5"),
        &token,
    )
    .await;
    let sam = accounts["items"][0]["sam_name"]
        .as_str()
        .expect("a lab account")
        .to_owned();
    let person = format!("LAB\\{sam}");
    let response = http
        .post(format!("{url}/api/v1/jobs"))
        .bearer_auth(&token)
        .json(&json!({ "action": "request.persistent_desktop",
                       "targets": [{ "site": "LAB", "id": sam }] }))
        .send()
        .await
        .expect("create");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let job: Value = response.json().await.expect("job");
    let id = job["id"].as_str().expect("id").to_owned();

    // Kill the engine while the provisioning step runs (its CVAD job is under way).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let job = get(&http, &format!("{url}/api/v1/jobs/{id}"), &token).await;
        if job["tasks"][0]["steps"][1]["state"] == "running" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "provisioning never started: {job:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    engine.abort();

    let engine = Engine::start(
        Arc::clone(&store),
        &config.sites,
        engine_options(&directories),
    )
    .expect("second engine");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let done = loop {
        let job = get(&http, &format!("{url}/api/v1/jobs/{id}"), &token).await;
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            break job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never finished: {job:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let attempts = done["tasks"][0]["attempts"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    assert!(attempts >= 2, "the second engine ran it again: {done:#}");
    assert_eq!(
        done["tasks"][0]["steps"][0]["state"], "skipped",
        "the pick was not rerun"
    );

    let theirs: Vec<_> = site
        .machines()
        .await
        .expect("machines")
        .into_iter()
        .filter(|m| {
            m.assigned_users
                .iter()
                .any(|u| u.eq_ignore_ascii_case(&person))
        })
        .collect();
    assert_eq!(theirs.len(), 1, "one machine made, not two: {theirs:?}");
    assert_eq!(theirs[0].registration_state, RegistrationState::Registered);

    engine.shutdown().await;
    server.shutdown().await.expect("shutdown");
    sqlite.close().await;
    lab.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
