//! The report builders on constructed inventory, tickets and job buckets: counts add up,
//! buckets are right, parameters are checked.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::tickets::{InstanceTickets, bucket_of};
use super::*;
use crate::adapter::inventory::{SiteData, SiteState};
use crate::adapter::store::OutcomeBucket;
use crate::adapter::tickets::row::QueueTicket;
use crate::model::{DeliveryGroup, Machine, Session, TicketKind};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

fn machine(
    id: &str,
    group: Option<&str>,
    power: &str,
    registration: &str,
    summary: &str,
) -> Machine {
    let value = json!({
        "id": id, "name": format!("LAB\\{id}"), "dns_name": format!("{id}.lab"),
        "catalog": null,
        "delivery_group": group.map(|g| json!({ "id": g, "name": g })),
        "zone": null, "allocation_type": "Random", "session_support": "SingleSession",
        "provisioning_type": "MCS", "assigned_users": [], "in_maintenance_mode": false,
        "maintenance_mode_reason": "None", "power_state": power, "power_action_pending": false,
        "registration_state": registration, "fault_state": "None", "summary_state": summary,
        "session_count": 0, "supported_power_actions": [], "last_deregistration_reason": null,
        "os_type": "Windows 11", "ip_address": null, "load_index": null
    });
    serde_json::from_value(value).expect("a machine")
}

fn session(id: &str, group: Option<&str>) -> Session {
    let value = json!({
        "id": id, "user_name": "LAB\\ada", "user_upn": "ada@lab", "user_display_name": "Ada",
        "machine": { "id": "m", "name": "LAB\\m" },
        "delivery_group": group.map(|g| json!({ "id": g, "name": g })),
        "state": "Active", "session_type": "Desktop", "app_state": "Desktop",
        "applications_in_use": [], "client_name": "c", "client_address": "10.0.0.1",
        "protocol": "HDX", "start_time": null, "state_change_time": null,
        "logon_in_progress": false, "logoff_in_progress": false, "hidden": false
    });
    serde_json::from_value(value).expect("a session")
}

fn group(name: &str) -> DeliveryGroup {
    let value = json!({
        "id": name, "name": name, "description": "", "enabled": true,
        "in_maintenance_mode": false, "session_support": "SingleSession",
        "delivery_type": "DesktopsOnly", "allocation_type": "Random",
        "counters": { "total_desktops": 0, "available": 0, "in_use": 0, "disconnected": 0,
                      "unregistered": 0, "faulted": 0, "sessions": 0 },
        "total_applications": 0
    });
    serde_json::from_value(value).expect("a delivery group")
}

fn site(
    fetched_ago: i64,
    machines: Vec<Machine>,
    sessions: Vec<Session>,
    groups: &[&str],
) -> SiteState {
    SiteState {
        data: Some(Arc::new(SiteData::new(
            now() - Duration::seconds(fetched_ago),
            Vec::new(),
            groups.iter().map(|g| group(g)).collect(),
            machines,
            sessions,
        ))),
        ..SiteState::default()
    }
}

fn cell(report: &Report, row: &[Value], column: &str) -> Value {
    row[report.column(column).expect("the column exists")].clone()
}

fn row_of<'a>(report: &'a Report, site: &str, group: &str) -> &'a Vec<Value> {
    report
        .rows
        .iter()
        .find(|r| r[0] == json!(site) && r[1] == json!(group))
        .expect("the row")
}

fn two_sites() -> (SiteState, SiteState) {
    let london = site(
        30,
        vec![
            machine("l1", Some("Office"), "On", "Registered", "InUse"),
            machine("l2", Some("Office"), "On", "Registered", "Available"),
            machine("l3", Some("Office"), "Off", "Unregistered", "Off"),
            machine(
                "l4",
                Some("Kiosk"),
                "TurningOn",
                "Unregistered",
                "Preparing",
            ),
            machine("l5", None, "On", "Registered", "Available"),
        ],
        vec![
            session("s1", Some("Office")),
            session("s2", Some("Office")),
            session("s3", None),
        ],
        &["Office", "Kiosk", "Empty"],
    );
    let cloud = site(
        5,
        vec![machine("c1", Some("Office"), "On", "Registered", "InUse")],
        vec![session("s4", Some("Office"))],
        &["Office"],
    );
    (london, cloud)
}

#[test]
fn resources_counts_machines_and_sessions_per_group_and_they_add_up() {
    let (london, cloud) = two_sites();
    let report = resources::build(now(), &[("London", &london), ("Cloud", &cloud)], None);
    assert_eq!(report.name, "resources");
    assert_eq!(report.total("machines"), 6);
    assert_eq!(report.total("sessions"), 4);
    // Every state family splits the same machines.
    for family in ["power_", "registration_", "summary_"] {
        let sum: u64 = report
            .columns
            .iter()
            .filter(|c| c.name.starts_with(family))
            .map(|c| report.total(&c.name))
            .sum();
        assert_eq!(sum, 6, "{family}");
    }
    let office = row_of(&report, "London", "Office");
    assert_eq!(cell(&report, office, "machines"), json!(3));
    assert_eq!(cell(&report, office, "power_on"), json!(2));
    assert_eq!(cell(&report, office, "power_off"), json!(1));
    assert_eq!(cell(&report, office, "summary_in_use"), json!(1));
    assert_eq!(cell(&report, office, "sessions"), json!(2));
    // A state outside the common ones gets its column because a machine is in it.
    let kiosk = row_of(&report, "London", "Kiosk");
    assert_eq!(cell(&report, kiosk, "power_turning_on"), json!(1));
    // A group with no machines is still listed; machines and sessions without a group too.
    assert_eq!(
        cell(&report, row_of(&report, "London", "Empty"), "machines"),
        json!(0)
    );
    let none = row_of(&report, "London", resources::NO_GROUP);
    assert_eq!(cell(&report, none, "machines"), json!(1));
    assert_eq!(cell(&report, none, "sessions"), json!(1));
    // Sites in the order given, each with its data age.
    assert_eq!(report.rows[0][0], json!("London"));
    let ages: Vec<(&str, Option<u64>)> = report
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.data_age))
        .collect();
    assert_eq!(ages, [("London", Some(30)), ("Cloud", Some(5))]);
    // Every row has one cell per column.
    assert!(report.rows.iter().all(|r| r.len() == report.columns.len()));
}

#[test]
fn resources_site_filter_keeps_one_site() {
    let (london, cloud) = two_sites();
    let report = resources::build(
        now(),
        &[("London", &london), ("Cloud", &cloud)],
        Some("cloud"),
    );
    assert!(report.rows.iter().all(|r| r[0] == json!("Cloud")));
    assert_eq!(report.total("machines"), 1);
    assert_eq!(report.sources.len(), 1);
    assert_eq!(
        report.parameters.get("site").map(String::as_str),
        Some("cloud")
    );
}

#[test]
fn resources_of_a_site_never_loaded_has_no_rows_and_says_why() {
    let empty = SiteState {
        last_error: Some("connection refused".into()),
        ..SiteState::default()
    };
    let report = resources::build(now(), &[("Paris", &empty)], None);
    assert!(report.rows.is_empty());
    assert_eq!(report.sources[0].data_age, None);
    assert_eq!(
        report.sources[0].error.as_deref(),
        Some("connection refused")
    );
}

fn ticket(
    number: &str,
    queue: &str,
    state: &'static str,
    code: i32,
    opened_ago: Option<i64>,
) -> QueueTicket {
    QueueTicket {
        instance: "lab".into(),
        queue: queue.into(),
        number: number.into(),
        sys_id: number.to_lowercase(),
        table: "incident",
        kind: TicketKind::Incident,
        short_description: String::new(),
        description: String::new(),
        state,
        state_code: code,
        open: true,
        priority: 3,
        priority_label: "Moderate",
        assignment_group: None,
        assigned_to: None,
        requester: None,
        catalog_item: None,
        parent: None,
        opened_at: opened_ago.map(|s| now() - Duration::seconds(s)),
        updated_at: None,
        mod_count: 0,
        url: String::new(),
    }
}

#[test]
fn ticket_age_buckets_have_the_right_edges() {
    let h = 3_600;
    let cases = [
        (-60, 0),
        (0, 0),
        (h - 1, 0),
        (h, 1),
        (4 * h - 1, 1),
        (4 * h, 2),
        (24 * h - 1, 2),
        (24 * h, 3),
        (72 * h - 1, 3),
        (72 * h, 4),
        (400 * h, 4),
    ];
    for (age, bucket) in cases {
        assert_eq!(bucket_of(Duration::seconds(age)), bucket, "age {age}s");
    }
}

#[test]
fn tickets_are_counted_by_queue_state_and_age() {
    let h = 3_600;
    let tickets = [
        ticket("INC1", "helpdesk", "New", 1, Some(10)),
        ticket("INC2", "helpdesk", "New", 1, Some(2 * h)),
        ticket("INC3", "helpdesk", "New", 1, Some(5 * 24 * h)),
        ticket("INC4", "helpdesk", "In Progress", 2, Some(30 * h)),
        ticket("INC5", "helpdesk", "In Progress", 2, None),
        ticket("INC6", "vip", "New", 1, Some(5 * h)),
    ];
    let instances = [InstanceTickets {
        name: "lab",
        synced_at: Some(now() - Duration::seconds(3)),
        error: None,
        tickets: tickets.iter().collect(),
    }];
    let report = tickets::build(now(), &instances);
    let names: Vec<&str> = report.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "instance",
            "queue",
            "state",
            "under_1h",
            "1h_4h",
            "4h_24h",
            "1d_3d",
            "over_3d",
            "unknown_age",
            "total"
        ]
    );
    let row = |queue: &str, state: &str| -> Vec<Value> {
        report
            .rows
            .iter()
            .find(|r| r[1] == json!(queue) && r[2] == json!(state))
            .cloned()
            .expect("the row")
    };
    assert_eq!(
        row("helpdesk", "New")[3..],
        [
            json!(1),
            json!(1),
            json!(0),
            json!(0),
            json!(1),
            json!(0),
            json!(3)
        ]
    );
    assert_eq!(
        row("helpdesk", "In Progress")[3..],
        [
            json!(0),
            json!(0),
            json!(0),
            json!(1),
            json!(0),
            json!(1),
            json!(2)
        ]
    );
    assert_eq!(row("vip", "New")[5], json!(1));
    assert_eq!(report.total("total"), 6);
    assert_eq!(report.sources[0].data_age, Some(3));
    // States sort in ServiceNow's order: New (1) before In Progress (2).
    assert_eq!(report.rows[0][2], json!("New"));
}

#[test]
fn jobs_rows_follow_the_buckets_with_totals() {
    let at = |h: u32| {
        Utc.with_ymd_and_hms(2026, 11, 27, h, 0, 0)
            .single()
            .unwrap_or_default()
    };
    let buckets = [
        OutcomeBucket {
            start: at(9),
            action: "session.logoff".into(),
            succeeded: 3,
            failed: 1,
            partially_failed: 0,
            cancelled: 2,
        },
        OutcomeBucket {
            start: at(10),
            action: "machine.power".into(),
            succeeded: 0,
            failed: 0,
            partially_failed: 4,
            cancelled: 0,
        },
    ];
    let report = jobs::build(now(), "24h", Bucket::Hour, &buckets);
    assert_eq!(report.rows[0][0], json!("2026-11-27T09:00:00Z"));
    assert_eq!(report.rows[0][6], json!(6));
    assert_eq!(report.total("partially_failed"), 4);
    assert_eq!(
        report.parameters.get("by").map(String::as_str),
        Some("hour")
    );
    let daily = jobs::build(now(), "7d", Bucket::Day, &buckets[..1]);
    assert_eq!(daily.rows[0][0], json!("2026-11-27"));
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn requests_are_checked_with_messages_that_name_the_parameter() {
    let sites = ["London", "Cloud"];
    assert_eq!(
        Request::parse("resources", &params(&[("site", "london")]), &sites),
        Ok(Request::Resources {
            site: Some("London".into())
        })
    );
    let unknown = Request::parse("nope", &params(&[]), &sites);
    assert!(
        matches!(unknown, Err(ReportError::UnknownReport { .. })),
        "{unknown:?}"
    );
    let bad_site = Request::parse("resources", &params(&[("site", "Paris")]), &sites);
    assert!(
        matches!(&bad_site, Err(ReportError::BadParameter(m)) if m.contains("Paris") && m.contains("London")),
        "{bad_site:?}"
    );
    for since in ["abc", "0h", "24", "5y", "9999d", "-3h"] {
        let err = Request::parse("jobs", &params(&[("since", since)]), &sites);
        assert!(
            matches!(&err, Err(ReportError::BadParameter(m)) if m.contains("since")),
            "{since}: {err:?}"
        );
    }
    assert_eq!(
        Request::parse("jobs", &params(&[("since", "7d"), ("by", "day")]), &sites),
        Ok(Request::Jobs {
            since: Duration::days(7),
            since_text: "7d".into(),
            by: Bucket::Day
        })
    );
    let by = Request::parse("jobs", &params(&[("by", "week")]), &sites);
    assert!(
        matches!(&by, Err(ReportError::BadParameter(m)) if m.contains("by=")),
        "{by:?}"
    );
    let extra = Request::parse("tickets", &params(&[("site", "London")]), &sites);
    assert!(
        matches!(&extra, Err(ReportError::BadParameter(m)) if m.contains("no parameters")),
        "{extra:?}"
    );
}
