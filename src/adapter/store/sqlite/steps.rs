//! [`StepStore`] on SQLite: one row per step of a workflow task, upserted as the step moves.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::events::append_events;
use super::{SqliteStore, col, col_enum, now_ms, opt_from_ms, parse_json, to_json, to_ms};
use crate::adapter::store::StoreError;
use crate::adapter::store::events::EventKind;
use crate::adapter::store::steps::{StepRecord, StepState, StepStore};

fn step_from_row(row: &SqliteRow) -> Result<StepRecord, StoreError> {
    let output: String = col(row, "output")?;
    Ok(StepRecord {
        number: super::col_u32(row, "number")?,
        kind: col(row, "kind")?,
        title: col(row, "title")?,
        state: col_enum(row, "state", StepState::parse)?,
        detail: col(row, "detail")?,
        output: parse_json("task_steps.output", &output)?,
        started_at: opt_from_ms("task_steps.started_at", col(row, "started_at")?)?,
        ended_at: opt_from_ms("task_steps.ended_at", col(row, "ended_at")?)?,
    })
}

#[async_trait]
impl StepStore for SqliteStore {
    async fn task_steps(&self, task_id: i64) -> Result<Vec<StepRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM task_steps WHERE task_id = ? ORDER BY number")
            .bind(task_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(step_from_row).collect()
    }

    async fn job_steps(&self, job_id: Uuid) -> Result<Vec<(i64, StepRecord)>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.* FROM task_steps s JOIN tasks t ON t.id = s.task_id
             WHERE t.job_id = ? ORDER BY s.task_id, s.number",
        )
        .bind(job_id.to_string())
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
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        // The lease check and the write in one transaction: a task taken over by another
        // engine keeps that engine's record.
        let job_id: Option<String> = sqlx::query_scalar(
            "SELECT job_id FROM tasks WHERE id = ? AND lease_owner = ? AND state = 'running'",
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (task_id, number) DO UPDATE SET
                 kind = excluded.kind, title = excluded.title, state = excluded.state,
                 detail = excluded.detail, output = excluded.output,
                 started_at = excluded.started_at, ended_at = excluded.ended_at",
        )
        .bind(task_id)
        .bind(i64::from(step.number))
        .bind(&step.kind)
        .bind(&step.title)
        .bind(step.state.as_str())
        .bind(&step.detail)
        .bind(to_json(&step.output))
        .bind(step.started_at.map(to_ms))
        .bind(step.ended_at.map(to_ms))
        .execute(&mut *tx)
        .await?;
        let payload = serde_json::json!({
            "job_id": job_id,
            "task_id": task_id,
            "step": step,
        });
        append_events(
            &mut tx,
            &[(EventKind::Task, task_id.to_string(), payload)],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
