//! Crash safety with real processes: `deskbridge lab` and `deskbridge serve --config` run as
//! children of the test, the adapter is killed with SIGKILL in the middle of a bulk logoff and
//! started again on the same SQLite file. Every session must be logged off exactly once (the
//! lab counts the calls), the interrupted tasks must show it, the audit log must survive, and
//! a further restart with nothing left to do must do nothing.
//!
//! The job's sessions are set to hang at the lab before it runs: their logoff jobs complete
//! but they stay, logging off, so a logoff sent twice reaches a session and is counted, however
//! long after the first it came. (Without that, a repeated logoff of a session already gone is
//! a 404 the lab does not count, and a resumed task acting blindly would go unnoticed.)
//!
//! The in-process version (tests/adapter_jobs.rs) aborts the engine's tasks; this one proves
//! the same of the binary an operator runs, with its config file, secrets by reference and
//! `[engine] lease`.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::lab::{LabInfo, SiteCredentials};
use deskbridge::model::SiteKind;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_deskbridge");

/// The helpdesk API client the config declares; its secret reaches the adapter by env var.
const CLIENT_ID: &str = "44444444-4444-4444-8444-444444444444";
const CLIENT_SECRET: &str = "crash-helpdesk-secret-0123456789abcdef";
const CLIENT_SECRET_VAR: &str = "DESKBRIDGE_CRASH_HELPDESK_SECRET";

/// Sessions per site in the job: most of what the small lab has, with a few left over for the
/// job after the last restart.
const PER_SITE: usize = 90;

/// A child process that is killed (SIGKILL) and reaped when dropped, so a failing test leaves
/// no lab or adapter behind.
struct Running {
    what: String,
    child: Child,
    /// Where its stderr goes, for the failure messages.
    log: PathBuf,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Starts `deskbridge ARGS…` and waits for its one JSON ready line on stdout.
    fn start(
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

    fn stderr(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        format!("stderr of {} ({}):\n{text}", self.what, self.log.display())
    }

    /// `kill -9`: the process gets no chance to record anything.
    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("reap");
        assert!(!status.success(), "{} was killed: {status}", self.what);
    }

    /// SIGTERM, and the clean exit it promises.
    fn terminate(mut self) {
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
}

/// A fresh folder for this test (removed first if a previous run left it).
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deskbridge-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("secrets")).expect("create scratch folder");
    dir
}

/// A TOML basic string (JSON's escapes are TOML's).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// Writes `adapter.toml` for the lab's sites as an operator would: secrets as references (an
/// environment variable for on-prem passwords, a 0600 file for cloud client secrets), a
/// SQLite file store, a free loopback port, slow sites, and a short lease so that a dead
/// adapter's tasks are resumed within seconds. Returns the config path and the environment the
/// adapter needs.
fn write_config(dir: &Path, lab: &LabInfo) -> (PathBuf, Vec<(String, String)>) {
    let mut env = vec![(CLIENT_SECRET_VAR.to_owned(), CLIENT_SECRET.to_owned())];
    let mut text = String::from(
        "listen = \"127.0.0.1:0\"\n\
         data_dir = \"data\"\n\
         store = \"sqlite://deskbridge.db\"\n\n\
         [engine]\n\
         lease = \"5s\"\n",
    );
    for (i, site) in lab.sites.iter().enumerate() {
        let endpoints: Vec<String> = site.endpoints.iter().map(|e| quoted(e)).collect();
        text.push_str(&format!(
            "\n[[sites]]\nname = {}\nkind = \"{}\"\nendpoints = [{}]\ncustomer_id = {}\n\
             site_id = {}\n\
             # Four calls at a time, 40 a second: slow enough to be caught mid-job.\n\
             concurrency = 4\nrate_limit = 40\n",
            quoted(&site.name),
            match site.kind {
                SiteKind::Onprem => "onprem",
                SiteKind::Cloud => "cloud",
            },
            endpoints.join(", "),
            quoted(&site.customer_id),
            quoted(&site.site_id),
        ));
        match &site.credentials {
            SiteCredentials::Basic { username, password } => {
                let var = format!("DESKBRIDGE_CRASH_SITE_{i}_PASSWORD");
                env.push((var.clone(), password.clone()));
                text.push_str(&format!(
                    "\n[sites.credentials]\nusername = {}\npassword = {{ env = \"{var}\" }}\n",
                    quoted(username)
                ));
            }
            SiteCredentials::Client {
                client_id,
                client_secret,
            } => {
                let file = format!("secrets/site-{i}-client-secret");
                write_secret(&dir.join(&file), client_secret);
                text.push_str(&format!(
                    "token_url = {}\n\n[sites.credentials]\nclient_id = {}\n\
                     client_secret = {{ file = \"{file}\" }}\n",
                    quoted(&site.token_url),
                    quoted(client_id)
                ));
            }
        }
    }
    text.push_str(&format!(
        "\n[[clients]]\nname = \"helpdesk\"\nid = \"{CLIENT_ID}\"\nrole = \"helpdesk\"\n\
         secret = {{ env = \"{CLIENT_SECRET_VAR}\" }}\n"
    ));
    let path = dir.join("adapter.toml");
    std::fs::write(&path, text).expect("write adapter.toml");
    (path, env)
}

fn write_secret(path: &Path, secret: &str) {
    std::fs::write(path, format!("{secret}\n")).expect("write secret file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .expect("chmod secret file");
    }
}

/// One `deskbridge serve --config` process and a client of its API.
struct Adapter {
    process: Running,
    url: String,
    token: String,
}

/// What the test talks to: the lab process and the HTTP client.
struct World {
    _lab: Running,
    info: LabInfo,
    dir: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
    http: reqwest::Client,
    starts: usize,
}

impl World {
    async fn serve(&mut self) -> Adapter {
        self.starts += 1;
        let config = self.config.display().to_string();
        let (process, ready) = Running::start(
            &format!("deskbridge serve (start {})", self.starts),
            &["serve", "--config", &config, "--json"],
            &self.env,
            self.dir.join(format!("serve-{}.log", self.starts)),
        );
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
        let response = self
            .http
            .post(format!("{url}/api/v1/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), StatusCode::OK, "{}", process.stderr());
        let body: Value = response.json().await.expect("token JSON");
        let token = body["access_token"].as_str().expect("token").to_owned();
        Adapter {
            process,
            url,
            token,
        }
    }

    /// The lab's record of actions at a site: action → target → count.
    async fn calls(&self, site: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
        let body: Value = self
            .http
            .get(format!("{}/sites/{site}/calls", self.info.control))
            .send()
            .await
            .expect("calls")
            .json()
            .await
            .expect("calls JSON");
        serde_json::from_value(body["calls"].clone()).expect("calls shape")
    }

    /// Makes a session's logoff hang at the lab: it stays `LogoffInProgress`.
    async fn hang_logoff(&self, site: &str, session: &str) {
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

    /// Every site's calls.
    async fn all_calls(&self) -> BTreeMap<String, BTreeMap<String, BTreeMap<String, u64>>> {
        let mut all = BTreeMap::new();
        for site in &self.info.sites {
            all.insert(site.name.clone(), self.calls(&site.name).await);
        }
        all
    }

    /// Up to `n` sessions of a site that are not logging off, read from the site's CVAD API.
    async fn sessions(&self, site: &str, n: usize) -> Vec<String> {
        let info = self.info.site(site).expect("lab site");
        let client = CvadClient::new(CvadConfig::from_lab(info)).expect("CVAD client");
        let mut sessions = client.sessions().await.expect("list sessions");
        sessions.retain(|s| !s.logoff_in_progress);
        sessions.into_iter().take(n).map(|s| s.id).collect()
    }
}

impl Adapter {
    async fn get(&self, http: &reqwest::Client, path: &str) -> Value {
        let response = http
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

    async fn create(&self, http: &reqwest::Client, targets: Vec<Value>) -> String {
        let response = http
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
    async fn wait_until(
        &self,
        http: &reqwest::Client,
        id: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let job = self.get(http, &format!("/api/v1/jobs/{id}")).await;
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

    async fn wait_ended(&self, http: &reqwest::Client, id: &str) -> Value {
        self.wait_until(http, id, Duration::from_secs(120), |j| {
            !matches!(j["state"].as_str(), Some("queued" | "running"))
        })
        .await
    }
}

fn tasks(job: &Value) -> Vec<Value> {
    job["tasks"].as_array().cloned().unwrap_or_default()
}

fn is_interrupted(attempt: &Value) -> bool {
    attempt["error"]
        .as_str()
        .unwrap_or_default()
        .contains("interrupted")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_serve_process_killed_mid_job_is_resumed_after_restart_and_nothing_runs_twice() {
    let dir = scratch();
    // Actions take simulated time (a logoff 2 s); run the lab's clock 20× faster.
    let (lab, ready) = Running::start(
        "deskbridge lab",
        &["lab", "--json", "--clock-speed", "20"],
        &[],
        dir.join("lab.log"),
    );
    let info: LabInfo = serde_json::from_value(ready).expect("the lab's JSON description");
    let (config, env) = write_config(&dir, &info);
    let mut world = World {
        _lab: lab,
        info,
        dir: dir.clone(),
        config,
        env,
        http: reqwest::Client::new(),
        starts: 0,
    };
    let http = world.http.clone();

    let mut targets = Vec::new();
    let mut sessions: Vec<(String, String)> = Vec::new();
    for site in ["London", "Cloud"] {
        let ids = world.sessions(site, PER_SITE).await;
        assert_eq!(ids.len(), PER_SITE, "lab too small at {site}");
        for id in ids {
            // Their logoffs hang (the logoff job still completes): every session stays, logging
            // off, so a second logoff would reach it and be counted, however late it came.
            world.hang_logoff(site, &id).await;
            targets.push(json!({ "site": site, "id": id }));
            sessions.push((site.to_owned(), id));
        }
    }

    // Start 1: the job runs until some tasks are done and others are still at the sites.
    let first = world.serve().await;
    let id = first.create(&http, targets.clone()).await;
    let before_kill = first
        .wait_until(&http, &id, Duration::from_secs(60), |j| {
            j["progress"]["succeeded"].as_u64().unwrap_or(0) >= 20
                && j["progress"]["running"].as_u64().unwrap_or(0) > 0
        })
        .await;
    first.process.kill_9();
    let done_before_kill: HashSet<i64> = tasks(&before_kill)
        .iter()
        .filter(|t| t["state"] == "succeeded")
        .filter_map(|t| t["id"].as_i64())
        .collect();
    let token_before_kill = first.token.clone();

    // Start 2 on the same store file: the dead adapter's leases lapse and its tasks resume.
    let mut second = world.serve().await;
    // A token from before the crash still works: consoles need not log in again.
    second.token = token_before_kill;
    let job = second.wait_ended(&http, &id).await;
    assert_eq!(
        job["state"], "succeeded",
        "{} {}",
        job["progress"], job["error"]
    );

    // Exactly one logoff per session, and none of anything else.
    let calls = world.all_calls().await;
    for (site, session) in &sessions {
        let count = calls[site]
            .get("logoff")
            .and_then(|t| t.get(session))
            .copied();
        assert_eq!(count, Some(1), "{site} session {session}: logoffs");
    }
    let logoffs: u64 = calls
        .values()
        .filter_map(|c| c.get("logoff"))
        .flat_map(|t| t.values())
        .sum();
    assert_eq!(logoffs, sessions.len() as u64, "no other logoff: {calls:?}");

    // The tasks that were at the sites when the adapter died show it: an attempt closed as
    // interrupted, then the resumed attempts, the last of which succeeded. None of them had
    // finished before the kill.
    let resumed: Vec<Value> = tasks(&job)
        .into_iter()
        .filter(|t| {
            t["attempts"]
                .as_array()
                .is_some_and(|a| a.iter().any(is_interrupted))
        })
        .collect();
    assert!(
        !resumed.is_empty(),
        "no interrupted attempt: {}",
        job["progress"]
    );
    for task in &resumed {
        let attempts = task["attempts"].as_array().cloned().unwrap_or_default();
        let killed = attempts.iter().position(is_interrupted).unwrap_or_default();
        assert!(
            killed + 1 < attempts.len(),
            "resumed after the kill: {task}"
        );
        assert_eq!(
            attempts[attempts.len() - 1]["outcome"],
            "succeeded",
            "{task}"
        );
        let task_id = task["id"].as_i64().unwrap_or_default();
        assert!(
            !done_before_kill.contains(&task_id),
            "done before the kill: {task}"
        );
    }

    // The audit log kept the job's creation from before the kill.
    let audit = second
        .get(&http, "/api/v1/audit?action=job.create&limit=1000")
        .await;
    let entries = audit["items"].as_array().cloned().unwrap_or_default();
    assert!(
        entries.iter().any(|e| {
            e["outcome"] == "succeeded"
                && e["actor_name"] == "helpdesk"
                && e["message"].as_str().is_some_and(|m| m.contains(&id))
        }),
        "job {id} created in the audit log: {audit}"
    );

    // Start 3, after a clean stop, with nothing left to do: it does nothing. A new job of one
    // session per site shows that its workers ran; it is the only thing they did.
    second.process.terminate();
    let calls_before = world.all_calls().await;
    let third = world.serve().await;
    let mut fresh = Vec::new();
    for site in ["London", "Cloud"] {
        let already: HashSet<&str> = sessions
            .iter()
            .filter(|(s, _)| s == site)
            .map(|(_, id)| id.as_str())
            .collect();
        let session = world
            .sessions(site, usize::MAX)
            .await
            .into_iter()
            .find(|id| !already.contains(id.as_str()))
            .expect("a session not in the first job");
        fresh.push((site.to_owned(), session));
    }
    let probe = third
        .create(
            &http,
            fresh
                .iter()
                .map(|(site, id)| json!({ "site": site, "id": id }))
                .collect(),
        )
        .await;
    let probe = third.wait_ended(&http, &probe).await;
    assert_eq!(probe["state"], "succeeded", "{probe}");
    let mut expected = calls_before;
    for (site, id) in &fresh {
        *expected
            .entry(site.clone())
            .or_default()
            .entry("logoff".to_owned())
            .or_default()
            .entry(id.clone())
            .or_default() += 1;
    }
    assert_eq!(
        world.all_calls().await,
        expected,
        "only the new job's calls"
    );
    let again = third.get(&http, &format!("/api/v1/jobs/{id}")).await;
    assert_eq!(again["state"], "succeeded");
    assert_eq!(
        tasks(&again),
        tasks(&job),
        "the finished job is left as it was"
    );
    third.process.terminate();
    drop(world);
    let _ = std::fs::remove_dir_all(&dir);
}
