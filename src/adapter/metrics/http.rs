//! `GET /metrics`, and the middleware that counts requests to the API by route.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiRequest;
use crate::adapter::api::AppState;

/// The Prometheus text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The metrics in the text format. Public like `/healthz`, by choice: scrapers carry no adapter
/// token; the output is counts labelled with names the config already holds (sites, instances,
/// actions, route templates), with no secret, ticket or user in it; and the adapter listens on
/// loopback unless told otherwise (it warns then, and a proxy in front can restrict the path).
pub async fn serve(State(state): State<AppState>) -> Response {
    let instances: Vec<String> = state
        .config
        .servicenow
        .iter()
        .map(|instance| instance.name.clone())
        .collect();
    let text = state
        .metrics
        .render(state.store.as_ref(), &instances, &state.inventory)
        .await;
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

/// Counts each request once its response is ready, by method, the route template it matched
/// (`/api/v1/jobs/{id}`, never the raw path) and the status class. Only known methods and
/// templates become labels, so no caller can create series at will.
pub async fn track_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    state
        .metrics
        .families()
        .api_requests
        .get_or_create(&ApiRequest {
            method,
            route,
            status: status_class(response.status()),
        })
        .inc();
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}
