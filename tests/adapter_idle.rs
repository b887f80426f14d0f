//! Power off idle machines over real HTTP against the lab, with the adapter started as
//! `deskbridge serve` starts it: the dry run lists exactly what the real run then shuts down
//! (counted by the lab's own record of shutdown calls), roles, unknown groups, a machine that
//! gets a session between preview and run, and an `[[idle_power_off]]` schedule acting on its
//! own as the `scheduler` client.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use deskbridge::config::IdlePowerOff;
use deskbridge::lab::Scale;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::Api;
use support::{LabAdapter, token, until};

const SITE: &str = "London";
const GROUPS: [&str; 2] = ["London Pooled Desktops", "Manchester Pooled Desktops"];
/// Below every seeded idle machine's last connection (20 minutes at least).
const IDLE_MINUTES: u32 = 15;

fn body(dry_run: bool) -> Value {
    json!({
        "delivery_groups": GROUPS,
        "site": SITE,
        "idle_minutes": IDLE_MINUTES,
        "dry_run": dry_run,
    })
}

fn ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|m| m["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The lab's count of mutating calls at `site`: action → target id → count.
async fn calls(lab: &LabAdapter, site: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    let body: Value = reqwest::get(format!("{}/sites/{site}/calls", lab.lab.info().control))
        .await
        .expect("calls")
        .json()
        .await
        .expect("calls JSON");
    serde_json::from_value(body["calls"].clone()).expect("calls shape")
}

async fn shutdowns(lab: &LabAdapter) -> BTreeSet<String> {
    calls(lab, SITE)
        .await
        .get("shutdown")
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

/// Waits until the adapter's inventory has the site, so group names are known.
async fn inventory_ready(api: &Api, token: &str) {
    until("the inventory", Duration::from_secs(30), async || {
        let (status, page) = api.get(token, "/api/v1/delivery-groups?limit=200").await;
        (status == StatusCode::OK
            && page["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|g| g["name"] == GROUPS[0])))
        .then_some(())
    })
    .await;
}

/// Why a fresh dry run skips each machine (the dry run refreshes the site first).
async fn skip_codes(api: &Api, token: &str) -> BTreeMap<String, String> {
    let (status, preview) = api.post(token, "/api/v1/power/idle", body(true)).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    preview["skipped"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or_default().to_owned(),
                s["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dry_run_lists_exactly_what_the_real_run_shuts_down() {
    let env = LabAdapter::start(Scale::Small, &|_| {}).await;
    let api = Api::new(&env.url);
    let http = reqwest::Client::new();
    let admin = token(&http, &env.url, env.id("admin")).await;
    let helpdesk = token(&http, &env.url, env.id("helpdesk")).await;
    let viewer = token(&http, &env.url, env.id("viewer")).await;
    inventory_ready(&api, &viewer).await;

    // Anyone may preview; the preview changes nothing.
    let (status, preview) = api.post(&viewer, "/api/v1/power/idle", body(true)).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let candidates = ids(&preview["candidates"]);
    assert!(
        candidates.len() >= 2,
        "the lab has idle machines: {preview}"
    );
    assert!(preview["job"].is_null());
    let skipped = preview["skipped"].as_array().expect("skipped");
    assert!(
        !skipped.is_empty(),
        "busy machines are listed with a reason"
    );
    for s in skipped {
        assert!(!s["reason"].as_str().unwrap_or_default().is_empty(), "{s}");
    }
    assert!(
        skipped.iter().any(|s| s["code"] == "session"),
        "machines with sessions are skipped: {preview}"
    );
    for c in preview["candidates"].as_array().expect("candidates") {
        assert!(c["idle_minutes"].as_i64().unwrap_or_default() > i64::from(IDLE_MINUTES));
    }
    let (status, again) = api.post(&helpdesk, "/api/v1/power/idle", body(true)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(ids(&again["candidates"]), candidates);

    // A helpdesk caller cannot shut anything down, and nothing is created.
    let (status, refused) = api.post(&helpdesk, "/api/v1/power/idle", body(false)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("admin")
    );
    let (_, jobs) = api.get(&admin, "/api/v1/jobs").await;
    assert_eq!(jobs["items"].as_array().map(Vec::len), Some(0), "{jobs}");

    // The admin's run: one machine.shutdown job over exactly the previewed machines.
    let (status, run) = api.post(&admin, "/api/v1/power/idle", body(false)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    assert_eq!(ids(&run["candidates"]), candidates);
    let job = &run["job"];
    assert_eq!(job["action"], "machine.shutdown");
    assert_eq!(job["requested_by"], "admin");
    let targets: BTreeSet<String> = job["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["target_id"].as_str().expect("target").to_owned())
        .collect();
    assert_eq!(targets, candidates);
    let done = api.finished(&admin, job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(
        shutdowns(&env).await,
        candidates,
        "each shut down once, nothing else"
    );
    until(
        "the machines to be off",
        Duration::from_secs(30),
        async || {
            let codes = skip_codes(&api, &viewer).await;
            candidates
                .iter()
                .all(|id| codes.get(id).map(String::as_str) == Some("not_powered_on"))
                .then_some(())
        },
    )
    .await;

    // Now nothing qualifies: 200, an empty list, no job.
    let (status, none) = api.post(&admin, "/api/v1/power/idle", body(false)).await;
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(
        none["candidates"].as_array().map(Vec::len),
        Some(0),
        "{none}"
    );
    assert!(none["job"].is_null());
    let (_, jobs) = api.get(&admin, "/api/v1/jobs").await;
    assert_eq!(jobs["items"].as_array().map(Vec::len), Some(1), "{jobs}");

    // The audit log has the run with its job.
    let (_, audit) = api
        .get(&admin, "/api/v1/audit?action=power.idle&limit=100")
        .await;
    let text = audit.to_string();
    assert!(text.contains(job["id"].as_str().expect("job id")), "{text}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_name_what_is_wrong_and_create_nothing() {
    let env = LabAdapter::start(Scale::Small, &|_| {}).await;
    let api = Api::new(&env.url);
    let http = reqwest::Client::new();
    let admin = token(&http, &env.url, env.id("admin")).await;
    inventory_ready(&api, &admin).await;
    let cases = [
        (
            json!({"delivery_groups": ["London Pooled Desktops", "Atlantis"], "idle_minutes": 30, "dry_run": false}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"Atlantis\"",
        ),
        (
            json!({"delivery_groups": ["London Pooled Desktops"], "site": "Mars", "idle_minutes": 30, "dry_run": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Mars",
        ),
        (
            json!({"delivery_groups": [], "idle_minutes": 30, "dry_run": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "delivery_groups",
        ),
        (
            json!({"delivery_groups": ["London Pooled Desktops"], "idle_minutes": 0, "dry_run": true}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "idle_minutes",
        ),
        (
            json!({"delivery_groups": ["London Pooled Desktops"], "idle_minutes": 30}),
            StatusCode::BAD_REQUEST,
            "dry_run",
        ),
        (
            json!({"delivery_groups": ["London Pooled Desktops"], "idle_minutes": 30, "dry_run": true, "force": true}),
            StatusCode::BAD_REQUEST,
            "force",
        ),
    ];
    for (request, status, named) in cases {
        let (got, answer) = api
            .post(&admin, "/api/v1/power/idle", request.clone())
            .await;
        assert_eq!(got, status, "{request} → {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{request} → {message}");
    }
    let (_, jobs) = api.get(&admin, "/api/v1/jobs").await;
    assert_eq!(jobs["items"].as_array().map(Vec::len), Some(0), "{jobs}");
    assert!(shutdowns(&env).await.is_empty());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_machine_that_gets_a_session_after_the_preview_is_not_shut_down() {
    let env = LabAdapter::start(Scale::Small, &|_| {}).await;
    let api = Api::new(&env.url);
    let http = reqwest::Client::new();
    let admin = token(&http, &env.url, env.id("admin")).await;
    inventory_ready(&api, &admin).await;
    let (status, preview) = api.post(&admin, "/api/v1/power/idle", body(true)).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let candidates = ids(&preview["candidates"]);
    assert!(candidates.len() >= 2, "{preview}");
    let taken = candidates.iter().next().expect("a candidate").clone();

    // Someone starts logging on to one of them.
    let logon = http
        .post(format!(
            "{}/sites/{SITE}/machines/{taken}/logon",
            env.lab.info().control
        ))
        .send()
        .await
        .expect("logon");
    assert_eq!(logon.status(), StatusCode::CREATED);
    let started: Value = logon.json().await.expect("logon JSON");
    let session = started["session"].as_str().expect("session id").to_owned();

    let (status, run) = api.post(&admin, "/api/v1/power/idle", body(false)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{run}");
    let skipped = run["skipped"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["id"] == taken.as_str())
        .cloned()
        .expect("the machine is listed as skipped");
    assert!(
        matches!(
            skipped["code"].as_str(),
            Some("logon_in_progress" | "session")
        ),
        "{skipped}"
    );
    let mut expected = candidates.clone();
    expected.remove(&taken);
    assert_eq!(ids(&run["candidates"]), expected);
    let done = api.finished(&admin, &run["job"]).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let shut = shutdowns(&env).await;
    assert_eq!(shut, expected);
    assert!(!shut.contains(&taken));
    let codes = skip_codes(&api, &admin).await;
    assert!(
        matches!(
            codes.get(&taken).map(String::as_str),
            Some("logon_in_progress" | "session")
        ),
        "{codes:?}"
    );

    // The user logs off: the machine's LastConnectionTime moves to the logoff, so it is not
    // idle long enough yet.
    let (status, logoff) = api
        .post(
            &admin,
            "/api/v1/jobs",
            json!({ "action": "session.logoff", "targets": [{ "site": SITE, "id": session }] }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{logoff}");
    let done = api.finished(&admin, &logoff).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    until("the session to end", Duration::from_secs(30), async || {
        let codes = skip_codes(&api, &admin).await;
        (codes.get(&taken).map(String::as_str) == Some("not_idle_long_enough")).then_some(())
    })
    .await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_schedule_shuts_idle_machines_down_as_the_scheduler() {
    let env = LabAdapter::start(Scale::Small, &|config| {
        config.idle_power_off = vec![IdlePowerOff {
            delivery_groups: vec![GROUPS[0].to_owned()],
            site: Some(SITE.to_owned()),
            idle_minutes: IDLE_MINUTES,
            every: Duration::from_millis(1500),
            include_unregistered: false,
        }];
    })
    .await;
    let api = Api::new(&env.url);
    let http = reqwest::Client::new();
    let admin = token(&http, &env.url, env.id("admin")).await;
    let job = until("the scheduler's job", Duration::from_secs(60), async || {
        let (_, jobs) = api
            .get(&admin, "/api/v1/jobs?action=machine.shutdown")
            .await;
        jobs["items"].as_array().and_then(|j| j.first().cloned())
    })
    .await;
    assert_eq!(job["requested_by"], "scheduler");
    let done = api.finished(&admin, &job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let targets: BTreeSet<String> = done["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["target_id"].as_str().expect("target").to_owned())
        .collect();
    assert!(!targets.is_empty());
    assert!(targets.is_subset(&shutdowns(&env).await));
    // Only the configured group's machines.
    let (_, machines) = api
        .get(&admin, &format!("/api/v1/sites/{SITE}/machines"))
        .await;
    let list = machines["items"]
        .as_array()
        .or(machines.as_array())
        .cloned();
    for m in list
        .into_iter()
        .flatten()
        .filter(|m| targets.contains(m["id"].as_str().unwrap_or_default()))
    {
        assert_eq!(m["delivery_group"]["name"], GROUPS[0], "{m}");
    }
    let (_, audit) = api
        .get(&admin, "/api/v1/audit?actor=scheduler&limit=100")
        .await;
    let entries = audit["items"].as_array().cloned().unwrap_or_default();
    assert!(
        entries.iter().any(|e| e["action"] == "power.idle"
            && e["outcome"] == "succeeded"
            && e["message"]
                .as_str()
                .unwrap_or_default()
                .contains(job["id"].as_str().unwrap_or("?"))),
        "{audit}"
    );
    // Later runs find nothing more to do: still one job.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, jobs) = api
        .get(&admin, "/api/v1/jobs?action=machine.shutdown")
        .await;
    assert_eq!(jobs["items"].as_array().map(Vec::len), Some(1), "{jobs}");
    env.stop().await;
}
