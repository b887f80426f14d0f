//! The selection filters over hand-built sessions and machines.

use chrono::{Duration as Age, Utc};
use std::time::Duration;

use super::super::*;
use crate::model::{Machine, PowerState, Ref, RegistrationState, Session, SessionState};

fn machine(name: &str, group: &str, sessions: u32, maintenance: bool) -> Machine {
    Machine {
        id: format!("id-{name}"),
        name: format!("LAB\\{name}"),
        dns_name: format!("{name}.lab.example"),
        catalog: None,
        delivery_group: Some(Ref {
            id: format!("dg-{group}"),
            name: group.to_owned(),
        }),
        zone: None,
        allocation_type: Default::default(),
        session_support: Default::default(),
        provisioning_type: Default::default(),
        assigned_users: Vec::new(),
        in_maintenance_mode: maintenance,
        maintenance_mode_reason: Default::default(),
        power_state: PowerState::On,
        power_action_pending: false,
        registration_state: RegistrationState::Registered,
        fault_state: Default::default(),
        summary_state: Default::default(),
        session_count: sessions,
        supported_power_actions: Vec::new(),
        last_deregistration_reason: None,
        os_type: "Windows".to_owned(),
        ip_address: None,
        load_index: None,
        last_connection_time: None,
    }
}

fn session(user: &str, state: SessionState, changed_hours_ago: Option<i64>) -> Session {
    let now = Utc::now();
    Session {
        id: format!("s-{user}"),
        user_name: format!("LAB\\{user}"),
        user_upn: format!("{user}@lab.example"),
        user_display_name: user.to_owned(),
        machine: Ref {
            id: "id-VDI-001".into(),
            name: "LAB\\VDI-001".into(),
        },
        delivery_group: Some(Ref {
            id: "dg-1".into(),
            name: "London Desktops".into(),
        }),
        state,
        session_type: Default::default(),
        app_state: Default::default(),
        applications_in_use: Vec::new(),
        client_name: String::new(),
        client_address: String::new(),
        protocol: "HDX".into(),
        start_time: Some(now - Age::hours(24)),
        state_change_time: changed_hours_ago.map(|h| now - Age::hours(h)),
        logon_in_progress: false,
        logoff_in_progress: false,
        hidden: false,
    }
}

fn sessions_query() -> SessionQuery {
    SessionQuery {
        site: "london".into(),
        delivery_group: None,
        user: None,
        state: None,
        older_than: None,
        machine: None,
    }
}

#[test]
fn sessions_are_selected_by_state_and_age() {
    let now = Utc::now();
    let q = SessionQuery {
        state: Some(Field::Value(SessionStateFilter::Disconnected)),
        older_than: Some(Field::Value(Dur(Duration::from_secs(4 * 3600)))),
        ..sessions_query()
    };
    assert!(session_matches(
        &q,
        &session("old", SessionState::Disconnected, Some(5)),
        now
    ));
    assert!(!session_matches(
        &q,
        &session("young", SessionState::Disconnected, Some(1)),
        now
    ));
    assert!(!session_matches(
        &q,
        &session("active", SessionState::Active, Some(5)),
        now
    ));
    // No state change time: the start time (24 h ago) counts.
    assert!(session_matches(
        &q,
        &session("started", SessionState::Disconnected, None),
        now
    ));
    let mut unknown = session("unknown", SessionState::Disconnected, None);
    unknown.start_time = None;
    assert!(
        !session_matches(&q, &unknown, now),
        "an unknown age is never old enough"
    );
}

#[test]
fn sessions_are_selected_by_group_user_and_machine() {
    let now = Utc::now();
    let s = session("alice", SessionState::Active, None);
    let by = |f: &dyn Fn(&mut SessionQuery)| {
        let mut q = sessions_query();
        f(&mut q);
        session_matches(&q, &s, now)
    };
    assert!(by(&|_| {}));
    assert!(by(&|q| q.delivery_group = Some("london desktops".into())));
    assert!(by(&|q| q.delivery_group = Some("dg-1".into())));
    assert!(!by(&|q| q.delivery_group = Some("Paris".into())));
    assert!(by(&|q| q.user = Some("lab\\ALICE".into())));
    assert!(by(&|q| q.user = Some("alice@lab.example".into())));
    assert!(!by(&|q| q.user = Some("LAB\\bob".into())));
    assert!(by(&|q| q.machine = Some("VDI-001".into())));
    assert!(by(&|q| q.machine = Some("LAB\\vdi-001".into())));
    assert!(!by(&|q| q.machine = Some("VDI-002".into())));
    assert!(
        !by(&|q| q.state = Some(Field::Param("state".into()))),
        "unresolved matches nothing"
    );
}

#[test]
fn machines_are_selected_by_group_sessions_maintenance_and_name() {
    let q = MachineQuery {
        site: "london".into(),
        delivery_group: Some("Desktops".into()),
        power_state: Some(Field::Value(PowerState::On)),
        registration_state: None,
        in_maintenance: Some(Field::Value(true)),
        with_sessions: Some(Field::Value(false)),
        name_prefix: Some("vdi-".into()),
    };
    assert!(machine_matches(
        &q,
        &machine("VDI-001", "Desktops", 0, true)
    ));
    assert!(
        !machine_matches(&q, &machine("VDI-002", "Desktops", 2, true)),
        "has sessions"
    );
    assert!(
        !machine_matches(&q, &machine("VDI-003", "Desktops", 0, false)),
        "not draining"
    );
    assert!(
        !machine_matches(&q, &machine("VDI-004", "Other", 0, true)),
        "other group"
    );
    assert!(
        !machine_matches(&q, &machine("SRV-001", "Desktops", 0, true)),
        "other name"
    );
    let mut off = machine("VDI-005", "Desktops", 0, true);
    off.power_state = PowerState::Off;
    assert!(!machine_matches(&q, &off), "powered off");
    let q = MachineQuery {
        in_maintenance: Some(Field::Param("m".into())),
        ..q
    };
    assert!(
        !machine_matches(&q, &machine("VDI-001", "Desktops", 0, true)),
        "unresolved"
    );
}

#[test]
fn a_users_selection_gives_the_target_the_action_takes() {
    let q = UserQuery {
        site: Some("london".into()),
        user: "LAB\\alice".into(),
    };
    assert_eq!(
        user_target("user.logoff", &q),
        Ok(("london".into(), "LAB\\alice".into()))
    );
    let q = UserQuery {
        site: None,
        user: "LAB\\alice".into(),
    };
    assert_eq!(
        user_target("account.unlock", &q),
        Ok(("LAB".into(), "alice".into()))
    );
    assert_eq!(
        user_target("request.persistent_desktop", &q),
        Ok(("LAB".into(), "alice".into()))
    );
    assert!(
        user_target("user.logoff", &q).is_err(),
        "user.logoff needs a site"
    );
    assert!(user_target("session.logoff", &q).is_err());
}
