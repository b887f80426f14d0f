//! The recipes: which item runs which, session resets (for oneself or another user), and the
//! troubleshooting item's choices, each from variables to a job over inventory ids. Power
//! actions are in [`super::power`].

use std::collections::BTreeSet;

use serde_json::json;

use super::matching::{Who, describe, list, machine_of, norm, session_runs, sessions_of, short};
use super::power::{self, Power, check_power, group_name};
use super::{
    NotAutomatable, POWER, Person, Plan, PlanTarget, RESET_OTHER, RESET_PASSWORD, RESET_SESSION,
    TROUBLESHOOT, Vars, quote,
};
use crate::adapter::inventory::SiteData;
use crate::model::{Machine, Session, SessionSupport, SessionType};

pub(super) type Sites<'a> = [(&'a str, &'a SiteData)];

pub(super) fn run(
    item: &'static str,
    vars: &Vars<'_>,
    requester: Option<&Person>,
    sites: &Sites<'_>,
) -> Result<Plan, NotAutomatable> {
    match item {
        RESET_SESSION => {
            let who = requester_who(vars, requester)?;
            let resource = vars.required("resource_name")?;
            let kind = session_type(vars)?;
            reset(&who, resource, kind, sites)
        }
        RESET_OTHER => {
            let who = upn_who(vars.required("target_user_upn")?)?;
            let resource = vars.required("resource_name")?;
            reset(&who, resource, None, sites)
        }
        POWER => power::power(vars, requester, sites),
        TROUBLESHOOT => troubleshoot(vars, requester, sites),
        RESET_PASSWORD => super::password::reset_password(vars, requester, &[]),
        // Only reached if a name joins RECIPES without an arm here.
        other => Err(NotAutomatable::UnknownItem {
            item: other.to_owned(),
        }),
    }
}

/// Lower-case letters and digits only: select values arrive as `TurnOn`, `turn_on` or
/// `Turn on` depending on how an admin defined the choice list.
pub(super) fn compact(value: &str) -> String {
    value
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub(super) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub(super) fn site_names(sites: &Sites<'_>) -> String {
    if sites.is_empty() {
        "none: no site's inventory has been fetched yet".to_owned()
    } else {
        sites.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    }
}

pub(super) fn data_of<'a>(sites: &Sites<'a>, site: &str) -> Option<&'a SiteData> {
    sites.iter().find(|(n, _)| *n == site).map(|(_, d)| *d)
}

/// The person the item's `requested_for` variable names, as the caller resolved them.
fn requester_who(vars: &Vars<'_>, requester: Option<&Person>) -> Result<Who, NotAutomatable> {
    let Some(person) = requester else {
        return Err(NotAutomatable::MissingVariable {
            item: vars.item,
            name: "requested_for",
        });
    };
    // A reference variable holds a sys_id; if the caller resolved someone else (say the
    // requested item's requested_for rather than the variable), acting would reset the
    // wrong user's sessions. Display values (not 32 hex digits) cannot be compared.
    if let Some(id) = vars.get("requested_for")
        && id.len() == 32
        && id.chars().all(|c| c.is_ascii_hexdigit())
        && !person.sys_id.is_empty()
        && !id.eq_ignore_ascii_case(&person.sys_id)
    {
        return Err(NotAutomatable::Unsafe {
            why: format!(
                "the variable requested_for is the ServiceNow user {id}, but the person looked \
                 up is {} ({}); acting on the wrong user's sessions is worse than not acting",
                person.name, person.sys_id
            ),
        });
    }
    let ids: Vec<&str> = [person.user_name.as_str(), person.email.as_str()]
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let label = if ids.is_empty() {
        person.name.trim().to_owned()
    } else {
        format!("{} ({})", person.name.trim(), ids.join(", "))
    };
    let who = Who::new(label, &ids);
    if !who.has_keys() {
        return Err(NotAutomatable::InvalidValue {
            name: "requested_for",
            value: person.name.clone(),
            why: "this ServiceNow user has neither a user name nor an email, so their Citrix \
                  sessions cannot be found"
                .to_owned(),
        });
    }
    Ok(who)
}

/// A user typed as a UPN or email (`target_user_upn`); a bare `sam` or `DOMAIN\sam` is taken
/// too, as agents type what they know.
fn upn_who(value: &str) -> Result<Who, NotAutomatable> {
    let ats = value.matches('@').count();
    if value.chars().any(char::is_whitespace)
        || ats > 1
        || (ats == 1 && (value.starts_with('@') || value.ends_with('@')))
    {
        return Err(NotAutomatable::InvalidValue {
            name: "target_user_upn",
            value: value.to_owned(),
            why: "expected one user's UPN or email, such as sam@lab.example".to_owned(),
        });
    }
    let mut who = Who::new(value.to_owned(), &[value]);
    who.typed_address = ats == 1;
    Ok(who)
}

fn session_type(vars: &Vars<'_>) -> Result<Option<SessionType>, NotAutomatable> {
    let Some(value) = vars.get("session_type") else {
        return Ok(None);
    };
    match compact(value).as_str() {
        "any" | "all" | "both" => Ok(None),
        "desktop" | "desktops" => Ok(Some(SessionType::Desktop)),
        "application" | "applications" | "app" | "apps" => Ok(Some(SessionType::Application)),
        _ => Err(NotAutomatable::InvalidValue {
            name: "session_type",
            value: value.to_owned(),
            why: "expected Desktop or Application".to_owned(),
        }),
    }
}

/// The user's sessions of `resource`, of `kind` if given; when there are none, what the
/// user does have, so the operator sees the near miss.
fn find_sessions<'a>(
    who: &Who,
    resource: &str,
    kind: Option<SessionType>,
    sites: &Sites<'a>,
) -> Result<Vec<(&'a str, &'a Session)>, NotAutomatable> {
    let mine = sessions_of(who, sites);
    let users: BTreeSet<String> = mine.iter().map(|(_, s)| s.user_name.clone()).collect();
    let distinct: BTreeSet<String> = users.iter().map(|u| norm(u)).collect();
    if distinct.len() > 1 {
        return Err(NotAutomatable::Unsafe {
            why: format!(
                "{} matches sessions of several users ({}); name the user by UPN",
                who.label,
                users.into_iter().collect::<Vec<_>>().join(", ")
            ),
        });
    }
    let wanted = norm(resource);
    let runs: Vec<_> = mine
        .iter()
        .copied()
        .filter(|(_, s)| session_runs(s, &wanted))
        .collect();
    let hits: Vec<_> = runs
        .iter()
        .copied()
        .filter(|(_, s)| kind.is_none_or(|k| s.session_type == k))
        .collect();
    if !hits.is_empty() {
        return Ok(hits);
    }
    let what = if mine.is_empty() {
        let hint = if who.typed_address {
            " (sessions are matched by UPN; an email only matches where it equals the UPN)"
        } else {
            ""
        };
        format!(
            "{} has no Citrix session at any site searched ({}){hint}",
            who.label,
            site_names(sites)
        )
    } else if let (false, Some(kind)) = (runs.is_empty(), kind) {
        format!(
            "{} has {} of {}, but none is a {kind} session as the request asks",
            who.label,
            count(runs.len(), "session"),
            quote(resource)
        )
    } else {
        let theirs: Vec<String> = mine
            .iter()
            .map(|(site, s)| format!("{} at site {site}", describe(s)))
            .collect();
        format!(
            "{} has no session of {} (a delivery group, application or machine name); they \
             have {}: {}",
            who.label,
            quote(resource),
            count(mine.len(), "session"),
            list(&theirs, 5)
        )
    };
    Err(NotAutomatable::NothingFound { what })
}

fn reset(
    who: &Who,
    resource: &str,
    kind: Option<SessionType>,
    sites: &Sites<'_>,
) -> Result<Plan, NotAutomatable> {
    let hits = find_sessions(who, resource, kind, sites)?;
    let targets: Vec<PlanTarget> = hits
        .iter()
        .map(|(site, s)| PlanTarget {
            site: (*site).to_owned(),
            id: s.id.clone(),
            display: format!("{}: {}", s.user_name, describe(s)),
        })
        .collect();
    let user = hits
        .first()
        .map_or(who.label.as_str(), |(_, s)| s.user_name.as_str());
    let places: Vec<String> = hits
        .iter()
        .map(|(site, s)| format!("{} at site {site}", describe(s)))
        .collect();
    Ok(Plan {
        action: "session.logoff",
        summary: format!(
            "Log off {} of {user} for {}: {}",
            count(hits.len(), "session"),
            quote(resource),
            list(&places, 3)
        ),
        targets,
        params: json!({}),
        secret_params: Vec::new(),
        clear_variables: Vec::new(),
    })
}

fn troubleshoot(
    vars: &Vars<'_>,
    requester: Option<&Person>,
    sites: &Sites<'_>,
) -> Result<Plan, NotAutomatable> {
    let who = requester_who(vars, requester)?;
    let resource = vars.required("resource_name")?;
    let action = vars.required("action")?;
    match compact(action).as_str() {
        "resetsessions" | "resetsession" => reset(&who, resource, None, sites),
        "powermanagevdamachines" | "powermanagevdamachine" | "powermanage" => {
            restart_hosts(&who, resource, sites)
        }
        "reportissues" | "reportissue" | "report" => Err(NotAutomatable::NeedsPerson {
            why: format!(
                "{} reported a problem with {}; a report is for a person to investigate, \
                 not an action to run",
                who.label,
                quote(resource)
            ),
        }),
        _ => Err(NotAutomatable::InvalidValue {
            name: "action",
            value: action.to_owned(),
            why: "expected Reset sessions, Power manage VDA machines or Report issues".to_owned(),
        }),
    }
}

/// Restarts the single-session machines under the user's sessions of `resource`.
fn restart_hosts(who: &Who, resource: &str, sites: &Sites<'_>) -> Result<Plan, NotAutomatable> {
    let hits = find_sessions(who, resource, None, sites)?;
    let mut hosts: Vec<(&str, &Machine)> = Vec::new();
    for (site, session) in hits {
        let Some(machine) = data_of(sites, site).and_then(|d| machine_of(d, session)) else {
            return Err(NotAutomatable::Unsafe {
                why: format!(
                    "the machine {} of {}'s session is not in site {site}'s inventory, so \
                     whether other users share it is unknown",
                    session.machine.name, session.user_name
                ),
            });
        };
        if machine.session_support == SessionSupport::MultiSession {
            return Err(NotAutomatable::Unsafe {
                why: format!(
                    "{} runs on {} at site {site}, a multi-session machine shared by other \
                     users ({} now); restarting it would end everyone's work. Ask for \
                     \"Reset sessions\" instead",
                    quote(resource),
                    machine.name,
                    count(machine.session_count as usize, "session")
                ),
            });
        }
        if !hosts.iter().any(|(s, m)| *s == site && m.id == machine.id) {
            hosts.push((site, machine));
        }
    }
    let restart = Power::restart();
    for (_, machine) in &hosts {
        check_power(machine, &restart)?;
    }
    let names: Vec<String> = hosts
        .iter()
        .map(|(site, m)| format!("{} at site {site}", short(&m.name)))
        .collect();
    Ok(Plan {
        action: restart.action,
        summary: format!(
            "Restart the {} under {}'s sessions of {}: {}",
            if hosts.len() == 1 {
                "machine"
            } else {
                "machines"
            },
            who.label,
            quote(resource),
            list(&names, 3)
        ),
        targets: hosts
            .iter()
            .map(|(site, m)| PlanTarget {
                site: (*site).to_owned(),
                id: m.id.clone(),
                display: format!("{} ({})", m.name, group_name(m)),
            })
            .collect(),
        params: restart.params(),
        secret_params: Vec::new(),
        clear_variables: Vec::new(),
    })
}
