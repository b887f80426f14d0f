//! The in-memory model of one simulated site: records for zones, catalogs, groups, machines,
//! sessions, applications and jobs, plus the lookups every route needs.
//!
//! Records hold only primary facts; summary states and delivery-group counters are derived on
//! read through [`crate::model::summarize`], so they can never drift from the machines.

use super::jobs::JobRec;
use super::timeline::Timeline;
use crate::lab::people::{DOMAIN, Person};
use crate::model::{
    AllocationType, AppState, DeliveryKind, FaultState, PowerState, ProvisioningType,
    RegistrationState, SessionState, SessionSupport, SessionType, SiteKind, SummaryState,
    SupportedPowerAction, summarize,
};
use chrono::{DateTime, Utc};
use rand::RngCore;
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// A zone (resource location) and the health of its connectors.
#[derive(Debug, Clone)]
pub struct ZoneRec {
    pub id: String,
    pub name: String,
    /// Short code used in machine names (`LDN`).
    pub code: &'static str,
    pub is_primary: bool,
    /// One flag per connector of the zone, in `SiteInfo.endpoints` order.
    pub connectors_up: Vec<bool>,
    pub last_state_change: DateTime<Utc>,
}

impl ZoneRec {
    /// A zone is healthy while at least one of its connectors is up.
    pub fn is_healthy(&self) -> bool {
        self.connectors_up.iter().any(|up| *up)
    }
}

#[derive(Debug, Clone)]
pub struct CatalogRec {
    pub id: String,
    pub name: String,
    pub zone: usize,
    pub allocation: AllocationType,
    pub provisioning: ProvisioningType,
    pub session_support: SessionSupport,
    /// `VDI-LDN-###`; `None` for catalogs of existing machines.
    pub naming_scheme: Option<String>,
    pub ou: String,
    /// Physical machines are not power managed: no power actions at all.
    pub power_managed: bool,
    /// Names handed out by the naming scheme, including ones of jobs still running.
    pub next_number: u32,
    /// Add-machine jobs currently running against the catalog.
    pub jobs_running: u32,
}

#[derive(Debug, Clone)]
pub struct GroupRec {
    pub id: String,
    pub name: String,
    pub description: String,
    pub session_support: SessionSupport,
    pub delivery_type: DeliveryKind,
    pub allocation: AllocationType,
    pub in_maintenance: bool,
    pub enabled: bool,
    /// `SimpleAccessPolicy.IncludedUsers`: people granted the group (indexes into the
    /// population), in the order they were added.
    pub included_users: Vec<usize>,
    /// `SimpleAccessPolicy.IncludedUserFilterEnabled`: off means the list is not consulted and
    /// every user passing the group's other rules may use it.
    pub included_filter: bool,
}

#[derive(Debug, Clone)]
pub struct AppRec {
    pub id: String,
    pub name: String,
    pub published_name: String,
    pub groups: Vec<usize>,
    pub app_groups: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct AppGroupRec {
    pub id: String,
    pub name: String,
    pub groups: Vec<usize>,
    pub users: Vec<usize>,
    pub apps: u32,
    /// `IncludedUsersFilterEnabled`: off means anyone the delivery groups admit may use the
    /// group's applications, whatever `users` says.
    pub included_filter: bool,
}

#[derive(Debug, Clone)]
pub struct MachineRec {
    pub id: String,
    /// Short name without the domain (`VDI-LDN-001`).
    pub name: String,
    pub sid: String,
    pub catalog: usize,
    pub group: Option<usize>,
    pub zone: usize,
    pub power: PowerState,
    pub registration: RegistrationState,
    pub fault: FaultState,
    pub in_maintenance: bool,
    /// People (indexes into the population) the machine is assigned to.
    pub assigned: Vec<usize>,
    /// Keys of the sessions running on the machine.
    pub sessions: Vec<u64>,
    /// Bumped by every power action so that events of a superseded action are ignored.
    pub generation: u64,
    pub power_action_pending: bool,
    pub last_deregistration_reason: Option<&'static str>,
    pub last_deregistration_time: Option<DateTime<Utc>>,
    pub ip: String,
    /// Deleted from the site: kept as a tombstone so record indexes (sessions, jobs, pending
    /// events) stay valid, but found by no lookup and listed nowhere.
    pub removed: bool,
    /// `LastConnectionTime`: when a session last started or ended on the machine; `None`
    /// for a machine nobody has used. Kept by [`SiteState::insert_session`] and
    /// [`SiteState::remove_session`] (see [`SiteState::note_connection`]).
    pub last_connection: Option<DateTime<Utc>>,
}

impl MachineRec {
    pub fn qualified_name(&self) -> String {
        format!("{DOMAIN}\\{}", self.name)
    }
}

#[derive(Debug, Clone)]
pub struct SessionRec {
    pub key: u64,
    pub id: String,
    pub person: usize,
    pub machine: usize,
    pub state: SessionState,
    pub session_type: SessionType,
    pub app_state: AppState,
    pub apps: Vec<usize>,
    pub client_name: String,
    pub client_ip: String,
    pub start: Stamp,
    pub state_change: Stamp,
    pub logon_in_progress: bool,
    pub logoff_in_progress: bool,
    pub hidden: bool,
}

/// A time with its two wire renderings, formatted once when set rather than on every page of
/// a 100,000-session listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub at: DateTime<Utc>,
    /// `12/7/2020 7:25:34 AM`, the API's non-`Formatted` time fields.
    pub legacy: String,
    pub rfc3339: String,
}

impl Stamp {
    pub fn new(at: DateTime<Utc>) -> Stamp {
        Stamp {
            at,
            legacy: at.format("%-m/%-d/%Y %-I:%M:%S %p").to_string(),
            rfc3339: at.to_rfc3339(),
        }
    }
}

/// A bearer token the site accepts.
#[derive(Debug, Clone)]
pub struct TokenRec {
    pub principal: String,
    pub expires_at: DateTime<Utc>,
}

/// Identity of the site itself (never changes after seeding).
#[derive(Debug, Clone)]
pub struct SiteMeta {
    pub id: String,
    pub name: String,
    pub kind: SiteKind,
    pub customer_id: String,
    pub customer_name: String,
}

/// Everything mutable about one site, behind the site's lock.
pub struct SiteState {
    pub meta: SiteMeta,
    pub people: Arc<Vec<Person>>,
    pub zones: Vec<ZoneRec>,
    pub catalogs: Vec<CatalogRec>,
    pub groups: Vec<GroupRec>,
    pub apps: Vec<AppRec>,
    pub app_groups: Vec<AppGroupRec>,
    pub machines: Vec<MachineRec>,
    /// Lower-case id, short name and `domain\name` to machine index.
    pub machine_lookup: HashMap<String, usize>,
    /// Sessions keyed by a never-reused sequence number: the stable order paging relies on.
    pub sessions: BTreeMap<u64, SessionRec>,
    pub session_by_id: HashMap<String, u64>,
    pub next_session_key: u64,
    pub jobs: BTreeMap<u64, JobRec>,
    pub job_by_id: HashMap<String, u64>,
    /// Ended jobs by end time, so the retention purge run on every request looks only at
    /// the ones due to go instead of every job the site keeps.
    pub jobs_ended: BTreeSet<(DateTime<Utc>, u64)>,
    pub next_job_key: u64,
    pub timeline: Timeline,
    pub tokens: HashMap<String, TokenRec>,
    pub token_ttl_secs: i64,
    /// Mutating actions performed: action -> target id -> count.
    pub calls: BTreeMap<String, BTreeMap<String, u32>>,
    /// Ids of new objects (sessions, jobs, machines) come from here so runs are reproducible.
    pub rng: ChaCha8Rng,
    /// When the last lazy update ran; events are applied up to this time.
    pub last_tick: DateTime<Utc>,
    /// Site-wide outage mode (fault plan `outage`): every zone answers as if all its
    /// connectors were in Local Host Cache outage, so reads are served and writes fail.
    pub outage: bool,
    /// Sessions whose logoff hangs (control API `hang-logoff`): once logging off they stay
    /// `LogoffInProgress` until the mark is lifted or a forced restart or power-off of their
    /// machine drops them.
    pub hung_logoffs: HashSet<u64>,
}

/// Derived per-group counters, in the shape of `DeliveryGroupResponseModel`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub total: u32,
    pub available: u32,
    pub in_use: u32,
    pub disconnected: u32,
    pub faulted: u32,
    pub unregistered: u32,
    pub sessions: u32,
}

impl Counters {
    /// Adds one machine with its derived summary state.
    pub fn add(&mut self, summary: SummaryState, fault: FaultState, sessions: usize) {
        self.total += 1;
        self.sessions += sessions as u32;
        match summary {
            SummaryState::Available => self.available += 1,
            SummaryState::InUse => self.in_use += 1,
            SummaryState::Disconnected => self.disconnected += 1,
            SummaryState::Unregistered => self.unregistered += 1,
            _ => {}
        }
        if !matches!(fault, FaultState::None | FaultState::Unknown) {
            self.faulted += 1;
        }
    }
}

impl SiteState {
    /// A GUID drawn from the site's deterministic random source.
    pub fn new_guid(&mut self) -> String {
        new_guid(&mut self.rng)
    }

    pub fn person(&self, index: usize) -> Option<&Person> {
        self.people.get(index)
    }

    /// The derived summary state of a machine.
    pub fn summary(&self, machine: &MachineRec) -> SummaryState {
        summarize(
            machine.power,
            machine.registration,
            machine
                .sessions
                .iter()
                .filter_map(|key| self.sessions.get(key))
                .map(|s| s.state),
        )
    }

    /// Power actions the machine's hosting supports; none for unmanaged machines.
    pub fn supported_actions(&self, machine: &MachineRec) -> Vec<SupportedPowerAction> {
        let managed = self
            .catalogs
            .get(machine.catalog)
            .is_some_and(|c| c.power_managed);
        if !managed || machine.power == PowerState::Unmanaged {
            return Vec::new();
        }
        vec![
            SupportedPowerAction::PowerOn,
            SupportedPowerAction::PowerOff,
            SupportedPowerAction::Shutdown,
            SupportedPowerAction::Restart,
            SupportedPowerAction::Reset,
            SupportedPowerAction::SuspendResume,
        ]
    }

    /// Counters of every delivery group in one pass over the machines.
    pub fn group_counters(&self) -> Vec<Counters> {
        let mut counters = vec![Counters::default(); self.groups.len()];
        for machine in &self.machines {
            if let Some(slot) = machine.group.and_then(|g| counters.get_mut(g)) {
                slot.add(self.summary(machine), machine.fault, machine.sessions.len());
            }
        }
        counters
    }

    /// Counters of one delivery group.
    pub fn counters_of(&self, group: usize) -> Counters {
        let mut counters = Counters::default();
        for machine in self.machines.iter().filter(|m| m.group == Some(group)) {
            counters.add(self.summary(machine), machine.fault, machine.sessions.len());
        }
        counters
    }

    /// Finds a machine by id, `DOMAIN|NAME`, `DOMAIN\NAME` or bare name (any case).
    pub fn find_machine(&self, key: &str) -> Option<usize> {
        let key = key.replace('|', "\\").to_ascii_lowercase();
        self.machine_lookup.get(&key).copied()
    }

    /// Forgets a machine's names: after a delete, its id and name answer 404 and the name may
    /// be given to a new machine.
    pub fn unindex_machine(&mut self, index: usize) {
        if let Some(m) = self.machines.get(index) {
            let keys = [
                m.id.to_ascii_lowercase(),
                m.name.to_ascii_lowercase(),
                m.qualified_name().to_ascii_lowercase(),
            ];
            for key in keys {
                if self.machine_lookup.get(&key) == Some(&index) {
                    self.machine_lookup.remove(&key);
                }
            }
        }
    }

    /// Registers a machine's names in the lookup table.
    pub fn index_machine(&mut self, index: usize) {
        if let Some(m) = self.machines.get(index) {
            let keys = [
                m.id.to_ascii_lowercase(),
                m.name.to_ascii_lowercase(),
                m.qualified_name().to_ascii_lowercase(),
            ];
            for key in keys {
                self.machine_lookup.insert(key, index);
            }
        }
    }

    pub fn find_group(&self, key: &str) -> Option<usize> {
        find_named(self.groups.iter().map(|g| (&g.id, &g.name)), key)
    }

    pub fn find_catalog(&self, key: &str) -> Option<usize> {
        find_named(self.catalogs.iter().map(|c| (&c.id, &c.name)), key)
    }

    pub fn find_session(&self, id: &str) -> Option<u64> {
        self.session_by_id.get(&id.to_ascii_lowercase()).copied()
    }

    /// Resolves a user as written by a client: `DOMAIN\sam`, `sam`, a UPN or the SID the API
    /// shows.
    pub fn find_person(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        if let Some(rid) = name
            .get(..USER_SID_PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(USER_SID_PREFIX))
            .and_then(|_| name[USER_SID_PREFIX.len()..].parse::<usize>().ok())
        {
            return rid
                .checked_sub(USER_RID_BASE)
                .filter(|i| *i < self.people.len());
        }
        let sam = name.rsplit_once('\\').map(|(_, sam)| sam).unwrap_or(name);
        self.people
            .iter()
            .position(|p| p.sam.eq_ignore_ascii_case(sam) || p.upn.eq_ignore_ascii_case(name))
    }

    /// Adds a session and links it to its machine.
    pub fn insert_session(&mut self, mut session: SessionRec) -> u64 {
        let key = self.next_session_key;
        self.next_session_key += 1;
        session.key = key;
        self.session_by_id
            .insert(session.id.to_ascii_lowercase(), key);
        if let Some(machine) = self.machines.get_mut(session.machine) {
            machine.sessions.push(key);
        }
        self.note_connection(session.machine, session.start.at);
        self.sessions.insert(key, session);
        key
    }

    /// Moves a machine's `LastConnectionTime` forward to `at` (never back: a seeded session
    /// that started hours ago does not hide a later one).
    pub fn note_connection(&mut self, machine: usize, at: DateTime<Utc>) {
        if let Some(m) = self.machines.get_mut(machine) {
            m.last_connection = Some(m.last_connection.map_or(at, |t| t.max(at)));
        }
    }

    /// Removes a session and unlinks it from its machine.
    pub fn remove_session(&mut self, key: u64) -> Option<SessionRec> {
        let session = self.sessions.remove(&key)?;
        self.hung_logoffs.remove(&key);
        self.session_by_id.remove(&session.id.to_ascii_lowercase());
        if let Some(machine) = self.machines.get_mut(session.machine) {
            machine.sessions.retain(|k| *k != key);
        }
        // The session ends now (the last lazy update); the timeline moves it to the
        // logoff's own due time when that is later.
        self.note_connection(session.machine, self.last_tick);
        Some(session)
    }

    /// Whether a zone can take writes: some connector is up and the site is not in outage mode.
    pub fn zone_writable(&self, zone: usize) -> bool {
        !self.outage && self.zones.get(zone).is_some_and(ZoneRec::is_healthy)
    }

    /// Counts one performed mutating action for the control API's `calls` report.
    pub fn record_call(&mut self, action: &str, target: &str) {
        *self
            .calls
            .entry(action.to_string())
            .or_default()
            .entry(target.to_string())
            .or_insert(0) += 1;
    }
}

/// What every person's SID starts with, as the API shows it; the RID is
/// [`USER_RID_BASE`] plus the person's index.
pub const USER_SID_PREFIX: &str = "S-1-5-21-3623811015-3361044348-30300820-";
pub const USER_RID_BASE: usize = 1000;

/// A GUID from a deterministic random source.
pub fn new_guid(rng: &mut ChaCha8Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn find_named<'a>(
    items: impl Iterator<Item = (&'a String, &'a String)>,
    key: &str,
) -> Option<usize> {
    let mut by_name = None;
    for (index, (id, name)) in items.enumerate() {
        if id.eq_ignore_ascii_case(key) {
            return Some(index);
        }
        if by_name.is_none() && name.eq_ignore_ascii_case(key) {
            by_name = Some(index);
        }
    }
    by_name
}

#[cfg(test)]
mod tests {
    use crate::lab::cvad::seed::test_site;
    use crate::model::{SessionState, SummaryState};

    #[test]
    fn group_counters_are_derived_from_machines_and_sessions() {
        let (mut state, _) = test_site();
        let all = state.group_counters();
        for (index, counters) in all.iter().enumerate() {
            assert_eq!(*counters, state.counters_of(index));
        }
        let total: u32 = all.iter().map(|c| c.total).sum();
        assert_eq!(
            total as usize,
            state.machines.iter().filter(|m| m.group.is_some()).count()
        );
        let sessions: u32 = all.iter().map(|c| c.sessions).sum();
        assert_eq!(sessions as usize, state.sessions.len());

        // Disconnecting the only session of a single-session machine moves one desktop from
        // in-use to disconnected.
        let key = state
            .sessions
            .values()
            .find(|s| {
                s.state == SessionState::Active
                    && state.machines[s.machine].sessions.len() == 1
                    && state.summary(&state.machines[s.machine]) == SummaryState::InUse
            })
            .map(|s| s.key)
            .expect("an active single session");
        let group = state.machines[state.sessions[&key].machine]
            .group
            .expect("in a group");
        let before = state.counters_of(group);
        if let Some(s) = state.sessions.get_mut(&key) {
            s.state = SessionState::Disconnected;
        }
        let after = state.counters_of(group);
        assert_eq!(after.in_use + 1, before.in_use);
        assert_eq!(after.disconnected, before.disconnected + 1);
        // Removing it makes the desktop available.
        state.remove_session(key);
        let gone = state.counters_of(group);
        assert_eq!(gone.disconnected + 1, after.disconnected);
        assert_eq!(gone.available, after.available + 1);
        assert_eq!(gone.sessions + 1, after.sessions);
    }

    #[test]
    fn machines_are_found_by_id_path_name_and_short_name() {
        let (state, _) = test_site();
        let m = &state.machines[3];
        assert_eq!(state.find_machine(&m.id), Some(3));
        assert_eq!(state.find_machine(&format!("lab|{}", m.name)), Some(3));
        assert_eq!(state.find_machine(&m.qualified_name()), Some(3));
        assert_eq!(state.find_machine(&m.name.to_lowercase()), Some(3));
        assert_eq!(state.find_machine("LAB|NOPE"), None);
    }
}
