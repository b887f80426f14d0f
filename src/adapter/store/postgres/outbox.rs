//! The ServiceNow outbox in PostgreSQL: per-ticket ordered, leased delivery shared by
//! replicas.
//!
//! Claims and enqueues take [`OUTBOX_LOCK`], a transaction-scoped advisory lock, for their
//! short transactions. It is what keeps a ticket's writes in order across replicas:
//! - Enqueues: an identity column hands out ids when rows are inserted, not when they commit.
//!   Without the lock a claim could see a ticket's write 11 while write 10 (inserted earlier,
//!   by another replica) is still uncommitted, deliver 11 first, then find 10 as the ticket's
//!   head and deliver it too, perhaps at the same time as 11. Under the lock ids commit in
//!   order, and a claim never runs while an enqueue has an id but no commit.
//! - Claims: the head check ("no older pending write of this ticket") reads other rows than
//!   the one it locks, and PostgreSQL re-checks only the locked row when it had to wait for
//!   it; two claims running at once could each judge the head from a different moment.
//!   Claims one at a time each see what the previous one left. A claim is one small UPDATE
//!   every poll, so holding the lock costs nothing measurable.
//!
//! `FOR UPDATE SKIP LOCKED` still keeps a claim from waiting on a row a worker is marking
//! delivered or failed (those do not take the lock): such a head is skipped until the next
//! poll, and so is its ticket.
//!
//! Every time here is the database's (`now()`), so lease expiry and retry times mean the same
//! on every replica.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use super::{PgStore, millis};
use crate::adapter::store::StoreError;
use crate::adapter::store::columns::{col, col_u32};
use crate::adapter::store::outbox::{NewOutboxItem, OutboxItem, OutboxStore};

/// The advisory lock that serialises outbox claims and enqueues across replicas (see the
/// module's documentation). Any 64-bit number no other application on the database uses.
pub(super) const OUTBOX_LOCK: i64 = 0x6465_736b_6f75_7478; // "deskoutx"

/// The longest interval handed to PostgreSQL (about 1,000 years): `now()` plus or minus it
/// stays within timestamptz's range, where `i64::MAX` milliseconds would be an error.
pub(super) const MAX_INTERVAL_MS: i64 = 1000 * 366 * 24 * 3600 * 1000;

/// `d` in milliseconds for `now() + $n * interval '1 millisecond'`, capped at
/// [`MAX_INTERVAL_MS`] so absurd durations mean "practically never" instead of an error.
pub(super) fn bounded_millis(d: Duration) -> i64 {
    millis(d).min(MAX_INTERVAL_MS)
}

fn item_from_row(row: &PgRow) -> Result<OutboxItem, StoreError> {
    let Json(payload): Json<serde_json::Value> = col(row, "payload")?;
    Ok(OutboxItem {
        id: col(row, "id")?,
        instance: col(row, "instance")?,
        table: col(row, "table_name")?,
        ticket: col(row, "ticket")?,
        job_id: col(row, "job_id")?,
        payload,
        created_at: col(row, "created_at")?,
        attempts: col_u32(row, "attempts")?,
        next_attempt_at: col(row, "next_attempt_at")?,
        delivered_at: col(row, "delivered_at")?,
        abandoned_at: col(row, "abandoned_at")?,
        last_error: col(row, "last_error")?,
        delivered_mod_count: col::<Option<i64>, _>(row, "delivered_mod_count")?
            .and_then(|n| u64::try_from(n).ok()),
    })
}

/// Queues `items` in the caller's transaction, in order, due now. Takes [`OUTBOX_LOCK`]
/// (held to the commit), so call it as the transaction's last statement.
pub(super) async fn insert_outbox(
    conn: &mut PgConnection,
    items: &[NewOutboxItem],
) -> Result<Vec<OutboxItem>, StoreError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(OUTBOX_LOCK)
        .execute(&mut *conn)
        .await?;
    let mut queued = Vec::with_capacity(items.len());
    for item in items {
        let row = sqlx::query(
            "INSERT INTO outbox (instance, table_name, ticket, job_id, payload, created_at,
                                 attempts, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, now(), 0, now())
             RETURNING *",
        )
        .bind(&item.instance)
        .bind(&item.table)
        .bind(&item.ticket)
        .bind(item.job_id)
        .bind(Json(&item.payload))
        .fetch_one(&mut *conn)
        .await?;
        queued.push(item_from_row(&row)?);
    }
    Ok(queued)
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn enqueue_outbox(&self, item: NewOutboxItem) -> Result<OutboxItem, StoreError> {
        let mut tx = self.pool().begin().await?;
        let queued = insert_outbox(&mut tx, std::slice::from_ref(&item)).await?;
        tx.commit().await?;
        queued
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Invalid("the outbox insert returned no row".to_owned()))
    }

    async fn claim_outbox(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(OUTBOX_LOCK)
            .execute(&mut *tx)
            .await?;
        // Only the head of each ticket's queue is eligible: a write waiting for a retry holds
        // back the writes after it for the same ticket, and nothing else.
        let rows = sqlx::query(
            // A write claimed again after its lease expired was being delivered by a worker
            // that died: that try counts, so the next one checks whether it reached ServiceNow.
            "UPDATE outbox SET lease_owner = $1,
                               lease_expires_at = now() + $2 * interval '1 millisecond',
                               attempts = attempts
                                   + CASE WHEN lease_owner IS NULL THEN 0 ELSE 1 END
             WHERE id IN (
                 SELECT o.id FROM outbox o
                 WHERE o.delivered_at IS NULL AND o.abandoned_at IS NULL
                   AND o.next_attempt_at <= now()
                   AND (o.lease_owner IS NULL OR o.lease_expires_at < now())
                   AND o.id = (SELECT min(p.id) FROM outbox p
                               WHERE p.instance = o.instance AND p.ticket = o.ticket
                                 AND p.delivered_at IS NULL AND p.abandoned_at IS NULL)
                 ORDER BY o.id
                 LIMIT $3
                 FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .bind(owner)
        .bind(bounded_millis(lease))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut items = rows
            .iter()
            .map(item_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    async fn mark_outbox_delivered(
        &self,
        id: i64,
        owner: &str,
        mod_count: Option<u64>,
    ) -> Result<OutboxItem, StoreError> {
        let row = sqlx::query(
            "UPDATE outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL,
                               lease_owner = NULL, lease_expires_at = NULL,
                               delivered_mod_count = $1
             WHERE id = $2 AND lease_owner = $3
               AND delivered_at IS NULL AND abandoned_at IS NULL
             RETURNING *",
        )
        .bind(mod_count.and_then(|n| i64::try_from(n).ok()))
        .bind(id)
        .bind(owner)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::outbox_lease_lost(id, owner))?;
        item_from_row(&row)
    }

    async fn mark_outbox_failed(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_in: Option<Duration>,
    ) -> Result<OutboxItem, StoreError> {
        // `retry_in` None abandons the write now; Some(d) keeps it pending, due after `d`.
        let row = sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $1,
                               next_attempt_at = CASE WHEN $2::bigint IS NULL
                                   THEN next_attempt_at
                                   ELSE now() + $2 * interval '1 millisecond' END,
                               abandoned_at = CASE WHEN $2::bigint IS NULL
                                   THEN now() ELSE NULL END,
                               lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $3 AND lease_owner = $4
               AND delivered_at IS NULL AND abandoned_at IS NULL
             RETURNING *",
        )
        .bind(error)
        .bind(retry_in.map(bounded_millis))
        .bind(id)
        .bind(owner)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::outbox_lease_lost(id, owner))?;
        item_from_row(&row)
    }

    async fn last_delivered(
        &self,
        instance: &str,
        ticket: &str,
    ) -> Result<Option<OutboxItem>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM outbox
             WHERE instance = $1 AND ticket = $2 AND delivered_at IS NOT NULL
             ORDER BY id DESC LIMIT 1",
        )
        .bind(instance)
        .bind(ticket)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(item_from_row).transpose()
    }

    async fn get_outbox(&self, id: i64) -> Result<Option<OutboxItem>, StoreError> {
        let row = sqlx::query("SELECT * FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(item_from_row).transpose()
    }

    async fn outbox_depth(&self) -> Result<Vec<(String, u64)>, StoreError> {
        // Byte order, as SQLite sorts, whatever the database's locale.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT instance, count(*) FROM outbox
             WHERE delivered_at IS NULL AND abandoned_at IS NULL
             GROUP BY instance ORDER BY instance COLLATE \"C\"",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(instance, n)| (instance, u64::try_from(n).unwrap_or(0)))
            .collect())
    }
}
