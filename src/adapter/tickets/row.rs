//! A ticket as the queue shows it: the ServiceNow record with the names of the people, group
//! and catalog item it points to, and how the queue API filters and sorts it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::adapter::inventory::{Filter, Indexed, Key, Row};
use crate::model::{TicketKind, TicketState};
use crate::servicenow::{Error as SnError, Record};

/// A reference field: the sys_id and the name ServiceNow shows for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedRef {
    pub sys_id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueTicket {
    pub instance: String,
    /// The configured queue that holds it.
    pub queue: String,
    pub number: String,
    pub sys_id: String,
    pub table: &'static str,
    pub kind: TicketKind,
    pub short_description: String,
    pub description: String,
    /// The state's label ("In Progress") and ServiceNow code.
    pub state: &'static str,
    pub state_code: i32,
    /// Whether the ticket still needs work (not resolved, closed or cancelled).
    pub open: bool,
    pub priority: u8,
    pub priority_label: &'static str,
    pub assignment_group: Option<NamedRef>,
    pub assigned_to: Option<NamedRef>,
    /// The caller (incidents) or the person requested for (catalog records).
    pub requester: Option<NamedRef>,
    pub catalog_item: Option<NamedRef>,
    /// The parent's sys_id (the requested item of a catalog task).
    pub parent: Option<NamedRef>,
    pub opened_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub mod_count: u64,
    /// The record in ServiceNow's UI, for the operator who needs more than the console shows.
    pub url: String,
}

impl QueueTicket {
    /// Builds the row from a record read with `sysparm_display_value=all`.
    pub fn from_record(
        record: &Record,
        queue: &str,
        base_url: &str,
    ) -> Result<QueueTicket, SnError> {
        let ticket = record.to_ticket()?;
        let named = |field: &str, value: Option<&String>| {
            value.map(|sys_id| NamedRef {
                sys_id: sys_id.clone(),
                name: record
                    .display(field)
                    .filter(|d| !d.is_empty())
                    .unwrap_or(sys_id)
                    .to_owned(),
            })
        };
        let requester_field = match ticket.kind {
            TicketKind::Incident => "caller_id",
            TicketKind::CatalogTask if !record.has("requested_for") => "request_item.requested_for",
            _ => "requested_for",
        };
        let item_field = match ticket.kind {
            TicketKind::CatalogTask => "request_item.cat_item",
            _ => "cat_item",
        };
        let parent_field = match ticket.kind {
            TicketKind::CatalogTask => "request_item",
            TicketKind::RequestedItem => "request",
            _ => "parent",
        };
        Ok(QueueTicket {
            instance: record.instance().to_owned(),
            queue: queue.to_owned(),
            url: format!(
                "{base_url}/nav_to.do?uri={}.do?sys_id={}",
                ticket.kind.table(),
                ticket.sys_id
            ),
            table: ticket.kind.table(),
            kind: ticket.kind,
            state: ticket.state.label(),
            state_code: ticket.state.code(),
            open: ticket.state.is_open(),
            priority: ticket.priority.0,
            priority_label: ticket.priority.label(),
            assignment_group: named("assignment_group", ticket.assignment_group.as_ref()),
            assigned_to: named("assigned_to", ticket.assigned_to.as_ref()),
            requester: named(requester_field, ticket.requester.as_ref()),
            catalog_item: named(item_field, ticket.catalog_item.as_ref()),
            parent: named(parent_field, ticket.parent.as_ref()),
            opened_at: ticket.opened_at,
            updated_at: ticket.updated_at,
            mod_count: ticket.mod_count,
            number: ticket.number,
            sys_id: ticket.sys_id,
            short_description: ticket.short_description,
            description: ticket.description,
        })
    }

    /// The row with its search text: number, description, people, group, item, state.
    pub fn indexed(self) -> Indexed<QueueTicket> {
        let name = |r: &Option<NamedRef>| r.as_ref().map(|r| r.name.clone()).unwrap_or_default();
        let fields = [
            self.number.clone(),
            self.short_description.clone(),
            name(&self.requester),
            name(&self.assigned_to),
            name(&self.assignment_group),
            name(&self.catalog_item),
            self.state.to_owned(),
        ];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        Indexed::new(self, &refs)
    }

    /// The ticket state this row shows, for writes that compare against it.
    pub fn ticket_state(&self) -> Option<TicketState> {
        TicketState::from_code(self.kind, self.state_code)
    }
}

/// `state` filter values: a lifecycle bucket, or a state label in snake case.
const STATE_FILTERS: &[&str] = &[
    "open",
    "closed",
    "new",
    "in_progress",
    "on_hold",
    "pending",
    "work_in_progress",
    "resolved",
];

fn snake(label: &str) -> String {
    label.to_lowercase().replace(' ', "_")
}

fn matches_ref(r: &Option<NamedRef>, wanted: &str) -> bool {
    match wanted {
        "none" => r.is_none(),
        _ => r.as_ref().is_some_and(|r| {
            r.sys_id.eq_ignore_ascii_case(wanted) || r.name.to_lowercase() == wanted
        }),
    }
}

impl Row for QueueTicket {
    const SITE_SCOPED: bool = true;
    const SORT_FIELDS: &'static [&'static str] =
        &["priority", "updated", "opened", "number", "state"];
    const FILTERS: &'static [&'static str] = &["group", "user", "state", "kind", "queue"];

    fn id(&self) -> &str {
        &self.number
    }

    fn key(&self, field: usize) -> Key<'_> {
        let time = |t: Option<DateTime<Utc>>| Key::Int(t.map_or(0, |t| t.timestamp_millis()));
        match field {
            0 => Key::Int(i64::from(self.priority)),
            1 => time(self.updated_at),
            2 => time(self.opened_at),
            3 => Key::Str(&self.number),
            _ => Key::Int(i64::from(self.state_code)),
        }
    }

    /// `user` is the assignee (`none` for unassigned), `group` the assignment group, both by
    /// sys_id or name.
    fn matches(&self, filter: &Filter) -> bool {
        filter
            .group
            .as_deref()
            .is_none_or(|g| matches_ref(&self.assignment_group, g))
            && filter
                .user
                .as_deref()
                .is_none_or(|u| matches_ref(&self.assigned_to, u))
            && filter.state.as_deref().is_none_or(|s| match s {
                "open" => self.open,
                "closed" => !self.open,
                s => snake(self.state) == s,
            })
            && filter
                .kind
                .as_deref()
                .is_none_or(|k| self.table == k || snake(&format!("{:?}", self.kind)) == k)
            && filter
                .queue
                .as_deref()
                .is_none_or(|q| self.queue.to_lowercase() == q)
    }

    fn check_state(state: &str) -> Result<(), String> {
        if STATE_FILTERS.contains(&state) {
            Ok(())
        } else {
            Err(format!(
                "state={state:?} is not a ticket state; use one of {}",
                STATE_FILTERS.join(", ")
            ))
        }
    }
}
