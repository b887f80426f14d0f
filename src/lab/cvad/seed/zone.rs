//! One zone's layout: pooled, persistent and Remote PC desktops, published-app servers, their
//! catalogs and delivery groups, and the desktop sessions of the zone's people.

use super::{FAULTY_SHARE, seed_session};
use crate::lab::Scale;
use crate::lab::cvad::inventory::new_machine;
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

/// A catalog with its delivery group and machines.
struct Pool {
    catalog: String,
    group: String,
    /// Machine names are `{prefix}{n}`.
    prefix: String,
    /// Whether the catalog names new machines through a scheme (`{prefix}###`).
    scheme: bool,
    count: usize,
    /// How many of the machines (the first ones) are in the group.
    in_group: usize,
    allocation: AllocationType,
    provisioning: ProvisioningType,
    support: SessionSupport,
    delivery: DeliveryKind,
    /// Power managed through a hypervisor (false for Remote PC workstations).
    managed: bool,
}

/// Adds the pool's catalog, then its group, then its machines (in that order, so the seeded
/// ids stay the same); returns the group and the machines.
fn add_pool(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    zone: usize,
    pool: Pool,
) -> (usize, Vec<usize>) {
    let digits = width(pool.count);
    let catalog = state.catalogs.len();
    state.catalogs.push(CatalogRec {
        id: new_guid(rng),
        name: pool.catalog.clone(),
        zone,
        allocation: pool.allocation,
        provisioning: pool.provisioning,
        session_support: pool.support,
        naming_scheme: pool
            .scheme
            .then(|| format!("{}{}", pool.prefix, "#".repeat(digits))),
        ou: format!(
            "OU=VDI,OU={},OU=Computers,DC=lab,DC=example",
            state.zones[zone].name
        ),
        power_managed: pool.managed,
        next_number: pool.count as u32 + 1,
        jobs_running: 0,
    });
    let group = state.groups.len();
    state.groups.push(GroupRec {
        id: new_guid(rng),
        description: format!("{} for the {} office", pool.group, state.zones[zone].name),
        name: pool.group.clone(),
        session_support: pool.support,
        delivery_type: pool.delivery,
        allocation: pool.allocation,
        in_maintenance: false,
        enabled: true,
        included_users: Vec::new(),
        included_filter: true,
    });
    let machines = add_machines(state, rng, catalog, Some(group), &pool, digits);
    (group, machines)
}

/// Adds `count` machines named `{prefix}{n}` to a catalog, the first `in_group` of them in
/// `group`; a share of them faulty or in maintenance.
fn add_machines(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    catalog: usize,
    group: Option<usize>,
    pool: &Pool,
    digits: usize,
) -> Vec<usize> {
    let (prefix, count, managed) = (&pool.prefix, pool.count, pool.managed);
    let zone = state.catalogs[catalog].zone;
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
        // Drawn in this order so a seed always gives the same site.
        let id = new_guid(rng);
        let in_maintenance = rng.random_bool(0.02);
        let name = format!("{prefix}{n:0digits$}");
        state.machines.push(MachineRec {
            group: if n <= pool.in_group { group } else { None },
            power,
            registration,
            fault,
            in_maintenance,
            last_deregistration_reason: reason,
            last_deregistration_time: reason.map(|_| state.last_tick - Duration::hours(3)),
            ..new_machine(id, name, catalog, zone, index)
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
    let (_, pooled) = add_pool(
        state,
        rng,
        zone,
        Pool {
            catalog: format!("{code} Win11 Pooled"),
            group: format!("{zname} Pooled Desktops"),
            prefix: format!("VDI-{code}-"),
            scheme: true,
            count: pooled_in_group + 3,
            in_group: pooled_in_group,
            allocation: AllocationType::Random,
            provisioning: ProvisioningType::MCS,
            support: SessionSupport::SingleSession,
            delivery: DeliveryKind::DesktopsOnly,
            managed: true,
        },
    );
    // Static (persistent) VDI, assigned to the first people of the zone.
    let static_catalog = state.catalogs.len();
    let (static_group, statics) = add_pool(
        state,
        rng,
        zone,
        Pool {
            catalog: format!("{code} Win11 Persistent"),
            group: format!("{zname} Persistent Desktops"),
            prefix: format!("VDS-{code}-"),
            scheme: true,
            count: static_count + 2,
            in_group: static_count,
            allocation: AllocationType::Static,
            provisioning: ProvisioningType::MCS,
            support: SessionSupport::SingleSession,
            delivery: DeliveryKind::DesktopsOnly,
            managed: true,
        },
    );
    // Remote PC: physical workstations, not power managed.
    let (_, remote) = add_pool(
        state,
        rng,
        zone,
        Pool {
            catalog: format!("{code} Remote PC"),
            group: format!("{zname} Remote PC Access"),
            prefix: format!("WS-{code}-"),
            scheme: false,
            count: remote_count,
            in_group: remote_count,
            allocation: AllocationType::Static,
            provisioning: ProvisioningType::Manual,
            support: SessionSupport::SingleSession,
            delivery: DeliveryKind::DesktopsOnly,
            managed: false,
        },
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
    let app_pool = |catalog: String, group: String, prefix: String, count: usize| Pool {
        catalog,
        group,
        prefix,
        scheme: true,
        count,
        in_group: count,
        allocation: AllocationType::Random,
        provisioning: ProvisioningType::MCS,
        support: SessionSupport::MultiSession,
        delivery: DeliveryKind::AppsOnly,
        managed: true,
    };
    let (office, _) = add_pool(
        state,
        rng,
        zone,
        app_pool(
            format!("{code} Server 2022 Office"),
            format!("{zname} Office Apps"),
            format!("XA-{code}-"),
            office_servers,
        ),
    );
    // Clinical servers were built by hand (a Manual catalog) but are power managed.
    let (clinical, _) = add_pool(
        state,
        rng,
        zone,
        Pool {
            provisioning: ProvisioningType::Manual,
            delivery: DeliveryKind::DesktopsAndApps,
            ..app_pool(
                format!("{code} Server 2022 Clinical"),
                format!("{zname} Clinical Apps"),
                format!("XAC-{code}-"),
                clinical_servers,
            )
        },
    );
    ZonePlan {
        zone,
        static_group,
        static_catalog,
        office,
        clinical,
        app_sessions,
        people,
    }
}

/// What a zone still needs once the site's applications exist: its published-app sessions.
pub struct ZonePlan {
    pub zone: usize,
    /// The persistent desktops' delivery group and MCS catalog.
    pub static_group: usize,
    pub static_catalog: usize,
    pub office: usize,
    pub clinical: usize,
    pub app_sessions: usize,
    pub people: Vec<usize>,
}
