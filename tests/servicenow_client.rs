//! The ServiceNow client against the lab's simulated instance, over real HTTP: auth (Basic and
//! the three OAuth grants, renewal), paging, retries, error envelopes, every table operation,
//! ticket lifecycle writes, journals, catalog variables, order_now, and a property test that
//! awkward values survive an insert + encoded-query round trip.

use deskbridge::lab::{Lab, LabOptions, ServiceNowInfo};
use deskbridge::model::{IncidentState, TaskState, TicketKind, TicketState};
use deskbridge::secret::Secret;
use deskbridge::servicenow::{
    Auth, AuthMode, DisplayValue, Error, ListParams, OAuthGrant, Query, ReadOptions,
    ServiceNowClient, ServiceNowConfig, TicketUpdate, TransportKind,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn start() -> Result<(Lab, ServiceNowInfo), Box<dyn std::error::Error>> {
    let lab = Lab::start(LabOptions::default()).await?;
    let info = lab
        .info()
        .servicenow
        .first()
        .cloned()
        .ok_or("the lab has no ServiceNow instance")?;
    Ok((lab, info))
}

fn client(info: &ServiceNowInfo, mode: AuthMode) -> Result<ServiceNowClient, Error> {
    ServiceNowClient::new(ServiceNowConfig::from_lab(info, mode))
}

/// POST (or DELETE with `None`) to the lab's control API for the instance.
async fn control(lab: &Lab, path: &str, body: Option<Value>) -> TestResult {
    let url = format!("{}/servicenow/lab/{path}", lab.info().control);
    let http = reqwest::Client::new();
    let rb = match body {
        Some(body) => http.post(url).json(&body),
        None => http.delete(url),
    };
    let status = rb.send().await?.status();
    if !status.is_success() {
        return Err(format!("control {path} answered {status}").into());
    }
    Ok(())
}

async fn advance_clock(lab: &Lab, secs: u64) -> TestResult {
    let url = format!("{}/clock", lab.info().control);
    let status = reqwest::Client::new()
        .post(url)
        .json(&json!({ "advance_secs": secs }))
        .send()
        .await?
        .status();
    if !status.is_success() {
        return Err(format!("clock answered {status}").into());
    }
    Ok(())
}

/// How many API requests reached the instance so far (faulted ones included).
async fn requests_seen(lab: &Lab) -> Result<u64, Box<dyn std::error::Error>> {
    let url = format!("{}/servicenow/lab/calls", lab.info().control);
    let calls: Value = reqwest::get(url).await?.json().await?;
    calls["requests"]
        .as_u64()
        .ok_or_else(|| "no request count".into())
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A query matching only the rows inserted under `marker`.
fn marked(marker: &str) -> Query {
    Query::new().eq("short_description", marker)
}

#[tokio::test]
async fn basic_auth_reads_users_and_groups() -> TestResult {
    let (lab, info) = start().await?;
    let sn = client(&info, AuthMode::Basic)?;
    let some = sn
        .list(
            "sys_user",
            &ListParams::new()
                .query(
                    Query::new()
                        .eq("active", "true")
                        .is_not_empty("email")
                        .build()?,
                )
                .fields(["sys_id", "user_name", "email"])
                .page_size(5)
                .max_records(5),
        )
        .await?;
    assert_eq!(some.len(), 5);
    let login = some[3].str("user_name")?;
    let by_login = sn.user_by_user_name(login).await?.ok_or("user not found")?;
    assert_eq!(Some(by_login.sys_id.as_str()), some[3].sys_id());
    assert!(!by_login.user.display_name.is_empty());
    let by_mail = sn
        .user_by_email(&by_login.user.mail)
        .await?
        .ok_or("user not found by e-mail")?;
    assert_eq!(by_mail.sys_id, by_login.sys_id);
    assert!(sn.user_by_user_name("no.such.person").await?.is_none());
    assert!(sn.group_by_name("Service Desk").await?.is_some());
    assert_eq!(sn.auth_stats().password_grants, 0);
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bad_credentials_are_rejected_without_leaking_them() -> TestResult {
    let (lab, info) = start().await?;
    let mut config = ServiceNowConfig::from_lab(&info, AuthMode::Basic);
    config.auth = Auth::Basic {
        username: info.username.clone(),
        password: Secret::new("wrong-password-xyz"),
    };
    let err = ServiceNowClient::new(config)?
        .get("sys_user", "0123", &ReadOptions::new())
        .await
        .err()
        .ok_or("a wrong password was accepted")?;
    assert_eq!(err.status(), Some(401));
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains("wrong-password-xyz"), "{err}");

    for grant in [
        OAuthGrant::ClientCredentials,
        OAuthGrant::Password {
            username: info.username.clone(),
            password: Secret::new("wrong-password-xyz"),
        },
    ] {
        let mut config = ServiceNowConfig::from_lab(&info, AuthMode::OAuthPassword);
        let secret = if matches!(grant, OAuthGrant::ClientCredentials) {
            "wrong-secret-xyz".to_owned()
        } else {
            info.client_secret.clone()
        };
        config.auth = Auth::OAuth {
            client_id: info.client_id.clone(),
            client_secret: Secret::new(secret),
            grant,
        };
        let err = ServiceNowClient::new(config)?
            .list_page("incident", &ListParams::new().page_size(1))
            .await
            .err()
            .ok_or("bad OAuth credentials were accepted")?;
        assert!(matches!(err, Error::Auth { .. }), "{err}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("wrong-"), "{text}");
        assert!(!text.contains(&info.client_secret), "{text}");
    }
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn every_oauth_grant_obtains_a_token() -> TestResult {
    let (lab, info) = start().await?;
    let params = ListParams::new().page_size(1).max_records(1);

    let sn = client(&info, AuthMode::OAuthPassword)?;
    assert_eq!(sn.list("incident", &params).await?.len(), 1);
    assert_eq!(sn.auth_stats().password_grants, 1);

    let sn = client(&info, AuthMode::OAuthClientCredentials)?;
    assert_eq!(sn.list("incident", &params).await?.len(), 1);
    assert_eq!(sn.auth_stats().client_credentials_grants, 1);

    // A refresh token obtained elsewhere (as a registration step would) is a grant of its own.
    let token: Value = reqwest::Client::new()
        .post(format!("{}/oauth_token.do", info.url))
        .form(&[
            ("grant_type", "password"),
            ("client_id", info.client_id.as_str()),
            ("client_secret", info.client_secret.as_str()),
            ("username", info.username.as_str()),
            ("password", info.password.as_str()),
        ])
        .send()
        .await?
        .json()
        .await?;
    let refresh = token["refresh_token"].as_str().ok_or("no refresh token")?;
    let mut config = ServiceNowConfig::from_lab(&info, AuthMode::OAuthPassword);
    config.auth = Auth::OAuth {
        client_id: info.client_id.clone(),
        client_secret: Secret::new(info.client_secret.clone()),
        grant: OAuthGrant::RefreshToken {
            refresh_token: Secret::new(refresh),
        },
    };
    let sn = ServiceNowClient::new(config)?;
    assert_eq!(sn.list("incident", &params).await?.len(), 1);
    assert_eq!(sn.auth_stats().refresh_grants, 1);
    assert_eq!(sn.auth_stats().password_grants, 0);
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tokens_are_shared_and_renewed() -> TestResult {
    let (lab, info) = start().await?;
    let sn = client(&info, AuthMode::OAuthPassword)?;
    // Concurrent first calls wait for one token instead of each fetching their own.
    let one = ListParams::new().page_size(1);
    let calls = (0..16).map(|_| sn.list_page("sys_user_group", &one));
    for page in futures::future::join_all(calls).await {
        page?;
    }
    assert_eq!(sn.auth_stats().password_grants, 1);

    // The instance's clock moves past expiry: the 401 triggers one renewal, by refresh token.
    advance_clock(&lab, 3_600).await?;
    sn.list_page("incident", &ListParams::new().page_size(1))
        .await?;
    let stats = sn.auth_stats();
    assert_eq!((stats.password_grants, stats.refresh_grants), (1, 1));

    // Past the refresh token's 100 days, refreshing fails and the password grant is repeated.
    advance_clock(&lab, 8_700_000).await?;
    sn.list_page("incident", &ListParams::new().page_size(1))
        .await?;
    let stats = sn.auth_stats();
    assert_eq!(stats.refresh_failures, 1);
    assert_eq!(stats.password_grants, 2);

    // Short-lived tokens are renewed before they expire, without waiting for a 401.
    control(&lab, "settings", Some(json!({ "token_ttl_secs": 2 }))).await?;
    let sn = client(&info, AuthMode::OAuthClientCredentials)?;
    sn.list_page("incident", &ListParams::new().page_size(1))
        .await?;
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    sn.list_page("incident", &ListParams::new().page_size(1))
        .await?;
    assert_eq!(sn.auth_stats().client_credentials_grants, 2);
    lab.shutdown().await;
    Ok(())
}

/// Inserts `n` incidents whose short description is `marker`, 32 at a time.
async fn insert_marked(sn: &ServiceNowClient, marker: &str, n: usize) -> TestResult {
    let mut left = n;
    while left > 0 {
        let batch = left.min(32);
        let bodies: Vec<_> = (0..batch)
            .map(|i| {
                fields(json!({ "short_description": marker, "description": format!("row {i}") }))
            })
            .collect();
        let inserts = bodies.iter().map(|body| sn.insert("incident", body));
        for r in futures::future::join_all(inserts).await {
            r?;
        }
        left -= batch;
    }
    Ok(())
}

#[tokio::test]
async fn paging_goes_past_a_thousand_rows_even_with_short_pages() -> TestResult {
    let (lab, info) = start().await?;
    let sn = client(&info, AuthMode::Basic)?;
    let marker = "paging-run-7f3a";
    insert_marked(&sn, marker, 1_234).await?;
    let params = ListParams::new()
        .query(marked(marker).order_by("number").build()?)
        .fields(["sys_id", "number"])
        .page_size(500);
    let check = |rows: &[deskbridge::servicenow::Record]| -> Result<(), String> {
        let ids: HashSet<&str> = rows.iter().filter_map(|r| r.sys_id()).collect();
        if rows.len() == 1_234 && ids.len() == 1_234 {
            Ok(())
        } else {
            Err(format!("{} rows, {} distinct", rows.len(), ids.len()))
        }
    };
    check(&sn.list("incident", &params).await?)?;

    // Pages capped at 37 rows: the client must keep going on the Link header / count.
    control(&lab, "faults", Some(json!({ "short_page": 37 }))).await?;
    check(&sn.list("incident", &params).await?)?;
    check(&sn.list("incident", &params.clone().no_count(true)).await?)?;
    let mut pager = sn.pages("incident", &params)?;
    let mut pages = 0;
    let mut rows = Vec::new();
    while let Some(page) = pager.next_page().await? {
        assert!(page.records.len() <= 37);
        assert_eq!(page.total, Some(1_234));
        pages += 1;
        rows.extend(page.records);
    }
    check(&rows)?;
    assert_eq!(pages, 1_234_usize.div_ceil(37));
    control(&lab, "faults", None).await?;

    // max_records stops early; a one-page read reports the total.
    let first = sn
        .list("incident", &params.clone().max_records(600))
        .await?;
    assert_eq!(first.len(), 600);
    let page = sn
        .list_page("incident", &params.clone().page_size(10).offset(1_230))
        .await?;
    assert_eq!((page.records.len(), page.total), (4, Some(1_234)));
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_within_bounds() -> TestResult {
    let (lab, info) = start().await?;
    let sn = client(&info, AuthMode::Basic)?;
    let params = ListParams::new().page_size(1).max_records(1);

    control(
        &lab,
        "faults",
        Some(json!({ "throttle_next": 2, "retry_after_secs": 1 })),
    )
    .await?;
    let started = Instant::now();
    assert_eq!(sn.list("incident", &params).await?.len(), 1);
    assert!(started.elapsed() >= Duration::from_millis(1_900));

    control(
        &lab,
        "faults",
        Some(json!({ "throttle_next": 10, "retry_after_secs": 0 })),
    )
    .await?;
    let err = sn.list("incident", &params).await.err().ok_or("no 429")?;
    assert_eq!(err.status(), Some(429));
    assert!(err.is_retryable());
    control(&lab, "faults", None).await?;

    control(
        &lab,
        "faults",
        Some(json!({ "error_rate": 1.0, "error_status": 503 })),
    )
    .await?;
    let err = sn.list("incident", &params).await.err().ok_or("no 503")?;
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable());
    control(&lab, "faults", None).await?;

    // Reads are retried on a 500 (four attempts); an insert is not, since it may have been
    // applied and a repeat would create a second record.
    control(
        &lab,
        "faults",
        Some(json!({ "error_rate": 1.0, "error_status": 500 })),
    )
    .await?;
    let before = requests_seen(&lab).await?;
    assert!(sn.list("incident", &params).await.is_err());
    assert_eq!(requests_seen(&lab).await? - before, 4);
    let before = requests_seen(&lab).await?;
    let err = sn
        .insert("incident", &fields(json!({"short_description": "once"})))
        .await
        .err()
        .ok_or("insert under a 500 storm succeeded")?;
    assert_eq!(err.status(), Some(500));
    assert_eq!(requests_seen(&lab).await? - before, 1);
    control(&lab, "faults", None).await?;

    control(&lab, "faults", Some(json!({ "outage": true }))).await?;
    let err = sn
        .list("incident", &params)
        .await
        .err()
        .ok_or("no outage")?;
    assert!(err.is_retryable(), "{err}");
    control(&lab, "faults", None).await?;
    assert_eq!(sn.list("incident", &params).await?.len(), 1);

    // Nothing listening: a connection failure, retryable, after bounded attempts.
    let mut dead = info.clone();
    dead.url = "http://127.0.0.1:9".into();
    let err = client(&dead, AuthMode::Basic)?
        .list("incident", &params)
        .await
        .err()
        .ok_or("a closed port answered")?;
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.is_retryable());
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn records_are_inserted_read_patched_and_deleted() -> TestResult {
    let (lab, info) = start().await?;
    let sn = client(&info, AuthMode::OAuthPassword)?;
    let inserted = sn
        .insert(
            "incident",
            &fields(json!({"short_description": "crud test", "impact": "1", "urgency": "1"})),
        )
        .await?;
    let id = inserted.sys_id().ok_or("no sys_id")?.to_owned();
    assert_eq!(inserted.str("priority")?, "1");
    let number = inserted.str("number")?.to_owned();
    assert!(number.starts_with("INC"));

    let read = sn
        .get(
            "incident",
            &id,
            &ReadOptions::new()
                .fields(["sys_id", "number", "state", "caller_id"])
                .display_value(DisplayValue::All),
        )
        .await?;
    assert_eq!(read.str("number")?, number);
    assert!(read.display("state").is_some());

    let patched = sn
        .patch("incident", &id, &fields(json!({"urgency": "3"})))
        .await?;
    assert_eq!(patched.str("priority")?, "3");
    assert_eq!(patched.i64("sys_mod_count")?, 1);

    sn.delete("incident", &id).await?;
    let err = sn
        .get("incident", &id, &ReadOptions::new())
        .await
        .err()
        .ok_or("deleted record still readable")?;
    assert!(err.is_not_found());
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("ServiceNow lab: GET incident/{id} not found (404")),
        "{text}"
    );
    assert!(text.contains("missing or hidden by ACL"), "{text}");
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn reference_fields_decode_in_every_display_mode() -> TestResult {
    let (lab, info) = start().await?;
    let sn = client(&info, AuthMode::Basic)?;
    let page = sn
        .list_page(
            "incident",
            &ListParams::new()
                .query(Query::new().is_not_empty("caller_id").build()?)
                .fields(["sys_id"])
                .page_size(1),
        )
        .await?;
    let id = page
        .records
        .first()
        .and_then(|r| r.sys_id())
        .ok_or("no incident with a caller")?
        .to_owned();
    let read = |display, exclude| {
        let read = ReadOptions::new()
            .fields(["sys_id", "number", "state", "caller_id", "opened_at"])
            .display_value(display)
            .exclude_reference_link(exclude);
        let sn = sn.clone();
        let id = id.clone();
        async move { sn.get("incident", &id, &read).await }
    };
    let raw = read(DisplayValue::False, false).await?;
    let caller = raw.reference("caller_id").ok_or("no caller")?.to_owned();
    assert_eq!(caller.len(), 32, "{caller}");
    assert!(raw.datetime("opened_at")?.is_some());
    let bare = read(DisplayValue::False, true).await?;
    assert_eq!(bare.reference("caller_id"), Some(caller.as_str()));
    let all = read(DisplayValue::All, true).await?;
    assert_eq!(all.reference("caller_id"), Some(caller.as_str()));
    let name = all
        .display("caller_id")
        .ok_or("no display value")?
        .to_owned();
    assert!(!name.is_empty() && name != caller);
    assert_eq!(all.to_ticket()?.requester.as_deref(), Some(caller.as_str()));
    let shown = read(DisplayValue::True, false).await?;
    assert_eq!(shown.display("caller_id"), Some(name.as_str()));
    assert_eq!(shown.reference("caller_id"), Some(caller.as_str()));
    assert_eq!(shown.to_ticket()?.state, all.to_ticket()?.state);
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn ticket_lifecycle_writes_and_journal() -> TestResult {
    let (lab, info) = start().await?;
    let sn = client(&info, AuthMode::OAuthClientCredentials)?;
    let me = sn
        .user_by_user_name(&info.username)
        .await?
        .ok_or("integration user missing")?;
    let queue = sn
        .tickets(
            TicketKind::Incident,
            &ListParams::new()
                .query(
                    Query::new()
                        .eq("active", "true")
                        .in_("state", ["1", "2"])
                        .order_by("priority")
                        .order_by_desc("sys_updated_on")
                        .build()?,
                )
                .exclude_reference_link(true)
                .display_value(DisplayValue::All),
        )
        .await?;
    let first = queue.first().ok_or("no open incidents in the seed")?;
    assert!(queue.windows(2).all(|w| w[0].priority <= w[1].priority));

    let taken = sn
        .take_ticket(
            TicketKind::Incident,
            &first.sys_id,
            &me.sys_id,
            Some("Job 42 started"),
        )
        .await?;
    assert_eq!(
        taken.state,
        TicketState::Incident(IncidentState::InProgress)
    );
    assert_eq!(taken.assigned_to.as_deref(), Some(me.sys_id.as_str()));
    sn.add_comment(TicketKind::Incident, &first.sys_id, "We are on it")
        .await?;
    let journal = sn.journal("incident", &first.sys_id, 50).await?;
    let has = |element: &str, text: &str| {
        journal
            .iter()
            .any(|e| e.element == element && e.value == text && e.created_on.is_some())
    };
    assert!(has("work_notes", "Job 42 started"), "{journal:?}");
    assert!(has("comments", "We are on it"), "{journal:?}");
    assert!(
        journal
            .windows(2)
            .all(|w| w[0].created_on >= w[1].created_on)
    );

    // Resolving without the close fields is refused by the data policy: a clear 403.
    let err = sn
        .update_ticket(
            TicketKind::Incident,
            &first.sys_id,
            &TicketUpdate {
                state: Some(TicketState::Incident(IncidentState::Resolved)),
                ..TicketUpdate::default()
            },
        )
        .await
        .err()
        .ok_or("resolve without close_code accepted")?;
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "ServiceNow lab: PATCH incident/{} refused (403): ",
            first.sys_id
        )),
        "{text}"
    );
    assert!(!err.is_retryable());
    let resolved = sn
        .resolve_incident(&first.sys_id, "Solution provided", "Session reset")
        .await?;
    assert_eq!(
        resolved.state,
        TicketState::Incident(IncidentState::Resolved)
    );

    let on_hold = sn
        .update_ticket(
            TicketKind::Incident,
            &queue.get(1).ok_or("one incident only")?.sys_id,
            &TicketUpdate {
                state: Some(TicketState::Incident(IncidentState::OnHold)),
                hold_reason: Some("1".into()),
                comments: Some("Please confirm your user name".into()),
                assigned_to: Some(String::new()),
                ..TicketUpdate::default()
            },
        )
        .await?;
    assert_eq!(on_hold.state, TicketState::Incident(IncidentState::OnHold));
    assert_eq!(on_hold.assigned_to, None);

    // Catalog tasks: take, then close complete.
    let tasks = sn
        .tickets(
            TicketKind::CatalogTask,
            &ListParams::new()
                .query(Query::new().eq("active", "true").build()?)
                .max_records(5),
        )
        .await?;
    let task = tasks.first().ok_or("no open catalog tasks in the seed")?;
    assert!(task.parent.is_some());
    let taken = sn
        .take_ticket(TicketKind::CatalogTask, &task.sys_id, &me.sys_id, None)
        .await?;
    assert_eq!(taken.state, TicketState::Task(TaskState::WorkInProgress));
    let closed = sn
        .close_task(
            TicketKind::CatalogTask,
            &task.sys_id,
            TaskState::ClosedComplete,
            "Done",
        )
        .await?;
    assert_eq!(closed.state, TicketState::Task(TaskState::ClosedComplete));
    let again = sn
        .ticket_by_number(&closed.number)
        .await?
        .ok_or("ticket not found by number")?;
    assert_eq!(again.sys_id, closed.sys_id);
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn order_now_and_catalog_variables() -> TestResult {
    let (lab, info) = start().await?;
    let sn = client(&info, AuthMode::Basic)?;
    let item = sn
        .catalog_item_by_name("Reset a session")
        .await?
        .ok_or("no 'Reset a session' item")?;
    let users = sn.users(&Query::new().eq("active", "true"), 3).await?;
    let user = users.last().ok_or("no users")?;
    let mut vars = BTreeMap::new();
    vars.insert(
        "resource_name".to_owned(),
        "Office 365, Desktop ^ Ñ".to_owned(),
    );
    let order = sn.order_now(&item, Some(&user.sys_id), &vars).await?;
    assert!(order.request_number.starts_with("REQ"), "{order:?}");
    let ritm = order.items.first().ok_or("order has no RITM")?;
    assert!(ritm.number.starts_with("RITM"));
    assert_eq!(ritm.parent.as_deref(), Some(order.request_sys_id.as_str()));
    assert_eq!(ritm.catalog_item.as_deref(), Some(item.as_str()));
    assert_eq!(ritm.requester.as_deref(), Some(user.sys_id.as_str()));

    let variables = sn.variables(&ritm.sys_id).await?;
    let var = variables
        .iter()
        .find(|v| v.variable.name == "resource_name")
        .ok_or("resource_name variable missing")?;
    assert_eq!(var.variable.value, "Office 365, Desktop ^ Ñ");
    sn.set_variable(&var.option, "").await?;
    let cleared = sn.variables(&ritm.sys_id).await?;
    assert!(
        cleared
            .iter()
            .any(|v| v.variable.name == "resource_name" && v.variable.value.is_empty())
    );

    let err = sn
        .order_now("0123456789abcdef0123456789abcdef", None, &BTreeMap::new())
        .await
        .err()
        .ok_or("ordering a missing item succeeded")?;
    assert!(err.is_not_found(), "{err}");
    lab.shutdown().await;
    Ok(())
}

/// Awkward values (`^`, `=`, commas, spaces, unicode) survive an insert and come back through
/// every query form that should match them, and only through matching records.
#[test]
fn awkward_values_round_trip_through_queries() -> TestResult {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};

    let rt = tokio::runtime::Runtime::new()?;
    let (lab, info) = rt.block_on(start())?;
    let sn = client(&info, AuthMode::Basic)?;
    let chars = prop_oneof![
        Just('^'),
        Just('='),
        Just(','),
        Just(' '),
        Just('!'),
        Just('<'),
        Just('é'),
        Just('日'),
        Just('✓'),
        prop::char::range('a', 'e'),
        prop::char::range('0', '2'),
    ];
    let strategy = prop::collection::vec(chars, 1..14).prop_map(String::from_iter);
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicU32::new(0);
    let outcome = runner.run(&strategy, |value| {
        let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let marker = format!("prop-{n}-{}", value.len());
        rt.block_on(async {
            let fail = |e: Error| TestCaseError::fail(e.to_string());
            let built = |q: Query| q.build().map_err(|e| TestCaseError::fail(e.to_string()));
            let inserted = sn
                .insert(
                    "incident",
                    &fields(json!({ "short_description": marker, "description": value })),
                )
                .await
                .map_err(fail)?;
            let id = inserted.sys_id().unwrap_or_default().to_owned();
            prop_assert_eq!(inserted.str("description").map_err(fail)?, value.as_str());
            let lower = value.to_lowercase();
            let forms = [
                ("=", Query::new().eq("description", &value), true),
                ("LIKE", Query::new().like("description", &value), false),
                (
                    "IN",
                    Query::new().in_("description", [value.as_str(), "zz,never"]),
                    true,
                ),
            ];
            for (form, query, exact) in forms {
                // With the marker: exactly the inserted record.
                let params = ListParams::new()
                    .query(built(marked(&marker).and(query.clone()))?)
                    .fields(["sys_id", "description"]);
                let rows = sn.list("incident", &params).await.map_err(fail)?;
                let ids: Vec<&str> = rows.iter().filter_map(|r| r.sys_id()).collect();
                prop_assert_eq!(ids, vec![id.as_str()], "{} {:?}", form, value);
                // Without it: every match really matches (nothing mis-parsed into a wider query).
                let params = ListParams::new()
                    .query(built(query)?)
                    .fields(["sys_id", "description"]);
                let rows = sn.list("incident", &params).await.map_err(fail)?;
                prop_assert!(rows.iter().any(|r| r.sys_id() == Some(id.as_str())));
                for r in &rows {
                    let d = r.text("description").to_lowercase();
                    let ok = if exact {
                        d == lower
                    } else {
                        d.contains(&lower)
                    };
                    prop_assert!(ok, "{} {:?} matched {:?}", form, value, d);
                }
            }
            Ok(())
        })
    });
    rt.block_on(lab.shutdown());
    outcome.map_err(|e| e.to_string().into())
}
