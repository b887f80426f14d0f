//! Which machines of some delivery groups are idle enough to shut down, decided from one
//! inventory snapshot per site, with the reason for every machine of the groups: why it
//! qualifies, or why not. Pure: no I/O, the time is given.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::adapter::inventory::SiteData;
use crate::model::{Machine, PowerState, RegistrationState, Session, SupportedPowerAction};

/// What to look for: machines of these groups (names or ids, any case), at one site or all,
/// with no session for more than `idle_minutes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub delivery_groups: Vec<String>,
    pub site: Option<String>,
    pub idle_minutes: u32,
    /// Also shut down powered-on machines whose VDA is not registered. Off by default: an
    /// unregistered VDA reports no sessions, so "no session" cannot be known for it.
    pub include_unregistered: bool,
}

/// A machine that qualifies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub site: String,
    pub id: String,
    /// `DOMAIN\NAME`.
    pub name: String,
    pub delivery_group: String,
    pub last_connection_time: Option<DateTime<Utc>>,
    /// Whole minutes since the last connection.
    pub idle_minutes: i64,
    pub reason: String,
}

/// Why a machine of the groups does not qualify, as a code for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipCode {
    /// The site's data could not be refreshed just now: nothing is decided on old data.
    StaleData,
    PowerActionPending,
    NotPoweredOn,
    Maintenance,
    LogonInProgress,
    Session,
    NotPowerManaged,
    Unregistered,
    NoConnectionRecorded,
    NotIdleLongEnough,
}

/// A machine of the groups that does not qualify.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub site: String,
    pub id: String,
    pub name: String,
    pub delivery_group: String,
    pub code: SkipCode,
    pub reason: String,
}

/// The groups found and what was decided for each of their machines, in site, group and
/// machine-name order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Selection {
    /// `site/group` of every group the rule matched.
    pub groups: Vec<String>,
    pub candidates: Vec<Candidate>,
    pub skipped: Vec<Skipped>,
}

/// Why a rule cannot be applied at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("no site named {site:?}; the configured sites are: {known}")]
    UnknownSite { site: String, known: String },
    #[error("{}", unknown_groups(.names, .known, .without_data))]
    UnknownGroups {
        names: Vec<String>,
        /// The groups that do exist where the rule looked.
        known: Vec<String>,
        /// Sites with no inventory yet, where the groups may still be.
        without_data: Vec<String>,
    },
    #[error("no delivery group given; name at least one")]
    NoGroups,
}

fn unknown_groups(names: &[String], known: &[String], without_data: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    let mut text = format!(
        "unknown delivery group{} {}",
        if names.len() == 1 { "" } else { "s" },
        quoted.join(", ")
    );
    if !known.is_empty() {
        text.push_str(&format!("; known: {}", known.join(", ")));
    }
    if !without_data.is_empty() {
        text.push_str(&format!(
            "; sites not read yet: {} (try again shortly)",
            without_data.join(", ")
        ));
    }
    text
}

/// One site as the selection sees it: its name, its last data (if any), and whether that
/// data is too old to act on (a refresh just failed).
pub struct SiteView<'a> {
    pub name: &'a str,
    pub data: Option<&'a SiteData>,
    pub stale: Option<String>,
}

/// Applies `rule` to the sites at time `now`.
pub fn select(
    sites: &[SiteView<'_>],
    rule: &Rule,
    now: DateTime<Utc>,
) -> Result<Selection, SelectError> {
    let wanted: Vec<&str> = rule
        .delivery_groups
        .iter()
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .collect();
    if wanted.is_empty() {
        return Err(SelectError::NoGroups);
    }
    let in_scope: Vec<&SiteView<'_>> = match &rule.site {
        Some(site) => {
            let found: Vec<_> = sites
                .iter()
                .filter(|s| s.name.eq_ignore_ascii_case(site))
                .collect();
            if found.is_empty() {
                let known: Vec<&str> = sites.iter().map(|s| s.name).collect();
                return Err(SelectError::UnknownSite {
                    site: site.clone(),
                    known: known.join(", "),
                });
            }
            found
        }
        None => sites.iter().collect(),
    };
    let matches = |wanted: &str, id: &str, name: &str| {
        id.eq_ignore_ascii_case(wanted) || name.eq_ignore_ascii_case(wanted)
    };
    let unknown: Vec<String> = wanted
        .iter()
        .filter(|w| {
            !in_scope.iter().any(|s| {
                s.data.is_some_and(|d| {
                    d.groups
                        .iter()
                        .any(|g| matches(w, &g.item.id, &g.item.name))
                })
            })
        })
        .map(|w| (*w).to_owned())
        .collect();
    if !unknown.is_empty() {
        let mut known: Vec<String> = in_scope
            .iter()
            .filter_map(|s| s.data.map(|d| (s.name, d)))
            .flat_map(|(site, d)| {
                d.groups
                    .iter()
                    .map(move |g| format!("{} ({site})", g.item.name))
            })
            .collect();
        known.sort();
        known.dedup();
        let without_data = in_scope
            .iter()
            .filter(|s| s.data.is_none())
            .map(|s| s.name.to_owned())
            .collect();
        return Err(SelectError::UnknownGroups {
            names: unknown,
            known,
            without_data,
        });
    }
    let mut selection = Selection::default();
    for site in in_scope {
        let Some(data) = site.data else { continue };
        let groups: Vec<(&str, &str)> = data
            .groups
            .iter()
            .filter(|g| wanted.iter().any(|w| matches(w, &g.item.id, &g.item.name)))
            .map(|g| (g.item.id.as_str(), g.item.name.as_str()))
            .collect();
        if groups.is_empty() {
            continue;
        }
        let mut sessions: HashMap<&str, Vec<&Session>> = HashMap::new();
        for s in &data.sessions {
            sessions
                .entry(s.item.machine.id.as_str())
                .or_default()
                .push(&s.item);
        }
        for (group_id, group_name) in groups {
            selection.groups.push(format!("{}/{group_name}", site.name));
            let mut machines: Vec<&Machine> = data
                .machines
                .iter()
                .map(|m| &m.item)
                .filter(|m| m.delivery_group.as_ref().is_some_and(|g| g.id == group_id))
                .collect();
            machines.sort_by(|a, b| a.name.cmp(&b.name));
            for machine in machines {
                let on = sessions.get(machine.id.as_str()).map_or(&[][..], |v| v);
                let verdict = match &site.stale {
                    Some(why) => Err((
                        SkipCode::StaleData,
                        format!("the site's data could not be refreshed ({why})"),
                    )),
                    None => judge(machine, on, rule, now),
                };
                match verdict {
                    Ok((minutes, reason)) => selection.candidates.push(Candidate {
                        site: site.name.to_owned(),
                        id: machine.id.clone(),
                        name: machine.name.clone(),
                        delivery_group: group_name.to_owned(),
                        last_connection_time: machine.last_connection_time,
                        idle_minutes: minutes,
                        reason,
                    }),
                    Err((code, reason)) => selection.skipped.push(Skipped {
                        site: site.name.to_owned(),
                        id: machine.id.clone(),
                        name: machine.name.clone(),
                        delivery_group: group_name.to_owned(),
                        code,
                        reason,
                    }),
                }
            }
        }
    }
    Ok(selection)
}

/// One machine: `Ok((idle minutes, why it qualifies))` or `Err((code, why not))`. The checks
/// go from what rules a machine out for sure to what depends on the threshold.
fn judge(
    machine: &Machine,
    sessions: &[&Session],
    rule: &Rule,
    now: DateTime<Utc>,
) -> Result<(i64, String), (SkipCode, String)> {
    if machine.power_action_pending {
        return Err((
            SkipCode::PowerActionPending,
            format!(
                "a power action is pending (power state {})",
                machine.power_state
            ),
        ));
    }
    if machine.power_state != PowerState::On {
        return Err((
            SkipCode::NotPoweredOn,
            format!("powered {}", power_word(machine.power_state)),
        ));
    }
    if machine.in_maintenance_mode {
        return Err((SkipCode::Maintenance, "in maintenance mode".into()));
    }
    if let Some(s) = sessions.iter().find(|s| s.logon_in_progress) {
        return Err((
            SkipCode::LogonInProgress,
            format!("{} is logging on", s.user_name),
        ));
    }
    let count = sessions.len().max(machine.session_count as usize);
    if count > 0 {
        let who: Vec<String> = sessions
            .iter()
            .take(3)
            .map(|s| format!("{} ({})", s.user_name, s.state))
            .collect();
        let mut reason = format!("has {count} session{}", if count == 1 { "" } else { "s" });
        if !who.is_empty() {
            reason.push_str(&format!(": {}", who.join(", ")));
        }
        return Err((SkipCode::Session, reason));
    }
    if !machine
        .supported_power_actions
        .contains(&SupportedPowerAction::Shutdown)
    {
        return Err((
            SkipCode::NotPowerManaged,
            "not power managed: its hosting offers no shutdown".into(),
        ));
    }
    let registered = machine.registration_state == RegistrationState::Registered;
    if !registered && !rule.include_unregistered {
        return Err((
            SkipCode::Unregistered,
            format!(
                "its VDA is {}, so its sessions are not known (include_unregistered shuts such \
                 machines down too)",
                machine.registration_state
            ),
        ));
    }
    let Some(last) = machine.last_connection_time else {
        return Err((
            SkipCode::NoConnectionRecorded,
            "no connection recorded (LastConnectionTime is empty): how long it has been idle \
             is not known"
                .into(),
        ));
    };
    let minutes = (now - last).num_minutes();
    if minutes <= i64::from(rule.idle_minutes) {
        return Err((
            SkipCode::NotIdleLongEnough,
            format!(
                "last connection {} ago, not more than {} min",
                duration_text(minutes),
                rule.idle_minutes
            ),
        ));
    }
    Ok((
        minutes,
        format!(
            "powered on, {}, no session, not in maintenance; last connection {} ago (more than \
             {} min)",
            if registered {
                "registered"
            } else {
                "unregistered"
            },
            duration_text(minutes),
            rule.idle_minutes
        ),
    ))
}

fn power_word(state: PowerState) -> String {
    match state {
        PowerState::Off => "off".into(),
        other => format!("{other}").to_lowercase(),
    }
}

/// `3 h 12 min`, `45 min`, `0 min` (a time in the future counts as now).
pub fn duration_text(minutes: i64) -> String {
    let minutes = minutes.max(0);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
#[path = "select_tests.rs"]
mod tests;
