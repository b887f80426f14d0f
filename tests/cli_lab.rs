//! `deskbridge lab` as a user runs it: the real binary, its one JSON line, its servers, its exit.

use deskbridge::lab::LabInfo;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_deskbridge");

/// Reads one line from the child's stdout on a thread, so a hung child fails the test instead
/// of hanging it.
fn first_line(stdout: ChildStdout, within: Duration) -> (String, BufReader<ChildStdout>) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line);
        let _ = tx.send((read.map(|_| line), reader));
    });
    let (line, reader) = rx
        .recv_timeout(within)
        .expect("the lab printed its JSON line in time");
    (line.expect("stdout is readable"), reader)
}

/// Starts `deskbridge lab --json ARGS…` and returns the child, its description and the rest of
/// its stdout.
fn start_lab(args: &[&str]) -> (Child, LabInfo, BufReader<ChildStdout>) {
    let mut child = Command::new(BIN)
        .args(["lab", "--json"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (line, rest) = first_line(stdout, Duration::from_secs(60));
    let info: LabInfo =
        serde_json::from_str(&line).expect("the line is the lab's JSON description");
    (child, info, rest)
}

/// The readable summary a child prints, up to and including its `Control API` line.
fn summary(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
            if line.starts_with("Control API") {
                break;
            }
        }
        let _ = tx.send(text);
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the summary is printed within 60 s")
}

#[tokio::test(flavor = "multi_thread")]
async fn lab_json_prints_one_line_serves_it_and_stops_on_sigterm() {
    let (mut child, info, mut rest) = start_lab(&["--seed", "42"]);

    assert!(
        !info.servicenow.is_empty(),
        "at least one ServiceNow instance"
    );
    assert!(
        info.sites
            .iter()
            .any(|s| s.kind == deskbridge::model::SiteKind::Onprem)
    );
    assert!(
        info.sites
            .iter()
            .any(|s| s.kind == deskbridge::model::SiteKind::Cloud)
    );
    for site in &info.sites {
        assert!(
            site.zones.iter().all(|z| z.endpoints.len() == 2),
            "two connectors per zone"
        );
    }

    // Everything it printed is already serving.
    let http = reqwest::Client::new();
    let clock = http
        .get(format!("{}/clock", info.control))
        .send()
        .await
        .expect("control API answers");
    assert!(clock.status().is_success());
    for site in &info.sites {
        for endpoint in &site.endpoints {
            // Unauthenticated calls are refused, which proves the server is up and checking.
            let status = http
                .get(format!("{endpoint}/cvad/manage/Sites"))
                .send()
                .await
                .expect("every connector endpoint answers")
                .status();
            assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED, "{endpoint}");
        }
    }
    let sn = &info.servicenow[0];
    let status = http
        .get(format!("{}/api/now/table/incident?sysparm_limit=1", sn.url))
        .basic_auth(&sn.username, Some(&sn.password))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("ServiceNow answers")
        .status();
    assert_eq!(status, reqwest::StatusCode::OK);

    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the lab stops within 20 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "SIGTERM is a clean stop: {status}");
    let mut more = String::new();
    rest.read_to_string(&mut more).expect("stdout drains");
    assert!(
        more.is_empty(),
        "exactly one line on stdout, got more: {more:?}"
    );
}

#[test]
fn bad_flags_get_a_clear_error_and_start_nothing() {
    let output = Command::new(BIN)
        .args(["lab", "--json", "--error-rate", "2"])
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    assert!(
        output.stdout.is_empty(),
        "no JSON line for a lab that did not start"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--error-rate must be between 0 and 1"),
        "{stderr}"
    );
}

#[test]
fn readable_mode_names_every_service() {
    let mut child = Command::new(BIN)
        .args(["lab", "--seed", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let text = summary(&mut child);
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("ServiceNow instances"), "{text}");
    assert!(text.contains("London"), "{text}");
    assert!(text.contains("/_lab"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn start_flags_take_a_connector_and_servicenow_down() {
    let (mut child, info, _rest) =
        start_lab(&["--stop-connector", "London/0", "--servicenow-outage"]);
    let london = info.site("London").expect("London site");
    let http = reqwest::Client::new();
    let down = http
        .get(format!("{}/cvad/manage/Sites", london.endpoints[0]))
        .send()
        .await;
    assert!(down.is_err(), "the stopped connector refuses connections");
    let up = http
        .get(format!("{}/cvad/manage/Sites", london.endpoints[1]))
        .send()
        .await
        .expect("the other connector of the zone still answers");
    assert_eq!(up.status(), reqwest::StatusCode::UNAUTHORIZED);
    let sn = &info.servicenow[0];
    let status = http
        .get(format!("{}/api/now/table/incident?sysparm_limit=1", sn.url))
        .basic_auth(&sn.username, Some(&sn.password))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("ServiceNow's port answers")
        .status();
    assert_eq!(status, reqwest::StatusCode::SERVICE_UNAVAILABLE);
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn an_unknown_connector_is_a_clear_error() {
    for (spec, expected) in [
        ("Atlantis/0", "--stop-connector Atlantis/0"),
        ("London/9", "--stop-connector London/9"),
        ("London", "takes SITE/INDEX"),
        ("London/x", "is not a connector index"),
    ] {
        let output = Command::new(BIN)
            .args(["lab", "--json", "--stop-connector", spec])
            .stdin(Stdio::null())
            .output()
            .expect("the binary runs");
        assert!(!output.status.success(), "{spec} is refused");
        assert!(
            output.stdout.is_empty(),
            "{spec}: no JSON line for a lab that did not start"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{spec}: {stderr}");
    }
}

#[test]
fn no_arguments_without_a_terminal_says_what_to_run_instead() {
    // `deskbridge` opens the console (tests/console_tmux.rs drives it in a terminal). Without
    // one, as under CI or a pipe, it must say so and point to the adapter alone, not garble
    // the output or hang.
    let output = Command::new(BIN)
        .stdin(Stdio::null())
        .output()
        .expect("the binary starts");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("needs a terminal"), "{stderr}");
    assert!(stderr.contains("deskbridge serve --lab"), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "nothing on stdout: {:?}",
        output.stdout
    );
}
