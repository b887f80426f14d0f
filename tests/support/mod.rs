//! What several test binaries share: a lab with a real adapter in front of it, started the
//! way `deskbridge serve` starts one. Each binary uses part of it (hence `dead_code` allowed).
#![allow(dead_code)]

pub mod api;
pub mod postgres;
pub mod processes;
pub mod samba;
pub mod sse;
pub mod stores;
pub mod tmux;

use std::time::Duration;

use deskbridge::adapter::api::ApiServer;
use deskbridge::adapter::store::{self, Role};
use deskbridge::cli::serve::{lab_config, start};
use deskbridge::config::{AdapterConfig, ApiClientConfig, EngineConfig, StoreConfig};
use deskbridge::lab::{Lab, LabOptions, Scale};
use deskbridge::secret::Secret;
use serde_json::json;
use uuid::Uuid;

/// The secret of every API client the tests configure.
pub const SECRET: &str = "a-test-secret-that-is-long-enough-0123";

/// A scratch directory removed when the test ends.
pub struct Scratch(pub std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A lab, its clock at 20× (logoffs and power actions take simulated time), and an adapter
/// on it with the clients `viewer`, `helpdesk` and `admin` and a 300 ms ticket poll.
pub struct LabAdapter {
    pub lab: Lab,
    pub server: Option<ApiServer>,
    pub url: String,
    ids: Vec<(String, Uuid)>,
    _dir: Scratch,
}

impl LabAdapter {
    pub async fn start(scale: Scale, tune: &dyn Fn(&mut AdapterConfig)) -> LabAdapter {
        let lab = Lab::start(LabOptions {
            scale,
            ..LabOptions::default()
        })
        .await
        .expect("lab");
        let clock = reqwest::Client::new()
            .post(format!("{}/clock", lab.info().control))
            .json(&json!({ "speed": 20 }))
            .send()
            .await
            .expect("clock");
        assert!(clock.status().is_success());
        let dir = std::env::temp_dir().join(format!("deskbridge-test-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        let store_config = StoreConfig::Sqlite {
            path: dir.join("deskbridge.db"),
        };
        let mut config = lab_config(
            lab.info(),
            &dir,
            store_config.clone(),
            Uuid::new_v4(),
            &Secret::new(SECRET),
        );
        config.clients = [
            ("viewer", Role::Viewer),
            ("helpdesk", Role::Helpdesk),
            ("admin", Role::Admin),
        ]
        .into_iter()
        .map(|(name, role)| ApiClientConfig {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            role,
            secret: Secret::new(SECRET),
            enabled: true,
        })
        .collect();
        for sn in &mut config.servicenow {
            sn.poll_interval = Duration::from_millis(300);
        }
        tune(&mut config);
        let ids = config
            .clients
            .iter()
            .map(|c| (c.name.clone(), c.id))
            .collect();
        let store = store::open(&store_config.url()).await.expect("store");
        let server = start(config, EngineConfig::default(), store)
            .await
            .expect("adapter");
        LabAdapter {
            url: server.url(),
            server: Some(server),
            lab,
            ids,
            _dir: Scratch(dir),
        }
    }

    /// The id of a configured client (`viewer`, `helpdesk`, `admin`).
    pub fn id(&self, name: &str) -> Uuid {
        let found = self.ids.iter().find(|(n, _)| n == name);
        found.expect("a configured client").1
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
        self.lab.shutdown().await;
    }
}

/// Waits (up to `within`) until `probe` returns Some.
pub async fn until<T>(
    what: &str,
    within: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An access token for client `id` (every test client has [`SECRET`]).
pub async fn token(http: &reqwest::Client, url: &str, id: Uuid) -> String {
    let response = http
        .post(format!("{url}/api/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id.to_string()),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// The lab's record of actions at a site, action → target → count, from its control API at
/// `control`: how the tests prove that each target was acted on exactly once.
pub async fn lab_calls(
    http: &reqwest::Client,
    control: &str,
    site: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>> {
    let body: serde_json::Value = http
        .get(format!("{control}/sites/{site}/calls"))
        .send()
        .await
        .expect("calls")
        .json()
        .await
        .expect("calls JSON");
    serde_json::from_value(body["calls"].clone()).expect("calls shape")
}
