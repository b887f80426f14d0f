//! The inventory endpoints, served from the inventory's snapshots: `GET /api/v1/sites` with
//! each site's zones, connector health, degraded flag, data age and counts; the filtered,
//! sorted, cursor-paged lists `/delivery-groups`, `/machines`, `/sessions` and `/users`; and
//! `/sites/{name}/sessions|machines`, a whole site's list in one response for the console.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::AppState;
use super::body::{ApiPath, ApiQuery};
use super::error::ApiError;
use super::routes::Operation;
use super::sites::{SiteView, view};
use crate::adapter::inventory::{
    ConnectorView, Counts, Cursor, Filter, Indexed, Row, SiteData, Sort, UserView, page,
};
use crate::model::{DeliveryGroup, Machine, Session, Zone};

/// Page size when `limit` is not given, and the largest allowed.
pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// One site with its inventory state.
#[derive(Debug, Serialize)]
pub struct SiteInventoryView {
    #[serde(flatten)]
    pub site: SiteView,
    pub zones: Vec<Zone>,
    pub connectors: Vec<ConnectorView>,
    /// No connector answers: the lists show the last known data, `data_age` seconds old.
    pub degraded: bool,
    /// Whole seconds since the last successful refresh; null before the first one.
    pub data_age: Option<u64>,
    pub fetched_at: Option<DateTime<Utc>>,
    /// When the last refresh (successful or not) finished.
    pub last_attempt: Option<DateTime<Utc>>,
    /// Why the last refresh failed; null after a success.
    pub last_error: Option<String>,
    /// Null before the first successful refresh.
    pub counts: Option<Counts>,
}

#[derive(Debug, Serialize)]
pub struct SitesPage {
    pub items: Vec<SiteInventoryView>,
    pub next_cursor: Option<String>,
    pub total: usize,
}

/// `GET /api/v1/sites`: every configured site, disabled ones too.
pub async fn sites(State(state): State<AppState>) -> Result<Json<SitesPage>, ApiError> {
    let flags = state.store.site_flags().await.map_err(ApiError::store)?;
    let now = Utc::now();
    let items: Vec<SiteInventoryView> = state
        .config
        .sites
        .iter()
        .map(|site| {
            let base = view(site, flags.iter().find(|f| f.name == site.name));
            let current = state.inventory.cache(&site.name).map(|c| c.state());
            let current = current.as_deref();
            let data = current.and_then(|s| s.data.as_deref());
            SiteInventoryView {
                site: base,
                zones: data.map(|d| d.zones.clone()).unwrap_or_default(),
                connectors: current.map(|s| s.connectors.clone()).unwrap_or_default(),
                degraded: current.is_some_and(|s| s.degraded),
                data_age: current.and_then(|s| s.data_age(now)),
                fetched_at: data.map(|d| d.fetched_at),
                last_attempt: current.and_then(|s| s.last_attempt),
                last_error: current.and_then(|s| s.last_error.clone()),
                counts: data.map(|d| d.counts),
            }
        })
        .collect();
    Ok(Json(SitesPage {
        total: items.len(),
        items,
        next_cursor: None,
    }))
}

/// Query parameters of the lists. Strings, parsed here, so that a bad value gets a message
/// naming its parameter; unknown parameters are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub site: Option<String>,
    pub group: Option<String>,
    pub user: Option<String>,
    pub state: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
    /// Users only: the account states.
    pub locked: Option<String>,
    pub disabled: Option<String>,
    pub must_change: Option<String>,
}

/// The account-state filters, which take `true` or `false`.
const BOOLEAN_FILTERS: &[&str] = &["locked", "disabled", "must_change"];

struct Parsed {
    filter: Filter,
    sort: Sort,
    cursor: Option<Cursor>,
    limit: usize,
}

fn parse<T: Row>(params: ListParams, state: &AppState, what: &str) -> Result<Parsed, ApiError> {
    let given = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let limit = match given(params.limit) {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=MAX_LIMIT) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "limit={text:?} is not a page size; use a whole number from 1 to {MAX_LIMIT}"
                )));
            }
        },
    };
    let site = given(params.site);
    if let Some(site) = &site
        && state.inventory.cache(site).is_none()
    {
        let known: Vec<&str> = state.config.sites.iter().map(|s| s.name.as_str()).collect();
        return Err(ApiError::bad_request(format!(
            "site={site:?} is not a configured site; the sites are: {}",
            known.join(", ")
        )));
    }
    let mut filter = Filter {
        site: site.map(|s| s.to_lowercase()),
        q: given(params.q).map(|q| q.to_lowercase()),
        ..Filter::default()
    };
    for (name, value, slot) in [
        ("group", given(params.group), &mut filter.group),
        ("user", given(params.user), &mut filter.user),
        ("state", given(params.state), &mut filter.state),
    ] {
        let Some(value) = value else { continue };
        if !T::FILTERS.contains(&name) {
            return Err(ApiError::bad_request(format!(
                "{name}={value:?}: {what} cannot be filtered by {name}; use {}",
                T::FILTERS.join(", ")
            )));
        }
        *slot = Some(value.to_lowercase());
    }
    if let Some(state) = &filter.state {
        T::check_state(state).map_err(ApiError::bad_request)?;
    }
    for (name, value, slot) in [
        ("locked", given(params.locked), &mut filter.locked),
        ("disabled", given(params.disabled), &mut filter.disabled),
        (
            "must_change",
            given(params.must_change),
            &mut filter.must_change,
        ),
    ] {
        let Some(value) = value else { continue };
        if !T::FILTERS.contains(&name) {
            return Err(ApiError::bad_request(format!(
                "{name}={value:?}: {what} cannot be filtered by {name}; use {}",
                T::FILTERS.join(", ")
            )));
        }
        *slot = Some(match value.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "{name}={value:?} is not a yes/no value; use true or false"
                )));
            }
        });
    }
    let sort = Sort::parse::<T>(params.sort.as_deref()).map_err(ApiError::bad_request)?;
    let cursor = given(params.cursor)
        .map(|c| Cursor::decode::<T>(&c, sort))
        .transpose()
        .map_err(ApiError::bad_request)?;
    Ok(Parsed {
        filter,
        sort,
        cursor,
        limit,
    })
}

/// One listed row: the model type's fields, plus the site it belongs to.
#[derive(Serialize)]
struct Item<'a, T> {
    #[serde(skip_serializing_if = "str::is_empty")]
    site: &'a str,
    #[serde(flatten)]
    item: &'a T,
}

#[derive(Serialize)]
struct PageBody<'a, T> {
    items: Vec<Item<'a, T>>,
    next_cursor: Option<String>,
    total: usize,
}

fn respond<'a, T: Row + Serialize + 'a>(
    sources: impl IntoIterator<Item = (&'a str, &'a [Indexed<T>])>,
    parsed: &Parsed,
) -> Response {
    let found = page(
        sources,
        &parsed.filter,
        parsed.sort,
        parsed.cursor.as_ref(),
        parsed.limit,
    );
    Json(PageBody {
        items: found
            .items
            .into_iter()
            .map(|(site, item)| Item { site, item })
            .collect(),
        next_cursor: found.next_cursor,
        total: found.total,
    })
    .into_response()
}

/// A paged list of one kind of row over every site's current data.
fn list<T: Row + Serialize>(
    state: &AppState,
    params: ListParams,
    what: &str,
    rows: for<'a> fn(&'a SiteData) -> &'a [Indexed<T>],
) -> Result<Response, ApiError> {
    let parsed = parse::<T>(params, state, what)?;
    let states = state.inventory.states();
    let sources = states
        .iter()
        .filter_map(|(name, s)| s.data.as_deref().map(|d| (*name, rows(d))));
    Ok(respond(sources, &parsed))
}

pub async fn delivery_groups(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    list::<DeliveryGroup>(&state, params, "delivery groups", |d| &d.groups)
}

pub async fn machines(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    list::<Machine>(&state, params, "machines", |d| &d.machines)
}

pub async fn sessions(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    list::<Session>(&state, params, "sessions", |d| &d.sessions)
}

pub async fn users(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let parsed = parse::<UserView>(params, &state, "users")?;
    let users = state.inventory.users();
    // Users span sites: one source with no site name; `site` filters on their `sites`.
    Ok(respond([("", users.as_slice())], &parsed))
}

/// The head of a whole-site answer; `items` follows it.
#[derive(Serialize)]
struct WholeHead<'a> {
    site: &'a str,
    fetched_at: Option<DateTime<Utc>>,
    degraded: bool,
    data_age: Option<u64>,
    total: usize,
    next_cursor: Option<String>,
}

/// A whole site's list: the head, then the snapshot's JSON array as it was serialized once,
/// sent as body chunks without being copied.
async fn whole(state: &AppState, name: &str, rows: fn(&SiteData) -> (Bytes, usize)) -> Response {
    let Some(cache) = state.inventory.cache(name) else {
        let known: Vec<&str> = state.config.sites.iter().map(|s| s.name.as_str()).collect();
        return ApiError::not_found(format!(
            "no site named {name:?}; the configured sites are: {}",
            known.join(", ")
        ))
        .into_response();
    };
    let current = cache.state();
    let (items, total) = match current.data.as_ref() {
        // The first call after a refresh serializes the snapshot (about 150 ms for 100,000
        // sessions), off the async workers; later calls find the bytes ready.
        Some(data) => {
            let data = Arc::clone(data);
            match tokio::task::spawn_blocking(move || rows(&data)).await {
                Ok(found) => found,
                Err(err) => {
                    return ApiError::new(
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        format!("serializing the site's list failed: {err}"),
                    )
                    .into_response();
                }
            }
        }
        None => (Bytes::from_static(b"[]"), 0),
    };
    let head = WholeHead {
        site: &cache.name,
        fetched_at: current.data.as_ref().map(|d| d.fetched_at),
        degraded: current.degraded,
        data_age: current.data_age(Utc::now()),
        total,
        next_cursor: None,
    };
    // A struct of strings, numbers and times always serializes; it ends with `}`, which is
    // replaced by the `items` member.
    let mut head = serde_json::to_vec(&head).unwrap_or_else(|_| b"{}".to_vec());
    head.pop();
    if head.len() > 1 {
        head.push(b',');
    }
    head.extend_from_slice(b"\"items\":");
    let chunks: [Result<Bytes, std::convert::Infallible>; 3] = [
        Ok(Bytes::from(head)),
        Ok(items),
        Ok(Bytes::from_static(b"}")),
    ];
    let mut response = Body::from_stream(futures::stream::iter(chunks)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub async fn site_sessions(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Response {
    whole(&state, &name, |d| (d.sessions_json(), d.sessions.len())).await
}

pub async fn site_machines(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
) -> Response {
    whole(&state, &name, |d| (d.machines_json(), d.machines.len())).await
}

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description,
            "schema": schema })
}

fn list_parameters<T: Row>() -> Value {
    let text = json!({ "type": "string" });
    let mut params = vec![param("site", "Site name", text.clone())];
    for filter in T::FILTERS {
        if BOOLEAN_FILTERS.contains(filter) {
            let what = match *filter {
                "locked" => "locked out",
                "disabled" => "disabled",
                _ => "made to choose a new password at the next logon",
            };
            params.push(param(
                filter,
                &format!(
                    "Only users whose directory account is (true) or is not (false) {what}; \
                     users no directory knows match neither"
                ),
                json!({ "type": "boolean" }),
            ));
            continue;
        }
        let description = match *filter {
            "group" => "Delivery group name or id",
            "user" => "User: DOMAIN\\name, name or UPN",
            _ => "State (see the 400 message for the values)",
        };
        params.push(param(filter, description, text.clone()));
    }
    params.push(param(
        "q",
        "Case-insensitive text in any visible field",
        text.clone(),
    ));
    params.push(param(
        "sort",
        "Field to sort by; prefix - for descending",
        json!({ "type": "string", "enum": T::SORT_FIELDS }),
    ));
    params.push(param("cursor", "next_cursor of the previous page", text));
    params.push(param(
        "limit",
        "Page size",
        json!({ "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT }),
    ));
    Value::Array(params)
}

/// The OpenAPI parts of the inventory operations (parameters and responses), for
/// `openapi::specifics`.
pub fn openapi(
    operation: Operation,
    op: &mut Map<String, Value>,
    responses: &mut Map<String, Value>,
) {
    let ok = |schema: Value| json!({ "description": "OK", "content": { "application/json": { "schema": schema } } });
    let error = |description: &str| {
        json!({ "description": description, "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Error" } } } })
    };
    let paged = |item: &str| {
        ok(
            json!({ "type": "object", "required": ["items", "next_cursor", "total"],
            "properties": {
                "items": { "type": "array", "items": { "type": "object",
                    "description": item } },
                "next_cursor": { "type": "string", "nullable": true },
                "total": { "type": "integer", "description": "Rows matching the filters" } } }),
        )
    };
    let whole = |item: &str| {
        ok(json!({ "type": "object", "properties": {
            "site": { "type": "string" },
            "fetched_at": { "type": "string", "format": "date-time", "nullable": true },
            "degraded": { "type": "boolean" },
            "data_age": { "type": "integer", "nullable": true },
            "total": { "type": "integer" },
            "next_cursor": { "type": "string", "nullable": true, "description": "Always null" },
            "items": { "type": "array", "items": { "type": "object", "description": item } } } }))
    };
    let mut list = |params: Value, item: &str| {
        op.insert("parameters".into(), params);
        responses.insert("200".into(), paged(item));
        responses.insert(
            "400".into(),
            error("An unknown parameter or a bad value; the message names it"),
        );
    };
    match operation {
        Operation::DeliveryGroups => list(
            list_parameters::<DeliveryGroup>(),
            "A DeliveryGroup with its counters, and site",
        ),
        Operation::Machines => list(list_parameters::<Machine>(), "A Machine, and site"),
        Operation::Sessions => list(list_parameters::<Session>(), "A Session, and site"),
        Operation::Users => list(
            list_parameters::<UserView>(),
            "user_name, upn, display_name, sessions, machines, sites, and account \
             {locked, disabled, must_change, password_expires} when a directory knows the user",
        ),
        Operation::SiteSessions | Operation::SiteMachines => {
            op.insert(
                "parameters".into(),
                json!([{ "name": "name", "in": "path", "required": true,
                         "description": "Site name", "schema": { "type": "string" } }]),
            );
            let item = if operation == Operation::SiteSessions {
                "A Session"
            } else {
                "A Machine"
            };
            responses.insert("200".into(), whole(item));
            responses.insert("404".into(), error("No such site"));
        }
        _ => {
            let site = json!({ "allOf": [
                { "$ref": "#/components/schemas/Site" },
                { "type": "object", "properties": {
                    "zones": { "type": "array", "items": { "type": "object",
                        "description": "A Zone: id, name, is_primary, is_healthy, connectors" } },
                    "connectors": { "type": "array", "items": { "type": "object", "properties": {
                        "url": { "type": "string" },
                        "health": { "type": "string", "enum": ["up", "down", "unknown"] },
                        "last_error": { "type": "string", "nullable": true } } } },
                    "degraded": { "type": "boolean",
                        "description": "No connector answers; the data is the last known" },
                    "data_age": { "type": "integer", "nullable": true,
                        "description": "Seconds since the last successful refresh" },
                    "fetched_at": { "type": "string", "format": "date-time", "nullable": true },
                    "last_attempt": { "type": "string", "format": "date-time", "nullable": true },
                    "last_error": { "type": "string", "nullable": true },
                    "counts": { "type": "object", "nullable": true, "properties": {
                        "zones": { "type": "integer" },
                        "delivery_groups": { "type": "integer" },
                        "machines": { "type": "integer" },
                        "machines_registered": { "type": "integer" },
                        "machines_in_maintenance": { "type": "integer" },
                        "sessions": { "type": "integer" },
                        "sessions_active": { "type": "integer" },
                        "sessions_disconnected": { "type": "integer" } } } } }
            ] });
            responses.insert(
                "200".into(),
                ok(json!({ "type": "object", "properties": {
                    "items": { "type": "array", "items": site },
                    "next_cursor": { "type": "string", "nullable": true },
                    "total": { "type": "integer" } } })),
            );
        }
    }
}
