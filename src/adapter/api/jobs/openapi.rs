//! The OpenAPI parts of the job endpoints, next to the handlers they describe.

use serde_json::{Map, Value, json};

use super::super::routes::Operation;
use super::MAX_TARGETS;
use crate::adapter::engine::actions;

/// The OpenAPI parts of the job endpoints (called from the API's OpenAPI document).
pub fn document(
    operation: Operation,
    op: &mut Map<String, Value>,
    responses: &mut Map<String, Value>,
) {
    let error = |d: &str| {
        json!({ "description": d, "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Error" } } } })
    };
    let ok = |status: &str, schema: Value| json!({ "description": status, "content": { "application/json": { "schema": schema } } });
    let progress = json!({ "type": "object", "properties": {
        "total": {"type":"integer"}, "queued": {"type":"integer"}, "running": {"type":"integer"},
        "succeeded": {"type":"integer"}, "failed": {"type":"integer"}, "cancelled": {"type":"integer"} } });
    let attempt = json!({ "type": "object", "properties": {
        "number": {"type":"integer"}, "replica": {"type":"string"},
        "started_at": {"type":"string","format":"date-time"},
        "ended_at": {"type":"string","format":"date-time","nullable":true},
        "outcome": {"type":"string","enum":["succeeded","failed","cancelled"],"nullable":true},
        "error": {"type":"string","nullable":true} } });
    let task = json!({ "type": "object", "properties": {
        "id": {"type":"integer"}, "site": {"type":"string"}, "target_id": {"type":"string"},
        "display_name": {"type":"string"},
        "state": {"type":"string","enum":["queued","running","succeeded","failed","cancelled"]},
        "percent": {"type":"integer"}, "attempt_count": {"type":"integer"},
        "next_attempt_at": {"type":"string","format":"date-time"},
        "result": {"type":"string","nullable":true}, "error": {"type":"string","nullable":true},
        "external_job_id": {"type":"string","nullable":true},
        "attempts": {"type":"array","items": attempt},
        "steps": {"type":"array","items": step(),
            "description": "A workflow's whole plan: recorded steps, then the pending ones"} } });
    let job = json!({ "type": "object", "properties": {
        "id": {"type":"string","format":"uuid"}, "action": {"type":"string"},
        "requested_by": {"type":"string"},
        "ticket": {"type":"object","nullable":true,"properties":{"instance":{"type":"string"},"number":{"type":"string"}}},
        "params": {"type":"object"}, "idempotency_key": {"type":"string","nullable":true},
        "state": {"type":"string","enum":["queued","running","succeeded","failed","partially_failed","cancelled"]},
        "progress": progress, "cancel_requested_at": {"type":"string","format":"date-time","nullable":true},
        "created_at": {"type":"string","format":"date-time"}, "updated_at": {"type":"string","format":"date-time"},
        "result": {"type":"string","nullable":true}, "error": {"type":"string","nullable":true},
        "tasks": {"type":"array","items": task} } });
    let id_param = json!([{ "name": "id", "in": "path", "required": true,
        "description": "Job id", "schema": { "type": "string", "format": "uuid" } }]);
    match operation {
        Operation::JobCreate => {
            op.insert("requestBody".into(), create_body());
            responses.insert("202".into(), ok("Accepted: the job, queued", job));
            responses.insert(
                "200".into(),
                ok(
                    "A repeated request: the existing job",
                    json!({"type":"object"}),
                ),
            );
            responses.insert(
                "400".into(),
                error("Malformed JSON, an unknown field or an empty body"),
            );
            responses.insert(
                "409".into(),
                error("The idempotency key (or ticket and action) belongs to a different request"),
            );
            responses.insert("413".into(), error("Body larger than 1 MiB"));
            responses.insert("415".into(), error("Body that is not application/json"));
            responses.insert("422".into(), error("Unknown action or site, empty, duplicate or too many targets, invalid params, or a user with no sessions"));
        }
        Operation::JobList => {
            op.insert("parameters".into(), json!([
                { "name": "state", "in": "query", "required": false, "schema": { "type": "string",
                  "enum": ["queued","running","succeeded","failed","partially_failed","cancelled"] } },
                { "name": "action", "in": "query", "required": false, "schema": { "type": "string" } },
                { "name": "cursor", "in": "query", "required": false, "schema": { "type": "string" },
                  "description": "next_cursor of the previous page" },
                { "name": "limit", "in": "query", "required": false,
                  "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }
            ]));
            responses.insert(
                "200".into(),
                ok(
                    "OK",
                    json!({ "type": "object", "properties": {
                "items": { "type": "array", "items": job },
                "next_cursor": { "type": "string", "nullable": true } } }),
                ),
            );
            responses.insert("400".into(), error("An unknown or invalid parameter"));
        }
        Operation::JobGet | Operation::JobCancel | Operation::JobRetry => {
            op.insert("parameters".into(), id_param);
            responses.insert("200".into(), ok("OK", job));
            responses.insert("400".into(), error("The id is not a UUID"));
            responses.insert("404".into(), error("No such job"));
            if operation != Operation::JobGet {
                responses.insert(
                    "409".into(),
                    error("Nothing to cancel, or no failed targets to retry"),
                );
            }
        }
        Operation::WorkflowPreview => {
            op.insert("requestBody".into(), create_body());
            let preview = json!({ "type": "object", "properties": {
                "action": {"type":"string"}, "person": {"type":"string"},
                "requester": {"type":"string"},
                "routing": {"type":"object", "description":
                    "The routing explanation: facts, rules checked with reasons, the route"},
                "steps": {"type":"array","items": step()} } });
            responses.insert(
                "200".into(),
                ok("What the job would do; nothing is created", preview),
            );
            responses.insert(
                "400".into(),
                error("Malformed JSON, an unknown field or an empty body"),
            );
            responses.insert(
                "403".into(),
                error("The action needs a role the client lacks"),
            );
            responses.insert("404".into(), error("No directory for the person's domain"));
            responses.insert("413".into(), error("Body larger than 1 MiB"));
            responses.insert("415".into(), error("Body that is not application/json"));
            responses.insert("422".into(), error("Not a workflow, invalid params, an unknown person, an account that already exists (onboarding), no matching route, or a route without the resource asked for"));
        }
        _ => {}
    }
}

/// A workflow step as jobs and previews show it.
fn step() -> Value {
    json!({ "type": "object", "properties": {
        "number": {"type":"integer"}, "kind": {"type":"string"}, "title": {"type":"string"},
        "state": {"type":"string","enum":["pending","running","done","skipped","failed"]},
        "detail": {"type":"string","nullable":true}, "output": {},
        "started_at": {"type":"string","format":"date-time","nullable":true},
        "ended_at": {"type":"string","format":"date-time","nullable":true} } })
}

/// The body of `POST /api/v1/jobs`, also what a workflow preview takes.
fn create_body() -> Value {
    let actions: Vec<&str> = actions::ACTIONS.iter().map(|a| a.name).collect();
    let described: Vec<String> = actions::ACTIONS
        .iter()
        .map(|a| {
            format!(
                "{} (role {}, target {}, params: {})",
                a.name,
                a.role,
                a.target.as_str(),
                a.params
            )
        })
        .collect();
    json!({
    "required": true,
    "content": { "application/json": { "schema": {
        "type": "object", "additionalProperties": false,
        "required": ["action", "targets"],
        "properties": {
            "action": { "type": "string", "enum": actions, "description": described.join("; ") },
            "targets": { "type": "array", "minItems": 1, "maxItems": MAX_TARGETS,
                "items": { "type": "object", "additionalProperties": false,
                    "required": ["site", "id"],
                    "properties": { "site": {"type":"string"}, "id": {"type":"string"} } } },
            "ticket": { "type": "object", "additionalProperties": false,
                "required": ["instance", "number"],
                "properties": { "instance": {"type":"string"}, "number": {"type":"string"} } },
            "params": { "type": "object" },
            "idempotency_key": { "type": "string" }
        } } } }
    })
}
