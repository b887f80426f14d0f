//! Real processes for the tests that run the binary as an operator does: `deskbridge lab` and
//! `deskbridge serve --config` as children of the test (killed when dropped), an adapter.toml
//! written with secrets by reference, the adapter's API over HTTP, and the lab's per-target
//! call counts that prove "each target acted on exactly once".
// Each test binary uses part of it, re-exports included.
#![allow(dead_code, unused_imports)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::lab::LabInfo;
use reqwest::StatusCode;
use serde_json::{Value, json};

mod config;

pub use config::{ConfigOptions, StoreSpec, write_config};

pub const BIN: &str = env!("CARGO_BIN_EXE_deskbridge");

/// The helpdesk API client every written config declares; its secret reaches the adapter by
/// an environment variable.
pub const CLIENT_ID: &str = "44444444-4444-4444-8444-444444444444";
pub const CLIENT_SECRET: &str = "crash-helpdesk-secret-0123456789abcdef";

/// Lab call counts: site → action → target → count.
pub type Calls = BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>>;

/// A child process that is killed (SIGKILL) and reaped when dropped, so a failing test leaves
/// no lab or adapter behind.
pub struct Running {
    pub what: String,
    child: Child,
    /// Where its stderr goes, for the failure messages.
    pub log: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Starts `deskbridge ARGS…` and waits for its one JSON ready line on stdout.
    pub fn start(
        what: &str,
        args: &[&str],
        env: &[(String, String)],
        log: PathBuf,
    ) -> (Running, Value) {
        let stderr = std::fs::File::create(&log).expect("create the log file");
        let mut child = Command::new(BIN)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let running = Running {
            what: what.to_owned(),
            child,
            log,
        };
        // Read on a thread so that a child that never gets ready fails the test instead of
        // hanging it; the thread keeps draining stdout afterwards.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{what} printed no ready line: {}", running.stderr()));
        let ready = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{what}: the ready line {line:?} is not JSON: {e}"));
        (running, ready)
    }

    pub fn stderr(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        format!("stderr of {} ({}):\n{text}", self.what, self.log.display())
    }

    /// `kill -9`: the process gets no chance to record anything.
    pub fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("reap");
        assert!(!status.success(), "{} was killed: {status}", self.what);
    }

    /// SIGTERM, and the clean exit it promises.
    pub fn terminate(mut self) {
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success());
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "{} stopped with {status}", self.what);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{} did not stop on SIGTERM: {}", self.what, self.stderr());
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A fresh folder for one test (removed first if a previous run left it).
pub fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deskbridge-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch folder");
    dir
}

/// A `deskbridge lab` process.
pub struct LabProcess {
    _process: Running,
    pub info: LabInfo,
    pub http: reqwest::Client,
}

impl LabProcess {
    /// Starts the lab with `args` after `lab --json`, logging to `dir/lab.log`.
    pub fn start(dir: &Path, args: &[&str]) -> LabProcess {
        let mut all = vec!["lab", "--json"];
        all.extend_from_slice(args);
        let (process, ready) = Running::start("deskbridge lab", &all, &[], dir.join("lab.log"));
        let info: LabInfo = serde_json::from_value(ready).expect("the lab's JSON description");
        LabProcess {
            _process: process,
            info,
            http: reqwest::Client::new(),
        }
    }

    /// The lab's record of actions at a site: action → target → count.
    pub async fn calls(&self, site: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
        super::lab_calls(&self.http, &self.info.control, site).await
    }

    /// Every site's calls.
    pub async fn all_calls(&self) -> Calls {
        let mut all = BTreeMap::new();
        for site in &self.info.sites {
            all.insert(site.name.clone(), self.calls(&site.name).await);
        }
        all
    }

    /// Makes a session's logoff hang at the lab: it stays `LogoffInProgress`, so a logoff
    /// sent twice reaches it and is counted, however long after the first it came.
    pub async fn hang_logoff(&self, site: &str, session: &str) {
        let response = self
            .http
            .post(format!(
                "{}/sites/{site}/sessions/{session}/hang-logoff",
                self.info.control
            ))
            .send()
            .await
            .expect("hang-logoff");
        assert!(
            response.status().is_success(),
            "hang-logoff {site} {session}"
        );
    }

    /// [`LabProcess::hang_logoff`] for many sessions, a few dozen at a time.
    pub async fn hang_logoffs(&self, sessions: &[(String, String)]) {
        for chunk in sessions.chunks(64) {
            futures::future::join_all(chunk.iter().map(|(site, id)| self.hang_logoff(site, id)))
                .await;
        }
    }

    /// Up to `n` sessions of a site that are not logging off, read page by page from the
    /// site's CVAD API (a large lab has tens of thousands).
    pub async fn sessions(&self, site: &str, n: usize) -> Vec<String> {
        let info = self.info.site(site).expect("lab site");
        let client = CvadClient::new(CvadConfig::from_lab(info)).expect("CVAD client");
        let mut pager = client.sessions_pager(1000);
        let mut found = Vec::new();
        while found.len() < n {
            let Some(page) = pager.next_page().await.expect("list sessions") else {
                break;
            };
            found.extend(
                page.items
                    .into_iter()
                    .filter(|s| !s.logoff_in_progress)
                    .map(|s| s.id),
            );
        }
        found.truncate(n);
        found
    }

    /// `per_site` sessions at each named site, their logoffs made to hang, as job targets
    /// and as (site, id) pairs.
    pub async fn hung_targets(
        &self,
        sites: &[&str],
        per_site: usize,
    ) -> (Vec<Value>, Vec<(String, String)>) {
        let mut pairs = Vec::new();
        for site in sites {
            let ids = self.sessions(site, per_site).await;
            assert_eq!(ids.len(), per_site, "lab too small at {site}");
            pairs.extend(ids.into_iter().map(|id| (site.to_string(), id)));
        }
        self.hang_logoffs(&pairs).await;
        let targets = pairs
            .iter()
            .map(|(site, id)| json!({ "site": site, "id": id }))
            .collect();
        (targets, pairs)
    }

    /// Asserts the lab saw exactly one logoff of each session and no other logoff.
    pub async fn assert_logged_off_once(&self, sessions: &[(String, String)]) {
        let calls = self.all_calls().await;
        let mut wrong = Vec::new();
        for (site, session) in sessions {
            let count = calls
                .get(site)
                .and_then(|c| c.get("logoff"))
                .and_then(|t| t.get(session))
                .copied()
                .unwrap_or(0);
            if count != 1 {
                wrong.push(format!("{site}/{session}: {count}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} sessions not logged off exactly once: {}",
            wrong.len(),
            sessions.len(),
            wrong
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        let logoffs: u64 = calls
            .values()
            .filter_map(|c| c.get("logoff"))
            .flat_map(|t| t.values())
            .sum();
        assert_eq!(logoffs, sessions.len() as u64, "no other logoff");
    }
}

/// One `deskbridge serve --config` process and a client of its API.
pub struct Adapter {
    pub process: Running,
    pub url: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Adapter {
    /// Starts `deskbridge serve --config CONFIG --json`, logging to `log`, and logs in as
    /// the helpdesk client.
    pub async fn start(what: &str, config: &Path, env: &[(String, String)], log: PathBuf) -> Self {
        let config = config.display().to_string();
        let (process, ready) =
            Running::start(what, &["serve", "--config", &config, "--json"], env, log);
        // The ready line gives the address, and nothing the adapter was only told: secrets
        // stay where the config points.
        let line = ready.to_string();
        assert!(
            !line.contains(CLIENT_SECRET) && ready.as_object().is_some_and(|o| o.len() == 1),
            "ready line: {line}"
        );
        let url = ready["url"]
            .as_str()
            .expect("url in the ready line")
            .to_owned();
        let http = reqwest::Client::new();
        let token = login(&http, &url)
            .await
            .unwrap_or_else(|status| panic!("token: {status}\n{}", process.stderr()));
        Adapter {
            process,
            url,
            token,
            http,
        }
    }

    /// This replica's id as its `/readyz` names it: the `replica` of the job attempts it ran.
    pub async fn replica(&self) -> String {
        let body: Value = self
            .http
            .get(format!("{}/readyz", self.url))
            .send()
            .await
            .expect("GET /readyz")
            .json()
            .await
            .expect("/readyz JSON");
        body["replica"]
            .as_str()
            .unwrap_or_else(|| panic!("/readyz names no replica: {body}"))
            .to_owned()
    }

    /// GET with this adapter's token, expecting 200.
    pub async fn get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET");
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// The status of an unauthenticated GET (`/readyz`), or `None` if nothing answered.
    pub async fn probe(&self, path: &str) -> Option<StatusCode> {
        self.http
            .get(format!("{}{path}", self.url))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()
            .map(|r| r.status())
    }

    /// Creates a `session.logoff` job over `targets`; returns its id.
    pub async fn create(&self, targets: Vec<Value>) -> String {
        let response = self
            .http
            .post(format!("{}/api/v1/jobs", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "action": "session.logoff", "targets": targets }))
            .send()
            .await
            .expect("create job");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        body["id"].as_str().expect("job id").to_owned()
    }

    /// Polls the job until `done(job)` holds.
    pub async fn wait_until(
        &self,
        id: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let job = self.get(&format!("/api/v1/jobs/{id}")).await;
            if done(&job) {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {id} did not get there within {within:?}: {} {}\n{}",
                job["state"],
                job["progress"],
                self.process.stderr()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls the job until it is neither queued nor running.
    pub async fn wait_ended(&self, id: &str, within: Duration) -> Value {
        self.wait_until(id, within, |j| {
            !matches!(j["state"].as_str(), Some("queued" | "running"))
        })
        .await
    }
}

/// A token for the helpdesk client from the adapter at `url`, or the status that refused it.
pub async fn login(http: &reqwest::Client, url: &str) -> Result<String, StatusCode> {
    let response = http
        .post(format!("{url}/api/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("token request");
    if response.status() != StatusCode::OK {
        return Err(response.status());
    }
    let body: Value = response.json().await.expect("token JSON");
    Ok(body["access_token"].as_str().expect("token").to_owned())
}

pub fn tasks(job: &Value) -> Vec<Value> {
    job["tasks"].as_array().cloned().unwrap_or_default()
}

/// Every attempt of every task of a job as the API shows it.
pub fn attempts(job: &Value) -> Vec<Value> {
    tasks(job)
        .iter()
        .flat_map(|t| t["attempts"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// How many attempts of a job each replica ran.
pub fn attempts_by_replica(job: &Value) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for attempt in attempts(job) {
        let replica = attempt["replica"].as_str().unwrap_or_default().to_owned();
        *counts.entry(replica).or_default() += 1;
    }
    counts
}

pub fn is_interrupted(attempt: &Value) -> bool {
    attempt["error"]
        .as_str()
        .unwrap_or_default()
        .contains("interrupted")
}

/// Progress counter `name` of a job (`succeeded`, `running`, …).
pub fn progress(job: &Value, name: &str) -> u64 {
    job["progress"][name].as_u64().unwrap_or(0)
}

/// Writes a config for each named replica (in `dir/NAME/`) and starts them one after the
/// other, so the first creates the schema; logs go to `dir/NAME.log`.
pub async fn start_replicas(
    dir: &Path,
    lab: &LabInfo,
    names: &[&str],
    options: &ConfigOptions,
) -> Vec<Adapter> {
    let mut replicas = Vec::new();
    for name in names {
        let (config, env) = write_config(&dir.join(name), lab, options);
        replicas.push(
            Adapter::start(
                &format!("replica {name}"),
                &config,
                &env,
                dir.join(format!("{name}.log")),
            )
            .await,
        );
    }
    replicas
}
