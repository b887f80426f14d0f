//! Calling the adapter's API from tests, and where the secrecy tests look for a secret: every
//! log line of the test process, the audit log, every job and /metrics.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::samba::Capture;
use super::until;

/// Every log line of this test process, at every level: the adapter's tasks run on the
/// runtime's worker threads, so the capture is the global subscriber. Call it before anything
/// logs, so every callsite sees it.
pub fn log() -> &'static Capture {
    static LOG: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(capture.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        capture
    })
}

/// The adapter at `url`.
pub struct Api {
    pub http: reqwest::Client,
    pub url: String,
}

impl Api {
    pub fn new(url: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            url: url.to_owned(),
        }
    }

    /// A call with `token`; the answer's JSON (or its text as a JSON string).
    pub async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.call(token, reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(token, reqwest::Method::POST, path, Some(body))
            .await
    }

    /// The job `job` (as created) once it has ended.
    pub async fn finished(&self, token: &str, job: &Value) -> Value {
        let id = job["id"].as_str().expect("job id").to_owned();
        until("the job to end", Duration::from_secs(30), async || {
            let (_, job) = self.get(token, &format!("/api/v1/jobs/{id}")).await;
            let state = job["state"].as_str().unwrap_or_default();
            (!matches!(state, "queued" | "running")).then_some(job)
        })
        .await
    }

    /// Everything a secret must never be in, read with an admin token: the captured log,
    /// the audit log, the job list and every job's detail, and /metrics.
    pub async fn written_places(&self, admin: &str) -> Vec<(String, String)> {
        let mut places: Vec<(String, String)> = Vec::new();
        let logged = log().text();
        assert!(
            logged.contains("job engine started"),
            "the log was captured"
        );
        places.push(("the log".into(), logged));
        let (status, audit) = self.get(admin, "/api/v1/audit?limit=1000").await;
        assert_eq!(status, StatusCode::OK, "{audit}");
        places.push(("the audit log".into(), audit.to_string()));
        let (_, jobs) = self.get(admin, "/api/v1/jobs?limit=1000").await;
        places.push(("the job list".into(), jobs.to_string()));
        for job in jobs["items"].as_array().into_iter().flatten() {
            let id = job["id"].as_str().unwrap_or_default();
            let (_, detail) = self.get(admin, &format!("/api/v1/jobs/{id}")).await;
            places.push((format!("job {id}"), detail.to_string()));
        }
        let metrics = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .expect("metrics");
        assert!(metrics.status().is_success());
        places.push((
            "/metrics".into(),
            metrics.text().await.expect("metrics text"),
        ));
        places
    }
}
