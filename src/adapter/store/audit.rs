//! The audit log: append-only record of every mutating call and job step. There is
//! deliberately no update or delete in this API (and the SQLite schema refuses them too).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{StoreError, TicketRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    Allowed,
    Denied,
    Succeeded,
    Failed,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Allowed => "allowed",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Succeeded => "succeeded",
            AuditOutcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<AuditOutcome> {
        match s {
            "allowed" => Some(AuditOutcome::Allowed),
            "denied" => Some(AuditOutcome::Denied),
            "succeeded" => Some(AuditOutcome::Succeeded),
            "failed" => Some(AuditOutcome::Failed),
            _ => None,
        }
    }
}

/// An entry to append. `targets` is free-form JSON (typically `[{"site":…,"id":…}]`).
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub action: String,
    pub targets: serde_json::Value,
    pub ticket: Option<TicketRef>,
    pub outcome: AuditOutcome,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub action: String,
    pub targets: serde_json::Value,
    pub ticket: Option<TicketRef>,
    pub outcome: AuditOutcome,
    pub message: Option<String>,
    pub request_id: Option<String>,
}

/// Filters for [`AuditStore::query_audit`]; results are newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Matches the actor's id or name exactly.
    pub actor: Option<String>,
    pub action: Option<String>,
    pub since: Option<DateTime<Utc>>,
    /// Case-insensitive substring of action, actor, targets, ticket number or message.
    pub text: Option<String>,
    /// Cursor from a previous page: only entries older than it.
    pub cursor: Option<i64>,
    /// Page size; 0 means the default (100), capped at 1000.
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; `None` on the last page.
    pub next_cursor: Option<i64>,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError>;
    async fn query_audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError>;
}
