//! ServiceNow's error envelope `{"error":{"message","detail"},"status":"failure"}` and the
//! answers to injected faults (429 with rate-limit headers, 5xx, outage).

use crate::lab::faults::Fault;
use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error in ServiceNow's envelope.
pub fn error(status: u16, message: &str, detail: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        Json(json!({
            "error": { "message": message, "detail": detail },
            "status": "failure",
        })),
    )
        .into_response()
}

/// The 404 that does not say whether the record is missing or hidden.
pub fn not_found() -> Response {
    error(
        404,
        "No Record found",
        "Record doesn't exist or ACL restricts the record retrieval",
    )
}

pub fn unauthorized() -> Response {
    error(
        401,
        "User Not Authenticated",
        "Required to provide Auth information",
    )
}

pub fn invalid_table(table: &str) -> Response {
    error(
        400,
        &format!("Invalid table {table}"),
        "The table does not exist or is not exposed to the Table API",
    )
}

/// The answer to an injected fault. `now_unix` stamps `X-RateLimit-Reset`.
pub fn fault(fault: Fault, now_unix: i64) -> Response {
    match fault {
        Fault::Throttle { retry_after } => {
            let secs = retry_after.as_secs();
            let mut response = error(
                429,
                "Rate limit exceeded",
                "Rate limit of 100 requests per hour for Table API exceeded",
            );
            let headers = response.headers_mut();
            let reset = now_unix.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX));
            headers.insert("Retry-After", HeaderValue::from(secs));
            headers.insert("X-RateLimit-Limit", HeaderValue::from_static("100"));
            headers.insert("X-RateLimit-Reset", HeaderValue::from(reset));
            headers.insert(
                "X-RateLimit-Rule",
                HeaderValue::from_static("2d8a4a3bdb1203007bf06a8dca96195c"),
            );
            response
        }
        Fault::Error {
            status,
            retry_after,
        } => {
            let message = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Server Error");
            let mut response = error(
                status,
                message,
                "The instance failed to process the request (injected fault)",
            );
            if status == 503 && !retry_after.is_zero() {
                response
                    .headers_mut()
                    .insert("Retry-After", HeaderValue::from(retry_after.as_secs()));
            }
            response
        }
        Fault::Outage => error(
            503,
            "Service Unavailable",
            "The instance is unavailable (down for maintenance or hibernating)",
        ),
    }
}
