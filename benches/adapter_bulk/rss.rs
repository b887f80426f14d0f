//! The adapter's resident memory with the large lab (100,000 sessions) once its inventory has
//! loaded: `serve --lab` (adapter and lab in one process), then the adapter alone
//! (`serve --config` against a separate `deskbridge lab` process).

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_deskbridge");
/// The large lab's sessions, less what the first refresh may miss while the lab settles.
const LOADED: u64 = 99_000;

/// Kills the child on every way out, so a failed assertion leaves no process behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn first_line(stdout: ChildStdout) -> Value {
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    serde_json::from_str(&line).expect("ready line is JSON")
}

/// (VmRSS, VmHWM) in MiB.
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Sums every `sessions` count in the sites listing.
fn sessions(value: &Value) -> u64 {
    match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::Number(n) if k == "sessions" => n.as_u64().unwrap_or(0),
                other => sessions(other),
            })
            .sum(),
        Value::Array(items) => items.iter().map(sessions).sum(),
        _ => 0,
    }
}

async fn token(http: &reqwest::Client, url: &str, id: &str, secret: &str) -> String {
    let body: Value = http
        .post(format!("{url}/api/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    body["access_token"].as_str().expect("token").to_owned()
}

/// Waits until the inventory holds the large lab's sessions; returns how long that took.
async fn loaded(url: &str, token: &str) -> Duration {
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let listing: Value = match http
            .get(format!("{url}/api/v1/sites"))
            .bearer_auth(token)
            .send()
            .await
        {
            Ok(response) => response.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        if sessions(&listing) >= LOADED {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "inventory never loaded: {listing}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn run() {
    let http = reqwest::Client::new();

    // Adapter and lab in one process.
    let mut child = Command::new(BIN)
        .args(["serve", "--lab", "--scale", "large", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve --lab");
    let ready = first_line(child.stdout.take().expect("stdout"));
    let child = Running(child);
    let url = ready["url"].as_str().expect("url").to_owned();
    let id = ready["client_id"].as_str().expect("client_id").to_owned();
    let secret = ready["client_secret"].as_str().expect("secret").to_owned();
    let bearer = token(&http, &url, &id, &secret).await;
    let took = loaded(&url, &bearer).await;
    // Let the allocator settle after the first refresh's temporary buffers.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss, hwm) = memory(child.0.id());
    println!(
        "| RSS of `serve --lab --scale large` (adapter + lab, one process), inventory loaded \
         ({:.1} s after ready) | < 300 MB (adapter) | {rss:.0} MiB resident, {hwm:.0} MiB peak |",
        took.as_secs_f64()
    );
    drop(child);

    // The lab alone, then the adapter alone against it.
    let mut lab = Command::new(BIN)
        .args(["lab", "--scale", "large", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start lab");
    let info = first_line(lab.stdout.take().expect("stdout"));
    let lab = Running(lab);
    let dir = std::env::temp_dir().join(format!("deskbridge-bench-rss-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let (toml, env) = adapter_toml(&info, &dir);
    let path = dir.join("adapter.toml");
    std::fs::write(&path, toml).expect("write adapter.toml");
    let mut adapter = Command::new(BIN)
        .args(["serve", "--json", "--config"])
        .arg(&path)
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve --config");
    let ready = first_line(adapter.stdout.take().expect("stdout"));
    let adapter = Running(adapter);
    let url = ready["url"].as_str().expect("url").to_owned();
    let bearer = token(&http, &url, CLIENT_ID, CLIENT_SECRET).await;
    let took = loaded(&url, &bearer).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss, hwm) = memory(adapter.0.id());
    let (lab_rss, _) = memory(lab.0.id());
    println!(
        "| RSS of `serve --config` alone (CVAD sites only, no ServiceNow) against a separate \
         `lab --scale large` ({lab_rss:.0} MiB), inventory loaded ({:.1} s after ready) | \
         < 300 MB | {rss:.0} MiB resident, {hwm:.0} MiB peak |",
        took.as_secs_f64()
    );
    drop(adapter);
    drop(lab);
    let _ = std::fs::remove_dir_all(&dir);
}

const CLIENT_ID: &str = "55555555-5555-4555-8555-555555555555";
const CLIENT_SECRET: &str = "rss-bench-secret-0123456789abcdef";

/// An adapter.toml for the lab's CVAD sites, with every secret in an environment variable.
fn adapter_toml(info: &Value, dir: &std::path::Path) -> (String, Vec<(String, String)>) {
    let quote = |s: &str| serde_json::to_string(s).expect("string");
    let mut env = vec![("BENCH_CLIENT_SECRET".to_owned(), CLIENT_SECRET.to_owned())];
    let mut toml = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = {}\nstore = \"sqlite://deskbridge.db\"\n\n",
        quote(&dir.display().to_string())
    );
    for (n, site) in info["sites"].as_array().into_iter().flatten().enumerate() {
        let text = |k: &str| quote(site[k].as_str().unwrap_or_default());
        let endpoints: Vec<String> = site["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(&quote)
            .collect();
        toml += &format!(
            "[[sites]]\nname = {}\nkind = {}\nendpoints = [{}]\ncustomer_id = {}\nsite_id = {}\n",
            text("name"),
            text("kind"),
            endpoints.join(", "),
            text("customer_id"),
            text("site_id"),
        );
        let var = format!("BENCH_SITE{n}_SECRET");
        if let Some(user) = site["username"].as_str() {
            env.push((
                var.clone(),
                site["password"].as_str().unwrap_or_default().to_owned(),
            ));
            toml += &format!(
                "[sites.credentials]\nusername = {}\npassword = {{ env = \"{var}\" }}\n\n",
                quote(user)
            );
        } else {
            env.push((
                var.clone(),
                site["client_secret"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ));
            toml += &format!(
                "token_url = {}\n[sites.credentials]\nclient_id = {}\nclient_secret = {{ env = \"{var}\" }}\n\n",
                text("token_url"),
                text("client_id"),
            );
        }
    }
    toml += &format!(
        "[[clients]]\nname = \"bench\"\nid = \"{CLIENT_ID}\"\nrole = \"viewer\"\n\
         secret = {{ env = \"BENCH_CLIENT_SECRET\" }}\n"
    );
    (toml, env)
}
