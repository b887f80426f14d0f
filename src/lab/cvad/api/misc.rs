//! Discovery and the small collections: `/me`, `/Sites`, `/Zones`, `/Applications`,
//! `/ApplicationGroups`, and the caller's `/Jobs`.

use super::{ApiState, query_map};
use crate::cvad::wire::{Collection, MeResponse, MyCustomer, RefModel, SiteDetail};
use crate::lab::cvad::auth::Caller;
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::jobs;
use crate::lab::cvad::paging::{self, take_page};
use crate::lab::cvad::render;
use crate::lab::cvad::state::SiteState;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/me", get(me))
        .route("/Sites", get(sites))
        .route("/Sites/{id}", get(site))
        .route("/Zones", get(zones))
        .route("/Applications", get(applications))
        .route("/ApplicationGroups", get(app_groups))
        .route("/Jobs", get(list_jobs))
        .route("/Jobs/{id}", get(get_job))
        .route("/Jobs/{id}/$cancel", post(cancel_job))
        .route("/Jobs/{id}/Results", get(job_results))
}

fn site_ref(state: &SiteState) -> RefModel {
    RefModel {
        id: state.meta.id.clone(),
        name: state.meta.name.clone(),
    }
}

async fn me(State(api): State<ApiState>, Extension(caller): Extension<Caller>) -> Response {
    let state = api.state();
    Json(MeResponse {
        user_id: caller.principal.clone(),
        display_name: caller.principal.clone(),
        expiry_time: None,
        customers: vec![MyCustomer {
            id: state.meta.customer_id.clone(),
            name: state.meta.customer_name.clone(),
            sites: vec![site_ref(&state)],
        }],
    })
    .into_response()
}

async fn sites(State(api): State<ApiState>) -> Response {
    let state = api.state();
    Json(Collection {
        items: vec![site_ref(&state)],
        continuation_token: None,
        total_items: None,
    })
    .into_response()
}

async fn site(State(api): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    let state = api.state();
    if !(id.eq_ignore_ascii_case(&state.meta.id) || id.eq_ignore_ascii_case(&state.meta.name)) {
        return Err(ApiError::not_found("Site", &id));
    }
    let primary = state.zones.iter().find(|z| z.is_primary).map(|z| RefModel {
        id: z.id.clone(),
        name: z.name.clone(),
    });
    Ok(Json(SiteDetail {
        id: state.meta.id.clone(),
        name: state.meta.name.clone(),
        primary_zone: primary,
        product_edition: Some("PLT".to_string()),
        product_version: Some("7.41".to_string()),
        licensing_model: Some("Concurrent".to_string()),
        licensed_sessions_active: Some(state.sessions.len() as u32),
    })
    .into_response())
}

/// A small collection paged by index.
fn index_page<T: serde::Serialize>(
    api: &ApiState,
    raw: Option<String>,
    kind: &str,
    len: impl Fn(&SiteState) -> usize,
    item: impl Fn(&SiteState, usize) -> Option<T>,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let page = paging::parse(&query, kind)?;
    let limit = api.site.faults.page_cap(page.limit);
    let state = api.state();
    let start = page.after.map_or(0, |a| a as usize + 1);
    let iter = (start..len(&state)).filter_map(|i| item(&state, i).map(|x| (i as u64, x)));
    let (items, token) = take_page(iter, limit, kind);
    Ok(Json(Collection {
        items,
        continuation_token: token,
        total_items: None,
    })
    .into_response())
}

async fn zones(State(api): State<ApiState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    index_page(&api, raw, "zones", |s| s.zones.len(), render::zone)
}

async fn applications(State(api): State<ApiState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    index_page(
        &api,
        raw,
        "applications",
        |s| s.apps.len(),
        render::application,
    )
}

async fn app_groups(State(api): State<ApiState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    index_page(
        &api,
        raw,
        "appgroups",
        |s| s.app_groups.len(),
        render::app_group,
    )
}

async fn list_jobs(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let page = paging::parse(&query, "jobs")?;
    let limit = api.site.faults.page_cap(page.limit);
    let now = api.site.clock.now();
    let state = api.state();
    let iter = state
        .jobs
        .range(page.after.map_or(0, |a| a + 1)..)
        .filter(|(_, j)| j.owner == caller.principal)
        .map(|(k, j)| (*k, jobs::render(j, now)));
    let (items, token) = take_page(iter, limit, "jobs");
    Ok(Json(Collection {
        items,
        continuation_token: token,
        total_items: None,
    })
    .into_response())
}

async fn get_job(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let now = api.site.clock.now();
    let state = api.state();
    let key = jobs::find(&state, &caller.principal, &id)?;
    let job = state
        .jobs
        .get(&key)
        .ok_or_else(|| ApiError::not_found("Job", &id))?;
    Ok(Json(jobs::render(job, now)).into_response())
}

async fn cancel_job(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let now = api.site.clock.now();
    let mut state = api.state();
    jobs::cancel(&mut state, &caller.principal, &id, now)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Jobs keep no results here: a completed job redirects to the object it affected.
async fn job_results(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let now = api.site.clock.now();
    let state = api.state();
    let key = jobs::find(&state, &caller.principal, &id)?;
    let job = state
        .jobs
        .get(&key)
        .ok_or_else(|| ApiError::not_found("Job", &id))?;
    let rendered = jobs::render(job, now);
    match rendered.result_location {
        Some(location) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Ok(response)
        }
        None => Err(ApiError::invalid_operation(format!(
            "Job {id} has no results: its status is {:?}",
            rendered.status
        ))),
    }
}
