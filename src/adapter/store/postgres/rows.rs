//! Row-to-value conversions for jobs, tasks and attempts in PostgreSQL, shared by the job and
//! task modules. Every column is checked: a bad value is a `Corrupt` error, never a panic.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;

use crate::adapter::store::StoreError;
use crate::adapter::store::columns::{col, col_enum, col_u32};
use crate::adapter::store::jobs::{
    Attempt, AttemptOutcome, Job, JobState, Progress, Task, TaskState, TicketRef,
};

pub(super) fn job_from_row(row: &PgRow) -> Result<Job, StoreError> {
    let params: Json<serde_json::Value> = col(row, "params")?;
    let instance: Option<String> = col(row, "ticket_instance")?;
    let number: Option<String> = col(row, "ticket_number")?;
    Ok(Job {
        id: col::<Uuid, _>(row, "id")?,
        action: col(row, "action")?,
        requested_by: col(row, "requested_by")?,
        ticket: instance
            .zip(number)
            .map(|(instance, number)| TicketRef { instance, number }),
        params: params.0,
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
        cancel_requested_at: col::<Option<DateTime<Utc>>, _>(row, "cancel_requested_at")?,
        created_at: col::<DateTime<Utc>, _>(row, "created_at")?,
        updated_at: col::<DateTime<Utc>, _>(row, "updated_at")?,
    })
}

pub(super) fn task_from_row(row: &PgRow) -> Result<Task, StoreError> {
    let percent = col_u32(row, "percent")?;
    Ok(Task {
        id: col(row, "id")?,
        job_id: col::<Uuid, _>(row, "job_id")?,
        site: col(row, "site")?,
        target_id: col(row, "target_id")?,
        display_name: col(row, "display_name")?,
        state: col_enum(row, "state", TaskState::parse)?,
        attempts: col_u32(row, "attempts")?,
        next_attempt_at: col::<DateTime<Utc>, _>(row, "next_attempt_at")?,
        lease_owner: col(row, "lease_owner")?,
        lease_expires_at: col::<Option<DateTime<Utc>>, _>(row, "lease_expires_at")?,
        percent: u8::try_from(percent.min(100)).unwrap_or(100),
        result: col(row, "result")?,
        error: col(row, "error")?,
        external_job_id: col(row, "external_job_id")?,
        created_at: col::<DateTime<Utc>, _>(row, "created_at")?,
        updated_at: col::<DateTime<Utc>, _>(row, "updated_at")?,
    })
}

pub(super) fn attempt_from_row(row: &PgRow) -> Result<Attempt, StoreError> {
    let outcome: Option<String> = col(row, "outcome")?;
    Ok(Attempt {
        task_id: col(row, "task_id")?,
        number: col_u32(row, "number")?,
        owner: col(row, "owner")?,
        started_at: col::<DateTime<Utc>, _>(row, "started_at")?,
        ended_at: col::<Option<DateTime<Utc>>, _>(row, "ended_at")?,
        outcome: match outcome {
            None => None,
            Some(s) => Some(
                AttemptOutcome::parse(&s).ok_or_else(|| StoreError::Corrupt {
                    column: "task_attempts.outcome",
                    reason: format!("unknown value {s:?}"),
                })?,
            ),
        },
        error: col(row, "error")?,
    })
}
