//! [`StepStore`] on PostgreSQL: one row per step of a workflow task, upserted as the step moves,
//! with the `task` event that carries it.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;

use super::PgStore;
use super::events::append_events;
use crate::adapter::store::StoreError;
use crate::adapter::store::columns::{col, col_enum, col_u32};
use crate::adapter::store::events::EventKind;
use crate::adapter::store::steps::{StepRecord, StepState, StepStore};

fn step_from_row(row: &PgRow) -> Result<StepRecord, StoreError> {
    let Json(output): Json<serde_json::Value> = col(row, "output")?;
    Ok(StepRecord {
        number: col_u32(row, "number")?,
        kind: col(row, "kind")?,
        title: col(row, "title")?,
        state: col_enum(row, "state", StepState::parse)?,
        detail: col(row, "detail")?,
        output,
        started_at: col(row, "started_at")?,
        ended_at: col(row, "ended_at")?,
    })
}

#[async_trait]
impl StepStore for PgStore {
    async fn task_steps(&self, task_id: i64) -> Result<Vec<StepRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM task_steps WHERE task_id = $1 ORDER BY number")
            .bind(task_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(step_from_row).collect()
    }

    async fn job_steps(&self, job_id: Uuid) -> Result<Vec<(i64, StepRecord)>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.* FROM task_steps s JOIN tasks t ON t.id = s.task_id
             WHERE t.job_id = $1 ORDER BY s.task_id, s.number",
        )
        .bind(job_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| Ok((col(row, "task_id")?, step_from_row(row)?)))
            .collect()
    }

    async fn record_step(
        &self,
        task_id: i64,
        owner: &str,
        step: &StepRecord,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        // The lease check and the write in one transaction, with the task row share-locked
        // until the commit: a replica taking the task over (an UPDATE of that row) waits, so
        // it never has its record overwritten by the engine it took the task from.
        let job_id: Option<Uuid> = sqlx::query_scalar(
            "SELECT job_id FROM tasks WHERE id = $1 AND lease_owner = $2 AND state = 'running'
             FOR SHARE",
        )
        .bind(task_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(job_id) = job_id else {
            return Err(StoreError::LeaseLost {
                task_id,
                owner: owner.to_owned(),
            });
        };
        sqlx::query(
            "INSERT INTO task_steps (task_id, number, kind, title, state, detail, output,
                                     started_at, ended_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (task_id, number) DO UPDATE SET
                 kind = EXCLUDED.kind, title = EXCLUDED.title, state = EXCLUDED.state,
                 detail = EXCLUDED.detail, output = EXCLUDED.output,
                 started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at",
        )
        .bind(task_id)
        .bind(i64::from(step.number))
        .bind(&step.kind)
        .bind(&step.title)
        .bind(step.state.as_str())
        .bind(&step.detail)
        .bind(Json(&step.output))
        .bind(step.started_at)
        .bind(step.ended_at)
        .execute(&mut *tx)
        .await?;
        let payload = serde_json::json!({
            "job_id": job_id,
            "task_id": task_id,
            "step": step,
        });
        append_events(&mut tx, &[(EventKind::Task, task_id.to_string(), payload)]).await?;
        tx.commit().await?;
        Ok(())
    }
}
