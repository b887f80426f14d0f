//! The engine's task writes in SQLite, many tasks per transaction: claims that start their
//! attempts, lease renewal of all of a worker's tasks in one statement, and group-committed
//! progress and outcomes. Each batch is a handful of statements whatever its size: the ids and
//! values travel as one JSON array (`json_each`), so a batch of 500 tasks costs about what one
//! task did, and the single writer's time per task drops from milliseconds to microseconds.
//!
//! Every change keeps the lease-owner guard of the one-task operations ([`super::tasks`]): a
//! write of a task whose lease was taken over changes nothing and is reported as not applied.
//! The guard's columns are written `+state`, `+lease_owner`: that keeps SQLite from driving
//! the update from the `(state, …)` index (every running task, each probing the whole batch,
//! quadratic in a bulk job) instead of from the batch's ids (one rowid lookup each).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::SqliteConnection;

use super::events::append_events;
use super::rows::task_from_row;
use super::tasks::{Moves, move_counters};
use super::{SqliteStore, after_ms, now_ms, to_json};
use crate::adapter::store::StoreError;
#[cfg(doc)]
use crate::adapter::store::events::task_payload;
use crate::adapter::store::events::{EventKind, job_payload};
use crate::adapter::store::jobs::{ClaimedTask, Job, RecordedTasks, TaskEnd, TaskState, TaskWrite};

/// The closing text of an attempt whose worker died.
const INTERRUPTED: &str = "interrupted: the worker stopped during this attempt";

fn id_list(ids: impl IntoIterator<Item = i64>) -> String {
    to_json(&Value::Array(ids.into_iter().map(Value::from).collect()))
}

/// Appends a `task` event for each of `ids` (a JSON array), in id order, built from the rows
/// as they are now in this transaction. The payload is [`task_payload`]'s, written in SQL so a
/// batch of thousands costs no row decoding and no JSON round trip (the tests compare the
/// two).
async fn task_events(conn: &mut SqliteConnection, ids: &str, now: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (at, kind, subject, payload)
         SELECT ?1, 'task', id,
                json_object('job_id', job_id, 'task_id', id, 'site', site,
                            'target_id', target_id, 'state', state, 'percent', percent,
                            'attempts', attempts, 'result', result, 'error', error,
                            'external_job_id', external_job_id)
         FROM tasks WHERE id IN (SELECT value FROM json_each(?2)) ORDER BY id",
    )
    .bind(now)
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends a `job` event for each job, as committed.
async fn job_events(conn: &mut SqliteConnection, jobs: &[Job], now: i64) -> Result<(), StoreError> {
    let events: Vec<(EventKind, String, Value)> = jobs
        .iter()
        .map(|job| (EventKind::Job, job.id.to_string(), job_payload(job)))
        .collect();
    append_events(conn, &events, now).await
}

/// Applies each job's counter moves; returns the jobs as committed.
async fn move_jobs(
    conn: &mut SqliteConnection,
    moves: BTreeMap<String, Moves>,
    now: i64,
) -> Result<Vec<Job>, StoreError> {
    let mut jobs = Vec::with_capacity(moves.len());
    for (job_id, m) in moves {
        if m != Moves::default() {
            jobs.push(move_counters(conn, &job_id, &m, now).await?);
        }
    }
    Ok(jobs)
}

pub(super) async fn claim_attempts(
    store: &SqliteStore,
    site: &str,
    owner: &str,
    limit: u32,
    lease: Duration,
) -> Result<Vec<ClaimedTask>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let now = now_ms();
    let mut tx = store.write_tx().await?;
    // Under the write lock (BEGIN IMMEDIATE): no other claimer sees these rows as due in
    // between the look and the update. Tasks of a dead worker first, then queued ones in the
    // claim index's own order (no sort of every due task of the site per claim).
    let mut due: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, state, job_id FROM tasks
         WHERE state = 'running' AND lease_expires_at < ?2 AND site = ?1
         ORDER BY lease_expires_at, id
         LIMIT ?3",
    )
    .bind(site)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let left = limit.saturating_sub(u32::try_from(due.len()).unwrap_or(limit));
    if left > 0 {
        let queued: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, state, job_id FROM tasks
             WHERE site = ?1 AND state = 'queued' AND next_attempt_at <= ?2
             ORDER BY next_attempt_at, id
             LIMIT ?3",
        )
        .bind(site)
        .bind(now)
        .bind(left)
        .fetch_all(&mut *tx)
        .await?;
        due.extend(queued);
    }
    if due.is_empty() {
        tx.rollback().await?;
        return Ok(Vec::new());
    }
    let ids = id_list(due.iter().map(|(id, _, _)| *id));
    // An attempt still open belongs to a worker that died mid-attempt, maybe after acting:
    // closed here so the history shows it, and reported so the new attempt checks first.
    let interrupted: HashSet<i64> = sqlx::query_scalar(
        "UPDATE task_attempts SET ended_at = ?1, outcome = 'failed', error = ?2
         WHERE task_id IN (SELECT value FROM json_each(?3)) AND ended_at IS NULL
         RETURNING task_id",
    )
    .bind(now)
    .bind(INTERRUPTED)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let rows = sqlx::query(
        "UPDATE tasks SET state = 'running', lease_owner = ?1, lease_expires_at = ?2,
                          attempts = attempts + 1, updated_at = ?3
         WHERE id IN (SELECT value FROM json_each(?4))
         RETURNING *",
    )
    .bind(owner)
    .bind(after_ms(now, lease))
    .bind(now)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO task_attempts (task_id, number, owner, started_at)
         SELECT id, attempts, ?1, ?2 FROM tasks WHERE id IN (SELECT value FROM json_each(?3))",
    )
    .bind(owner)
    .bind(now)
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    let mut tasks = rows
        .iter()
        .map(task_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    tasks.sort_by_key(|t| t.id);
    // Tasks taken over from an expired lease were already counted as running.
    let mut moves: BTreeMap<String, Moves> = BTreeMap::new();
    for (_, state, job) in &due {
        if state == "queued" {
            moves
                .entry(job.clone())
                .or_default()
                .shift(TaskState::Queued, TaskState::Running, 1);
        }
    }
    let jobs = move_jobs(&mut tx, moves, now).await?;
    task_events(&mut tx, &ids, now).await?;
    job_events(&mut tx, &jobs, now).await?;
    tx.commit().await?;
    Ok(tasks
        .into_iter()
        .map(|task| ClaimedTask {
            interrupted: interrupted.contains(&task.id),
            task,
        })
        .collect())
}

pub(super) async fn renew_leases(
    store: &SqliteStore,
    owner: &str,
    task_ids: &[i64],
    lease: Duration,
) -> Result<Vec<i64>, StoreError> {
    if task_ids.is_empty() {
        return Ok(Vec::new());
    }
    // `updated_at` stays: a renewal changes nothing anyone reads.
    Ok(sqlx::query_scalar(
        "UPDATE tasks SET lease_expires_at = ?1
         WHERE id IN (SELECT value FROM json_each(?2)) AND +lease_owner = ?3 AND +state = 'running'
         RETURNING id",
    )
    .bind(after_ms(now_ms(), lease))
    .bind(id_list(task_ids.iter().copied()))
    .bind(owner)
    .fetch_all(store.writer())
    .await?)
}

/// The task state, attempt outcome, result and error an ending writes.
fn end_columns(end: &TaskEnd) -> (TaskState, &'static str, Option<&str>, Option<&str>) {
    match end {
        TaskEnd::Succeeded { result } => (TaskState::Succeeded, "succeeded", Some(result), None),
        TaskEnd::Failed { error } => (TaskState::Failed, "failed", None, Some(error)),
        TaskEnd::Cancelled { note } => (TaskState::Cancelled, "cancelled", None, Some(note)),
        TaskEnd::Retry { error, .. } => (TaskState::Queued, "failed", None, Some(error)),
    }
}

pub(super) async fn record_tasks(
    store: &SqliteStore,
    owner: &str,
    writes: &[TaskWrite],
) -> Result<RecordedTasks, StoreError> {
    if writes.is_empty() {
        return Ok(RecordedTasks::default());
    }
    let now = now_ms();
    // Progress of one task merges into one row (the last percent, the last job id known);
    // a task ends at most once (its first end releases the lease, so a second cannot apply).
    let mut progress: BTreeMap<i64, (u8, Option<&str>)> = BTreeMap::new();
    let mut ends: BTreeMap<i64, (usize, Value)> = BTreeMap::new();
    for (i, write) in writes.iter().enumerate() {
        match write {
            TaskWrite::Progress {
                task_id,
                percent,
                external_job_id,
            } => {
                let entry = progress.entry(*task_id).or_insert((0, None));
                entry.0 = (*percent).min(100);
                if let Some(id) = external_job_id {
                    entry.1 = Some(id);
                }
            }
            TaskWrite::End {
                task_id,
                end,
                external_job_id,
            } => {
                let (state, outcome, result, error) = end_columns(end);
                let next_at = match end {
                    TaskEnd::Retry { delay, .. } => Some(after_ms(now, *delay)),
                    _ => None,
                };
                ends.entry(*task_id).or_insert_with(|| {
                    let row = json!([
                        task_id,
                        state.as_str(),
                        outcome,
                        result,
                        error,
                        next_at,
                        external_job_id
                    ]);
                    (i, row)
                });
            }
        }
    }
    let mut tx = store.write_tx().await?;
    let mut progressed: HashSet<i64> = HashSet::new();
    if !progress.is_empty() {
        let rows: Vec<Value> = progress
            .iter()
            .map(|(id, (percent, job))| json!([id, percent, job]))
            .collect();
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE tasks SET percent = j.percent,
                              external_job_id = coalesce(j.ext, tasks.external_job_id),
                              updated_at = ?2
             FROM (SELECT value ->> 0 AS id, value ->> 1 AS percent, value ->> 2 AS ext
                   FROM json_each(?1)) AS j
             WHERE tasks.id = j.id AND +tasks.lease_owner = ?3 AND +tasks.state = 'running'
             RETURNING id",
        )
        .bind(to_json(&Value::Array(rows)))
        .bind(now)
        .bind(owner)
        .fetch_all(&mut *tx)
        .await?;
        // Before the ends below, so a task's progress event shows it as it was then.
        task_events(&mut tx, &id_list(ids.iter().copied()), now).await?;
        progressed.extend(ids);
    }
    let mut ended: HashSet<i64> = HashSet::new();
    let mut moves: BTreeMap<String, Moves> = BTreeMap::new();
    if !ends.is_empty() {
        let rows: Vec<&Value> = ends.values().map(|(_, row)| row).collect();
        let rows = to_json(&json!(rows));
        let updated: Vec<(i64, String, String)> = sqlx::query_as(
            "UPDATE tasks SET state = j.state, result = j.result, error = j.error,
                              percent = CASE WHEN j.state = 'succeeded' THEN 100
                                             ELSE tasks.percent END,
                              next_attempt_at = coalesce(j.next_at, tasks.next_attempt_at),
                              external_job_id = coalesce(j.ext, tasks.external_job_id),
                              lease_owner = NULL, lease_expires_at = NULL, updated_at = ?2
             FROM (SELECT value ->> 0 AS id, value ->> 1 AS state, value ->> 3 AS result,
                          value ->> 4 AS error, value ->> 5 AS next_at, value ->> 6 AS ext
                   FROM json_each(?1)) AS j
             WHERE tasks.id = j.id AND +tasks.lease_owner = ?3 AND +tasks.state = 'running'
             RETURNING id, job_id, state",
        )
        .bind(&rows)
        .bind(now)
        .bind(owner)
        .fetch_all(&mut *tx)
        .await?;
        for (id, job_id, state) in &updated {
            let state = TaskState::parse(state).ok_or_else(|| StoreError::Corrupt {
                column: "tasks.state",
                reason: format!("unknown value {state:?}"),
            })?;
            ended.insert(*id);
            moves
                .entry(job_id.clone())
                .or_default()
                .shift(TaskState::Running, state, 1);
        }
        // The ended tasks' open attempts (only of the ends that applied).
        let applied: Vec<&Value> = ends
            .iter()
            .filter(|(id, _)| ended.contains(id))
            .map(|(_, (_, row))| row)
            .collect();
        if !applied.is_empty() {
            sqlx::query(
                "UPDATE task_attempts SET ended_at = ?2, outcome = j.outcome, error = j.error
                 FROM (SELECT value ->> 0 AS id, value ->> 2 AS outcome, value ->> 4 AS error
                       FROM json_each(?1)) AS j
                 WHERE task_attempts.task_id = j.id AND task_attempts.ended_at IS NULL",
            )
            .bind(to_json(&json!(applied)))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            task_events(&mut tx, &id_list(ended.iter().copied()), now).await?;
        }
    }
    let jobs = move_jobs(&mut tx, moves, now).await?;
    job_events(&mut tx, &jobs, now).await?;
    tx.commit().await?;
    let applied = writes
        .iter()
        .enumerate()
        .map(|(i, write)| match write {
            TaskWrite::Progress { task_id, .. } => progressed.contains(task_id),
            TaskWrite::End { task_id, .. } => {
                ended.contains(task_id) && ends.get(task_id).is_some_and(|(first, _)| *first == i)
            }
        })
        .collect();
    Ok(RecordedTasks { applied, jobs })
}

pub(super) async fn release_tasks(
    store: &SqliteStore,
    owner: &str,
    task_ids: &[i64],
) -> Result<(), StoreError> {
    if task_ids.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let ids = id_list(task_ids.iter().copied());
    let mut tx = store.write_tx().await?;
    let released: Vec<(i64, String)> = sqlx::query_as(
        "UPDATE tasks SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                          attempts = attempts - 1, updated_at = ?1
         WHERE id IN (SELECT value FROM json_each(?2)) AND +lease_owner = ?3
           AND +state = 'running' AND attempts > 0
         RETURNING id, job_id",
    )
    .bind(now)
    .bind(&ids)
    .bind(owner)
    .fetch_all(&mut *tx)
    .await?;
    let released_ids = id_list(released.iter().map(|(id, _)| *id));
    // The attempt the claim opened; the claim closed any earlier open one.
    sqlx::query(
        "DELETE FROM task_attempts
         WHERE task_id IN (SELECT value FROM json_each(?1)) AND ended_at IS NULL",
    )
    .bind(&released_ids)
    .execute(&mut *tx)
    .await?;
    let mut moves: BTreeMap<String, Moves> = BTreeMap::new();
    for (_, job_id) in &released {
        moves
            .entry(job_id.clone())
            .or_default()
            .shift(TaskState::Running, TaskState::Queued, 1);
    }
    let jobs = move_jobs(&mut tx, moves, now).await?;
    task_events(&mut tx, &released_ids, now).await?;
    job_events(&mut tx, &jobs, now).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
#[path = "task_batch_tests.rs"]
mod tests;
