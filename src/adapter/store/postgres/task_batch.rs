//! The engine's task writes in PostgreSQL, many tasks per transaction: claims that start their
//! attempts, lease renewal of all of a worker's tasks in one statement, and group-committed
//! progress and outcomes. Each batch is a handful of statements whatever its size: ids and
//! values travel as arrays (`= ANY($1)`, `unnest(…)`), one statement per kind of change.
//!
//! Every change keeps the lease-owner guard of the one-task operations ([`super::tasks`]): a
//! write of a task whose lease was taken over changes nothing and is reported as not applied.
//! Events are appended last ([`append_events`] takes the lock that orders them across
//! replicas), built from the rows each statement returned, so each one shows its task as
//! that change left it.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::Value;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::events::append_events;
use super::rows::task_from_row;
use super::tasks::{INTERRUPTED, Moves, claim_moves, move_jobs};
use super::{PgStore, millis};
use crate::adapter::store::StoreError;
use crate::adapter::store::events::{EventKind, job_payload, task_payload};
use crate::adapter::store::jobs::{
    ClaimedTask, Job, RecordedTasks, Task, TaskEnd, TaskState, TaskWrite,
};

/// A `task` event per task, in id order, then a `job` event per job: appended together as the
/// transaction's last statement.
async fn append_task_and_job_events(
    conn: &mut PgConnection,
    tasks: &[&Task],
    jobs: &[Job],
) -> Result<(), StoreError> {
    let mut tasks = tasks.to_vec();
    tasks.sort_by_key(|t| t.id);
    let events: Vec<(EventKind, String, Value)> = tasks
        .iter()
        .map(|t| (EventKind::Task, t.id.to_string(), task_payload(t)))
        .chain(
            jobs.iter()
                .map(|j| (EventKind::Job, j.id.to_string(), job_payload(j))),
        )
        .collect();
    append_events(conn, &events).await
}

fn tasks_from_rows(rows: &[PgRow]) -> Result<Vec<Task>, StoreError> {
    rows.iter().map(task_from_row).collect()
}

pub(super) async fn claim_attempts(
    store: &PgStore,
    site: &str,
    owner: &str,
    limit: u32,
    lease: Duration,
) -> Result<Vec<ClaimedTask>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut tx = store.pool().begin().await?;
    // Tasks of a dead worker first, then queued ones. SKIP LOCKED: rows another replica is
    // claiming right now are passed over, not waited for; a row changed since this
    // statement's snapshot is checked again on its latest version once locked, so a task just
    // claimed elsewhere is never taken twice. The locks hold to the commit.
    let mut due: Vec<(i64, String, Uuid)> = sqlx::query_as(
        "SELECT id, state, job_id FROM tasks
         WHERE state = 'running' AND lease_expires_at < now() AND site = $1
         ORDER BY lease_expires_at, id
         LIMIT $2
         FOR UPDATE SKIP LOCKED",
    )
    .bind(site)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    let left = limit.saturating_sub(u32::try_from(due.len()).unwrap_or(limit));
    if left > 0 {
        let queued: Vec<(i64, String, Uuid)> = sqlx::query_as(
            "SELECT id, state, job_id FROM tasks
             WHERE site = $1 AND state = 'queued' AND next_attempt_at <= now()
             ORDER BY next_attempt_at, id
             LIMIT $2
             FOR UPDATE SKIP LOCKED",
        )
        .bind(site)
        .bind(i64::from(left))
        .fetch_all(&mut *tx)
        .await?;
        due.extend(queued);
    }
    if due.is_empty() {
        tx.rollback().await?;
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = due.iter().map(|(id, _, _)| *id).collect();
    // An attempt still open belongs to a worker that died mid-attempt, maybe after acting:
    // closed here so the history shows it, and reported so the new attempt checks first.
    let interrupted: HashSet<i64> = sqlx::query_scalar(
        "UPDATE task_attempts SET ended_at = now(), outcome = 'failed', error = $1
         WHERE task_id = ANY($2) AND ended_at IS NULL
         RETURNING task_id",
    )
    .bind(INTERRUPTED)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let rows = sqlx::query(
        "UPDATE tasks SET state = 'running', lease_owner = $1,
                          lease_expires_at = now() + $2 * interval '1 millisecond',
                          attempts = attempts + 1, updated_at = now()
         WHERE id = ANY($3)
         RETURNING *",
    )
    .bind(owner)
    .bind(millis(lease))
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO task_attempts (task_id, number, owner, started_at)
         SELECT id, attempts, $1, now() FROM tasks WHERE id = ANY($2)",
    )
    .bind(owner)
    .bind(&ids)
    .execute(&mut *tx)
    .await?;
    let mut tasks = tasks_from_rows(&rows)?;
    tasks.sort_by_key(|t| t.id);
    let jobs = move_jobs(&mut tx, claim_moves(&due)).await?;
    append_task_and_job_events(&mut tx, &tasks.iter().collect::<Vec<_>>(), &jobs).await?;
    tx.commit().await?;
    Ok(tasks
        .into_iter()
        .map(|task| ClaimedTask {
            interrupted: interrupted.contains(&task.id),
            task,
        })
        .collect())
}

/// Locks the rows of `task_ids` in id order before a transaction changes them in several
/// statements. The lease renewal takes its rows in the same order, so the two cannot deadlock
/// (each statement alone would lock in whatever order its plan visits the rows; PostgreSQL
/// then aborts one of them after a second, and an aborted renewal lets leases lapse).
async fn lock_in_id_order(tx: &mut PgConnection, task_ids: &[i64]) -> Result<(), StoreError> {
    if task_ids.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT id FROM tasks WHERE id = ANY($1) ORDER BY id FOR UPDATE")
        .bind(task_ids)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

pub(super) async fn renew_leases(
    store: &PgStore,
    owner: &str,
    task_ids: &[i64],
    lease: Duration,
) -> Result<Vec<i64>, StoreError> {
    if task_ids.is_empty() {
        return Ok(Vec::new());
    }
    // `updated_at` stays: a renewal changes nothing anyone reads.
    let held: HashSet<i64> = sqlx::query_scalar(
        "WITH held AS (SELECT id FROM tasks
                       WHERE id = ANY($2) AND lease_owner = $3 AND state = 'running'
                       ORDER BY id FOR UPDATE)
         UPDATE tasks SET lease_expires_at = now() + $1 * interval '1 millisecond'
         FROM held WHERE tasks.id = held.id
         RETURNING tasks.id",
    )
    .bind(millis(lease))
    .bind(task_ids)
    .bind(owner)
    .fetch_all(store.pool())
    .await?
    .into_iter()
    .collect();
    // In the order asked, each once.
    let mut seen = HashSet::new();
    Ok(task_ids
        .iter()
        .copied()
        .filter(|id| held.contains(id) && seen.insert(*id))
        .collect())
}

/// An attempt's end as the batch statements take it.
struct EndRow<'a> {
    /// Index of the write, to report which one applied.
    index: usize,
    state: TaskState,
    outcome: &'static str,
    result: Option<&'a str>,
    error: Option<&'a str>,
    retry_after: Option<i64>,
    external_job_id: Option<&'a str>,
}

fn end_row<'a>(index: usize, end: &'a TaskEnd, external_job_id: Option<&'a str>) -> EndRow<'a> {
    let (state, outcome, result, error, retry_after) = match end {
        TaskEnd::Succeeded { result } => {
            (TaskState::Succeeded, "succeeded", Some(result), None, None)
        }
        TaskEnd::Failed { error } => (TaskState::Failed, "failed", None, Some(error), None),
        TaskEnd::Cancelled { note } => (TaskState::Cancelled, "cancelled", None, Some(note), None),
        TaskEnd::Retry { error, delay } => (
            TaskState::Queued,
            "failed",
            None,
            Some(error),
            Some(millis(*delay)),
        ),
    };
    EndRow {
        index,
        state,
        outcome,
        result: result.map(String::as_str),
        error: error.map(String::as_str),
        retry_after,
        external_job_id,
    }
}

pub(super) async fn record_tasks(
    store: &PgStore,
    owner: &str,
    writes: &[TaskWrite],
) -> Result<RecordedTasks, StoreError> {
    if writes.is_empty() {
        return Ok(RecordedTasks::default());
    }
    // Progress of one task merges into one row (the last percent, the last job id known);
    // a task ends at most once (its first end releases the lease, so a second cannot apply).
    let mut progress: BTreeMap<i64, (u8, Option<&str>)> = BTreeMap::new();
    let mut ends: BTreeMap<i64, EndRow<'_>> = BTreeMap::new();
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
                ends.entry(*task_id)
                    .or_insert_with(|| end_row(i, end, external_job_id.as_deref()));
            }
        }
    }
    let mut tx = store.pool().begin().await?;
    let batch: Vec<i64> = progress.keys().chain(ends.keys()).copied().collect();
    lock_in_id_order(&mut tx, &batch).await?;
    let mut progressed: Vec<Task> = Vec::new();
    if !progress.is_empty() {
        let ids: Vec<i64> = progress.keys().copied().collect();
        let percents: Vec<i64> = progress.values().map(|(p, _)| i64::from(*p)).collect();
        let exts: Vec<Option<&str>> = progress.values().map(|(_, e)| *e).collect();
        let rows = sqlx::query(
            "UPDATE tasks SET percent = j.percent,
                              external_job_id = coalesce(j.ext, tasks.external_job_id),
                              updated_at = now()
             FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS j(id, percent, ext)
             WHERE tasks.id = j.id AND tasks.lease_owner = $4 AND tasks.state = 'running'
             RETURNING tasks.*",
        )
        .bind(&ids)
        .bind(&percents)
        .bind(&exts)
        .bind(owner)
        .fetch_all(&mut *tx)
        .await?;
        // Kept as they are now, so a task's progress event shows it before its end below.
        progressed = tasks_from_rows(&rows)?;
    }
    let mut ended: Vec<Task> = Vec::new();
    let mut moves: BTreeMap<Uuid, Moves> = BTreeMap::new();
    if !ends.is_empty() {
        let ids: Vec<i64> = ends.keys().copied().collect();
        let states: Vec<&str> = ends.values().map(|e| e.state.as_str()).collect();
        let results: Vec<Option<&str>> = ends.values().map(|e| e.result).collect();
        let errors: Vec<Option<&str>> = ends.values().map(|e| e.error).collect();
        let delays: Vec<Option<i64>> = ends.values().map(|e| e.retry_after).collect();
        let exts: Vec<Option<&str>> = ends.values().map(|e| e.external_job_id).collect();
        let rows = sqlx::query(
            "UPDATE tasks SET state = j.state, result = j.result, error = j.error,
                              percent = CASE WHEN j.state = 'succeeded' THEN 100
                                             ELSE tasks.percent END,
                              next_attempt_at = CASE WHEN j.delay IS NULL
                                  THEN tasks.next_attempt_at
                                  ELSE now() + j.delay * interval '1 millisecond' END,
                              external_job_id = coalesce(j.ext, tasks.external_job_id),
                              lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                         $6::text[]) AS j(id, state, result, error, delay, ext)
             WHERE tasks.id = j.id AND tasks.lease_owner = $7 AND tasks.state = 'running'
             RETURNING tasks.*",
        )
        .bind(&ids)
        .bind(&states)
        .bind(&results)
        .bind(&errors)
        .bind(&delays)
        .bind(&exts)
        .bind(owner)
        .fetch_all(&mut *tx)
        .await?;
        ended = tasks_from_rows(&rows)?;
        for task in &ended {
            moves
                .entry(task.job_id)
                .or_default()
                .shift(TaskState::Running, task.state, 1);
        }
        // The ended tasks' open attempts (only of the ends that applied).
        let applied: Vec<(i64, &EndRow<'_>)> = ended
            .iter()
            .filter_map(|t| ends.get(&t.id).map(|e| (t.id, e)))
            .collect();
        if !applied.is_empty() {
            let ids: Vec<i64> = applied.iter().map(|(id, _)| *id).collect();
            let outcomes: Vec<&str> = applied.iter().map(|(_, e)| e.outcome).collect();
            let errors: Vec<Option<&str>> = applied.iter().map(|(_, e)| e.error).collect();
            sqlx::query(
                "UPDATE task_attempts SET ended_at = now(), outcome = j.outcome, error = j.error
                 FROM unnest($1::bigint[], $2::text[], $3::text[]) AS j(id, outcome, error)
                 WHERE task_attempts.task_id = j.id AND task_attempts.ended_at IS NULL",
            )
            .bind(&ids)
            .bind(&outcomes)
            .bind(&errors)
            .execute(&mut *tx)
            .await?;
        }
    }
    let jobs = move_jobs(&mut tx, moves).await?;
    // Progress events first, then the ends', each group in id order, as SQLite writes them.
    let mut progressed_sorted: Vec<&Task> = progressed.iter().collect();
    progressed_sorted.sort_by_key(|t| t.id);
    let mut ended_sorted: Vec<&Task> = ended.iter().collect();
    ended_sorted.sort_by_key(|t| t.id);
    let events: Vec<(EventKind, String, Value)> = progressed_sorted
        .into_iter()
        .chain(ended_sorted)
        .map(|t| (EventKind::Task, t.id.to_string(), task_payload(t)))
        .chain(
            jobs.iter()
                .map(|j| (EventKind::Job, j.id.to_string(), job_payload(j))),
        )
        .collect();
    append_events(&mut tx, &events).await?;
    tx.commit().await?;
    let progressed: HashSet<i64> = progressed.iter().map(|t| t.id).collect();
    let ended: HashSet<i64> = ended.iter().map(|t| t.id).collect();
    let applied = writes
        .iter()
        .enumerate()
        .map(|(i, write)| match write {
            TaskWrite::Progress { task_id, .. } => progressed.contains(task_id),
            TaskWrite::End { task_id, .. } => {
                ended.contains(task_id) && ends.get(task_id).is_some_and(|e| e.index == i)
            }
        })
        .collect();
    Ok(RecordedTasks { applied, jobs })
}

pub(super) async fn release_tasks(
    store: &PgStore,
    owner: &str,
    task_ids: &[i64],
) -> Result<(), StoreError> {
    if task_ids.is_empty() {
        return Ok(());
    }
    let mut tx = store.pool().begin().await?;
    lock_in_id_order(&mut tx, task_ids).await?;
    let rows = sqlx::query(
        "UPDATE tasks SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                          attempts = attempts - 1, updated_at = now()
         WHERE id = ANY($1) AND lease_owner = $2 AND state = 'running' AND attempts > 0
         RETURNING *",
    )
    .bind(task_ids)
    .bind(owner)
    .fetch_all(&mut *tx)
    .await?;
    let released = tasks_from_rows(&rows)?;
    if released.is_empty() {
        tx.rollback().await?;
        return Ok(());
    }
    let released_ids: Vec<i64> = released.iter().map(|t| t.id).collect();
    // The attempt the claim opened; the claim closed any earlier open one.
    sqlx::query("DELETE FROM task_attempts WHERE task_id = ANY($1) AND ended_at IS NULL")
        .bind(&released_ids)
        .execute(&mut *tx)
        .await?;
    let mut moves: BTreeMap<Uuid, Moves> = BTreeMap::new();
    for task in &released {
        moves
            .entry(task.job_id)
            .or_default()
            .shift(TaskState::Running, TaskState::Queued, 1);
    }
    let jobs = move_jobs(&mut tx, moves).await?;
    append_task_and_job_events(&mut tx, &released.iter().collect::<Vec<_>>(), &jobs).await?;
    tx.commit().await?;
    Ok(())
}
