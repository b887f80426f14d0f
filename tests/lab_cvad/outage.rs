//! Connector outages (one, then all of a zone) and the site-wide outage mode fault.

use crate::helpers::{Caller, expect_error, job, location_of, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn connector_outages_one_then_all_of_a_zone() {
    let lab = start().await;
    let cloud = Caller::login(&lab, "Cloud").await;
    cloud.freeze().await;
    let frankfurt = cloud
        .site
        .zones
        .iter()
        .find(|z| z.name == "Frankfurt")
        .expect("zone")
        .endpoints
        .clone();
    let virginia = cloud
        .site
        .zones
        .iter()
        .find(|z| z.name == "Virginia")
        .expect("zone")
        .endpoints[0];
    // One connector down: its port refuses connections, the other serves as before.
    cloud
        .lab_post(
            &format!("/sites/Cloud/connectors/{}/stop", frankfurt[0]),
            json!({}),
        )
        .await;
    let err = cloud
        .request(frankfurt[0], Method::GET, "/Zones")
        .send()
        .await
        .expect_err("port closed");
    assert!(err.is_connect(), "{err}");
    let response = cloud.send(frankfurt[1], Method::GET, "/Zones").await;
    assert_eq!(response.status(), StatusCode::OK);
    let zones: Value = response.json().await.expect("json");
    assert_eq!(zones["Items"][0]["IsHealthy"], true);

    // All connectors of Frankfurt down: the zone is unhealthy, reads still work elsewhere.
    cloud
        .lab_post(
            &format!("/sites/Cloud/connectors/{}/stop", frankfurt[1]),
            json!({}),
        )
        .await;
    let zones: Value = cloud
        .send(virginia, Method::GET, "/Zones")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(zones["Items"][0]["Name"], "Frankfurt");
    assert_eq!(zones["Items"][0]["IsHealthy"], false);
    let search = json!({ "SearchFilters": [{ "Property": "ZoneName", "Value": "Frankfurt", "Operator": "Equals" }] });
    let found: Value = cloud
        .request(virginia, Method::POST, "/Sessions/$search")
        .json(&search)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let ids: Vec<String> = found["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .filter_map(|s| s["Id"].as_str().map(str::to_string))
        .collect();
    assert!(ids.len() >= 2);
    let response = cloud
        .send(
            virginia,
            Method::POST,
            &format!("/Sessions/{}/$logoff", ids[0]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["detail"],
        "Hcl request is not allowed when connector is in outage mode"
    );
    let response = cloud
        .send(
            virginia,
            Method::POST,
            &format!("/Sessions/{}/$logoff?async=true", ids[1]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = location_of(&response);
    cloud.advance(1.0).await;
    let failed = job(&cloud, &location).await;
    assert_eq!(failed["Status"], "Failed");
    assert_eq!(
        failed["ErrorString"],
        "No Citrix Workspace Cloud Connector was found"
    );
    // Nothing was acted on.
    let calls: Value = cloud.lab_get("/sites/Cloud/calls").await;
    assert_eq!(calls["total"], 0);

    // Back up on the same port.
    let status = cloud
        .lab_post(
            &format!("/sites/Cloud/connectors/{}/start", frankfurt[0]),
            json!({}),
        )
        .await;
    assert_eq!(status["zones"][0]["healthy"], true);
    let response = cloud.send(frankfurt[0], Method::GET, "/Zones").await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = cloud
        .send(
            frankfurt[0],
            Method::POST,
            &format!("/Sessions/{}/$logoff", ids[0]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Unknown sites and connectors are 404 on the control API.
    let response = cloud
        .http
        .post(format!("{}/sites/Cloud/connectors/99/stop", cloud.control))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = cloud
        .http
        .get(format!("{}/sites/Nowhere", cloud.control))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    lab.shutdown().await;
}

#[tokio::test]
async fn site_outage_mode_serves_reads_and_fails_writes() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let sessions = london.get("/Sessions?limit=50").await;
    let ids: Vec<String> = sessions["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .filter(|s| s["LogoffInProgress"] == false)
        .filter_map(|s| s["Id"].as_str().map(str::to_string))
        .collect();
    assert!(ids.len() >= 2);
    let machines = london.get("/Machines?limit=5").await;
    london
        .lab_post("/sites/London/faults", json!({ "outage": true }))
        .await;
    // Reads keep serving the last-known data, on every connector.
    for endpoint in 0..london.site.endpoints.len() {
        let response = london
            .send(endpoint, Method::GET, "/Machines?limit=5")
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.expect("json");
        assert_eq!(page["Items"], machines["Items"]);
    }
    assert_eq!(
        london.get(&format!("/Sessions/{}", ids[0])).await["Id"],
        ids[0].as_str()
    );
    // A synchronous write fails as in a zone whose connectors are all down.
    let response = london
        .send(0, Method::POST, &format!("/Sessions/{}/$logoff", ids[0]))
        .await;
    assert!(response.headers().get("retry-after").is_none());
    let body = expect_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "common/serviceUnavailable",
    )
    .await;
    assert_eq!(
        body["detail"],
        "Hcl request is not allowed when connector is in outage mode"
    );
    let mpath = format!(
        "/Machines/{}",
        machines["Items"][0]["Id"].as_str().expect("id")
    );
    let response = london
        .request(1, Method::PATCH, &mpath)
        .json(&json!({ "InMaintenanceMode": true }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    // An async write is accepted, then its job fails for want of a connector.
    let response = london
        .send(
            1,
            Method::POST,
            &format!("/Sessions/{}/$logoff?async=true", ids[1]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = location_of(&response);
    london.advance(1.0).await;
    let failed = job(&london, &location).await;
    assert_eq!(failed["Status"], "Failed");
    assert_eq!(
        failed["ErrorString"],
        "No Citrix Workspace Cloud Connector was found"
    );
    let calls = london.lab_get("/sites/London/calls").await;
    assert_eq!(calls["total"], 0);
    assert_eq!(
        london.get(&mpath).await["InMaintenanceMode"],
        machines["Items"][0]["InMaintenanceMode"]
    );

    // Out of outage mode, writes work again.
    london
        .lab_post("/sites/London/faults", json!({ "outage": false }))
        .await;
    let response = london
        .send(0, Method::POST, &format!("/Sessions/{}/$logoff", ids[0]))
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    lab.shutdown().await;
}
