//! Authentication: on-prem Basic -> token at `/citrix/orchestration/api/tokens`, the cloud
//! trust service's client-credentials grant, and the `CWSAuth bearer=` check on API calls.

use super::Site;
use super::api::http;
use super::error::{ApiError, ApiResult};
use super::state::TokenRec;
use crate::cvad::wire::{CloudTokenError, CloudTokenResponse, OnPremTokenResponse};
use crate::lab::SimClock;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use std::sync::Arc;

/// Who is calling: job ownership is per principal, so a renewed token still sees its jobs.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: String,
}

/// The secret a site expects: Basic user/password or client id/secret.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    pub secret: String,
}

/// Issues a token for `principal` valid for the site's configured lifetime.
fn issue(site: &Site, principal: &str) -> (String, chrono::DateTime<chrono::Utc>, i64) {
    let now = site.clock.now();
    let mut state = site.lock();
    let token = format!(
        "{}{}",
        state.new_guid().replace('-', ""),
        state.new_guid().replace('-', "")
    );
    let expires_at = now + Duration::seconds(state.token_ttl_secs);
    state.tokens.insert(
        token.clone(),
        TokenRec {
            principal: principal.to_string(),
            expires_at,
        },
    );
    (token, expires_at, state.token_ttl_secs)
}

/// `POST /citrix/orchestration/api/tokens` with HTTP Basic.
pub async fn onprem_token(State(site): State<Arc<Site>>, headers: HeaderMap) -> Response {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let Some(basic) = basic else {
        return ApiError::unauthenticated("missing").into_response();
    };
    let ok = basic.split_once(':').is_some_and(|(u, p)| {
        u.eq_ignore_ascii_case(&site.credentials.user) && p == site.credentials.secret
    });
    if !ok {
        return ApiError::unauthenticated("invalid").into_response();
    }
    let (token, expires_at, _) = issue(&site, &site.credentials.user);
    Json(OnPremTokenResponse {
        token,
        principal: Some(site.credentials.user.clone()),
        user_id: Some(format!("{:x}", md5ish(&site.credentials.user))),
        customer_id: Some(site.meta.customer_id.clone()),
        expires_at: expires_at.to_rfc3339(),
    })
    .into_response()
}

/// A stable, non-secret number derived from a name (for ids only).
fn md5ish(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(CloudTokenError {
            error: error.to_string(),
            error_description: Some(description.to_string()),
        }),
    )
        .into_response()
}

/// The trust service (`api.cloud.com`) for every cloud site; its `Date` is simulated time.
pub fn trust_router(sites: Vec<Arc<Site>>, clock: SimClock) -> axum::Router {
    axum::Router::new()
        .route(
            "/cctrustoauth2/{customer}/tokens/clients",
            post(cloud_token),
        )
        .with_state(Arc::new(sites))
        .layer(middleware::from_fn_with_state(clock, http::date_only))
}

async fn cloud_token(
    State(sites): State<Arc<Vec<Arc<Site>>>>,
    Path(customer): Path<String>,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("grant_type") != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let (Some(id), Some(secret)) = (field("client_id"), field("client_secret")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required",
        );
    };
    let site = sites.iter().find(|s| {
        (s.meta.customer_id.eq_ignore_ascii_case(&customer) || customer == "root")
            && s.credentials.user == id
    });
    let Some(site) = site else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unknown client");
    };
    if site.credentials.secret != secret {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Invalid client secret",
        );
    }
    let (token, _, secs) = issue(site, id);
    Json(CloudTokenResponse {
        token_type: "bearer".to_string(),
        access_token: token,
        expires_in: secs.to_string(),
    })
    .into_response()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The token of `Authorization: CWSAuth bearer=<token>` (scheme and key in any case).
fn bearer(headers: &HeaderMap) -> ApiResult<&str> {
    let value =
        header_str(headers, "authorization").ok_or_else(|| ApiError::unauthenticated("missing"))?;
    let (scheme, rest) = value
        .split_once(char::is_whitespace)
        .ok_or_else(|| ApiError::unauthenticated("invalid"))?;
    if !scheme.eq_ignore_ascii_case("cwsauth") {
        return Err(ApiError::unauthenticated("invalid"));
    }
    let (key, token) = rest
        .trim()
        .split_once('=')
        .ok_or_else(|| ApiError::unauthenticated("invalid"))?;
    if !key.trim().eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::unauthenticated("invalid"));
    }
    Ok(token.trim())
}

/// Checks token, customer and instance headers; `needs_instance` is false for `/me` and
/// `/Sites`, which clients call to discover the site id.
pub fn check(site: &Site, headers: &HeaderMap, needs_instance: bool) -> ApiResult<Caller> {
    let token = bearer(headers)?;
    let now = site.clock.now();
    let principal = {
        let state = site.lock();
        match state.tokens.get(token) {
            Some(rec) if rec.expires_at > now => rec.principal.clone(),
            _ => return Err(ApiError::unauthenticated("invalid")),
        }
    };
    let customer = header_str(headers, "citrix-customerid")
        .ok_or_else(|| ApiError::missing("Citrix-CustomerId"))?;
    if !customer.eq_ignore_ascii_case(&site.meta.customer_id) {
        return Err(
            ApiError::forbidden(format!("Access denied to customer '{customer}'"))
                .param("name", "Citrix-CustomerId"),
        );
    }
    match header_str(headers, "citrix-instanceid") {
        Some(instance) if !instance.eq_ignore_ascii_case(&site.meta.id) => {
            return Err(
                ApiError::forbidden(format!("Access denied to site '{instance}'"))
                    .param("name", "Citrix-InstanceId"),
            );
        }
        None if needs_instance => return Err(ApiError::missing("Citrix-InstanceId")),
        _ => {}
    }
    Ok(Caller { principal })
}
