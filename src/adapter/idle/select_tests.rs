//! The selection rules one by one, on a site built in memory: each machine differs from an
//! idle, qualifying one in exactly one way, and must be skipped for that reason.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::adapter::inventory::SiteData;
use crate::model::{
    AllocationType, AppState, DeliveryGroup, DeliveryKind, Machine, PowerState, Ref,
    RegistrationState, Session, SessionState, SessionSupport, SessionType, SupportedPowerAction,
};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
        .map(|d| d.with_timezone(&Utc))
        .expect("a fixed time")
}

fn group(id: &str, name: &str) -> DeliveryGroup {
    DeliveryGroup {
        id: id.into(),
        name: name.into(),
        description: String::new(),
        enabled: true,
        in_maintenance_mode: false,
        session_support: SessionSupport::SingleSession,
        delivery_type: DeliveryKind::DesktopsOnly,
        allocation_type: AllocationType::Random,
        counters: Default::default(),
        total_applications: 0,
    }
}

/// A machine that qualifies for a 60-minute rule: on, registered, idle for 3 hours.
fn idle(id: &str, group_id: &str) -> Machine {
    Machine {
        id: id.into(),
        name: format!("LAB\\{id}"),
        dns_name: format!("{id}.lab.example"),
        catalog: None,
        delivery_group: Some(Ref {
            id: group_id.into(),
            name: group_id.into(),
        }),
        zone: None,
        allocation_type: AllocationType::Random,
        session_support: SessionSupport::SingleSession,
        provisioning_type: Default::default(),
        assigned_users: Vec::new(),
        in_maintenance_mode: false,
        maintenance_mode_reason: Default::default(),
        power_state: PowerState::On,
        power_action_pending: false,
        registration_state: RegistrationState::Registered,
        fault_state: Default::default(),
        summary_state: Default::default(),
        session_count: 0,
        supported_power_actions: vec![
            SupportedPowerAction::Shutdown,
            SupportedPowerAction::PowerOff,
        ],
        last_deregistration_reason: None,
        os_type: "Windows 11".into(),
        ip_address: None,
        load_index: None,
        last_connection_time: Some(now() - Duration::hours(3)),
    }
}

fn session(machine: &str, logon: bool) -> Session {
    Session {
        id: format!("s-{machine}"),
        user_name: "LAB\\ada".into(),
        user_upn: String::new(),
        user_display_name: String::new(),
        machine: Ref {
            id: machine.into(),
            name: format!("LAB\\{machine}"),
        },
        delivery_group: None,
        state: if logon {
            SessionState::Connected
        } else {
            SessionState::Disconnected
        },
        session_type: SessionType::Desktop,
        app_state: AppState::Unknown,
        applications_in_use: Vec::new(),
        client_name: String::new(),
        client_address: String::new(),
        protocol: String::new(),
        start_time: None,
        state_change_time: None,
        logon_in_progress: logon,
        logoff_in_progress: false,
        hidden: false,
    }
}

/// One site: group `pool` with a machine per rule, and group `other` with one idle machine.
fn site() -> SiteData {
    let mut machines = vec![idle("ok", "pool"), idle("other-ok", "other")];
    let mut with = |id: &str, change: &dyn Fn(&mut Machine)| {
        let mut m = idle(id, "pool");
        change(&mut m);
        machines.push(m);
    };
    with("busy", &|m| m.session_count = 1);
    with("logon", &|m| m.session_count = 1);
    // The site's session list shows a session the machine's count does not yet.
    with("listed", &|_| {});
    with("maint", &|m| m.in_maintenance_mode = true);
    with("pending", &|m| {
        m.power_action_pending = true;
        m.power_state = PowerState::TurningOff;
    });
    with("off", &|m| m.power_state = PowerState::Off);
    with("recent", &|m| {
        m.last_connection_time = Some(now() - Duration::minutes(59));
    });
    with("never", &|m| m.last_connection_time = None);
    with("unreg", &|m| {
        m.registration_state = RegistrationState::Unregistered
    });
    with("unmanaged", &|m| m.supported_power_actions.clear());
    let sessions = vec![
        session("busy", false),
        session("logon", true),
        session("listed", false),
    ];
    SiteData::new(
        now(),
        Vec::new(),
        vec![group("pool", "Pooled"), group("other", "Other")],
        machines,
        sessions,
    )
}

fn rule(groups: &[&str]) -> Rule {
    Rule {
        delivery_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        site: None,
        idle_minutes: 60,
        include_unregistered: false,
    }
}

fn run(rule: &Rule) -> Result<Selection, SelectError> {
    let data = site();
    let views = [SiteView {
        name: "London",
        data: Some(&data),
        stale: None,
    }];
    select(&views, rule, now())
}

fn skip_code(selection: &Selection, id: &str) -> Option<SkipCode> {
    selection
        .skipped
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.code)
}

#[test]
fn only_the_idle_machine_of_the_group_qualifies() {
    let selection = run(&rule(&["pooled"])).expect("the group exists");
    let ids: Vec<&str> = selection.candidates.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["ok"], "{selection:#?}");
    assert_eq!(selection.candidates[0].idle_minutes, 180);
    assert!(
        selection.candidates[0].reason.contains("3 h"),
        "{:?}",
        selection.candidates[0]
    );
    assert_eq!(selection.groups, ["London/Pooled"]);
    // The other group's machine is neither shut down nor listed.
    assert!(skip_code(&selection, "other-ok").is_none());
    assert_eq!(selection.skipped.len(), 10);
}

#[test]
fn each_rule_skips_with_its_own_reason() {
    let selection = run(&rule(&["Pooled"])).expect("the group exists");
    let expect = [
        ("busy", SkipCode::Session),
        ("logon", SkipCode::LogonInProgress),
        ("listed", SkipCode::Session),
        ("maint", SkipCode::Maintenance),
        ("pending", SkipCode::PowerActionPending),
        ("off", SkipCode::NotPoweredOn),
        ("recent", SkipCode::NotIdleLongEnough),
        ("never", SkipCode::NoConnectionRecorded),
        ("unreg", SkipCode::Unregistered),
        ("unmanaged", SkipCode::NotPowerManaged),
    ];
    for (id, code) in expect {
        assert_eq!(
            skip_code(&selection, id),
            Some(code),
            "{id}: {selection:#?}"
        );
    }
    let logon = selection
        .skipped
        .iter()
        .find(|s| s.id == "logon")
        .expect("listed");
    assert!(logon.reason.contains("LAB\\ada is logging on"), "{logon:?}");
    let recent = selection
        .skipped
        .iter()
        .find(|s| s.id == "recent")
        .expect("listed");
    assert!(recent.reason.contains("59 min"), "{recent:?}");
}

#[test]
fn a_lower_threshold_and_unregistered_machines_widen_the_selection() {
    let mut wide = rule(&["pool"]);
    wide.idle_minutes = 30;
    wide.include_unregistered = true;
    let selection = run(&wide).expect("the group exists, by id");
    let mut ids: Vec<&str> = selection.candidates.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["ok", "recent", "unreg"]);
}

#[test]
fn groups_are_found_by_name_or_id_in_any_case_and_unknown_ones_are_named() {
    let both = run(&rule(&["POOLED", "other"])).expect("both exist");
    let ids: Vec<&str> = both.candidates.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["ok", "other-ok"]);
    let err = run(&rule(&["Pooled", "Nope", "Gone"])).expect_err("unknown groups");
    let text = err.to_string();
    assert!(text.contains("\"Nope\", \"Gone\""), "{text}");
    assert!(text.contains("Pooled (London)"), "{text}");
    assert!(run(&rule(&[" "])).is_err_and(|e| e == SelectError::NoGroups));
}

#[test]
fn a_site_is_checked_and_stale_data_decides_nothing() {
    let mut at = rule(&["Pooled"]);
    at.site = Some("Paris".into());
    let err = run(&at).expect_err("no such site");
    assert!(err.to_string().contains("London"), "{err}");
    let data = site();
    let views = [SiteView {
        name: "London",
        data: Some(&data),
        stale: Some("connectors down".into()),
    }];
    let selection = select(&views, &rule(&["Pooled"]), now()).expect("known group");
    assert!(selection.candidates.is_empty());
    assert!(
        selection
            .skipped
            .iter()
            .all(|s| s.code == SkipCode::StaleData)
    );
}
