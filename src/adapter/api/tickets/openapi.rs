//! The OpenAPI parts of the ticket and zero-touch endpoints, next to the handlers.

use serde_json::{Map, Value, json};

use super::super::routes::Operation;

fn error(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": {
        "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

fn query(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description,
            "schema": { "type": "string" } })
}

fn path(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "description": description,
            "schema": { "type": "string" } })
}

fn body(properties: Value, required: &[&str]) -> Value {
    json!({ "required": !required.is_empty(), "content": { "application/json": { "schema": {
        "type": "object", "additionalProperties": false, "required": required,
        "properties": properties } } } })
}

fn body_errors(responses: &mut Map<String, Value>) {
    responses.insert("413".into(), error("Body larger than 1 MiB"));
    responses.insert("415".into(), error("Body that is not application/json"));
}

/// The OpenAPI parts of the ticket endpoints (called from the API's OpenAPI document).
pub fn document(
    operation: Operation,
    op: &mut Map<String, Value>,
    responses: &mut Map<String, Value>,
) {
    let named = json!({ "type": "object", "nullable": true, "properties": {
        "sys_id": {"type":"string"}, "name": {"type":"string"} } });
    let ticket = json!({ "type": "object", "properties": {
        "instance": {"type":"string"}, "queue": {"type":"string"}, "number": {"type":"string"},
        "sys_id": {"type":"string"}, "table": {"type":"string","enum":["incident","sc_req_item","sc_task"]},
        "kind": {"type":"string"}, "short_description": {"type":"string"},
        "description": {"type":"string"}, "state": {"type":"string"}, "state_code": {"type":"integer"},
        "open": {"type":"boolean"}, "priority": {"type":"integer"}, "priority_label": {"type":"string"},
        "assignment_group": named, "assigned_to": named, "requester": named,
        "catalog_item": named, "parent": named,
        "opened_at": {"type":"string","format":"date-time","nullable":true},
        "updated_at": {"type":"string","format":"date-time","nullable":true},
        "mod_count": {"type":"integer"}, "url": {"type":"string"} } });
    let write = json!({ "type": "object", "properties": {
        "write": { "type": "object", "properties": {
            "id": {"type":"integer"}, "status": {"type":"string","enum":["delivered","queued"]},
            "attempts": {"type":"integer"}, "last_error": {"type":"string","nullable":true},
            "next_attempt_at": {"type":"string","format":"date-time"} } },
        "ticket": ticket } });
    let ticket_path = json!([
        path("instance", "ServiceNow instance name, as configured"),
        path("number", "Ticket number: INC…, RITM…, SCTASK…"),
    ]);
    let write_errors = |responses: &mut Map<String, Value>| {
        responses.insert("200".into(), ok("Written to ServiceNow", write.clone()));
        responses.insert(
            "202".into(),
            ok(
                "Queued: ServiceNow is slow or away; the write is delivered when it is back",
                write.clone(),
            ),
        );
        responses.insert(
            "400".into(),
            error("Malformed JSON, an unknown field, or empty or oversized text"),
        );
        responses.insert(
            "404".into(),
            error("Unknown instance, or not a ticket number"),
        );
        responses.insert("409".into(), error("Conflict: the ticket was changed in ServiceNow (closed, reassigned); not overruled"));
        responses.insert(
            "422".into(),
            error("ServiceNow refused the write (business rule, unknown user or group)"),
        );
        body_errors(responses);
    };
    match operation {
        Operation::Tickets => {
            op.insert("parameters".into(), json!([
                query("instance", "One instance only"),
                query("queue", "A configured queue name"),
                query("kind", "incident, sc_req_item or sc_task"),
                query("group", "Assignment group name or sys_id"),
                query("assigned_to", "Assignee login, e-mail, name or sys_id; `me` (needs instance); `none` for unassigned"),
                query("state", "open, closed, new, in_progress, on_hold, pending, work_in_progress, resolved"),
                query("q", "Text in number, description, people, group, item or state"),
                query("sort", "priority (default), updated, opened, number, state; prefix - for descending"),
                query("cursor", "next_cursor of the previous page"),
                { "name": "limit", "in": "query", "required": false,
                  "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }
            ]));
            responses.insert("200".into(), ok("OK", json!({ "type": "object", "properties": {
                "items": { "type": "array", "items": ticket },
                "next_cursor": { "type": "string", "nullable": true },
                "total": { "type": "integer" },
                "sync": { "type": "object", "description": "Per instance: tickets, synced_at, last_error" } } })));
            responses.insert("400".into(), error("An unknown or invalid parameter"));
        }
        Operation::TicketGet => {
            op.insert("parameters".into(), ticket_path);
            responses.insert(
                "200".into(),
                ok(
                    "OK",
                    json!({ "type": "object", "properties": {
                "ticket": ticket, "live": {"type":"boolean"},
                "error": {"type":"string","nullable":true},
                "variables": { "type": "array", "items": { "type": "object", "properties": {
                    "name": {"type":"string"}, "question": {"type":"string"},
                    "value": {"type":"string"}, "masked": {"type":"boolean"} } } },
                "journal": { "type": "array", "items": { "type": "object", "properties": {
                    "element": {"type":"string"}, "value": {"type":"string"},
                    "created_by": {"type":"string"},
                    "created_on": {"type":"string","format":"date-time","nullable":true} } } },
                "jobs": { "type": "array", "items": {"type":"string","format":"uuid"} } } }),
                ),
            );
            responses.insert(
                "404".into(),
                error("Unknown instance, not a ticket number, or no such ticket"),
            );
        }
        Operation::TicketTake => {
            op.insert("parameters".into(), ticket_path);
            op.insert("requestBody".into(), body(json!({
                "assigned_to": {"type":"string","description":"Login, e-mail or sys_id; the adapter's user when left out"},
                "note": {"type":"string","description":"A work note to add"} }), &[]));
            write_errors(responses);
        }
        Operation::TicketNote => {
            op.insert("parameters".into(), ticket_path);
            op.insert("requestBody".into(), body(json!({
                "text": {"type":"string"},
                "visibility": {"type":"string","enum":["work_notes","comments"],"default":"work_notes"} }), &["text"]));
            write_errors(responses);
        }
        Operation::TicketResolve => {
            op.insert("parameters".into(), ticket_path);
            op.insert("requestBody".into(), body(json!({
                "close_notes": {"type":"string"},
                "close_code": {"type":"string","description":"Incidents only; the configured code when left out"} }), &["close_notes"]));
            write_errors(responses);
        }
        Operation::ServiceNowRequest => {
            op.insert(
                "parameters".into(),
                json!([path("instance", "ServiceNow instance name, as configured")]),
            );
            op.insert(
                "requestBody".into(),
                body(
                    json!({
                "table": {"type":"string","enum":["sc_req_item","sc_task"]},
                "sys_id": {"type":"string"} }),
                    &["table", "sys_id"],
                ),
            );
            responses.insert("202".into(), ok("A job was created; it takes and resolves the ticket", json!({"type":"object","description":"The job, as GET /api/v1/jobs/{id} returns it"})));
            responses.insert("200".into(), ok("The request already has a job", json!({"type":"object","description":"The job, as GET /api/v1/jobs/{id} returns it"})));
            responses.insert(
                "400".into(),
                error("Malformed JSON, an unknown field, or a table that is not a catalog record"),
            );
            responses.insert("404".into(), error("Unknown instance, or no such record"));
            responses.insert("409".into(), error("The request is already closed"));
            responses.insert(
                "422".into(),
                error("A person has to fulfil it (the ticket got a work note saying why)"),
            );
            responses.insert("503".into(), error("ServiceNow cannot be reached"));
            body_errors(responses);
        }
        _ => {}
    }
}
