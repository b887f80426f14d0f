//! `POST /api/v1/token`: the OAuth 2 client-credentials grant (RFC 6749 §4.4).
//!
//! The client authenticates with HTTP Basic or with `client_id` and `client_secret` in the
//! form body (§2.3.1), never both. Errors are RFC 6749 §5.2 objects
//! (`{"error":…,"error_description":…}`): 401 with `WWW-Authenticate` for a failed client
//! authentication, 400 otherwise. Every attempt is audited; the secret never is.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use serde_json::json;

use super::AppState;
use super::guard::{Actor, audit};
use super::request_id::RequestId;
use super::token::Claims;
use crate::adapter::store::AuditOutcome;
use crate::secret::Secret;

const ACTION: &str = "token.issue";

/// A §5.2 error.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }

    /// The store (client secrets, audit log) cannot be reached.
    fn unavailable() -> Self {
        OAuthError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error: "temporarily_unavailable",
            description: "the adapter's store cannot be reached; try again".to_owned(),
        }
    }

    fn invalid_client(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.error, "error_description": self.description });
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"deskbridge\""),
            );
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// Client credentials as presented; the secret stays wrapped.
struct Credentials {
    client_id: String,
    secret: Secret,
}

/// Form parameters, refusing repeats (§3.2: "Request and response parameters MUST NOT be
/// included more than once").
fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let mut params: Vec<(String, String)> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        if params.iter().any(|(k, _)| *k == key) {
            return Err(OAuthError::invalid_request(format!(
                "parameter {key} is repeated"
            )));
        }
        params.push((key.into_owned(), value.into_owned()));
    }
    Ok(params)
}

fn basic_credentials(headers: &HeaderMap) -> Result<Option<Credentials>, OAuthError> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError::invalid_client("the Authorization header is not valid HTTP Basic");
    let value = value.to_str().map_err(|_| bad())?;
    let (scheme, encoded) = value.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_client(
            "client authentication at the token endpoint uses HTTP Basic or form parameters",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    // §2.3.1: both parts are form-urlencoded before they are joined.
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some(Credentials {
        client_id: unescape(id),
        secret: Secret::new(unescape(secret)),
    }))
}

fn take(params: &mut Vec<(String, String)>, key: &str) -> Option<String> {
    let i = params.iter().position(|(k, _)| k == key)?;
    Some(params.remove(i).1)
}

/// Validates the request and finds the presented credentials.
fn read_request(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Credentials, OAuthError> {
    let body = body.map_err(|r| {
        let mut e = OAuthError::invalid_request(format!("cannot read the body: {}", r.body_text()));
        e.status = r.status();
        e
    })?;
    let content_type = headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let essence = content_type
        .as_deref()
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase());
    if essence.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(format!(
            "the token request must be application/x-www-form-urlencoded (RFC 6749 §4.4.2), \
             not {}",
            content_type.map_or_else(
                || "a body without Content-Type".to_owned(),
                |c| format!("{c:?}")
            )
        )));
    }
    let mut params = parse_form(&body)?;
    match take(&mut params, "grant_type").as_deref() {
        None | Some("") => {
            return Err(OAuthError::invalid_request(
                "grant_type is missing; send grant_type=client_credentials",
            ));
        }
        Some("client_credentials") => {}
        Some(other) => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                error: "unsupported_grant_type",
                description: format!(
                    "grant type {other:?} is not supported; only client_credentials is"
                ),
            });
        }
    }
    let form_id = take(&mut params, "client_id");
    let form_secret = take(&mut params, "client_secret").map(Secret::new);
    let basic = basic_credentials(headers)?;
    match (basic, form_id, form_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "the client authenticated twice (HTTP Basic and form parameters); use one \
             (RFC 6749 §2.3)",
        )),
        (Some(basic), None, None) => Ok(basic),
        (None, Some(client_id), Some(secret)) => Ok(Credentials { client_id, secret }),
        (None, Some(_), None) => Err(OAuthError::invalid_request("client_secret is missing")),
        (None, None, Some(_)) => Err(OAuthError::invalid_request("client_id is missing")),
        (None, None, None) => Err(OAuthError::invalid_client(
            "no client authentication: send client_id and client_secret, or HTTP Basic",
        )),
    }
}

/// Caller-chosen ids are recorded as given, cut short so the audit log cannot be flooded.
fn shown_id(id: &str) -> String {
    id.chars().take(64).collect()
}

pub async fn token(
    State(state): State<AppState>,
    RequestId(request_id): RequestId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let credentials = match read_request(&headers, body) {
        Ok(c) => c,
        Err(e) => {
            let outcome = if e.status == StatusCode::UNAUTHORIZED {
                AuditOutcome::Denied
            } else {
                AuditOutcome::Failed
            };
            let _ = audit(
                &state,
                Actor::anonymous(),
                ACTION,
                json!([]),
                outcome,
                Some(e.description.clone()),
                &request_id,
            )
            .await;
            return e.into_response();
        }
    };
    let client = match state
        .store
        .verify_client(&credentials.client_id, credentials.secret.expose())
        .await
    {
        Ok(Some(client)) => client,
        Ok(None) => {
            let e =
                OAuthError::invalid_client("unknown client, wrong secret, or a disabled client");
            // Unproven, so recorded by name only: whoever sent it may not be that client.
            let actor = Actor {
                id: None,
                name: shown_id(&credentials.client_id),
            };
            let _ = audit(
                &state,
                actor,
                ACTION,
                json!([]),
                AuditOutcome::Denied,
                Some(e.description.clone()),
                &request_id,
            )
            .await;
            return e.into_response();
        }
        Err(err) => {
            tracing::error!(error = %err, "token request: store unavailable");
            return OAuthError::unavailable().into_response();
        }
    };
    let now = Utc::now();
    let ttl = i64::try_from(state.options.token_ttl.as_secs()).unwrap_or(i64::MAX);
    let claims = Claims {
        sub: client.id,
        role: client.role,
        iat: now.timestamp(),
        exp: now.timestamp().saturating_add(ttl),
    };
    let access_token = state.signer.sign(&claims);
    let actor = Actor::client(client.id, client.name.clone());
    if let Err(e) = audit(
        &state,
        actor,
        ACTION,
        json!([]),
        AuditOutcome::Succeeded,
        None,
        &request_id,
    )
    .await
    {
        // No token without its audit entry.
        tracing::error!(error = %e, "token not issued: the audit log cannot record it");
        return OAuthError::unavailable().into_response();
    }
    let body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ttl,
    });
    let mut response = Json(body).into_response();
    // §5.1: token responses must not be cached.
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
