//! The job ↔ ticket link in PostgreSQL: lagging jobs, phase advances with their outbox writes
//! in one transaction, and declined requests.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;

use super::PgStore;
use super::outbox::insert_outbox;
use crate::adapter::store::columns::{col, col_enum, col_u32};
use crate::adapter::store::jobs::{Job, JobState, Progress, TicketRef};
use crate::adapter::store::outbox::NewOutboxItem;
use crate::adapter::store::ticket_links::{TicketLag, TicketLinkStore, TicketPhase};
use crate::adapter::store::{StoreError, page_limit};

/// The phase a job's state wants, as SQL over `jobs` (mirrors [`TicketPhase::wanted`]).
macro_rules! wanted {
    () => {
        "CASE state
            WHEN 'queued' THEN CASE WHEN ticket_phase = 'none' THEN 'none' ELSE 'started' END
            WHEN 'running' THEN 'started'
            ELSE state END"
    };
}

/// The job as [`TicketLag`] carries it, read here from the `jobs` columns so this module
/// depends on nothing but the schema.
fn job_from_row(row: &PgRow) -> Result<Job, StoreError> {
    let instance: Option<String> = col(row, "ticket_instance")?;
    let number: Option<String> = col(row, "ticket_number")?;
    let Json(params): Json<serde_json::Value> = col(row, "params")?;
    Ok(Job {
        id: col(row, "id")?,
        action: col(row, "action")?,
        requested_by: col(row, "requested_by")?,
        ticket: instance
            .zip(number)
            .map(|(instance, number)| TicketRef { instance, number }),
        params,
        idempotency_key: col(row, "idempotency_key")?,
        state: col_enum(row, "state", JobState::parse)?,
        progress: Progress {
            total: col_u32(row, "total")?,
            queued: col_u32(row, "queued")?,
            running: col_u32(row, "running")?,
            succeeded: col_u32(row, "succeeded")?,
            failed: col_u32(row, "failed")?,
            cancelled: col_u32(row, "cancelled")?,
        },
        cancel_requested_at: col(row, "cancel_requested_at")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

#[async_trait]
impl TicketLinkStore for PgStore {
    async fn ticket_lags(&self, limit: u32) -> Result<Vec<TicketLag>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT * FROM jobs WHERE ticket_number IS NOT NULL AND ticket_phase <> (",
            wanted!(),
            ") ORDER BY updated_at, id LIMIT $1"
        ))
        .bind(page_limit(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TicketLag {
                    job: job_from_row(row)?,
                    reported: col_enum(row, "ticket_phase", TicketPhase::parse)?,
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
        let mut tx = self.pool().begin().await?;
        // A compare-and-set: when two replicas advance at once, the second UPDATE waits for
        // the first's row lock, re-reads the committed row, no longer finds `from` and
        // changes nothing, so the writes are queued once.
        let moved =
            sqlx::query("UPDATE jobs SET ticket_phase = $1 WHERE id = $2 AND ticket_phase = $3")
                .bind(to.as_str())
                .bind(job_id)
                .bind(from.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        insert_outbox(&mut tx, &writes).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_ticket_status(&self, job_id: Uuid, status: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET ticket_status = $1 WHERE id = $2")
            .bind(status)
            .bind(job_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn ticket_status(&self, job_id: Uuid) -> Result<Option<String>, StoreError> {
        let status: Option<Option<String>> =
            sqlx::query_scalar("SELECT ticket_status FROM jobs WHERE id = $1")
                .bind(job_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(status.flatten())
    }

    async fn jobs_for_ticket(&self, instance: &str, number: &str) -> Result<Vec<Uuid>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM jobs WHERE ticket_instance = $1 AND ticket_number = $2
             ORDER BY created_at DESC",
        )
        .bind(instance)
        .bind(number)
        .fetch_all(self.pool())
        .await?)
    }

    async fn record_refusal(
        &self,
        instance: &str,
        number: &str,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO fulfilment_refusals (instance, ticket_number, reason, at)
             VALUES ($1, $2, $3, now()) ON CONFLICT DO NOTHING",
        )
        .bind(instance)
        .bind(number)
        .bind(reason)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }
}
