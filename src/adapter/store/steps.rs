//! The steps of workflow tasks (onboarding, offboarding, desktop and app requests): each
//! step's state, what it did and what it produced, written as it happens so a retried or
//! resumed task continues from the first step not done and never repeats a done one.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StoreError;

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    Done,
    /// Not needed (already as asked, or nothing to do); counts as done.
    Skipped,
    Failed,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Done => "done",
            StepState::Skipped => "skipped",
            StepState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<StepState> {
        Some(match s {
            "pending" => StepState::Pending,
            "running" => StepState::Running,
            "done" => StepState::Done,
            "skipped" => StepState::Skipped,
            "failed" => StepState::Failed,
            _ => return None,
        })
    }

    /// Done or skipped: a retry passes over it.
    pub fn is_finished(self) -> bool {
        matches!(self, StepState::Done | StepState::Skipped)
    }
}

/// One step of one task, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The step's place in the task's plan, from 0.
    pub number: u32,
    /// What the step does (`account.create`, `cvad.entitle_delivery_group`, …).
    pub kind: String,
    /// For a person: "Create account LAB\jdoe".
    pub title: String,
    pub state: StepState,
    /// What the step did, or why it failed.
    pub detail: Option<String>,
    /// What later steps need from this one (a provisioned machine's name); `null` if nothing.
    pub output: serde_json::Value,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait StepStore: Send + Sync {
    /// The steps of one task recorded so far, in plan order.
    async fn task_steps(&self, task_id: i64) -> Result<Vec<StepRecord>, StoreError>;

    /// The recorded steps of every task of a job: `(task id, step)`, by task then step.
    async fn job_steps(&self, job_id: Uuid) -> Result<Vec<(i64, StepRecord)>, StoreError>;

    /// Writes a step's state, with a `task` event carrying it, if `owner` still holds the
    /// task's lease ([`StoreError::LeaseLost`] otherwise: another engine runs it now).
    async fn record_step(
        &self,
        task_id: i64,
        owner: &str,
        step: &StepRecord,
    ) -> Result<(), StoreError>;
}
