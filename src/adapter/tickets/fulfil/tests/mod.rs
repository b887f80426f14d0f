//! The recipes over small hand-built sites: every item, every refusal and its sentence, and
//! the ways a user and a machine may be named. This file builds the sites; [`sessions`] and
//! [`power`] hold the tests.

mod power;
mod runbooks;
mod sessions;
mod workflows;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::adapter::engine::actions;
use crate::model::{
    Machine, PowerState, Ref, RegistrationState, Session, SessionSupport, SessionType,
    SupportedPowerAction,
};

const DESKTOPS: &str = "London Pooled Desktops";
const APPS: &str = "London Office Apps";

fn machine(id: &str, name: &str, group: &str, support: SessionSupport) -> Machine {
    Machine {
        id: id.to_owned(),
        name: format!("LAB\\{name}"),
        dns_name: format!("{}.lab.example", name.to_lowercase()),
        catalog: None,
        delivery_group: Some(Ref {
            id: format!("dg-{group}"),
            name: group.to_owned(),
        }),
        zone: None,
        allocation_type: Default::default(),
        session_support: support,
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
            SupportedPowerAction::PowerOn,
            SupportedPowerAction::PowerOff,
            SupportedPowerAction::Shutdown,
            SupportedPowerAction::Restart,
            SupportedPowerAction::Reset,
        ],
        last_deregistration_reason: None,
        os_type: "Windows".to_owned(),
        ip_address: None,
        load_index: None,
        last_connection_time: None,
    }
}

fn vdi(id: &str, name: &str) -> Machine {
    machine(id, name, DESKTOPS, SessionSupport::SingleSession)
}

fn server(id: &str, name: &str) -> Machine {
    machine(id, name, APPS, SessionSupport::MultiSession)
}

/// A session of `user` (`DOMAIN\sam`) on `on`: a desktop, or the applications `apps`.
fn session(id: &str, user: &str, on: &Machine, apps: &[&str]) -> Session {
    let sam = user.rsplit('\\').next().unwrap_or(user);
    Session {
        id: id.to_owned(),
        user_name: user.to_owned(),
        user_upn: format!("{sam}@lab.example"),
        user_display_name: sam.to_owned(),
        machine: Ref {
            id: on.id.clone(),
            name: on.name.clone(),
        },
        delivery_group: on.delivery_group.clone(),
        state: Default::default(),
        session_type: if apps.is_empty() {
            SessionType::Desktop
        } else {
            SessionType::Application
        },
        app_state: Default::default(),
        applications_in_use: apps.iter().map(|a| (*a).to_owned()).collect(),
        client_name: String::new(),
        client_address: String::new(),
        protocol: "HDX".to_owned(),
        start_time: None,
        state_change_time: None,
        logon_in_progress: false,
        logoff_in_progress: false,
        hidden: false,
    }
}

/// One site's snapshot; machines' session counts follow the sessions given.
fn site(name: &str, mut machines: Vec<Machine>, sessions: Vec<Session>) -> (String, Arc<SiteData>) {
    for m in &mut machines {
        m.session_count = sessions.iter().filter(|s| s.machine.id == m.id).count() as u32;
    }
    let data = SiteData::new(Utc::now(), Vec::new(), Vec::new(), machines, sessions);
    (name.to_owned(), Arc::new(data))
}

/// Site "london": sam has a desktop on VDI-LON-0004 and Word on XA-LON-01, bob has a desktop
/// on VDI-LON-0005 and Excel on XA-LON-01. VDI-LON-0006 is free.
fn london() -> (String, Arc<SiteData>) {
    let (d4, d5, d6, xa) = (
        vdi("m4", "VDI-LON-0004"),
        vdi("m5", "VDI-LON-0005"),
        vdi("m6", "VDI-LON-0006"),
        server("x1", "XA-LON-01"),
    );
    let sessions = vec![
        session("s1", "LAB\\sam.smith", &d4, &[]),
        session("s2", "LAB\\sam.smith", &xa, &["Microsoft Word"]),
        session("s3", "LAB\\bob.jones", &d5, &[]),
        session("s4", "LAB\\bob.jones", &xa, &["Microsoft Excel"]),
    ];
    site("london", vec![d4, d5, d6, xa], sessions)
}

fn sam() -> Person {
    Person {
        sys_id: "0123456789abcdef0123456789abcdef".to_owned(),
        user_name: "sam.smith".to_owned(),
        email: "sam.smith@lab.example".to_owned(),
        name: "Sam Smith".to_owned(),
    }
}

fn request(item: &str, vars: &[(&str, &str)], person: Option<Person>) -> CatalogRequest {
    CatalogRequest {
        item: item.to_owned(),
        variables: vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
        requested_for: person,
    }
}

fn ok(request: &CatalogRequest, sites: &[(String, Arc<SiteData>)]) -> Plan {
    let plan = plan(request, sites).unwrap_or_else(|e| panic!("{request:?}: {e}"));
    // Every plan is a job the registry accepts, with the parameters it would store.
    let op = actions::operation(plan.action, &plan.params).expect("params the action accepts");
    assert_eq!(actions::normalized_params(&op), plan.params);
    plan
}

fn refused(request: &CatalogRequest, sites: &[(String, Arc<SiteData>)]) -> NotAutomatable {
    match plan(request, sites) {
        Ok(plan) => panic!("{request:?} should be refused, planned {plan:?}"),
        Err(e) => e,
    }
}

fn ids(plan: &Plan) -> Vec<(&str, &str)> {
    plan.targets
        .iter()
        .map(|t| (t.site.as_str(), t.id.as_str()))
        .collect()
}

fn power_request(
    name: &str,
    action: &str,
    group: Option<&str>,
    who: Option<Person>,
) -> CatalogRequest {
    let mut vars = vec![("machine_name", name), ("power_action", action)];
    if let Some(g) = group {
        vars.push(("delivery_group", g));
    }
    request("Power manage VDI desktops", &vars, who)
}
