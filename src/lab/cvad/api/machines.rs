//! `/Machines`: list, get, search, update (maintenance, assignment), delete, power actions
//! and the machine-wide session actions.

use super::http::ApiPath;
use super::{
    ApiState, Call, SyncAnswer, Target, collection, flag, listing, no_content, parse_body, people,
};
use crate::cvad::wire::{SearchRequest, UpdateMachineRequest};
use crate::lab::cvad::actions::Action;
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::paging::take_page;
use crate::lab::cvad::render;
use crate::lab::cvad::search::Search;
use crate::lab::cvad::state::{MachineRec, SiteState};
use crate::model::PowerAction;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/Machines", get(list))
        .route("/Machines/$search", post(search))
        .route(
            "/Machines/{id}",
            get(get_one).patch(update).delete(delete_machine),
        )
        .route("/Machines/{id}/Sessions", get(sessions))
        .route("/Machines/{id}/{action}", post(act))
}

/// Machines kept by `keep`, paged by record index; `with_total` for `$search` answers.
pub fn machine_page(
    api: &ApiState,
    raw: Option<String>,
    kind: &str,
    keep: impl Fn(&SiteState, &MachineRec) -> bool,
    with_total: bool,
) -> ApiResult<Response> {
    let page = listing(api, raw, kind)?;
    let state = api.state();
    let keep = |state: &SiteState, m: &MachineRec| !m.removed && keep(state, m);
    let total = with_total.then(|| state.machines.iter().filter(|m| keep(&state, m)).count());
    let start = page.after.map_or(0, |a| a as usize + 1);
    let iter = state
        .machines
        .iter()
        .enumerate()
        .skip(start)
        .filter(|(_, m)| keep(&state, m))
        .map(|(i, m)| (i as u64, render::machine(&state, m)));
    Ok(collection(take_page(iter, page.limit, kind), total))
}

async fn list(State(api): State<ApiState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    machine_page(&api, raw, "machines", |_, _| true, false)
}

async fn search(
    State(api): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let request: SearchRequest = parse_body(&body)?;
    let search = Search::parse(&request)?;
    machine_page(
        &api,
        raw,
        "machine-search",
        |state, m| search.matches_machine(state, m),
        true,
    )
}

/// Resolves a machine path id (id, `DOMAIN|NAME` or name).
pub fn resolve(state: &SiteState, id: &str) -> ApiResult<usize> {
    state
        .find_machine(id)
        .ok_or_else(|| ApiError::not_found("Machine", id))
}

async fn get_one(State(api): State<ApiState>, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    let state = api.state();
    let index = resolve(&state, &id)?;
    Ok(Json(render::machine(&state, &state.machines[index])).into_response())
}

async fn sessions(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let page = listing(&api, raw, "machine-sessions")?;
    let state = api.state();
    let index = resolve(&state, &id)?;
    let iter = state.machines[index]
        .sessions
        .iter()
        .filter(|k| page.after.is_none_or(|a| **k > a))
        .filter_map(|k| state.sessions.get(k))
        .map(|s| (s.key, render::session(&state, s)));
    Ok(collection(
        take_page(iter, page.limit, "machine-sessions"),
        None,
    ))
}

fn machine_answer(index: usize) -> SyncAnswer {
    Box::new(move |state: &SiteState| match state.machines.get(index) {
        Some(m) => Json(render::machine(state, m)).into_response(),
        None => ApiError::not_found("Machine", &index.to_string()).into_response(),
    })
}

async fn update(call: Call, ApiPath(id): ApiPath<String>, body: Bytes) -> ApiResult<Response> {
    let request: UpdateMachineRequest = parse_body(&body)?;
    let (action, target) = {
        let state = call.api.state();
        let index = resolve(&state, &id)?;
        let assigned = match &request.assigned_users {
            None => None,
            Some(users) => Some(people(&state, users)?),
        };
        let action = Action::UpdateMachine {
            machine: index,
            maintenance: request.in_maintenance_mode,
            assigned,
        };
        (action, Target::machine(&state.machines[index]))
    };
    Ok(call.run(action, target, no_content()))
}

/// The options of a machine delete: `deleteVm` and `purgeDBOnly` (booleans) and
/// `deleteAccount` (`Leave`, `None`, `Disable`, `Delete`). The lab checks them and removes the
/// machine from the site whichever way the VM and its account would go.
pub fn check_delete_options(call: &Call) -> ApiResult<()> {
    for name in ["deleteVm", "purgeDBOnly"] {
        if let Some(value) = crate::lab::cvad::paging::query_param(&call.query, name)
            && !(value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false"))
        {
            return Err(ApiError::invalid_string(
                name,
                format!("{name} must be true or false, got '{value}'"),
            ));
        }
    }
    if let Some(value) = crate::lab::cvad::paging::query_param(&call.query, "deleteAccount") {
        let known = ["Leave", "None", "Disable", "Delete"];
        if !known.iter().any(|k| k.eq_ignore_ascii_case(value)) {
            return Err(ApiError::invalid_enum("deleteAccount", value));
        }
    }
    Ok(())
}

/// A delete job names the machine (`Id`, `Name`); once it is gone, its catalog is what is
/// left to look at.
pub fn delete_target(state: &SiteState, machine: usize) -> Target {
    let m = &state.machines[machine];
    let catalog = state.catalogs.get(m.catalog).map(|c| c.id.clone());
    let path = catalog.map_or_else(
        || "/MachineCatalogs".to_string(),
        |id| format!("/MachineCatalogs/{id}"),
    );
    Target::new(path, &[("Id", &m.id), ("Name", &m.qualified_name())])
}

/// `DELETE /Machines/{nameOrId}` (JobType `DeleteMachine` with `async=true`).
async fn delete_machine(call: Call, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    check_delete_options(&call)?;
    let (action, target) = {
        let state = call.api.state();
        let machine = resolve(&state, &id)?;
        let target = delete_target(&state, machine);
        let action = Action::DeleteMachine {
            machine,
            catalog: None,
        };
        (action, target)
    };
    Ok(call.run(action, target, no_content()))
}

async fn act(call: Call, ApiPath((id, verb)): ApiPath<(String, String)>) -> ApiResult<Response> {
    let (index, target) = {
        let state = call.api.state();
        let index = resolve(&state, &id)?;
        (index, Target::machine(&state.machines[index]))
    };
    let (action, answer): (Action, SyncAnswer) = match verb.to_ascii_lowercase().as_str() {
        "$logoff" => (Action::MachineLogoff(index), no_content()),
        "$disconnect" => (Action::MachineDisconnect(index), no_content()),
        other => {
            let power = PowerAction::parse(other)
                .filter(|_| other.starts_with('$'))
                .ok_or_else(|| ApiError::not_found("Action", &verb))?;
            let force = flag(&call.query, "force");
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
    Ok(call.run(action, target, answer))
}
