//! Live mode: every ~2 s of wall time, people log on (where the broker would let them), log
//! off (through `LogoffInProgress`), disconnect and reconnect, so a console watching the lab
//! sees a moving helpdesk.

use super::Site;
use super::actions;
use super::seed::home_of;
use super::state::{SessionRec, SiteState, Stamp};
use super::timeline;
use crate::model::{RegistrationState, SessionState, SessionSupport};
use chrono::{DateTime, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::Duration;

/// How many sessions a pick looks at after its random starting point.
const PICK_SCAN: usize = 2_000;
/// How many machines a logon looks at after its random starting point.
const MACHINE_SCAN: usize = 500;

pub async fn run(sites: Vec<Arc<Site>>, mut rng: ChaCha8Rng) {
    let mut interval = tokio::time::interval(Duration::from_secs(2));
    interval.tick().await;
    loop {
        interval.tick().await;
        for (index, site) in sites.iter().enumerate() {
            let now = site.clock.now();
            let mut state = site.lock_current();
            churn(&mut state, &mut rng, index, now);
        }
    }
}

/// What one round changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    pub logons: usize,
    pub logoffs: usize,
    pub disconnects: usize,
    pub reconnects: usize,
}

/// One round of activity on site number `site`, sized to its population.
pub fn churn(state: &mut SiteState, rng: &mut ChaCha8Rng, site: usize, now: DateTime<Utc>) -> Tick {
    let moves = (state.sessions.len() / 400).clamp(1, 40);
    let mut tick = Tick::default();
    for _ in 0..moves {
        if logon_someone(state, rng, site, now) {
            tick.logons += 1;
        }
        if let Some(key) = pick_session(state, rng, now, |_, _| true)
            && timeline::begin_logoff(state, key, now)
        {
            tick.logoffs += 1;
        }
        let active = |_: &SiteState, s: &SessionRec| s.state == SessionState::Active;
        if let Some(key) = pick_session(state, rng, now, active) {
            set_state(state, key, SessionState::Disconnected, now);
            tick.disconnects += 1;
        }
        // A user comes back to a disconnected session, if its machine is still registered.
        let back = |state: &SiteState, s: &SessionRec| {
            s.state == SessionState::Disconnected
                && state
                    .machines
                    .get(s.machine)
                    .is_some_and(|m| m.registration == RegistrationState::Registered)
        };
        if let Some(key) = pick_session(state, rng, now, back) {
            set_state(state, key, SessionState::Active, now);
            tick.reconnects += 1;
        }
    }
    tick
}

fn set_state(state: &mut SiteState, key: u64, to: SessionState, now: DateTime<Utc>) {
    if let Some(s) = state.sessions.get_mut(&key) {
        s.state = to;
        s.state_change = Stamp::new(now);
    }
}

/// A session from a random starting point that is settled (no logon or logoff in progress,
/// not changed this round) and passes `keep`.
fn pick_session(
    state: &SiteState,
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
    keep: impl Fn(&SiteState, &SessionRec) -> bool,
) -> Option<u64> {
    let first = *state.sessions.keys().next()?;
    let last = *state.sessions.keys().next_back()?;
    let pick = rng.random_range(first..=last);
    state
        .sessions
        .range(pick..)
        .chain(state.sessions.range(..pick))
        .take(PICK_SCAN)
        .map(|(_, s)| s)
        .find(|s| {
            !s.logon_in_progress
                && !s.logoff_in_progress
                && s.state_change.at < now
                && keep(state, s)
        })
        .map(|s| s.key)
}

/// Finds a machine the broker would use and a person of its zone allowed on it, and logs
/// them on. False when this round found none.
fn logon_someone(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    site: usize,
    now: DateTime<Utc>,
) -> bool {
    let count = state.machines.len();
    if state.people.is_empty() || count == 0 {
        return false;
    }
    let start = rng.random_range(0..count);
    let candidates: Vec<usize> = (0..count.min(MACHINE_SCAN))
        .map(|i| (start + i) % count)
        .filter(|m| actions::accepts_session(state, *m) && !awaits_owner(state, *m))
        .collect();
    for machine in candidates {
        let Some(person) = pick_person(state, rng, site, machine) else {
            continue;
        };
        let Some(group) = state.machines.get(machine).and_then(|m| m.group) else {
            continue;
        };
        let multi = state
            .groups
            .get(group)
            .is_some_and(|g| g.session_support == SessionSupport::MultiSession);
        let apps: Vec<usize> = if multi {
            (0..state.apps.len())
                .filter(|a| state.apps[*a].groups.contains(&group))
                .take(1 + rng.random_range(0..2))
                .collect()
        } else {
            Vec::new()
        };
        if actions::logon(state, person, machine, apps, now).is_some() {
            return true;
        }
    }
    false
}

/// A free desktop of a static group: kept for the desktop requests that hand it out, so
/// nobody walks in and takes it meanwhile.
fn awaits_owner(state: &SiteState, machine: usize) -> bool {
    state.machines.get(machine).is_some_and(|m| {
        m.assigned.is_empty()
            && m.group
                .and_then(|g| state.groups.get(g))
                .is_some_and(|g| g.allocation == crate::model::AllocationType::Static)
    })
}

/// Someone who may use `machine`: one of its assigned users, or anyone whose home is the
/// machine's site and zone.
fn pick_person(
    state: &SiteState,
    rng: &mut ChaCha8Rng,
    site: usize,
    machine: usize,
) -> Option<usize> {
    let m = state.machines.get(machine)?;
    if !m.assigned.is_empty() {
        return m
            .assigned
            .get(rng.random_range(0..m.assigned.len()))
            .copied();
    }
    (0..50)
        .map(|_| rng.random_range(0..state.people.len()))
        .find(|p| state.person(*p).map(home_of) == Some((site, m.zone)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::cvad::seed::test_site;
    use crate::lab::cvad::timeline::{LOGOFF_SECS, LOGON_SECS, advance};
    use rand::SeedableRng;
    use std::collections::BTreeMap;

    #[test]
    fn one_tick_logs_on_logs_off_disconnects_and_reconnects() {
        let (mut state, clock) = test_site();
        let now = clock.now() + chrono::Duration::seconds(1);
        let before: BTreeMap<u64, (SessionState, bool)> = state
            .sessions
            .values()
            .map(|s| (s.key, (s.state, s.logoff_in_progress)))
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let tick = churn(&mut state, &mut rng, 0, now);
        assert!(tick.logons >= 1, "{tick:?}");
        assert!(tick.logoffs >= 1, "{tick:?}");
        assert!(tick.disconnects >= 1, "{tick:?}");
        assert!(tick.reconnects >= 1, "{tick:?}");

        // New sessions are logons in progress on machines the broker would have used.
        let new: Vec<u64> = state
            .sessions
            .keys()
            .filter(|k| !before.contains_key(k))
            .copied()
            .collect();
        assert_eq!(new.len(), tick.logons);
        for s in new.iter().map(|k| &state.sessions[k]) {
            assert!(s.logon_in_progress && s.state == SessionState::Connected);
            let m = &state.machines[s.machine];
            assert!(!m.in_maintenance);
            assert_eq!(m.registration, RegistrationState::Registered);
            assert_eq!(
                home_of(&state.people[s.person]).1,
                m.zone,
                "people log on in their own zone"
            );
        }
        let changed = |from: SessionState, to: SessionState| {
            before
                .iter()
                .filter(|(k, (was, _))| {
                    *was == from && state.sessions.get(k).is_some_and(|s| s.state == to)
                })
                .count()
        };
        assert_eq!(
            changed(SessionState::Active, SessionState::Disconnected),
            tick.disconnects
        );
        assert_eq!(
            changed(SessionState::Disconnected, SessionState::Active),
            tick.reconnects
        );
        let logging_off: Vec<u64> = state
            .sessions
            .values()
            .filter(|s| s.logoff_in_progress && !before.get(&s.key).is_some_and(|b| b.1))
            .map(|s| s.key)
            .collect();
        assert_eq!(logging_off.len(), tick.logoffs);

        // Logoffs finish and logons become active on the timeline.
        advance(
            &mut state,
            now + chrono::Duration::seconds(LOGON_SECS.max(LOGOFF_SECS)),
        );
        assert!(logging_off.iter().all(|k| !state.sessions.contains_key(k)));
        for key in new {
            let after = &state.sessions[&key];
            assert!(!after.logon_in_progress);
            assert_eq!(after.state, SessionState::Active);
        }
    }

    #[test]
    fn nobody_logs_on_where_the_broker_would_refuse() {
        let (mut state, clock) = test_site();
        for m in &mut state.machines {
            m.in_maintenance = true;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let tick = churn(&mut state, &mut rng, 0, clock.now());
        assert_eq!(tick.logons, 0);
    }
}
