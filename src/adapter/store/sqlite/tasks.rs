//! Tasks in SQLite: lease-based claiming, attempts, progress and completion. Every change is
//! guarded by the lease owner, so a worker that lost its lease (it stalled, the task was
//! reclaimed) cannot overwrite the new owner's work.
//!
//! Claims and attempt ends move the job's progress counters by the tasks that changed state
//! ([`move_counters`]) instead of recounting the job's tasks: a recount reads every task of
//! the job, which made each of a 10,000-task job's task changes cost 10,000 row reads.
//!
//! These are the one-task operations; the engine uses the batches in [`super::task_batch`].

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::SqliteConnection;

use super::jobs::recompute_job;
use super::rows::{attempt_from_row, job_from_row, task_from_row};
use super::{SqliteStore, after_ms, now_ms};
pub(super) use crate::adapter::store::jobs::Moves;
use crate::adapter::store::jobs::{Attempt, Job, Task, TaskState, TaskTransition};
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
        None => Err(StoreError::lease_lost(task_id, owner)),
    }
}

/// Moves a job's counters and derives its state from them, in the caller's transaction. Only
/// for changes where some task has been claimed (the job has started). Counters that would go
/// negative mean they disagree with the tasks (a database from an older version, a hand
/// edit): then the job is recounted.
pub(super) async fn move_counters(
    conn: &mut SqliteConnection,
    job_id: &str,
    m: &Moves,
    now: i64,
) -> Result<Job, StoreError> {
    let row = sqlx::query(
        "UPDATE jobs SET queued = queued + ?1, running = running + ?2,
                         succeeded = succeeded + ?3, failed = failed + ?4,
                         cancelled = cancelled + ?5, updated_at = ?6
         WHERE id = ?7 AND queued + ?1 >= 0 AND running + ?2 >= 0 AND succeeded + ?3 >= 0
           AND failed + ?4 >= 0 AND cancelled + ?5 >= 0
         RETURNING *",
    )
    .bind(m.queued)
    .bind(m.running)
    .bind(m.succeeded)
    .bind(m.failed)
    .bind(m.cancelled)
    .bind(now)
    .bind(job_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return recompute_job(conn, job_id, now).await;
    };
    let mut job = job_from_row(&row)?;
    let state = job.progress.job_state(true);
    if state != job.state {
        sqlx::query("UPDATE jobs SET state = ? WHERE id = ?")
            .bind(state.as_str())
            .bind(job_id)
            .execute(&mut *conn)
            .await?;
        job.state = state;
    }
    Ok(job)
}

/// Moves `n` tasks of a job from the `from` counter to the `to` counter ([`move_counters`]).
async fn shift_counters(
    conn: &mut SqliteConnection,
    job_id: &str,
    from: TaskState,
    to: TaskState,
    n: u32,
    now: i64,
) -> Result<Job, StoreError> {
    let mut m = Moves::default();
    m.shift(from, to, i64::from(n));
    move_counters(conn, job_id, &m, now).await
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
        .ok_or_else(|| StoreError::lease_lost(task_id, owner))?;
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
        let job = shift_counters(
            &mut tx,
            &task.job_id.to_string(),
            TaskState::Running,
            f.state,
            1,
            now,
        )
        .await?;
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
    // Under the write lock (BEGIN IMMEDIATE): no other claimer can see these rows as due in
    // between the look and the update. PostgreSQL adds FOR UPDATE SKIP LOCKED to the look.
    let due: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, state, job_id FROM tasks
         WHERE site = ?1
           AND ((state = 'queued' AND next_attempt_at <= ?2)
             OR (state = 'running' AND lease_expires_at < ?2))
         ORDER BY next_attempt_at, id
         LIMIT ?3",
    )
    .bind(site)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = due.iter().map(|(id, _, _)| *id).collect();
    let ids =
        serde_json::to_string(&ids).map_err(|e| StoreError::Invalid(format!("task ids: {e}")))?;
    let rows = sqlx::query(
        "UPDATE tasks SET state = 'running', lease_owner = ?1, lease_expires_at = ?2,
                          updated_at = ?3
         WHERE id IN (SELECT value FROM json_each(?4))
         RETURNING *",
    )
    .bind(owner)
    .bind(after_ms(now, lease))
    .bind(now)
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut tasks = rows
        .iter()
        .map(task_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    tasks.sort_by_key(|t| t.id);
    // Tasks taken over from an expired lease were already counted as running.
    let mut newly_running: BTreeMap<&str, u32> = BTreeMap::new();
    for (_, state, job) in &due {
        if state == "queued" {
            *newly_running.entry(job.as_str()).or_default() += 1;
        }
    }
    for (job, n) in newly_running {
        shift_counters(&mut tx, job, TaskState::Queued, TaskState::Running, n, now).await?;
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
    .fetch_optional(store.writer())
    .await?
    .ok_or_else(|| StoreError::lease_lost(task_id, owner))?;
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
    // history shows it, and the new attempt knows to check the target's state first. A task
    // never attempted has none.
    if task.attempts > 0 {
        sqlx::query(
            "UPDATE task_attempts SET ended_at = ?, outcome = 'failed',
                                      error = 'interrupted: the worker stopped during this attempt'
             WHERE task_id = ? AND ended_at IS NULL",
        )
        .bind(now)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
    }
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
    .fetch_optional(store.writer())
    .await?
    .ok_or_else(|| StoreError::lease_lost(task_id, owner))?;
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
