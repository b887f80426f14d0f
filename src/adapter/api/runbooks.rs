//! `GET /api/v1/runbooks`: the loaded runbooks (src/adapter/runbooks) with their parameters
//! and steps, so the console can offer a form and a ServiceNow catalog item can be mapped to
//! one.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::AppState;
use crate::adapter::runbooks;

pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let items: Vec<Value> = state
        .runbooks
        .list()
        .iter()
        .map(runbooks::describe)
        .collect();
    Json(json!({ "items": items }))
}

/// The OpenAPI parts of `GET /api/v1/runbooks`.
pub(super) fn openapi(_op: &mut Map<String, Value>, responses: &mut Map<String, Value>) {
    let text = json!({ "type": "string" });
    let param = json!({ "type": "object", "properties": {
        "name": text,
        "type": { "type": "string",
            "enum": ["string", "int", "bool", "duration", "site", "delivery_group", "user"] },
        "required": { "type": "boolean" },
        "default": { "nullable": true,
            "description": "Normalized: a duration as \"4h\", an int as a number" },
        "description": text } });
    let step = json!({ "type": "object", "properties": {
        "name": text, "title": text,
        "action": { "type": "string", "description": "The built-in action the step runs" },
        "targets": { "type": "string", "enum": ["sessions", "machines", "users"] },
        "site": { "type": "string", "nullable": true,
            "description": "The site selected from, or {{param}}" },
        "when": { "type": "string", "nullable": true },
        "on_failure": { "type": "string", "enum": ["stop", "continue"] },
        "wait": { "type": "string", "nullable": true } } });
    let runbook = json!({ "type": "object", "properties": {
        "name": text, "title": text, "description": text,
        "role": { "type": "string", "enum": ["viewer", "helpdesk", "admin"],
            "description": "Who may run it" },
        "file": text,
        "params": { "type": "array", "items": param },
        "steps": { "type": "array", "items": step } } });
    responses.insert(
        "200".into(),
        json!({ "description": "OK", "content": { "application/json": { "schema": {
            "type": "object",
            "properties": { "items": { "type": "array", "items": runbook } } } } } }),
    );
}
