//! Which sessions, machines or user a step acts on: the filters the runner applies to what it
//! fetched live from the step's site. A field still naming a parameter (not resolved) matches
//! nothing, so a runner bug selects too little rather than everything.

use chrono::{DateTime, Utc};

use super::model::{Field, MachineQuery, SessionQuery, SessionStateFilter, UserQuery};
use crate::adapter::engine::actions::{self, TargetKind};
use crate::model::{Machine, Ref, Session, SessionState};

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// A name or id of an embedded reference.
fn names(r: &Ref, wanted: &str) -> bool {
    same(&r.name, wanted) || same(&r.id, wanted)
}

/// `DOMAIN\NAME` matched by the full name, the name without its domain, or the id.
fn machine_named(name: &str, id: &str, wanted: &str) -> bool {
    let short = name.rsplit_once('\\').map_or(name, |(_, n)| n);
    same(name, wanted) || same(short, wanted) || same(id, wanted)
}

fn field<T: PartialEq>(f: &Option<Field<T>>, actual: T) -> bool {
    match f {
        None => true,
        Some(Field::Value(v)) => *v == actual,
        Some(Field::Param(_)) => false,
    }
}

pub fn session_matches(q: &SessionQuery, s: &Session, now: DateTime<Utc>) -> bool {
    if let Some(group) = &q.delivery_group
        && !s.delivery_group.as_ref().is_some_and(|g| names(g, group))
    {
        return false;
    }
    if let Some(user) = &q.user
        && !(same(&s.user_name, user) || same(&s.user_upn, user))
    {
        return false;
    }
    if let Some(m) = &q.machine
        && !machine_named(&s.machine.name, &s.machine.id, m)
    {
        return false;
    }
    let state = match s.state {
        SessionState::Active => Some(SessionStateFilter::Active),
        SessionState::Disconnected => Some(SessionStateFilter::Disconnected),
        SessionState::Connected => Some(SessionStateFilter::Connected),
        SessionState::Unknown => None,
    };
    match (&q.state, state) {
        (None, _) => {}
        (Some(Field::Value(wanted)), Some(state)) if *wanted == state => {}
        _ => return false,
    }
    match &q.older_than {
        None => true,
        Some(Field::Param(_)) => false,
        Some(Field::Value(min)) => {
            let Some(since) = s.state_change_time.or(s.start_time) else {
                return false;
            };
            // A clock a little behind the broker's gives a negative age: not old enough.
            (now - since).to_std().is_ok_and(|age| age > min.0)
        }
    }
}

pub fn machine_matches(q: &MachineQuery, m: &Machine) -> bool {
    if let Some(group) = &q.delivery_group
        && !m.delivery_group.as_ref().is_some_and(|g| names(g, group))
    {
        return false;
    }
    if let Some(prefix) = &q.name_prefix {
        let prefix = prefix.trim().to_ascii_lowercase();
        let full = m.name.to_ascii_lowercase();
        let short = full.rsplit_once('\\').map_or(full.as_str(), |(_, n)| n);
        if !(full.starts_with(&prefix) || short.starts_with(&prefix)) {
            return false;
        }
    }
    field(&q.power_state, m.power_state)
        && field(&q.registration_state, m.registration_state)
        && field(&q.in_maintenance, m.in_maintenance_mode)
        && field(&q.with_sessions, m.session_count > 0)
}

/// The job target (`site`, `id`) a users selection gives `action`: `user.logoff` looks for
/// the user's sessions at the selection's site; account actions and workflows take the
/// user's domain as the target's site and the account name as its id.
pub fn user_target(action: &str, q: &UserQuery) -> Result<(String, String), String> {
    let spec = actions::lookup(action)
        .ok_or_else(|| format!("unknown action {action:?}; known: {}", actions::names()))?;
    match spec.target {
        TargetKind::User => {
            let site = q
                .site
                .clone()
                .ok_or_else(|| format!("{action} needs the site whose sessions it logs off"))?;
            Ok((site, q.user.trim().to_owned()))
        }
        TargetKind::Account | TargetKind::Person => {
            let (domain, sam) = q
                .user
                .trim()
                .split_once('\\')
                .ok_or_else(|| format!("{:?}: a user is written DOMAIN\\sam", q.user))?;
            Ok((domain.to_owned(), sam.to_owned()))
        }
        TargetKind::Runbook => Err("a runbook step cannot run a runbook".to_owned()),
        TargetKind::Session | TargetKind::Machine => Err(format!(
            "{action} acts on {}s, not users",
            spec.target.as_str()
        )),
    }
}
