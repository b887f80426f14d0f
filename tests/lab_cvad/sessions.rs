//! Session actions and derived counters, and live mode keeping sessions moving.

use crate::helpers::{Caller, job, location_of, start};
use deskbridge::lab::{Lab, LabOptions};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashSet;

#[tokio::test]
async fn logoff_updates_sessions_and_derived_counters() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let sessions = london.get("/Sessions?limit=1000").await;
    let session = sessions["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .find(|s| {
            s["State"] == "Active"
                && s["Machine"]["Name"]
                    .as_str()
                    .is_some_and(|n| n.contains("VDI-"))
        })
        .expect("an active pooled session")
        .clone();
    let group_id = session["Machine"]["DeliveryGroup"]["Id"]
        .as_str()
        .expect("group")
        .to_string();
    let before = london.get(&format!("/DeliveryGroups/{group_id}")).await;
    let id = session["Id"].as_str().expect("id");
    let response = london
        .send(0, Method::POST, &format!("/Sessions/{id}/$logoff"))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        london.get(&format!("/Sessions/{id}")).await["LogoffInProgress"],
        true
    );
    london.advance(2.0).await;
    let response = london
        .send(0, Method::GET, &format!("/Sessions/{id}"))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let after = london.get(&format!("/DeliveryGroups/{group_id}")).await;
    let n = |v: &Value, k: &str| v[k].as_i64().expect(k);
    assert_eq!(n(&after, "DesktopsInUse"), n(&before, "DesktopsInUse") - 1);
    assert_eq!(n(&after, "SessionCount"), n(&before, "SessionCount") - 1);
    let available_delta = n(&after, "DesktopsAvailable") - n(&before, "DesktopsAvailable");
    // Available unless the freed machine is in maintenance mode.
    assert!((0..=1).contains(&available_delta));

    // Disconnect an active session, synchronously and as a job.
    let other = sessions["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .filter(|s| s["State"] == "Active" && s["Id"] != session["Id"])
        .take(2)
        .cloned()
        .collect::<Vec<_>>();
    let response = london
        .send(
            0,
            Method::POST,
            &format!(
                "/Sessions/{}/$disconnect",
                other[0]["Id"].as_str().expect("id")
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let s: Value = response.json().await.expect("json");
    assert_eq!(s["State"], "Disconnected");
    let response = london
        .send(
            0,
            Method::POST,
            &format!(
                "/Sessions/{}/$disconnect?async=true",
                other[1]["Id"].as_str().expect("id")
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = location_of(&response);
    london.advance(1.0).await;
    let done = job(&london, &location).await;
    assert_eq!(done["Type"], "DisconnectSessions");
    assert_eq!(done["Status"], "Complete");
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn live_mode_keeps_sessions_moving() {
    let lab = Lab::start(LabOptions {
        live: true,
        ..LabOptions::default()
    })
    .await
    .expect("lab starts");
    let london = Caller::login(&lab, "London").await;
    let snapshot = |page: Value| -> HashSet<String> {
        page["Items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|s| format!("{}:{}:{}", s["Id"], s["State"], s["LogoffInProgress"]))
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = snapshot(london.get("/Sessions?limit=1000").await);
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    let after = snapshot(london.get("/Sessions?limit=1000").await);
    assert_ne!(before, after, "live mode changed something in 4.5 s");
    lab.shutdown().await;
}
