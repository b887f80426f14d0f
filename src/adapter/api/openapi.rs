//! The OpenAPI 3.0 document served at `/api/v1/openapi.json`, built from the route table.
//!
//! Hand-built with serde_json rather than derived with a crate such as utoipa: the route table
//! already holds every path, method and role, so walking it cannot leave a route out or
//! document one that does not exist, and it costs no proc-macro dependency. The shapes below
//! are written next to the table entries they describe.

use axum::Json;
use axum::extract::State;
use serde_json::{Map, Value, json};

use super::AppState;
use super::routes::{Access, Operation, ROUTES, RouteSpec};

fn error_ref(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

fn ok(schema: Value) -> Value {
    json!({ "description": "OK", "content": { "application/json": { "schema": schema } } })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn string_param(name: &str, location: &str, description: &str) -> Value {
    json!({
        "name": name, "in": location, "required": location == "path",
        "description": description, "schema": { "type": "string" }
    })
}

/// The operation-specific parts: parameters, request body and the success response.
fn specifics(spec: &RouteSpec, op: &mut Map<String, Value>, responses: &mut Map<String, Value>) {
    match spec.operation {
        Operation::Token => {
            op.insert("requestBody".into(), json!({
                "required": true,
                "content": { "application/x-www-form-urlencoded": { "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": { "type": "string", "enum": ["client_credentials"] },
                        "client_id": { "type": "string", "description": "Unless HTTP Basic is used" },
                        "client_secret": { "type": "string", "description": "Unless HTTP Basic is used" }
                    }
                } } }
            }));
            op.insert("security".into(), json!([{}, { "clientBasic": [] }]));
            responses.insert("200".into(), ok(schema_ref("Token")));
            let oauth = |d: &str| {
                json!({ "description": d, "content": { "application/json": {
                "schema": schema_ref("OAuthError") } } })
            };
            responses.insert(
                "400".into(),
                oauth("invalid_request or unsupported_grant_type (RFC 6749 §5.2)"),
            );
            responses.insert("401".into(), oauth("invalid_client, with WWW-Authenticate"));
            responses.insert(
                "413".into(),
                oauth("invalid_request: body larger than 1 MiB"),
            );
            responses.insert(
                "503".into(),
                oauth("temporarily_unavailable: the store cannot be reached"),
            );
        }
        Operation::Healthz => {
            responses.insert(
                "200".into(),
                ok(json!({ "type": "object",
                "properties": { "status": { "type": "string", "enum": ["ok"] } } })),
            );
        }
        Operation::Readyz => {
            responses.insert(
                "200".into(),
                ok(json!({ "type": "object",
                "properties": { "status": { "type": "string", "enum": ["ready"] } } })),
            );
            responses.insert("503".into(), error_ref("The store cannot be reached"));
        }
        Operation::Metrics => {
            responses.insert(
                "200".into(),
                json!({
                    "description": "The metrics in the Prometheus text format 0.0.4 (docs/metrics.md)",
                    "content": { (crate::adapter::metrics::CONTENT_TYPE): { "schema": { "type": "string" } } }
                }),
            );
        }
        Operation::OpenApi => {
            responses.insert("200".into(), ok(json!({ "type": "object" })));
        }
        Operation::Whoami => {
            responses.insert("200".into(), ok(schema_ref("Whoami")));
        }
        Operation::Audit => {
            op.insert("parameters".into(), json!([
                string_param("actor", "query", "API client name or id"),
                string_param("action", "query", "Action, e.g. site.disable"),
                { "name": "since", "in": "query", "required": false,
                  "description": "Entries at or after this time",
                  "schema": { "type": "string", "format": "date-time" } },
                string_param("text", "query", "Case-insensitive text anywhere in the entry"),
                { "name": "cursor", "in": "query", "required": false,
                  "description": "next_cursor of the previous page", "schema": { "type": "integer" } },
                { "name": "limit", "in": "query", "required": false,
                  "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 } }
            ]));
            responses.insert("200".into(), ok(schema_ref("AuditPage")));
            responses.insert("400".into(), error_ref("An unknown or invalid parameter"));
        }
        Operation::Sites
        | Operation::DeliveryGroups
        | Operation::Machines
        | Operation::Sessions
        | Operation::Users
        | Operation::SiteSessions
        | Operation::SiteMachines => super::inventory::openapi(spec.operation, op, responses),
        Operation::JobCreate
        | Operation::JobList
        | Operation::JobGet
        | Operation::JobCancel
        | Operation::JobRetry
        | Operation::WorkflowPreview => super::jobs::document(spec.operation, op, responses),
        Operation::Tickets
        | Operation::TicketGet
        | Operation::TicketTake
        | Operation::TicketNote
        | Operation::TicketResolve
        | Operation::ServiceNowRequest => super::tickets::document(spec.operation, op, responses),
        Operation::Accounts
        | Operation::AccountGet
        | Operation::PasswordPolicy
        | Operation::PasswordCheck
        | Operation::SecurityCodeEnroll => super::accounts::openapi(spec.operation, op, responses),
        Operation::RoutingExplain | Operation::RoutingRules => {
            super::routing::openapi(spec.operation, op, responses)
        }
        Operation::IdlePowerOff => super::idle::openapi(op, responses),
        Operation::Runbooks => super::runbooks::openapi(op, responses),
        Operation::Reports | Operation::ReportGet => {
            super::reports::openapi(spec.operation, op, responses)
        }
        Operation::Events => {
            op.insert("parameters".into(), json!([
                { "name": "Last-Event-ID", "in": "header", "required": false,
                  "description": "Resume after this event id (SSE reconnect)",
                  "schema": { "type": "integer", "minimum": 0 } },
                { "name": "since", "in": "query", "required": false,
                  "description": "Same as Last-Event-ID, for clients that cannot set headers",
                  "schema": { "type": "integer", "minimum": 0 } },
                string_param("kinds", "query", "Comma-separated: job, task, inventory, ticket, site")
            ]));
            responses.insert(
                "200".into(),
                json!({
                    "description": "An event stream. The first message, `hello`, states where it \
                        resumes and the retention window (24 h, at most 100,000 events); each \
                        later message has the event id as its SSE id and the kind as its SSE event \
                        name. A `reset` message means events the client asked for were pruned.",
                    "content": { "text/event-stream": { "schema": { "type": "string" } } }
                }),
            );
            responses.insert(
                "400".into(),
                error_ref("A bad Last-Event-ID, since or kinds"),
            );
        }
        Operation::SiteEnable | Operation::SiteDisable => {
            op.insert(
                "parameters".into(),
                json!([string_param("name", "path", "Site name")]),
            );
            op.insert("requestBody".into(), json!({
                "required": false,
                "content": { "application/json": { "schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": { "reason": { "type": "string", "description": "Recorded in the audit log" } }
                } } }
            }));
            responses.insert("200".into(), ok(schema_ref("Site")));
            responses.insert(
                "400".into(),
                error_ref("Malformed JSON or an unknown field"),
            );
            responses.insert("404".into(), error_ref("No such site"));
            responses.insert("413".into(), error_ref("Body larger than 1 MiB"));
            responses.insert("415".into(), error_ref("Body that is not application/json"));
        }
    }
}

fn operation(spec: &RouteSpec) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), json!(format!("{:?}", spec.operation)));
    op.insert("summary".into(), json!(spec.summary));
    let mut responses = Map::new();
    match spec.access {
        Access::Public => {
            op.insert("security".into(), json!([]));
        }
        Access::Role(role) => {
            op.insert("security".into(), json!([{ "bearer": [] }]));
            op.insert("x-deskbridge-role".into(), json!(role));
            op.insert(
                "description".into(),
                json!(format!(
                    "Needs a bearer token of a client with role {} or higher.",
                    role.as_str()
                )),
            );
            responses.insert(
                "401".into(),
                error_ref("No, malformed, tampered or expired token, or a disabled client"),
            );
            responses.insert("403".into(), error_ref("The client's role is too low"));
            responses.insert(
                "503".into(),
                error_ref("The adapter's store cannot be reached"),
            );
        }
    }
    if spec.mutating {
        op.insert("x-deskbridge-audit-action".into(), json!(spec.action));
    }
    specifics(spec, &mut op, &mut responses);
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

fn components() -> Value {
    json!({
        "securitySchemes": {
            "bearer": { "type": "http", "scheme": "bearer",
                        "description": "A token from POST /api/v1/token" },
            "clientBasic": { "type": "http", "scheme": "basic",
                             "description": "Client id and secret at the token endpoint" }
        },
        "schemas": {
            "Error": { "type": "object", "required": ["error"], "properties": { "error": {
                "type": "object", "required": ["code", "message"], "properties": {
                    "code": { "type": "string", "example": "forbidden" },
                    "message": { "type": "string" } } } } },
            "OAuthError": { "type": "object", "required": ["error"], "properties": {
                "error": { "type": "string", "enum": ["invalid_request", "invalid_client",
                    "unsupported_grant_type", "temporarily_unavailable"] },
                "error_description": { "type": "string" } } },
            "Token": { "type": "object", "required": ["access_token", "token_type", "expires_in"],
                "properties": {
                    "access_token": { "type": "string" },
                    "token_type": { "type": "string", "enum": ["Bearer"] },
                    "expires_in": { "type": "integer", "description": "Seconds" } } },
            "Account": super::accounts::account_schema(),
            "Whoami": { "type": "object", "properties": {
                "client_id": { "type": "string", "format": "uuid" },
                "name": { "type": "string" },
                "role": { "type": "string", "enum": ["viewer", "helpdesk", "admin"] },
                "token_expires_at": { "type": "string", "format": "date-time" } } },
            "AuditEntry": { "type": "object", "properties": {
                "id": { "type": "integer" },
                "at": { "type": "string", "format": "date-time" },
                "actor_id": { "type": "string", "format": "uuid", "nullable": true },
                "actor_name": { "type": "string" },
                "action": { "type": "string" },
                "targets": {},
                "ticket": { "type": "object", "nullable": true },
                "outcome": { "type": "string", "enum": ["allowed", "denied", "succeeded", "failed"] },
                "message": { "type": "string", "nullable": true },
                "request_id": { "type": "string", "nullable": true } } },
            "AuditPage": { "type": "object", "properties": {
                "items": { "type": "array", "items": { "$ref": "#/components/schemas/AuditEntry" } },
                "next_cursor": { "type": "integer", "nullable": true } } },
            "Site": { "type": "object", "properties": {
                "name": { "type": "string" },
                "kind": { "type": "string", "enum": ["onprem", "cloud"] },
                "enabled": { "type": "boolean" },
                "enabled_in_config": { "type": "boolean" },
                "endpoints": { "type": "array", "items": { "type": "string" } },
                "customer_id": { "type": "string" },
                "site_id": { "type": "string" },
                "changed_by": { "type": "string", "nullable": true },
                "changed_at": { "type": "string", "format": "date-time", "nullable": true } } }
        }
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for spec in ROUTES {
        let item = paths
            .entry(spec.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(spec.method.as_str().to_ascii_lowercase(), operation(spec));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "deskbridge adapter API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Errors are {\"error\":{\"code\",\"message\"}} except at the token \
                endpoint, which answers RFC 6749 errors. Every response carries X-Request-Id."
        },
        "paths": paths,
        "components": components(),
    })
}

pub async fn serve(State(_state): State<AppState>) -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_exactly_the_route_table() {
        let doc = document();
        let mut documented = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                documented.push(format!("{} {path}", method.to_ascii_uppercase()));
            }
        }
        let mut routed: Vec<String> = ROUTES.iter().map(RouteSpec::describe).collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }
}
