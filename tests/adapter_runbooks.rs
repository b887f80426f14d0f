//! Runbooks as users meet them: `GET /api/v1/runbooks` over real HTTP from an adapter started
//! the way `deskbridge serve` starts one, `deskbridge serve` refusing a bad runbooks folder,
//! and `deskbridge runbook check` on good and bad folders (the built binary).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use deskbridge::lab::Scale;
use reqwest::StatusCode;
use serde_json::Value;
use support::{LabAdapter, Scratch, token};

const BIN: &str = env!("CARGO_BIN_EXE_deskbridge");

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks")
}

#[tokio::test(flavor = "multi_thread")]
async fn get_runbooks_describes_the_loaded_runbooks() {
    let adapter = LabAdapter::start(Scale::Small, &|config| {
        config.runbooks_dir = Some(shipped());
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/runbooks", adapter.url);

    let anonymous = http.get(&url).send().await.expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let viewer = token(&http, &adapter.url, adapter.id("viewer")).await;
    let response = http
        .get(&url)
        .bearer_auth(&viewer)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    let items = body["items"].as_array().expect("items");
    let names: Vec<&str> = items.iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(
        names,
        ["drain-and-reboot", "move-desktop", "reset-disconnected"]
    );

    let reset = &items[2];
    assert_eq!(reset["role"], "helpdesk");
    assert_eq!(reset["file"], "reset-disconnected.toml");
    let param = |name: &str| {
        reset["params"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("parameter {name} in {reset}"))
    };
    assert_eq!(param("site")["type"], "site");
    assert_eq!(param("site")["required"], true);
    assert_eq!(param("older_than")["type"], "duration");
    assert_eq!(param("older_than")["default"], "4h");
    assert_eq!(param("group")["required"], false);
    let step = &reset["steps"][0];
    assert_eq!(step["action"], "session.logoff");
    assert_eq!(step["targets"], "sessions");
    assert_eq!(step["site"], "{{site}}");

    let drain = &items[0];
    assert_eq!(drain["role"], "admin");
    let steps: Vec<&str> = drain["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(steps, ["drain", "warn", "reboot", "undrain"]);
    assert_eq!(drain["steps"][2]["wait"], "{{drain_time}}");
    assert_eq!(drain["steps"][2]["when"], "steps.drain.targets > 0");

    // The route is in the OpenAPI document.
    let doc: Value = http
        .get(format!("{}/api/v1/openapi.json", adapter.url))
        .bearer_auth(&viewer)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    assert!(
        doc["paths"]["/api/v1/runbooks"]["get"].is_object(),
        "{}",
        doc["paths"]
    );
    adapter.stop().await;
}

/// A folder with an adapter.toml (one site `london`, one admin client, secrets from the
/// environment) and a runbooks folder beside it holding `files`.
fn config_folder(files: &[(&str, &str)]) -> Scratch {
    let dir = std::env::temp_dir().join(format!("deskbridge-runbooks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("runbooks")).expect("scratch folder");
    let config = r#"listen = "127.0.0.1:0"
data_dir = "."

[[sites]]
name = "london"
kind = "onprem"
endpoints = ["http://127.0.0.1:9"]
site_id = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
credentials = { username = 'CORP\svc', password = { env = "RB_SITE_PASSWORD" } }

[[clients]]
name = "ops"
id = "33333333-3333-4333-8333-333333333333"
role = "admin"
secret = { env = "RB_ADMIN_SECRET" }
"#;
    std::fs::write(dir.join("adapter.toml"), config).expect("write adapter.toml");
    for (name, text) in files {
        std::fs::write(dir.join("runbooks").join(name), text).expect("write a runbook");
    }
    Scratch(dir)
}

/// Runs the binary in `dir` with the config's secrets set; fails the test after 60 s.
fn run(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("RB_SITE_PASSWORD", "site-password")
        .env("RB_ADMIN_SECRET", "admin-secret-0123456789abcdef")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("deskbridge {args:?} did not exit within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

const BAD_ACTION: &str = "name = \"bad-action\"\n\n[[steps]]\nname = \"boom\"\n\
                          action = \"machine.explode\"\n\
                          select = { machines = { site = \"london\" } }\n";
const BAD_SITE: &str = "name = \"bad-site\"\nrole = \"helpdesk\"\n\n[[steps]]\nname = \"reset\"\n\
                        action = \"session.logoff\"\n\
                        select = { sessions = { site = \"paris\" } }\n";

#[test]
fn runbook_check_prints_every_problem_and_exits_1() {
    let dir = config_folder(&[("bad-action.toml", BAD_ACTION), ("bad-site.toml", BAD_SITE)]);
    let out = run(&dir.0, &["runbook", "check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "runbooks/bad-action.toml:5: step \"boom\": unknown action \"machine.explode\""
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("runbooks/bad-site.toml:7: step \"reset\": select.sessions.site is \"paris\", which is not a configured site"),
        "{stderr}"
    );
    assert!(stderr.contains("2 problem(s)"), "{stderr}");
}

#[test]
fn runbook_check_passes_the_shipped_examples() {
    let dir = config_folder(&[]);
    let folder = shipped();
    let folder = folder.to_str().expect("a UTF-8 path");
    let out = run(&dir.0, &["runbook", "check", "--dir", folder]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "3 runbook(s), no problems: drain-and-reboot, move-desktop, reset-disconnected"
        ),
        "{stdout}"
    );
}

#[test]
fn serve_does_not_start_with_a_bad_runbook() {
    let dir = config_folder(&[("bad-action.toml", BAD_ACTION)]);
    let out = run(&dir.0, &["serve", "--config", "adapter.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve started: {stderr}");
    assert!(stderr.contains("the adapter did not start"), "{stderr}");
    assert!(
        stderr.contains("bad-action.toml:5: step \"boom\": unknown action \"machine.explode\""),
        "{stderr}"
    );
}
