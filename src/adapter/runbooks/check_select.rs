//! Checking a step's `select`: one of sessions, machines or users, fitting the action's
//! targets, with every field a valid literal or a parameter of a fitting type.

use std::ops::Range;

use toml::Spanned;

use super::bind::{is_user, whole_placeholder};
use super::check_step::{StepCtx, wanted_kind};
use super::model::{
    Dur, MachineQuery, ParamType, Selection, SessionQuery, SessionStateFilter, UserQuery,
    parse_duration,
};
use super::raw::{RawMachines, RawSelect, RawSessions, RawUsers};
use crate::adapter::engine::actions::TargetKind;
use crate::model::{PowerState, RegistrationState};

pub(super) fn select(
    c: &mut StepCtx<'_, '_>,
    sel: &Spanned<RawSelect>,
    action: &str,
    target: TargetKind,
) -> Option<Selection> {
    let r = sel.get_ref();
    let given: Vec<&str> = [
        r.sessions.as_ref().map(|_| "sessions"),
        r.machines.as_ref().map(|_| "machines"),
        r.users.as_ref().map(|_| "users"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() != 1 {
        c.error(
            sel.span(),
            format!(
                "select must have exactly one of sessions, machines or users; it has {}",
                if given.is_empty() {
                    "none".to_owned()
                } else {
                    given.join(" and ")
                }
            ),
        );
        return None;
    }
    let fits = match target {
        TargetKind::Session => r.sessions.is_some(),
        TargetKind::Machine => r.machines.is_some(),
        TargetKind::User | TargetKind::Account | TargetKind::Person => r.users.is_some(),
        TargetKind::Runbook => false,
    };
    if !fits {
        c.error(
            sel.span(),
            format!(
                "select has {} but {action} acts on {}",
                given[0],
                wanted_kind(target)
            ),
        );
        return None;
    }
    if let Some(q) = &r.sessions {
        return sessions(c, q).map(Selection::Sessions);
    }
    if let Some(q) = &r.machines {
        return machines(c, q).map(Selection::Machines);
    }
    r.users
        .as_ref()
        .and_then(|q| users(c, q, action, target))
        .map(Selection::Users)
}

fn required_site(
    c: &mut StepCtx<'_, '_>,
    site: &Option<Spanned<String>>,
    span: Range<usize>,
    key: &str,
) -> Option<String> {
    match site {
        Some(site) => c.site(site, key),
        None => {
            c.error(
                span,
                format!("{key}: this key is required: the site to select from"),
            );
            None
        }
    }
}

fn as_pair(v: &Option<Spanned<String>>) -> Option<(&str, Range<usize>)> {
    v.as_ref().map(|v| (v.get_ref().as_str(), v.span()))
}

fn sessions(c: &mut StepCtx<'_, '_>, q: &Spanned<RawSessions>) -> Option<SessionQuery> {
    let r = q.get_ref();
    let k = |name: &str| format!("select.sessions.{name}");
    let site = required_site(c, &r.site, q.span(), &k("site"));
    let delivery_group = c.text(&r.delivery_group, &k("delivery_group"));
    let user = c.text(&r.user, &k("user"));
    let machine = c.text(&r.machine, &k("machine"));
    let state = c.typed(as_pair(&r.state), &k("state"), &[ParamType::String], |t| {
        SessionStateFilter::parse(t)
            .ok_or_else(|| format!("{t:?} is not a state; use active, disconnected or connected"))
    });
    let older_than = c.typed(
        as_pair(&r.older_than),
        &k("older_than"),
        &[ParamType::Duration],
        |t| parse_duration(t).map(Dur),
    );
    Some(SessionQuery {
        site: site?,
        delivery_group: delivery_group?,
        user: user?,
        state: state?,
        older_than: older_than?,
        machine: machine?,
    })
}

fn machines(c: &mut StepCtx<'_, '_>, q: &Spanned<RawMachines>) -> Option<MachineQuery> {
    let r = q.get_ref();
    let k = |name: &str| format!("select.machines.{name}");
    let site = required_site(c, &r.site, q.span(), &k("site"));
    let delivery_group = c.text(&r.delivery_group, &k("delivery_group"));
    let name_prefix = c.text(&r.name_prefix, &k("name_prefix"));
    let power_state = c.typed(
        as_pair(&r.power_state),
        &k("power_state"),
        &[ParamType::String],
        |t| {
            PowerState::parse(t)
                .filter(|p| *p != PowerState::Unknown)
                .ok_or_else(|| format!("{t:?} is not a power state; use e.g. On, Off, Suspended"))
        },
    );
    let registration_state = c.typed(
        as_pair(&r.registration_state),
        &k("registration_state"),
        &[ParamType::String],
        |t| {
            RegistrationState::parse(t)
                .filter(|p| *p != RegistrationState::Unknown)
                .ok_or_else(|| format!("{t:?} is not a registration state; use Registered, Unregistered, Initializing or AgentError"))
        },
    );
    let in_maintenance = c.bool_field(&r.in_maintenance, &k("in_maintenance"));
    let with_sessions = c.bool_field(&r.with_sessions, &k("with_sessions"));
    Some(MachineQuery {
        site: site?,
        delivery_group: delivery_group?,
        power_state: power_state?,
        registration_state: registration_state?,
        in_maintenance: in_maintenance?,
        with_sessions: with_sessions?,
        name_prefix: name_prefix?,
    })
}

fn users(
    c: &mut StepCtx<'_, '_>,
    q: &Spanned<RawUsers>,
    action: &str,
    target: TargetKind,
) -> Option<UserQuery> {
    let r = q.get_ref();
    let site = match (&r.site, target) {
        (Some(site), TargetKind::User) => Some(c.site(site, "select.users.site")?),
        (None, TargetKind::User) => {
            c.error(
                q.span(),
                format!("select.users.site: this key is required: the site whose sessions {action} logs off"),
            );
            return None;
        }
        (Some(site), _) => {
            c.error(
                site.span(),
                format!(
                    "select.users.site: {action} takes the user's domain from DOMAIN\\sam and \
                     its site from the routing rules; remove `site`"
                ),
            );
            return None;
        }
        (None, _) => None,
    };
    let Some(user) = &r.user else {
        c.error(
            q.span(),
            "select.users.user: this key is required: the user (DOMAIN\\sam)",
        );
        return None;
    };
    let text = user.get_ref();
    if whole_placeholder(text).is_some() {
        c.typed(
            Some((text, user.span())),
            "select.users.user",
            &[ParamType::User, ParamType::String],
            |_| Ok(()),
        )?;
    } else if !c.templates(text, user.span(), "select.users.user") {
        return None;
    } else if !text.contains("{{") && !is_user(text) {
        c.error(
            user.span(),
            format!("select.users.user is {text:?}; write DOMAIN\\sam"),
        );
        return None;
    }
    Some(UserQuery {
        site,
        user: text.clone(),
    })
}
