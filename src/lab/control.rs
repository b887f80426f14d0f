//! The lab's control API under `/_lab`: the clock here, faults and connectors from each simulator.

use super::SimClock;
use super::cvad::CvadLab;
use super::servicenow::SnLab;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

pub fn router(clock: SimClock, cvad: &CvadLab, servicenow: &SnLab) -> Router {
    Router::new()
        .route("/_lab/clock", get(get_clock).post(set_clock))
        .with_state(clock)
        .merge(cvad.control_router())
        .merge(servicenow.control_router())
}

async fn get_clock(State(clock): State<SimClock>) -> Json<serde_json::Value> {
    Json(json!({ "now": clock.now().to_rfc3339(), "speed": clock.speed() }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockChange {
    #[serde(default)]
    advance_secs: Option<f64>,
    #[serde(default)]
    speed: Option<f64>,
}

async fn set_clock(
    State(clock): State<SimClock>,
    body: Result<Json<ClockChange>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let change = match body {
        Ok(Json(change)) => change,
        Err(err) => return bad_request(err.body_text()),
    };
    if let Some(secs) = change.advance_secs {
        if !(secs.is_finite() && secs >= 0.0) {
            return bad_request(format!(
                "advance_secs must be a non-negative number, got {secs}"
            ));
        }
        clock.advance(Duration::from_secs_f64(secs));
    }
    if let Some(speed) = change.speed {
        if !(speed.is_finite() && speed >= 0.0) {
            return bad_request(format!("speed must be a non-negative number, got {speed}"));
        }
        clock.set_speed(speed);
    }
    get_clock(State(clock)).await.into_response()
}

/// The control API's own error shape: `{"error": "..."}` with a 400.
pub(crate) fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}
