//! The Orchestration API's error answers: lower-case `{type, detail, parameters}` bodies with
//! `https://errors-api.cloud.com/...` types, as [`ApiError`] values routes return.

use crate::cvad::wire::{ErrorBody, ErrorParameter};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const TYPE_BASE: &str = "https://errors-api.cloud.com/";

/// The detail text CVAD uses when a zone's connectors are all down.
pub const OUTAGE_DETAIL: &str = "Hcl request is not allowed when connector is in outage mode";
/// The job error CVAD reports when no connector of a zone could run the job.
pub const NO_CONNECTOR: &str = "No Citrix Workspace Cloud Connector was found";

/// One error answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    /// The part after the type base, e.g. `common/notFound`.
    pub kind: &'static str,
    pub detail: String,
    pub parameters: Vec<(String, String)>,
    /// Adds a `Retry-After` header (seconds).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            parameters: Vec::new(),
            retry_after: None,
        }
    }

    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.parameters.push((name.to_string(), value.into()));
        self
    }

    pub fn not_found(entity: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "common/notFound",
            format!("{entity} '{id}' was not found"),
        )
        .param("entityType", entity)
        .param("id", id)
    }

    /// `reason` is `missing` or `invalid`.
    pub fn unauthenticated(reason: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "common/authentication",
            "Missing or invalid authentication details",
        )
        .param("reason", reason)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "common/authorization", detail)
    }

    pub fn missing(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "common/missing",
            format!("{name} is required"),
        )
        .param("name", name)
    }

    pub fn invalid_json(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "common/invalidJson", detail)
    }

    pub fn invalid_enum(name: &str, value: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "common/invalidEnum",
            format!("'{value}' is not a valid value for {name}"),
        )
        .param("name", name)
        .param("value", value)
    }

    pub fn invalid_string(name: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "common/invalidString", detail).param("name", name)
    }

    pub fn out_of_range(name: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "common/outOfRange", detail).param("name", name)
    }

    /// A request that is well formed but makes no sense in the object's current state.
    pub fn invalid_operation(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "common/invalidOperation", detail)
    }

    /// A write that touches a zone whose connectors are all down.
    pub fn connector_outage(zone: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "common/serviceUnavailable",
            OUTAGE_DETAIL,
        )
        .param("zone", zone)
    }

    pub fn rate_limited(retry_secs: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "common/rateLimitExceeded",
            format!("Rate limit exceeded, try again in {retry_secs} seconds"),
        )
        .param("retryDelay", retry_secs.to_string());
        err.retry_after = Some(retry_secs);
        err
    }

    pub fn unavailable(status: StatusCode, retry_secs: u64) -> Self {
        let mut err = Self::new(
            status,
            "common/serviceUnavailable",
            "The service is temporarily unavailable",
        )
        .param("retryDelay", retry_secs.to_string());
        err.retry_after = Some(retry_secs);
        err
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            kind: format!("{TYPE_BASE}{}", self.kind),
            detail: self.detail.clone(),
            parameters: self
                .parameters
                .iter()
                .map(|(name, value)| ErrorParameter {
                    name: name.clone(),
                    value: value.clone(),
                })
                .collect(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
