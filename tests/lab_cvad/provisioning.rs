//! MCS provisioning jobs (with `X-AdminCredential`), delivery-group membership and maintenance mode.

use crate::helpers::{Caller, admin_credential, expect_error, job, location_of, start};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn mcs_provisioning_job_progress_and_cancel() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let catalogs = london.get("/MachineCatalogs").await;
    let catalog = catalogs["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .find(|c| c["Name"] == "LDN Win11 Pooled")
        .expect("catalog")
        .clone();
    let scheme = catalog["ProvisioningScheme"]["NamingScheme"]
        .as_str()
        .expect("scheme")
        .to_string();
    let before = catalog["TotalCount"].as_u64().expect("count");
    let body = json!({
        "MachineAccountCreationRules": { "NamingScheme": scheme, "NamingSchemeType": "Numeric", "Domain": "lab.example" }
    });
    let path = format!(
        "/MachineCatalogs/{}/Machines?async=true",
        catalog["Id"].as_str().expect("id")
    );
    let response = london
        .request(0, Method::POST, &path)
        .header("X-AdminCredential", admin_credential())
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = location_of(&response);
    london.advance(1.0).await;
    let job1 = job(&london, &location).await;
    assert_eq!(job1["Type"], "AddMachineCatalogMachine");
    assert_eq!(job1["Status"], "InProgress");
    assert_eq!(job1["IsCancellable"], true);
    assert_eq!(job1["SubJobs"].as_array().expect("SubJobs").len(), 3);
    assert_eq!(job1["SubJobs"][0]["Status"], "InProgress");
    london.advance(10.0).await;
    let job2 = job(&london, &location).await;
    assert_eq!(job2["SubJobs"][0]["Status"], "Complete");
    assert_eq!(job2["SubJobs"][1]["Status"], "InProgress");
    assert!(job2["OverallProgressPercent"].as_u64() > job1["OverallProgressPercent"].as_u64());
    london.advance(21.0).await;
    let done = job(&london, &location).await;
    assert_eq!(done["Status"], "Complete");
    let machine_url = done["ResultLocation"].as_str().expect("result");
    let machine = job(&london, machine_url).await;
    assert_eq!(machine["PowerState"], "Off");
    assert_eq!(machine["MachineCatalog"]["Id"], catalog["Id"]);
    let expected_prefix = scheme.trim_end_matches('#');
    assert!(
        machine["Name"]
            .as_str()
            .expect("name")
            .starts_with(&format!("LAB\\{expected_prefix}"))
    );
    let after = london
        .get(&format!(
            "/MachineCatalogs/{}",
            catalog["Id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(after["TotalCount"].as_u64(), Some(before + 1));

    // A second job cancelled while running creates nothing.
    let response = london
        .request(0, Method::POST, &path)
        .header("X-AdminCredential", admin_credential())
        .json(&body)
        .send()
        .await
        .expect("send");
    let location = location_of(&response);
    london.advance(5.0).await;
    let id = location.rsplit('/').next().expect("id").to_string();
    let response = london
        .send(0, Method::POST, &format!("/Jobs/{id}/$cancel"))
        .await;
    assert!(response.status().is_success());
    london.advance(60.0).await;
    let cancelled = job(&london, &location).await;
    assert_eq!(cancelled["Status"], "Canceled");
    assert_eq!(cancelled["IsCancellable"], false);
    let after = london
        .get(&format!(
            "/MachineCatalogs/{}",
            catalog["Id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(after["TotalCount"].as_u64(), Some(before + 1));
    // Cancelling again is refused; other callers' jobs do not exist.
    let response = london
        .send(0, Method::POST, &format!("/Jobs/{id}/$cancel"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    lab.shutdown().await;
}

#[tokio::test]
async fn delivery_group_machines_and_maintenance() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let groups = london.get("/DeliveryGroups").await;
    let group = groups["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .find(|g| g["Name"] == "London Pooled Desktops")
        .expect("group")
        .clone();
    let gid = group["Id"].as_str().expect("id");
    let body = json!({ "MachineCatalog": "LDN Win11 Pooled", "Count": 2 });
    let response = london
        .post(&format!("/DeliveryGroups/{gid}/Machines"), body)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = london.get(&format!("/DeliveryGroups/{gid}")).await;
    assert_eq!(
        after["TotalDesktops"].as_u64(),
        group["TotalDesktops"].as_u64().map(|n| n + 2)
    );
    // Too many is refused and changes nothing.
    let response = london
        .post(
            &format!("/DeliveryGroups/{gid}/Machines"),
            json!({ "MachineCatalog": "LDN Win11 Pooled", "Count": 500 }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Remove an idle machine again.
    let machines = london
        .get(&format!("/DeliveryGroups/{gid}/Machines?limit=1000"))
        .await;
    let idle = machines["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .find(|m| m["SessionCount"] == 0)
        .expect("idle")
        .clone();
    let response = london
        .send(
            0,
            Method::DELETE,
            &format!(
                "/DeliveryGroups/{gid}/Machines/{}",
                idle["Name"].as_str().expect("name").replace('\\', "|")
            ),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Maintenance mode through PATCH, also as a job.
    let mpath = format!("/Machines/{}", idle["Id"].as_str().expect("id"));
    let response = london
        .request(0, Method::PATCH, &mpath)
        .json(&json!({ "InMaintenanceMode": true }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(london.get(&mpath).await["InMaintenanceMode"], true);
    let response = london
        .request(0, Method::PATCH, &format!("{mpath}?async=true"))
        .json(&json!({ "InMaintenanceMode": false }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    london.advance(1.0).await;
    assert_eq!(london.get(&mpath).await["InMaintenanceMode"], false);
    let response = london
        .request(0, Method::PATCH, &mpath)
        .json(&json!({ "InMaintenanceMode": "yes" }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    lab.shutdown().await;
}

#[tokio::test]
async fn creating_machine_accounts_needs_an_admin_credential() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let catalog = london.get("/MachineCatalogs/LDN Win11 Pooled").await;
    let scheme = catalog["ProvisioningScheme"]["NamingScheme"]
        .as_str()
        .expect("scheme")
        .to_string();
    let body = json!({
        "MachineAccountCreationRules": { "NamingScheme": scheme, "NamingSchemeType": "Numeric", "Domain": "lab.example" }
    });
    let path = format!(
        "/MachineCatalogs/{}/Machines",
        catalog["Id"].as_str().expect("id")
    );
    // Missing: 400 common/missing naming the header, sync or async.
    for query in ["", "?async=true"] {
        let response = london.post(&format!("{path}{query}"), body.clone()).await;
        let error = expect_error(response, StatusCode::BAD_REQUEST, "common/missing").await;
        assert!(
            error["detail"]
                .as_str()
                .expect("detail")
                .contains("X-AdminCredential"),
            "{error}"
        );
        assert_eq!(
            error["parameters"][0],
            json!({ "name": "name", "value": "X-AdminCredential" })
        );
    }
    // Malformed: 400 common/invalidString.
    for bad in ["Basic", "Bearer abc", "Basic !!!", "Basic bm9jb2xvbg=="] {
        let response = london
            .request(0, Method::POST, &path)
            .header("X-AdminCredential", bad)
            .json(&body)
            .send()
            .await
            .expect("send");
        expect_error(response, StatusCode::BAD_REQUEST, "common/invalidString").await;
    }
    // Nothing was created or reserved by the refusals.
    let after = london.get(&path.replace("/Machines", "")).await;
    assert_eq!(after["TotalCount"], catalog["TotalCount"]);
    let calls = london.lab_get("/sites/London/calls").await;
    assert_eq!(calls["total"], 0);
    // Well formed: accepted.
    let response = london
        .request(0, Method::POST, &format!("{path}?async=true"))
        .header("X-AdminCredential", admin_credential())
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    london.advance(31.0).await;
    let location = location_of(&response);
    let done = job(&london, &location).await;
    assert_eq!(done["Status"], "Complete");
    let machine = job(&london, done["ResultLocation"].as_str().expect("result")).await;
    let first = scheme.replacen('#', "", scheme.matches('#').count());
    assert!(
        machine["Name"]
            .as_str()
            .expect("name")
            .starts_with(&format!("LAB\\{first}")),
        "{machine}"
    );
    lab.shutdown().await;
}
