//! `GET /api/v1/reports` (the catalog: each report with its description and parameters) and
//! `GET /api/v1/reports/{name}` (one report, made now from the inventory's snapshots, the
//! ticket books or the store). An unknown report is a 404; a bad or unknown parameter a 422
//! naming it.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::body::{ApiPath, ApiQuery};
use super::error::ApiError;
use super::routes::Operation;
use crate::adapter::reports::{
    CATALOG, Report, ReportError, ReportInfo, Request, jobs, resources, tickets,
};

/// The catalog's answer.
#[derive(Debug, Serialize)]
pub struct ReportList {
    pub items: &'static [ReportInfo],
    pub total: usize,
}

/// `GET /api/v1/reports`.
pub async fn list(State(_state): State<AppState>) -> Json<ReportList> {
    Json(ReportList {
        items: CATALOG,
        total: CATALOG.len(),
    })
}

fn refused(err: ReportError) -> ApiError {
    match err {
        ReportError::UnknownReport { .. } => ApiError::not_found(err.to_string()),
        ReportError::BadParameter(message) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
        }
    }
}

/// `GET /api/v1/reports/{name}`.
pub async fn get(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(params): ApiQuery<BTreeMap<String, String>>,
) -> Result<Json<Report>, ApiError> {
    let sites: Vec<&str> = state.config.sites.iter().map(|s| s.name.as_str()).collect();
    let request = Request::parse(&name, &params, &sites).map_err(refused)?;
    Ok(Json(make(&state, &request).await?))
}

/// Gathers the report's inputs and builds it.
pub async fn make(state: &AppState, request: &Request) -> Result<Report, ApiError> {
    let now = Utc::now();
    match request {
        Request::Resources { site } => {
            let states = state.inventory.states();
            let sites: Vec<(&str, &crate::adapter::inventory::SiteState)> =
                states.iter().map(|(n, s)| (*n, s.as_ref())).collect();
            Ok(resources::build(now, &sites, site.as_deref()))
        }
        Request::Tickets => {
            // Each book's rows are an `Arc` snapshot: held while the report counts them.
            let books: Vec<_> = state
                .tickets
                .instances()
                .map(|i| (i.ctx.config.name.clone(), i.book.status(), i.book.rows()))
                .collect();
            let instances: Vec<tickets::InstanceTickets<'_>> = books
                .iter()
                .map(|(name, status, rows)| tickets::InstanceTickets {
                    name,
                    synced_at: status.synced_at,
                    error: status.last_error.clone(),
                    tickets: rows.iter().map(|r| &r.item).collect(),
                })
                .collect();
            Ok(tickets::build(now, &instances))
        }
        Request::Jobs {
            since,
            since_text,
            by,
        } => {
            let buckets = state
                .store
                .job_outcomes(jobs::window_start(now, *since), by.width())
                .await
                .map_err(ApiError::store)?;
            Ok(jobs::build(now, since_text, *by, &buckets))
        }
    }
}

/// The OpenAPI parts of the report endpoints.
pub fn openapi(
    operation: Operation,
    op: &mut Map<String, Value>,
    responses: &mut Map<String, Value>,
) {
    let error = |d: &str| {
        json!({ "description": d, "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Error" } } } })
    };
    let ok = |schema: Value| json!({ "description": "OK", "content": { "application/json": { "schema": schema } } });
    match operation {
        Operation::Reports => {
            responses.insert(
                "200".into(),
                ok(json!({ "type": "object", "properties": {
                    "total": { "type": "integer" },
                    "items": { "type": "array", "items": { "type": "object", "properties": {
                        "name": { "type": "string", "enum": CATALOG.iter().map(|r| r.name).collect::<Vec<_>>() },
                        "title": { "type": "string" },
                        "description": { "type": "string" },
                        "parameters": { "type": "array", "items": { "type": "object", "properties": {
                            "name": { "type": "string" },
                            "description": { "type": "string" },
                            "default": { "type": "string", "nullable": true },
                            "values": { "type": "array", "items": { "type": "string" } } } } } } } } } })),
            );
        }
        _ => {
            let mut parameters = vec![json!({
                "name": "name", "in": "path", "required": true,
                "description": "The report",
                "schema": { "type": "string", "enum": CATALOG.iter().map(|r| r.name).collect::<Vec<_>>() }
            })];
            for report in CATALOG {
                for p in report.parameters {
                    let mut schema = json!({ "type": "string" });
                    if !p.values.is_empty() {
                        schema["enum"] = json!(p.values);
                    }
                    if let Some(default) = p.default {
                        schema["default"] = json!(default);
                    }
                    parameters.push(json!({
                        "name": p.name, "in": "query", "required": false,
                        "description": format!("{} report: {}", report.name, p.description),
                        "schema": schema
                    }));
                }
            }
            op.insert("parameters".into(), Value::Array(parameters));
            let column = json!({ "type": "object", "properties": {
                "name": { "type": "string" }, "title": { "type": "string" },
                "numeric": { "type": "boolean" } } });
            let source = json!({ "type": "object", "properties": {
                "kind": { "type": "string", "enum": ["site", "instance", "store"] },
                "name": { "type": "string" },
                "fetched_at": { "type": "string", "format": "date-time", "nullable": true },
                "data_age": { "type": "integer", "nullable": true, "description": "Seconds" },
                "degraded": { "type": "boolean" },
                "error": { "type": "string", "nullable": true } } });
            responses.insert(
                "200".into(),
                ok(json!({ "type": "object", "properties": {
                    "name": { "type": "string" },
                    "title": { "type": "string" },
                    "parameters": { "type": "object", "additionalProperties": { "type": "string" } },
                    "columns": { "type": "array", "items": column },
                    "rows": { "type": "array", "items": { "type": "array",
                        "items": { "description": "A string or a count, as its column says" } } },
                    "generated_at": { "type": "string", "format": "date-time" },
                    "sources": { "type": "array", "items": source } } })),
            );
            responses.insert("404".into(), error("No report of that name"));
            responses.insert(
                "422".into(),
                error("A parameter the report does not take, or a bad value (site, since, by)"),
            );
        }
    }
}
