//! The job engine and the job API over real HTTP against the lab: bulk logoff across two
//! sites with each session logged off exactly once, idempotency, roles, bad input that creates
//! nothing, a connector lost mid-job, a whole site down (partial failure, then retry), cancel,
//! a forced restart through the site's async job, `user.logoff`, a disabled site, and crash
//! safety (an engine aborted mid-job like `kill -9`, a new one finishing the work exactly once),
//! and `deskbridge serve --lab` running a job and stopping on SIGTERM.
//!
//! A real `kill -9` of a `deskbridge serve` process is a later step; here the engine's tasks
//! are aborted in-process without any cleanup, which leaves the store exactly as a killed
//! process would.

mod support;

use std::collections::{BTreeMap, HashSet};
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
use deskbridge::model::{PowerState, Session, SupportedPowerAction};
use deskbridge::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const VIEWER: (&str, &str) = (
    "11111111-1111-4111-8111-111111111111",
    "viewer-secret-0123456789abcdef",
);
const HELPDESK: (&str, &str) = (
    "22222222-2222-4222-8222-222222222222",
    "helpdesk-secret-0123456789abcdef",
);
const ADMIN: (&str, &str) = (
    "33333333-3333-4333-8333-333333333333",
    "admin-secret-0123456789abcdef",
);

/// Engine settings for tests: short leases (a crashed engine's work resumes in 2 s), quick
/// polls, and retries that give up within a few seconds.
fn engine_options(refreshed: Refreshed) -> EngineOptions {
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
        shutdown_grace: Duration::from_secs(5),
        after_action: Some(Arc::new(move |site: &str| {
            if let Ok(mut sites) = refreshed.lock() {
                sites.push(site.to_owned());
            }
        })),
        ..EngineOptions::default()
    }
}

/// The sites the engine asked the inventory to refresh, in order.
type Refreshed = Arc<std::sync::Mutex<Vec<String>>>;

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deskbridge-jobs-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch folder");
    dir
}

fn client_config(name: &str, (id, secret): (&str, &str), role: Role) -> ApiClientConfig {
    ApiClientConfig {
        id: Uuid::parse_str(id).expect("uuid"),
        name: name.to_owned(),
        role,
        secret: Secret::new(secret),
        enabled: true,
    }
}

/// The adapter config for the lab's sites, with `tune` applied to each site.
fn config(lab: &Lab, dir: &std::path::Path, tune: &dyn Fn(&mut SiteConfig)) -> AdapterConfig {
    let sites = lab
        .info()
        .sites
        .iter()
        .map(|site| {
            let mut config = SiteConfig {
                concurrency: 16,
                ..SiteConfig::from_lab(site)
            };
            tune(&mut config);
            config
        })
        .collect();
    AdapterConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.to_path_buf(),
        store: StoreConfig::Sqlite {
            path: dir.join("deskbridge.db"),
        },
        token_ttl: Duration::from_secs(3600),
        sites,
        servicenow: Vec::new(),
        clients: vec![
            client_config("wallboard", VIEWER, Role::Viewer),
            client_config("helpdesk", HELPDESK, Role::Helpdesk),
            client_config("ops", ADMIN, Role::Admin),
        ],
        directories: Vec::new(),
        accounts: Default::default(),
        routing: Default::default(),
        idle_power_off: Vec::new(),
        runbooks_dir: None,
        offboarding: Default::default(),
    }
}

/// The lab, an adapter with its API on loopback, and an engine, in this process.
struct Env {
    lab: Lab,
    config: AdapterConfig,
    store: Arc<dyn Store>,
    sqlite: SqliteStore,
    server: Option<ApiServer>,
    engine: Option<Engine>,
    url: String,
    http: reqwest::Client,
    tokens: BTreeMap<&'static str, String>,
    refreshed: Refreshed,
}

impl Env {
    async fn start(test: &str, tune: &dyn Fn(&mut SiteConfig)) -> Env {
        let lab = Lab::start(LabOptions::default()).await.expect("lab");
        let http = reqwest::Client::new();
        // Actions take simulated time (logoff, power); run the clock 20× faster.
        let response = http
            .post(format!("{}/clock", lab.info().control))
            .json(&json!({ "speed": 20 }))
            .send()
            .await
            .expect("clock");
        assert!(response.status().is_success());
        let dir = scratch(test);
        let config = config(&lab, &dir, tune);
        let sqlite = SqliteStore::open(&config.store.url())
            .await
            .expect("open store");
        let store: Arc<dyn Store> = Arc::new(sqlite.clone());
        sync_clients(store.as_ref(), &config.clients)
            .await
            .expect("sync clients");
        let refreshed = Refreshed::default();
        let engine = Engine::start(
            Arc::clone(&store),
            &config.sites,
            engine_options(Arc::clone(&refreshed)),
        )
        .expect("engine");
        let mut state = AppState::new(Arc::clone(&store), config.clone(), ApiOptions::default())
            .await
            .expect("state");
        state.jobs = Some(engine.handle());
        let server = ApiServer::start(config.listen, state)
            .await
            .expect("listen");
        let mut env = Env {
            lab,
            config,
            store,
            sqlite,
            url: server.url(),
            server: Some(server),
            engine: Some(engine),
            http,
            tokens: BTreeMap::new(),
            refreshed,
        };
        for (name, (id, secret)) in [("viewer", VIEWER), ("helpdesk", HELPDESK), ("admin", ADMIN)] {
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

    fn bearer(&self, who: &str) -> &str {
        self.tokens.get(who).map(String::as_str).unwrap_or_default()
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(self.bearer(who))
            .send()
            .await
            .expect("GET");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, who: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(self.bearer(who));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("POST");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post_raw(&self, who: &str, path: &str, body: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(self.bearer(who))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("POST");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a job and returns its id (asserting 202).
    async fn create(&self, who: &str, body: Value) -> String {
        let (status, job) = self.post(who, "/api/v1/jobs", Some(body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        job["id"].as_str().expect("job id").to_owned()
    }

    async fn job(&self, id: &str) -> Value {
        let (status, job) = self.get("viewer", &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        job
    }

    /// Polls the job until it ends.
    async fn wait(&self, id: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let job = self.job(id).await;
            let state = job["state"].as_str().unwrap_or_default();
            if !matches!(state, "queued" | "running") {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {id} still {state} after {within:?}: {}",
                job["progress"]
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls until `done(job)` holds.
    async fn wait_until(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let job = self.job(id).await;
            if done(&job) {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "condition never held: {}",
                job["progress"]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn job_count(&self) -> usize {
        let (status, page) = self.get("viewer", "/api/v1/jobs?limit=1000").await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().map_or(0, Vec::len)
    }

    /// The lab's record of actions at a site: action → target → count.
    async fn calls(&self, site: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
        support::lab_calls(&self.http, &self.lab.info().control, site).await
    }

    async fn count(&self, site: &str, action: &str, target: &str) -> u64 {
        self.calls(site)
            .await
            .get(action)
            .and_then(|t| t.get(target))
            .copied()
            .unwrap_or(0)
    }

    async fn connector(&self, site: &str, index: usize, op: &str) {
        let response = self
            .http
            .post(format!(
                "{}/sites/{site}/connectors/{index}/{op}",
                self.lab.info().control
            ))
            .send()
            .await
            .expect("connector");
        assert!(
            response.status().is_success(),
            "{op} connector {index} of {site}"
        );
    }

    fn cvad(&self, site: &str) -> CvadClient {
        let info = self.lab.info().site(site).expect("lab site");
        CvadClient::new(CvadConfig::from_lab(info)).expect("client")
    }

    /// Up to `n` sessions of a site that are not logging off.
    async fn sessions(&self, site: &str, n: usize) -> Vec<Session> {
        let mut sessions = self.cvad(site).sessions().await.expect("sessions");
        sessions.retain(|s| !s.logoff_in_progress);
        sessions.truncate(n);
        sessions
    }
}

fn targets(site: &str, sessions: &[Session]) -> Vec<Value> {
    sessions
        .iter()
        .map(|s| json!({ "site": site, "id": s.id }))
        .collect()
}

fn tasks(job: &Value) -> Vec<Value> {
    job["tasks"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bulk_logoff_across_sites_runs_each_session_once_and_is_idempotent() {
    let env = Env::start("bulk", &|_| {}).await;
    let london = env.sessions("London", 150).await;
    let cloud = env.sessions("Cloud", 150).await;
    assert!(
        london.len() >= 90 && cloud.len() >= 90,
        "lab too small: {} + {}",
        london.len(),
        cloud.len()
    );
    let mut all = targets("London", &london);
    all.extend(targets("Cloud", &cloud));
    let request = json!({
        "action": "session.logoff",
        "targets": all,
        "idempotency_key": "bulk-1",
    });
    let (status, created) = env
        .post("helpdesk", "/api/v1/jobs", Some(request.clone()))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["progress"]["total"], london.len() + cloud.len());

    // The same key again: the same job, nothing new runs.
    let (status, again) = env
        .post("helpdesk", "/api/v1/jobs", Some(request.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], created["id"]);
    // The same key with different content is refused, and creates nothing.
    let mut changed = request.clone();
    changed["targets"] = json!([{ "site": "London", "id": london[0].id }]);
    let (status, conflict) = env.post("helpdesk", "/api/v1/jobs", Some(changed)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert!(
        conflict["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("bulk-1")
    );

    let job = env.wait(&id, Duration::from_secs(90)).await;
    assert_eq!(job["state"], "succeeded", "{}", job["error"]);
    assert_eq!(job["progress"]["succeeded"], london.len() + cloud.len());
    assert!(job["result"].as_str().is_some());
    for task in tasks(&job) {
        assert_eq!(task["state"], "succeeded");
        assert_eq!(task["percent"], 100, "{task}");
        assert!(
            task["external_job_id"].as_str().is_some(),
            "async CVAD job stored: {task}"
        );
        assert_eq!(task["attempts"].as_array().map(Vec::len), Some(1), "{task}");
    }
    for (site, sessions) in [("London", &london), ("Cloud", &cloud)] {
        let calls = env.calls(site).await;
        let logoffs = calls.get("logoff").cloned().unwrap_or_default();
        for s in sessions.iter() {
            assert_eq!(
                logoffs.get(&s.id),
                Some(&1),
                "{site} session {} logged off once",
                s.id
            );
        }
        assert_eq!(
            logoffs.len(),
            sessions.len(),
            "{site}: no other session touched"
        );
    }
    // A repeat after the end still runs nothing.
    let (status, _) = env.post("helpdesk", "/api/v1/jobs", Some(request)).await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logoffs: u64 = env
        .calls("London")
        .await
        .get("logoff")
        .map_or(0, |t| t.values().sum());
    assert_eq!(logoffs, london.len() as u64);

    // The inventory hook was told about both sites, coalesced (not once per session).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let refreshed = env.refreshed.lock().map(|r| r.clone()).unwrap_or_default();
    assert!(refreshed.iter().any(|s| s == "London") && refreshed.iter().any(|s| s == "Cloud"));
    assert!(
        refreshed.len() < 50,
        "coalesced: {} refreshes",
        refreshed.len()
    );

    // Progress reached the event feed.
    let events = env.store.events_since(0, 1000).await.expect("events");
    assert!(
        events
            .events
            .iter()
            .any(|e| e.kind.as_str() == "job" && e.subject == id)
    );
    assert!(events.events.iter().any(|e| e.kind.as_str() == "task"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roles_and_bad_input_create_nothing() {
    let env = Env::start("input", &|_| {}).await;
    let session = env.sessions("London", 1).await.remove(0);
    let machine = env
        .cvad("London")
        .machines()
        .await
        .expect("machines")
        .remove(0);
    let before = env.job_count().await;

    // Roles: helpdesk may not power machines, a viewer may not post jobs at all.
    let (status, body) = env
        .post(
            "helpdesk",
            "/api/v1/jobs",
            Some(json!({
            "action": "machine.restart", "targets": [{ "site": "London", "id": machine.id }],
            "params": { "force": true } })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("admin"),
        "{body}"
    );
    let (status, body) = env
        .post(
            "viewer",
            "/api/v1/jobs",
            Some(json!({
            "action": "session.logoff", "targets": [{ "site": "London", "id": session.id }] })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let target = json!([{ "site": "London", "id": session.id }]);
    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({ "site": "London", "id": format!("s{i}") }))
        .collect();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown action",
            json!({ "action": "session.explode", "targets": target }),
            "unknown action",
        ),
        (
            "empty targets",
            json!({ "action": "session.logoff", "targets": [] }),
            "targets is empty",
        ),
        (
            "duplicate targets",
            json!({ "action": "session.logoff",
            "targets": [{ "site": "London", "id": "a" }, { "site": "London", "id": "a" }] }),
            "listed twice",
        ),
        (
            "unknown site",
            json!({ "action": "session.logoff",
            "targets": [{ "site": "Atlantis", "id": "a" }] }),
            "unknown site",
        ),
        (
            "missing param",
            json!({ "action": "session.message", "targets": target,
            "params": { "title": "Hello" } }),
            "params.text",
        ),
        (
            "invalid param",
            json!({ "action": "session.message", "targets": target,
            "params": { "title": "Hello", "text": "x", "style": "Loud" } }),
            "Loud",
        ),
        (
            "unknown param",
            json!({ "action": "session.logoff", "targets": target,
            "params": { "force": true } }),
            "no parameter",
        ),
        (
            "too many targets",
            json!({ "action": "session.logoff", "targets": many }),
            "10000",
        ),
        (
            "unknown field",
            json!({ "action": "session.logoff", "targets": target, "priority": 1 }),
            "priority",
        ),
        (
            "target without id",
            json!({ "action": "session.logoff", "targets": [{ "site": "London" }] }),
            "id",
        ),
        (
            "unknown instance",
            json!({ "action": "session.logoff", "targets": target,
            "ticket": { "instance": "nowhere", "number": "INC0010001" } }),
            "ServiceNow",
        ),
    ];
    for (what, body, expected) in cases {
        let (status, answer) = env.post("helpdesk", "/api/v1/jobs", Some(body)).await;
        assert!(status.is_client_error(), "{what}: {status} {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{what}: {message}");
    }
    let (status, answer) = env
        .post_raw("helpdesk", "/api/v1/jobs", "{\"action\": ")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("malformed JSON")
    );
    let (status, _) = env.post("helpdesk", "/api/v1/jobs", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = env.get("viewer", "/api/v1/jobs?state=exploded").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = env
        .get("viewer", &format!("/api/v1/jobs/{}", Uuid::new_v4()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = env.get("viewer", "/api/v1/jobs/not-a-uuid").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(env.job_count().await, before, "no job created by bad input");
    assert!(
        env.calls("London").await.is_empty(),
        "no action at the site"
    );

    // The allowed calls are in the audit log, the refused ones too.
    let (status, audit) = env
        .get("admin", "/api/v1/audit?action=job.create&limit=1000")
        .await;
    assert_eq!(status, StatusCode::OK);
    let entries = audit["items"].as_array().cloned().unwrap_or_default();
    assert!(entries.iter().any(|e| e["outcome"] == "denied"));
    assert!(entries.iter().any(|e| e["outcome"] == "failed"));

    // Listing filters by action and pages with a cursor.
    for s in env.sessions("London", 3).await {
        env.create(
            "helpdesk",
            json!({ "action": "session.disconnect",
            "targets": [{ "site": "London", "id": s.id }] }),
        )
        .await;
    }
    env.create(
        "admin",
        json!({ "action": "machine.maintenance",
        "targets": [{ "site": "London", "id": machine.id }], "params": { "on": true } }),
    )
    .await;
    let (_, page) = env
        .get("viewer", "/api/v1/jobs?action=session.disconnect&limit=2")
        .await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2), "{page}");
    let cursor = page["next_cursor"].as_str().expect("more").to_owned();
    let (_, rest) = env
        .get(
            "viewer",
            &format!("/api/v1/jobs?action=session.disconnect&limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(1), "{rest}");
    let mut seen: HashSet<String> = HashSet::new();
    for j in page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(rest["items"].as_array().into_iter().flatten())
    {
        assert_eq!(j["action"], "session.disconnect");
        assert!(seen.insert(j["id"].as_str().unwrap_or_default().to_owned()));
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_connector_lost_mid_job_changes_nothing() {
    let env = Env::start("connector", &|s| s.concurrency = 4).await;
    let sessions = env.sessions("London", 80).await;
    let id = env
        .create(
            "helpdesk",
            json!({ "action": "session.logoff", "targets": targets("London", &sessions) }),
        )
        .await;
    env.wait_until(&id, |j| {
        j["progress"]["succeeded"].as_u64().unwrap_or(0) >= 5
    })
    .await;
    env.connector("London", 0, "stop").await;
    let job = env.wait(&id, Duration::from_secs(90)).await;
    assert_eq!(job["state"], "succeeded", "{}", job["error"]);
    let calls = env.calls("London").await;
    for s in &sessions {
        assert_eq!(calls["logoff"].get(&s.id), Some(&1), "session {}", s.id);
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_site_down_fails_its_tasks_clearly_then_retry_succeeds() {
    let env = Env::start("sitedown", &|_| {}).await;
    let london = env.sessions("London", 20).await;
    let cloud = env.sessions("Cloud", 20).await;
    let connectors = env.lab.info().site("Cloud").expect("cloud").endpoints.len();
    for i in 0..connectors {
        env.connector("Cloud", i, "stop").await;
    }
    let mut all = targets("London", &london);
    all.extend(targets("Cloud", &cloud));
    let id = env
        .create(
            "helpdesk",
            json!({ "action": "session.logoff", "targets": all }),
        )
        .await;
    let job = env.wait(&id, Duration::from_secs(60)).await;
    assert_eq!(job["state"], "partially_failed", "{job}");
    assert_eq!(job["progress"]["succeeded"], london.len());
    assert_eq!(job["progress"]["failed"], cloud.len());
    assert!(job["error"].as_str().unwrap_or_default().contains("failed"));
    for task in tasks(&job).iter().filter(|t| t["site"] == "Cloud") {
        let error = task["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("gave up after 4 attempts") && error.contains("connector"),
            "{error}"
        );
        assert_eq!(
            task["attempts"].as_array().map(Vec::len),
            Some(4),
            "each attempt recorded"
        );
    }

    // Helpdesk may retry its own job; after the connectors are back, the failed ones succeed.
    for i in 0..connectors {
        env.connector("Cloud", i, "start").await;
    }
    let (status, retried) = env
        .post("helpdesk", &format!("/api/v1/jobs/{id}/retry"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    let job = env.wait(&id, Duration::from_secs(60)).await;
    assert_eq!(job["state"], "succeeded", "{}", job["error"]);
    for (site, sessions) in [("London", &london), ("Cloud", &cloud)] {
        let calls = env.calls(site).await;
        for s in sessions.iter() {
            assert_eq!(
                calls["logoff"].get(&s.id),
                Some(&1),
                "{site} session {}",
                s.id
            );
        }
    }
    // Nothing failed is left: a second retry is refused.
    let (status, _) = env
        .post("helpdesk", &format!("/api/v1/jobs/{id}/retry"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_drops_queued_tasks_and_lets_running_ones_finish() {
    // One task at a time, five calls a second: the job is slow enough to cancel halfway.
    let env = Env::start("cancel", &|s| {
        s.concurrency = 1;
        s.rate_limit = Some(5.0);
    })
    .await;
    let sessions = env.sessions("London", 30).await;
    let id = env
        .create(
            "helpdesk",
            json!({ "action": "session.logoff", "targets": targets("London", &sessions) }),
        )
        .await;
    env.wait_until(&id, |j| {
        j["progress"]["succeeded"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    let (status, cancelled) = env
        .post("helpdesk", &format!("/api/v1/jobs/{id}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert!(cancelled["cancel_requested_at"].as_str().is_some());
    let job = env.wait(&id, Duration::from_secs(30)).await;
    assert_eq!(job["state"], "cancelled", "{job}");
    let succeeded = job["progress"]["succeeded"].as_u64().unwrap_or(0);
    assert!(
        succeeded >= 2 && succeeded < sessions.len() as u64,
        "{}",
        job["progress"]
    );
    let calls = env.calls("London").await;
    for task in tasks(&job) {
        let target = task["target_id"].as_str().unwrap_or_default();
        let count = calls
            .get("logoff")
            .and_then(|t| t.get(target))
            .copied()
            .unwrap_or(0);
        match task["state"].as_str() {
            Some("succeeded") => assert_eq!(count, 1, "{task}"),
            Some("cancelled") => assert_eq!(count, 0, "{task}"),
            other => panic!("unexpected task state {other:?}"),
        }
    }
    let (status, _) = env
        .post("helpdesk", &format!("/api/v1/jobs/{id}/cancel"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a finished job cannot be cancelled"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn machine_actions_check_first_and_follow_the_site_job() {
    let env = Env::start("machines", &|_| {}).await;
    let machines = env.cvad("London").machines().await.expect("machines");
    let on: Vec<_> = machines
        .iter()
        .filter(|m| {
            m.power_state == PowerState::On
                && m.supported_power_actions
                    .contains(&SupportedPowerAction::Reset)
                && m.fault_state == deskbridge::model::FaultState::None
                && !m.in_maintenance_mode
        })
        .collect();
    assert!(on.len() >= 2, "lab has powered-on machines");
    let (restart, started) = (on[0], on[1]);

    // A forced restart runs as the site's async job and is followed to its end.
    let id = env
        .create(
            "admin",
            json!({ "action": "machine.restart",
            "targets": [{ "site": "London", "id": restart.id }], "params": { "force": true } }),
        )
        .await;
    let job = env.wait(&id, Duration::from_secs(60)).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["params"], json!({ "force": true }));
    let task = &tasks(&job)[0];
    assert!(task["external_job_id"].as_str().is_some(), "{task}");
    assert!(
        task["result"]
            .as_str()
            .unwrap_or_default()
            .contains("completed"),
        "{task}"
    );
    assert_eq!(env.count("London", "reboot", &restart.id).await, 1);

    // Starting a machine that is on does nothing at the site and says why.
    let id = env
        .create(
            "admin",
            json!({ "action": "machine.start",
            "targets": [{ "site": "London", "id": started.id }] }),
        )
        .await;
    let job = env.wait(&id, Duration::from_secs(30)).await;
    assert_eq!(job["state"], "succeeded");
    assert!(
        tasks(&job)[0]["result"]
            .as_str()
            .unwrap_or_default()
            .contains("already")
    );
    assert_eq!(env.count("London", "start", &started.id).await, 0);

    // Maintenance on, then on again: the second is already done.
    for expected_calls in [1, 1] {
        let id = env
            .create(
                "admin",
                json!({ "action": "machine.maintenance",
                "targets": [{ "site": "London", "id": started.id }], "params": { "on": true } }),
            )
            .await;
        let job = env.wait(&id, Duration::from_secs(30)).await;
        assert_eq!(job["state"], "succeeded", "{job}");
        assert_eq!(
            env.count("London", "updateMachine", &started.id).await,
            expected_calls
        );
    }
    let machine = env
        .cvad("London")
        .machine(&started.id)
        .await
        .expect("machine");
    assert!(machine.in_maintenance_mode);

    // A machine that does not exist fails at once: no retries for a 404.
    let id = env
        .create(
            "admin",
            json!({ "action": "machine.shutdown",
            "targets": [{ "site": "London", "id": "no-such-machine" }] }),
        )
        .await;
    let job = env.wait(&id, Duration::from_secs(30)).await;
    assert_eq!(job["state"], "failed");
    assert_eq!(tasks(&job)[0]["attempts"].as_array().map(Vec::len), Some(1));
    assert!(
        job["error"]
            .as_str()
            .unwrap_or_default()
            .contains("does not exist")
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn user_logoff_expands_into_the_users_sessions() {
    let env = Env::start("user", &|_| {}).await;
    let sessions = env.cvad("London").sessions().await.expect("sessions");
    let mut per_user: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &sessions {
        per_user
            .entry(s.user_name.clone())
            .or_default()
            .push(s.id.clone());
    }
    let (user, ids) = per_user
        .iter()
        .max_by_key(|(_, ids)| ids.len())
        .map(|(u, ids)| (u.clone(), ids.clone()))
        .expect("a user with sessions");
    let id = env
        .create(
            "helpdesk",
            json!({ "action": "user.logoff",
            "targets": [{ "site": "London", "id": user }] }),
        )
        .await;
    let job = env.wait(&id, Duration::from_secs(60)).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let found: HashSet<String> = tasks(&job)
        .iter()
        .filter_map(|t| t["target_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(found, ids.iter().cloned().collect::<HashSet<_>>());
    for s in &ids {
        assert_eq!(env.count("London", "logoff", s).await, 1);
    }
    // A user without sessions is a clear 422, and nothing is created.
    let before = env.job_count().await;
    let (status, body) = env
        .post(
            "helpdesk",
            "/api/v1/jobs",
            Some(json!({ "action": "user.logoff",
            "targets": [{ "site": "London", "id": "LAB\\nobody" }] })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(env.job_count().await, before);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disabled_site_takes_no_actions_until_enabled() {
    let env = Env::start("disabled", &|_| {}).await;
    let sessions = env.sessions("Cloud", 3).await;
    let (status, _) = env.post("admin", "/api/v1/sites/Cloud/disable", None).await;
    assert_eq!(status, StatusCode::OK);
    let id = env
        .create(
            "helpdesk",
            json!({ "action": "session.logoff", "targets": targets("Cloud", &sessions) }),
        )
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let job = env.job(&id).await;
    assert_eq!(
        job["state"], "queued",
        "tasks of a disabled site wait: {job}"
    );
    assert!(env.calls("Cloud").await.is_empty());
    let (status, _) = env.post("admin", "/api/v1/sites/Cloud/enable", None).await;
    assert_eq!(status, StatusCode::OK);
    let job = env.wait(&id, Duration::from_secs(30)).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    env.stop().await;
}

/// A bulk logoff whose site jobs outlast several lease renewals (the lab's clock at half
/// speed: a logoff takes 4 s, the lease is 2 s) must keep renewing and finish. The engine once
/// froze here: a task's renewal waited for the store behind that same task's own paused write,
/// and every other writer of the process then waited behind both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_bulk_logoff_outlasting_its_leases_still_finishes() {
    let env = Env::start("slow-bulk", &|s| s.concurrency = 8).await;
    let response = env
        .http
        .post(format!("{}/clock", env.lab.info().control))
        .json(&json!({ "speed": 0.5 }))
        .send()
        .await
        .expect("clock");
    assert!(response.status().is_success());
    let london = env.sessions("London", 120).await;
    let cloud = env.sessions("Cloud", 120).await;
    assert!(london.len() >= 90 && cloud.len() >= 90, "lab too small");
    let mut all = targets("London", &london);
    all.extend(targets("Cloud", &cloud));
    let id = env
        .create(
            "helpdesk",
            json!({ "action": "session.logoff", "targets": all }),
        )
        .await;
    let job = env.wait(&id, Duration::from_secs(180)).await;
    assert_eq!(job["state"], "succeeded", "{}", job["progress"]);
    for (site, sessions) in [("London", &london), ("Cloud", &cloud)] {
        let logoffs = env.calls(site).await.remove("logoff").unwrap_or_default();
        for s in sessions.iter() {
            assert_eq!(logoffs.get(&s.id), Some(&1), "{site} session {}", s.id);
        }
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_engine_killed_mid_job_is_resumed_by_the_next_and_nothing_runs_twice() {
    // Slow enough to be caught mid-job: four at a time per site, 40 calls a second.
    let env = Env::start("crash", &|s| {
        s.concurrency = 4;
        s.rate_limit = Some(40.0);
    })
    .await;
    let london = env.sessions("London", 60).await;
    let cloud = env.sessions("Cloud", 60).await;
    let mut all = targets("London", &london);
    all.extend(targets("Cloud", &cloud));
    let id = env
        .create(
            "helpdesk",
            json!({ "action": "session.logoff", "targets": all }),
        )
        .await;
    env.wait_until(&id, |j| {
        j["progress"]["succeeded"].as_u64().unwrap_or(0) >= 10
    })
    .await;

    // kill -9: every worker and task stops where it is; nothing is recorded.
    let mut env = env;
    if let Some(engine) = env.engine.take() {
        engine.abort();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let job = env.job(&id).await;
    assert_ne!(
        job["state"], "succeeded",
        "caught mid-job: {}",
        job["progress"]
    );
    let interrupted = tasks(&job)
        .iter()
        .filter(|t| t["state"] == "running")
        .count();
    assert!(
        interrupted > 0,
        "killed while tasks ran: {}",
        job["progress"]
    );

    // A new engine on the same store (another owner) resumes after the leases expire.
    let engine = Engine::start(
        Arc::clone(&env.store),
        &env.config.sites,
        engine_options(Arc::clone(&env.refreshed)),
    )
    .expect("engine");
    env.engine = Some(engine);
    let job = env.wait(&id, Duration::from_secs(90)).await;
    assert_eq!(job["state"], "succeeded", "{}", job["error"]);
    for (site, sessions) in [("London", &london), ("Cloud", &cloud)] {
        let calls = env.calls(site).await;
        for s in sessions.iter() {
            assert_eq!(
                calls["logoff"].get(&s.id),
                Some(&1),
                "{site} session {} exactly once",
                s.id
            );
        }
    }
    // The interrupted tasks show the dead engine's attempt (closed as interrupted by the store
    // when the next one starts) and the resumed ones after it, which followed the site job
    // stored before the crash or found the session already logging off. A task claimed but
    // killed before its attempt started has no interrupted attempt. On a loaded machine a
    // resumed attempt may itself be retried, so only the last attempt must have succeeded.
    let resumed: Vec<Value> = tasks(&job)
        .into_iter()
        .filter(|t| {
            t["attempts"].as_array().is_some_and(|attempts| {
                attempts.iter().any(|a| {
                    a["error"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("interrupted")
                })
            })
        })
        .collect();
    assert!(
        !resumed.is_empty() && resumed.len() <= interrupted,
        "{} resumed of {interrupted} running: {}",
        resumed.len(),
        job["progress"]
    );
    for task in &resumed {
        let attempts = task["attempts"].as_array().cloned().unwrap_or_default();
        let killed = attempts
            .iter()
            .position(|a| {
                a["error"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("interrupted")
            })
            .unwrap_or_default();
        assert!(
            killed + 1 < attempts.len(),
            "resumed after the kill: {task}"
        );
        assert_eq!(
            attempts[attempts.len() - 1]["outcome"],
            "succeeded",
            "{task}"
        );
    }
    env.stop().await;
}

/// `deskbridge serve --lab` runs the engine: a job posted to the binary reaches the lab, and
/// SIGTERM stops the process cleanly. (A `kill -9` of the binary mid-job and its restart are
/// in tests/adapter_crash.rs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_lab_runs_jobs() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
        .args(["serve", "--lab", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start deskbridge serve --lab");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("one line when ready");
    let ready: Value = serde_json::from_str(&line).expect("JSON");
    let info: deskbridge::lab::LabInfo =
        serde_json::from_value(ready["lab"].clone()).expect("lab info");
    let url = ready["url"].as_str().expect("url").to_owned();
    let http = reqwest::Client::new();
    http.post(format!("{}/clock", info.control))
        .json(&json!({ "speed": 20 }))
        .send()
        .await
        .expect("clock");
    let token: Value = http
        .post(format!("{url}/api/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ready["client_id"].as_str().unwrap_or_default()),
            (
                "client_secret",
                ready["client_secret"].as_str().unwrap_or_default(),
            ),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    let token = token["access_token"].as_str().expect("token").to_owned();
    let site = info.site("London").expect("London");
    let client = CvadClient::new(CvadConfig::from_lab(site)).expect("client");
    let session = client
        .sessions()
        .await
        .expect("sessions")
        .into_iter()
        .find(|s| !s.logoff_in_progress)
        .expect("a session");
    let created: Value = http
        .post(format!("{url}/api/v1/jobs"))
        .bearer_auth(&token)
        .json(&json!({ "action": "session.logoff",
            "targets": [{ "site": "London", "id": session.id }] }))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("job JSON");
    let id = created["id"].as_str().expect("job id").to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let job: Value = http
            .get(format!("{url}/api/v1/jobs/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("job")
            .json()
            .await
            .expect("job JSON");
        if job["state"] == "succeeded" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let calls: Value = http
        .get(format!("{}/sites/London/calls", info.control))
        .send()
        .await
        .expect("calls")
        .json()
        .await
        .expect("calls JSON");
    assert_eq!(calls["calls"]["logoff"][&session.id], 1);

    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let mut status = None;
    for _ in 0..150 {
        if let Ok(Some(s)) = child.try_wait() {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("deskbridge serve did not stop within 15 s of SIGTERM");
    };
    assert!(status.success(), "stopped with {status}");
}
