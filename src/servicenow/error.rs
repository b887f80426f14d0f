//! Errors of the ServiceNow client: the failure envelope decoded into a message for a person,
//! and the retryable/permanent classification the job engine relies on.

use super::query::QueryError;
use serde::Deserialize;
use std::time::Duration;

/// Anything a ServiceNow call can fail with. Messages name the instance, the method and the
/// table (and record) so an operator can act on them; they never carry credentials or tokens.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The instance answered with an error status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The request did not get an HTTP answer.
    #[error("ServiceNow {instance}: {method} {target} failed: {kind}: {message}")]
    Transport {
        instance: String,
        method: String,
        target: String,
        kind: TransportKind,
        message: String,
    },
    /// The OAuth token endpoint refused to issue a token (bad client or user credentials).
    #[error("ServiceNow {instance}: could not obtain an OAuth token ({grant} grant): {message}")]
    Auth {
        instance: String,
        grant: &'static str,
        status: Option<u16>,
        message: String,
    },
    /// A response or a field did not have the expected shape.
    #[error("ServiceNow {instance}: {table}{}{}: {message}",
        sys_id.as_deref().map(|s| format!("/{s}")).unwrap_or_default(),
        field.as_deref().map(|f| format!(" field `{f}`")).unwrap_or_default())]
    Decode {
        instance: String,
        table: String,
        sys_id: Option<String>,
        field: Option<String>,
        message: String,
    },
    #[error("ServiceNow query refused: {0}")]
    Query(#[from] QueryError),
    /// A caller asked for something the client cannot send (bad table name, bad URL, …).
    #[error("ServiceNow {instance}: {message}")]
    Invalid { instance: String, message: String },
}

/// An error status from the instance, with its decoded envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ServiceNow {instance}: {method} {target} {}", api_text(*status, message, detail.as_deref()))]
pub struct ApiError {
    pub instance: String,
    pub method: String,
    /// `table` or `table/sys_id` (or the path for non-table APIs).
    pub target: String,
    pub status: u16,
    pub message: String,
    pub detail: Option<String>,
    /// The `Retry-After` the instance asked for, if any.
    pub retry_after: Option<Duration>,
}

/// What kind of network failure a [`Error::Transport`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Timeout,
    Connect,
    /// The answer started but broke off (a truncated body).
    Incomplete,
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Timeout => "timed out",
            TransportKind::Connect => "could not connect",
            TransportKind::Incomplete => "answer broke off",
            TransportKind::Other => "network error",
        })
    }
}

fn api_text(status: u16, message: &str, detail: Option<&str>) -> String {
    let mut out = match status {
        404 => format!("not found (404, missing or hidden by ACL): {message}"),
        _ => format!("refused ({status}): {message}"),
    };
    if let Some(detail) = detail.filter(|d| !d.is_empty() && *d != message) {
        out.push_str(": ");
        out.push_str(detail);
    }
    out
}

impl Error {
    /// The HTTP status, when the instance answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Auth { status, .. } => *status,
            _ => None,
        }
    }

    /// Whether trying again later may succeed: 429, 5xx, timeouts and connection failures.
    /// 400, 401 (after renewal), 403, 404 and 409 are permanent.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Api(api) => is_retryable_status(api.status),
            Error::Transport { kind, .. } => {
                matches!(
                    kind,
                    TransportKind::Timeout | TransportKind::Connect | TransportKind::Incomplete
                )
            }
            Error::Auth { status, .. } => status.is_some_and(is_retryable_status),
            _ => false,
        }
    }

    /// "missing or hidden by ACL": ServiceNow does not tell the two apart.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    pub(crate) fn decode(
        instance: &str,
        table: &str,
        sys_id: Option<&str>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Error::Decode {
            instance: instance.to_owned(),
            table: table.to_owned(),
            sys_id: sys_id.map(str::to_owned),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

#[derive(Deserialize)]
struct Envelope {
    error: EnvelopeError,
}

#[derive(Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

/// Reads `{"error":{"message","detail"},"status":"failure"}`; falls back to the status text and
/// a short excerpt of any other body (a proxy's HTML page, say) so the message still helps.
pub(crate) fn parse_envelope(status: u16, body: &str) -> (String, Option<String>) {
    if let Ok(env) = serde_json::from_str::<Envelope>(body) {
        let message = env
            .error
            .message
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| reason(status).to_owned());
        return (message, env.error.detail.filter(|d| !d.is_empty()));
    }
    let excerpt: String = body.trim().chars().take(200).collect();
    let detail = (!excerpt.is_empty()).then_some(excerpt);
    (reason(status).to_owned(), detail)
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("unexpected status")
}

/// Reads an OAuth error answer (`{"error":"invalid_grant","error_description":"…"}`), or the
/// Table API envelope some instances use for it, without echoing anything from the request.
pub(crate) fn parse_oauth_error(status: u16, body: &str) -> String {
    #[derive(Deserialize)]
    struct OAuthError {
        error: serde_json::Value,
        #[serde(default)]
        error_description: Option<String>,
    }
    if let Ok(e) = serde_json::from_str::<OAuthError>(body)
        && let serde_json::Value::String(code) = &e.error
    {
        return match e.error_description.filter(|d| !d.is_empty()) {
            Some(desc) => format!("{code}: {desc} (HTTP {status})"),
            None => format!("{code} (HTTP {status})"),
        };
    }
    let (message, detail) = parse_envelope(status, body);
    match detail {
        Some(detail) => format!("{message}: {detail} (HTTP {status})"),
        None => format!("{message} (HTTP {status})"),
    }
}

/// Parses `Retry-After` given in seconds (ServiceNow's form); HTTP dates are not used by it.
pub(crate) fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    let secs: f64 = value?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, body: &str) -> Error {
        let (message, detail) = parse_envelope(status, body);
        Error::Api(Box::new(ApiError {
            instance: "lab".into(),
            method: "PATCH".into(),
            target: "incident/abc".into(),
            status,
            message,
            detail,
            retry_after: None,
        }))
    }

    #[test]
    fn envelopes_become_clear_messages() {
        let e = api(
            403,
            r#"{"error":{"message":"Operation Failed","detail":"Data policy: close_code is mandatory"},"status":"failure"}"#,
        );
        assert_eq!(
            e.to_string(),
            "ServiceNow lab: PATCH incident/abc refused (403): Operation Failed: Data policy: close_code is mandatory"
        );
        assert!(!e.is_retryable());
        let e = api(
            404,
            r#"{"error":{"message":"No Record found","detail":"Record doesn't exist or ACL restricts the record retrieval"},"status":"failure"}"#,
        );
        assert!(e.to_string().contains("missing or hidden by ACL"));
        assert!(e.is_not_found());
        let e = api(502, "<html>Bad gateway</html>");
        assert_eq!(
            e.to_string(),
            "ServiceNow lab: PATCH incident/abc refused (502): Bad Gateway: <html>Bad gateway</html>"
        );
        assert!(e.is_retryable());
    }

    #[test]
    fn statuses_are_classified() {
        for s in [429, 500, 502, 503, 504] {
            assert!(api(s, "").is_retryable(), "{s}");
        }
        for s in [400, 401, 403, 404, 409] {
            assert!(!api(s, "").is_retryable(), "{s}");
        }
    }

    #[test]
    fn oauth_errors_and_retry_after_parse() {
        assert_eq!(
            parse_oauth_error(
                401,
                r#"{"error":"access_denied","error_description":"bad"}"#
            ),
            "access_denied: bad (HTTP 401)"
        );
        assert_eq!(parse_retry_after(Some(" 3 ")), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(Some("soon")), None);
        assert_eq!(parse_retry_after(None), None);
    }
}
