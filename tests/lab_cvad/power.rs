//! Power actions: an async start through TurningOn to Registered, shutdown, reboot, suspend/resume and refused transitions.

use crate::helpers::{Caller, job, location_of, off_machine, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn async_start_job_goes_through_turning_on_to_registered() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let machine = off_machine(&london).await;
    let path = format!(
        "/Machines/{}",
        machine["Name"].as_str().expect("name").replace('\\', "|")
    );
    let response = london
        .send(1, Method::POST, &format!("{path}/$start?async=true"))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = location_of(&response);
    assert!(location.starts_with(&format!("{}/cvad/manage/Jobs/", london.site.endpoints[1])));
    assert!(response.text().await.expect("body").is_empty());

    let first = job(&london, &location).await;
    assert_eq!(first["Type"], "StartMachines");
    assert_eq!(first["Status"], "NotStarted");
    assert!(
        first["Parameters"]
            .as_array()
            .expect("Parameters")
            .iter()
            .any(|p| p["Name"] == "Name")
    );
    london.advance(1.0).await;
    let running = job(&london, &location).await;
    assert_eq!(running["Status"], "InProgress");
    assert_eq!(london.get(&path).await["PowerState"], "TurningOn");
    london.advance(2.0).await;
    let later = job(&london, &location).await;
    assert!(later["OverallProgressPercent"].as_u64() > running["OverallProgressPercent"].as_u64());
    london.advance(2.0).await;
    let m = london.get(&path).await;
    assert_eq!(m["PowerState"], "On");
    assert_eq!(m["RegistrationState"], "Initializing");
    london.advance(3.0).await;
    let m = london.get(&path).await;
    assert_eq!(m["RegistrationState"], "Registered");
    assert_eq!(m["SummaryState"], "Available");
    let done = job(&london, &location).await;
    assert_eq!(done["Status"], "Complete");
    assert_eq!(done["OverallProgressPercent"], 100);
    // Results redirect to the machine.
    let response = london
        .send(
            0,
            Method::GET,
            &format!("/Jobs/{}/Results", done["Id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = response.headers()["location"].to_str().expect("location");
    assert!(to.ends_with(&format!(
        "/cvad/manage/Machines/{}",
        machine["Id"].as_str().expect("id")
    )));
    // Jobs are listed for their owner.
    let jobs = london.get("/Jobs").await;
    assert_eq!(jobs["Items"].as_array().expect("Items").len(), 1);
    lab.shutdown().await;
}

#[tokio::test]
async fn shutdown_reboot_and_refused_transitions() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    // A single-session machine with a session: a graceful shutdown logs the session off first.
    let sessions = london.get("/Sessions?limit=1000").await;
    let session = sessions["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .find(|s| {
            s["Machine"]["Name"]
                .as_str()
                .is_some_and(|n| n.contains("VDI-"))
                && s["LogonInProgress"] == false
        })
        .expect("a pooled session")
        .clone();
    let path = format!(
        "/Machines/{}",
        session["Machine"]["Id"].as_str().expect("id")
    );
    let m = london.get(&path).await;
    assert_eq!(m["PowerState"], "On");
    let response = london
        .send(0, Method::POST, &format!("{path}/$shutdown"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let m: Value = response.json().await.expect("json");
    assert_eq!(m["PowerState"], "TurningOff");
    assert_eq!(m["LastDeregistrationReason"], "AgentShutdown");
    let s = london
        .get(&format!(
            "/Sessions/{}",
            session["Id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(s["LogoffInProgress"], true);
    london.advance(4.0).await;
    let m = london.get(&path).await;
    assert_eq!(m["PowerState"], "Off");
    assert_eq!(m["SummaryState"], "Off");
    assert_eq!(m["SessionCount"], 0);
    // Nonsense transitions are refused.
    let response = london
        .send(0, Method::POST, &format!("{path}/$resume"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["type"]
            .as_str()
            .expect("type")
            .starts_with("https://errors-api.cloud.com/common/")
    );
    // Start, then a forced reboot deregisters with DesktopRestart and comes back.
    london
        .send(0, Method::POST, &format!("{path}/$start"))
        .await;
    london.advance(7.0).await;
    assert_eq!(london.get(&path).await["RegistrationState"], "Registered");
    let response = london
        .send(0, Method::POST, &format!("{path}/$reboot?force=true"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let m = london.get(&path).await;
    assert_eq!(m["PowerState"], "TurningOff");
    assert_eq!(m["RegistrationState"], "Unregistered");
    assert_eq!(m["LastDeregistrationReason"], "DesktopRestart");
    london.advance(4.0).await;
    assert_eq!(london.get(&path).await["PowerState"], "TurningOn");
    london.advance(7.0).await;
    assert_eq!(london.get(&path).await["RegistrationState"], "Registered");
    // Suspend and resume.
    london
        .send(0, Method::POST, &format!("{path}/$suspend"))
        .await;
    assert_eq!(london.get(&path).await["PowerState"], "Suspending");
    london.advance(4.0).await;
    assert_eq!(london.get(&path).await["PowerState"], "Suspended");
    london
        .send(0, Method::POST, &format!("{path}/$resume"))
        .await;
    assert_eq!(london.get(&path).await["PowerState"], "Resuming");
    london.advance(7.0).await;
    assert_eq!(london.get(&path).await["PowerState"], "On");
    // Unmanaged (Remote PC) machines support no power action.
    let remote = london
        .search_machines(
            json!([{ "Property": "MachineName", "Value": "WS-", "Operator": "Contains" }]),
        )
        .await;
    let remote = remote.first().expect("a remote PC");
    assert_eq!(remote["PowerState"], "Unmanaged");
    assert_eq!(remote["SupportedPowerActions"], json!([]));
    let response = london
        .send(
            0,
            Method::POST,
            &format!("/Machines/{}/$reboot", remote["Id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Each action counted once per target.
    let calls: Value = london.lab_get("/sites/London/calls").await;
    let id = session["Machine"]["Id"].as_str().expect("id");
    for action in ["shutdown", "start", "reboot", "suspend", "resume"] {
        assert_eq!(calls["calls"][action][id], 1, "{action}");
    }
    lab.shutdown().await;
}
