//! Every mutating action of the API as one value ([`Action`]) and one function ([`perform`]),
//! shared by synchronous calls and the jobs of `?async=true` calls so both behave the same.

use super::entitle::{AppGroupEdit, GroupEdit};
use super::error::{ApiError, ApiResult};
use super::state::{SiteState, Stamp};
use super::timeline::{self, Event, LOGOFF_SECS};
use super::{entitle, inventory, power};
use crate::model::{AppState, PowerAction, PowerState, RegistrationState, SessionState};
use chrono::{DateTime, Duration, Utc};

/// Load limit of a multi-session server: the broker stops placing sessions beyond it.
pub const MAX_SERVER_SESSIONS: usize = 60;

/// A mutating request, resolved to record indexes.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Power {
        machine: usize,
        action: PowerAction,
        force: bool,
    },
    LogoffSession(u64),
    DisconnectSession(u64),
    SendMessage(u64),
    HideSession {
        session: u64,
        hide: bool,
    },
    MachineLogoff(usize),
    MachineDisconnect(usize),
    UpdateMachine {
        machine: usize,
        maintenance: Option<bool>,
        assigned: Option<Vec<usize>>,
    },
    AddCatalogMachine {
        catalog: usize,
        name: String,
        assigned: Vec<usize>,
        maintenance: bool,
    },
    AddGroupMachines {
        group: usize,
        catalog: usize,
        count: u32,
        assignments: Vec<(usize, Vec<usize>)>,
    },
    RemoveGroupMachine {
        group: usize,
        machine: usize,
    },
    UpdateGroup {
        group: usize,
        edit: GroupEdit,
    },
    UpdateAppGroup {
        app_group: usize,
        edit: AppGroupEdit,
    },
    /// Deletes a machine; `catalog` when the call went through its catalog.
    DeleteMachine {
        machine: usize,
        catalog: Option<usize>,
    },
}

impl Action {
    /// The CVAD job type of the action run with `async=true`.
    pub fn job_type(&self) -> &'static str {
        match self {
            Action::Power { action, .. } => action.job_type(),
            Action::LogoffSession(_) => "LogoffSessions",
            Action::DisconnectSession(_) | Action::MachineDisconnect(_) => "DisconnectSessions",
            Action::SendMessage(_) => "SendSessionMessage",
            Action::HideSession { hide: true, .. } => "HideSession",
            Action::HideSession { hide: false, .. } => "UnhideSession",
            Action::MachineLogoff(_) => "LogoffMachineSessions",
            Action::UpdateMachine { .. } => "UpdateMachineCatalogMachine",
            Action::AddCatalogMachine { .. } => "AddMachineCatalogMachine",
            Action::AddGroupMachines { .. } => "AddDeliveryGroupMachines",
            Action::RemoveGroupMachine { .. } => "RemoveDeliveryGroupMachines",
            Action::UpdateGroup { .. } => "UpdateDeliveryGroup",
            Action::UpdateAppGroup { .. } => "UpdateApplicationGroup",
            Action::DeleteMachine { .. } => "DeleteMachine",
        }
    }

    /// The name the control API's `calls` report files the action under.
    pub fn call_name(&self) -> &'static str {
        match self {
            Action::Power { action, .. } => match action {
                PowerAction::Start => "start",
                PowerAction::Shutdown => "shutdown",
                PowerAction::Reboot => "reboot",
                PowerAction::Suspend => "suspend",
                PowerAction::Resume => "resume",
            },
            Action::LogoffSession(_) => "logoff",
            Action::DisconnectSession(_) => "disconnect",
            Action::SendMessage(_) => "sendMessage",
            Action::HideSession { hide: true, .. } => "hide",
            Action::HideSession { hide: false, .. } => "unhide",
            Action::MachineLogoff(_) => "machineLogoff",
            Action::MachineDisconnect(_) => "machineDisconnect",
            Action::UpdateMachine { .. } => "updateMachine",
            Action::AddCatalogMachine { .. } => "addCatalogMachine",
            Action::AddGroupMachines { .. } => "addDeliveryGroupMachines",
            Action::RemoveGroupMachine { .. } => "removeDeliveryGroupMachine",
            Action::UpdateGroup { .. } => "updateDeliveryGroup",
            Action::UpdateAppGroup { .. } => "updateApplicationGroup",
            Action::DeleteMachine { .. } => "deleteMachine",
        }
    }

    /// The id of the object acted on (machine, session, catalog or group).
    pub fn target_id(&self, state: &SiteState) -> String {
        let machine_id = |m: usize| state.machines.get(m).map(|m| m.id.clone());
        let session_id = |s: u64| state.sessions.get(&s).map(|s| s.id.clone());
        match self {
            Action::Power { machine, .. }
            | Action::MachineLogoff(machine)
            | Action::MachineDisconnect(machine)
            | Action::UpdateMachine { machine, .. }
            | Action::RemoveGroupMachine { machine, .. }
            | Action::DeleteMachine { machine, .. } => machine_id(*machine),
            Action::LogoffSession(s)
            | Action::DisconnectSession(s)
            | Action::SendMessage(s)
            | Action::HideSession { session: s, .. } => session_id(*s),
            Action::AddCatalogMachine { catalog, .. } => {
                state.catalogs.get(*catalog).map(|c| c.id.clone())
            }
            Action::AddGroupMachines { group, .. } | Action::UpdateGroup { group, .. } => {
                state.groups.get(*group).map(|g| g.id.clone())
            }
            Action::UpdateAppGroup { app_group, .. } => {
                state.app_groups.get(*app_group).map(|g| g.id.clone())
            }
        }
        .unwrap_or_default()
    }

    /// The zone whose connectors must be up for the action to run.
    pub fn zone(&self, state: &SiteState) -> Option<usize> {
        let machine_zone = |m: usize| state.machines.get(m).map(|m| m.zone);
        let session_zone = |s: u64| {
            state
                .sessions
                .get(&s)
                .and_then(|s| state.machines.get(s.machine))
                .map(|m| m.zone)
        };
        match self {
            Action::Power { machine, .. }
            | Action::MachineLogoff(machine)
            | Action::MachineDisconnect(machine)
            | Action::UpdateMachine { machine, .. }
            | Action::RemoveGroupMachine { machine, .. }
            | Action::DeleteMachine { machine, .. } => machine_zone(*machine),
            Action::LogoffSession(s)
            | Action::DisconnectSession(s)
            | Action::SendMessage(s)
            | Action::HideSession { session: s, .. } => session_zone(*s),
            Action::AddCatalogMachine { catalog, .. }
            | Action::AddGroupMachines { catalog, .. } => {
                state.catalogs.get(*catalog).map(|c| c.zone)
            }
            // Site-wide objects: any outage refuses them, no single zone does.
            Action::UpdateGroup { .. } | Action::UpdateAppGroup { .. } => None,
        }
    }
}

/// Refuses a write when every connector of the zone it touches is down, or the whole site is
/// in outage mode. The one outage check: synchronous calls answer its error, jobs fail with
/// [`super::error::NO_CONNECTOR`].
pub fn check_zone(state: &SiteState, action: &Action) -> ApiResult<()> {
    let zone = action.zone(state);
    let writable = match zone {
        Some(zone) => state.zone_writable(zone),
        None => !state.outage,
    };
    if writable {
        return Ok(());
    }
    let name = zone
        .and_then(|z| state.zones.get(z))
        .map(|z| z.name.as_str())
        .unwrap_or("");
    Err(ApiError::connector_outage(name))
}

/// Performs the action at `now`; returns how many simulated seconds until its effect is done.
pub fn perform(state: &mut SiteState, action: &Action, now: DateTime<Utc>) -> ApiResult<i64> {
    refuse_deleted(state, action)?;
    let secs = match action {
        Action::Power {
            machine,
            action,
            force,
        } => power::power(state, *machine, *action, *force, now)?,
        Action::LogoffSession(key) => {
            if !timeline::begin_logoff(state, *key, now) {
                return Err(ApiError::not_found("Session", &key.to_string()));
            }
            LOGOFF_SECS
        }
        Action::DisconnectSession(key) => {
            disconnect(state, *key, now)?;
            0
        }
        Action::SendMessage(key) => {
            let session = state
                .sessions
                .get(key)
                .ok_or_else(|| ApiError::not_found("Session", &key.to_string()))?;
            if session.state == SessionState::Disconnected {
                return Err(ApiError::invalid_operation(
                    "Cannot send a message to a disconnected session",
                ));
            }
            0
        }
        Action::HideSession { session, hide } => {
            let s = state
                .sessions
                .get_mut(session)
                .ok_or_else(|| ApiError::not_found("Session", &session.to_string()))?;
            s.hidden = *hide;
            0
        }
        Action::MachineLogoff(machine) => {
            for key in machine_sessions(state, *machine)? {
                timeline::begin_logoff(state, key, now);
            }
            LOGOFF_SECS
        }
        Action::MachineDisconnect(machine) => {
            for key in machine_sessions(state, *machine)? {
                // Sessions already disconnected stay as they are.
                let _ = disconnect(state, key, now);
            }
            0
        }
        Action::UpdateMachine {
            machine,
            maintenance,
            assigned,
        } => {
            inventory::update_machine(state, *machine, *maintenance, assigned.as_deref())?;
            0
        }
        Action::AddCatalogMachine {
            catalog,
            name,
            assigned,
            maintenance,
        } => {
            inventory::create_machine(state, *catalog, name, assigned, *maintenance)?;
            0
        }
        Action::AddGroupMachines {
            group,
            catalog,
            count,
            assignments,
        } => {
            inventory::add_group_machines(state, *group, *catalog, *count, assignments)?;
            0
        }
        Action::RemoveGroupMachine { group, machine } => {
            inventory::remove_group_machine(state, *group, *machine)?;
            0
        }
        Action::UpdateGroup { group, edit } => {
            entitle::update_group(state, *group, edit)?;
            0
        }
        Action::UpdateAppGroup { app_group, edit } => {
            entitle::update_app_group(state, *app_group, edit)?;
            0
        }
        Action::DeleteMachine { machine, catalog } => {
            inventory::delete_machine(state, *machine, *catalog)?;
            0
        }
    };
    let target = action.target_id(state);
    state.record_call(action.call_name(), &target);
    Ok(secs)
}

/// A job accepted before its machine was deleted finds it gone, as the site would.
fn refuse_deleted(state: &SiteState, action: &Action) -> ApiResult<()> {
    let machine = match action {
        Action::Power { machine, .. }
        | Action::MachineLogoff(machine)
        | Action::MachineDisconnect(machine)
        | Action::UpdateMachine { machine, .. }
        | Action::RemoveGroupMachine { machine, .. }
        | Action::DeleteMachine { machine, .. } => *machine,
        _ => return Ok(()),
    };
    match state.machines.get(machine) {
        Some(m) if !m.removed => Ok(()),
        Some(m) => Err(ApiError::not_found("Machine", &m.qualified_name())),
        None => Err(ApiError::not_found("Machine", &machine.to_string())),
    }
}

fn machine_sessions(state: &SiteState, machine: usize) -> ApiResult<Vec<u64>> {
    state
        .machines
        .get(machine)
        .map(|m| m.sessions.clone())
        .ok_or_else(|| ApiError::not_found("Machine", &machine.to_string()))
}

fn disconnect(state: &mut SiteState, key: u64, now: DateTime<Utc>) -> ApiResult<()> {
    let session = state
        .sessions
        .get_mut(&key)
        .ok_or_else(|| ApiError::not_found("Session", &key.to_string()))?;
    if session.state == SessionState::Disconnected {
        return Err(ApiError::invalid_operation(
            "The session is already disconnected",
        ));
    }
    if session.logoff_in_progress {
        return Err(ApiError::invalid_operation("The session is logging off"));
    }
    session.state = SessionState::Disconnected;
    session.state_change = Stamp::new(now);
    Ok(())
}

/// Whether the broker would place one more session on `machine`: powered on (or an
/// unmanaged Remote PC), registered, neither it nor its enabled group in maintenance, and with
/// capacity (one session on a single-session machine, [`MAX_SERVER_SESSIONS`] on a server).
pub fn accepts_session(state: &SiteState, machine: usize) -> bool {
    let Some(m) = state.machines.get(machine) else {
        return false;
    };
    let Some(group) = m.group.and_then(|g| state.groups.get(g)) else {
        return false;
    };
    let single = group.session_support == crate::model::SessionSupport::SingleSession;
    matches!(m.power, PowerState::On | PowerState::Unmanaged)
        && m.registration == RegistrationState::Registered
        && !m.in_maintenance
        && !group.in_maintenance
        && group.enabled
        && m.sessions.len() < if single { 1 } else { MAX_SERVER_SESSIONS }
}

/// Starts a new session for `person` on `machine` (logon in progress), if the broker would
/// ([`accepts_session`]).
pub fn logon(
    state: &mut SiteState,
    person: usize,
    machine: usize,
    apps: Vec<usize>,
    now: DateTime<Utc>,
) -> Option<u64> {
    if !accepts_session(state, machine) {
        return None;
    }
    let session_type = if apps.is_empty() {
        crate::model::SessionType::Desktop
    } else {
        crate::model::SessionType::Application
    };
    let id = state.new_guid();
    let key = state.insert_session(super::state::SessionRec {
        key: 0,
        id,
        person,
        machine,
        state: SessionState::Connected,
        session_type,
        app_state: AppState::PreLogon,
        apps,
        client_name: format!("CLT-{:05}", person),
        client_ip: format!("192.168.{}.{}", (person / 250) % 250, person % 250 + 1),
        start: Stamp::new(now),
        state_change: Stamp::new(now),
        logon_in_progress: true,
        logoff_in_progress: false,
        hidden: false,
    });
    state.timeline.schedule(
        now + Duration::seconds(timeline::LOGON_SECS),
        Event::LogonDone { session: key },
    );
    Some(key)
}
