//! Authentication: Basic and Bearer on every API call, and `POST /oauth_token.do`
//! (form-encoded only) with the password, refresh_token and client_credentials grants.
//!
//! The auth middleware also consults the fault injector first, so an outage or a 429 storm
//! hits every API request the way it would on a real instance, whatever the credentials.

use super::envelope;
use super::instance::{Instance, lock};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

/// Refresh tokens live 100 days, as ServiceNow's default.
const REFRESH_TTL_SECS: i64 = 8_640_000;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_name: String,
    pub sys_id: String,
}

#[derive(Debug, Clone)]
struct Token {
    user_name: String,
    client_id: String,
    expires: DateTime<Utc>,
}

/// Issued access and refresh tokens.
#[derive(Debug)]
pub struct Tokens {
    access: HashMap<String, Token>,
    refresh: HashMap<String, Token>,
    rng: ChaCha8Rng,
}

impl Tokens {
    pub fn new(rng: ChaCha8Rng) -> Self {
        Tokens {
            access: HashMap::new(),
            refresh: HashMap::new(),
            rng,
        }
    }

    fn mint(&mut self) -> String {
        let bytes: [u8; 48] = self.rng.random();
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

/// Checks faults, then credentials, for every API route; stores the [`Caller`] in extensions.
pub async fn middleware(
    State(instance): State<Arc<Instance>>,
    mut request: Request,
    next: Next,
) -> Response {
    instance.count_request();
    if let Some(fault) = instance.faults.check().await {
        return envelope::fault(fault, instance.clock.now().timestamp());
    }
    if request.uri().path() == "/oauth_token.do" {
        return next.run(request).await;
    }
    match authenticate(&instance, request.headers()) {
        Some(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None => envelope::unauthorized(),
    }
}

fn authenticate(instance: &Instance, headers: &HeaderMap) -> Option<Caller> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    let user_name = if scheme.eq_ignore_ascii_case("basic") {
        let decoded = STANDARD.decode(rest.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        let creds = &instance.credentials;
        (user == creds.username && password == creds.password).then(|| user.to_string())?
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let now = instance.clock.now();
        let tokens = lock(&instance.tokens);
        let token = tokens.access.get(rest.trim())?;
        (token.expires > now).then(|| token.user_name.clone())?
    } else {
        return None;
    };
    Some(Caller {
        user_name,
        sys_id: instance.integration_sys_id.clone(),
    })
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// ServiceNow answers bad client or user credentials this way.
fn access_denied() -> Response {
    oauth_error(StatusCode::UNAUTHORIZED, "server_error", "access_denied")
}

/// `POST /oauth_token.do`.
pub async fn token(
    State(instance): State<Arc<Instance>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_encoded {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the token request must be application/x-www-form-urlencoded",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    let creds = &instance.credentials;
    if field("client_id") != creds.client_id || field("client_secret") != creds.client_secret {
        return access_denied();
    }
    let now = instance.clock.now();
    let ttl = i64::try_from(instance.settings().token_ttl_secs).unwrap_or(1800);
    let mut tokens = lock(&instance.tokens);
    let (user_name, with_refresh) = match field("grant_type") {
        "password" => {
            if field("username") != creds.username || field("password") != creds.password {
                return access_denied();
            }
            (creds.username.clone(), true)
        }
        "client_credentials" => (creds.username.clone(), false),
        "refresh_token" => {
            let Some(refresh) = tokens.refresh.get(field("refresh_token")).cloned() else {
                return oauth_error(StatusCode::UNAUTHORIZED, "server_error", "access_denied");
            };
            if refresh.expires <= now || refresh.client_id != creds.client_id {
                return access_denied();
            }
            (refresh.user_name, false)
        }
        "" => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            );
        }
        other => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant type {other} is not supported"),
            );
        }
    };
    let access = tokens.mint();
    tokens.access.insert(
        access.clone(),
        Token {
            user_name: user_name.clone(),
            client_id: creds.client_id.clone(),
            expires: now + Duration::seconds(ttl),
        },
    );
    let mut body = json!({
        "access_token": access,
        "scope": "useraccount",
        "token_type": "Bearer",
        // ServiceNow reports one second less than the configured lifetime.
        "expires_in": ttl - 1,
    });
    if with_refresh {
        let refresh = tokens.mint();
        tokens.refresh.insert(
            refresh.clone(),
            Token {
                user_name,
                client_id: creds.client_id.clone(),
                expires: now + Duration::seconds(REFRESH_TTL_SECS),
            },
        );
        body["refresh_token"] = json!(refresh);
    }
    drop(tokens);
    instance.count_token();
    (StatusCode::OK, Json(body)).into_response()
}
