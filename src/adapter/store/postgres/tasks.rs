//! Tasks in PostgreSQL: lease-based claiming, attempts, progress and completion. Every change
//! is guarded by the lease owner, so a worker that lost its lease (it stalled, the task was
//! reclaimed by this or another replica) cannot overwrite the new owner's work.
//!
//! Leases and due times are computed by the database (`now()`), never by a replica, so clock
//! skew between adapter hosts cannot make a live lease look expired. Claims lock the rows
//! they take with `FOR UPDATE SKIP LOCKED`: replicas claim disjoint tasks without waiting on
//! each other. Job counters move by increments on the job row ([`move_counters`]), so two
//! replicas changing tasks of one job never lose each other's update.
//!
//! These are the one-task operations; the engine uses the batches in [`super::task_batch`].

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

use super::jobs::recompute_job;
use super::rows::{attempt_from_row, job_from_row, task_from_row};
use super::{PgStore, millis};
use crate::adapter::store::columns::col;
pub(super) use crate::adapter::store::jobs::Moves;
use crate::adapter::store::jobs::{Attempt, Job, Task, TaskState, TaskTransition};
use crate::adapter::store::{StoreError, page_limit};

/// The closing text of an attempt whose worker died.
pub(super) const INTERRUPTED: &str = "interrupted: the worker stopped during this attempt";

/// What a finished attempt turns its task into.
struct Finish<'a> {
    state: TaskState,
    outcome: &'static str,
    result: Option<&'a str>,
    error: Option<&'a str>,
    /// For a retry: due this long after now (the database's now).
    retry_after: Option<Duration>,
}

/// Moves a job's counters and derives its state from them, in the caller's transaction. Only
/// for changes where some task has been claimed (the job has started). The increments run on
/// the row's latest version and lock it to the commit, so concurrent batches of other
/// replicas add up instead of overwriting each other, and the state written next is derived
/// from counters nobody else can change in between. Counters that would go negative mean they
/// disagree with the tasks (a hand edit): then the job is recounted.
pub(super) async fn move_counters(
    conn: &mut PgConnection,
    job_id: Uuid,
    m: &Moves,
) -> Result<Job, StoreError> {
    let row = sqlx::query(
        "UPDATE jobs SET queued = queued + $1, running = running + $2,
                         succeeded = succeeded + $3, failed = failed + $4,
                         cancelled = cancelled + $5, updated_at = now()
         WHERE id = $6 AND queued + $1 >= 0 AND running + $2 >= 0 AND succeeded + $3 >= 0
           AND failed + $4 >= 0 AND cancelled + $5 >= 0
         RETURNING *",
    )
    .bind(m.queued)
    .bind(m.running)
    .bind(m.succeeded)
    .bind(m.failed)
    .bind(m.cancelled)
    .bind(job_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return recompute_job(conn, job_id).await;
    };
    let mut job = job_from_row(&row)?;
    let state = job.progress.job_state(true);
    if state != job.state {
        sqlx::query("UPDATE jobs SET state = $1 WHERE id = $2")
            .bind(state.as_str())
            .bind(job_id)
            .execute(&mut *conn)
            .await?;
        job.state = state;
    }
    Ok(job)
}

/// Applies each job's counter moves in job id order (the order every transaction locks job
/// rows in, so two batches never wait on each other in a cycle); returns the jobs as
/// committed.
pub(super) async fn move_jobs(
    conn: &mut PgConnection,
    moves: BTreeMap<Uuid, Moves>,
) -> Result<Vec<Job>, StoreError> {
    let mut jobs = Vec::with_capacity(moves.len());
    for (job_id, m) in moves {
        if m != Moves::default() {
            jobs.push(move_counters(conn, job_id, &m).await?);
        }
    }
    Ok(jobs)
}

/// Counter moves of claimed tasks: those that were queued are now running; those taken over
/// from an expired lease were already counted as running.
pub(super) fn claim_moves<'a>(
    claimed: impl IntoIterator<Item = &'a (i64, String, Uuid)>,
) -> BTreeMap<Uuid, Moves> {
    let mut moves: BTreeMap<Uuid, Moves> = BTreeMap::new();
    for (_, state, job) in claimed {
        if state == "queued" {
            moves
                .entry(*job)
                .or_default()
                .shift(TaskState::Queued, TaskState::Running, 1);
        }
    }
    moves
}

impl PgStore {
    async fn finish_task(
        &self,
        task_id: i64,
        owner: &str,
        f: Finish<'_>,
    ) -> Result<TaskTransition, StoreError> {
        let mut tx = self.pool().begin().await?;
        let row = sqlx::query(
            "UPDATE tasks SET state = $1, result = $2, error = $3,
                              percent = CASE WHEN $1 = 'succeeded' THEN 100 ELSE percent END,
                              next_attempt_at = CASE WHEN $4::bigint IS NULL THEN next_attempt_at
                                  ELSE now() + $4 * interval '1 millisecond' END,
                              lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
             WHERE id = $5 AND lease_owner = $6 AND state = 'running'
             RETURNING *",
        )
        .bind(f.state.as_str())
        .bind(f.result)
        .bind(f.error)
        .bind(f.retry_after.map(millis))
        .bind(task_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::lease_lost(task_id, owner))?;
        let task = task_from_row(&row)?;
        sqlx::query(
            "UPDATE task_attempts SET ended_at = now(), outcome = $1, error = $2
             WHERE task_id = $3 AND ended_at IS NULL",
        )
        .bind(f.outcome)
        .bind(f.error)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
        let mut m = Moves::default();
        m.shift(TaskState::Running, f.state, 1);
        let job = move_counters(&mut tx, task.job_id, &m).await?;
        tx.commit().await?;
        Ok(TaskTransition { task, job })
    }
}

/// The `JobStore` methods about tasks live here as free functions: Rust wants one
/// `impl JobStore`, which is in `jobs.rs` and delegates to these.
pub(super) async fn claim_tasks(
    store: &PgStore,
    site: &str,
    owner: &str,
    limit: u32,
    lease: Duration,
) -> Result<Vec<Task>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut tx = store.pool().begin().await?;
    // SKIP LOCKED: rows another replica is claiming (or writing) right now are passed over,
    // not waited for; a row changed since this statement's snapshot is checked again on its
    // latest version once locked, so a task just claimed elsewhere is never taken twice.
    let rows = sqlx::query(
        "WITH due AS (
             SELECT id, state AS claimed_from FROM tasks
             WHERE site = $1
               AND ((state = 'queued' AND next_attempt_at <= now())
                 OR (state = 'running' AND lease_expires_at < now()))
             ORDER BY next_attempt_at, id
             LIMIT $3
             FOR UPDATE SKIP LOCKED)
         UPDATE tasks SET state = 'running', lease_owner = $2,
                          lease_expires_at = now() + $4 * interval '1 millisecond',
                          updated_at = now()
         FROM due WHERE tasks.id = due.id
         RETURNING tasks.*, due.claimed_from",
    )
    .bind(site)
    .bind(owner)
    .bind(i64::from(limit))
    .bind(millis(lease))
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        tx.rollback().await?;
        return Ok(Vec::new());
    }
    let mut tasks = Vec::with_capacity(rows.len());
    let mut claimed = Vec::with_capacity(rows.len());
    for row in &rows {
        let task = task_from_row(row)?;
        let from: String = col(row, "claimed_from")?;
        claimed.push((task.id, from, task.job_id));
        tasks.push(task);
    }
    tasks.sort_by_key(|t| t.id);
    move_jobs(&mut tx, claim_moves(&claimed)).await?;
    tx.commit().await?;
    Ok(tasks)
}

pub(super) async fn renew_lease(
    store: &PgStore,
    task_id: i64,
    owner: &str,
    lease: Duration,
) -> Result<Task, StoreError> {
    let row = sqlx::query(
        "UPDATE tasks SET lease_expires_at = now() + $1 * interval '1 millisecond',
                          updated_at = now()
         WHERE id = $2 AND lease_owner = $3 AND state = 'running'
         RETURNING *",
    )
    .bind(millis(lease))
    .bind(task_id)
    .bind(owner)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(|| StoreError::lease_lost(task_id, owner))?;
    task_from_row(&row)
}

pub(super) async fn start_attempt(
    store: &PgStore,
    task_id: i64,
    owner: &str,
) -> Result<Attempt, StoreError> {
    let mut tx = store.pool().begin().await?;
    // Locked to the commit: a claimer elsewhere cannot take the task over in between.
    let row = sqlx::query(
        "SELECT * FROM tasks WHERE id = $1 AND lease_owner = $2 AND state = 'running'
         FOR UPDATE",
    )
    .bind(task_id)
    .bind(owner)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| StoreError::lease_lost(task_id, owner))?;
    let task = task_from_row(&row)?;
    // An attempt still open belongs to a worker that died mid-action: close it so the
    // history shows it, and the new attempt knows to check the target's state first. A task
    // never attempted has none.
    if task.attempts > 0 {
        sqlx::query(
            "UPDATE task_attempts SET ended_at = now(), outcome = 'failed', error = $1
             WHERE task_id = $2 AND ended_at IS NULL",
        )
        .bind(INTERRUPTED)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
    }
    let number = i64::from(task.attempts) + 1;
    sqlx::query("UPDATE tasks SET attempts = $1, updated_at = now() WHERE id = $2")
        .bind(number)
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(
        "INSERT INTO task_attempts (task_id, number, owner, started_at)
         VALUES ($1, $2, $3, now())
         RETURNING *",
    )
    .bind(task_id)
    .bind(number)
    .bind(owner)
    .fetch_one(&mut *tx)
    .await?;
    let attempt = attempt_from_row(&row)?;
    tx.commit().await?;
    Ok(attempt)
}

pub(super) async fn update_task_progress(
    store: &PgStore,
    task_id: i64,
    owner: &str,
    percent: u8,
    external_job_id: Option<&str>,
) -> Result<Task, StoreError> {
    let row = sqlx::query(
        "UPDATE tasks SET percent = $1, external_job_id = coalesce($2, external_job_id),
                          updated_at = now()
         WHERE id = $3 AND lease_owner = $4 AND state = 'running'
         RETURNING *",
    )
    .bind(i64::from(percent.min(100)))
    .bind(external_job_id)
    .bind(task_id)
    .bind(owner)
    .fetch_optional(store.pool())
    .await?
    .ok_or_else(|| StoreError::lease_lost(task_id, owner))?;
    task_from_row(&row)
}

pub(super) async fn complete_task(
    store: &PgStore,
    task_id: i64,
    owner: &str,
    result: Option<&str>,
) -> Result<TaskTransition, StoreError> {
    let f = Finish {
        state: TaskState::Succeeded,
        outcome: "succeeded",
        result,
        error: None,
        retry_after: None,
    };
    store.finish_task(task_id, owner, f).await
}

pub(super) async fn fail_task(
    store: &PgStore,
    task_id: i64,
    owner: &str,
    error: &str,
) -> Result<TaskTransition, StoreError> {
    let f = Finish {
        state: TaskState::Failed,
        outcome: "failed",
        result: None,
        error: Some(error),
        retry_after: None,
    };
    store.finish_task(task_id, owner, f).await
}

pub(super) async fn cancel_task(
    store: &PgStore,
    task_id: i64,
    owner: &str,
    note: &str,
) -> Result<TaskTransition, StoreError> {
    let f = Finish {
        state: TaskState::Cancelled,
        outcome: "cancelled",
        result: None,
        error: Some(note),
        retry_after: None,
    };
    store.finish_task(task_id, owner, f).await
}

pub(super) async fn reschedule_task(
    store: &PgStore,
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
        retry_after: Some(delay),
    };
    store.finish_task(task_id, owner, f).await
}

pub(super) async fn expired_leases(store: &PgStore, limit: u32) -> Result<Vec<Task>, StoreError> {
    sqlx::query(
        "SELECT * FROM tasks WHERE state = 'running' AND lease_expires_at < now()
         ORDER BY lease_expires_at, id LIMIT $1",
    )
    .bind(page_limit(limit))
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(task_from_row)
    .collect()
}

pub(super) async fn sites_with_due_tasks(store: &PgStore) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT site FROM tasks
         WHERE (state = 'queued' AND next_attempt_at <= now())
            OR (state = 'running' AND lease_expires_at < now())
         ORDER BY site",
    )
    .fetch_all(store.pool())
    .await?)
}
