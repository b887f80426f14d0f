//! The outbox of ServiceNow writes: ticket updates wait here until ServiceNow accepts them,
//! delivered in order per ticket and exactly once. A ticket is named by its number (unique per
//! instance), so writes can be queued before its sys_id is known.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StoreError;

#[derive(Debug, Clone)]
pub struct NewOutboxItem {
    pub instance: String,
    pub table: String,
    /// The ticket number (`INC0010001`, `SCTASK0010001`).
    pub ticket: String,
    /// The job this write reports on; `None` for an operator's own write.
    pub job_id: Option<Uuid>,
    pub payload: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub id: i64,
    pub instance: String,
    pub table: String,
    pub ticket: String,
    pub job_id: Option<Uuid>,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub abandoned_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// The ticket's `sys_mod_count` right after this write was delivered.
    pub delivered_mod_count: Option<u64>,
}

#[async_trait]
pub trait OutboxStore: Send + Sync {
    async fn enqueue_outbox(&self, item: NewOutboxItem) -> Result<OutboxItem, StoreError>;
    /// Leases up to `limit` due items to `owner`: for each ticket (instance, number) only its
    /// oldest pending write, and only once its predecessors are delivered or abandoned, so
    /// writes to one ticket stay in order while other tickets proceed.
    async fn claim_outbox(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxItem>, StoreError>;
    /// Marks the write delivered, with the ticket's `sys_mod_count` after it. Fails with
    /// `OutboxLeaseLost` unless `owner` holds it and it was not delivered yet, so a write is
    /// recorded delivered exactly once.
    async fn mark_outbox_delivered(
        &self,
        id: i64,
        owner: &str,
        mod_count: Option<u64>,
    ) -> Result<OutboxItem, StoreError>;
    /// A failed delivery: `retry_in = Some(d)` retries after `d` (the ticket's later writes
    /// wait); `None` abandons it (permanent error or conflict, reported by the caller) so the
    /// ticket's later writes may proceed.
    async fn mark_outbox_failed(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_in: Option<Duration>,
    ) -> Result<OutboxItem, StoreError>;
    /// The newest delivered write of a ticket, whose `delivered_mod_count` the next write of
    /// the ticket expects to find (anything else means someone changed the ticket meanwhile).
    async fn last_delivered(
        &self,
        instance: &str,
        ticket: &str,
    ) -> Result<Option<OutboxItem>, StoreError>;
    async fn get_outbox(&self, id: i64) -> Result<Option<OutboxItem>, StoreError>;
    /// Pending (undelivered, not abandoned) writes per instance, for /metrics.
    async fn outbox_depth(&self) -> Result<Vec<(String, u64)>, StoreError>;
}

/// Exponential backoff for outbox retries: 1 s doubling per attempt, at most 5 minutes.
pub fn outbox_backoff(attempts: u32) -> Duration {
    let secs = 1u64
        .checked_shl(attempts.min(16))
        .unwrap_or(u64::MAX)
        .min(300);
    Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(outbox_backoff(0), Duration::from_secs(1));
        assert_eq!(outbox_backoff(3), Duration::from_secs(8));
        assert_eq!(outbox_backoff(40), Duration::from_secs(300));
    }
}
