//! The ServiceNow outbox in SQLite: per-ticket ordered, leased delivery.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use super::{
    SqliteStore, after_ms, col, col_u32, from_ms, now_ms, opt_from_ms, parse_json, parse_uuid,
    to_json,
};
use crate::adapter::store::StoreError;
use crate::adapter::store::outbox::{NewOutboxItem, OutboxItem, OutboxStore};

fn item_from_row(row: &SqliteRow) -> Result<OutboxItem, StoreError> {
    let payload: String = col(row, "payload")?;
    Ok(OutboxItem {
        id: col(row, "id")?,
        instance: col(row, "instance")?,
        table: col(row, "table_name")?,
        ticket: col(row, "ticket")?,
        job_id: col::<Option<String>, _>(row, "job_id")?
            .map(|id| parse_uuid("outbox.job_id", &id))
            .transpose()?,
        payload: parse_json("outbox.payload", &payload)?,
        created_at: from_ms("outbox.created_at", col(row, "created_at")?)?,
        attempts: col_u32(row, "attempts")?,
        next_attempt_at: from_ms("outbox.next_attempt_at", col(row, "next_attempt_at")?)?,
        delivered_at: opt_from_ms("outbox.delivered_at", col(row, "delivered_at")?)?,
        abandoned_at: opt_from_ms("outbox.abandoned_at", col(row, "abandoned_at")?)?,
        last_error: col(row, "last_error")?,
        delivered_mod_count: col::<Option<i64>, _>(row, "delivered_mod_count")?
            .and_then(|n| u64::try_from(n).ok()),
    })
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn enqueue_outbox(&self, item: NewOutboxItem) -> Result<OutboxItem, StoreError> {
        let now = now_ms();
        let row = sqlx::query(
            "INSERT INTO outbox (instance, table_name, ticket, job_id, payload, created_at,
                                 attempts, next_attempt_at)
             VALUES (?, ?, ?, ?, ?, ?, 0, ?)
             RETURNING *",
        )
        .bind(item.instance)
        .bind(item.table)
        .bind(item.ticket)
        .bind(item.job_id.map(|id| id.to_string()))
        .bind(to_json(&item.payload))
        .bind(now)
        .bind(now)
        .fetch_one(self.writer())
        .await?;
        item_from_row(&row)
    }

    async fn claim_outbox(
        &self,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        // Only the head of each ticket's queue is eligible: a write waiting for a retry holds
        // back the writes after it for the same ticket, and nothing else.
        let rows = sqlx::query(
            // A write claimed again after its lease expired was being delivered by a worker
            // that died: that try counts, so the next one checks whether it reached ServiceNow.
            "UPDATE outbox SET lease_owner = ?1, lease_expires_at = ?2,
                               attempts = attempts + (lease_owner IS NOT NULL)
             WHERE id IN (
                 SELECT o.id FROM outbox o
                 WHERE o.delivered_at IS NULL AND o.abandoned_at IS NULL
                   AND o.next_attempt_at <= ?3
                   AND (o.lease_owner IS NULL OR o.lease_expires_at < ?3)
                   AND o.id = (SELECT min(p.id) FROM outbox p
                               WHERE p.instance = o.instance AND p.ticket = o.ticket
                                 AND p.delivered_at IS NULL AND p.abandoned_at IS NULL)
                 ORDER BY o.id
                 LIMIT ?4)
             RETURNING *",
        )
        .bind(owner)
        .bind(after_ms(now, lease))
        .bind(now)
        .bind(limit)
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
            "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL,
                               lease_owner = NULL, lease_expires_at = NULL,
                               delivered_mod_count = ?
             WHERE id = ? AND lease_owner = ? AND delivered_at IS NULL AND abandoned_at IS NULL
             RETURNING *",
        )
        .bind(now_ms())
        .bind(mod_count.and_then(|n| i64::try_from(n).ok()))
        .bind(id)
        .bind(owner)
        .fetch_optional(self.writer())
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
        let now = now_ms();
        let (next, abandoned) = match retry_in {
            Some(d) => (Some(after_ms(now, d)), None),
            None => (None, Some(now)),
        };
        let row = sqlx::query(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?,
                               next_attempt_at = coalesce(?, next_attempt_at), abandoned_at = ?,
                               lease_owner = NULL, lease_expires_at = NULL
             WHERE id = ? AND lease_owner = ? AND delivered_at IS NULL AND abandoned_at IS NULL
             RETURNING *",
        )
        .bind(error)
        .bind(next)
        .bind(abandoned)
        .bind(id)
        .bind(owner)
        .fetch_optional(self.writer())
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
            "SELECT * FROM outbox WHERE instance = ? AND ticket = ? AND delivered_at IS NOT NULL
             ORDER BY id DESC LIMIT 1",
        )
        .bind(instance)
        .bind(ticket)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(item_from_row).transpose()
    }

    async fn get_outbox(&self, id: i64) -> Result<Option<OutboxItem>, StoreError> {
        let row = sqlx::query("SELECT * FROM outbox WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(item_from_row).transpose()
    }

    async fn outbox_depth(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT instance, count(*) FROM outbox
             WHERE delivered_at IS NULL AND abandoned_at IS NULL
             GROUP BY instance ORDER BY instance",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(instance, n)| (instance, u64::try_from(n).unwrap_or(0)))
            .collect())
    }
}
