//! VDI power recipes: a machine named in a variable, the power action chosen, and the
//! refusals that keep a restart from ending other users' work.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::matching::{Who, list, machines_named, norm};
use super::recipes::{Sites, compact, count, data_of, site_names};
use super::{NotAutomatable, Person, Plan, PlanTarget, Vars, quote};
use crate::adapter::inventory::SiteData;
use crate::model::{Machine, PowerAction, PowerState, Session, SessionSupport};

/// A power action as the catalog's choice list names it, and the job that does it.
pub(super) struct Power {
    pub(super) action: &'static str,
    op: PowerAction,
    force: bool,
    /// The verb for messages: "restart", "shut down", "start", "reset".
    verb: &'static str,
    raw: String,
}

impl Power {
    pub(super) fn params(&self) -> Value {
        match self.op {
            PowerAction::Start => json!({}),
            _ => json!({ "force": self.force }),
        }
    }

    pub(super) fn restart() -> Power {
        Power {
            action: "machine.restart",
            op: PowerAction::Reboot,
            force: false,
            verb: "restart",
            raw: "Restart".to_owned(),
        }
    }
}

pub(super) fn power_action(value: &str) -> Result<Power, NotAutomatable> {
    let (action, op, force, verb) = match compact(value).as_str() {
        "restart" | "reboot" => ("machine.restart", PowerAction::Reboot, false, "restart"),
        "shutdown" => (
            "machine.shutdown",
            PowerAction::Shutdown,
            false,
            "shut down",
        ),
        "turnon" | "start" | "poweron" => ("machine.start", PowerAction::Start, false, "start"),
        "reset" => ("machine.restart", PowerAction::Reboot, true, "reset"),
        _ => {
            return Err(NotAutomatable::InvalidValue {
                name: "power_action",
                value: value.to_owned(),
                why: "expected Restart, Shutdown, TurnOn or Reset".to_owned(),
            });
        }
    };
    Ok(Power {
        action,
        op,
        force,
        verb,
        raw: value.to_owned(),
    })
}

/// Refuses what the machine's hosting cannot do, so the ticket is not left to a failing job.
/// An empty list from a managed machine is taken as "not reported" rather than "none".
pub(super) fn check_power(machine: &Machine, power: &Power) -> Result<(), NotAutomatable> {
    let needed = power.op.requires(power.force);
    let supported = &machine.supported_power_actions;
    let why = if machine.power_state == PowerState::Unmanaged {
        format!(
            "{} is not power managed by its site (a physical or Remote PC machine), so Citrix \
             cannot {} it",
            machine.name, power.verb
        )
    } else if !supported.is_empty() && !supported.contains(&needed) {
        format!(
            "the hosting connection of {} does not support {needed}; it supports {}",
            machine.name,
            supported
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        return Ok(());
    };
    Err(NotAutomatable::InvalidValue {
        name: "power_action",
        value: power.raw.clone(),
        why,
    })
}

fn sessions_on<'a>(site: &'a SiteData, machine: &Machine) -> Vec<&'a Session> {
    site.sessions
        .iter()
        .map(|r| &r.item)
        .filter(|s| s.machine.id == machine.id)
        .collect()
}

/// Refuses to power off or restart a multi-session machine while other users work on it.
fn guard_shared(
    site: &str,
    data: &SiteData,
    machine: &Machine,
    requester: Option<&Who>,
    verb: &str,
) -> Result<(), NotAutomatable> {
    if machine.session_support != SessionSupport::MultiSession {
        return Ok(());
    }
    let on = sessions_on(data, machine);
    let theirs: Vec<&&Session> = on
        .iter()
        .filter(|s| requester.is_none_or(|w| !w.owns(s)))
        .collect();
    let users: BTreeSet<String> = theirs.iter().map(|s| s.user_name.clone()).collect();
    // The machine's own count can be ahead of the last session list.
    let unlisted = (machine.session_count as usize).saturating_sub(on.len());
    if theirs.is_empty() && unlisted == 0 {
        return Ok(());
    }
    let mut parts = Vec::new();
    if !theirs.is_empty() {
        parts.push(format!(
            "{} of {} ({})",
            count(theirs.len(), "session"),
            count(users.len(), "other user"),
            list(&users.into_iter().collect::<Vec<_>>(), 3)
        ));
    }
    if unlisted > 0 {
        parts.push(format!(
            "{} not yet in the inventory",
            count(unlisted, "session")
        ));
    }
    Err(NotAutomatable::Unsafe {
        why: format!(
            "{} at site {site} is a multi-session machine with {}; to {verb} it would end their \
             work. Put it in maintenance mode so it drains and {verb} it once it is empty, or \
             reset only the affected user's sessions",
            machine.name,
            parts.join(" and ")
        ),
    })
}

pub(super) fn group_name(machine: &Machine) -> &str {
    machine
        .delivery_group
        .as_ref()
        .map_or("no delivery group", |g| g.name.as_str())
}

pub(super) fn power(
    vars: &Vars<'_>,
    requester: Option<&Person>,
    sites: &Sites<'_>,
) -> Result<Plan, NotAutomatable> {
    let name = vars.required("machine_name")?;
    let power = power_action(vars.required("power_action")?)?;
    let group = vars.get("delivery_group");
    let found = machines_named(&norm(name), sites);
    if found.is_empty() {
        return Err(NotAutomatable::NothingFound {
            what: format!(
                "no machine is named {} at any site searched ({})",
                quote(name),
                site_names(sites)
            ),
        });
    }
    let describe_all = |machines: &[(&str, &Machine)]| -> String {
        let all: Vec<String> = machines
            .iter()
            .map(|(site, m)| format!("{} in {} at site {site}", m.name, group_name(m)))
            .collect();
        list(&all, 4)
    };
    let chosen: Vec<(&str, &Machine)> = match group {
        None => found.clone(),
        Some(g) => found
            .iter()
            .copied()
            .filter(|(_, m)| {
                m.delivery_group
                    .as_ref()
                    .is_some_and(|dg| norm(&dg.name) == norm(g))
            })
            .collect(),
    };
    if let (true, Some(g)) = (chosen.is_empty(), group) {
        return Err(NotAutomatable::NothingFound {
            what: format!(
                "no machine named {} is in the delivery group {}; found {}",
                quote(name),
                quote(g),
                describe_all(&found)
            ),
        });
    }
    let [(site, machine)] = chosen[..] else {
        let sites_of: BTreeSet<&str> = chosen.iter().map(|(s, _)| *s).collect();
        let narrow = if group.is_none() {
            ", or name its delivery group"
        } else {
            ""
        };
        return Err(NotAutomatable::Unsafe {
            why: format!(
                "{} is ambiguous: it names {} (at {}: {}); ask for one by DOMAIN\\NAME or DNS \
                 name{narrow}",
                quote(name),
                count(chosen.len(), "machine"),
                count(sites_of.len(), "site"),
                describe_all(&chosen)
            ),
        });
    };
    check_power(machine, &power)?;
    let data = data_of(sites, site);
    if power.op != PowerAction::Start
        && let Some(data) = data
    {
        let who = requester.map(|p| Who::new(p.name.clone(), &[&p.user_name, &p.email]));
        guard_shared(site, data, machine, who.as_ref(), power.verb)?;
    }
    let users: BTreeSet<&str> = data
        .map(|d| sessions_on(d, machine))
        .unwrap_or_default()
        .into_iter()
        .map(|s| s.user_name.as_str())
        .collect();
    let in_use = if users.is_empty() {
        String::new()
    } else {
        format!(
            ", in use by {}",
            users.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    let mut verb = power.verb.to_owned();
    if let Some(first) = verb.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    Ok(Plan {
        action: power.action,
        targets: vec![PlanTarget {
            site: site.to_owned(),
            id: machine.id.clone(),
            display: format!("{} ({})", machine.name, group_name(machine)),
        }],
        params: power.params(),
        summary: format!(
            "{verb} {} ({}) at site {site}{in_use}",
            machine.name,
            group_name(machine)
        ),
        secret_params: Vec::new(),
        clear_variables: Vec::new(),
    })
}
