//! The job ↔ ticket link in SQLite: lagging jobs, phase advances with their outbox writes in
//! one transaction, and declined requests.

use async_trait::async_trait;
use uuid::Uuid;

use super::rows::job_from_row;
use super::{SqliteStore, col, now_ms, parse_uuid, to_json};
use crate::adapter::store::StoreError;
use crate::adapter::store::outbox::NewOutboxItem;
use crate::adapter::store::ticket_links::{TicketLag, TicketLinkStore, TicketPhase};

/// The phase a job's state wants, as SQL over `jobs` (mirrors [`TicketPhase::wanted`]).
const WANTED: &str = "CASE state
    WHEN 'queued' THEN CASE WHEN ticket_phase = 'none' THEN 'none' ELSE 'started' END
    WHEN 'running' THEN 'started'
    ELSE state END";

#[async_trait]
impl TicketLinkStore for SqliteStore {
    async fn ticket_lags(&self, limit: u32) -> Result<Vec<TicketLag>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT * FROM jobs WHERE ticket_number IS NOT NULL AND ticket_phase <> ({WANTED})
             ORDER BY updated_at, id LIMIT ?"
        )))
        .bind(crate::adapter::store::page_limit(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let phase: String = col(row, "ticket_phase")?;
                Ok(TicketLag {
                    job: job_from_row(row)?,
                    reported: TicketPhase::parse(&phase).ok_or_else(|| StoreError::Corrupt {
                        column: "jobs.ticket_phase",
                        reason: format!("unknown phase {phase:?}"),
                    })?,
                })
            })
            .collect()
    }

    async fn advance_ticket_phase(
        &self,
        job_id: Uuid,
        from: TicketPhase,
        to: TicketPhase,
        writes: Vec<NewOutboxItem>,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let moved =
            sqlx::query("UPDATE jobs SET ticket_phase = ? WHERE id = ? AND ticket_phase = ?")
                .bind(to.as_str())
                .bind(job_id.to_string())
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        for item in writes {
            sqlx::query(
                "INSERT INTO outbox (instance, table_name, ticket, job_id, payload, created_at,
                                     attempts, next_attempt_at)
                 VALUES (?, ?, ?, ?, ?, ?, 0, ?)",
            )
            .bind(item.instance)
            .bind(item.table)
            .bind(item.ticket)
            .bind(item.job_id.map(|id| id.to_string()))
            .bind(to_json(&item.payload))
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn set_ticket_status(&self, job_id: Uuid, status: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET ticket_status = ? WHERE id = ?")
            .bind(status)
            .bind(job_id.to_string())
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn ticket_status(&self, job_id: Uuid) -> Result<Option<String>, StoreError> {
        let status: Option<Option<String>> =
            sqlx::query_scalar("SELECT ticket_status FROM jobs WHERE id = ?")
                .bind(job_id.to_string())
                .fetch_optional(self.pool())
                .await?;
        Ok(status.flatten())
    }

    async fn jobs_for_ticket(&self, instance: &str, number: &str) -> Result<Vec<Uuid>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM jobs WHERE ticket_instance = ? AND ticket_number = ?
             ORDER BY created_at DESC",
        )
        .bind(instance)
        .bind(number)
        .fetch_all(self.pool())
        .await?;
        ids.iter().map(|id| parse_uuid("jobs.id", id)).collect()
    }

    async fn record_refusal(
        &self,
        instance: &str,
        number: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO fulfilment_refusals (instance, ticket_number, reason, at)
             VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(instance)
        .bind(number)
        .bind(reason)
        .bind(now_ms())
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }
}
