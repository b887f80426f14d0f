//! `/MachineCatalogs`: list, get, the catalog's machines, adding a machine (MCS
//! provisioning through the catalog's naming scheme, with the `X-AdminCredential` the AD
//! account creation needs) and deleting one.
//!
//! An add job's parameters are those of the real job: `NameOrId` (the catalog) and `request`
//! (the request as the site resolved it, `MachineName` included), so a client learns the new
//! machine's name from the job; `ResultLocation` points at the machine once it exists.

use super::http::ApiPath;
use super::machines::{
    check_delete_options, delete_target, machine_page, resolve as resolve_machine,
};
use super::{ApiState, Call, Target, index_page, no_content, parse_body, people};
use crate::cvad::wire::AddCatalogMachineRequest;
use crate::lab::cvad::actions::Action;
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::render;
use crate::lab::cvad::state::SiteState;
use crate::lab::people::DOMAIN;
use crate::model::ProvisioningType;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/MachineCatalogs", get(list_catalogs))
        .route("/MachineCatalogs/{id}", get(get_catalog))
        .route(
            "/MachineCatalogs/{id}/Machines",
            get(catalog_machines).post(add_to_catalog),
        )
        .route(
            "/MachineCatalogs/{id}/Machines/{machine}",
            delete(delete_from_catalog),
        )
}

/// The header that carries the AD account allowed to create machine accounts.
pub const ADMIN_CREDENTIAL: &str = "X-AdminCredential";

pub fn catalog_index(state: &SiteState, id: &str) -> ApiResult<usize> {
    state
        .find_catalog(id)
        .ok_or_else(|| ApiError::not_found("MachineCatalog", id))
}

async fn list_catalogs(
    State(api): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    index_page(&api, raw, "catalogs", |s| s.catalogs.len(), render::catalog)
}

async fn get_catalog(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let state = api.state();
    let index = catalog_index(&state, &id)?;
    let catalog =
        render::catalog(&state, index).ok_or_else(|| ApiError::not_found("MachineCatalog", &id))?;
    Ok(Json(catalog).into_response())
}

async fn catalog_machines(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let catalog = catalog_index(&api.state(), &id)?;
    machine_page(
        &api,
        raw,
        "catalog-machines",
        move |_, m| m.catalog == catalog,
        false,
    )
}

/// The user of a well-formed `X-AdminCredential: Basic base64(user:password)`; `None` when
/// the header is absent.
pub fn admin_credential(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(ADMIN_CREDENTIAL) else {
        return Ok(None);
    };
    let malformed = || {
        ApiError::invalid_string(
            ADMIN_CREDENTIAL,
            format!("{ADMIN_CREDENTIAL} must be 'Basic base64(user:password)'"),
        )
    };
    let user = value
        .to_str()
        .ok()
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .and_then(|(_, encoded)| STANDARD.decode(encoded.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| {
            text.split_once(':')
                .map(|(user, _)| user.trim().to_string())
        })
        .filter(|user| !user.is_empty())
        .ok_or_else(malformed)?;
    Ok(Some(user))
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

/// The short name after `DOMAIN\` or `DOMAIN|`.
fn short_name(name: &str) -> String {
    name.rsplit(['\\', '|'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The new machine's name: from the creation rules (reserving the number), the available
/// account, or the given name.
fn new_machine_name(
    state: &mut SiteState,
    catalog: usize,
    request: &AddCatalogMachineRequest,
) -> ApiResult<String> {
    let name = match (
        &request.machine_account_creation_rules,
        &request.add_available_machine_account,
        &request.machine_name,
    ) {
        (Some(rules), _, _) => {
            let next = state.catalogs[catalog].next_number;
            // Find the next free number so concurrent jobs never reuse a name.
            let mut number = rules
                .next_value
                .as_deref()
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(next)
                .max(next);
            let expand = |n| expand_scheme(&rules.naming_scheme, &rules.naming_scheme_type, n);
            let mut name = expand(number)?;
            while state.find_machine(&name).is_some() {
                number += 1;
                name = expand(number)?;
            }
            state.catalogs[catalog].next_number = number + 1;
            name
        }
        (None, Some(account), _) => short_name(account.ad_account_name.trim_end_matches('$')),
        (None, None, Some(name)) => short_name(name),
        (None, None, None) => return Err(ApiError::missing("MachineAccountCreationRules")),
    };
    if name.is_empty() {
        return Err(ApiError::invalid_string(
            "MachineName",
            "The machine name is empty",
        ));
    }
    Ok(name)
}

async fn add_to_catalog(
    call: Call,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let request: AddCatalogMachineRequest = parse_body(&body)?;
    let admin = admin_credential(&headers)?;
    let (action, target) = {
        let mut state = call.api.state();
        let catalog = catalog_index(&state, &id)?;
        let assigned = people(&state, &request.assigned_users)?;
        if request.machine_account_creation_rules.is_some() {
            if state.catalogs[catalog].provisioning != ProvisioningType::MCS {
                return Err(ApiError::invalid_operation(
                    "MachineAccountCreationRules need an MCS catalog",
                ));
            }
            // Creating AD accounts needs an AD identity, as on the real API.
            if admin.is_none() {
                return Err(ApiError::missing(ADMIN_CREDENTIAL));
            }
        }
        let name = new_machine_name(&mut state, catalog, &request)?;
        let resolved = AddCatalogMachineRequest {
            machine_name: Some(format!("{DOMAIN}\\{name}")),
            ..request.clone()
        };
        let echoed = serde_json::to_string(&[resolved]).unwrap_or_default();
        let c = &state.catalogs[catalog];
        let path = format!("/MachineCatalogs/{}", c.id);
        let target = Target::new(
            path,
            &[("NameOrId", &c.name), ("Id", &c.id), ("request", &echoed)],
        );
        let action = Action::AddCatalogMachine {
            catalog,
            name,
            assigned,
            maintenance: request.in_maintenance_mode.unwrap_or(false),
        };
        (action, target)
    };
    Ok(call.run(action, target, no_content()))
}

/// `DELETE /MachineCatalogs/{nameOrId}/Machines/{machine}`: deletes the machine from the
/// site; refused while it is in a delivery group or has sessions.
async fn delete_from_catalog(
    call: Call,
    ApiPath((id, machine)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    check_delete_options(&call)?;
    let (action, target) = {
        let state = call.api.state();
        let catalog = catalog_index(&state, &id)?;
        let index = resolve_machine(&state, &machine)?;
        let action = Action::DeleteMachine {
            machine: index,
            catalog: Some(catalog),
        };
        (action, delete_target(&state, index))
    };
    Ok(call.run(action, target, no_content()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(ADMIN_CREDENTIAL, v);
        }
        headers
    }

    #[test]
    fn admin_credentials_are_basic_user_and_password() {
        assert_eq!(admin_credential(&HeaderMap::new()), Ok(None));
        let good = format!("Basic {}", STANDARD.encode("LAB\\svc-mcs:pw"));
        assert_eq!(
            admin_credential(&with(&good)),
            Ok(Some("LAB\\svc-mcs".to_string()))
        );
        let no_colon = format!("Basic {}", STANDARD.encode("just-a-user"));
        let no_user = format!("basic {}", STANDARD.encode(":pw"));
        for bad in ["Basic", "Bearer abc", "Basic !!!", &no_colon, &no_user] {
            let err = admin_credential(&with(bad)).expect_err(bad);
            assert_eq!(err.kind, "common/invalidString", "{bad}");
            assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn naming_schemes_expand_numbers_and_letters() {
        assert_eq!(expand_scheme("VDI-###", "Numeric", 7), Ok("VDI-007".into()));
        assert_eq!(
            expand_scheme("VDI-##", "Alphabetic", 28),
            Ok("VDI-BB".into())
        );
        assert!(expand_scheme("VDI-", "Numeric", 1).is_err());
        assert!(expand_scheme("VERY-LONG-NAME-###", "Numeric", 1).is_err());
    }
}
