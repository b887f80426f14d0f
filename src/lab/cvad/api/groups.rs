//! `/DeliveryGroups` and `/MachineCatalogs`, with adding and removing machines (MCS
//! provisioning through the catalog's naming scheme).

use super::{ApiState, SyncAnswer, no_content, params, parse_body, query_map, run_action};
use crate::cvad::wire::{AddCatalogMachineRequest, Collection, DeliveryGroupAddMachinesRequest};
use crate::lab::cvad::actions::Action;
use crate::lab::cvad::auth::Caller;
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::paging::{self, take_page};
use crate::lab::cvad::render;
use crate::lab::cvad::state::{MachineRec, SiteState};
use crate::model::ProvisioningType;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/DeliveryGroups", get(list_groups))
        .route("/DeliveryGroups/{id}", get(get_group))
        .route(
            "/DeliveryGroups/{id}/Machines",
            get(group_machines).post(add_to_group),
        )
        .route(
            "/DeliveryGroups/{id}/Machines/{machine}",
            delete(remove_from_group),
        )
        .route("/MachineCatalogs", get(list_catalogs))
        .route("/MachineCatalogs/{id}", get(get_catalog))
        .route(
            "/MachineCatalogs/{id}/Machines",
            get(catalog_machines).post(add_to_catalog),
        )
}

fn group_index(state: &SiteState, id: &str) -> ApiResult<usize> {
    state
        .find_group(id)
        .ok_or_else(|| ApiError::not_found("DeliveryGroup", id))
}

fn catalog_index(state: &SiteState, id: &str) -> ApiResult<usize> {
    state
        .find_catalog(id)
        .ok_or_else(|| ApiError::not_found("MachineCatalog", id))
}

async fn list_groups(State(api): State<ApiState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = query_map(raw);
    let page = paging::parse(&query, "groups")?;
    let limit = api.site.faults.page_cap(page.limit);
    let state = api.state();
    let counters = state.group_counters();
    let start = page.after.map_or(0, |a| a as usize + 1);
    let iter = (start..state.groups.len())
        .filter_map(|i| render::group(&state, i, counters[i]).map(|g| (i as u64, g)));
    let (items, token) = take_page(iter, limit, "groups");
    Ok(Json(Collection {
        items,
        continuation_token: token,
        total_items: None,
    })
    .into_response())
}

async fn get_group(State(api): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    let state = api.state();
    let index = group_index(&state, &id)?;
    let group = render::group(&state, index, state.counters_of(index))
        .ok_or_else(|| ApiError::not_found("DeliveryGroup", &id))?;
    Ok(Json(group).into_response())
}

/// Which machines of the site a listing shows.
type MachineFilter = Box<dyn Fn(&MachineRec) -> bool>;
/// Resolves a path id into a [`MachineFilter`] (or a 404).
type PickMachines = fn(&SiteState, &str) -> ApiResult<MachineFilter>;

/// Machines filtered by a predicate, paged by record index.
fn machines_page(
    api: &ApiState,
    raw: Option<String>,
    kind: &str,
    id: &str,
    pick: PickMachines,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let page = paging::parse(&query, kind)?;
    let limit = api.site.faults.page_cap(page.limit);
    let state = api.state();
    let keep = pick(&state, id)?;
    let start = page.after.map_or(0, |a| a as usize + 1);
    let iter = state
        .machines
        .iter()
        .enumerate()
        .skip(start)
        .filter(|(_, m)| keep(m))
        .map(|(i, m)| (i as u64, render::machine(&state, m)));
    let (items, token) = take_page(iter, limit, kind);
    Ok(Json(Collection {
        items,
        continuation_token: token,
        total_items: None,
    })
    .into_response())
}

async fn group_machines(
    State(api): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    machines_page(&api, raw, "group-machines", &id, |state, id| {
        let g = group_index(state, id)?;
        Ok(Box::new(move |m| m.group == Some(g)))
    })
}

async fn catalog_machines(
    State(api): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    machines_page(&api, raw, "catalog-machines", &id, |state, id| {
        let c = catalog_index(state, id)?;
        Ok(Box::new(move |m| m.catalog == c))
    })
}

async fn add_to_group(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let request: DeliveryGroupAddMachinesRequest = parse_body(&body)?;
    let (action, group_id, group_name) = {
        let state = api.state();
        let group = group_index(&state, &id)?;
        let catalog = catalog_index(&state, &request.machine_catalog)?;
        let mut assignments = Vec::new();
        for assignment in &request.assign_machines_to_users {
            let machine = state
                .find_machine(&assignment.machine)
                .ok_or_else(|| ApiError::not_found("Machine", &assignment.machine))?;
            let users = assignment
                .users
                .iter()
                .map(|u| {
                    state
                        .find_person(u)
                        .ok_or_else(|| ApiError::not_found("User", u))
                })
                .collect::<ApiResult<Vec<usize>>>()?;
            assignments.push((machine, users));
        }
        if request.count == 0 && assignments.is_empty() {
            return Err(ApiError::out_of_range("Count", "Count must be at least 1"));
        }
        let g = &state.groups[group];
        (
            Action::AddGroupMachines {
                group,
                catalog,
                count: request.count,
                assignments,
            },
            g.id.clone(),
            g.name.clone(),
        )
    };
    let parameters = params(&[("Id", &group_id), ("Name", &group_name)]);
    Ok(run_action(
        &api,
        &caller,
        &query,
        action,
        parameters,
        format!("/DeliveryGroups/{group_id}"),
        no_content(),
    ))
}

async fn remove_from_group(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path((id, machine)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let (action, group_id) = {
        let state = api.state();
        let group = group_index(&state, &id)?;
        let index = state
            .find_machine(&machine)
            .ok_or_else(|| ApiError::not_found("Machine", &machine))?;
        (
            Action::RemoveGroupMachine {
                group,
                machine: index,
            },
            state.groups[group].id.clone(),
        )
    };
    let parameters = params(&[("Id", &group_id), ("Machine", &machine)]);
    Ok(run_action(
        &api,
        &caller,
        &query,
        action,
        parameters,
        format!("/DeliveryGroups/{group_id}"),
        no_content(),
    ))
}

async fn list_catalogs(
    State(api): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let page = paging::parse(&query, "catalogs")?;
    let limit = api.site.faults.page_cap(page.limit);
    let state = api.state();
    let start = page.after.map_or(0, |a| a as usize + 1);
    let iter = (start..state.catalogs.len())
        .filter_map(|i| render::catalog(&state, i).map(|c| (i as u64, c)));
    let (items, token) = take_page(iter, limit, "catalogs");
    Ok(Json(Collection {
        items,
        continuation_token: token,
        total_items: None,
    })
    .into_response())
}

async fn get_catalog(State(api): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
    let state = api.state();
    let index = catalog_index(&state, &id)?;
    let catalog =
        render::catalog(&state, index).ok_or_else(|| ApiError::not_found("MachineCatalog", &id))?;
    Ok(Json(catalog).into_response())
}

/// Expands a naming scheme: each run of `#` becomes the zero-padded number (Numeric) or
/// letters (Alphabetic, `A`..`Z`, `AA`..).
pub fn expand_scheme(scheme: &str, kind: &str, number: u32) -> ApiResult<String> {
    let hashes = scheme.chars().filter(|c| *c == '#').count();
    if hashes == 0 {
        return Err(ApiError::invalid_string(
            "NamingScheme",
            "The naming scheme needs at least one '#'",
        ));
    }
    let value = if kind.eq_ignore_ascii_case("Alphabetic") {
        let mut n = number.saturating_sub(1);
        let mut letters = Vec::new();
        for _ in 0..hashes {
            letters.push((b'A' + (n % 26) as u8) as char);
            n /= 26;
        }
        letters.iter().rev().collect::<String>()
    } else if kind.eq_ignore_ascii_case("Numeric") || kind.is_empty() {
        format!("{number:0hashes$}")
    } else {
        return Err(ApiError::invalid_enum("NamingSchemeType", kind));
    };
    let start = scheme.find('#').unwrap_or(0);
    let name = format!("{}{}{}", &scheme[..start], value, &scheme[start + hashes..]);
    if name.len() > 15 {
        return Err(ApiError::invalid_string(
            "NamingScheme",
            format!("Machine name {name} is longer than 15 characters"),
        ));
    }
    Ok(name)
}

async fn add_to_catalog(
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let request: AddCatalogMachineRequest = parse_body(&body)?;
    let (action, catalog_id, catalog_name) = {
        let mut state = api.state();
        let catalog = catalog_index(&state, &id)?;
        let assigned = request
            .assigned_users
            .iter()
            .map(|u| {
                state
                    .find_person(u)
                    .ok_or_else(|| ApiError::not_found("User", u))
            })
            .collect::<ApiResult<Vec<usize>>>()?;
        let c = &state.catalogs[catalog];
        let name = match (
            &request.machine_account_creation_rules,
            &request.add_available_machine_account,
            &request.machine_name,
        ) {
            (Some(rules), _, _) => {
                if c.provisioning != ProvisioningType::MCS {
                    return Err(ApiError::invalid_operation(
                        "MachineAccountCreationRules need an MCS catalog",
                    ));
                }
                // Find the next free number so concurrent jobs never reuse a name.
                let mut number = rules
                    .next_value
                    .as_deref()
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(c.next_number)
                    .max(c.next_number);
                let mut name =
                    expand_scheme(&rules.naming_scheme, &rules.naming_scheme_type, number)?;
                while state.find_machine(&name).is_some() {
                    number += 1;
                    name = expand_scheme(&rules.naming_scheme, &rules.naming_scheme_type, number)?;
                }
                state.catalogs[catalog].next_number = number + 1;
                name
            }
            (None, Some(account), _) => account
                .ad_account_name
                .trim_end_matches('$')
                .rsplit(['\\', '|'])
                .next()
                .unwrap_or_default()
                .to_string(),
            (None, None, Some(name)) => name
                .rsplit(['\\', '|'])
                .next()
                .unwrap_or_default()
                .to_string(),
            (None, None, None) => return Err(ApiError::missing("MachineAccountCreationRules")),
        };
        if name.is_empty() {
            return Err(ApiError::invalid_string(
                "MachineName",
                "The machine name is empty",
            ));
        }
        let c = &state.catalogs[catalog];
        (
            Action::AddCatalogMachine {
                catalog,
                name,
                assigned,
                maintenance: request.in_maintenance_mode.unwrap_or(false),
            },
            c.id.clone(),
            c.name.clone(),
        )
    };
    let parameters = params(&[("NameOrId", &catalog_name), ("Id", &catalog_id)]);
    let answer: SyncAnswer = Box::new(|_| StatusCode::NO_CONTENT.into_response());
    Ok(run_action(
        &api,
        &caller,
        &query,
        action,
        parameters,
        format!("/MachineCatalogs/{catalog_id}"),
        answer,
    ))
}
