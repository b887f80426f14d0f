//! How sessions, machines and delivery groups are filtered and sorted: their sort fields,
//! the filters that apply to each, and what `state` means for each.

use super::query::{Filter, Key, Row};
use crate::model::{
    DeliveryGroup, Machine, PowerState, Ref, RegistrationState, Session, SessionState, SummaryState,
};

fn ref_name(r: &Option<Ref>) -> &str {
    r.as_ref().map_or("", |r| r.name.as_str())
}

/// Whether an optional reference names `wanted` (lower-case) by name or id.
fn ref_is(r: &Option<Ref>, wanted: &str) -> bool {
    r.as_ref()
        .is_some_and(|r| r.name.eq_ignore_ascii_case(wanted) || r.id.eq_ignore_ascii_case(wanted))
}

/// `DOMAIN\sam`, `sam` or a UPN all name the same user.
pub fn user_is(user_name: &str, upn: &str, wanted: &str) -> bool {
    let sam = user_name.rsplit('\\').next().unwrap_or(user_name);
    user_name.eq_ignore_ascii_case(wanted)
        || sam.eq_ignore_ascii_case(wanted)
        || (!upn.is_empty() && upn.eq_ignore_ascii_case(wanted))
}

fn time_key(t: Option<chrono::DateTime<chrono::Utc>>) -> Key<'static> {
    Key::Int(t.map_or(i64::MIN, |t| t.timestamp_millis()))
}

fn count(n: u32) -> Key<'static> {
    Key::Int(i64::from(n))
}

fn flag(b: bool) -> Key<'static> {
    Key::Int(i64::from(b))
}

impl Row for Session {
    const SORT_FIELDS: &'static [&'static str] = &[
        "user_name",
        "user_upn",
        "user_display_name",
        "machine",
        "delivery_group",
        "state",
        "session_type",
        "client_name",
        "client_address",
        "protocol",
        "start_time",
        "state_change_time",
        "site",
        "id",
    ];
    const FILTERS: &'static [&'static str] = &["group", "user", "state"];

    fn id(&self) -> &str {
        &self.id
    }

    fn key(&self, field: usize) -> Key<'_> {
        match field {
            0 => Key::Str(&self.user_name),
            1 => Key::Str(&self.user_upn),
            2 => Key::Str(&self.user_display_name),
            3 => Key::Str(&self.machine.name),
            4 => Key::Str(ref_name(&self.delivery_group)),
            5 => Key::Str(self.state.as_str()),
            6 => Key::Str(self.session_type.as_str()),
            7 => Key::Str(&self.client_name),
            8 => Key::Str(&self.client_address),
            9 => Key::Str(&self.protocol),
            10 => time_key(self.start_time),
            11 => time_key(self.state_change_time),
            13 => Key::Str(&self.id),
            // `site`: the order's first tie-breaker does the work.
            _ => Key::Int(0),
        }
    }

    fn matches(&self, f: &Filter) -> bool {
        f.group
            .as_deref()
            .is_none_or(|g| ref_is(&self.delivery_group, g))
            && f.user
                .as_deref()
                .is_none_or(|u| user_is(&self.user_name, &self.user_upn, u))
            && f.state
                .as_deref()
                .is_none_or(|s| self.state.as_str().eq_ignore_ascii_case(s))
    }

    fn check_state(state: &str) -> Result<(), String> {
        SessionState::parse(state).map(|_| ()).ok_or_else(|| {
            format!("state={state:?} is not a session state; use Active, Connected or Disconnected")
        })
    }
}

impl Row for Machine {
    const SORT_FIELDS: &'static [&'static str] = &[
        "name",
        "dns_name",
        "delivery_group",
        "catalog",
        "zone",
        "summary_state",
        "power_state",
        "registration_state",
        "session_count",
        "in_maintenance_mode",
        "load_index",
        "os_type",
        "ip_address",
        "site",
        "id",
    ];
    const FILTERS: &'static [&'static str] = &["group", "user", "state"];

    fn id(&self) -> &str {
        &self.id
    }

    fn key(&self, field: usize) -> Key<'_> {
        match field {
            0 => Key::Str(&self.name),
            1 => Key::Str(&self.dns_name),
            2 => Key::Str(ref_name(&self.delivery_group)),
            3 => Key::Str(ref_name(&self.catalog)),
            4 => Key::Str(ref_name(&self.zone)),
            5 => Key::Str(self.summary_state.as_str()),
            6 => Key::Str(self.power_state.as_str()),
            7 => Key::Str(self.registration_state.as_str()),
            8 => count(self.session_count),
            9 => flag(self.in_maintenance_mode),
            10 => Key::Int(self.load_index.map_or(-1, i64::from)),
            11 => Key::Str(&self.os_type),
            12 => Key::Str(self.ip_address.as_deref().unwrap_or("")),
            14 => Key::Str(&self.id),
            _ => Key::Int(0),
        }
    }

    fn matches(&self, f: &Filter) -> bool {
        f.group
            .as_deref()
            .is_none_or(|g| ref_is(&self.delivery_group, g))
            && f.user
                .as_deref()
                .is_none_or(|u| self.assigned_users.iter().any(|name| user_is(name, "", u)))
            && f.state.as_deref().is_none_or(|s| {
                self.summary_state.as_str().eq_ignore_ascii_case(s)
                    || self.power_state.as_str().eq_ignore_ascii_case(s)
                    || self.registration_state.as_str().eq_ignore_ascii_case(s)
                    || (s == "maintenance" && self.in_maintenance_mode)
            })
    }

    fn check_state(state: &str) -> Result<(), String> {
        if SummaryState::parse(state).is_some()
            || PowerState::parse(state).is_some()
            || RegistrationState::parse(state).is_some()
            || state.eq_ignore_ascii_case("maintenance")
        {
            Ok(())
        } else {
            Err(format!(
                "state={state:?} is not a machine state; use a summary state (Available, InUse, \
                 Disconnected, Unregistered, Off, Preparing), a power state (On, Off, …), a \
                 registration state (Registered, Unregistered, …) or maintenance"
            ))
        }
    }
}

impl Row for DeliveryGroup {
    const SORT_FIELDS: &'static [&'static str] = &[
        "name",
        "enabled",
        "in_maintenance_mode",
        "session_support",
        "delivery_type",
        "allocation_type",
        "total_desktops",
        "available",
        "in_use",
        "disconnected",
        "unregistered",
        "faulted",
        "sessions",
        "total_applications",
        "site",
        "id",
    ];
    const FILTERS: &'static [&'static str] = &["group", "state"];

    fn id(&self) -> &str {
        &self.id
    }

    fn key(&self, field: usize) -> Key<'_> {
        let c = &self.counters;
        match field {
            0 => Key::Str(&self.name),
            1 => flag(self.enabled),
            2 => flag(self.in_maintenance_mode),
            3 => Key::Str(self.session_support.as_str()),
            4 => Key::Int(self.delivery_type as i64),
            5 => Key::Str(self.allocation_type.as_str()),
            6 => count(c.total_desktops),
            7 => count(c.available),
            8 => count(c.in_use),
            9 => count(c.disconnected),
            10 => count(c.unregistered),
            11 => count(c.faulted),
            12 => count(c.sessions),
            13 => count(self.total_applications),
            15 => Key::Str(&self.id),
            _ => Key::Int(0),
        }
    }

    fn matches(&self, f: &Filter) -> bool {
        f.group
            .as_deref()
            .is_none_or(|g| self.name.eq_ignore_ascii_case(g) || self.id.eq_ignore_ascii_case(g))
            && f.state.as_deref().is_none_or(|s| match s {
                "enabled" => self.enabled,
                "disabled" => !self.enabled,
                "maintenance" => self.in_maintenance_mode,
                _ => false,
            })
    }

    fn check_state(state: &str) -> Result<(), String> {
        match state {
            "enabled" | "disabled" | "maintenance" => Ok(()),
            _ => Err(format!(
                "state={state:?} is not a delivery group state; use enabled, disabled or \
                 maintenance"
            )),
        }
    }
}
