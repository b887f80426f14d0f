//! Conversion of the site's records into the API's wire models (`crate::cvad::wire`).

use super::state::{Counters, MachineRec, SessionRec, SiteState, USER_RID_BASE, USER_SID_PREFIX};
use crate::cvad::wire::{
    ApplicationGroupResponse, ApplicationResponse, DeliveryGroupResponse, IdentityUser,
    MachineCatalogResponse, MachineResponse, ProvisioningProgress, ProvisioningSchemeSummary,
    RefModel, SessionClient, SessionConnection, SessionMachine, SessionResponse, ZoneResponse,
};
use crate::cvad::wire_entitle::{
    ApplicationGroupDetailResponse, DeliveryGroupDetailResponse, SimpleAccessPolicyResponse,
};
use crate::lab::people::{DOMAIN, Person};
use crate::model::{
    AllocationType, PowerState, ProvisioningType, RegistrationState, SessionSupport,
};

pub fn identity(person: &Person) -> IdentityUser {
    IdentityUser {
        sid: Some(format!("{USER_SID_PREFIX}{}", USER_RID_BASE + person.index)),
        sam_name: Some(person.qualified()),
        principal_name: Some(person.upn.clone()),
        display_name: Some(person.display_name.clone()),
        mail: Some(person.mail.clone()),
        domain: Some(DOMAIN.to_string()),
    }
}

fn group_ref(state: &SiteState, group: Option<usize>) -> Option<RefModel> {
    group.and_then(|g| state.groups.get(g)).map(|g| RefModel {
        id: g.id.clone(),
        name: g.name.clone(),
    })
}

fn catalog_ref(state: &SiteState, catalog: usize) -> Option<RefModel> {
    state.catalogs.get(catalog).map(|c| RefModel {
        id: c.id.clone(),
        name: c.name.clone(),
    })
}

fn zone_ref(state: &SiteState, zone: usize) -> Option<RefModel> {
    state.zones.get(zone).map(|z| RefModel {
        id: z.id.clone(),
        name: z.name.clone(),
    })
}

pub fn machine(state: &SiteState, m: &MachineRec) -> MachineResponse {
    let catalog = state.catalogs.get(m.catalog);
    let assigned: Vec<IdentityUser> = m
        .assigned
        .iter()
        .filter_map(|p| state.person(*p))
        .map(identity)
        .collect();
    let associated: Vec<IdentityUser> = m
        .sessions
        .iter()
        .filter_map(|k| state.sessions.get(k))
        .filter_map(|s| state.person(s.person))
        .map(identity)
        .collect();
    let session_support = catalog
        .map(|c| c.session_support)
        .unwrap_or(SessionSupport::SingleSession);
    let load_index = (session_support == SessionSupport::MultiSession)
        .then(|| (m.sessions.len() as u32 * 200).min(10_000));
    MachineResponse {
        id: m.id.clone(),
        name: m.qualified_name(),
        dns_name: format!("{}.lab.example", m.name.to_ascii_lowercase()),
        sid: Some(m.sid.clone()),
        machine_catalog: catalog_ref(state, m.catalog),
        delivery_group: group_ref(state, m.group),
        zone: zone_ref(state, m.zone),
        agent_version: Some("2402.0.100.629".to_string()),
        allocation_type: catalog
            .map(|c| c.allocation)
            .unwrap_or(AllocationType::Random),
        is_assigned: !assigned.is_empty(),
        assigned_users: assigned,
        associated_users: associated,
        in_maintenance_mode: m.in_maintenance,
        maintenance_mode_reason: if m.in_maintenance {
            crate::model::MaintenanceModeReason::Administrator
        } else {
            crate::model::MaintenanceModeReason::None
        },
        ip_address: Some(m.ip.clone()),
        os_type: Some(
            if session_support == SessionSupport::MultiSession {
                "Windows 2022"
            } else {
                "Windows 11"
            }
            .to_string(),
        ),
        power_state: m.power,
        power_action_pending: m.power_action_pending,
        supported_power_actions: state.supported_actions(m),
        registration_state: m.registration,
        last_deregistration_reason: m.last_deregistration_reason.map(str::to_string),
        last_deregistration_time: m.last_deregistration_time.map(|t| t.to_rfc3339()),
        fault_state: m.fault,
        summary_state: state.summary(m),
        session_count: m.sessions.len() as u32,
        session_support,
        load_index,
        provisioning_type: catalog
            .map(|c| c.provisioning)
            .unwrap_or(ProvisioningType::Manual),
        last_connection_time: m
            .last_connection
            .map(|t| super::state::Stamp::new(t).legacy),
        formatted_last_connection_time: m.last_connection.map(|t| t.to_rfc3339()),
    }
}

pub fn session(state: &SiteState, s: &SessionRec) -> SessionResponse {
    let machine = state.machines.get(s.machine);
    SessionResponse {
        id: s.id.clone(),
        user: state.person(s.person).map(identity),
        machine: machine.map(|m| SessionMachine {
            id: m.id.clone(),
            name: m.qualified_name(),
            dns_name: format!("{}.lab.example", m.name.to_ascii_lowercase()),
            delivery_group: group_ref(state, m.group),
            machine_catalog: catalog_ref(state, m.catalog),
        }),
        state: s.state,
        session_type: s.session_type,
        app_state: s.app_state,
        applications_in_use: s
            .apps
            .iter()
            .filter_map(|a| state.apps.get(*a))
            .map(|a| RefModel {
                id: a.id.clone(),
                name: a.name.clone(),
            })
            .collect(),
        client: Some(SessionClient {
            name: Some(s.client_name.clone()),
            ip_address: Some(s.client_ip.clone()),
            platform: Some("Windows".to_string()),
            version: Some("24.3.0.64".to_string()),
        }),
        connection: Some(SessionConnection {
            protocol: Some("HDX".to_string()),
            connection_mode: Some("Brokered".to_string()),
        }),
        start_time: Some(s.start.legacy.clone()),
        formatted_start_time: Some(s.start.rfc3339.clone()),
        state_change_time: Some(s.state_change.legacy.clone()),
        formatted_state_change_time: Some(s.state_change.rfc3339.clone()),
        logon_in_progress: s.logon_in_progress,
        logoff_in_progress: s.logoff_in_progress,
        is_hidden: s.hidden,
    }
}

pub fn group(state: &SiteState, index: usize, counters: Counters) -> Option<DeliveryGroupResponse> {
    let g = state.groups.get(index)?;
    Some(DeliveryGroupResponse {
        id: g.id.clone(),
        name: g.name.clone(),
        description: g.description.clone(),
        enabled: g.enabled,
        in_maintenance_mode: g.in_maintenance,
        session_support: g.session_support,
        delivery_type: g.delivery_type,
        sharing_kind: Some(
            if g.allocation == AllocationType::Static {
                "Private"
            } else {
                "Shared"
            }
            .to_string(),
        ),
        total_desktops: counters.total,
        desktops_available: counters.available,
        desktops_in_use: counters.in_use,
        desktops_disconnected: counters.disconnected,
        desktops_faulted: counters.faulted,
        desktops_unregistered: counters.unregistered,
        session_count: counters.sessions,
        total_applications: state
            .apps
            .iter()
            .filter(|a| a.groups.contains(&index))
            .count() as u32,
        is_power_managed: true,
    })
}

/// `GET /DeliveryGroups/{nameOrId}`: the list model with the access policy and machine
/// counts.
pub fn group_detail(state: &SiteState, index: usize) -> Option<DeliveryGroupDetailResponse> {
    let g = state.groups.get(index)?;
    let base = group(state, index, state.counters_of(index))?;
    let members = || state.machines.iter().filter(|m| m.group == Some(index));
    let count = |keep: &dyn Fn(&MachineRec) -> bool| members().filter(|m| keep(m)).count() as u32;
    let people = |list: &[usize]| -> Vec<IdentityUser> {
        list.iter()
            .filter_map(|p| state.person(*p))
            .map(identity)
            .collect()
    };
    Some(DeliveryGroupDetailResponse {
        simple_access_policy: Some(SimpleAccessPolicyResponse {
            allow_anonymous: false,
            allow_hdx_access: true,
            allow_rdp_access: false,
            connect_via_net_scaler_gateway_allowed: true,
            connect_not_via_net_scaler_gateway_allowed: true,
            included_user_filter_enabled: g.included_filter,
            included_users: people(&g.included_users),
            excluded_user_filter_enabled: false,
            excluded_users: Vec::new(),
        }),
        total_machines: base.total_desktops,
        registered_machines: count(&|m| m.registration == RegistrationState::Registered),
        off_machines: count(&|m| m.power == PowerState::Off),
        machines_in_maintenance_mode: count(&|m| m.in_maintenance),
        unassigned_machines: (g.allocation == AllocationType::Static)
            .then(|| count(&|m| m.assigned.is_empty())),
        group: base,
    })
}

/// `GET /ApplicationGroups/{nameOrId}`.
pub fn app_group_detail(state: &SiteState, index: usize) -> Option<ApplicationGroupDetailResponse> {
    let g = state.app_groups.get(index)?;
    let listed = app_group(state, index)?;
    let total_machines = state
        .machines
        .iter()
        .filter(|m| m.group.is_some_and(|d| g.groups.contains(&d)))
        .count() as u32;
    Some(ApplicationGroupDetailResponse {
        id: listed.id,
        name: listed.name,
        enabled: listed.enabled,
        delivery_groups: listed.delivery_groups,
        application_count: g.apps,
        total_machines,
        included_users_filter_enabled: g.included_filter,
        included_users: listed.included_users,
    })
}

pub fn catalog(state: &SiteState, index: usize) -> Option<MachineCatalogResponse> {
    let c = state.catalogs.get(index)?;
    let machines: Vec<&MachineRec> = state
        .machines
        .iter()
        .filter(|m| m.catalog == index && !m.removed)
        .collect();
    let total = machines.len() as u32;
    let used = machines.iter().filter(|m| m.group.is_some()).count() as u32;
    let assigned = machines.iter().filter(|m| !m.assigned.is_empty()).count() as u32;
    Some(MachineCatalogResponse {
        id: c.id.clone(),
        name: c.name.clone(),
        allocation_type: c.allocation,
        provisioning_type: c.provisioning,
        session_support: c.session_support,
        zone: zone_ref(state, c.zone),
        total_count: total,
        available_count: total - used,
        used_count: used,
        assigned_count: assigned,
        unassigned_count: total - assigned,
        is_power_managed: c.power_managed,
        provisioning_progress: (c.provisioning == ProvisioningType::MCS).then(|| {
            ProvisioningProgress {
                is_running: c.jobs_running > 0,
                progress: None,
                progress_message: (c.jobs_running > 0)
                    .then(|| format!("{} machine(s) being provisioned", c.jobs_running)),
            }
        }),
        provisioning_scheme: c
            .naming_scheme
            .as_ref()
            .map(|scheme| ProvisioningSchemeSummary {
                naming_scheme: Some(scheme.clone()),
                ou: Some(c.ou.clone()),
                domain: Some("lab.example".to_string()),
            }),
    })
}

pub fn application(state: &SiteState, index: usize) -> Option<ApplicationResponse> {
    let a = state.apps.get(index)?;
    Some(ApplicationResponse {
        id: a.id.clone(),
        name: a.name.clone(),
        published_name: a.published_name.clone(),
        enabled: true,
        delivery_groups: a
            .groups
            .iter()
            .filter_map(|g| group_ref(state, Some(*g)))
            .collect(),
        application_groups: a
            .app_groups
            .iter()
            .filter_map(|g| state.app_groups.get(*g))
            .map(|g| RefModel {
                id: g.id.clone(),
                name: g.name.clone(),
            })
            .collect(),
    })
}

pub fn app_group(state: &SiteState, index: usize) -> Option<ApplicationGroupResponse> {
    let g = state.app_groups.get(index)?;
    Some(ApplicationGroupResponse {
        id: g.id.clone(),
        name: g.name.clone(),
        enabled: true,
        delivery_groups: g
            .groups
            .iter()
            .filter_map(|d| group_ref(state, Some(*d)))
            .collect(),
        included_users: g
            .users
            .iter()
            .filter_map(|p| state.person(*p))
            .map(identity)
            .collect(),
        total_applications: g.apps,
    })
}

pub fn zone(state: &SiteState, index: usize) -> Option<ZoneResponse> {
    let z = state.zones.get(index)?;
    Some(ZoneResponse {
        id: z.id.clone(),
        name: z.name.clone(),
        description: format!("Resource location {}", z.name),
        is_primary: z.is_primary,
        is_healthy: z.is_healthy(),
        last_state_change_time_in_utc: Some(z.last_state_change.to_rfc3339()),
        resource_location: Some(RefModel {
            id: z.id.clone(),
            name: z.name.clone(),
        }),
    })
}
