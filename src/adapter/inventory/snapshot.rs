//! One site's inventory as one refresh fetched it: immutable once built, shared by `Arc`, with
//! what queries need precomputed (lower-case search text) and the whole-site JSON arrays
//! serialized once, on first request, for the console's bulk calls.

use std::sync::OnceLock;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{DeliveryGroup, Machine, RegistrationState, Session, SessionState, Zone};

/// An item with its search text: the visible fields, lower-cased, one per line, so that a
/// `q` filter is one `contains` per row and allocates nothing per request.
#[derive(Debug, Clone)]
pub struct Indexed<T> {
    pub item: T,
    pub text: String,
}

impl<T> Indexed<T> {
    pub fn new(item: T, fields: &[&str]) -> Self {
        let mut text = String::with_capacity(fields.iter().map(|f| f.len() + 1).sum());
        for field in fields {
            text.push_str(&field.to_lowercase());
            text.push('\n');
        }
        Indexed { item, text }
    }
}

/// How many objects of each kind a site has, as the sites list and the change events show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    pub zones: usize,
    pub delivery_groups: usize,
    pub machines: usize,
    pub machines_registered: usize,
    pub machines_in_maintenance: usize,
    pub sessions: usize,
    pub sessions_active: usize,
    pub sessions_disconnected: usize,
}

impl Counts {
    /// `(name, before, after)` for every count that differs.
    pub fn changes(&self, after: &Counts) -> Vec<(&'static str, usize, usize)> {
        let pairs = [
            ("zones", self.zones, after.zones),
            (
                "delivery_groups",
                self.delivery_groups,
                after.delivery_groups,
            ),
            ("machines", self.machines, after.machines),
            (
                "machines_registered",
                self.machines_registered,
                after.machines_registered,
            ),
            (
                "machines_in_maintenance",
                self.machines_in_maintenance,
                after.machines_in_maintenance,
            ),
            ("sessions", self.sessions, after.sessions),
            (
                "sessions_active",
                self.sessions_active,
                after.sessions_active,
            ),
            (
                "sessions_disconnected",
                self.sessions_disconnected,
                after.sessions_disconnected,
            ),
        ];
        pairs.into_iter().filter(|(_, a, b)| a != b).collect()
    }
}

/// Everything one successful refresh of a site fetched.
#[derive(Debug)]
pub struct SiteData {
    pub fetched_at: DateTime<Utc>,
    pub zones: Vec<Zone>,
    pub groups: Vec<Indexed<DeliveryGroup>>,
    pub machines: Vec<Indexed<Machine>>,
    pub sessions: Vec<Indexed<Session>>,
    pub counts: Counts,
    sessions_json: OnceLock<Bytes>,
    machines_json: OnceLock<Bytes>,
}

impl SiteData {
    pub fn new(
        fetched_at: DateTime<Utc>,
        zones: Vec<Zone>,
        groups: Vec<DeliveryGroup>,
        machines: Vec<Machine>,
        sessions: Vec<Session>,
    ) -> SiteData {
        let counts = Counts {
            zones: zones.len(),
            delivery_groups: groups.len(),
            machines: machines.len(),
            machines_registered: machines
                .iter()
                .filter(|m| m.registration_state == RegistrationState::Registered)
                .count(),
            machines_in_maintenance: machines.iter().filter(|m| m.in_maintenance_mode).count(),
            sessions: sessions.len(),
            sessions_active: sessions
                .iter()
                .filter(|s| s.state == SessionState::Active)
                .count(),
            sessions_disconnected: sessions
                .iter()
                .filter(|s| s.state == SessionState::Disconnected)
                .count(),
        };
        SiteData {
            fetched_at,
            zones,
            groups: groups.into_iter().map(index_group).collect(),
            machines: machines.into_iter().map(index_machine).collect(),
            sessions: sessions.into_iter().map(index_session).collect(),
            counts,
            sessions_json: OnceLock::new(),
            machines_json: OnceLock::new(),
        }
    }

    /// The site's sessions as one JSON array, serialized on first use and kept with the
    /// snapshot (which never changes), so every later whole-site call only copies a handle.
    pub fn sessions_json(&self) -> Bytes {
        self.sessions_json
            .get_or_init(|| json_array(&self.sessions))
            .clone()
    }

    /// The site's machines as one JSON array; see [`SiteData::sessions_json`].
    pub fn machines_json(&self) -> Bytes {
        self.machines_json
            .get_or_init(|| json_array(&self.machines))
            .clone()
    }
}

fn json_array<T: Serialize>(rows: &[Indexed<T>]) -> Bytes {
    /// Serializes the items without their search text and without copying them.
    struct Items<'a, T>(&'a [Indexed<T>]);
    impl<T: Serialize> Serialize for Items<'_, T> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(|r| &r.item))
        }
    }
    // The model types serialize to plain JSON (string keys, no maps keyed by non-strings),
    // which serde_json cannot fail on; an empty array is still a valid answer if it did.
    serde_json::to_vec(&Items(rows))
        .map(Bytes::from)
        .unwrap_or_else(|_| Bytes::from_static(b"[]"))
}

fn name_of(r: &Option<crate::model::Ref>) -> &str {
    r.as_ref().map_or("", |r| r.name.as_str())
}

fn index_session(s: Session) -> Indexed<Session> {
    let fields = [
        s.id.as_str(),
        s.user_name.as_str(),
        s.user_upn.as_str(),
        s.user_display_name.as_str(),
        s.machine.name.as_str(),
        name_of(&s.delivery_group),
        s.state.as_str(),
        s.session_type.as_str(),
        s.client_name.as_str(),
        s.client_address.as_str(),
        s.protocol.as_str(),
    ];
    let mut indexed = Indexed::new((), &fields);
    for app in &s.applications_in_use {
        indexed.text.push_str(&app.to_lowercase());
        indexed.text.push('\n');
    }
    Indexed {
        item: s,
        text: indexed.text,
    }
}

fn index_machine(m: Machine) -> Indexed<Machine> {
    let mut fields = vec![
        m.id.as_str(),
        m.name.as_str(),
        m.dns_name.as_str(),
        name_of(&m.catalog),
        name_of(&m.delivery_group),
        name_of(&m.zone),
        m.power_state.as_str(),
        m.registration_state.as_str(),
        m.summary_state.as_str(),
        m.os_type.as_str(),
        m.ip_address.as_deref().unwrap_or(""),
    ];
    fields.extend(m.assigned_users.iter().map(String::as_str));
    let text = Indexed::new((), &fields).text;
    Indexed { item: m, text }
}

fn index_group(g: DeliveryGroup) -> Indexed<DeliveryGroup> {
    let text = Indexed::new(
        (),
        &[
            g.id.as_str(),
            g.name.as_str(),
            g.description.as_str(),
            g.session_support.as_str(),
            g.allocation_type.as_str(),
        ],
    )
    .text;
    Indexed { item: g, text }
}
