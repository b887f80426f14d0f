//! `GET /metrics` over real HTTP: `deskbridge serve --lab` runs a logoff job and then one that
//! a site's injected server errors fail, and the scrape shows the jobs by state, the CVAD calls
//! of that site by outcome (2xx, then 5xx), one attempt timed per task, the outbox at 0 and the
//! API requests by route; a ServiceNow client carrying the adapter's observer is counted per
//! instance and outcome. Every scrape is checked line by line against the text format.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use deskbridge::adapter::api::{ApiOptions, ApiServer, AppState};
use deskbridge::adapter::store::{SqliteStore, Store};
use deskbridge::config::{AdapterConfig, StoreConfig};
use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::lab::{Lab, LabInfo, LabOptions};
use deskbridge::model::TicketKind;
use deskbridge::servicenow::{
    AuthMode, ListParams, RetryPolicy, ServiceNowClient, ServiceNowConfig,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[path = "adapter_metrics/exposition.rs"]
mod exposition;

use exposition::{Scrape, parse_exposition};

/// `deskbridge serve --lab --json`, stopped with SIGTERM when dropped.
struct Served {
    child: Child,
    url: String,
    lab: LabInfo,
    token: String,
    http: reqwest::Client,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
    }
}

impl Served {
    async fn start() -> Served {
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
        let lab: LabInfo = serde_json::from_value(ready["lab"].clone()).expect("lab info");
        let url = ready["url"].as_str().expect("url").to_owned();
        let http = reqwest::Client::new();
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
        Served {
            child,
            url,
            lab,
            token,
            http,
        }
    }

    /// POSTs to the lab's control API and asserts it took the change.
    async fn control(&self, path: &str, body: Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.lab.control))
            .json(&body)
            .send()
            .await
            .expect("lab control");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    async fn scrape(&self) -> Scrape {
        scrape(&self.http, &self.url).await
    }

    /// Runs `session.logoff` over `sessions` of London and returns the job once it ended.
    async fn logoff(&self, sessions: &[String]) -> Value {
        let targets: Vec<Value> = sessions
            .iter()
            .map(|id| json!({ "site": "London", "id": id }))
            .collect();
        let response = self
            .http
            .post(format!("{}/api/v1/jobs", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "action": "session.logoff", "targets": targets }))
            .send()
            .await
            .expect("create job");
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let created: Value = response.json().await.expect("job JSON");
        let id = created["id"].as_str().expect("job id").to_owned();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let job: Value = self
                .http
                .get(format!("{}/api/v1/jobs/{id}", self.url))
                .bearer_auth(&self.token)
                .send()
                .await
                .expect("job")
                .json()
                .await
                .expect("job JSON");
            if !matches!(job["state"].as_str(), Some("queued" | "running")) {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job never ended: {job}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn scrape(http: &reqwest::Client, url: &str) -> Scrape {
    // No token: scrapers have none.
    let response = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    parse_exposition(&response.text().await.expect("metrics text"))
}

/// Attempts recorded on the job's tasks.
fn attempts(job: &Value) -> usize {
    job["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|task| task["attempts"].as_array().map_or(0, Vec::len))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_jobs_calls_and_site_errors() {
    let served = Served::start().await;
    // Logoffs take simulated time; run the lab's clock 20 times faster.
    served.control("/clock", json!({ "speed": 20 })).await;
    let site = served.lab.site("London").expect("London");
    let sessions: Vec<String> = CvadClient::new(CvadConfig::from_lab(site))
        .expect("client")
        .sessions()
        .await
        .expect("sessions")
        .into_iter()
        .filter(|s| !s.logoff_in_progress)
        .map(|s| s.id)
        .take(4)
        .collect();
    assert_eq!(sessions.len(), 4, "the lab has sessions to log off");

    let before = served.scrape().await;
    for state in [
        "queued",
        "running",
        "succeeded",
        "failed",
        "partially_failed",
        "cancelled",
    ] {
        assert_eq!(
            before.get(&format!("deskbridge_jobs{{state=\"{state}\"}}")),
            0.0
        );
    }
    let london_ok = |s: &Scrape| {
        s.value(r#"deskbridge_cvad_requests_total{site="London",outcome="2xx"}"#)
            .unwrap_or(0.0)
    };
    assert!(before.get(r#"deskbridge_outbox_depth{instance="lab"}"#) == 0.0);
    assert!(before.get("deskbridge_start_time_seconds") > 1.7e9);

    // A job that succeeds: three sessions, one attempt each.
    let job = served.logoff(&sessions[..3]).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let after = served.scrape().await;
    assert_eq!(after.get(r#"deskbridge_jobs{state="succeeded"}"#), 1.0);
    assert_eq!(after.get(r#"deskbridge_jobs{state="queued"}"#), 0.0);
    assert!(
        london_ok(&after) >= london_ok(&before) + 3.0,
        "each logoff called London: {} then {}",
        london_ok(&before),
        london_ok(&after)
    );
    let succeeded = r#"deskbridge_task_attempt_duration_seconds_count{action="session.logoff",outcome="succeeded"}"#;
    assert_eq!(after.get(succeeded), attempts(&job) as f64);
    assert_eq!(attempts(&job), 3);
    assert_eq!(after.get(r#"deskbridge_outbox_depth{instance="lab"}"#), 0.0);
    assert_eq!(
        after.get(
            r#"deskbridge_api_requests_total{method="POST",route="/api/v1/jobs",status="2xx"}"#
        ),
        1.0
    );
    assert!(
        after.get(
            r#"deskbridge_api_requests_total{method="GET",route="/api/v1/jobs/{id}",status="2xx"}"#
        ) >= 1.0
    );
    assert_eq!(after.get(r#"deskbridge_site_degraded{site="London"}"#), 0.0);

    // London answers every call with 500 now: the next logoff fails at once (a 500 is not
    // transient), and the failed calls are counted as 5xx.
    served
        .control(
            "/sites/London/faults",
            json!({ "error_rate": 1.0, "error_status": 500 }),
        )
        .await;
    let failed = served.logoff(&sessions[3..]).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    let broken = served.scrape().await;
    assert!(
        broken.sum(
            "deskbridge_cvad_requests_total",
            &[r#"site="London""#, r#"outcome="5xx""#]
        ) >= 1.0,
        "{}",
        broken.text
    );
    assert_eq!(
        broken.sum(
            "deskbridge_cvad_requests_total",
            &[r#"site="Cloud""#, r#"outcome="5xx""#]
        ),
        0.0,
        "only London was broken"
    );
    assert_eq!(broken.get(r#"deskbridge_jobs{state="failed"}"#), 1.0);
    assert_eq!(broken.get(r#"deskbridge_jobs{state="succeeded"}"#), 1.0);
    // One observation per attempt made, over both jobs.
    assert_eq!(
        broken.sum("deskbridge_task_attempt_duration_seconds_count", &[]),
        (attempts(&job) + attempts(&failed)) as f64
    );
    assert_eq!(
        broken.get(r#"deskbridge_task_attempt_duration_seconds_count{action="session.logoff",outcome="failed"}"#),
        attempts(&failed) as f64
    );
    // Counters never go back.
    assert!(london_ok(&broken) >= london_ok(&after));

    // /metrics is in the OpenAPI document, public like /healthz.
    let doc: Value = served
        .http
        .get(format!("{}/api/v1/openapi.json", served.url))
        .bearer_auth(&served.token)
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("openapi JSON");
    assert_eq!(doc["paths"]["/metrics"]["get"]["security"], json!([]));
    assert_eq!(
        doc["paths"]["/metrics"]["get"]["security"],
        doc["paths"]["/healthz"]["get"]["security"]
    );
}

/// The way the ticket sync builds its clients: a ServiceNow config from the adapter's, with the
/// adapter's observer attached; its calls then appear on the adapter's `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servicenow_calls_are_counted_per_instance_and_outcome() {
    let lab = Lab::start(LabOptions::default()).await.expect("lab");
    let dir = std::env::temp_dir().join(format!("deskbridge-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let config = AdapterConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.clone(),
        store: StoreConfig::Sqlite {
            path: dir.join("deskbridge.db"),
        },
        token_ttl: Duration::from_secs(3600),
        sites: Vec::new(),
        servicenow: Vec::new(),
        clients: Vec::new(),
        directories: Vec::new(),
        accounts: Default::default(),
        routing: Default::default(),
        idle_power_off: Vec::new(),
        runbooks_dir: None,
        offboarding: Default::default(),
    };
    let sqlite = SqliteStore::open(&config.store.url()).await.expect("store");
    let store: Arc<dyn Store> = Arc::new(sqlite.clone());
    let state = AppState::new(store, config.clone(), ApiOptions::default())
        .await
        .expect("state");
    let observer = state.metrics.servicenow_observer();
    let server = ApiServer::start(config.listen, state)
        .await
        .expect("listen");
    let http = reqwest::Client::new();

    let info = lab.info().servicenow.first().expect("an instance").clone();
    let mut sn = ServiceNowConfig::from_lab(&info, AuthMode::Basic).with_observer(observer);
    // One attempt per call, so the counts below are exact.
    sn.retry = RetryPolicy::none();
    let client = ServiceNowClient::new(sn).expect("client");
    client
        .tickets(TicketKind::Incident, &ListParams::new().max_records(5))
        .await
        .expect("incidents");
    let ok = scrape(&http, &server.url()).await;
    let answered = r#"deskbridge_servicenow_requests_total{instance="lab",outcome="2xx"}"#;
    assert!(ok.get(answered) >= 1.0);
    assert_eq!(
        ok.get(
            r#"deskbridge_servicenow_request_duration_seconds_count{instance="lab",outcome="2xx"}"#
        ),
        ok.get(answered)
    );

    let response = http
        .post(format!("{}/servicenow/lab/faults", lab.info().control))
        .json(&json!({ "outage": true }))
        .send()
        .await
        .expect("fault");
    assert!(response.status().is_success());
    let err = client
        .tickets(TicketKind::Incident, &ListParams::new().max_records(5))
        .await
        .expect_err("the instance is down");
    assert!(err.to_string().contains("503"), "{err}");
    let down = scrape(&http, &server.url()).await;
    assert_eq!(
        down.get(r#"deskbridge_servicenow_requests_total{instance="lab",outcome="5xx"}"#),
        1.0
    );
    assert_eq!(down.get(answered), ok.get(answered));

    // Odd methods and raw paths never become labels: a caller cannot create series at will.
    let method = reqwest::Method::from_bytes(b"BREW").expect("a method token");
    let response = http
        .request(method, format!("{}/coffee/pot-1234", server.url()))
        .send()
        .await
        .expect("BREW");
    assert!(response.status().is_client_error());
    let odd = scrape(&http, &server.url()).await;
    assert_eq!(
        odd.get(r#"deskbridge_api_requests_total{method="other",route="unmatched",status="4xx"}"#),
        1.0
    );
    assert!(!odd.text.contains("coffee") && !odd.text.contains("BREW"));
    assert!(
        odd.get(r#"deskbridge_api_requests_total{method="GET",route="/metrics",status="2xx"}"#)
            >= 2.0
    );

    server.shutdown().await.expect("clean shutdown");
    sqlite.close().await;
    lab.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
