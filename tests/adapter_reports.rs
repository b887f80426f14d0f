//! Reports over real HTTP against the lab: the catalog, each report's JSON, the `site=`
//! filter, the errors (unknown report 404, bad parameter 422), `resources` agreeing with the
//! whole-site machine and session lists, a finished job counted in `jobs`, and the
//! `deskbridge report` binary printing each format from a served adapter.

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

use deskbridge::lab::Scale;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::Api;
use support::{LabAdapter, SECRET, token, until};

/// The report once every source has data (the first refreshes and polls are done).
async fn loaded(api: &Api, token: &str, path: &str) -> Value {
    until(path, Duration::from_secs(60), async || {
        let (status, report) = api.get(token, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {report}");
        let sources = report["sources"].as_array().cloned().unwrap_or_default();
        sources
            .iter()
            .all(|s| !s["fetched_at"].is_null())
            .then_some(report)
    })
    .await
}

fn column(report: &Value, name: &str) -> usize {
    report["columns"]
        .as_array()
        .and_then(|c| c.iter().position(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("column {name} in {}", report["columns"]))
}

fn rows(report: &Value) -> Vec<Vec<Value>> {
    serde_json::from_value(report["rows"].clone()).expect("rows of cells")
}

fn group_of(item: &Value) -> String {
    item["delivery_group"]["name"]
        .as_str()
        .unwrap_or("(no delivery group)")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_over_http() {
    let rig = LabAdapter::start(Scale::Small, &|_| {}).await;
    let api = Api::new(&rig.url);
    let viewer = token(&api.http, &rig.url, rig.id("viewer")).await;

    // The catalog: three reports, each with its parameters.
    let (status, list) = api.get(&viewer, "/api/v1/reports").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["resources", "tickets", "jobs"]);
    let jobs_params = &list["items"][2]["parameters"];
    assert_eq!(jobs_params[0]["name"], "since");
    assert_eq!(jobs_params[0]["default"], "24h");
    assert_eq!(jobs_params[1]["values"], json!(["hour", "day"]));

    // resources: the same counts as the whole-site lists of the same snapshot.
    let report = loaded(&api, &viewer, "/api/v1/reports/resources").await;
    assert_eq!(report["name"], "resources");
    let sites: Vec<String> = report["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(sites.len() >= 2, "{sites:?}");
    let all_rows = rows(&report);
    assert!(
        all_rows
            .iter()
            .all(|r| r.len() == report["columns"].as_array().map_or(0, Vec::len))
    );
    for site in &sites {
        // Refreshes may land between two calls: compare only answers of one snapshot.
        let (report, machines, sessions) =
            until("one snapshot", Duration::from_secs(30), async || {
                let (_, report) = api
                    .get(&viewer, &format!("/api/v1/reports/resources?site={site}"))
                    .await;
                let (_, machines) = api
                    .get(&viewer, &format!("/api/v1/sites/{site}/machines"))
                    .await;
                let (_, sessions) = api
                    .get(&viewer, &format!("/api/v1/sites/{site}/sessions"))
                    .await;
                let at = report["sources"][0]["fetched_at"].clone();
                let same = at == machines["fetched_at"] && at == sessions["fetched_at"];
                same.then_some((report, machines, sessions))
            })
            .await;
        let site_rows = rows(&report);
        assert!(!site_rows.is_empty(), "{site}");
        assert!(
            site_rows.iter().all(|r| r[0] == json!(site)),
            "site= keeps one site"
        );
        let items = machines["items"].as_array().expect("machines");
        let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
        for m in items {
            *expected
                .entry((group_of(m), "machines".into()))
                .or_default() += 1;
            let summary = m["summary_state"].as_str().unwrap_or_default();
            *expected.entry((group_of(m), summary.into())).or_default() += 1;
        }
        for s in sessions["items"].as_array().expect("sessions") {
            *expected
                .entry((group_of(s), "sessions".into()))
                .or_default() += 1;
        }
        let machines_col = column(&report, "machines");
        let sessions_col = column(&report, "sessions");
        let mut total = 0;
        for row in &site_rows {
            let group = row[1].as_str().unwrap_or_default().to_owned();
            let get = |what: &str| expected.get(&(group.clone(), what.to_owned())).copied();
            assert_eq!(
                row[machines_col].as_u64(),
                Some(get("machines").unwrap_or(0)),
                "{site} {group}"
            );
            assert_eq!(
                row[sessions_col].as_u64(),
                Some(get("sessions").unwrap_or(0)),
                "{site} {group}"
            );
            for state in ["Available", "InUse", "Disconnected", "Off"] {
                let col = column(&report, &format!("summary_{}", snake(state)));
                assert_eq!(
                    row[col].as_u64(),
                    Some(get(state).unwrap_or(0)),
                    "{site} {group} {state}"
                );
            }
            total += row[machines_col].as_u64().unwrap_or(0);
        }
        assert_eq!(
            total,
            items.len() as u64,
            "every machine of {site} is in a row"
        );
    }

    // tickets: each row's buckets add up to its total, and there are open tickets.
    let tickets = loaded(&api, &viewer, "/api/v1/reports/tickets").await;
    let names: Vec<&str> = tickets["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        names[..8],
        [
            "instance", "queue", "state", "under_1h", "1h_4h", "4h_24h", "1d_3d", "over_3d"
        ]
    );
    let ticket_rows = rows(&tickets);
    assert!(!ticket_rows.is_empty(), "{tickets}");
    let total_col = column(&tickets, "total");
    for row in &ticket_rows {
        let buckets: u64 = row[3..total_col].iter().filter_map(Value::as_u64).sum();
        assert_eq!(Some(buckets), row[total_col].as_u64(), "{row:?}");
    }
    assert_eq!(tickets["sources"][0]["kind"], "instance");

    // jobs: a logoff that ran is counted in this hour's bucket.
    let helpdesk = token(&api.http, &rig.url, rig.id("helpdesk")).await;
    let (_, sessions) = api.get(&helpdesk, "/api/v1/sites/London/sessions").await;
    let session = sessions["items"][0]["id"]
        .as_str()
        .expect("a session")
        .to_owned();
    let (status, job) = api
        .post(
            &helpdesk,
            "/api/v1/jobs",
            json!({ "action": "session.logoff", "targets": [{ "site": "London", "id": session }] }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let done = api.finished(&helpdesk, &job).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let (status, jobs) = api
        .get(&viewer, "/api/v1/reports/jobs?since=2h&by=hour")
        .await;
    assert_eq!(status, StatusCode::OK, "{jobs}");
    assert_eq!(jobs["parameters"], json!({ "since": "2h", "by": "hour" }));
    let logoff: Vec<Vec<Value>> = rows(&jobs)
        .into_iter()
        .filter(|r| r[1] == "session.logoff")
        .collect();
    let succeeded: u64 = logoff
        .iter()
        .filter_map(|r| r[column(&jobs, "succeeded")].as_u64())
        .sum();
    assert_eq!(succeeded, 1, "{jobs}");
    let bucket = logoff[0][0].as_str().unwrap_or_default();
    assert!(bucket.ends_with(":00:00Z"), "an hour's start: {bucket}");
    let (_, daily) = api.get(&viewer, "/api/v1/reports/jobs?by=day").await;
    assert_eq!(
        rows(&daily)[0][0].as_str().map(str::len),
        Some(10),
        "{daily}"
    );

    // Errors: JSON, with the right status and a message naming what is wrong.
    for (path, status, needle) in [
        (
            "/api/v1/reports/nope",
            StatusCode::NOT_FOUND,
            "resources, tickets, jobs",
        ),
        (
            "/api/v1/reports/jobs?since=forever",
            StatusCode::UNPROCESSABLE_ENTITY,
            "since",
        ),
        (
            "/api/v1/reports/jobs?since=0h",
            StatusCode::UNPROCESSABLE_ENTITY,
            "since",
        ),
        (
            "/api/v1/reports/jobs?by=week",
            StatusCode::UNPROCESSABLE_ENTITY,
            "by=",
        ),
        (
            "/api/v1/reports/resources?site=Atlantis",
            StatusCode::UNPROCESSABLE_ENTITY,
            "London",
        ),
        (
            "/api/v1/reports/tickets?site=London",
            StatusCode::UNPROCESSABLE_ENTITY,
            "no parameters",
        ),
    ] {
        let (got, body) = api.get(&viewer, path).await;
        assert_eq!(got, status, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{path}: {body}");
        assert!(body["error"]["code"].is_string(), "{path}: {body}");
    }
    let (status, _) = api.get("not-a-token", "/api/v1/reports/resources").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The OpenAPI document has both endpoints.
    let (_, doc) = api.get(&viewer, "/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/reports"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/reports/{name}"]["get"]["responses"]["422"].is_object());

    // The binary, in each format, against this adapter.
    let url = rig.url.clone();
    let id = rig.id("viewer").to_string();
    let cli = move |args: &[&str]| -> Output {
        let home =
            std::env::temp_dir().join(format!("deskbridge-report-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&home).expect("scratch");
        let out = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
            .arg("report")
            .args(args)
            .env("XDG_CONFIG_HOME", &home)
            .env("XDG_DATA_HOME", &home)
            .env("XDG_STATE_HOME", &home)
            .env("DESKBRIDGE_ADAPTER_URL", &url)
            .env("DESKBRIDGE_CLIENT_ID", &id)
            .env("DESKBRIDGE_CLIENT_SECRET", SECRET)
            .env_remove("DESKBRIDGE_CLIENT_SECRET_FILE")
            .output()
            .expect("the binary runs");
        let _ = std::fs::remove_dir_all(&home);
        out
    };
    let run = |args: Vec<&'static str>| {
        let cli = cli.clone();
        tokio::task::spawn_blocking(move || cli(&args))
    };
    let csv_out = run(vec!["resources", "--format", "csv", "--site", "London"])
        .await
        .expect("joined");
    assert!(
        csv_out.status.success(),
        "{}",
        String::from_utf8_lossy(&csv_out.stderr)
    );
    let mut reader = csv::Reader::from_reader(csv_out.stdout.as_slice());
    let header = reader.headers().expect("a header").clone();
    assert_eq!(&header[0], "site");
    assert_eq!(&header[2], "machines");
    let records: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("every record parses");
    assert!(!records.is_empty());
    assert!(records.iter().all(|r| &r[0] == "London"));

    let json_out = run(vec!["tickets", "--format", "json"])
        .await
        .expect("joined");
    assert!(
        json_out.status.success(),
        "{}",
        String::from_utf8_lossy(&json_out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&json_out.stdout).expect("the output is JSON");
    assert_eq!(parsed["name"], "tickets");
    assert!(parsed["rows"].is_array());

    let table_out = run(vec!["jobs", "--since", "2h"]).await.expect("joined");
    assert!(
        table_out.status.success(),
        "{}",
        String::from_utf8_lossy(&table_out.stderr)
    );
    let text = String::from_utf8_lossy(&table_out.stdout);
    let header = text.lines().nth(1).unwrap_or_default();
    assert!(
        header.starts_with("Hour") && header.contains("Succeeded"),
        "{text}"
    );
    assert!(text.contains("session.logoff"), "{text}");

    let bad = run(vec!["jobs", "--since", "forever"])
        .await
        .expect("joined");
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("since=\"forever\""), "{err}");
    assert!(bad.stdout.is_empty());

    rig.stop().await;
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
