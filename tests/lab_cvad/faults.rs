//! Injected faults: 429 storms, 503 with `retryDelay`, gateway 502/504 answers and short pages.

use crate::helpers::{Caller, expect_error, start};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn throttling_and_injected_errors() {
    let lab = start().await;
    let cloud = Caller::login(&lab, "Cloud").await;
    cloud
        .lab_post(
            "/sites/Cloud/faults",
            json!({ "throttle_next": 1, "retry_after_secs": 4 }),
        )
        .await;
    let response = cloud.send(2, Method::GET, "/Machines").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "4");
    assert!(response.headers().contains_key("citrix-transactionid"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/rateLimitExceeded"
    );
    assert_eq!(
        body["parameters"][0],
        json!({ "name": "retryDelay", "value": "4" })
    );
    assert_eq!(
        cloud.send(2, Method::GET, "/Machines").await.status(),
        StatusCode::OK
    );

    cloud
        .lab_post(
            "/sites/Cloud/faults",
            json!({ "error_rate": 1.0, "error_status": 502 }),
        )
        .await;
    let response = cloud.send(0, Method::GET, "/Machines").await;
    // A gateway's answer: no CVAD error body, no retry hint.
    assert_gateway(response, StatusCode::BAD_GATEWAY).await;
    let response = cloud
        .http
        .delete(format!("{}/sites/Cloud/faults", cloud.control))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    cloud
        .lab_post("/sites/Cloud/faults", json!({ "short_page": 7 }))
        .await;
    let page = cloud.get("/Machines?limit=100").await;
    assert_eq!(page["Items"].as_array().expect("Items").len(), 7);
    let response = cloud
        .http
        .post(format!("{}/sites/Cloud/faults", cloud.control))
        .json(&json!({ "error_rate": 3 }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("error_rate")
    );
    lab.shutdown().await;
}

/// What a gateway in front of the API answers: an HTML page, no CVAD body, no retry hint.
async fn assert_gateway(response: reqwest::Response, status: StatusCode) {
    assert_eq!(response.status(), status);
    assert!(response.headers().get("retry-after").is_none());
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("content type")
            .starts_with("text/html")
    );
    let text = response.text().await.expect("body");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(!text.contains("errors-api.cloud.com"), "{text}");
    assert!(!text.contains("retryDelay"), "{text}");
    assert!(text.contains(&status.as_u16().to_string()), "{text}");
}

#[tokio::test]
async fn gateway_errors_are_bare_and_service_errors_carry_retry_delay() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    for status in [502u16, 504] {
        london
            .lab_post(
                "/sites/London/faults",
                json!({ "error_rate": 1.0, "error_status": status, "retry_after_secs": 3 }),
            )
            .await;
        let response = london.send(1, Method::GET, "/Sessions").await;
        let status = StatusCode::from_u16(status).expect("status");
        assert!(response.headers().contains_key("citrix-transactionid"));
        assert_gateway(response, status).await;
    }
    // 503 keeps the CVAD body with retryDelay and Retry-After.
    london
        .lab_post("/sites/London/faults", json!({ "error_status": 503 }))
        .await;
    let response = london.send(1, Method::GET, "/Sessions").await;
    assert_eq!(response.headers()["retry-after"], "3");
    let body = expect_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "common/serviceUnavailable",
    )
    .await;
    assert_eq!(
        body["parameters"][0],
        json!({ "name": "retryDelay", "value": "3" })
    );
    lab.shutdown().await;
}
