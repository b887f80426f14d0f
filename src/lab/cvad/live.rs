//! Live mode: every ~2 s of wall time, people log on (where the broker would let them), log
//! off, disconnect and reconnect, so a console watching the lab sees a moving helpdesk.

use super::Site;
use super::actions;
use super::seed::home_of;
use super::state::{SiteState, Stamp};
use super::timeline;
use crate::model::{SessionState, SessionSupport};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::Duration;

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

/// One round of activity on a site, sized to its population.
fn churn(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    site: usize,
    now: chrono::DateTime<chrono::Utc>,
) {
    let moves = (state.sessions.len() / 400).clamp(1, 40);
    for _ in 0..moves {
        logon_someone(state, rng, site, now);
        if let Some(key) = random_session(state, rng) {
            timeline::begin_logoff(state, key, now);
        }
        if let Some(key) = random_session(state, rng)
            && let Some(s) = state.sessions.get_mut(&key)
            && !s.logoff_in_progress
            && !s.logon_in_progress
        {
            // Flip between active and disconnected: a disconnect or a reconnect.
            s.state = if s.state == SessionState::Disconnected {
                SessionState::Active
            } else {
                SessionState::Disconnected
            };
            s.state_change = Stamp::new(now);
        }
    }
}

fn random_session(state: &SiteState, rng: &mut ChaCha8Rng) -> Option<u64> {
    let first = *state.sessions.keys().next()?;
    let last = *state.sessions.keys().next_back()?;
    let pick = rng.random_range(first..=last);
    state.sessions.range(pick..).next().map(|(k, _)| *k)
}

/// Picks a person of the site and a machine of their zone the broker would use.
fn logon_someone(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    site: usize,
    now: chrono::DateTime<chrono::Utc>,
) {
    if state.people.is_empty() || state.machines.is_empty() {
        return;
    }
    for _ in 0..20 {
        let person = rng.random_range(0..state.people.len());
        let Some((home_site, zone)) = state.person(person).map(home_of) else {
            return;
        };
        if home_site != site {
            continue;
        }
        let machine = rng.random_range(0..state.machines.len());
        let Some(m) = state.machines.get(machine) else {
            continue;
        };
        let Some(group) = m.group else { continue };
        let multi = state
            .groups
            .get(group)
            .is_some_and(|g| g.session_support == SessionSupport::MultiSession);
        let allowed =
            m.zone == zone && (multi || m.assigned.is_empty() || m.assigned.contains(&person));
        if !allowed {
            continue;
        }
        let apps: Vec<usize> = if multi {
            (0..state.apps.len())
                .filter(|a| state.apps[*a].groups.contains(&group))
                .take(1 + rng.random_range(0..2))
                .collect()
        } else {
            Vec::new()
        };
        if actions::logon(state, person, machine, apps, now).is_some() {
            return;
        }
    }
}
