//! Row-to-value conversions for jobs, tasks and attempts, shared by the job and task
//! modules. Every column is checked: a bad value is a `Corrupt` error, never a panic.

use sqlx::sqlite::SqliteRow;

use super::{col, col_enum, col_u32, from_ms, opt_from_ms, parse_json, parse_uuid};
use crate::adapter::store::StoreError;
use crate::adapter::store::jobs::{
    Attempt, AttemptOutcome, Job, JobState, Progress, Task, TaskState, TicketRef,
};

pub(crate) fn job_from_row(row: &SqliteRow) -> Result<Job, StoreError> {
    let id: String = col(row, "id")?;
    let params: String = col(row, "params")?;
    let instance: Option<String> = col(row, "ticket_instance")?;
    let number: Option<String> = col(row, "ticket_number")?;
    Ok(Job {
        id: parse_uuid("jobs.id", &id)?,
        action: col(row, "action")?,
        requested_by: col(row, "requested_by")?,
        ticket: instance
            .zip(number)
            .map(|(instance, number)| TicketRef { instance, number }),
        params: parse_json("jobs.params", &params)?,
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
        cancel_requested_at: opt_from_ms(
            "jobs.cancel_requested_at",
            col(row, "cancel_requested_at")?,
        )?,
        created_at: from_ms("jobs.created_at", col(row, "created_at")?)?,
        updated_at: from_ms("jobs.updated_at", col(row, "updated_at")?)?,
    })
}

pub(crate) fn task_from_row(row: &SqliteRow) -> Result<Task, StoreError> {
    let job_id: String = col(row, "job_id")?;
    let percent = col_u32(row, "percent")?;
    Ok(Task {
        id: col(row, "id")?,
        job_id: parse_uuid("tasks.job_id", &job_id)?,
        site: col(row, "site")?,
        target_id: col(row, "target_id")?,
        display_name: col(row, "display_name")?,
        state: col_enum(row, "state", TaskState::parse)?,
        attempts: col_u32(row, "attempts")?,
        next_attempt_at: from_ms("tasks.next_attempt_at", col(row, "next_attempt_at")?)?,
        lease_owner: col(row, "lease_owner")?,
        lease_expires_at: opt_from_ms("tasks.lease_expires_at", col(row, "lease_expires_at")?)?,
        percent: u8::try_from(percent.min(100)).unwrap_or(100),
        result: col(row, "result")?,
        error: col(row, "error")?,
        external_job_id: col(row, "external_job_id")?,
        created_at: from_ms("tasks.created_at", col(row, "created_at")?)?,
        updated_at: from_ms("tasks.updated_at", col(row, "updated_at")?)?,
    })
}

pub(crate) fn attempt_from_row(row: &SqliteRow) -> Result<Attempt, StoreError> {
    let outcome: Option<String> = col(row, "outcome")?;
    Ok(Attempt {
        task_id: col(row, "task_id")?,
        number: col_u32(row, "number")?,
        owner: col(row, "owner")?,
        started_at: from_ms("task_attempts.started_at", col(row, "started_at")?)?,
        ended_at: opt_from_ms("task_attempts.ended_at", col(row, "ended_at")?)?,
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
