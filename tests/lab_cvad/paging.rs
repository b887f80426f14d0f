//! `$search` filters with `TotalItems`, and paging past a thousand items across connectors.

use crate::helpers::{Caller, start};
use deskbridge::lab::{Lab, LabOptions, Scale};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;

#[tokio::test]
async fn search_filters_and_total_items() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    let page = london.get("/Sessions?limit=1").await;
    let user = page["Items"][0]["User"]["SamName"]
        .as_str()
        .expect("user")
        .to_string();
    let body = json!({ "SearchFilters": [{ "Property": "UserName", "Value": user, "Operator": "Equals" }] });
    let found: Value = london
        .post("/Sessions/$search", body)
        .await
        .json()
        .await
        .expect("json");
    let total = found["TotalItems"].as_u64().expect("TotalItems");
    assert!(total >= 1);
    assert!(
        found["Items"]
            .as_array()
            .expect("Items")
            .iter()
            .all(|s| s["User"]["SamName"] == user.as_str())
    );

    let on = london
        .search_machines(
            json!([{ "Property": "PowerState", "Value": "On", "Operator": "Equals" },
        { "Property": "ZoneName", "Value": "Manchester", "Operator": "Equals" }]),
        )
        .await;
    assert!(!on.is_empty());
    assert!(
        on.iter()
            .all(|m| m["PowerState"] == "On" && m["Zone"]["Name"] == "Manchester")
    );
    let disc = json!({ "SearchFilters": [{ "Property": "SessionState", "Value": "Disconnected,Active", "Operator": "In" }] });
    let found: Value = london
        .post("/Sessions/$search?limit=1000", disc)
        .await
        .json()
        .await
        .expect("json");
    assert!(
        found["Items"]
            .as_array()
            .expect("Items")
            .iter()
            .all(|s| s["State"] == "Disconnected" || s["State"] == "Active")
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn paging_past_a_thousand_switching_endpoints() {
    let lab = Lab::start(LabOptions {
        scale: Scale::Large,
        ..LabOptions::default()
    })
    .await
    .expect("lab starts");
    let cloud = Caller::login(&lab, "Cloud").await;
    let mut token: Option<String> = None;
    let mut seen = HashSet::new();
    for page in 0..4 {
        // Each page through a different connector, as a client failing over would.
        let endpoint = page % cloud.site.endpoints.len();
        let mut request = cloud
            .request(endpoint, Method::GET, "/Sessions")
            .query(&[("limit", "1000")]);
        if let Some(t) = &token {
            request = request.query(&[("continuationToken", t.as_str())]);
        }
        let response = request.send().await.expect("send");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        let items = body["Items"].as_array().expect("Items");
        assert_eq!(items.len(), 1000);
        for item in items {
            assert!(
                seen.insert(item["Id"].as_str().expect("Id").to_string()),
                "no repeats"
            );
        }
        token = body["ContinuationToken"].as_str().map(str::to_string);
        assert!(token.is_some());
    }
    assert_eq!(seen.len(), 4000);
    let status: Value = cloud.lab_get("/sites/Cloud").await;
    let london: Value = cloud.lab_get("/sites/London").await;
    let total = status["counts"]["sessions"].as_u64().unwrap_or(0)
        + london["counts"]["sessions"].as_u64().unwrap_or(0);
    assert_eq!(total, 100_000);
    lab.shutdown().await;
}
