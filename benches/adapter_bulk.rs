//! Adapter benchmarks that are one long run each, not criterion samples (a bulk job of 10,000
//! sessions takes seconds and changes the lab, so repeating it 10+ times would measure a lab
//! with ever fewer sessions): a bench command printing a table.
//!
//! - `bulk`: a `session.logoff` job of 10,000 sessions over 4 lab sites (two large labs), 20 ms
//!   latency on every CVAD call, per-site concurrency 32, timed from its creation until it has
//!   ended and compared with the floor `targets ÷ (sites × concurrency) × latency` (target ≤
//!   1.25× the floor). Twice, on different sessions: created in the store and the engine woken
//!   as the API does (the engine alone), then through `POST /api/v1/jobs` (the whole path; the
//!   job's end is watched while the request is still being answered, and the answer's own
//!   time is reported beside it). Then a reference row: the same number of logoff calls from
//!   bare CVAD clients with the same per-site limit, nothing stored and the site jobs not
//!   followed ([`bare`]), i.e. what this machine and these labs allow any client.
//! - `rss`: the resident memory of `deskbridge serve --lab --scale large` once its inventory
//!   holds the lab's 100,000 sessions (adapter and lab in one process), and of
//!   `deskbridge serve --config` alone against a `deskbridge lab --scale large` process.
//!
//! The bulk runs' two large labs are `deskbridge lab --json` processes of their own (the sites
//! are remote in production; the floor is about the adapter), started with the same scale,
//! seeds and clock speed as before and killed when the bench ends. They replaced labs started
//! inside this process: keeping both would have doubled the setup code for no reading anyone
//! needs, and a lab sharing the adapter's process and runtime skews its CPU and latency.
//! Each bulk row gives the CPU time of this process (the adapter, the API and the bench's
//! polling) and of the lab processes during the run; stderr gets the run's uptime window for
//! cutting a `perf record` to it.
//!
//! `cargo bench --bench adapter_bulk` runs both; `-- bulk` or `-- rss` one of them.
//! `BULK_CLOCK_SPEED` (default 20, as the job tests use) sets how fast the labs' simulated
//! clock runs: a site's logoff job takes 3 simulated seconds to finish. `BULK_LATENCY_MS`
//! (default 20) sets the latency per call; `BULK_POLL_MS` the engine's poll interval (default:
//! the engine's, 500 ms).
//!
//! Replicas on PostgreSQL (issue 7): `BULK_DATABASE_URL=postgres://…` (a server where the
//! user may create databases; the bench makes a fresh one and drops it) runs the bulk bench on
//! PostgreSQL, and `BULK_REPLICAS=3` with three replicas there, each with its own pool and
//! engine (the site limits divided among them, as `serve` does), the API on the first. The
//! floor stays the same: the group's limit is the config's, not three times it.

#[path = "adapter_bulk/bare.rs"]
mod bare;
#[path = "adapter_bulk/group.rs"]
mod group;
#[path = "adapter_bulk/rss.rs"]
mod rss;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge::adapter::api::bootstrap::sync_clients;
use deskbridge::adapter::api::{ApiOptions, ApiServer, AppState};
use deskbridge::adapter::engine::EngineOptions;
use deskbridge::adapter::store::{NewJob, NewTask};
use deskbridge::config::{AdapterConfig, ApiClientConfig, Role, SiteConfig, StoreConfig};
use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::lab::LabInfo;
use deskbridge::lab::cvad::LOGOFF_JOB_SECS;
use deskbridge::secret::Secret;
use serde_json::{Value, json};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_deskbridge");
const TARGETS: usize = 10_000;
const SITES: usize = 4;
const CONCURRENCY: u32 = 32;
const CLIENT: (&str, &str) = (
    "44444444-4444-4444-8444-444444444444",
    "bench-secret-0123456789abcdef",
);

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!("| benchmark | target | result |");
    println!("|---|---|---|");
    if wants("bulk") {
        runtime.block_on(bulk());
    }
    if wants("rss") {
        runtime.block_on(rss::run());
    }
}

/// `BULK_LATENCY_MS` (default 20): latency added to every CVAD call (0 shows the engine's own
/// overhead).
fn latency_ms() -> u64 {
    std::env::var("BULK_LATENCY_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

fn clock_speed() -> f64 {
    std::env::var("BULK_CLOCK_SPEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20.0)
}

/// One `deskbridge lab --json` process, killed on every way out so a failed assertion leaves
/// no process behind.
struct LabProcess {
    child: Child,
    info: LabInfo,
}

impl LabProcess {
    fn info(&self) -> &LabInfo {
        &self.info
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for LabProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two large labs give four sites; the second lab's sites get a suffix so names stay unique.
/// Each lab is its own `deskbridge lab` process, as the sites are remote in production: the
/// labs' CPU is not the adapter's.
fn labs() -> Vec<LabProcess> {
    let mut labs = Vec::new();
    for seed in ["1", "2"] {
        let speed = clock_speed().to_string();
        let mut child = Command::new(BIN)
            .args(["lab", "--json", "--scale", "large", "--seed", seed])
            .args(["--clock-speed", &speed])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start deskbridge lab");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("the lab's ready line");
        // Keep reading so the lab never meets a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let info = serde_json::from_str(&line).expect("the lab's JSON description");
        labs.push(LabProcess { child, info });
    }
    labs
}

/// Three sets of `per_site` sessions of each site that are not already logging off, as job
/// targets (one set per run), and the adapter's site configs (renamed `…-2` for the second lab).
async fn targets(labs: &[LabProcess], per_site: usize) -> ([Vec<NewTask>; 3], Vec<SiteConfig>) {
    let mut targets = [Vec::new(), Vec::new(), Vec::new()];
    let mut sites = Vec::new();
    for (n, lab) in labs.iter().enumerate() {
        for site in &lab.info().sites {
            let name = if n == 0 {
                site.name.clone()
            } else {
                format!("{}-{}", site.name, n + 1)
            };
            let client = CvadClient::new(CvadConfig::from_lab(site)).expect("client");
            let mut sessions = client.sessions().await.expect("sessions");
            sessions.retain(|s| !s.logoff_in_progress);
            assert!(
                sessions.len() >= 3 * per_site,
                "{name}: {} sessions",
                sessions.len()
            );
            for (run, chunk) in sessions.chunks(per_site).take(3).enumerate() {
                targets[run].extend(chunk.iter().map(|s| NewTask {
                    site: name.clone(),
                    target_id: s.id.clone(),
                    display_name: s.user_name.clone(),
                }));
            }
            sites.push(SiteConfig {
                name,
                concurrency: CONCURRENCY,
                ..SiteConfig::from_lab(site)
            });
        }
    }
    (targets, sites)
}

async fn set_latency(http: &reqwest::Client, labs: &[LabProcess], ms: u64) {
    for lab in labs {
        for site in &lab.info().sites {
            let response = http
                .post(format!("{}/sites/{}/faults", lab.info().control, site.name))
                .json(&json!({ "latency_ms": ms }))
                .send()
                .await
                .expect("faults");
            assert!(response.status().is_success(), "latency for {}", site.name);
        }
    }
}

async fn bulk() {
    let labs = labs();
    let http = reqwest::Client::new();
    let (targets, sites) = targets(&labs, TARGETS / SITES).await;
    assert_eq!(sites.len(), SITES);
    let dir = std::env::temp_dir().join(format!("deskbridge-bench-bulk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let config = AdapterConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: dir.clone(),
        store: StoreConfig::Sqlite {
            path: dir.join("deskbridge.db"),
        },
        token_ttl: Duration::from_secs(3600),
        sites,
        servicenow: Vec::new(),
        clients: vec![ApiClientConfig {
            id: Uuid::parse_str(CLIENT.0).expect("uuid"),
            name: "bench".to_owned(),
            role: Role::Helpdesk,
            secret: Secret::new(CLIENT.1),
            enabled: true,
        }],
        directories: Vec::new(),
        accounts: Default::default(),
        routing: Default::default(),
        idle_power_off: Vec::new(),
        runbooks_dir: None,
        offboarding: Default::default(),
    };
    // The engine as `serve` runs it: production defaults.
    let mut options = EngineOptions::default();
    if let Some(ms) = std::env::var("BULK_POLL_MS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        options.poll_interval = Duration::from_millis(ms);
    }
    let group = group::Group::start(&config.store.url(), &config.sites, options).await;
    let store = Arc::clone(&group.store);
    sync_clients(store.as_ref(), &config.clients)
        .await
        .expect("clients");
    let mut state = AppState::new(Arc::clone(&store), config.clone(), ApiOptions::default())
        .await
        .expect("state");
    state.jobs = Some(group.engines[0].handle());
    let server = ApiServer::start(config.listen, state)
        .await
        .expect("listen");
    let url = server.url();
    let token = token(&http, &url).await;
    set_latency(&http, &labs, latency_ms()).await;

    let [direct, posted, bare] = targets;
    let floor = Duration::from_secs_f64(
        TARGETS as f64 / (SITES as f64 * f64::from(CONCURRENCY)) * latency_ms() as f64 / 1000.0,
    );

    // The engine alone: the job stored and the workers woken, as the API does.
    let cpu = Cpu::now(&labs);
    let started = Instant::now();
    let created = store
        .create_job(NewJob {
            action: "session.logoff".to_owned(),
            requested_by: "bench".to_owned(),
            ticket: None,
            params: json!({}),
            idempotency_key: None,
            tasks: direct,
        })
        .await
        .expect("create job");
    group.wake();
    let stored_in = started.elapsed();
    let job = finished(&http, &url, &token, Some(created.detail.job.id.to_string())).await;
    let cpu = cpu.since(&labs);
    report(
        &labs,
        &http,
        &format!("{}: job stored + engines woken", group.label),
        started.elapsed(),
        floor,
        &job,
        format!(
            "stored in {:.0} ms; {cpu}",
            stored_in.as_secs_f64() * 1000.0
        ),
    )
    .await;

    // The whole path: POST /api/v1/jobs, the job's end watched while the answer is built.
    let targets: Vec<Value> = posted
        .iter()
        .map(|t| json!({ "site": t.site, "id": t.target_id }))
        .collect();
    let cpu = Cpu::now(&labs);
    let started = Instant::now();
    let post = tokio::spawn({
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let response = http
                .post(format!("{url}/api/v1/jobs"))
                .bearer_auth(&token)
                .json(&json!({ "action": "session.logoff", "targets": targets }))
                .send()
                .await
                .expect("create job");
            assert_eq!(response.status().as_u16(), 202);
            let _ = response.bytes().await;
            started.elapsed()
        }
    });
    let job = finished(&http, &url, &token, None).await;
    let wall = started.elapsed();
    let answered = post.await.expect("POST task");
    let cpu = cpu.since(&labs);
    report(
        &labs,
        &http,
        &format!("{}: POST /api/v1/jobs", group.label),
        wall,
        floor,
        &job,
        format!("the 202 answer took {:.1} s; {cpu}", answered.as_secs_f64()),
    )
    .await;
    // The reference: the same calls from bare clients, the adapter idle.
    let cpu = Cpu::now(&labs);
    let calls = bare::logoff_all(&config.sites, bare).await;
    let cpu = cpu.since(&labs);
    let site_job = Duration::from_secs_f64(LOGOFF_JOB_SECS as f64 / clock_speed());
    println!(
        "| bulk logoff calls alone (bare CVAD clients: nothing stored, the site jobs not \
         followed), {TARGETS} sessions, {SITES} sites × {CONCURRENCY}, {} ms/call, lab clock \
         ×{} | reference | {:.3} s = {:.2}× floor; with a site job's own {:.2} s after the last \
         call {:.3} s = {:.2}× floor ({cpu}) |",
        latency_ms(),
        clock_speed(),
        calls.as_secs_f64(),
        calls.as_secs_f64() / floor.as_secs_f64(),
        site_job.as_secs_f64(),
        (calls + site_job).as_secs_f64(),
        (calls + site_job).as_secs_f64() / floor.as_secs_f64(),
    );
    set_latency(&http, &labs, 0).await;
    let _ = server.shutdown().await;
    group.stop().await;
    drop(labs);
    let _ = std::fs::remove_dir_all(&dir);
}

/// CPU time (user + system) of this process (the adapter) and of the lab processes, and the
/// system's uptime, read from `/proc`: the CPU a run used and, on stderr, when it ran (uptime
/// seconds, to pick the run out of a `perf record` of the whole bench).
struct Cpu {
    adapter: u64,
    labs: u64,
    uptime: f64,
}

/// utime + stime of a process, in clock ticks (100 a second on Linux).
fn ticks(stat: &str) -> u64 {
    let stat = std::fs::read_to_string(stat).unwrap_or_default();
    // Fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    tick(11) + tick(12)
}

impl Cpu {
    fn now(labs: &[LabProcess]) -> Cpu {
        let uptime = std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|u| u.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        Cpu {
            adapter: ticks("/proc/self/stat"),
            labs: labs
                .iter()
                .map(|lab| ticks(&format!("/proc/{}/stat", lab.pid())))
                .sum(),
            uptime,
        }
    }

    /// The CPU used since `self`, as text for the table.
    fn since(&self, labs: &[LabProcess]) -> String {
        let now = Cpu::now(labs);
        eprintln!("run: uptime {:.2} to {:.2}", self.uptime, now.uptime);
        format!(
            "CPU {:.2} s in the adapter's process, {:.2} s in the labs'",
            now.adapter.saturating_sub(self.adapter) as f64 / 100.0,
            now.labs.saturating_sub(self.labs) as f64 / 100.0
        )
    }
}

/// Polls the job list until the job (or, without an id, the newest job other than the first
/// run's) has ended.
async fn finished(http: &reqwest::Client, url: &str, token: &str, id: Option<String>) -> Value {
    static FIRST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    loop {
        let page: Value = http
            .get(format!("{url}/api/v1/jobs?limit=5"))
            .bearer_auth(token)
            .send()
            .await
            .expect("list jobs")
            .json()
            .await
            .expect("page JSON");
        let job = page["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|j| match &id {
                    Some(id) => j["id"] == id.as_str(),
                    None => FIRST.get().is_some_and(|first| j["id"] != first.as_str()),
                })
                .cloned()
        });
        if let Some(job) = job
            && !matches!(job["state"].as_str(), Some("queued" | "running"))
        {
            if let Some(id) = &id {
                let _ = FIRST.set(id.clone());
            }
            return job;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// One table row, with the lab's action counts (which grow across runs).
async fn report(
    labs: &[LabProcess],
    http: &reqwest::Client,
    how: &str,
    wall: Duration,
    floor: Duration,
    job: &Value,
    note: String,
) {
    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    for lab in labs {
        for site in &lab.info().sites {
            let body: Value = http
                .get(format!("{}/sites/{}/calls", lab.info().control, site.name))
                .send()
                .await
                .expect("calls")
                .json()
                .await
                .expect("calls JSON");
            if let Some(actions) = body["calls"].as_object() {
                for (action, per_target) in actions {
                    let n: u64 = per_target
                        .as_object()
                        .map_or(0, |t| t.values().filter_map(Value::as_u64).sum());
                    *calls.entry(action.clone()).or_default() += n;
                }
            }
        }
    }
    println!(
        "| bulk logoff ({how}), {TARGETS} sessions, {SITES} sites × {CONCURRENCY}, {} \
         ms/call, lab clock ×{} | ≤ 1.25× floor = {:.3} s | {:.3} s = {:.2}× floor (job {}, {} \
         succeeded, {} failed; {note}; lab actions so far {calls:?}) |",
        latency_ms(),
        clock_speed(),
        floor.as_secs_f64() * 1.25,
        wall.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64(),
        job["state"].as_str().unwrap_or("?"),
        job["progress"]["succeeded"],
        job["progress"]["failed"],
    );
}

async fn token(http: &reqwest::Client, url: &str) -> String {
    let response = http
        .post(format!("{url}/api/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT.0),
            ("client_secret", CLIENT.1),
        ])
        .send()
        .await
        .expect("token request");
    let body: Value = response.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}
