//! Deterministic generation of the default sites: catalogs, delivery groups, machines,
//! applications and sessions for the people of each zone, from the lab's seed.

mod access;
mod zone;

use super::state::{
    AppGroupRec, AppRec, SessionRec, SiteMeta, SiteState, Stamp, ZoneRec, new_guid,
};
use super::timeline::{Event, Timeline};
use crate::lab::people::Person;
use crate::lab::{LabContext, Scale};
use crate::model::{AppState, SessionState, SessionSupport, SessionType, SiteKind};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use zone::{ZonePlan, usable};

/// Total sessions across all sites at `Scale::Large`.
pub const LARGE_SESSIONS: usize = 100_000;
/// Share of machines that are faulty from the start.
pub const FAULTY_SHARE: f64 = 0.03;
/// RNG streams: one per site (0 and 2 belong to the people and ServiceNow).
pub const SITE_STREAM_BASE: u64 = 11;

/// The fixed shape of a default site.
pub struct SiteSpec {
    pub name: &'static str,
    pub kind: SiteKind,
    pub customer_id: &'static str,
    pub customer_name: &'static str,
    /// (zone name, machine-name code); the first zone is primary.
    pub zones: &'static [(&'static str, &'static str)],
}

pub const SITES: &[SiteSpec] = &[
    SiteSpec {
        name: "London",
        kind: SiteKind::Onprem,
        customer_id: "CitrixOnPremises",
        customer_name: "On-premises",
        zones: &[("London", "LDN"), ("Manchester", "MAN")],
    },
    SiteSpec {
        name: "Cloud",
        kind: SiteKind::Cloud,
        customer_id: "labcust1",
        customer_name: "Lab Customer",
        zones: &[
            ("Frankfurt", "FRA"),
            ("Virginia", "VIR"),
            ("Singapore", "SIN"),
        ],
    },
];

/// Which (site, zone) serves a person, by office.
pub fn home_of(person: &Person) -> (usize, usize) {
    match person.office.city {
        "London" => (0, 0),
        "Manchester" => (0, 1),
        _ => match person.office.region {
            "amer" => (1, 1),
            "apac" => (1, 2),
            _ => (1, 0),
        },
    }
}

const OFFICE_APPS: &[(&str, &str)] = &[
    ("Microsoft Word", "Word"),
    ("Microsoft Excel", "Excel"),
    ("Microsoft Outlook", "Outlook"),
    ("Microsoft Teams", "Teams"),
    ("Adobe Acrobat Reader", "Adobe Reader"),
    ("Notepad++", "Notepad++"),
];
const CLINICAL_APPS: &[(&str, &str)] = &[("Epic Hyperspace", "Epic"), ("SAP GUI", "SAP GUI")];

/// A zone's share of the large lab's sessions; the rounding remainder goes to the first zone
/// of the first site so the sites add up to exactly [`LARGE_SESSIONS`].
fn large_quota(ctx: &LabContext, site: usize, zone: usize, people: usize, all: usize) -> usize {
    let share = LARGE_SESSIONS * people / all;
    if (site, zone) != (0, 0) {
        return share;
    }
    let mut counts: HashMap<(usize, usize), usize> = HashMap::new();
    for person in ctx.people.iter() {
        *counts.entry(home_of(person)).or_default() += 1;
    }
    let allotted: usize = counts.values().map(|n| LARGE_SESSIONS * n / all).sum();
    share + LARGE_SESSIONS.saturating_sub(allotted)
}

/// Generates one site's state.
pub fn build(ctx: &LabContext, index: usize, spec: &SiteSpec) -> SiteState {
    let mut rng = ctx.rng(SITE_STREAM_BASE + index as u64);
    let now = ctx.clock.now();
    let site_id = new_guid(&mut rng);
    let zones: Vec<ZoneRec> = spec
        .zones
        .iter()
        .enumerate()
        .map(|(i, (name, code))| ZoneRec {
            id: new_guid(&mut rng),
            name: name.to_string(),
            code,
            is_primary: i == 0,
            connectors_up: vec![true, true],
            last_state_change: now,
        })
        .collect();
    let mut state = SiteState {
        meta: SiteMeta {
            id: site_id,
            name: spec.name.to_string(),
            kind: spec.kind,
            customer_id: spec.customer_id.to_string(),
            customer_name: spec.customer_name.to_string(),
        },
        people: Arc::clone(&ctx.people),
        zones,
        catalogs: Vec::new(),
        groups: Vec::new(),
        apps: Vec::new(),
        app_groups: Vec::new(),
        machines: Vec::new(),
        machine_lookup: HashMap::new(),
        sessions: BTreeMap::new(),
        session_by_id: HashMap::new(),
        next_session_key: 1,
        jobs: BTreeMap::new(),
        job_by_id: HashMap::new(),
        jobs_ended: Default::default(),
        next_job_key: 1,
        timeline: Timeline::default(),
        tokens: HashMap::new(),
        token_ttl_secs: 3600,
        calls: BTreeMap::new(),
        hung_logoffs: HashSet::new(),
        rng: <ChaCha8Rng as rand::SeedableRng>::from_rng(&mut rng),
        last_tick: now,
        outage: false,
    };
    let all_people = ctx.people.len().max(1);
    let mut office_groups = Vec::new();
    let mut clinical_groups = Vec::new();
    let mut plans = Vec::new();
    for zone in 0..spec.zones.len() {
        let mut people: Vec<usize> = ctx
            .people
            .iter()
            .filter(|p| home_of(p) == (index, zone))
            .map(|p| p.index)
            .collect();
        people.shuffle(&mut rng);
        let quota = match ctx.scale {
            Scale::Small => people.len() * 4 / 5,
            Scale::Large => large_quota(ctx, index, zone, people.len(), all_people),
        };
        let plan = zone::build_zone(&mut state, &mut rng, ctx.scale, zone, people, quota, now);
        office_groups.push(plan.office);
        clinical_groups.push(plan.clinical);
        plans.push(plan);
    }
    add_apps(&mut state, &mut rng, &office_groups, &clinical_groups);
    let statics: Vec<(usize, usize)> = plans
        .iter()
        .map(|p| (p.static_group, p.static_catalog))
        .collect();
    for plan in plans {
        fill_app_sessions(&mut state, &mut rng, plan, now);
    }
    last_connections(&mut state, now);
    // From their own stream, after everything else, so the rest of the site stays as every
    // seed made it before spare desktops existed.
    let mut spare_rng = ctx.rng(SITE_STREAM_BASE + 200 + index as u64);
    for (group, catalog) in statics {
        access::add_spare_desktops(&mut state, &mut spare_rng, group, catalog);
    }
    access::entitle(&mut state);
    state
}

/// Machines without a session were last used a while ago: between 20 minutes and 10 hours,
/// spread by index (no random draw, so the rest of the site stays as every seed made it), and
/// every ninth one never (`LastConnectionTime` empty), so powering off idle machines has
/// both kinds to tell apart.
fn last_connections(state: &mut SiteState, now: DateTime<Utc>) {
    for (index, machine) in state.machines.iter_mut().enumerate() {
        if machine.sessions.is_empty() && machine.last_connection.is_none() && index % 9 != 4 {
            let minutes = 20 + (index as i64 * 37) % 580;
            machine.last_connection = Some(now - Duration::minutes(minutes));
        }
    }
}

fn add_apps(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    office_groups: &[usize],
    clinical_groups: &[usize],
) {
    let mut add_group =
        |state: &mut SiteState, name: &str, groups: &[usize], apps: &[(&str, &str)]| {
            let ag = state.app_groups.len();
            let users: Vec<usize> = (0..3)
                .map(|_| rng.random_range(0..state.people.len().max(1)))
                .collect();
            state.app_groups.push(AppGroupRec {
                id: new_guid(rng),
                name: name.to_string(),
                groups: groups.to_vec(),
                users,
                apps: apps.len() as u32,
                included_filter: true,
            });
            for (name, published) in apps {
                state.apps.push(AppRec {
                    id: new_guid(rng),
                    name: name.to_string(),
                    published_name: published.to_string(),
                    groups: groups.to_vec(),
                    app_groups: vec![ag],
                });
            }
        };
    add_group(state, "Office Suite", office_groups, OFFICE_APPS);
    add_group(state, "Clinical", clinical_groups, CLINICAL_APPS);
}

/// Creates a zone's published-app sessions on its multi-session servers, round robin.
fn fill_app_sessions(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    plan: ZonePlan,
    now: DateTime<Utc>,
) {
    let ZonePlan {
        zone,
        app_sessions: count,
        people,
        ..
    } = plan;
    {
        if people.is_empty() {
            return;
        }
        let servers: Vec<usize> = (0..state.machines.len())
            .filter(|m| {
                state.machines[*m].zone == zone
                    && state.catalogs[state.machines[*m].catalog].session_support
                        == SessionSupport::MultiSession
                    && usable(state, *m)
            })
            .collect();
        if servers.is_empty() {
            return;
        }
        for i in 0..count {
            let server = servers[i % servers.len()];
            let person = people[rng.random_range(0..people.len())];
            let group = state.machines[server].group;
            let apps: Vec<usize> = (0..state.apps.len())
                .filter(|a| group.is_some_and(|g| state.apps[*a].groups.contains(&g)))
                .collect();
            let pick = if apps.is_empty() {
                Vec::new()
            } else {
                let first = apps[rng.random_range(0..apps.len())];
                let mut chosen = vec![first];
                if rng.random_bool(0.4) {
                    let second = apps[rng.random_range(0..apps.len())];
                    if second != first {
                        chosen.push(second);
                    }
                }
                chosen
            };
            seed_session(state, rng, person, server, pick, now);
        }
    }
}

pub(super) fn seed_session(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    person: usize,
    machine: usize,
    apps: Vec<usize>,
    now: DateTime<Utc>,
) {
    let start = now - Duration::seconds(rng.random_range(300..9 * 3600));
    let roll: f64 = rng.random();
    let (session_state, logon, app_state) = if roll < 0.15 {
        (SessionState::Disconnected, false, AppState::Active)
    } else if roll < 0.18 {
        (SessionState::Connected, true, AppState::PreLogon)
    } else if apps.is_empty() {
        (SessionState::Active, false, AppState::Desktop)
    } else {
        (SessionState::Active, false, AppState::Active)
    };
    let change = if session_state == SessionState::Active {
        start
    } else {
        now - Duration::seconds(rng.random_range(1..300))
    };
    let session_type = if apps.is_empty() {
        SessionType::Desktop
    } else {
        SessionType::Application
    };
    let key = state.insert_session(SessionRec {
        key: 0,
        id: new_guid(rng),
        person,
        machine,
        state: session_state,
        session_type,
        app_state,
        apps,
        client_name: format!("CLT-{person:05}"),
        client_ip: format!("192.168.{}.{}", (person / 250) % 250, person % 250 + 1),
        start: Stamp::new(if logon { change } else { start }),
        state_change: Stamp::new(change),
        logon_in_progress: logon,
        logoff_in_progress: false,
        hidden: false,
    });
    if logon {
        let at = now + Duration::seconds(rng.random_range(1..=5));
        state
            .timeline
            .schedule(at, Event::LogonDone { session: key });
    }
}

/// A small seeded site on a frozen clock, for unit tests.
#[cfg(test)]
pub fn test_site() -> (SiteState, crate::lab::SimClock) {
    let clock = crate::lab::SimClock::starting_now(0.0);
    let people = crate::lab::people::generate(
        &mut <ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3),
        300,
    );
    let ctx = LabContext {
        seed: 3,
        scale: Scale::Small,
        live: false,
        clock: clock.clone(),
        people: Arc::new(people),
        faults: crate::lab::FaultPlan::default(),
    };
    (build(&ctx, 0, &SITES[0]), clock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeding_is_deterministic_and_realistic() {
        let (a, _) = test_site();
        let (b, _) = test_site();
        assert_eq!(a.meta.id, b.meta.id);
        assert_eq!(a.machines.len(), b.machines.len());
        assert_eq!(
            a.sessions.values().map(|s| &s.id).collect::<Vec<_>>(),
            b.sessions.values().map(|s| &s.id).collect::<Vec<_>>()
        );
        assert!(a.machines.len() > 50);
        assert!(!a.sessions.is_empty());
        // Every session runs in the zone serving its user.
        for s in a.sessions.values() {
            let person = &a.people[s.person];
            assert_eq!(home_of(person), (0, a.machines[s.machine].zone));
        }
        // Faulty machines host no sessions; single-session machines host at most one.
        for m in &a.machines {
            if m.fault != crate::model::FaultState::None {
                assert!(m.sessions.is_empty());
            }
            if a.catalogs[m.catalog].session_support == SessionSupport::SingleSession {
                assert!(m.sessions.len() <= 1);
            }
        }
    }
}
