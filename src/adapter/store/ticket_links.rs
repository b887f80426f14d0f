//! The job ↔ ticket link: which lifecycle writes a ticket-linked job has queued for its ticket,
//! and which catalog requests the adapter declined to fulfil on its own.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StoreError;
use super::jobs::{Job, JobState};
use super::outbox::NewOutboxItem;

/// What the adapter has told a job's ticket so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPhase {
    /// Nothing yet: the job has not started.
    None,
    /// Taken: In Progress, with a work note naming the job.
    Started,
    /// The final outcome was written (resolved, or a failure note and reassignment).
    Succeeded,
    Failed,
    PartiallyFailed,
    Cancelled,
}

impl TicketPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketPhase::None => "none",
            TicketPhase::Started => "started",
            TicketPhase::Succeeded => "succeeded",
            TicketPhase::Failed => "failed",
            TicketPhase::PartiallyFailed => "partially_failed",
            TicketPhase::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<TicketPhase> {
        [
            TicketPhase::None,
            TicketPhase::Started,
            TicketPhase::Succeeded,
            TicketPhase::Failed,
            TicketPhase::PartiallyFailed,
            TicketPhase::Cancelled,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// The phase a ticket should be in for a job in `state`, given what was reported. A job
    /// retried after its outcome was reported runs again: its ticket hears about it
    /// (`Started`), and later about the new outcome.
    pub fn wanted(state: JobState, reported: TicketPhase) -> TicketPhase {
        match state {
            JobState::Queued if reported == TicketPhase::None => TicketPhase::None,
            JobState::Queued | JobState::Running => TicketPhase::Started,
            JobState::Succeeded => TicketPhase::Succeeded,
            JobState::Failed => TicketPhase::Failed,
            JobState::PartiallyFailed => TicketPhase::PartiallyFailed,
            JobState::Cancelled => TicketPhase::Cancelled,
        }
    }
}

/// A ticket-linked job whose ticket has not heard of its current state yet.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketLag {
    pub job: Job,
    pub reported: TicketPhase,
}

#[async_trait]
pub trait TicketLinkStore: Send + Sync {
    /// Ticket-linked jobs whose reported phase differs from the one their state wants,
    /// oldest change first.
    async fn ticket_lags(&self, limit: u32) -> Result<Vec<TicketLag>, StoreError>;
    /// Moves the job's reported phase from `from` to `to` and queues `writes` in the same
    /// transaction. Returns false (and queues nothing) when the phase is no longer `from`:
    /// another worker or replica reported it first.
    async fn advance_ticket_phase(
        &self,
        job_id: Uuid,
        from: TicketPhase,
        to: TicketPhase,
        writes: Vec<NewOutboxItem>,
    ) -> Result<bool, StoreError>;
    /// One line for people about the job's ticket: "resolved", "conflict: …".
    async fn set_ticket_status(&self, job_id: Uuid, status: &str) -> Result<(), StoreError>;
    async fn ticket_status(&self, job_id: Uuid) -> Result<Option<String>, StoreError>;
    /// Ids of the jobs linked to a ticket, newest first.
    async fn jobs_for_ticket(&self, instance: &str, number: &str) -> Result<Vec<Uuid>, StoreError>;
    /// Records that the adapter declined to fulfil a request on its own. True the first time
    /// only, so the ticket gets one explanatory note.
    async fn record_refusal(
        &self,
        instance: &str,
        number: &str,
        reason: &str,
    ) -> Result<bool, StoreError>;
}
