//! The instance's part of the lab control API, under `/_lab/servicenow/{instance}`:
//! faults, settings, call counters and a summary of what the instance holds.

use super::instance::{Instance, SettingsPatch};
use crate::lab::FaultPatch;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

type Instances = Arc<HashMap<String, Arc<Instance>>>;

pub fn router(instances: Instances) -> Router {
    Router::new()
        .route("/_lab/servicenow", get(list))
        .route("/_lab/servicenow/{instance}", get(summary))
        .route(
            "/_lab/servicenow/{instance}/faults",
            get(get_faults).post(set_faults).delete(reset_faults),
        )
        .route(
            "/_lab/servicenow/{instance}/settings",
            get(get_settings).post(set_settings),
        )
        .route(
            "/_lab/servicenow/{instance}/calls",
            get(get_calls).delete(reset_calls),
        )
        .with_state(instances)
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

/// The named instance, or the 404 answer for an unknown name (boxed: a response is large).
fn find(instances: &Instances, name: &str) -> Result<Arc<Instance>, Box<Response>> {
    instances.get(name).cloned().ok_or_else(|| {
        Box::new(
            (
                StatusCode::NOT_FOUND,
                Json(json!({ "error": format!("no ServiceNow instance named '{name}'") })),
            )
                .into_response(),
        )
    })
}

async fn list(State(instances): State<Instances>) -> Response {
    let mut names: Vec<&String> = instances.keys().collect();
    names.sort();
    Json(json!({ "instances": names })).into_response()
}

async fn summary(State(instances): State<Instances>, Path(name): Path<String>) -> Response {
    with_instance(&instances, &name, |instance| {
        let counts: serde_json::Map<String, serde_json::Value> = instance
            .db()
            .counts()
            .into_iter()
            .map(|(table, n)| (table.to_string(), json!(n)))
            .collect();
        Json(json!({
            "name": instance.name,
            "url": instance.base_url(),
            "records": counts,
            "settings": instance.settings(),
            "faults": instance.faults.plan(),
        }))
    })
}

async fn get_faults(State(instances): State<Instances>, Path(name): Path<String>) -> Response {
    with_instance(&instances, &name, |instance| Json(instance.faults.plan()))
}

async fn set_faults(
    State(instances): State<Instances>,
    Path(name): Path<String>,
    body: Result<Json<FaultPatch>, JsonRejection>,
) -> Response {
    apply_patch(&instances, &name, body, |instance, patch| {
        instance.faults.update(patch)
    })
}

async fn reset_faults(State(instances): State<Instances>, Path(name): Path<String>) -> Response {
    with_instance(&instances, &name, |instance| {
        instance.faults.reset();
        Json(instance.faults.plan())
    })
}

async fn get_settings(State(instances): State<Instances>, Path(name): Path<String>) -> Response {
    with_instance(&instances, &name, |instance| Json(instance.settings()))
}

async fn set_settings(
    State(instances): State<Instances>,
    Path(name): Path<String>,
    body: Result<Json<SettingsPatch>, JsonRejection>,
) -> Response {
    apply_patch(&instances, &name, body, |instance, patch| {
        instance.update_settings(patch)
    })
}

async fn get_calls(State(instances): State<Instances>, Path(name): Path<String>) -> Response {
    with_instance(&instances, &name, |instance| Json(instance.calls()))
}

async fn reset_calls(State(instances): State<Instances>, Path(name): Path<String>) -> Response {
    with_instance(&instances, &name, |instance| {
        instance.reset_calls();
        Json(instance.calls())
    })
}

/// Answers with `answer` of the named instance, or the 404 of an unknown name.
fn with_instance<R: IntoResponse>(
    instances: &Instances,
    name: &str,
    answer: impl FnOnce(&Instance) -> R,
) -> Response {
    match find(instances, name) {
        Ok(instance) => answer(&instance).into_response(),
        Err(r) => *r,
    }
}

/// Applies a posted patch to the named instance and answers with the outcome: 404 for an
/// unknown name first, then 400 for a body that does not parse or a patch that is refused.
fn apply_patch<P, T: Serialize>(
    instances: &Instances,
    name: &str,
    body: Result<Json<P>, JsonRejection>,
    update: impl FnOnce(&Instance, &P) -> Result<T, String>,
) -> Response {
    let instance = match find(instances, name) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let patch = match body {
        Ok(Json(patch)) => patch,
        Err(err) => return bad_request(err.body_text()),
    };
    match update(&instance, &patch) {
        Ok(outcome) => Json(outcome).into_response(),
        Err(err) => bad_request(err),
    }
}
