//! Authentication: missing and invalid tokens, scheme case, instance checks, token expiry and revocation.

use crate::helpers::{Caller, start};
use deskbridge::lab::SiteCredentials;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn authentication_errors_and_token_expiry() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let url = format!("{}/cvad/manage/Machines", london.site.endpoints[0]);
    let response = london.http.get(&url).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/authentication"
    );
    assert_eq!(body["detail"], "Missing or invalid authentication details");
    assert_eq!(
        body["parameters"][0],
        json!({ "name": "reason", "value": "missing" })
    );

    for auth in ["CWSAuth bearer=nope", &format!("Bearer {}", london.token)] {
        let response = london
            .http
            .get(&url)
            .header("Authorization", auth)
            .header("Citrix-CustomerId", "CitrixOnPremises")
            .header("Citrix-InstanceId", &london.site.site_id)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["parameters"][0]["value"], "invalid");
    }
    // Scheme and key are case-insensitive.
    let response = london
        .http
        .get(&url)
        .header("Authorization", format!("cwsauth Bearer={}", london.token))
        .header("Citrix-CustomerId", "CitrixOnPremises")
        .header("Citrix-InstanceId", &london.site.site_id)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    // A wrong instance id is refused.
    let response = london
        .http
        .get(&url)
        .header("Authorization", format!("CWSAuth bearer={}", london.token))
        .header("Citrix-CustomerId", "CitrixOnPremises")
        .header("Citrix-InstanceId", "not-this-site")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Wrong Basic password.
    let response = london
        .http
        .post(&london.site.token_url)
        .basic_auth("LAB\\svc-deskbridge", Some("wrong"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Wrong cloud secret: OAuth error JSON.
    let cloud = lab.info().site("Cloud").expect("cloud");
    let SiteCredentials::Client { client_id, .. } = &cloud.credentials else {
        panic!("cloud site uses client credentials");
    };
    let response = london
        .http
        .post(&cloud.token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");

    // Tokens expire after an hour of simulated time.
    london.advance(3601.0).await;
    let response = london.send(0, Method::GET, "/Zones").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Revocation through the control API.
    let fresh = Caller::login(&lab, "London").await;
    assert_eq!(
        fresh.send(1, Method::GET, "/Zones").await.status(),
        StatusCode::OK
    );
    let answer = fresh
        .lab_post(
            "/sites/London/auth",
            json!({ "revoke_all": true, "token_ttl_secs": 60 }),
        )
        .await;
    assert_eq!(answer["token_ttl_secs"], 60);
    assert_eq!(
        fresh.send(1, Method::GET, "/Zones").await.status(),
        StatusCode::UNAUTHORIZED
    );
    lab.shutdown().await;
}
