//! The client's one error type. Each variant says which side a failure is on, because the
//! console reacts differently: the adapter away (keep the last data, show it in the header,
//! retry), the operator's request refused (show the adapter's message), the adapter failing
//! (show it, the operator may try again later).

use std::time::Duration;

use serde::Deserialize;

/// A failed call, with a message for a person. It never holds a secret or a token: the
/// adapter's messages hold none, and transport errors are shown without their URL's query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Nothing answered: connection refused or reset, name not found, TLS failure.
    #[error("the adapter at {base} cannot be reached ({call}): {detail}")]
    Unreachable {
        base: String,
        call: String,
        detail: String,
    },
    /// The adapter did not answer in time.
    #[error("the adapter did not answer {call} within {} s", .after.as_secs_f32())]
    Timeout { call: String, after: Duration },
    /// 4xx: the request was wrong, not allowed, or conflicts with what exists.
    #[error("{message} ({call}: {status} {code})")]
    Rejected {
        call: String,
        status: u16,
        code: String,
        message: String,
    },
    /// 5xx: the adapter, or something behind it, failed.
    #[error("the adapter failed: {message} ({call}: {status} {code})")]
    Server {
        call: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The adapter answered, but not in the form its API documents (a version mismatch, or
    /// something else listening at the address).
    #[error("the answer to {call} cannot be read: {detail}")]
    Decode { call: String, detail: String },
    /// The client was set up wrong (a base URL that is not one).
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// The adapter is away (unreachable or too slow): keep the last data and retry later.
    pub fn is_adapter_away(&self) -> bool {
        matches!(
            self,
            ClientError::Unreachable { .. } | ClientError::Timeout { .. }
        )
    }

    /// The operator's request was refused (4xx).
    pub fn is_rejected(&self) -> bool {
        matches!(self, ClientError::Rejected { .. })
    }

    /// The adapter failed (5xx).
    pub fn is_server_error(&self) -> bool {
        matches!(self, ClientError::Server { .. })
    }

    /// The HTTP status, when the adapter answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Rejected { status, .. } | ClientError::Server { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }

    /// The adapter's error code (`bad_request`, `conflict`, `invalid_client`…).
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Rejected { code, .. } | ClientError::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The adapter's own message for an error answer, else the whole description.
    pub fn message(&self) -> String {
        match self {
            ClientError::Rejected { message, .. } | ClientError::Server { message, .. } => {
                message.clone()
            }
            other => other.to_string(),
        }
    }

    /// Builds the error for a non-success answer from its status and body.
    pub(crate) fn from_answer(call: &str, status: u16, body: &[u8]) -> ClientError {
        let (code, message) = read_error_body(status, body);
        let call = call.to_owned();
        if status >= 500 {
            ClientError::Server {
                call,
                status,
                code,
                message,
            }
        } else {
            ClientError::Rejected {
                call,
                status,
                code,
                message,
            }
        }
    }

    /// Classifies a transport failure.
    pub(crate) fn from_transport(
        base: &str,
        call: &str,
        timeout: Duration,
        err: reqwest::Error,
    ) -> ClientError {
        if err.is_timeout() {
            return ClientError::Timeout {
                call: call.to_owned(),
                after: timeout,
            };
        }
        if err.is_decode() {
            return ClientError::Decode {
                call: call.to_owned(),
                detail: chain(&err.without_url()),
            };
        }
        ClientError::Unreachable {
            base: base.to_owned(),
            call: call.to_owned(),
            detail: chain(&err.without_url()),
        }
    }
}

/// An error and its causes on one line ("error sending request: connection refused"),
/// which is what tells a person why a connection failed.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `{"error":{"code","message"}}`, the API's shape.
#[derive(Deserialize)]
struct ApiErrorBody {
    error: ApiErrorInner,
}

#[derive(Deserialize)]
struct ApiErrorInner {
    code: String,
    message: String,
}

/// `{"error","error_description"}`, the token endpoint's (RFC 6749 §5.2).
#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// The code and message of an error answer; a body in neither shape (a proxy's HTML page)
/// still gives the status and the start of its text.
fn read_error_body(status: u16, body: &[u8]) -> (String, String) {
    if let Ok(parsed) = serde_json::from_slice::<ApiErrorBody>(body) {
        return (parsed.error.code, parsed.error.message);
    }
    if let Ok(parsed) = serde_json::from_slice::<OAuthErrorBody>(body) {
        let message = parsed
            .error_description
            .unwrap_or_else(|| parsed.error.clone());
        return (parsed.error, message);
    }
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("error");
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let message = if text.is_empty() {
        format!("HTTP {status} {reason} with no explanation")
    } else {
        let short: String = text.chars().take(200).collect();
        format!("HTTP {status} {reason}: {short}")
    };
    ("http_error".to_owned(), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_both_shapes_are_read() {
        let api = ClientError::from_answer(
            "GET /api/v1/sessions",
            400,
            br#"{"error":{"code":"bad_request","message":"limit=\"0\" is not a page size"}}"#,
        );
        assert!(api.is_rejected());
        assert_eq!(api.code(), Some("bad_request"));
        assert_eq!(api.message(), "limit=\"0\" is not a page size");

        let oauth = ClientError::from_answer(
            "POST /api/v1/token",
            401,
            br#"{"error":"invalid_client","error_description":"unknown client"}"#,
        );
        assert_eq!(oauth.code(), Some("invalid_client"));
        assert_eq!(oauth.message(), "unknown client");

        let proxy = ClientError::from_answer("GET /api/v1/jobs", 502, b"<html>Bad Gateway</html>");
        assert!(proxy.is_server_error());
        assert!(proxy.message().contains("502"), "{proxy}");
    }
}
