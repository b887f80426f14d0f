//! `/healthz` (the process answers) and `/readyz` (the adapter can do its work: the store
//! answers a query). Both are public: process managers and load balancers probe them.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use super::error::ApiError;

pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// How long `/readyz` waits for the store: a pool waiting for a connection to a database
/// that is gone would otherwise hold the probe until the prober gives up, and a load balancer
/// learns nothing.
const READY_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn readyz(State(state): State<AppState>) -> Response {
    // A real read of a small table: an open pool on a deleted or locked database fails here.
    match tokio::time::timeout(READY_PATIENCE, state.store.site_flags()).await {
        // The replica's id, so whoever probes through a load balancer sees which one answered
        // (the same id as the `replica` of the job attempts it runs).
        Ok(Ok(_)) => Json(json!({
            "status": "ready",
            "replica": state.jobs.as_ref().map(|jobs| jobs.group().id().to_owned()),
        }))
        .into_response(),
        Ok(Err(e)) => {
            ApiError::unavailable(format!("the store cannot be reached: {e}")).into_response()
        }
        Err(_) => ApiError::unavailable(format!(
            "the store cannot be reached: no answer within {} s",
            READY_PATIENCE.as_secs()
        ))
        .into_response(),
    }
}
