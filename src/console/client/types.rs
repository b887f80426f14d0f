//! What the adapter answers about sites, inventory, users, the caller and the audit log, as
//! the console reads it. Rows the adapter serializes from `crate::model` types (sessions,
//! machines, delivery groups, zones) are read back into those types; the rest are mirrored
//! here from the handlers in src/adapter/api, field for field.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::model::{ConnectorHealth, Role, SiteKind, Zone};

/// One page of a cursor-paged list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `None` on the last.
    pub next_cursor: Option<String>,
    /// Rows matching the filters, over every page.
    pub total: usize,
}

/// A row of a list across sites: the model type and the site it belongs to.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Sited<T> {
    #[serde(default)]
    pub site: String,
    #[serde(flatten)]
    pub item: T,
}

/// A whole site's sessions or machines in one answer (`GET /api/v1/sites/{name}/…`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SiteRows<T> {
    pub site: String,
    pub fetched_at: Option<DateTime<Utc>>,
    /// No connector answers: the rows are the last known, `data_age` seconds old.
    pub degraded: bool,
    pub data_age: Option<u64>,
    pub total: usize,
    pub items: Vec<T>,
}

/// A connector's health as the adapter last saw it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ConnectorStatus {
    pub url: String,
    pub health: ConnectorHealth,
    pub last_error: Option<String>,
}

/// A site's counts from its last successful refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub struct SiteCounts {
    pub zones: usize,
    pub delivery_groups: usize,
    pub machines: usize,
    pub machines_registered: usize,
    pub machines_in_maintenance: usize,
    pub sessions: usize,
    pub sessions_active: usize,
    pub sessions_disconnected: usize,
}

/// One site of `GET /api/v1/sites`: its configuration, switch and inventory state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SiteInfo {
    pub name: String,
    pub kind: SiteKind,
    /// Whether the adapter acts on the site now.
    pub enabled: bool,
    pub enabled_in_config: bool,
    pub endpoints: Vec<String>,
    pub customer_id: String,
    pub site_id: String,
    pub changed_by: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub zones: Vec<Zone>,
    #[serde(default)]
    pub connectors: Vec<ConnectorStatus>,
    pub degraded: bool,
    pub data_age: Option<u64>,
    pub fetched_at: Option<DateTime<Utc>>,
    pub last_attempt: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub counts: Option<SiteCounts>,
}

/// A user of `GET /api/v1/users`: seen in sessions or machine assignments.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserRow {
    /// `DOMAIN\user`.
    pub user_name: String,
    pub upn: String,
    pub display_name: String,
    pub sessions: u32,
    pub machines: u32,
    pub sites: Vec<String>,
}

/// The calling client (`GET /api/v1/whoami`); `role` decides which actions the console offers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Whoami {
    pub client_id: Uuid,
    pub name: String,
    pub role: Role,
    pub token_expires_at: Option<DateTime<Utc>>,
}

/// A ticket as jobs and audit entries name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TicketLink {
    pub instance: String,
    pub number: String,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub action: String,
    pub targets: Value,
    pub ticket: Option<TicketLink>,
    /// `allowed`, `denied`, `succeeded` or `failed`.
    pub outcome: String,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub next_cursor: Option<i64>,
}

/// Filters of the inventory lists. Empty fields are left out of the query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub site: Option<String>,
    /// Delivery group name or id.
    pub group: Option<String>,
    /// `DOMAIN\name`, name or UPN.
    pub user: Option<String>,
    pub state: Option<String>,
    /// Case-insensitive text in any visible field.
    pub q: Option<String>,
    /// A field name, `-` in front for descending.
    pub sort: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 1000; the adapter's default (100) when left out.
    pub limit: Option<u32>,
}

impl ListQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let text = [
            ("site", &self.site),
            ("group", &self.group),
            ("user", &self.user),
            ("state", &self.state),
            ("q", &self.q),
            ("sort", &self.sort),
            ("cursor", &self.cursor),
        ];
        push_text(&mut pairs, text);
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        pairs
    }
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Client name or id.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub text: Option<String>,
    pub cursor: Option<i64>,
    pub limit: Option<u32>,
}

impl AuditQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        push_text(
            &mut pairs,
            [
                ("actor", &self.actor),
                ("action", &self.action),
                ("text", &self.text),
            ],
        );
        if let Some(since) = self.since {
            pairs.push(("since", since.to_rfc3339()));
        }
        if let Some(cursor) = self.cursor {
            pairs.push(("cursor", cursor.to_string()));
        }
        if let Some(limit) = self.limit {
            pairs.push(("limit", limit.to_string()));
        }
        pairs
    }
}

/// Adds the given, non-blank text filters: the adapter treats blank as absent anyway, and
/// leaving them out keeps the call log readable.
pub(crate) fn push_text<const N: usize>(
    pairs: &mut Vec<(&'static str, String)>,
    fields: [(&'static str, &Option<String>); N],
) {
    for (name, value) in fields {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            pairs.push((name, value.to_owned()));
        }
    }
}

/// Per ServiceNow instance: how its queue sync is doing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SyncStatus {
    pub tickets: usize,
    pub synced_at: Option<DateTime<Utc>>,
    /// Why the last poll failed; the queue shown is then the last known.
    pub last_error: Option<String>,
}

/// The sync status of each instance, by name.
pub type SyncByInstance = BTreeMap<String, SyncStatus>;
