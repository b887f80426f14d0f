//! Discovery and wire names: sites, zones, raw PascalCase fields, transaction ids and the simulated `Date`.

use crate::helpers::{Caller, start};
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn sites_zones_and_raw_field_names() {
    let lab = start().await;
    let sites = &lab.info().sites;
    assert_eq!(sites.len(), 2);
    for site in sites {
        let endpoints: usize = site.zones.iter().map(|z| z.endpoints.len()).sum();
        assert_eq!(endpoints, site.endpoints.len());
        assert!(site.zones.iter().all(|z| z.endpoints.len() == 2));
    }
    let cloud = Caller::login(&lab, "Cloud").await;
    let zones = cloud.get("/Zones").await;
    let names: Vec<&str> = zones["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .filter_map(|z| z["Name"].as_str())
        .collect();
    assert_eq!(names, ["Frankfurt", "Virginia", "Singapore"]);
    assert_eq!(zones["Items"][0]["IsHealthy"], true);

    let london = Caller::login(&lab, "London").await;
    let me = london.get("/me").await;
    assert_eq!(me["Customers"][0]["Id"], "CitrixOnPremises");
    assert_eq!(
        me["Customers"][0]["Sites"][0]["Id"],
        london.site.site_id.as_str()
    );
    let machines = london.get("/Machines?limit=5").await;
    let items = machines["Items"].as_array().expect("Items");
    assert_eq!(items.len(), 5);
    assert!(machines["ContinuationToken"].is_string());
    for key in [
        "PowerState",
        "SummaryState",
        "RegistrationState",
        "FaultState",
        "Name",
        "Id",
    ] {
        assert!(items[0].get(key).is_some(), "machine has {key}");
    }
    assert!(
        items[0]["Name"]
            .as_str()
            .expect("name")
            .starts_with("LAB\\")
    );
    let groups = london.get("/DeliveryGroups").await;
    let group = &groups["Items"][0];
    for key in [
        "TotalDesktops",
        "DesktopsAvailable",
        "DesktopsInUse",
        "SessionCount",
    ] {
        assert!(group.get(key).is_some(), "group has {key}");
    }
    let sessions = london.get("/Sessions?limit=3").await;
    let session = &sessions["Items"][0];
    assert!(session["User"]["SamName"].is_string());
    assert!(session["Machine"]["Name"].is_string());
    for path in [
        "/MachineCatalogs",
        "/Applications",
        "/ApplicationGroups",
        "/Sites",
    ] {
        let page = london.get(path).await;
        assert!(
            !page["Items"].as_array().expect("Items").is_empty(),
            "{path}"
        );
    }
    // The transaction id is echoed, or made up when absent.
    let response = london
        .request(0, Method::GET, "/Zones")
        .header("Citrix-TransactionId", "abc-123")
        .send()
        .await
        .expect("send");
    assert_eq!(response.headers()["citrix-transactionid"], "abc-123");
    let response = london.send(1, Method::GET, "/Zones").await;
    assert_eq!(response.headers()["citrix-transactionid"].len(), 36);
    lab.shutdown().await;
}

/// The `Date` of an answer, parsed.
fn date_of(response: &reqwest::Response) -> DateTime<Utc> {
    let text = response.headers()["date"].to_str().expect("date");
    DateTime::parse_from_rfc2822(text)
        .expect("an HTTP date")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn date_headers_are_in_simulated_time() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    let cloud = Caller::login(&lab, "Cloud").await;
    london.freeze().await;
    let now = |clock: &Value| {
        DateTime::parse_from_rfc3339(clock["now"].as_str().expect("now"))
            .expect("rfc3339")
            .with_timezone(&Utc)
    };
    let sim = now(&london.lab_get("/clock").await);
    let response = london.send(0, Method::GET, "/Zones").await;
    let before = date_of(&response);
    assert!((before - sim).num_seconds().abs() <= 1, "{before} vs {sim}");

    london
        .lab_post("/clock", json!({ "advance_secs": 3600 }))
        .await;
    let sim = now(&london.lab_get("/clock").await);
    // The API, error answers (the hour-long token has just expired; an unknown machine),
    // the on-prem token route and the cloud trust service.
    let expired = london.send(0, Method::GET, "/Zones").await;
    let london = Caller::login(&lab, "London").await;
    let api = london.send(1, Method::GET, "/Zones").await;
    let error = london.send(1, Method::GET, "/Machines/LAB|NOPE").await;
    assert_eq!(error.status(), StatusCode::NOT_FOUND);
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let onprem = london
        .http
        .post(&london.site.token_url)
        .send()
        .await
        .expect("send");
    let trust = cloud
        .http
        .post(&cloud.site.token_url)
        .send()
        .await
        .expect("send");
    for (what, response) in [
        ("api", api),
        ("error", error),
        ("onprem", onprem),
        ("trust", trust),
    ] {
        let date = date_of(&response);
        let moved = (date - before).num_seconds();
        assert!((3600..=3602).contains(&moved), "{what}: moved {moved} s");
        assert!(
            (date - sim).num_seconds().abs() <= 1,
            "{what}: {date} vs {sim}"
        );
        assert!(
            (date - Utc::now()).num_seconds() >= 3590,
            "{what}: ahead of wall time"
        );
    }
    lab.shutdown().await;
}
