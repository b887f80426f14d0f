//! The console as a process, measured from outside through tmux (a bench command, not
//! criterion: each sample starts a lab):
//!
//! - launch to first frame: `deskbridge` with no arguments (lab + adapter + console) from
//!   spawn until the header is on screen (target < 500 ms), and until the tickets are shown;
//! - memory: `deskbridge console --adapter` against `deskbridge serve --lab --scale large`,
//!   RSS once the sessions view holds the large lab's 100,000 sessions (target < 150 MB).
//!
//! tmux is polled every 2 ms, so a time is at most that late. `LAUNCH_RUNS` sets the samples.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_deskbridge");

struct Tmux {
    socket: String,
    home: PathBuf,
}

impl Tmux {
    fn start(shell: &str, home: PathBuf) -> Tmux {
        // A socket per pane: a server still shutting down from the last sample cannot take
        // the next one with it.
        let socket = format!(
            "deskbridge-bench-{}-{}",
            std::process::id(),
            home.file_name().and_then(|n| n.to_str()).unwrap_or("pane")
        );
        let t = Tmux { socket, home };
        t.run(&[
            "new-session",
            "-d",
            "-s",
            "b",
            "-x",
            "200",
            "-y",
            "50",
            shell,
        ]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "b"])
    }

    fn wait(&self, deadline: Duration, ok: impl Fn(&str) -> bool) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < deadline {
            if ok(&self.screen()) {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        None
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deskbridge-bench-{name}-{}", std::process::id()));
    for sub in ["config", "data", "state"] {
        std::fs::create_dir_all(dir.join(sub)).expect("scratch dir");
    }
    dir
}

fn xdg(home: &std::path::Path) -> String {
    format!(
        "XDG_CONFIG_HOME={0}/config XDG_DATA_HOME={0}/data XDG_STATE_HOME={0}/state TERM=xterm-256color",
        home.display()
    )
}

fn count_in_title(screen: &str, view: &str) -> Option<usize> {
    let start = screen.find(&format!("{view}["))? + view.len() + 1;
    let end = screen[start..].find(']')? + start;
    screen[start..end].replace(',', "").parse().ok()
}

fn launch() {
    let runs: usize = std::env::var("LAUNCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut first = Vec::new();
    let mut data = Vec::new();
    for run in 0..runs {
        let home = scratch(&format!("launch{run}"));
        // The shell notes the time just before it runs the binary; the sample runs from
        // there to the first capture showing the header.
        let stamp = home.join("start.ns");
        let shell = format!(
            "date +%s%N > {}; exec env {} {BIN}",
            stamp.display(),
            xdg(&home)
        );
        let tmux = Tmux::start(&shell, home.clone());
        if tmux
            .wait(Duration::from_secs(30), |s| {
                s.contains("deskbridge") && s.contains("LAB")
            })
            .is_none()
        {
            eprintln!("run {run}: no first frame; screen:\n{}", tmux.screen());
            continue;
        }
        let Some(header) = since(&stamp) else {
            continue;
        };
        let shown = tmux.wait(Duration::from_secs(30), |s| {
            count_in_title(s, "tickets").is_some_and(|n| n > 0)
        });
        first.push(header);
        data.extend(shown.and_then(|_| since(&stamp)));
    }
    report("launch to first frame (embedded lab)", &first);
    report("launch to tickets shown", &data);
}

/// Time since the nanosecond timestamp in `file`.
fn since(file: &std::path::Path) -> Option<Duration> {
    let ns: u128 = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(Duration::from_nanos(
        u64::try_from(now.checked_sub(ns)?).ok()?,
    ))
}

fn report(what: &str, samples: &[Duration]) {
    if samples.is_empty() {
        println!("{what}: no samples");
        return;
    }
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    println!(
        "{what}: mean {mean:.0} ms, min {:.0} ms, max {:.0} ms ({} runs)",
        ms[0],
        ms[ms.len() - 1],
        ms.len()
    );
}

fn memory() {
    let home = scratch("rss");
    let mut adapter = Command::new(BIN)
        .args(["serve", "--lab", "--scale", "large", "--json"])
        .env("DESKBRIDGE_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("deskbridge serve starts");
    let mut line = String::new();
    if let Some(out) = adapter.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
    let (Some(url), Some(id), Some(secret)) = (
        ready["url"].as_str(),
        ready["client_id"].as_str(),
        ready["client_secret"].as_str(),
    ) else {
        eprintln!("the adapter did not say it was ready: {line:?}");
        let _ = adapter.kill();
        let _ = adapter.wait();
        return;
    };
    let pid_file = home.join("console.pid");
    let shell = format!(
        "echo $$ > {}; exec env {} DESKBRIDGE_CLIENT_ID={id} DESKBRIDGE_CLIENT_SECRET={secret} {BIN} console --adapter {url}",
        pid_file.display(),
        xdg(&home)
    );
    let tmux = Tmux::start(&shell, home.clone());
    tmux.wait(Duration::from_secs(30), |s| s.contains("tickets["));
    let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
    let rss = || {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .map(|l| l.to_owned())
                .unwrap_or_default()
        };
        format!("{} / {}", field("VmRSS"), field("VmHWM"))
    };
    println!(
        "console on the tickets view, before the sessions load: {}",
        rss()
    );
    tmux.run(&["send-keys", "-t", "b", "2"]);
    let loaded = tmux.wait(Duration::from_secs(180), |s| {
        count_in_title(s, "sessions").is_some_and(|n| n >= 100_000)
    });
    let pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.to_owned())
            .unwrap_or_default()
    };
    match loaded {
        Some(took) => println!(
            "console with {} sessions loaded ({:.1} s after pressing 2): {} / {}",
            count_in_title(&tmux.screen(), "sessions").unwrap_or(0),
            took.as_secs_f64(),
            field("VmRSS"),
            field("VmHWM")
        ),
        None => println!("the sessions did not load; screen:\n{}", tmux.screen()),
    }
    drop(tmux);
    let _ = adapter.kill();
    let _ = adapter.wait();
}

fn main() {
    // `cargo bench` passes `--bench`; a filter word picks one measurement.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| name.contains(a.as_str()));
    if want("launch") {
        launch();
    }
    if want("rss") {
        memory();
    }
}
