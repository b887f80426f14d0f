//! HTTP plumbing shared by the connector listeners and the trust service: `Date` in simulated
//! time, case-insensitive resource segments, path extraction with CVAD error bodies, and the
//! bare answer a gateway in front of the API gives for 502/504.

use crate::lab::SimClock;
use crate::lab::cvad::error::ApiError;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

/// An RFC 7231 `Date` value (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn http_date(at: DateTime<Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Sets `Date` to the simulated time: clients compare token expiries (simulated) with it.
pub fn set_date(headers: &mut HeaderMap, clock: &SimClock) {
    if let Ok(value) = HeaderValue::from_str(&http_date(clock.now())) {
        headers.insert(header::DATE, value);
    }
}

/// Middleware for listeners without the API gate (the trust service): simulated `Date` only.
pub async fn date_only(State(clock): State<SimClock>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    set_date(response.headers_mut(), &clock);
    response
}

/// The literal segments of the routes, in the case the routes are declared with. The real API
/// matches them in any case; ids are looked up case-insensitively anyway, so rewriting an id
/// that happens to spell one of these words changes nothing.
const SEGMENTS: &[&str] = &[
    "cvad",
    "manage",
    "citrix",
    "orchestration",
    "api",
    "tokens",
    "me",
    "Sites",
    "Zones",
    "Applications",
    "ApplicationGroups",
    "Jobs",
    "Results",
    "$cancel",
    "Machines",
    "$search",
    "Sessions",
    "DeliveryGroups",
    "MachineCatalogs",
];

/// The path with every known resource segment in its declared case (`/cvad/manage/machines`
/// -> `/cvad/manage/Machines`); `None` when nothing changes.
pub fn canonical_path(path: &str) -> Option<String> {
    let mut changed = false;
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| {
            match SEGMENTS
                .iter()
                .find(|known| known.eq_ignore_ascii_case(segment))
            {
                Some(known) if *known != segment => {
                    changed = true;
                    *known
                }
                _ => segment,
            }
        })
        .collect();
    changed.then(|| segments.join("/"))
}

/// Rewrites the request path to [`canonical_path`] before routing.
pub async fn canonical_request(mut request: Request, next: Next) -> Response {
    if let Some(path) = canonical_path(request.uri().path()) {
        let with_query = match request.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        if let Ok(pq) = with_query.parse::<PathAndQuery>() {
            let mut parts = request.uri().clone().into_parts();
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
    }
    next.run(request).await
}

/// `Path` whose rejection is a CVAD `common/invalidString` 400 rather than axum's plain text.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError::invalid_string(
                "path",
                format!("The request path is not valid: {}", rejection.body_text()),
            )),
        }
    }
}

/// What a load balancer or gateway answers when the API behind it fails (502/504): a short
/// HTML page, no CVAD error body and no retry hint.
pub fn gateway_answer(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Gateway Error");
    let code = status.as_u16();
    let body = format!(
        "<html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn resource_segments_are_canonicalised_and_ids_kept() {
        assert_eq!(
            canonical_path("/cvad/manage/machines/LAB|vdi-001/SESSIONS").as_deref(),
            Some("/cvad/manage/Machines/LAB|vdi-001/Sessions")
        );
        assert_eq!(
            canonical_path("/CVAD/Manage/deliverygroups").as_deref(),
            Some("/cvad/manage/DeliveryGroups")
        );
        assert_eq!(canonical_path("/cvad/manage/Machines/$search"), None);
        assert_eq!(canonical_path("/cvad/manage/NoSuchThing"), None);
    }

    #[test]
    fn dates_are_imf_fixdate() {
        let at = Utc
            .with_ymd_and_hms(2026, 3, 4, 5, 6, 7)
            .single()
            .expect("valid");
        let text = http_date(at);
        assert_eq!(text, "Wed, 04 Mar 2026 05:06:07 GMT");
        assert_eq!(
            DateTime::parse_from_rfc2822(&text).map(|d| d.with_timezone(&Utc)),
            Ok(at)
        );
    }
}
