//! Who may use what, and spare persistent desktops: each delivery group's included users
//! (derived from the seeded assignments and sessions, no random draw), and a few unassigned
//! machines in every static group for desktop requests to hand out.

use crate::lab::cvad::inventory::new_machine;
use crate::lab::cvad::state::{SiteState, new_guid};
use crate::model::{PowerState, RegistrationState, SessionSupport};
use rand_chacha::ChaCha8Rng;

/// Unassigned machines added to each persistent desktop group: one on and registered (ready
/// to hand out), one off.
const SPARES: usize = 2;

/// Adds [`SPARES`] unassigned machines of `catalog` to the static `group`, named by the
/// catalog's scheme after its last number.
pub fn add_spare_desktops(
    state: &mut SiteState,
    rng: &mut ChaCha8Rng,
    group: usize,
    catalog: usize,
) {
    let Some(c) = state.catalogs.get(catalog) else {
        return;
    };
    let Some(scheme) = c.naming_scheme.clone() else {
        return;
    };
    let zone = c.zone;
    let digits = scheme.chars().filter(|ch| *ch == '#').count();
    let prefix = scheme.trim_end_matches('#').to_string();
    for spare in 0..SPARES {
        let number = state.catalogs[catalog].next_number;
        state.catalogs[catalog].next_number += 1;
        let index = state.machines.len();
        let name = format!("{prefix}{number:0digits$}");
        let mut machine = new_machine(new_guid(rng), name, catalog, zone, index);
        machine.group = Some(group);
        if spare == 0 {
            machine.power = PowerState::On;
            machine.registration = RegistrationState::Registered;
        } else {
            machine.last_deregistration_reason = Some("PowerOff");
        }
        state.machines.push(machine);
        state.index_machine(index);
    }
}

/// Every delivery group's `SimpleAccessPolicy`: desktop groups include the people assigned
/// to their machines and those with a session on them; published-app groups leave the filter
/// off, so their application groups decide.
pub fn entitle(state: &mut SiteState) {
    let mut included: Vec<Vec<usize>> = vec![Vec::new(); state.groups.len()];
    for machine in &state.machines {
        let Some(list) = machine.group.and_then(|g| included.get_mut(g)) else {
            continue;
        };
        let users = machine
            .sessions
            .iter()
            .filter_map(|k| state.sessions.get(k));
        for person in machine
            .assigned
            .iter()
            .copied()
            .chain(users.map(|s| s.person))
        {
            if !list.contains(&person) {
                list.push(person);
            }
        }
    }
    for (group, users) in state.groups.iter_mut().zip(included) {
        if group.session_support == SessionSupport::MultiSession {
            group.included_filter = false;
            group.included_users = Vec::new();
        } else {
            group.included_filter = true;
            group.included_users = users;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lab::cvad::seed::test_site;
    use crate::model::{AllocationType, PowerState, RegistrationState};

    #[test]
    fn static_groups_have_free_machines_and_desktop_groups_name_their_users() {
        let (state, _) = test_site();
        for (g, group) in state.groups.iter().enumerate() {
            let machines: Vec<_> = state
                .machines
                .iter()
                .filter(|m| m.group == Some(g))
                .collect();
            if group.allocation == AllocationType::Static
                && state.catalogs[machines[0].catalog].naming_scheme.is_some()
            {
                let free: Vec<_> = machines.iter().filter(|m| m.assigned.is_empty()).collect();
                assert!(free.len() >= 2, "{}", group.name);
                assert!(free.iter().any(|m| m.power == PowerState::On
                    && m.registration == RegistrationState::Registered));
                assert!(machines.iter().any(|m| !m.assigned.is_empty()));
            }
            if group.included_filter {
                for m in &machines {
                    for person in &m.assigned {
                        assert!(group.included_users.contains(person), "{}", group.name);
                    }
                }
            }
        }
        // Every machine name is unique, spares included.
        let mut names: Vec<_> = state.machines.iter().map(|m| &m.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), state.machines.len());
    }
}
