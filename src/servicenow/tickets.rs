//! Tickets: decoding incident / sc_request / sc_req_item / sc_task records into
//! [`model::Ticket`](crate::model::Ticket), the lifecycle writes of the adapter (take, note,
//! resolve, close, reassign) and the journal read from `sys_journal_field`.

use super::error::Error;
use super::query::Query;
use super::record::Record;
use super::table::{DisplayValue, ListParams, ReadOptions};
use super::transport::ServiceNowClient;
use crate::model::{
    IncidentState, JournalEntry, Priority, TaskState, Ticket, TicketKind, TicketState,
};
use serde_json::{Map, Value};

/// Fields every ticket read asks for.
pub const TICKET_FIELDS: &[&str] = &[
    "sys_id",
    "number",
    "short_description",
    "description",
    "state",
    "priority",
    "impact",
    "urgency",
    "assignment_group",
    "assigned_to",
    "opened_at",
    "sys_updated_on",
    "sys_mod_count",
];

/// `sysparm_fields` for tickets of `kind`: the common fields plus requester, item and parent.
pub fn ticket_fields(kind: TicketKind) -> Vec<&'static str> {
    let extra: &[&str] = match kind {
        TicketKind::Incident => &["caller_id", "parent_incident", "parent"],
        TicketKind::Request => &["requested_for", "parent"],
        TicketKind::RequestedItem => &["requested_for", "request", "cat_item"],
        TicketKind::CatalogTask => &[
            "request_item",
            "request",
            "requested_for",
            "request_item.requested_for",
            "request_item.cat_item",
        ],
    };
    TICKET_FIELDS.iter().chain(extra).copied().collect()
}

/// A partial update of a ticket. `Some(String::new())` clears a field (ServiceNow's way).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketUpdate {
    pub state: Option<TicketState>,
    pub assignment_group: Option<String>,
    pub assigned_to: Option<String>,
    /// `hold_reason` code (1 Awaiting Caller, 3 Problem, 4 Vendor, 5 Change).
    pub hold_reason: Option<String>,
    pub close_code: Option<String>,
    pub close_notes: Option<String>,
    pub work_notes: Option<String>,
    pub comments: Option<String>,
}

impl TicketUpdate {
    /// The PATCH body.
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), Value::String(v));
            }
        };
        put("state", self.state.map(|s| s.code().to_string()));
        put("assignment_group", self.assignment_group.clone());
        put("assigned_to", self.assigned_to.clone());
        put("hold_reason", self.hold_reason.clone());
        put("close_code", self.close_code.clone());
        put("close_notes", self.close_notes.clone());
        put("work_notes", self.work_notes.clone());
        put("comments", self.comments.clone());
        m
    }
}

impl Record {
    /// The ticket kind of this record's table.
    pub fn ticket_kind(&self) -> Result<TicketKind, Error> {
        TicketKind::from_table(self.table()).ok_or_else(|| {
            Error::decode(
                self.instance(),
                self.table(),
                self.sys_id(),
                None,
                "not a ticket table (incident, sc_request, sc_req_item, sc_task)",
            )
        })
    }

    /// Converts an incident, request, requested item or catalog task into a [`Ticket`].
    pub fn to_ticket(&self) -> Result<Ticket, Error> {
        let kind = self.ticket_kind()?;
        let first = |fields: &[&str]| {
            fields
                .iter()
                .find_map(|f| self.reference(f))
                .map(str::to_owned)
        };
        let (requester, catalog_item, parent) = match kind {
            TicketKind::Incident => (
                first(&["caller_id"]),
                None,
                first(&["parent_incident", "parent"]),
            ),
            TicketKind::Request => (first(&["requested_for"]), None, first(&["parent"])),
            TicketKind::RequestedItem => (
                first(&["requested_for"]),
                first(&["cat_item"]),
                first(&["request"]),
            ),
            TicketKind::CatalogTask => (
                first(&["requested_for", "request_item.requested_for"]),
                first(&["cat_item", "request_item.cat_item"]),
                first(&["request_item"]),
            ),
        };
        let mod_count = self.opt_i64("sys_mod_count")?.unwrap_or(0);
        Ok(Ticket {
            sys_id: self.str("sys_id")?.to_owned(),
            number: self.str("number")?.to_owned(),
            kind,
            short_description: self.text("short_description"),
            description: self.text("description"),
            state: self.ticket_state(kind)?,
            priority: self.priority()?,
            requester,
            assignment_group: self.reference("assignment_group").map(str::to_owned),
            assigned_to: self.reference("assigned_to").map(str::to_owned),
            catalog_item,
            parent,
            opened_at: self.datetime("opened_at")?,
            updated_at: self.datetime("sys_updated_on")?,
            mod_count: u64::try_from(mod_count).unwrap_or(0),
        })
    }

    fn ticket_state(&self, kind: TicketKind) -> Result<TicketState, Error> {
        let raw = self.str("state")?.trim();
        let by_code = raw
            .parse::<i32>()
            .ok()
            .and_then(|c| TicketState::from_code(kind, c));
        // Records read with display_value=true carry labels instead of codes.
        let by_label = || match kind {
            TicketKind::Incident => IncidentState::ALL
                .iter()
                .find(|s| s.label().eq_ignore_ascii_case(raw))
                .map(|s| TicketState::Incident(*s)),
            _ => TaskState::ALL
                .iter()
                .find(|s| s.label().eq_ignore_ascii_case(raw))
                .map(|s| TicketState::Task(*s)),
        };
        by_code
            .or_else(by_label)
            .ok_or_else(|| self.error("state", format!("unknown {} state {raw:?}", kind.table())))
    }

    fn priority(&self) -> Result<Priority, Error> {
        // Labels read with display values look like "3 - Moderate": the code leads.
        let lead = |field: &str| -> Option<u8> {
            let raw = self.opt_str(field)?.trim();
            let digits: String = raw.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        match lead("priority") {
            Some(p @ 1..=5) => Ok(Priority(p)),
            Some(p) => Err(self.error("priority", format!("priority {p} is not 1 to 5"))),
            None => match (lead("impact"), lead("urgency")) {
                (Some(i), Some(u)) => Ok(Priority::from_impact_urgency(i, u)),
                _ => Ok(Priority(5)),
            },
        }
    }

    /// Converts a `sys_journal_field` row.
    pub fn to_journal_entry(&self) -> Result<JournalEntry, Error> {
        Ok(JournalEntry {
            element: self.str("element")?.to_owned(),
            value: self.text("value"),
            created_by: self.text("sys_created_by"),
            created_on: self.datetime("sys_created_on")?,
        })
    }
}

impl ServiceNowClient {
    /// Lists tickets of `kind`. When `params` names no fields, the ticket fields are read.
    pub async fn tickets(
        &self,
        kind: TicketKind,
        params: &ListParams,
    ) -> Result<Vec<Ticket>, Error> {
        let mut params = params.clone();
        if params.read.fields.is_empty() {
            params = params.fields(ticket_fields(kind));
        }
        let records = self.list(kind.table(), &params).await?;
        records.iter().map(Record::to_ticket).collect()
    }

    /// Reads one ticket.
    pub async fn ticket(&self, kind: TicketKind, sys_id: &str) -> Result<Ticket, Error> {
        self.get(kind.table(), sys_id, &ticket_read(kind))
            .await?
            .to_ticket()
    }

    /// Finds a ticket by its number (`INC0010001`, `RITM…`, `SCTASK…`, `REQ…`).
    pub async fn ticket_by_number(&self, number: &str) -> Result<Option<Ticket>, Error> {
        let kind = TicketKind::from_number(number)
            .ok_or_else(|| self.invalid(format!("{number:?} is not a ticket number")))?;
        let params = ListParams::new()
            .query(Query::new().eq("number", number).build()?)
            .page_size(1)
            .max_records(1)
            .no_count(true);
        let found = self.tickets(kind, &params).await?;
        Ok(found.into_iter().next())
    }

    /// Applies `update` and returns the ticket as stored afterwards.
    pub async fn update_ticket(
        &self,
        kind: TicketKind,
        sys_id: &str,
        update: &TicketUpdate,
    ) -> Result<Ticket, Error> {
        if let Some(state) = update.state {
            let fits = matches!(
                (kind, state),
                (TicketKind::Incident, TicketState::Incident(_))
                    | (
                        TicketKind::Request | TicketKind::RequestedItem | TicketKind::CatalogTask,
                        TicketState::Task(_)
                    )
            );
            if !fits {
                return Err(self.invalid(format!(
                    "state {} does not belong to {}",
                    state.label(),
                    kind.table()
                )));
            }
        }
        let fields = update.to_fields();
        if fields.is_empty() {
            return self.ticket(kind, sys_id).await;
        }
        self.patch_read(kind.table(), sys_id, &fields, &ticket_read(kind))
            .await?
            .to_ticket()
    }

    /// Takes a ticket: In Progress (incident) / Work in Progress (task family), assigned to
    /// `assignee` (a sys_user sys_id), with an optional work note saying why.
    pub async fn take_ticket(
        &self,
        kind: TicketKind,
        sys_id: &str,
        assignee: &str,
        work_note: Option<&str>,
    ) -> Result<Ticket, Error> {
        let state = match kind {
            TicketKind::Incident => TicketState::Incident(IncidentState::InProgress),
            _ => TicketState::Task(TaskState::WorkInProgress),
        };
        let update = TicketUpdate {
            state: Some(state),
            assigned_to: Some(assignee.to_owned()),
            work_notes: work_note.map(str::to_owned),
            ..TicketUpdate::default()
        };
        self.update_ticket(kind, sys_id, &update).await
    }

    /// Appends a work note (internal).
    pub async fn add_work_note(
        &self,
        kind: TicketKind,
        sys_id: &str,
        text: &str,
    ) -> Result<Ticket, Error> {
        let update = TicketUpdate {
            work_notes: Some(text.to_owned()),
            ..TicketUpdate::default()
        };
        self.update_ticket(kind, sys_id, &update).await
    }

    /// Appends a customer-visible comment.
    pub async fn add_comment(
        &self,
        kind: TicketKind,
        sys_id: &str,
        text: &str,
    ) -> Result<Ticket, Error> {
        let update = TicketUpdate {
            comments: Some(text.to_owned()),
            ..TicketUpdate::default()
        };
        self.update_ticket(kind, sys_id, &update).await
    }

    /// Resolves an incident (state 6) with a resolution code and notes; closing (7) is left
    /// to the instance's auto-close.
    pub async fn resolve_incident(
        &self,
        sys_id: &str,
        close_code: &str,
        close_notes: &str,
    ) -> Result<Ticket, Error> {
        let update = TicketUpdate {
            state: Some(TicketState::Incident(IncidentState::Resolved)),
            close_code: Some(close_code.to_owned()),
            close_notes: Some(close_notes.to_owned()),
            ..TicketUpdate::default()
        };
        self.update_ticket(TicketKind::Incident, sys_id, &update)
            .await
    }

    /// Closes a catalog task or requested item as Closed Complete (3), Incomplete (4) or
    /// Skipped (7), with notes.
    pub async fn close_task(
        &self,
        kind: TicketKind,
        sys_id: &str,
        state: TaskState,
        close_notes: &str,
    ) -> Result<Ticket, Error> {
        if state.is_open() {
            return Err(self.invalid(format!("{} is not a closed state", state.label())));
        }
        if kind == TicketKind::Incident {
            return Err(self.invalid("close_task is for the task family; resolve incidents"));
        }
        let update = TicketUpdate {
            state: Some(TicketState::Task(state)),
            close_notes: Some(close_notes.to_owned()),
            ..TicketUpdate::default()
        };
        self.update_ticket(kind, sys_id, &update).await
    }

    /// The work notes and comments of a record, newest first (at most `limit`).
    pub async fn journal(
        &self,
        table: &str,
        sys_id: &str,
        limit: usize,
    ) -> Result<Vec<JournalEntry>, Error> {
        self.check_table(table)?;
        let query = Query::new()
            .eq("name", table)
            .eq("element_id", sys_id)
            .in_("element", ["comments", "work_notes"])
            .order_by_desc("sys_created_on")
            .build()?;
        let params = ListParams::new()
            .query(query)
            .fields([
                "sys_id",
                "element",
                "value",
                "sys_created_by",
                "sys_created_on",
            ])
            .page_size(limit.clamp(1, 1000) as u32)
            .max_records(limit)
            .exclude_reference_link(true);
        let rows = self.list("sys_journal_field", &params).await?;
        rows.iter().map(Record::to_journal_entry).collect()
    }
}

fn ticket_read(kind: TicketKind) -> ReadOptions {
    ReadOptions::new()
        .fields(ticket_fields(kind))
        .display_value(DisplayValue::False)
        .exclude_reference_link(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(table: &str, v: Value) -> Record {
        match v {
            Value::Object(m) => Record::new("lab", table, DisplayValue::All, m),
            _ => panic!("object expected"),
        }
    }

    #[test]
    fn incidents_decode_with_display_value_all() {
        let r = rec(
            "incident",
            json!({
                "sys_id": "i1", "number": "INC0010001", "short_description": "VPN down",
                "state": {"display_value": "In Progress", "value": "2"},
                "priority": {"display_value": "3 - Moderate", "value": "3"},
                "caller_id": {"display_value": "Alice", "value": "u1"},
                "assignment_group": {"display_value": "Service Desk", "value": "g1"},
                "assigned_to": {"display_value": "", "value": ""},
                "opened_at": {"display_value": "x", "value": "2026-01-02 03:04:05"},
                "sys_updated_on": "2026-01-02 03:04:06",
                "sys_mod_count": "7"
            }),
        );
        let t = r.to_ticket().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.kind, TicketKind::Incident);
        assert_eq!(t.state, TicketState::Incident(IncidentState::InProgress));
        assert_eq!(t.priority, Priority(3));
        assert_eq!(t.requester.as_deref(), Some("u1"));
        assert_eq!(t.assignment_group.as_deref(), Some("g1"));
        assert_eq!(t.assigned_to, None);
        assert_eq!(t.mod_count, 7);
        assert!(t.opened_at.is_some());
    }

    #[test]
    fn catalog_tasks_decode_requester_item_and_parent() {
        let r = rec(
            "sc_task",
            json!({
                "sys_id": "t1", "number": "SCTASK0010001", "state": "-5",
                "priority": "", "impact": "1", "urgency": "2",
                "request_item": "r1", "request_item.requested_for": "u9",
                "request_item.cat_item": "c1", "sys_mod_count": ""
            }),
        );
        let t = r.to_ticket().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.state, TicketState::Task(TaskState::Pending));
        assert_eq!(t.priority, Priority(2));
        assert_eq!(t.requester.as_deref(), Some("u9"));
        assert_eq!(t.catalog_item.as_deref(), Some("c1"));
        assert_eq!(t.parent.as_deref(), Some("r1"));
    }

    #[test]
    fn bad_states_name_the_record() {
        let r = rec(
            "sc_req_item",
            json!({"sys_id": "r1", "number": "RITM1", "state": "6"}),
        );
        let msg = r
            .to_ticket()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            msg,
            "ServiceNow lab: sc_req_item/r1 field `state`: unknown sc_req_item state \"6\""
        );
        let r = rec("sys_user", json!({"sys_id": "u1"}));
        assert!(r.to_ticket().is_err());
    }

    #[test]
    fn updates_become_patch_bodies() {
        let u = TicketUpdate {
            state: Some(TicketState::Incident(IncidentState::OnHold)),
            hold_reason: Some("1".into()),
            assigned_to: Some(String::new()),
            ..TicketUpdate::default()
        };
        assert_eq!(
            Value::Object(u.to_fields()),
            json!({"state": "3", "hold_reason": "1", "assigned_to": ""})
        );
    }
}
