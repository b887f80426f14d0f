//! Wire models (PascalCase JSON) to domain types ([`crate::model`]) and the client's [`Job`].
//!
//! Conversions never fail: a missing optional field becomes an empty value, so one odd object
//! from a newer or older CVAD release cannot break a whole listing.

use super::jobs::Job;
use super::wire::{
    ApplicationGroupResponse, ApplicationResponse, DeliveryGroupResponse, IdentityUser,
    JobResponse, MachineCatalogResponse, MachineResponse, NameValue, RefModel, SessionResponse,
    ZoneResponse,
};
use crate::model::{
    AllocationType, AppGroup, Application, DeliveryGroup, DeliveryGroupCounters, Machine,
    MachineCatalog, Ref, Session, Zone,
};
use chrono::{DateTime, NaiveDateTime, Utc};

pub fn reference(r: RefModel) -> Ref {
    Ref {
        id: r.id,
        name: r.name,
    }
}

fn opt_ref(r: Option<RefModel>) -> Option<Ref> {
    r.filter(|r| !(r.id.is_empty() && r.name.is_empty()))
        .map(reference)
}

/// `DOMAIN\user` as CVAD writes user names; falls back to the UPN, display name or SID.
pub fn user_name(user: &IdentityUser) -> String {
    let nonempty = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
    match (nonempty(&user.sam_name), nonempty(&user.domain)) {
        (Some(sam), _) if sam.contains('\\') => sam,
        (Some(sam), Some(domain)) => format!("{domain}\\{sam}"),
        (Some(sam), None) => sam,
        (None, _) => nonempty(&user.principal_name)
            .or_else(|| nonempty(&user.display_name))
            .or_else(|| nonempty(&user.sid))
            .unwrap_or_default(),
    }
}

/// A CVAD time: the RFC 3339 `Formatted*` twin when present, else the raw value in RFC 3339 or
/// the US form the API also uses (`12/7/2020 7:25:34 AM`, taken as UTC).
pub fn time(formatted: Option<&str>, raw: Option<&str>) -> Option<DateTime<Utc>> {
    [formatted, raw]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .find_map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .ok()
                .or_else(|| {
                    NaiveDateTime::parse_from_str(s, "%m/%d/%Y %I:%M:%S %p")
                        .ok()
                        .map(|n| n.and_utc())
                })
        })
}

pub fn machine(m: MachineResponse) -> Machine {
    Machine {
        id: m.id,
        name: m.name,
        dns_name: m.dns_name,
        catalog: opt_ref(m.machine_catalog),
        delivery_group: opt_ref(m.delivery_group),
        zone: opt_ref(m.zone),
        allocation_type: m.allocation_type,
        session_support: m.session_support,
        provisioning_type: m.provisioning_type,
        assigned_users: m
            .assigned_users
            .iter()
            .map(user_name)
            .filter(|u| !u.is_empty())
            .collect(),
        in_maintenance_mode: m.in_maintenance_mode,
        maintenance_mode_reason: m.maintenance_mode_reason,
        power_state: m.power_state,
        power_action_pending: m.power_action_pending,
        registration_state: m.registration_state,
        fault_state: m.fault_state,
        summary_state: m.summary_state,
        session_count: m.session_count,
        supported_power_actions: m.supported_power_actions,
        last_deregistration_reason: m.last_deregistration_reason,
        os_type: m.os_type.unwrap_or_default(),
        ip_address: m.ip_address,
        load_index: m.load_index,
        last_connection_time: time(
            m.formatted_last_connection_time.as_deref(),
            m.last_connection_time.as_deref(),
        ),
    }
}

pub fn session(s: SessionResponse) -> Session {
    let user = s.user.unwrap_or_default();
    let machine = s.machine.unwrap_or_default();
    let client = s.client.unwrap_or_default();
    let connection = s.connection.unwrap_or_default();
    Session {
        id: s.id,
        user_name: user_name(&user),
        user_upn: user.principal_name.unwrap_or_default(),
        user_display_name: user.display_name.unwrap_or_default(),
        machine: Ref {
            id: machine.id,
            name: machine.name,
        },
        delivery_group: opt_ref(machine.delivery_group),
        state: s.state,
        session_type: s.session_type,
        app_state: s.app_state,
        applications_in_use: s.applications_in_use.into_iter().map(|a| a.name).collect(),
        client_name: client.name.unwrap_or_default(),
        client_address: client.ip_address.unwrap_or_default(),
        protocol: connection.protocol.unwrap_or_default(),
        start_time: time(s.formatted_start_time.as_deref(), s.start_time.as_deref()),
        state_change_time: time(
            s.formatted_state_change_time.as_deref(),
            s.state_change_time.as_deref(),
        ),
        logon_in_progress: s.logon_in_progress,
        logoff_in_progress: s.logoff_in_progress,
        hidden: s.is_hidden,
    }
}

pub fn delivery_group(g: DeliveryGroupResponse) -> DeliveryGroup {
    // The REST model has no allocation type; `SharingKind` says the same thing
    // (Private = assigned to users = static, Shared = pooled = random).
    let allocation_type = match g.sharing_kind.as_deref() {
        Some(kind) if kind.eq_ignore_ascii_case("Private") => AllocationType::Static,
        Some(kind) if kind.eq_ignore_ascii_case("Shared") => AllocationType::Random,
        _ => AllocationType::Unknown,
    };
    DeliveryGroup {
        id: g.id,
        name: g.name,
        description: g.description,
        enabled: g.enabled,
        in_maintenance_mode: g.in_maintenance_mode,
        session_support: g.session_support,
        delivery_type: g.delivery_type,
        allocation_type,
        counters: DeliveryGroupCounters {
            total_desktops: g.total_desktops,
            available: g.desktops_available,
            in_use: g.desktops_in_use,
            disconnected: g.desktops_disconnected,
            unregistered: g.desktops_unregistered,
            faulted: g.desktops_faulted,
            sessions: g.session_count,
        },
        total_applications: g.total_applications,
    }
}

pub fn machine_catalog(c: MachineCatalogResponse) -> MachineCatalog {
    MachineCatalog {
        id: c.id,
        name: c.name,
        allocation_type: c.allocation_type,
        provisioning_type: c.provisioning_type,
        session_support: c.session_support,
        zone: opt_ref(c.zone),
        total_count: c.total_count,
        available_count: c.available_count,
        assigned_count: c.assigned_count,
        naming_scheme: c.provisioning_scheme.and_then(|p| p.naming_scheme),
    }
}

pub fn application(a: ApplicationResponse) -> Application {
    Application {
        id: a.id,
        name: a.name,
        published_name: a.published_name,
        enabled: a.enabled,
        delivery_groups: a.delivery_groups.into_iter().map(reference).collect(),
        application_groups: a.application_groups.into_iter().map(reference).collect(),
    }
}

pub fn application_group(g: ApplicationGroupResponse) -> AppGroup {
    AppGroup {
        id: g.id,
        name: g.name,
        enabled: g.enabled,
        delivery_groups: g.delivery_groups.into_iter().map(reference).collect(),
        included_users: g
            .included_users
            .iter()
            .map(user_name)
            .filter(|u| !u.is_empty())
            .collect(),
        total_applications: g.total_applications,
    }
}

/// A zone without its connectors; the client adds those from its configuration.
pub fn zone(z: ZoneResponse) -> Zone {
    Zone {
        id: z.id,
        name: z.name,
        is_primary: z.is_primary,
        is_healthy: z.is_healthy,
        connectors: Vec::new(),
    }
}

fn pairs(list: Vec<NameValue>) -> Vec<(String, String)> {
    list.into_iter().map(|p| (p.name, p.value)).collect()
}

pub fn job(j: JobResponse) -> Job {
    let created = time(
        j.formatted_creation_time.as_deref(),
        j.creation_time.as_deref(),
    );
    let started = time(j.formatted_start_time.as_deref(), j.start_time.as_deref());
    let ended = time(j.formatted_end_time.as_deref(), j.end_time.as_deref());
    Job {
        id: j.id,
        job_type: j.job_type,
        status: j.status,
        progress: j.overall_progress_percent.map(|p| p.min(100)),
        is_cancellable: j.is_cancellable,
        parameters: pairs(j.parameters),
        sub_jobs: j.sub_jobs.into_iter().map(job).collect(),
        error_string: j.error_string.filter(|s| !s.is_empty()),
        error_code: j.error_code.filter(|s| !s.is_empty()),
        error_parameters: pairs(j.error_parameters),
        result_location: j.result_location.filter(|s| !s.is_empty()),
        created,
        started,
        ended,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PowerState, SessionState};

    #[test]
    fn user_names_take_the_domain_form() {
        let user = |sam: Option<&str>, domain: Option<&str>, upn: Option<&str>| IdentityUser {
            sam_name: sam.map(String::from),
            domain: domain.map(String::from),
            principal_name: upn.map(String::from),
            ..Default::default()
        };
        assert_eq!(
            user_name(&user(Some("LAB\\alice"), None, None)),
            "LAB\\alice"
        );
        assert_eq!(
            user_name(&user(Some("alice"), Some("LAB"), None)),
            "LAB\\alice"
        );
        assert_eq!(
            user_name(&user(None, None, Some("a@lab.test"))),
            "a@lab.test"
        );
        assert_eq!(user_name(&IdentityUser::default()), "");
    }

    #[test]
    fn times_accept_every_form_the_api_uses() {
        let expected = DateTime::parse_from_rfc3339("2020-12-07T07:25:34Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(time(Some("2020-12-07T07:25:34Z"), None), Some(expected));
        assert_eq!(time(None, Some("12/7/2020 7:25:34 AM")), Some(expected));
        assert_eq!(time(Some(""), Some("12/7/2020 7:25:34 AM")), Some(expected));
        assert_eq!(time(Some("garbage"), None), None);
    }

    #[test]
    fn a_session_converts_with_missing_parts() {
        let wire: SessionResponse = serde_json::from_value(serde_json::json!({
            "Id": "s1",
            "State": "Active",
            "User": {"SamName": "LAB\\bob", "PrincipalName": "bob@lab.test"},
            "Machine": {"Id": "m1", "Name": "LAB\\VDI-001",
                        "DeliveryGroup": {"Id": "dg1", "Name": "Desktops"}},
            "FormattedStartTime": "2026-01-01T08:00:00Z"
        }))
        .expect("decodes");
        let s = session(wire);
        assert_eq!(s.user_name, "LAB\\bob");
        assert_eq!(s.state, SessionState::Active);
        assert_eq!(s.machine.name, "LAB\\VDI-001");
        assert_eq!(
            s.delivery_group.map(|g| g.name).as_deref(),
            Some("Desktops")
        );
        assert!(s.start_time.is_some());
        assert_eq!(s.client_name, "");
    }

    #[test]
    fn a_machine_converts_and_drops_empty_refs() {
        let wire: MachineResponse = serde_json::from_value(serde_json::json!({
            "Id": "m1", "Name": "LAB\\VDI-001", "PowerState": "On",
            "DeliveryGroup": {"Id": "", "Name": ""},
            "AssignedUsers": [{"SamName": "LAB\\carol"}]
        }))
        .expect("decodes");
        let m = machine(wire);
        assert_eq!(m.power_state, PowerState::On);
        assert_eq!(m.delivery_group, None);
        assert_eq!(m.assigned_users, vec!["LAB\\carol".to_string()]);
    }

    #[test]
    fn delivery_group_counters_and_allocation() {
        let wire: DeliveryGroupResponse = serde_json::from_value(serde_json::json!({
            "Id": "dg1", "Name": "Desktops", "SharingKind": "Private",
            "TotalDesktops": 10, "DesktopsAvailable": 4, "DesktopsInUse": 3,
            "DesktopsDisconnected": 1, "DesktopsFaulted": 1, "DesktopsUnregistered": 1,
            "SessionCount": 4
        }))
        .expect("decodes");
        let g = delivery_group(wire);
        assert_eq!(g.allocation_type, AllocationType::Static);
        assert_eq!(g.counters.total_desktops, 10);
        assert_eq!(g.counters.in_use, 3);
        assert_eq!(g.counters.sessions, 4);
    }
}
