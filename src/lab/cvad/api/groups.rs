//! `/DeliveryGroups`: list, get (the detail model, with the access policy), edit (in
//! [`super::entitle`]), the group's machines, and adding machines from a catalog (with
//! optional user assignments) or removing one.

use super::catalogs::catalog_index;
use super::http::ApiPath;
use super::machines::{machine_page, resolve as resolve_machine};
use super::{ApiState, Call, Target, collection, listing, no_content, parse_body, people};
use crate::cvad::wire::DeliveryGroupAddMachinesRequest;
use crate::lab::cvad::actions::Action;
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::paging::take_page;
use crate::lab::cvad::render;
use crate::lab::cvad::state::SiteState;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/DeliveryGroups", get(list_groups))
        .route(
            "/DeliveryGroups/{id}",
            get(get_group).patch(super::entitle::update_group),
        )
        .route(
            "/DeliveryGroups/{id}/Machines",
            get(group_machines).post(add_to_group),
        )
        .route(
            "/DeliveryGroups/{id}/Machines/{machine}",
            delete(remove_from_group),
        )
}

fn group_index(state: &SiteState, id: &str) -> ApiResult<usize> {
    state
        .find_group(id)
        .ok_or_else(|| ApiError::not_found("DeliveryGroup", id))
}

async fn list_groups(State(api): State<ApiState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let page = listing(&api, raw, "groups")?;
    let state = api.state();
    let counters = state.group_counters();
    let start = page.after.map_or(0, |a| a as usize + 1);
    let iter = (start..state.groups.len())
        .filter_map(|i| render::group(&state, i, counters[i]).map(|g| (i as u64, g)));
    Ok(collection(take_page(iter, page.limit, "groups"), None))
}

async fn get_group(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let state = api.state();
    let index = group_index(&state, &id)?;
    let group = render::group_detail(&state, index)
        .ok_or_else(|| ApiError::not_found("DeliveryGroup", &id))?;
    Ok(Json(group).into_response())
}

async fn group_machines(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let group = group_index(&api.state(), &id)?;
    machine_page(
        &api,
        raw,
        "group-machines",
        move |_, m| m.group == Some(group),
        false,
    )
}

async fn add_to_group(
    call: Call,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let request: DeliveryGroupAddMachinesRequest = parse_body(&body)?;
    let (action, target) = {
        let state = call.api.state();
        let group = group_index(&state, &id)?;
        let catalog = catalog_index(&state, &request.machine_catalog)?;
        let mut assignments = Vec::new();
        for assignment in &request.assign_machines_to_users {
            let machine = resolve_machine(&state, &assignment.machine)?;
            assignments.push((machine, people(&state, &assignment.users)?));
        }
        if request.count == 0 && assignments.is_empty() {
            return Err(ApiError::out_of_range("Count", "Count must be at least 1"));
        }
        let g = &state.groups[group];
        let target = Target::new(
            format!("/DeliveryGroups/{}", g.id),
            &[("Id", &g.id), ("Name", &g.name)],
        );
        let action = Action::AddGroupMachines {
            group,
            catalog,
            count: request.count,
            assignments,
        };
        (action, target)
    };
    Ok(call.run(action, target, no_content()))
}

async fn remove_from_group(
    call: Call,
    ApiPath((id, machine)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    let (action, target) = {
        let state = call.api.state();
        let group = group_index(&state, &id)?;
        let index = resolve_machine(&state, &machine)?;
        let g = &state.groups[group];
        let target = Target::new(
            format!("/DeliveryGroups/{}", g.id),
            &[("Id", &g.id), ("Machine", &machine)],
        );
        let action = Action::RemoveGroupMachine {
            group,
            machine: index,
        };
        (action, target)
    };
    Ok(call.run(action, target, no_content()))
}
