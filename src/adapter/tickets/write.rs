//! A ticket write as the outbox stores it: what should change, said in the adapter's terms
//! ("working", "done", "assign to me"), turned into ServiceNow fields only at delivery, when
//! the ticket's kind, the adapter's user and the group sys_ids are known.

use serde::{Deserialize, Serialize};

use crate::model::{IncidentState, TaskState, TicketKind, TicketState};

/// The state a write moves the ticket to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// Incident In Progress; task Work in Progress.
    Working,
    /// Incident Resolved (closing is the instance's auto-close); task Closed Complete.
    Done,
}

impl Progress {
    pub fn state(self, kind: TicketKind) -> TicketState {
        match (self, kind) {
            (Progress::Working, TicketKind::Incident) => {
                TicketState::Incident(IncidentState::InProgress)
            }
            (Progress::Done, TicketKind::Incident) => {
                TicketState::Incident(IncidentState::Resolved)
            }
            (Progress::Working, _) => TicketState::Task(TaskState::WorkInProgress),
            (Progress::Done, _) => TicketState::Task(TaskState::ClosedComplete),
        }
    }
}

/// Who a write assigns the ticket to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// The ServiceNow user the adapter signs in as.
    Adapter,
    /// Whoever it is assigned to now; the adapter's user when nobody.
    KeepOrAdapter,
    /// A login, e-mail or sys_id.
    User(String),
    /// Nobody: the group picks it up.
    Nobody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketWrite {
    /// What the write is for, as people read it: "take", "note", "resolve", "job started"…
    pub purpose: String,
    /// The API client (or "deskbridge" for the adapter's own lifecycle writes).
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<Assignee>,
    /// A group name or sys_id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comments: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_notes: Option<String>,
}

impl TicketWrite {
    pub fn new(purpose: &str, by: &str) -> TicketWrite {
        TicketWrite {
            purpose: purpose.to_owned(),
            by: by.to_owned(),
            progress: None,
            assignee: None,
            assignment_group: None,
            work_notes: None,
            comments: None,
            close_code: None,
            close_notes: None,
        }
    }

    /// Whether the write changes who owns the ticket or its state. Journal-only writes
    /// (notes, comments) are safe whatever happened meanwhile; these are checked first.
    pub fn changes_ownership_or_state(&self) -> bool {
        self.progress.is_some() || self.assignee.is_some() || self.assignment_group.is_some()
    }

    /// The journal text this write adds, to recognise it after an answer that was lost.
    pub fn journal_text(&self) -> Option<(&'static str, &str)> {
        self.work_notes
            .as_deref()
            .map(|t| ("work_notes", t))
            .or_else(|| self.comments.as_deref().map(|t| ("comments", t)))
    }

    pub fn to_payload(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
