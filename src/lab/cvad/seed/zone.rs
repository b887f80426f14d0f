//! One zone's layout: pooled, persistent and Remote PC desktops, published-app servers, their
//! catalogs and delivery groups, and the desktop sessions of the zone's people.

use super::{FAULTY_SHARE, seed_session};
use crate::lab::Scale;
use crate::lab::cvad::state::new_guid;
use crate::lab::cvad::state::{CatalogRec, GroupRec, MachineRec, SiteState};
use crate::model::{
    AllocationType, DeliveryKind, FaultState, PowerState, ProvisioningType, RegistrationState,
    SessionSupport,
};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Width of the number in a naming scheme big enough for `count` machines plus growth.
fn width(count: usize) -> usize {
    ((count + 100) as f64).log10().ceil().max(2.0) as usize
}

#[allow(clippy::too_many_arguments)]
fn add_catalog(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    zone: usize,
    name: String,
    prefix: Option<String>,
    count: usize,
    allocation: AllocationType,
    provisioning: ProvisioningType,
    support: SessionSupport,
) -> usize {
    let digits = width(count);
    let naming_scheme = prefix
        .as_ref()
        .map(|p| format!("{p}{}", "#".repeat(digits)));
    let index = state.catalogs.len();
    state.catalogs.push(CatalogRec {
        id: new_guid(rng),
        name,
        zone,
        allocation,
        provisioning,
        session_support: support,
        naming_scheme,
        ou: format!(
            "OU=VDI,OU={},OU=Computers,DC=lab,DC=example",
            state.zones[zone].name
        ),
        power_managed: provisioning != ProvisioningType::Manual,
        next_number: count as u32 + 1,
        jobs_running: 0,
    });
    index
}

fn add_group(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    zone: usize,
    name: String,
    support: SessionSupport,
    delivery: DeliveryKind,
    allocation: AllocationType,
) -> usize {
    let index = state.groups.len();
    state.groups.push(GroupRec {
        id: new_guid(rng),
        description: format!("{name} for the {} office", state.zones[zone].name),
        name,
        session_support: support,
        delivery_type: delivery,
        allocation,
        in_maintenance: false,
        enabled: true,
    });
    index
}

/// Adds `count` machines named `{prefix}{n}` to a catalog, the first `in_group` of them in
/// `group`; a share of them faulty or in maintenance.
#[allow(clippy::too_many_arguments)]
fn add_machines(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    catalog: usize,
    group: Option<usize>,
    prefix: &str,
    count: usize,
    in_group: usize,
    managed: bool,
) -> Vec<usize> {
    let zone = state.catalogs[catalog].zone;
    let digits = width(count);
    let mut out = Vec::with_capacity(count);
    for n in 1..=count {
        let index = state.machines.len();
        let fault = if managed && rng.random_bool(FAULTY_SHARE) {
            match rng.random_range(0..3) {
                0 => FaultState::FailedToStart,
                1 => FaultState::StuckOnBoot,
                _ => FaultState::Unregistered,
            }
        } else {
            FaultState::None
        };
        let (power, registration, reason) = match (managed, fault) {
            (false, _) => (PowerState::Unmanaged, RegistrationState::Registered, None),
            (_, FaultState::FailedToStart) => (
                PowerState::Off,
                RegistrationState::Unregistered,
                Some("PowerOff"),
            ),
            (_, FaultState::StuckOnBoot) => (PowerState::On, RegistrationState::Unregistered, None),
            (_, FaultState::Unregistered) => (
                PowerState::On,
                RegistrationState::Unregistered,
                Some("AgentNotContactable"),
            ),
            _ => (PowerState::On, RegistrationState::Registered, None),
        };
        state.machines.push(MachineRec {
            id: new_guid(rng),
            name: format!("{prefix}{n:0digits$}"),
            sid: format!("S-1-5-21-3623811015-3361044348-30300820-{}", 20_000 + index),
            catalog,
            group: if n <= in_group { group } else { None },
            zone,
            power,
            registration,
            fault,
            in_maintenance: rng.random_bool(0.02),
            assigned: Vec::new(),
            sessions: Vec::new(),
            generation: 0,
            power_action_pending: false,
            last_deregistration_reason: reason,
            last_deregistration_time: reason.map(|_| state.last_tick - Duration::hours(3)),
            ip: format!(
                "10.{}.{}.{}",
                100 + zone,
                (index / 250) % 250,
                index % 250 + 1
            ),
        });
        state.index_machine(index);
        out.push(index);
    }
    out
}

/// Whether a seeded machine can take a session right now.
pub fn usable(state: &SiteState, machine: usize) -> bool {
    state.machines.get(machine).is_some_and(|m| {
        m.fault == FaultState::None
            && matches!(m.power, PowerState::On | PowerState::Unmanaged)
            && m.registration == RegistrationState::Registered
            && !m.in_maintenance
            && m.group.is_some()
    })
}

#[allow(clippy::too_many_arguments)]
pub fn build_zone(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    scale: Scale,
    zone: usize,
    people: Vec<usize>,
    quota: usize,
    now: DateTime<Utc>,
) -> ZonePlan {
    let code = state.zones[zone].code;
    let zname = state.zones[zone].name.clone();
    let n = people.len();
    let (pooled_share, static_share) = match scale {
        Scale::Small => (0.35, 0.12),
        Scale::Large => (0.15, 0.04),
    };
    let pooled_used = ((n as f64) * pooled_share).ceil() as usize;
    let pooled_in_group = pooled_used + pooled_used / 6 + 2;
    let static_count = ((n as f64) * static_share).ceil() as usize;
    let remote_count = 3.min(n);

    // Pooled VDI.
    let prefix = format!("VDI-{code}-");
    let cat = add_catalog(
        state,
        rng,
        zone,
        format!("{code} Win11 Pooled"),
        Some(prefix.clone()),
        pooled_in_group + 3,
        AllocationType::Random,
        ProvisioningType::MCS,
        SessionSupport::SingleSession,
    );
    let grp = add_group(
        state,
        rng,
        zone,
        format!("{zname} Pooled Desktops"),
        SessionSupport::SingleSession,
        DeliveryKind::DesktopsOnly,
        AllocationType::Random,
    );
    let pooled = add_machines(
        state,
        rng,
        cat,
        Some(grp),
        &prefix,
        pooled_in_group + 3,
        pooled_in_group,
        true,
    );
    // Static (persistent) VDI, assigned to the first people of the zone.
    let prefix = format!("VDS-{code}-");
    let cat = add_catalog(
        state,
        rng,
        zone,
        format!("{code} Win11 Persistent"),
        Some(prefix.clone()),
        static_count + 2,
        AllocationType::Static,
        ProvisioningType::MCS,
        SessionSupport::SingleSession,
    );
    let grp = add_group(
        state,
        rng,
        zone,
        format!("{zname} Persistent Desktops"),
        SessionSupport::SingleSession,
        DeliveryKind::DesktopsOnly,
        AllocationType::Static,
    );
    let statics = add_machines(
        state,
        rng,
        cat,
        Some(grp),
        &prefix,
        static_count + 2,
        static_count,
        true,
    );
    // Remote PC: physical workstations, not power managed.
    let prefix = format!("WS-{code}-");
    let cat = add_catalog(
        state,
        rng,
        zone,
        format!("{code} Remote PC"),
        None,
        remote_count,
        AllocationType::Static,
        ProvisioningType::Manual,
        SessionSupport::SingleSession,
    );
    let grp = add_group(
        state,
        rng,
        zone,
        format!("{zname} Remote PC Access"),
        SessionSupport::SingleSession,
        DeliveryKind::DesktopsOnly,
        AllocationType::Static,
    );
    let remote = add_machines(
        state,
        rng,
        cat,
        Some(grp),
        &prefix,
        remote_count,
        remote_count,
        false,
    );

    let mut owners = people.iter().copied();
    for m in statics.iter().take(static_count).chain(remote.iter()) {
        if let Some(person) = owners.next() {
            state.machines[*m].assigned.push(person);
        }
    }
    // Desktop sessions: owners on their own machines, then pooled users.
    let mut made = 0usize;
    for m in statics.iter().chain(remote.iter()).copied() {
        let owner = state.machines[m].assigned.first().copied();
        if let Some(person) = owner
            && usable(state, m)
            && rng.random_bool(0.8)
            && made < quota
        {
            seed_session(state, rng, person, m, Vec::new(), now);
            made += 1;
        }
    }
    let mut users = people.iter().skip(static_count + remote_count).copied();
    for m in pooled.iter().take(pooled_used).copied() {
        if made >= quota {
            break;
        }
        if usable(state, m)
            && let Some(person) = users.next()
        {
            seed_session(state, rng, person, m, Vec::new(), now);
            made += 1;
        }
    }
    // Some idle pooled machines are powered off by power management.
    for m in pooled.iter().copied() {
        let machine = &mut state.machines[m];
        if machine.sessions.is_empty() && machine.fault == FaultState::None && rng.random_bool(0.25)
        {
            machine.power = PowerState::Off;
            machine.registration = RegistrationState::Unregistered;
            machine.last_deregistration_reason = Some("PowerOff");
        }
    }
    // Published-app servers sized for the remaining sessions at ~40 per server.
    let app_sessions = quota.saturating_sub(made);
    let servers = app_sessions.div_ceil(40).max(3);
    let clinical_servers = (servers / 5).max(1);
    let office_servers = servers - clinical_servers + 1;
    let prefix = format!("XA-{code}-");
    let cat = add_catalog(
        state,
        rng,
        zone,
        format!("{code} Server 2022 Office"),
        Some(prefix.clone()),
        office_servers,
        AllocationType::Random,
        ProvisioningType::MCS,
        SessionSupport::MultiSession,
    );
    let office = add_group(
        state,
        rng,
        zone,
        format!("{zname} Office Apps"),
        SessionSupport::MultiSession,
        DeliveryKind::AppsOnly,
        AllocationType::Random,
    );
    add_machines(
        state,
        rng,
        cat,
        Some(office),
        &prefix,
        office_servers,
        office_servers,
        true,
    );
    let prefix = format!("XAC-{code}-");
    let cat = add_catalog(
        state,
        rng,
        zone,
        format!("{code} Server 2022 Clinical"),
        Some(prefix.clone()),
        clinical_servers,
        AllocationType::Random,
        ProvisioningType::Manual,
        SessionSupport::MultiSession,
    );
    state.catalogs[cat].power_managed = true;
    let clinical = add_group(
        state,
        rng,
        zone,
        format!("{zname} Clinical Apps"),
        SessionSupport::MultiSession,
        DeliveryKind::DesktopsAndApps,
        AllocationType::Random,
    );
    add_machines(
        state,
        rng,
        cat,
        Some(clinical),
        &prefix,
        clinical_servers,
        clinical_servers,
        true,
    );
    ZonePlan {
        zone,
        office,
        clinical,
        app_sessions,
        people,
    }
}

/// What a zone still needs once the site's applications exist: its published-app sessions.
pub struct ZonePlan {
    pub zone: usize,
    pub office: usize,
    pub clinical: usize,
    pub app_sessions: usize,
    pub people: Vec<usize>,
}
