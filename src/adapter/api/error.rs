//! The API's one error shape, `{"error":{"code":…,"message":…}}`, and the conversions that put
//! every failure (axum's own rejections, store errors, unknown routes) into it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::adapter::store::StoreError;

/// What the guard records in the audit log about a call's outcome, carried from the handler
/// (or from an error) to the guard in the response's extensions.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    pub message: Option<String>,
    /// What the call acted on, when its path does not say (a job's targets); replaces the
    /// targets taken from the path.
    pub targets: Option<serde_json::Value>,
}

/// An error answered to an API caller. The message is for a person: it says what is wrong and,
/// where it can, what to do. It never contains a secret.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// A store failure. Its text names tables and columns, never secrets, so it is safe to
    /// show; the caller learns that the fault is on the adapter's side and may retry.
    pub fn store(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { what, id } => Self::not_found(format!("{what} {id} not found")),
            StoreError::Invalid(message) => Self::bad_request(message),
            StoreError::Database(e) => {
                tracing::error!(error = %e, "store unreachable");
                Self::unavailable(format!("the adapter's store cannot be reached: {e}"))
            }
            other => {
                tracing::error!(error = %other, "store error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("the adapter's store failed: {other}"),
                )
            }
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750 §3: a 401 for a bearer-protected resource names the scheme.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"deskbridge\""),
            );
        }
        response.extensions_mut().insert(AuditNote {
            message: Some(self.message),
            targets: None,
        });
        response
    }
}

/// Turns any axum rejection (path, query, body) into the JSON shape, keeping its status and
/// its explanation, which names the parameter or field at fault.
pub fn from_rejection(status: StatusCode, text: String) -> ApiError {
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "the request body is larger than the {} bytes allowed",
            super::MAX_BODY_BYTES
        )
    } else {
        text
    };
    ApiError::new(status, code, message)
}

/// Answer for a path no route matches.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!(
        "no such endpoint: {}; GET /api/v1/openapi.json lists them",
        uri.path()
    ))
}

/// Answer for a path that exists but not with this method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {}; GET /api/v1/openapi.json lists the methods",
            uri.path()
        ),
    )
}
