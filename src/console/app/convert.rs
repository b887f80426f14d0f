//! The adapter's answers as rows: each view's columns and how one object becomes cells.
//! Runs off the event loop (in the task that loaded the data), so a 100,000-row reload never
//! stalls a keypress.

use chrono::{DateTime, Duration, Utc};

pub use super::columns::{column_index, columns};
use super::rows::{Row, RowRef, Tone};
use crate::console::client::{
    AuditEntry, JobInfo, JobState, SiteInfo, Sited, TicketLink, TicketRow, UserRow,
};
use crate::model::{ConnectorHealth, DeliveryGroup, Machine, Session, SessionState, SummaryState};

/// A time as the tables show it, UTC to the minute.
pub fn time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// A duration as `45s`, `12m`, `3h 5m` or `2d 4h`.
pub fn age(elapsed: Duration) -> String {
    let secs = elapsed.num_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// How old an open ticket may get before it shows as aging, then stale, by priority: a
/// critical one is late within the hour; planning work has days.
fn age_tone(priority: u8, open: bool, elapsed: Duration) -> Tone {
    if !open {
        return Tone::Age(0);
    }
    let (aging, stale) = match priority {
        1 => (1, 4),
        2 => (4, 8),
        3 => (8, 24),
        _ => (24, 72),
    };
    let hours = elapsed.num_hours();
    Tone::Age(if hours >= stale {
        2
    } else {
        u8::from(hours >= aging)
    })
}

pub fn ticket(t: &TicketRow, now: DateTime<Utc>) -> Row {
    let name = |r: &Option<crate::console::client::NamedRef>| {
        r.as_ref().map_or_else(String::new, |r| r.name.clone())
    };
    let elapsed = t.opened_at.map_or(Duration::zero(), |at| now - at);
    let tone = if t.open {
        Tone::Priority(t.priority)
    } else {
        Tone::Muted
    };
    let link = TicketLink {
        instance: t.instance.clone(),
        number: t.number.clone(),
    };
    Row::new(
        RowRef::Ticket(link),
        vec![
            t.number.clone(),
            t.priority.to_string(),
            t.state.clone(),
            if t.opened_at.is_some() {
                age(elapsed)
            } else {
                String::new()
            },
            t.short_description.clone(),
            name(&t.requester),
            name(&t.assigned_to),
            name(&t.assignment_group),
            t.instance.clone(),
            t.kind.table().to_owned(),
            name(&t.catalog_item),
            time(t.opened_at),
            time(t.updated_at),
            t.queue.clone(),
            t.url.clone(),
            t.table.clone(),
            t.sys_id.clone(),
        ],
        tone,
    )
    .with_accent(3, age_tone(t.priority, t.open, elapsed))
}

pub fn session(s: &Sited<Session>) -> Row {
    let item = &s.item;
    let state = if item.logoff_in_progress {
        "LoggingOff".to_owned()
    } else {
        item.state.to_string()
    };
    let tone = match item.state {
        _ if item.logoff_in_progress => Tone::Muted,
        SessionState::Disconnected => Tone::Warn,
        SessionState::Active | SessionState::Connected => Tone::Plain,
        SessionState::Unknown => Tone::Muted,
    };
    Row::new(
        RowRef::Session {
            site: s.site.clone(),
            id: item.id.clone(),
            user: item.user_name.clone(),
        },
        vec![
            item.user_name.clone(),
            item.user_display_name.clone(),
            item.machine.name.clone(),
            state,
            s.site.clone(),
            item.delivery_group
                .as_ref()
                .map_or_else(String::new, |g| g.name.clone()),
            item.client_name.clone(),
            time(item.start_time),
            item.session_type.to_string(),
            item.applications_in_use.join(", "),
            item.protocol.clone(),
            item.client_address.clone(),
            item.user_upn.clone(),
            item.id.clone(),
        ],
        tone,
    )
}

pub fn machine(m: &Sited<Machine>) -> Row {
    let item = &m.item;
    let tone = match item.summary_state {
        _ if item.in_maintenance_mode => Tone::Warn,
        SummaryState::Unregistered => Tone::Error,
        SummaryState::Off => Tone::Muted,
        _ if !matches!(item.fault_state, crate::model::FaultState::None) => Tone::Error,
        _ => Tone::Plain,
    };
    let name_of =
        |r: &Option<crate::model::Ref>| r.as_ref().map_or_else(String::new, |r| r.name.clone());
    Row::new(
        RowRef::Machine {
            site: m.site.clone(),
            id: item.id.clone(),
        },
        vec![
            item.name.clone(),
            item.summary_state.to_string(),
            item.power_state.to_string(),
            item.registration_state.to_string(),
            yes_no(item.in_maintenance_mode),
            item.session_count.to_string(),
            m.site.clone(),
            name_of(&item.delivery_group),
            item.assigned_users.join(", "),
            item.fault_state.to_string(),
            item.session_support.to_string(),
            name_of(&item.catalog),
            name_of(&item.zone),
            item.os_type.clone(),
            item.ip_address.clone().unwrap_or_default(),
            item.load_index.map_or_else(String::new, |l| l.to_string()),
            item.dns_name.clone(),
            item.id.clone(),
        ],
        tone,
    )
}

/// The group's machine counts as `available/in use/disconnected/unregistered/faulted`; the
/// table draws this cell as a bar (see the groups view).
pub fn group(g: &Sited<DeliveryGroup>) -> Row {
    let item = &g.item;
    let c = &item.counters;
    let tone = if c.faulted > 0 || c.unregistered > 0 {
        Tone::Warn
    } else if item.in_maintenance_mode || !item.enabled {
        Tone::Muted
    } else {
        Tone::Plain
    };
    Row::new(
        RowRef::Group {
            site: g.site.clone(),
            id: item.id.clone(),
        },
        vec![
            item.name.clone(),
            g.site.clone(),
            format!(
                "{}/{}/{}/{}/{}",
                c.available, c.in_use, c.disconnected, c.unregistered, c.faulted
            ),
            c.total_desktops.to_string(),
            c.available.to_string(),
            c.in_use.to_string(),
            c.disconnected.to_string(),
            c.unregistered.to_string(),
            c.faulted.to_string(),
            c.sessions.to_string(),
            yes_no(item.in_maintenance_mode),
            item.session_support.to_string(),
            format!("{:?}", item.delivery_type),
            yes_no(item.enabled),
            item.description.clone(),
            item.id.clone(),
        ],
        tone,
    )
}

pub fn site(s: &SiteInfo) -> Row {
    let up = s
        .connectors
        .iter()
        .filter(|c| c.health == ConnectorHealth::Up)
        .count();
    let (health, tone) = if !s.enabled {
        ("disabled", Tone::Muted)
    } else if s.degraded {
        ("degraded", Tone::Error)
    } else if up < s.connectors.len() {
        ("partial", Tone::Warn)
    } else {
        ("healthy", Tone::Ok)
    };
    let counts = s.counts.unwrap_or_default();
    let zones = s
        .zones
        .iter()
        .map(|z| z.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    Row::new(
        RowRef::Site {
            name: s.name.clone(),
        },
        vec![
            s.name.clone(),
            health.to_owned(),
            format!("{up}/{} up", s.connectors.len()),
            zones,
            counts.sessions.to_string(),
            String::new(),
            counts.machines.to_string(),
            s.data_age
                .map_or_else(String::new, |a| age(Duration::seconds(a as i64))),
            yes_no(s.enabled),
            s.kind.to_string(),
            s.last_error.clone().unwrap_or_default(),
            s.endpoints.join(", "),
            time(s.fetched_at),
            s.changed_by.clone().unwrap_or_default(),
            s.site_id.clone(),
        ],
        tone,
    )
}

pub fn user(u: &UserRow) -> Row {
    Row::new(
        RowRef::User {
            login: u.user_name.clone(),
            sites: u.sites.clone(),
        },
        vec![
            u.user_name.clone(),
            u.display_name.clone(),
            u.upn.clone(),
            u.sessions.to_string(),
            u.machines.to_string(),
            u.sites.join(", "),
            // Account flags: unknown until the account is read (see `app::account`).
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ],
        Tone::Plain,
    )
}

/// A job state's tone, shared with the jobs pane.
pub fn job_tone(state: JobState) -> Tone {
    match state {
        JobState::Succeeded => Tone::Ok,
        JobState::Failed => Tone::Error,
        JobState::PartiallyFailed => Tone::Warn,
        JobState::Cancelled | JobState::Unknown => Tone::Muted,
        JobState::Queued | JobState::Running => Tone::Plain,
    }
}

pub fn job(j: &JobInfo) -> Row {
    let p = &j.progress;
    let done = p.succeeded + p.failed;
    Row::new(
        RowRef::Job { id: j.id },
        vec![
            j.action.clone(),
            j.state.to_string(),
            format!("{done}/{}", p.total),
            p.failed.to_string(),
            j.ticket
                .as_ref()
                .map_or_else(String::new, |t| t.number.clone()),
            j.requested_by.clone(),
            time(Some(j.created_at)),
            j.error
                .clone()
                .or_else(|| j.result.clone())
                .unwrap_or_default(),
            j.ticket_status.clone().unwrap_or_default(),
            j.id.to_string(),
        ],
        job_tone(j.state),
    )
}

pub fn audit(a: &AuditEntry) -> Row {
    let tone = match a.outcome.as_str() {
        "denied" | "failed" => Tone::Error,
        "succeeded" => Tone::Ok,
        _ => Tone::Plain,
    };
    let targets = match &a.targets {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Row::new(
        RowRef::Audit { id: a.id },
        vec![
            a.at.format("%Y-%m-%d %H:%M:%S").to_string(),
            a.actor_name.clone(),
            a.action.clone(),
            a.outcome.clone(),
            targets,
            a.ticket
                .as_ref()
                .map_or_else(String::new, |t| t.number.clone()),
            a.message.clone().unwrap_or_default(),
            a.request_id.clone().unwrap_or_default(),
            a.id.to_string(),
        ],
        tone,
    )
}

fn yes_no(on: bool) -> String {
    if on { "yes" } else { "no" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_an_operator_says_them() {
        assert_eq!(age(Duration::seconds(42)), "42s");
        assert_eq!(age(Duration::minutes(12)), "12m");
        assert_eq!(age(Duration::minutes(185)), "3h 5m");
        assert_eq!(age(Duration::hours(52)), "2d 4h");
        assert_eq!(age_tone(1, true, Duration::minutes(90)), Tone::Age(1));
        assert_eq!(age_tone(1, true, Duration::hours(5)), Tone::Age(2));
        assert_eq!(age_tone(4, true, Duration::hours(5)), Tone::Age(0));
        assert_eq!(age_tone(1, false, Duration::hours(50)), Tone::Age(0));
    }
}
