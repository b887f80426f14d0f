//! Entitlement routes: `PATCH /DeliveryGroups/{id}` (its `SimpleAccessPolicy` and simple
//! settings) and `GET|PATCH /ApplicationGroups/{id}`; both patches run sync or as jobs
//! (`UpdateDeliveryGroup`, `UpdateApplicationGroup`).
//!
//! Of the access policy the lab keeps the included users and their filter switch; the other
//! switches (HDX, RDP, gateway, exclusions) are accepted and left as they are.

use super::http::ApiPath;
use super::{ApiState, Call, Target, no_content, parse_body, people};
use crate::cvad::wire_entitle::{EditApplicationGroupRequest, EditDeliveryGroupRequest};
use crate::lab::cvad::actions::Action;
use crate::lab::cvad::entitle::{AppGroupEdit, GroupEdit};
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::render;
use crate::lab::cvad::state::SiteState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new().route(
        "/ApplicationGroups/{id}",
        get(get_app_group).patch(update_app_group),
    )
}

fn group_index(state: &SiteState, id: &str) -> ApiResult<usize> {
    state
        .find_group(id)
        .ok_or_else(|| ApiError::not_found("DeliveryGroup", id))
}

fn app_group_index(state: &SiteState, id: &str) -> ApiResult<usize> {
    let key = id.trim();
    let by_id = state
        .app_groups
        .iter()
        .position(|g| g.id.eq_ignore_ascii_case(key));
    by_id
        .or_else(|| {
            state
                .app_groups
                .iter()
                .position(|g| g.name.eq_ignore_ascii_case(key))
        })
        .ok_or_else(|| ApiError::not_found("ApplicationGroup", id))
}

/// `PATCH /DeliveryGroups/{nameOrId}` (`EditDeliveryGroupRequestModel`).
pub async fn update_group(
    call: Call,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let request: EditDeliveryGroupRequest = parse_body(&body)?;
    let (action, target) = {
        let state = call.api.state();
        let group = group_index(&state, &id)?;
        let policy = request.simple_access_policy.unwrap_or_default();
        let included_users = match &policy.included_users {
            Some(users) => Some(people(&state, users)?),
            None => None,
        };
        let g = &state.groups[group];
        let target = Target::new(
            format!("/DeliveryGroups/{}", g.id),
            &[("Id", &g.id), ("Name", &g.name)],
        );
        let edit = GroupEdit {
            included_users,
            included_filter: policy.included_user_filter_enabled,
            in_maintenance: request.in_maintenance_mode,
            enabled: request.enabled,
            description: request.description,
        };
        (Action::UpdateGroup { group, edit }, target)
    };
    Ok(call.run(action, target, no_content()))
}

async fn get_app_group(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let state = api.state();
    let index = app_group_index(&state, &id)?;
    let detail = render::app_group_detail(&state, index)
        .ok_or_else(|| ApiError::not_found("ApplicationGroup", &id))?;
    Ok(Json(detail).into_response())
}

/// `PATCH /ApplicationGroups/{nameOrId}` (`EditApplicationGroupRequestModel`).
async fn update_app_group(
    call: Call,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let request: EditApplicationGroupRequest = parse_body(&body)?;
    let (action, target) = {
        let state = call.api.state();
        let app_group = app_group_index(&state, &id)?;
        let included_users = match &request.included_users {
            Some(users) => Some(people(&state, users)?),
            None => None,
        };
        let g = &state.app_groups[app_group];
        let target = Target::new(
            format!("/ApplicationGroups/{}", g.id),
            &[("Id", &g.id), ("Name", &g.name)],
        );
        let edit = AppGroupEdit {
            included_users,
            included_filter: request.included_user_filter_enabled,
        };
        (Action::UpdateAppGroup { app_group, edit }, target)
    };
    Ok(call.run(action, target, no_content()))
}
