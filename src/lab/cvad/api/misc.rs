//! Discovery and the small collections: `/me`, `/Sites`, `/Zones`, `/Applications`,
//! `/ApplicationGroups`, and the caller's `/Jobs`.

use super::http::ApiPath;
use super::{ApiState, Call, collection, index_page, listing};
use crate::cvad::wire::{JobResponse, MeResponse, MyCustomer, RefModel, SiteDetail};
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::jobs;
use crate::lab::cvad::paging::take_page;
use crate::lab::cvad::render;
use crate::lab::cvad::state::SiteState;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

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

async fn me(call: Call) -> Response {
    let caller = &call.caller;
    let state = call.api.state();
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
    collection((vec![site_ref(&state)], None), None)
}

async fn site(State(api): State<ApiState>, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
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

async fn list_jobs(call: Call, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let page = listing(&call.api, raw, "jobs")?;
    let now = call.api.site.clock.now();
    let state = call.api.state();
    let iter = state
        .jobs
        .range(page.after.map_or(0, |a| a + 1)..)
        .filter(|(_, j)| j.owner == call.caller.principal)
        .map(|(k, j)| (*k, jobs::render(j, now)));
    Ok(collection(take_page(iter, page.limit, "jobs"), None))
}

/// One of the caller's jobs as `JobResponseModel`; other callers' jobs do not exist.
fn owned_job(call: &Call, id: &str) -> ApiResult<JobResponse> {
    let now = call.api.site.clock.now();
    let state = call.api.state();
    let key = jobs::find(&state, &call.caller.principal, id)?;
    let job = state
        .jobs
        .get(&key)
        .ok_or_else(|| ApiError::not_found("Job", id))?;
    Ok(jobs::render(job, now))
}

async fn get_job(call: Call, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    Ok(Json(owned_job(&call, &id)?).into_response())
}

async fn cancel_job(call: Call, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    let now = call.api.site.clock.now();
    let mut state = call.api.state();
    jobs::cancel(&mut state, &call.caller.principal, &id, now)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Jobs keep no results here: a completed job redirects to the object it affected.
async fn job_results(call: Call, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    let rendered = owned_job(&call, &id)?;
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
