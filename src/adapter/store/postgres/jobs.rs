//! Jobs in PostgreSQL: idempotent creation with their tasks, reads, cancel and retry, and the
//! job-state recomputation every task change runs in its own transaction.
//!
//! Several replicas write the same jobs at once under READ COMMITTED. Two rules keep that
//! safe: counters only move by increments on the locked job row ([`super::tasks`]) or are
//! recounted with the job row locked ([`recompute_job`]); and every transaction locks task
//! rows before job rows (job rows in id order), so two writers never wait on each other in
//! a cycle.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use super::rows::{attempt_from_row, job_from_row, task_from_row};
use super::{PgStore, task_batch, tasks};
use crate::adapter::store::columns::col_u32;
use crate::adapter::store::jobs::{
    Attempt, ClaimedTask, CreatedJob, Job, JobDetail, JobPage, JobQuery, JobState, JobStore,
    NewJob, Progress, RecordedTasks, Task, TaskTransition, TaskWrite,
};
use crate::adapter::store::{StoreError, page_limit};

fn job_not_found(id: Uuid) -> StoreError {
    StoreError::NotFound {
        what: "job",
        id: id.to_string(),
    }
}

/// Recounts a job's state and progress from its tasks, inside the transaction that changed
/// them. The job row is locked before counting: every other writer moves the counters with
/// that lock held, so the count sees each of their changes either committed (counted here) or
/// not yet applied (their increment lands on top of this count afterwards), never half.
pub(super) async fn recompute_job(
    conn: &mut PgConnection,
    job_id: Uuid,
) -> Result<Job, StoreError> {
    sqlx::query("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE")
        .bind(job_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| job_not_found(job_id))?;
    let row = sqlx::query(
        "SELECT count(*) AS total,
                count(*) FILTER (WHERE state = 'queued') AS queued,
                count(*) FILTER (WHERE state = 'running') AS running,
                count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
                count(*) FILTER (WHERE state = 'failed') AS failed,
                count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
                count(*) FILTER (WHERE attempts > 0
                                    OR state IN ('running', 'succeeded', 'failed')) AS started
         FROM tasks WHERE job_id = $1",
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
        "UPDATE jobs SET state = $1, total = $2, queued = $3, running = $4, succeeded = $5,
                         failed = $6, cancelled = $7, updated_at = now()
         WHERE id = $8 RETURNING *",
    )
    .bind(state.as_str())
    .bind(i64::from(progress.total))
    .bind(i64::from(progress.queued))
    .bind(i64::from(progress.running))
    .bind(i64::from(progress.succeeded))
    .bind(i64::from(progress.failed))
    .bind(i64::from(progress.cancelled))
    .bind(job_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| job_not_found(job_id))?;
    job_from_row(&row)
}

async fn load_job(conn: &mut PgConnection, id: Uuid) -> Result<Option<Job>, StoreError> {
    sqlx::query("SELECT * FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(job_from_row)
        .transpose()
}

async fn load_detail(conn: &mut PgConnection, id: Uuid) -> Result<Option<JobDetail>, StoreError> {
    let Some(job) = load_job(conn, id).await? else {
        return Ok(None);
    };
    let tasks = sqlx::query("SELECT * FROM tasks WHERE job_id = $1 ORDER BY id")
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

/// Cancel and retry share this shape: change some of the job's tasks, mark the job,
/// recompute, return the detail. Both statements take `$1` = job id. The tasks go first, as
/// in every other transaction (task rows, then the job row), so a concurrent claim or batch
/// holding some of these tasks and waiting for the job row cannot deadlock with this.
async fn update_tasks_of_job(
    mut tx: Transaction<'static, Postgres>,
    id: Uuid,
    tasks_sql: &'static str,
    job_sql: &'static str,
) -> Result<JobDetail, StoreError> {
    sqlx::query(tasks_sql).bind(id).execute(&mut *tx).await?;
    let found = sqlx::query(job_sql)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if found == 0 {
        return Err(job_not_found(id));
    }
    recompute_job(&mut tx, id).await?;
    let detail = load_detail(&mut tx, id)
        .await?
        .ok_or_else(|| job_not_found(id))?;
    tx.commit().await?;
    Ok(detail)
}

/// The job list's cursor: the last job's creation time in microseconds (what `timestamptz`
/// holds, so no two distinct times share a cursor) and its id.
fn encode_cursor(job: &Job) -> String {
    format!("{}:{}", job.created_at.timestamp_micros(), job.id)
}

fn decode_cursor(c: &str) -> Result<(DateTime<Utc>, Uuid), StoreError> {
    let bad = || StoreError::Invalid(format!("malformed job cursor {c:?}"));
    let (micros, id) = c.split_once(':').ok_or_else(bad)?;
    let micros = micros.parse::<i64>().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok((at, id))
}

#[async_trait]
impl JobStore for PgStore {
    async fn create_job(&self, job: NewJob) -> Result<CreatedJob, StoreError> {
        validate(&job)?;
        let id = Uuid::new_v4();
        let (instance, number) = match &job.ticket {
            Some(t) => (Some(t.instance.as_str()), Some(t.number.as_str())),
            None => (None, None),
        };
        let total = i64::try_from(job.tasks.len())
            .map_err(|_| StoreError::Invalid("too many targets".to_owned()))?;
        let mut tx = self.pool().begin().await?;
        // DO NOTHING on any unique conflict (idempotency key, or ticket+action). A concurrent
        // insert of the same key makes this one wait for its commit, so when nothing is
        // inserted the winner is committed and the read below (a fresh snapshot under READ
        // COMMITTED) finds it.
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, action, requested_by, ticket_instance, ticket_number, params,
                               idempotency_key, state, total, queued, running, succeeded,
                               failed, cancelled, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8, $8, 0, 0, 0, 0, now(), now())
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(&job.action)
        .bind(&job.requested_by)
        .bind(instance)
        .bind(number)
        .bind(Json(&job.params))
        .bind(job.idempotency_key.as_deref())
        .bind(total)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            let existing: Uuid = sqlx::query_scalar(
                "SELECT id FROM jobs
                 WHERE idempotency_key = $1
                    OR (ticket_instance = $2 AND ticket_number = $3 AND action = $4)
                 ORDER BY (idempotency_key IS NOT DISTINCT FROM $1) DESC
                 LIMIT 1",
            )
            .bind(job.idempotency_key.as_deref())
            .bind(instance)
            .bind(number)
            .bind(&job.action)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::Invalid("job id collision; try again".to_owned()))?;
            let detail = load_detail(&mut tx, existing)
                .await?
                .ok_or_else(|| job_not_found(existing))?;
            tx.commit().await?;
            return Ok(CreatedJob {
                detail,
                created: false,
            });
        }
        // One statement for all the tasks (a bulk job has thousands): their ids follow the
        // order given.
        let sites: Vec<&str> = job.tasks.iter().map(|t| t.site.as_str()).collect();
        let targets: Vec<&str> = job.tasks.iter().map(|t| t.target_id.as_str()).collect();
        let names: Vec<&str> = job.tasks.iter().map(|t| t.display_name.as_str()).collect();
        // now() is the transaction's start, so the tasks' times are the job's.
        let task_ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO tasks (job_id, site, target_id, display_name, state, attempts,
                                next_attempt_at, percent, created_at, updated_at)
             SELECT $1, t.site, t.target_id, t.display_name, 'queued', 0, now(), 0, now(), now()
             FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY
                  AS t(site, target_id, display_name, n)
             ORDER BY t.n
             RETURNING id",
        )
        .bind(id)
        .bind(&sites)
        .bind(&targets)
        .bind(&names)
        .fetch_all(&mut *tx)
        .await?;
        let created = load_job(&mut tx, id)
            .await?
            .ok_or_else(|| job_not_found(id))?;
        let detail = JobDetail::created(created, job.tasks, task_ids)?;
        tx.commit().await?;
        Ok(CreatedJob {
            detail,
            created: true,
        })
    }

    async fn get_job(&self, id: Uuid) -> Result<Option<JobDetail>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        load_detail(&mut conn, id).await
    }

    async fn list_jobs(&self, query: JobQuery) -> Result<JobPage, StoreError> {
        let limit = page_limit(query.limit);
        let cursor = query.cursor.as_deref().map(decode_cursor).transpose()?;
        let (instance, number) = match &query.ticket {
            Some(t) => (Some(t.instance.as_str()), Some(t.number.as_str())),
            None => (None, None),
        };
        let rows = sqlx::query(
            "SELECT * FROM jobs
             WHERE ($1::text IS NULL OR state = $1)
               AND ($2::text IS NULL OR requested_by = $2)
               AND ($3::text IS NULL OR (ticket_instance = $3 AND ticket_number = $4))
               AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6::uuid))
             ORDER BY created_at DESC, id DESC
             LIMIT $7",
        )
        .bind(query.state.map(JobState::as_str))
        .bind(query.requested_by)
        .bind(instance)
        .bind(number)
        .bind(cursor.map(|c| c.0))
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
            items.last().map(encode_cursor)
        } else {
            None
        };
        Ok(JobPage { items, next_cursor })
    }

    async fn list_attempts(&self, task_id: i64) -> Result<Vec<Attempt>, StoreError> {
        sqlx::query("SELECT * FROM task_attempts WHERE task_id = $1 ORDER BY number")
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
             WHERE t.job_id = $1 ORDER BY a.task_id, a.number",
        )
        .bind(job_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(attempt_from_row)
        .collect()
    }

    async fn cancel_job(&self, id: Uuid) -> Result<JobDetail, StoreError> {
        let tx = self.pool().begin().await?;
        update_tasks_of_job(
            tx,
            id,
            "UPDATE tasks SET state = 'cancelled', updated_at = now()
             WHERE job_id = $1 AND state = 'queued'",
            "UPDATE jobs SET cancel_requested_at = coalesce(cancel_requested_at, now())
             WHERE id = $1",
        )
        .await
    }

    async fn retry_job(&self, id: Uuid) -> Result<JobDetail, StoreError> {
        let tx = self.pool().begin().await?;
        // The site job id of the failed attempt is cleared: the retry starts a new one. A
        // retry is a new request, so it also withdraws an earlier cancel.
        update_tasks_of_job(
            tx,
            id,
            "UPDATE tasks SET state = 'queued', next_attempt_at = now(), updated_at = now(),
                              error = NULL, result = NULL, percent = 0, external_job_id = NULL,
                              lease_owner = NULL, lease_expires_at = NULL
             WHERE job_id = $1 AND state = 'failed'",
            "UPDATE jobs SET cancel_requested_at = NULL, updated_at = now() WHERE id = $1",
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
        load_job(&mut conn, id).await
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
