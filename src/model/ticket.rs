//! ServiceNow tickets (incidents, requested items, catalog tasks) with their real state codes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The table a ticket lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Incident,
    Request,
    RequestedItem,
    CatalogTask,
}

impl TicketKind {
    pub const ALL: [TicketKind; 4] = [
        TicketKind::Incident,
        TicketKind::Request,
        TicketKind::RequestedItem,
        TicketKind::CatalogTask,
    ];

    /// The ServiceNow table name.
    pub fn table(self) -> &'static str {
        match self {
            TicketKind::Incident => "incident",
            TicketKind::Request => "sc_request",
            TicketKind::RequestedItem => "sc_req_item",
            TicketKind::CatalogTask => "sc_task",
        }
    }

    /// The number prefix (`INC0010001`).
    pub fn prefix(self) -> &'static str {
        match self {
            TicketKind::Incident => "INC",
            TicketKind::Request => "REQ",
            TicketKind::RequestedItem => "RITM",
            TicketKind::CatalogTask => "SCTASK",
        }
    }

    pub fn from_table(table: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.table() == table)
    }

    /// The kind a ticket number belongs to, by its prefix.
    pub fn from_number(number: &str) -> Option<Self> {
        // SCTASK and RITM must be tried before shorter prefixes could shadow them; none do today,
        // but keep the longest-first order explicit.
        [
            TicketKind::CatalogTask,
            TicketKind::RequestedItem,
            TicketKind::Incident,
            TicketKind::Request,
        ]
        .into_iter()
        .find(|k| number.starts_with(k.prefix()))
    }
}

/// Declares a ServiceNow choice list whose stored values are integers.
macro_rules! choice_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal => $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored value (`"6"` for Resolved).
            pub fn code(self) -> i32 {
                match self { $($name::$variant => $code),+ }
            }

            /// The label ServiceNow shows.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn from_code(code: i32) -> Option<Self> {
                Self::ALL.iter().copied().find(|s| s.code() == code)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

choice_enum!(
    /// `incident.state`.
    IncidentState {
        New = 1 => "New",
        InProgress = 2 => "In Progress",
        OnHold = 3 => "On Hold",
        Resolved = 6 => "Resolved",
        Closed = 7 => "Closed",
        Canceled = 8 => "Canceled",
    }
);

choice_enum!(
    /// `state` of the task family (`sc_task`, `sc_req_item`, `sc_request`).
    TaskState {
        Pending = -5 => "Pending",
        Open = 1 => "Open",
        WorkInProgress = 2 => "Work in Progress",
        ClosedComplete = 3 => "Closed Complete",
        ClosedIncomplete = 4 => "Closed Incomplete",
        ClosedSkipped = 7 => "Closed Skipped",
    }
);

impl IncidentState {
    /// Whether the incident still needs work.
    pub fn is_open(self) -> bool {
        matches!(self, Self::New | Self::InProgress | Self::OnHold)
    }
}

impl TaskState {
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Open | Self::WorkInProgress)
    }
}

/// A ticket's state: incidents and the task family use different choice lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TicketState {
    Incident(IncidentState),
    Task(TaskState),
}

impl TicketState {
    /// Decodes a stored state value for a ticket of `kind`.
    pub fn from_code(kind: TicketKind, code: i32) -> Option<Self> {
        match kind {
            TicketKind::Incident => IncidentState::from_code(code).map(Self::Incident),
            _ => TaskState::from_code(code).map(Self::Task),
        }
    }

    pub fn code(self) -> i32 {
        match self {
            Self::Incident(s) => s.code(),
            Self::Task(s) => s.code(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Incident(s) => s.label(),
            Self::Task(s) => s.label(),
        }
    }

    pub fn is_open(self) -> bool {
        match self {
            Self::Incident(s) => s.is_open(),
            Self::Task(s) => s.is_open(),
        }
    }
}

/// ServiceNow priority, 1 (Critical) to 5 (Planning), derived from impact × urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Priority(pub u8);

impl Priority {
    /// The default priority lookup: impact and urgency are 1 (High) to 3 (Low).
    pub fn from_impact_urgency(impact: u8, urgency: u8) -> Self {
        let impact = impact.clamp(1, 3);
        let urgency = urgency.clamp(1, 3);
        Priority(impact + urgency - 1)
    }

    pub fn label(self) -> &'static str {
        match self.0 {
            1 => "Critical",
            2 => "High",
            3 => "Moderate",
            4 => "Low",
            _ => "Planning",
        }
    }
}

/// One ticket of a queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub sys_id: String,
    pub number: String,
    pub kind: TicketKind,
    pub short_description: String,
    pub description: String,
    pub state: TicketState,
    pub priority: Priority,
    /// `sys_id` of the person the ticket is for (caller, or requested-for).
    pub requester: Option<String>,
    pub assignment_group: Option<String>,
    pub assigned_to: Option<String>,
    /// `sys_id` of the catalog item, for requested items and their tasks.
    pub catalog_item: Option<String>,
    /// `sys_id` of the parent (RITM of a task, REQ of a RITM).
    pub parent: Option<String>,
    pub opened_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub mod_count: u64,
}

/// One journal entry (work note or customer-visible comment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// `work_notes` or `comments`.
    pub element: String,
    pub value: String,
    pub created_by: String,
    pub created_on: Option<DateTime<Utc>>,
}

/// One catalog variable of a requested item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogVariable {
    pub name: String,
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_follows_the_default_lookup() {
        assert_eq!(Priority::from_impact_urgency(1, 1), Priority(1));
        assert_eq!(Priority::from_impact_urgency(2, 2), Priority(3));
        assert_eq!(Priority::from_impact_urgency(3, 3), Priority(5));
        assert_eq!(Priority::from_impact_urgency(1, 3), Priority(3));
    }

    #[test]
    fn states_decode_by_kind() {
        assert_eq!(
            TicketState::from_code(TicketKind::Incident, 6),
            Some(TicketState::Incident(IncidentState::Resolved))
        );
        assert_eq!(
            TicketState::from_code(TicketKind::CatalogTask, 3),
            Some(TicketState::Task(TaskState::ClosedComplete))
        );
        assert_eq!(TicketState::from_code(TicketKind::Incident, 4), None);
    }

    #[test]
    fn numbers_map_to_kinds() {
        assert_eq!(
            TicketKind::from_number("SCTASK0010001"),
            Some(TicketKind::CatalogTask)
        );
        assert_eq!(
            TicketKind::from_number("RITM0010001"),
            Some(TicketKind::RequestedItem)
        );
        assert_eq!(
            TicketKind::from_number("REQ0010001"),
            Some(TicketKind::Request)
        );
        assert_eq!(
            TicketKind::from_number("INC0010001"),
            Some(TicketKind::Incident)
        );
        assert_eq!(TicketKind::from_number("CHG0010001"), None);
    }
}
