//! Tasks in SQLite: lease-based claiming, attempts, progress and completion. Every change is
//! guarded by the lease owner, so a worker that lost its lease (it stalled, the task was
//! reclaimed) cannot overwrite the new owner's work.

use std::collections::BTreeSet;
use std::time::Duration;

use sqlx::SqliteConnection;

use super::jobs::recompute_job;
use super::rows::{attempt_from_row, task_from_row};
use super::{SqliteStore, after_ms, now_ms};
use crate::adapter::store::jobs::{Attempt, Task, TaskState, TaskTransition};
use crate::adapter::store::{StoreError, page_limit};

/// What a finished attempt turns its task into.
struct Finish<'a> {
    state: TaskState,
    outcome: &'static str,
    result: Option<&'a str>,
    error: Option<&'a str>,
    next_attempt_at: Option<i64>,
}

/// Fetches a task still leased by `owner`, or says the lease is lost.
async fn leased_task(
    conn: &mut SqliteConnection,
    task_id: i64,
    owner: &str,
) -> Result<Task, StoreError> {
    let row =
        sqlx::query("SELECT * FROM tasks WHERE id = ? AND lease_owner = ? AND state = 'running'")
            .bind(task_id)
            .bind(owner)
            .fetch_optional(&mut *conn)
            .await?;
    match row {
        Some(row) => task_from_row(&row),
        None => Err(lease_lost(task_id, owner)),
    }
}

fn lease_lost(task_id: i64, owner: &str) -> StoreError {
    StoreError::LeaseLost {
        task_id,
        owner: owner.to_owned(),
    }
}

impl SqliteStore {
    async fn finish_task(
        &self,
        task_id: i64,
        owner: &str,
        f: Finish<'_>,
    ) -> Result<TaskTransition, StoreError> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(
            "UPDATE tasks SET state = ?1, result = ?2, error = ?3,
                              percent = CASE WHEN ?1 = 'succeeded' THEN 100 ELSE percent END,
                              next_attempt_at = coalesce(?4, next_attempt_at),
                              lease_owner = NULL, lease_expires_at = NULL, updated_at = ?5
             WHERE id = ?6 AND lease_owner = ?7 AND state = 'running'
             RETURNING *",
        )
        .bind(f.state.as_str())
        .bind(f.result)
        .bind(f.error)
        .bind(f.next_attempt_at)
        .bind(now)
        .bind(task_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| lease_lost(task_id, owner))?;
        let task = task_from_row(&row)?;
        sqlx::query(
            "UPDATE task_attempts SET ended_at = ?, outcome = ?, error = ?
             WHERE task_id = ? AND ended_at IS NULL",
        )
        .bind(now)
        .bind(f.outcome)
        .bind(f.error)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
        let job = recompute_job(&mut tx, &task.job_id.to_string(), now).await?;
        tx.commit().await?;
        Ok(TaskTransition { task, job })
    }
}

/// The `JobStore` methods about tasks live here as free functions: Rust wants one
/// `impl JobStore`, which is in `jobs.rs` and delegates to these.
pub(super) async fn claim_tasks(
    store: &SqliteStore,
    site: &str,
    owner: &str,
    limit: u32,
    lease: Duration,
) -> Result<Vec<Task>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let now = now_ms();
    let mut tx = store.write_tx().await?;
    // One statement under the write lock: no other claimer can see these rows as due in
    // between. PostgreSQL adds FOR UPDATE SKIP LOCKED to the inner SELECT.
    let rows = sqlx::query(
        "UPDATE tasks SET state = 'running', lease_owner = ?1, lease_expires_at = ?2,
                          updated_at = ?3
         WHERE id IN (SELECT id FROM tasks
                      WHERE site = ?4
                        AND ((state = 'queued' AND next_attempt_at <= ?3)
                          OR (state = 'running' AND lease_expires_at < ?3))
                      ORDER BY next_attempt_at, id
                      LIMIT ?5)
         RETURNING *",
    )
    .bind(owner)
    .bind(after_ms(now, lease))
    .bind(now)
    .bind(site)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut tasks = rows
        .iter()
        .map(task_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    tasks.sort_by_key(|t| t.id);
    let jobs: BTreeSet<String> = tasks.iter().map(|t| t.job_id.to_string()).collect();
    for job in jobs {
        recompute_job(&mut tx, &job, now).await?;
    }
    tx.commit().await?;
    Ok(tasks)
}

pub(super) async fn renew_lease(
    store: &SqliteStore,
    task_id: i64,
    owner: &str,
    lease: Duration,
) -> Result<Task, StoreError> {
    let now = now_ms();
    let row = sqlx::query(
        "UPDATE tasks SET lease_expires_at = ?, updated_at = ?
         WHERE id = ? AND lease_owner = ? AND state = 'running'
         RETURNING *",
    )
    .bind(after_ms(now, lease))
    .bind(now)
    .bind(task_id)
    .bind(owner)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(|| lease_lost(task_id, owner))?;
    task_from_row(&row)
}

pub(super) async fn start_attempt(
    store: &SqliteStore,
    task_id: i64,
    owner: &str,
) -> Result<Attempt, StoreError> {
    let now = now_ms();
    let mut tx = store.write_tx().await?;
    let task = leased_task(&mut tx, task_id, owner).await?;
    // An attempt still open belongs to a worker that died mid-action: close it so the
    // history shows it, and the new attempt knows to check the target's state first.
    sqlx::query(
        "UPDATE task_attempts SET ended_at = ?, outcome = 'failed',
                                  error = 'interrupted: the worker stopped during this attempt'
         WHERE task_id = ? AND ended_at IS NULL",
    )
    .bind(now)
    .bind(task_id)
    .execute(&mut *tx)
    .await?;
    let number = task.attempts + 1;
    sqlx::query("UPDATE tasks SET attempts = ?, updated_at = ? WHERE id = ?")
        .bind(number)
        .bind(now)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(
        "INSERT INTO task_attempts (task_id, number, owner, started_at) VALUES (?, ?, ?, ?)
         RETURNING *",
    )
    .bind(task_id)
    .bind(number)
    .bind(owner)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let attempt = attempt_from_row(&row)?;
    tx.commit().await?;
    Ok(attempt)
}

pub(super) async fn update_task_progress(
    store: &SqliteStore,
    task_id: i64,
    owner: &str,
    percent: u8,
    external_job_id: Option<&str>,
) -> Result<Task, StoreError> {
    let row = sqlx::query(
        "UPDATE tasks SET percent = ?, external_job_id = coalesce(?, external_job_id),
                          updated_at = ?
         WHERE id = ? AND lease_owner = ? AND state = 'running'
         RETURNING *",
    )
    .bind(percent.min(100))
    .bind(external_job_id)
    .bind(now_ms())
    .bind(task_id)
    .bind(owner)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(|| lease_lost(task_id, owner))?;
    task_from_row(&row)
}

pub(super) async fn complete_task(
    store: &SqliteStore,
    task_id: i64,
    owner: &str,
    result: Option<&str>,
) -> Result<TaskTransition, StoreError> {
    let f = Finish {
        state: TaskState::Succeeded,
        outcome: "succeeded",
        result,
        error: None,
        next_attempt_at: None,
    };
    store.finish_task(task_id, owner, f).await
}

pub(super) async fn fail_task(
    store: &SqliteStore,
    task_id: i64,
    owner: &str,
    error: &str,
) -> Result<TaskTransition, StoreError> {
    let f = Finish {
        state: TaskState::Failed,
        outcome: "failed",
        result: None,
        error: Some(error),
        next_attempt_at: None,
    };
    store.finish_task(task_id, owner, f).await
}

pub(super) async fn cancel_task(
    store: &SqliteStore,
    task_id: i64,
    owner: &str,
    note: &str,
) -> Result<TaskTransition, StoreError> {
    let f = Finish {
        state: TaskState::Cancelled,
        outcome: "cancelled",
        result: None,
        error: Some(note),
        next_attempt_at: None,
    };
    store.finish_task(task_id, owner, f).await
}

pub(super) async fn reschedule_task(
    store: &SqliteStore,
    task_id: i64,
    owner: &str,
    error: &str,
    delay: Duration,
) -> Result<TaskTransition, StoreError> {
    let f = Finish {
        state: TaskState::Queued,
        outcome: "failed",
        result: None,
        error: Some(error),
        next_attempt_at: Some(after_ms(now_ms(), delay)),
    };
    store.finish_task(task_id, owner, f).await
}

pub(super) async fn expired_leases(
    store: &SqliteStore,
    limit: u32,
) -> Result<Vec<Task>, StoreError> {
    sqlx::query(
        "SELECT * FROM tasks WHERE state = 'running' AND lease_expires_at < ?
         ORDER BY lease_expires_at, id LIMIT ?",
    )
    .bind(now_ms())
    .bind(page_limit(limit))
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(task_from_row)
    .collect()
}

pub(super) async fn sites_with_due_tasks(store: &SqliteStore) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT site FROM tasks
         WHERE (state = 'queued' AND next_attempt_at <= ?1)
            OR (state = 'running' AND lease_expires_at < ?1)
         ORDER BY site",
    )
    .bind(now_ms())
    .fetch_all(store.pool())
    .await?)
}
