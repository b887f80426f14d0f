//! Error answers: lower-case `{type, detail, parameters}` bodies for bad input, unknown routes and bad paths, and case-insensitive resource segments.

use crate::helpers::{Caller, expect_error, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn bad_input_gets_lower_case_errors() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    let response = london.send(0, Method::GET, "/Machines/LAB|NOPE-001").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["type"], "https://errors-api.cloud.com/common/notFound");
    assert_eq!(
        body["parameters"][0],
        json!({ "name": "entityType", "value": "Machine" })
    );
    assert_eq!(
        body["parameters"][1],
        json!({ "name": "id", "value": "LAB|NOPE-001" })
    );

    let response = london.send(0, Method::GET, "/Sessions?limit=1001").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/outOfRange"
    );

    let response = london
        .request(0, Method::POST, "/Sessions/$search")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/invalidJson"
    );

    let filters = json!({ "SearchFilters": [{ "Property": "PowerState", "Value": "Sideways", "Operator": "Equals" }] });
    let response = london.post("/Machines/$search", filters).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/invalidEnum"
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_get_json_errors() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    let response = london.send(0, Method::GET, "/NoSuchThing").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["type"], "https://errors-api.cloud.com/common/notFound");
    let response = london
        .send(0, Method::POST, "/Machines/LAB|NOPE/$explode")
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    lab.shutdown().await;
}

#[tokio::test]
async fn path_and_method_errors_are_cvad_json() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    // A path parameter that does not decode (invalid UTF-8) is a 400 in CVAD's format.
    let response = london.send(0, Method::GET, "/Machines/%FF%FE").await;
    let body = expect_error(response, StatusCode::BAD_REQUEST, "common/invalidString").await;
    assert!(body["detail"].is_string());
    let response = london
        .send(0, Method::POST, "/Sessions/%C3%28/$logoff")
        .await;
    expect_error(response, StatusCode::BAD_REQUEST, "common/invalidString").await;
    // A known path with a method it does not serve, and unknown paths anywhere.
    let response = london.send(0, Method::DELETE, "/Machines").await;
    let body = expect_error(response, StatusCode::NOT_FOUND, "common/notFound").await;
    assert_eq!(
        body["parameters"][1],
        json!({ "name": "id", "value": "DELETE /cvad/manage/Machines" })
    );
    let response = london
        .http
        .get(format!("{}/nowhere", london.site.endpoints[0]))
        .send()
        .await
        .expect("send");
    expect_error(response, StatusCode::NOT_FOUND, "common/notFound").await;
    lab.shutdown().await;
}

#[tokio::test]
async fn resource_segments_match_in_any_case() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    let exact = london.get("/Machines?limit=3").await;
    let lower = london.get("/machines?limit=3").await;
    assert_eq!(exact["Items"], lower["Items"]);
    let upper = london.get("/MACHINES?limit=3").await;
    assert_eq!(exact["Items"], upper["Items"]);
    let id = exact["Items"][0]["Id"].as_str().expect("id");
    let one = london.get(&format!("/mAcHiNeS/{id}/sessions")).await;
    assert!(one["Items"].is_array());
    let groups = london.get("/deliverygroups").await;
    assert!(!groups["Items"].as_array().expect("Items").is_empty());
    let catalogs = london.get("/machinecatalogs").await;
    assert!(!catalogs["Items"].as_array().expect("Items").is_empty());
    let body = json!({ "SearchFilters": [{ "Property": "SessionState", "Value": "Active", "Operator": "Equals" }] });
    let response = london.post("/sessions/$SEARCH?limit=2", body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.expect("json");
    assert!(page["TotalItems"].as_u64() >= Some(1));
    // The prefix and discovery routes too.
    let response = london
        .http
        .get(format!("{}/CVAD/Manage/ME", london.site.endpoints[1]))
        .header("Authorization", format!("CWSAuth bearer={}", london.token))
        .header("Citrix-CustomerId", &london.site.customer_id)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    lab.shutdown().await;
}
