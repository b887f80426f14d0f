//! Runbook runs through the adapter, over real HTTP against the lab, with the runbooks the
//! repository ships: each step selects its targets live and runs them as a child job, later
//! steps see earlier results, the runbook's role is enforced, and bad parameters are refused
//! before anything runs.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::lab::Scale;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::Api;
use support::{LabAdapter, token, until};

struct Env {
    base: LabAdapter,
    api: Api,
    helpdesk: String,
    admin: String,
}

impl Env {
    async fn start() -> Env {
        let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runbooks");
        let base = LabAdapter::start(Scale::Small, &|config| {
            config.runbooks_dir = Some(shipped.clone());
        })
        .await;
        let http = reqwest::Client::new();
        Env {
            helpdesk: token(&http, &base.url, base.id("helpdesk")).await,
            admin: token(&http, &base.url, base.id("admin")).await,
            api: Api::new(&base.url),
            base,
        }
    }

    async fn run(&self, token: &str, runbook: &str, params: Value) -> (StatusCode, Value) {
        self.api
            .post(
                token,
                "/api/v1/jobs",
                json!({ "action": "runbook.run",
                        "targets": [{ "site": "runbook", "id": runbook }],
                        "params": params }),
            )
            .await
    }

    async fn finished(&self, job: &Value) -> Value {
        let id = job["id"].as_str().expect("job id").to_owned();
        until("the runbook to end", Duration::from_secs(90), async || {
            let (_, job) = self
                .api
                .get(&self.admin, &format!("/api/v1/jobs/{id}"))
                .await;
            let state = job["state"].as_str().unwrap_or_default();
            (!matches!(state, "queued" | "running")).then_some(job)
        })
        .await
    }

    async fn job(&self, id: &str) -> Value {
        let (status, job) = self
            .api
            .get(&self.admin, &format!("/api/v1/jobs/{id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{job}");
        job
    }

    async fn calls(&self, site: &str) -> Value {
        reqwest::Client::new()
            .get(format!(
                "{}/sites/{site}/calls",
                self.base.lab.info().control
            ))
            .send()
            .await
            .expect("calls")
            .json()
            .await
            .expect("calls JSON")
    }
}

fn steps(job: &Value) -> Vec<Value> {
    job["tasks"][0]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reset_disconnected_logs_off_exactly_the_sessions_it_selects() {
    let env = Env::start().await;
    let (status, job) = env
        .run(
            &env.helpdesk,
            "reset-disconnected",
            json!({ "site": "London", "older_than": "1m" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(
        job["params"]["runbook"]["values"]["older_than"], "1m",
        "{job}"
    );
    let done = env.finished(&job).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let step = &steps(&done)[0];
    assert_eq!(step["state"], "done", "{step}");
    let selected = step["output"]["runbook:logoff"]["targets"]
        .as_u64()
        .expect("counts");
    assert!(
        selected > 0,
        "the lab has old disconnected sessions: {step}"
    );

    let child_id = step["output"]["child_job"]
        .as_str()
        .expect("child job")
        .to_owned();
    let child = env.job(&child_id).await;
    assert_eq!(child["action"], "session.logoff");
    assert_eq!(child["state"], "succeeded", "{child:#}");
    assert_eq!(child["progress"]["total"].as_u64(), Some(selected));
    assert!(
        child["requested_by"]
            .as_str()
            .is_some_and(|r| r.contains("reset-disconnected") && r.contains("helpdesk")),
        "the child names the runbook and who ran it: {}",
        child["requested_by"]
    );
    // Each selected session logged off once at the site.
    let calls = env.calls("London").await;
    for task in child["tasks"].as_array().expect("tasks") {
        let session = task["target_id"].as_str().expect("session");
        assert_eq!(calls["calls"]["logoff"][session], 1, "{session} once");
    }
    // The run and its child are in the audit log under the runbook's name.
    let (_, audit) = env
        .api
        .get(&env.admin, "/api/v1/audit?action=job.create&limit=100")
        .await;
    assert!(
        audit
            .to_string()
            .contains("runbook reset-disconnected for helpdesk"),
        "{audit}"
    );
    env.base.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drain_and_reboot_runs_its_steps_in_order_and_restarts_only_empty_machines() {
    let env = Env::start().await;
    let (status, job) = env
        .run(
            &env.admin,
            "drain-and-reboot",
            json!({ "site": "London", "group": "London Pooled Desktops", "drain_time": "1s" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let done = env.finished(&job).await;
    assert_eq!(done["state"], "succeeded", "{done:#}");
    let all = steps(&done);
    let names: Vec<&str> = all.iter().filter_map(|s| s["title"].as_str()).collect();
    assert!(names[0].starts_with("drain:"), "{names:?}");
    let drained = all[0]["output"]["runbook:drain"]["targets"]
        .as_u64()
        .unwrap_or(0);
    assert!(drained > 0, "{:#}", all[0]);
    let reboot = all
        .iter()
        .find(|s| {
            s["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("reboot:"))
        })
        .expect("reboot");
    let child_id = reboot["output"]["child_job"]
        .as_str()
        .expect("reboot job")
        .to_owned();
    let child = env.job(&child_id).await;
    assert_eq!(child["action"], "machine.restart");
    assert!(
        child["progress"]["total"].as_u64().unwrap_or(0) > 0,
        "{child:#}"
    );
    let info = env
        .base
        .lab
        .info()
        .sites
        .iter()
        .find(|s| s.name == "London")
        .expect("London")
        .clone();
    let site = CvadClient::new(CvadConfig::from_lab(&info)).expect("client");
    let calls = env.calls("London").await;
    for task in child["tasks"].as_array().expect("tasks") {
        let name = task["target_id"].as_str().expect("machine");
        let machine = site.machine(name).await.expect("machine");
        assert_eq!(
            calls["calls"]["reboot"][&machine.id], 1,
            "{name} restarted once"
        );
    }
    // The machines still holding sessions were left in maintenance, draining.
    let restarted: Vec<&str> = child["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["target_id"].as_str())
        .collect();
    for machine in site.machines().await.expect("machines") {
        let in_group = machine
            .delivery_group
            .as_ref()
            .is_some_and(|g| g.name == "London Pooled Desktops");
        if in_group && !restarted.contains(&machine.name.as_str()) && machine.session_count > 0 {
            assert!(machine.in_maintenance_mode, "{} still drains", machine.name);
        }
    }
    env.base.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runbook_runs_are_refused_for_a_lower_role_an_unknown_runbook_or_bad_parameters() {
    let env = Env::start().await;
    let cases = [
        (
            &env.helpdesk,
            "drain-and-reboot",
            json!({ "site": "London", "group": "x" }),
            StatusCode::FORBIDDEN,
            "needs role admin",
        ),
        (
            &env.admin,
            "no-such-runbook",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "no runbook named",
        ),
        (
            &env.admin,
            "reset-disconnected",
            json!({}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "site",
        ),
        (
            &env.admin,
            "reset-disconnected",
            json!({ "site": "Atlantis" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Atlantis",
        ),
        (
            &env.admin,
            "reset-disconnected",
            json!({ "site": "London", "older_than": "soon" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "older_than",
        ),
        (
            &env.admin,
            "reset-disconnected",
            json!({ "site": "London", "colour": "red" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
    ];
    for (token, runbook, params, want, says) in cases {
        let (status, error) = env.run(token, runbook, params.clone()).await;
        assert_eq!(status, want, "{runbook} {params}: {error}");
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{runbook} {params}: {message}");
    }
    let (_, jobs) = env.api.get(&env.admin, "/api/v1/jobs").await;
    assert_eq!(
        jobs["items"].as_array().map(Vec::len),
        Some(0),
        "nothing created: {jobs}"
    );
    env.base.stop().await;
}
