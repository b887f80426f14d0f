//! Jobs in SQLite: idempotent creation with their tasks, reads, cancel and retry, and the
//! job-state recomputation every task change runs in its own transaction.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::{Sqlite, SqliteConnection, Transaction};
use uuid::Uuid;

use super::rows::{attempt_from_row, job_from_row, task_from_row};
use super::{SqliteStore, col_u32, now_ms, to_json};
use super::{task_batch, tasks};
use crate::adapter::store::StoreError;
use crate::adapter::store::jobs::{
    Attempt, ClaimedTask, CreatedJob, Job, JobDetail, JobPage, JobQuery, JobState, JobStore,
    NewJob, Progress, RecordedTasks, Task, TaskTransition, TaskWrite,
};
use crate::adapter::store::page_limit;

/// Recomputes a job's state and progress from its tasks; run inside the transaction that
/// changed the tasks so readers never see the two disagree.
pub(super) async fn recompute_job(
    conn: &mut SqliteConnection,
    job_id: &str,
    now: i64,
) -> Result<Job, StoreError> {
    let row = sqlx::query(
        "SELECT count(*) AS total,
                coalesce(sum(state = 'queued'), 0) AS queued,
                coalesce(sum(state = 'running'), 0) AS running,
                coalesce(sum(state = 'succeeded'), 0) AS succeeded,
                coalesce(sum(state = 'failed'), 0) AS failed,
                coalesce(sum(state = 'cancelled'), 0) AS cancelled,
                coalesce(sum(attempts > 0 OR state IN ('running', 'succeeded', 'failed')), 0)
                    AS started
         FROM tasks WHERE job_id = ?",
    )
    .bind(job_id)
    .fetch_one(&mut *conn)
    .await?;
    let progress = Progress {
        total: col_u32(&row, "total")?,
        queued: col_u32(&row, "queued")?,
        running: col_u32(&row, "running")?,
        succeeded: col_u32(&row, "succeeded")?,
        failed: col_u32(&row, "failed")?,
        cancelled: col_u32(&row, "cancelled")?,
    };
    let started = col_u32(&row, "started")? > 0;
    let state = progress.job_state(started);
    let row = sqlx::query(
        "UPDATE jobs SET state = ?, total = ?, queued = ?, running = ?, succeeded = ?,
                         failed = ?, cancelled = ?, updated_at = ?
         WHERE id = ? RETURNING *",
    )
    .bind(state.as_str())
    .bind(progress.total)
    .bind(progress.queued)
    .bind(progress.running)
    .bind(progress.succeeded)
    .bind(progress.failed)
    .bind(progress.cancelled)
    .bind(now)
    .bind(job_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: "job",
        id: job_id.to_owned(),
    })?;
    job_from_row(&row)
}

async fn load_job(conn: &mut SqliteConnection, id: &str) -> Result<Option<Job>, StoreError> {
    sqlx::query("SELECT * FROM jobs WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(job_from_row)
        .transpose()
}

async fn load_detail(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<JobDetail>, StoreError> {
    let Some(job) = load_job(conn, id).await? else {
        return Ok(None);
    };
    let tasks = sqlx::query("SELECT * FROM tasks WHERE job_id = ? ORDER BY id")
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(task_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(JobDetail { job, tasks }))
}

fn validate(job: &NewJob) -> Result<(), StoreError> {
    if job.action.trim().is_empty() {
        return Err(StoreError::Invalid("a job needs an action".to_owned()));
    }
    if job.tasks.is_empty() {
        return Err(StoreError::Invalid(
            "a job needs at least one target".to_owned(),
        ));
    }
    if job.idempotency_key.as_deref() == Some("") {
        return Err(StoreError::Invalid(
            "an idempotency key must not be empty".to_owned(),
        ));
    }
    let mut seen = HashSet::new();
    for t in &job.tasks {
        if !seen.insert((t.site.as_str(), t.target_id.as_str())) {
            return Err(StoreError::Invalid(format!(
                "target {} on site {} is listed twice",
                t.target_id, t.site
            )));
        }
    }
    Ok(())
}

/// Cancel and retry share this shape: mark the job, change some of its tasks, recompute,
/// return the detail. Both statements take `?1` = now and `?2` = job id.
async fn update_tasks_of_job(
    mut tx: Transaction<'static, Sqlite>,
    id: Uuid,
    job_sql: &'static str,
    tasks_sql: &'static str,
    now: i64,
) -> Result<JobDetail, StoreError> {
    let id = id.to_string();
    let found = sqlx::query(job_sql)
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if found == 0 {
        return Err(StoreError::NotFound { what: "job", id });
    }
    sqlx::query(tasks_sql)
        .bind(now)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    recompute_job(&mut tx, &id, now).await?;
    let detail = load_detail(&mut tx, &id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "job",
            id: id.clone(),
        })?;
    tx.commit().await?;
    Ok(detail)
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(&self, job: NewJob) -> Result<CreatedJob, StoreError> {
        validate(&job)?;
        let now = now_ms();
        let id = Uuid::new_v4().to_string();
        let (instance, number) = match &job.ticket {
            Some(t) => (Some(t.instance.as_str()), Some(t.number.as_str())),
            None => (None, None),
        };
        let total = u32::try_from(job.tasks.len())
            .map_err(|_| StoreError::Invalid("too many targets".to_owned()))?;
        let mut tx = self.write_tx().await?;
        // DO NOTHING on any unique conflict (idempotency key, or ticket+action): the write
        // lock is held, so the existing row found below is the one that won.
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, action, requested_by, ticket_instance, ticket_number, params,
                               idempotency_key, state, total, queued, running, succeeded,
                               failed, cancelled, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, 0, 0, 0, 0, ?, ?)
             ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(&job.action)
        .bind(&job.requested_by)
        .bind(instance)
        .bind(number)
        .bind(to_json(&job.params))
        .bind(job.idempotency_key.as_deref())
        .bind(total)
        .bind(total)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            let existing: String = sqlx::query_scalar(
                "SELECT id FROM jobs
                 WHERE idempotency_key = ?1
                    OR (ticket_instance = ?2 AND ticket_number = ?3 AND action = ?4)
                 ORDER BY (idempotency_key IS ?1) DESC
                 LIMIT 1",
            )
            .bind(job.idempotency_key.as_deref())
            .bind(instance)
            .bind(number)
            .bind(&job.action)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Invalid("job id collision; try again".to_owned()))?;
            let detail =
                load_detail(&mut tx, &existing)
                    .await?
                    .ok_or_else(|| StoreError::NotFound {
                        what: "job",
                        id: existing.clone(),
                    })?;
            tx.commit().await?;
            return Ok(CreatedJob {
                detail,
                created: false,
            });
        }
        // One statement for all the tasks (a bulk job has thousands): their ids follow the
        // order given.
        let rows: Vec<serde_json::Value> = job
            .tasks
            .iter()
            .map(|t| serde_json::json!([t.site, t.target_id, t.display_name]))
            .collect();
        let task_ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO tasks (job_id, site, target_id, display_name, state, attempts,
                                next_attempt_at, percent, created_at, updated_at)
             SELECT ?1, value ->> 0, value ->> 1, value ->> 2, 'queued', 0, ?2, 0, ?2, ?2
             FROM json_each(?3) ORDER BY key
             RETURNING id",
        )
        .bind(&id)
        .bind(now)
        .bind(to_json(&serde_json::Value::Array(rows)))
        .fetch_all(&mut *tx)
        .await?;
        let created = load_job(&mut tx, &id)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "job",
                id: id.clone(),
            })?;
        let detail = JobDetail::created(created, job.tasks, task_ids)?;
        tx.commit().await?;
        Ok(CreatedJob {
            detail,
            created: true,
        })
    }

    async fn get_job(&self, id: Uuid) -> Result<Option<JobDetail>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        load_detail(&mut conn, &id.to_string()).await
    }

    async fn list_jobs(&self, query: JobQuery) -> Result<JobPage, StoreError> {
        let limit = page_limit(query.limit);
        // The cursor is "<created_at ms>:<id>" of the last job of the previous page.
        let cursor = match query.cursor.as_deref() {
            None => None,
            Some(c) => {
                let bad = || StoreError::Invalid(format!("malformed job cursor {c:?}"));
                let (ms, id) = c.split_once(':').ok_or_else(bad)?;
                Some((ms.parse::<i64>().map_err(|_| bad())?, id.to_owned()))
            }
        };
        let (instance, number) = match &query.ticket {
            Some(t) => (Some(t.instance.as_str()), Some(t.number.as_str())),
            None => (None, None),
        };
        let rows = sqlx::query(
            "SELECT * FROM jobs
             WHERE (?1 IS NULL OR state = ?1)
               AND (?2 IS NULL OR requested_by = ?2)
               AND (?3 IS NULL OR (ticket_instance = ?3 AND ticket_number = ?4))
               AND (?5 IS NULL OR created_at < ?5 OR (created_at = ?5 AND id < ?6))
             ORDER BY created_at DESC, id DESC
             LIMIT ?7",
        )
        .bind(query.state.map(JobState::as_str))
        .bind(query.requested_by)
        .bind(instance)
        .bind(number)
        .bind(cursor.as_ref().map(|c| c.0))
        .bind(cursor.map(|c| c.1))
        .bind(limit + 1)
        .fetch_all(self.pool())
        .await?;
        let mut items = rows
            .iter()
            .map(job_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let more = items.len() as i64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = if more {
            items
                .last()
                .map(|j| format!("{}:{}", j.created_at.timestamp_millis(), j.id))
        } else {
            None
        };
        Ok(JobPage { items, next_cursor })
    }

    async fn list_attempts(&self, task_id: i64) -> Result<Vec<Attempt>, StoreError> {
        sqlx::query("SELECT * FROM task_attempts WHERE task_id = ? ORDER BY number")
            .bind(task_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(attempt_from_row)
            .collect()
    }

    async fn list_job_attempts(&self, job_id: Uuid) -> Result<Vec<Attempt>, StoreError> {
        sqlx::query(
            "SELECT a.* FROM task_attempts a JOIN tasks t ON t.id = a.task_id
             WHERE t.job_id = ? ORDER BY a.task_id, a.number",
        )
        .bind(job_id.to_string())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(attempt_from_row)
        .collect()
    }

    async fn cancel_job(&self, id: Uuid) -> Result<JobDetail, StoreError> {
        let tx = self.write_tx().await?;
        update_tasks_of_job(
            tx,
            id,
            "UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, ?1)
             WHERE id = ?2",
            "UPDATE tasks SET state = 'cancelled', updated_at = ?1
             WHERE job_id = ?2 AND state = 'queued'",
            now_ms(),
        )
        .await
    }

    async fn retry_job(&self, id: Uuid) -> Result<JobDetail, StoreError> {
        let tx = self.write_tx().await?;
        // The site job id of the failed attempt is cleared: the retry starts a new one. A
        // retry is a new request, so it also withdraws an earlier cancel.
        update_tasks_of_job(
            tx,
            id,
            "UPDATE jobs SET cancel_requested_at = NULL, updated_at = ?1 WHERE id = ?2",
            "UPDATE tasks SET state = 'queued', next_attempt_at = ?1, updated_at = ?1,
                              error = NULL, result = NULL, percent = 0, external_job_id = NULL,
                              lease_owner = NULL, lease_expires_at = NULL
             WHERE job_id = ?2 AND state = 'failed'",
            now_ms(),
        )
        .await
    }

    async fn claim_tasks(
        &self,
        site: &str,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Task>, StoreError> {
        tasks::claim_tasks(self, site, owner, limit, lease).await
    }

    async fn renew_lease(
        &self,
        task_id: i64,
        owner: &str,
        lease: Duration,
    ) -> Result<Task, StoreError> {
        tasks::renew_lease(self, task_id, owner, lease).await
    }

    async fn start_attempt(&self, task_id: i64, owner: &str) -> Result<Attempt, StoreError> {
        tasks::start_attempt(self, task_id, owner).await
    }

    async fn update_task_progress(
        &self,
        task_id: i64,
        owner: &str,
        percent: u8,
        external_job_id: Option<&str>,
    ) -> Result<Task, StoreError> {
        tasks::update_task_progress(self, task_id, owner, percent, external_job_id).await
    }

    async fn complete_task(
        &self,
        task_id: i64,
        owner: &str,
        result: Option<&str>,
    ) -> Result<TaskTransition, StoreError> {
        tasks::complete_task(self, task_id, owner, result).await
    }

    async fn fail_task(
        &self,
        task_id: i64,
        owner: &str,
        error: &str,
    ) -> Result<TaskTransition, StoreError> {
        tasks::fail_task(self, task_id, owner, error).await
    }

    async fn cancel_task(
        &self,
        task_id: i64,
        owner: &str,
        note: &str,
    ) -> Result<TaskTransition, StoreError> {
        tasks::cancel_task(self, task_id, owner, note).await
    }

    async fn reschedule_task(
        &self,
        task_id: i64,
        owner: &str,
        error: &str,
        delay: Duration,
    ) -> Result<TaskTransition, StoreError> {
        tasks::reschedule_task(self, task_id, owner, error, delay).await
    }

    async fn job(&self, id: Uuid) -> Result<Option<Job>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        load_job(&mut conn, &id.to_string()).await
    }

    async fn claim_attempts(
        &self,
        site: &str,
        owner: &str,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<ClaimedTask>, StoreError> {
        task_batch::claim_attempts(self, site, owner, limit, lease).await
    }

    async fn renew_leases(
        &self,
        owner: &str,
        task_ids: &[i64],
        lease: Duration,
    ) -> Result<Vec<i64>, StoreError> {
        task_batch::renew_leases(self, owner, task_ids, lease).await
    }

    async fn record_tasks(
        &self,
        owner: &str,
        writes: &[TaskWrite],
    ) -> Result<RecordedTasks, StoreError> {
        task_batch::record_tasks(self, owner, writes).await
    }

    async fn release_tasks(&self, owner: &str, task_ids: &[i64]) -> Result<(), StoreError> {
        task_batch::release_tasks(self, owner, task_ids).await
    }

    async fn expired_leases(&self, limit: u32) -> Result<Vec<Task>, StoreError> {
        tasks::expired_leases(self, limit).await
    }

    async fn sites_with_due_tasks(&self) -> Result<Vec<String>, StoreError> {
        tasks::sites_with_due_tasks(self).await
    }

    async fn count_jobs_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, count(*) FROM jobs GROUP BY state")
                .fetch_all(self.pool())
                .await?;
        let mut counts: Vec<(JobState, u64)> = JobState::ALL.iter().map(|&s| (s, 0)).collect();
        for (state, n) in rows {
            // The table's CHECK constraint allows only known states; a newer version's state
            // would be left out rather than fail the whole scrape.
            if let Some(slot) = counts.iter_mut().find(|(s, _)| s.as_str() == state) {
                slot.1 = u64::try_from(n).unwrap_or(0);
            }
        }
        Ok(counts)
    }
}
