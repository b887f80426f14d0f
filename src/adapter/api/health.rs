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

pub async fn readyz(State(state): State<AppState>) -> Response {
    // A real read of a small table: an open pool on a deleted or locked database fails here.
    match state.store.site_flags().await {
        Ok(_) => Json(json!({ "status": "ready" })).into_response(),
        Err(e) => {
            ApiError::unavailable(format!("the store cannot be reached: {e}")).into_response()
        }
    }
}
