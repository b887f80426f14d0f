//! End to end: the real `deskbridge console` in a tmux pane, on an adapter and lab started by
//! tests/support in this process. On the groups view the admin marks a delivery group, presses
//! `o`, gives the idle threshold, reads the preview (machines to shut down, skipped ones with
//! reasons), confirms, and the shutdown job appears in the jobs pane; the adapter's job holds
//! exactly the machines the preview listed. Every wait polls the screen with a deadline.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use deskbridge::lab::Scale;
use reqwest::StatusCode;
use serde_json::json;
use support::api::Api;
use support::tmux::Pane;
use support::{LabAdapter, SECRET, token, until};

const GROUP: &str = "London Pooled Desktops";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_groups_view_previews_idle_machines_then_runs_the_shutdown_job() {
    let env = LabAdapter::start(Scale::Small, &|_| {}).await;
    let api = Api::new(&env.url);
    let http = reqwest::Client::new();
    let admin = token(&http, &env.url, env.id("admin")).await;
    // What the adapter itself would pick, to compare with the screen and the job.
    let expected = until("idle machines", Duration::from_secs(30), async || {
        let (status, preview) = api
            .post(
                &admin,
                "/api/v1/power/idle",
                json!({ "delivery_groups": [GROUP], "site": "London", "idle_minutes": 15, "dry_run": true }),
            )
            .await;
        (status == StatusCode::OK).then_some(preview)
    })
    .await;
    let names: Vec<String> = expected["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c["name"].as_str().expect("name").to_owned())
        .collect();
    assert!(!names.is_empty(), "{expected}");

    let client_id = env.id("admin").to_string();
    let pane = Pane::start(
        &["console", "--adapter", &env.url],
        160,
        45,
        &[
            ("DESKBRIDGE_CLIENT_ID", client_id.as_str()),
            ("DESKBRIDGE_CLIENT_SECRET", SECRET),
        ],
    );
    pane.wait("the operator's identity", |s| s.contains("admin"));
    pane.keys(&["4"]);
    pane.wait("the groups", |s| s.contains(GROUP));
    pane.keys(&["/"]);
    pane.text(&format!("name==\"{GROUP}\""));
    pane.keys(&["Enter"]);
    pane.wait("the filter", |s| s.contains("groups[1]"));
    pane.keys(&["o"]);
    pane.wait("the threshold prompt", |s| s.contains("how many minutes"));
    pane.keys(&["BSpace", "BSpace"]);
    pane.text("15");
    pane.keys(&["Enter"]);
    let preview = pane.wait("the preview", |s| {
        s.contains("with no session for more than 15 min")
    });
    let count = format!("Shut down {} machine", names.len());
    assert!(preview.contains(&count), "{count}:\n{preview}");
    assert!(preview.contains(&names[0]), "{preview}");
    assert!(
        preview.contains("Skipped"),
        "busy machines are counted:\n{preview}"
    );
    assert!(preview.contains("[ Confirm ]"), "{preview}");
    if names.len() > 50 {
        pane.text(&names.len().to_string());
        pane.keys(&["Tab", "Enter"]);
    } else {
        pane.keys(&["y"]);
    }
    let screen = pane.wait("the job in the jobs pane", |s| {
        s.contains("job started on") && s.contains("machine.shutdown")
    });
    assert!(
        screen.contains(&format!("{} target", names.len())),
        "{screen}"
    );

    let (_, jobs) = api
        .get(&admin, "/api/v1/jobs?action=machine.shutdown")
        .await;
    let job = jobs["items"][0].clone();
    assert_eq!(job["requested_by"], "admin");
    let done = api.finished(&admin, &job).await;
    let shut: BTreeSet<String> = done["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["target_id"].as_str().expect("target").to_owned())
        .collect();
    let previewed: BTreeSet<String> = expected["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(shut, previewed);
    pane.keys(&["q"]);
    pane.wait("the console to exit", |s| s.contains("deskbridge-exited-0"));
    drop(pane);
    env.stop().await;
}
