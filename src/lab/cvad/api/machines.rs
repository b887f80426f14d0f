//! `/Machines`: list, get, search, update (maintenance, assignment), power actions and the
//! machine-wide session actions.

use super::{ApiState, SyncAnswer, flag, no_content, params, parse_body, query_map, run_action};
use crate::cvad::wire::{Collection, SearchRequest, UpdateMachineRequest};
use crate::lab::cvad::actions::Action;
use crate::lab::cvad::auth::Caller;
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::paging::{self, take_page};
use crate::lab::cvad::render;
use crate::lab::cvad::search::Search;
use crate::lab::cvad::state::SiteState;
use crate::model::PowerAction;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/Machines", get(list))
        .route("/Machines/$search", post(search))
        .route("/Machines/{id}", get(get_one).patch(update))
        .route("/Machines/{id}/Sessions", get(sessions))
        .route("/Machines/{id}/{action}", post(act))
}

const KIND: &str = "machines";

async fn list(State(api): State<ApiState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = query_map(raw);
    let page = paging::parse(&query, KIND)?;
    let limit = api.site.faults.page_cap(page.limit);
    let state = api.state();
    let start = page.after.map_or(0, |a| a as usize + 1);
    let iter = state
        .machines
        .iter()
        .enumerate()
        .skip(start)
        .map(|(i, m)| (i as u64, render::machine(&state, m)));
    let (items, token) = take_page(iter, limit, KIND);
    Ok(Json(Collection {
        items,
        continuation_token: token,
        total_items: None,
    })
    .into_response())
}

async fn search(
    State(api): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let request: SearchRequest = parse_body(&body)?;
    let search = Search::parse(&request)?;
    let page = paging::parse(&query, "machine-search")?;
    let limit = api.site.faults.page_cap(page.limit);
    let state = api.state();
    let matching = |m: &&crate::lab::cvad::state::MachineRec| search.matches_machine(&state, m);
    let total = state.machines.iter().filter(matching).count();
    let start = page.after.map_or(0, |a| a as usize + 1);
    let iter = state
        .machines
        .iter()
        .enumerate()
        .skip(start)
        .filter(|(_, m)| search.matches_machine(&state, m))
        .map(|(i, m)| (i as u64, render::machine(&state, m)));
    let (items, token) = take_page(iter, limit, "machine-search");
    Ok(Json(Collection {
        items,
        continuation_token: token,
        total_items: Some(total as u64),
    })
    .into_response())
}

/// Resolves a machine path id (id, `DOMAIN|NAME` or name).
pub fn resolve(state: &SiteState, id: &str) -> ApiResult<usize> {
    state
        .find_machine(id)
        .ok_or_else(|| ApiError::not_found("Machine", id))
}

async fn get_one(State(api): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    let state = api.state();
    let index = resolve(&state, &id)?;
    Ok(Json(render::machine(&state, &state.machines[index])).into_response())
}

async fn sessions(
    State(api): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let page = paging::parse(&query, "machine-sessions")?;
    let limit = api.site.faults.page_cap(page.limit);
    let state = api.state();
    let index = resolve(&state, &id)?;
    let iter = state.machines[index]
        .sessions
        .iter()
        .filter(|k| page.after.is_none_or(|a| **k > a))
        .filter_map(|k| state.sessions.get(k))
        .map(|s| (s.key, render::session(&state, s)));
    let (items, token) = take_page(iter, limit, "machine-sessions");
    Ok(Json(Collection {
        items,
        continuation_token: token,
        total_items: None,
    })
    .into_response())
}

fn machine_answer(index: usize) -> SyncAnswer {
    Box::new(move |state: &SiteState| match state.machines.get(index) {
        Some(m) => Json(render::machine(state, m)).into_response(),
        None => ApiError::not_found("Machine", &index.to_string()).into_response(),
    })
}

async fn update(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let request: UpdateMachineRequest = parse_body(&body)?;
    let (action, machine_id, name) = {
        let state = api.state();
        let index = resolve(&state, &id)?;
        let assigned = match &request.assigned_users {
            None => None,
            Some(users) => Some(
                users
                    .iter()
                    .map(|u| {
                        state
                            .find_person(u)
                            .ok_or_else(|| ApiError::not_found("User", u))
                    })
                    .collect::<ApiResult<Vec<usize>>>()?,
            ),
        };
        let m = &state.machines[index];
        (
            Action::UpdateMachine {
                machine: index,
                maintenance: request.in_maintenance_mode,
                assigned,
            },
            m.id.clone(),
            m.qualified_name(),
        )
    };
    let parameters = params(&[("Id", &machine_id), ("Name", &name)]);
    Ok(run_action(
        &api,
        &caller,
        &query,
        action,
        parameters,
        format!("/Machines/{machine_id}"),
        no_content(),
    ))
}

async fn act(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path((id, verb)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let (index, machine_id, name) = {
        let state = api.state();
        let index = resolve(&state, &id)?;
        let m = &state.machines[index];
        (index, m.id.clone(), m.qualified_name())
    };
    let (action, answer): (Action, SyncAnswer) = match verb.to_ascii_lowercase().as_str() {
        "$logoff" => (Action::MachineLogoff(index), no_content()),
        "$disconnect" => (Action::MachineDisconnect(index), no_content()),
        other => {
            let power = PowerAction::parse(other)
                .filter(|_| other.starts_with('$'))
                .ok_or_else(|| ApiError::not_found("Action", &verb))?;
            let force = flag(&query, "force");
            if force && !power.accepts_force() {
                return Err(ApiError::invalid_string(
                    "force",
                    format!("{} does not take force", power.verb()),
                ));
            }
            (
                Action::Power {
                    machine: index,
                    action: power,
                    force,
                },
                machine_answer(index),
            )
        }
    };
    let parameters = params(&[("Id", &machine_id), ("Name", &name)]);
    Ok(run_action(
        &api,
        &caller,
        &query,
        action,
        parameters,
        format!("/Machines/{machine_id}"),
        answer,
    ))
}
