//! `session.logoff` with `escalate_after`, over real HTTP against the lab: a logoff that hangs
//! (the lab's `hang-logoff` control) on a single-session machine ends in a forced restart of
//! that machine; on a multi-session machine the task fails clearly and nothing is restarted; a
//! logoff that finishes never restarts anything; bad values and the wrong role create nothing.
//!
//! The harness is a small copy of tests/adapter_jobs.rs's (a later cleanup folds them).

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use deskbridge::adapter::api::bootstrap::sync_clients;
use deskbridge::adapter::api::{ApiOptions, ApiServer, AppState};
use deskbridge::adapter::engine::{Engine, EngineOptions, RetryPolicy};
use deskbridge::adapter::store::{SqliteStore, Store};
use deskbridge::config::{AdapterConfig, ApiClientConfig, Role, SiteConfig, StoreConfig};
use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::lab::{Lab, LabOptions};
use deskbridge::model::{
    FaultState, Machine, PowerState, Session, SessionSupport, SupportedPowerAction,
};
use deskbridge::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const HELPDESK: (&str, &str) = (
    "22222222-2222-4222-8222-222222222222",
    "helpdesk-secret-0123456789abcdef",
);
const ADMIN: (&str, &str) = (
    "33333333-3333-4333-8333-333333333333",
    "admin-secret-0123456789abcdef",
);
const SITE: &str = "London";

fn client_config(name: &str, (id, secret): (&str, &str), role: Role) -> ApiClientConfig {
    ApiClientConfig {
        id: Uuid::parse_str(id).expect("uuid"),
        name: name.to_owned(),
        role,
        secret: Secret::new(secret),
        enabled: true,
    }
}

/// The lab (clock 20× faster, so logoffs and restarts take a fraction of a second), an
/// adapter with its API on loopback, and an engine with quick polls and short leases.
struct Env {
    lab: Lab,
    sqlite: SqliteStore,
    server: Option<ApiServer>,
    engine: Option<Engine>,
    url: String,
    http: reqwest::Client,
    tokens: BTreeMap<&'static str, String>,
    dir: PathBuf,
}

impl Env {
    async fn start(test: &str) -> Env {
        let lab = Lab::start(LabOptions::default()).await.expect("lab");
        let http = reqwest::Client::new();
        let response = http
            .post(format!("{}/clock", lab.info().control))
            .json(&json!({ "speed": 20 }))
            .send()
            .await
            .expect("clock");
        assert!(response.status().is_success());
        let dir =
            std::env::temp_dir().join(format!("deskbridge-esc-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let config = AdapterConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.clone(),
            store: StoreConfig::Sqlite {
                path: dir.join("deskbridge.db"),
            },
            token_ttl: Duration::from_secs(3600),
            sites: lab.info().sites.iter().map(SiteConfig::from_lab).collect(),
            servicenow: Vec::new(),
            clients: vec![
                client_config("helpdesk", HELPDESK, Role::Helpdesk),
                client_config("ops", ADMIN, Role::Admin),
            ],
            directories: Vec::new(),
            accounts: Default::default(),
            routing: Default::default(),
            idle_power_off: Vec::new(),
            runbooks_dir: None,
            offboarding: Default::default(),
        };
        let sqlite = SqliteStore::open(&config.store.url())
            .await
            .expect("open store");
        let store: Arc<dyn Store> = Arc::new(sqlite.clone());
        sync_clients(store.as_ref(), &config.clients)
            .await
            .expect("sync clients");
        let options = EngineOptions {
            lease: Duration::from_secs(5),
            claim_interval: Duration::from_millis(50),
            poll_interval: Duration::from_millis(100),
            job_timeout: Duration::from_secs(60),
            retry: RetryPolicy {
                max_attempts: 3,
                base: Duration::from_millis(200),
                cap: Duration::from_millis(800),
            },
            shutdown_grace: Duration::from_secs(5),
            after_action: None,
            ..EngineOptions::default()
        };
        let engine = Engine::start(Arc::clone(&store), &config.sites, options).expect("engine");
        let mut state = AppState::new(store, config.clone(), ApiOptions::default())
            .await
            .expect("state");
        state.jobs = Some(engine.handle());
        let server = ApiServer::start(config.listen, state)
            .await
            .expect("listen");
        let mut env = Env {
            lab,
            sqlite,
            url: server.url(),
            server: Some(server),
            engine: Some(engine),
            http,
            tokens: BTreeMap::new(),
            dir,
        };
        for (name, (id, secret)) in [("helpdesk", HELPDESK), ("admin", ADMIN)] {
            let token = env.token(id, secret).await;
            env.tokens.insert(name, token);
        }
        env
    }

    async fn stop(mut self) {
        if let Some(engine) = self.engine.take() {
            engine.shutdown().await;
        }
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
        self.sqlite.close().await;
        self.lab.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    async fn token(&self, id: &str, secret: &str) -> String {
        let response = self
            .http
            .post(format!("{}/api/v1/token", self.url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("token JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    async fn post(&self, who: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/api/v1/jobs", self.url))
            .bearer_auth(self.tokens.get(who).map(String::as_str).unwrap_or_default())
            .json(&body)
            .send()
            .await
            .expect("POST");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(
                self.tokens
                    .get("admin")
                    .map(String::as_str)
                    .unwrap_or_default(),
            )
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("JSON")
    }

    /// Creates a logoff job as the admin and waits for it to end.
    async fn logoff(&self, sessions: &[&Session], escalate_after: &str) -> Value {
        let targets: Vec<Value> = sessions
            .iter()
            .map(|s| json!({ "site": SITE, "id": s.id }))
            .collect();
        let (status, job) = self
            .post(
                "admin",
                json!({ "action": "session.logoff", "targets": targets,
                        "params": { "escalate_after": escalate_after } }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        assert_eq!(job["params"], json!({ "escalate_after": escalate_after }));
        let id = job["id"].as_str().expect("job id").to_owned();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let job = self.get(&format!("/api/v1/jobs/{id}")).await;
            if !matches!(job["state"].as_str(), Some("queued" | "running")) {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job still running: {job}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn job_count(&self) -> usize {
        let page = self.get("/api/v1/jobs?limit=1000").await;
        page["items"].as_array().map_or(0, Vec::len)
    }

    /// The lab's record of actions at the site: action → target → count.
    async fn calls(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        support::lab_calls(&self.http, &self.lab.info().control, SITE).await
    }

    async fn count(&self, action: &str, target: &str) -> u64 {
        self.calls()
            .await
            .get(action)
            .and_then(|t| t.get(target))
            .copied()
            .unwrap_or(0)
    }

    /// Makes the session's logoff hang at the lab.
    async fn hang_logoff(&self, session: &Session) {
        let response = self
            .http
            .post(format!(
                "{}/sites/{SITE}/sessions/{}/hang-logoff",
                self.lab.info().control,
                session.id
            ))
            .send()
            .await
            .expect("hang-logoff");
        assert!(response.status().is_success(), "hang-logoff {}", session.id);
    }

    fn cvad(&self) -> CvadClient {
        let info = self.lab.info().site(SITE).expect("lab site");
        CvadClient::new(CvadConfig::from_lab(info)).expect("client")
    }

    /// Settled sessions on healthy, powered-on machines of the given kind, with their machine.
    async fn sessions_on(&self, support: SessionSupport) -> Vec<(Session, Machine)> {
        let cvad = self.cvad();
        let machines: BTreeMap<String, Machine> = cvad
            .machines()
            .await
            .expect("machines")
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect();
        cvad.sessions()
            .await
            .expect("sessions")
            .into_iter()
            .filter(|s| !s.logoff_in_progress && !s.logon_in_progress)
            .filter_map(|s| {
                let machine = machines.get(&s.machine.id)?.clone();
                let healthy = machine.session_support == support
                    && machine.power_state == PowerState::On
                    && machine.fault_state == FaultState::None
                    && !machine.power_action_pending
                    && machine
                        .supported_power_actions
                        .contains(&SupportedPowerAction::Reset);
                healthy.then_some((s, machine))
            })
            .collect()
    }
}

fn task(job: &Value) -> Value {
    job["tasks"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_logoff_on_a_single_session_machine_ends_in_a_forced_restart() {
    let env = Env::start("single").await;
    let (session, machine) = env
        .sessions_on(SessionSupport::SingleSession)
        .await
        .into_iter()
        .next()
        .expect("a session on a single-session desktop");
    env.hang_logoff(&session).await;

    let job = env.logoff(&[&session], "2s").await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let result = task(&job)["result"].as_str().unwrap_or_default().to_owned();
    assert!(
        result.contains("logoff did not finish in 2s")
            && result.contains(&format!("restarted machine {}", machine.name)),
        "{result}"
    );
    assert_eq!(env.count("logoff", &session.id).await, 1, "logged off once");
    assert_eq!(env.count("reboot", &machine.id).await, 1, "restarted once");
    let gone = env.cvad().session(&session.id).await;
    assert!(
        gone.as_ref().is_err_and(|e| e.is_not_found()),
        "the session is gone: {gone:?}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_logoff_on_a_multi_session_machine_fails_and_restarts_nothing() {
    let env = Env::start("multi").await;
    let (session, machine) = env
        .sessions_on(SessionSupport::MultiSession)
        .await
        .into_iter()
        .next()
        .expect("a session on a multi-session server");
    env.hang_logoff(&session).await;

    let job = env.logoff(&[&session], "1s").await;
    assert_eq!(job["state"], "failed", "{job}");
    let error = task(&job)["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error.contains("logoff did not finish in 1s")
            && error.contains(&format!("machine {} was not restarted", machine.name))
            && error.contains("multi-session"),
        "{error}"
    );
    assert!(
        !env.calls().await.contains_key("reboot"),
        "nothing restarted at the site"
    );
    // The session is still there, still logging off.
    let still = env.cvad().session(&session.id).await.expect("session");
    assert!(still.logoff_in_progress);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_logoff_that_finishes_never_restarts() {
    let env = Env::start("normal").await;
    let found = env.sessions_on(SessionSupport::SingleSession).await;
    let sessions: Vec<&Session> = found.iter().take(5).map(|(s, _)| s).collect();
    assert_eq!(sessions.len(), 5, "lab has single-session desktops in use");

    let job = env.logoff(&sessions, "3s").await;
    assert_eq!(job["state"], "succeeded", "{job}");
    for task in job["tasks"].as_array().into_iter().flatten() {
        let result = task["result"].as_str().unwrap_or_default();
        assert!(
            result.starts_with("logged off") && !result.contains("restart"),
            "{result}"
        );
    }
    let calls = env.calls().await;
    assert!(
        !calls.contains_key("reboot"),
        "nothing restarted: {calls:?}"
    );
    for s in &sessions {
        assert_eq!(calls["logoff"].get(&s.id), Some(&1), "session {}", s.id);
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_escalate_after_and_the_wrong_role_create_nothing() {
    let env = Env::start("input").await;
    let (session, _) = env
        .sessions_on(SessionSupport::SingleSession)
        .await
        .into_iter()
        .next()
        .expect("a session");
    let target = json!([{ "site": SITE, "id": session.id }]);
    let before = env.job_count().await;
    // Invalid parameters are answered as every invalid job parameter is: 422 with the reason.
    for (value, says) in [
        (json!("2"), "not a duration"),
        (json!("soon"), "not a duration"),
        (json!("-5m"), "not a duration"),
        (json!(120), "duration string"),
        (json!("0s"), "between 1s and 1h"),
        (json!("2h"), "between 1s and 1h"),
    ] {
        let (status, body) = env
            .post(
                "admin",
                json!({ "action": "session.logoff", "targets": target,
                        "params": { "escalate_after": value } }),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("escalate_after") && message.contains(says),
            "{value}: {message}"
        );
    }
    let (status, body) = env
        .post(
            "admin",
            json!({ "action": "user.logoff", "targets": [{ "site": SITE, "id": session.user_name }],
                    "params": { "escalate_after": "2m" } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Escalation restarts machines: the helpdesk may log off, but not ask for that.
    let (status, body) = env
        .post(
            "helpdesk",
            json!({ "action": "session.logoff", "targets": target,
                    "params": { "escalate_after": "2m" } }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("escalate_after") && message.contains("admin"),
        "{message}"
    );
    assert_eq!(env.job_count().await, before, "no job created");
    assert!(env.calls().await.is_empty(), "nothing done at the site");
    env.stop().await;
}
