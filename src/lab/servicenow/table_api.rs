//! The Table API routes: list with encoded queries and paging headers, get, insert, update,
//! delete; under `/api/now/table`, `/api/now/v1/table` and `/api/now/v2/table`.

use super::auth::Caller;
use super::envelope;
use super::instance::{Instance, Settings};
use super::paging::{Paging, link_header};
use super::query::Query;
use super::query::{Cond, Op};
use super::render::{DisplayMode, RenderOpts, field_list, render};
use super::request::{
    Refusal, flag, param, params, rejection, target, wants_body, write_ctx, write_input,
};
use super::rules;
use super::schema::TableDef;
use super::store::{Db, Record};
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

const DEFAULT_LIMIT: usize = 10_000;

pub fn routes() -> Router<Arc<Instance>> {
    Router::new()
        .route("/api/now/table/{table}", get(list).post(write))
        .route(
            "/api/now/table/{table}/{sys_id}",
            get(read).patch(write).put(write).delete(remove),
        )
        .route("/api/now/{version}/table/{table}", get(list).post(write))
        .route(
            "/api/now/{version}/table/{table}/{sys_id}",
            get(read).patch(write).put(write).delete(remove),
        )
}

/// The path of a Table API call: `version` only under `/api/now/{version}/table`, `sys_id`
/// only on a record's routes.
#[derive(Debug, Deserialize)]
struct TablePath {
    version: Option<String>,
    table: String,
    sys_id: Option<String>,
}

impl TablePath {
    /// The checks every Table API call starts with: a known version (the answer is whether it
    /// is v1, whose empty lists are 404s), then [`target`]'s.
    fn target(&self, headers: &HeaderMap) -> Result<(bool, &'static TableDef), Refusal> {
        let v1 = match self.version.as_deref() {
            None | Some("v2") => false,
            Some("v1") => true,
            Some(version) => {
                return Err(envelope::error(
                    400,
                    "Requested URI does not represent any resource",
                    &format!("Unknown Table API version {version}"),
                )
                .into());
            }
        };
        Ok((v1, target(headers, &self.table)?))
    }

    /// The record's sys_id; the record routes always carry one.
    fn sys_id(&self) -> &str {
        self.sys_id.as_deref().unwrap_or_default()
    }
}

fn render_opts(instance: &Instance, params: &[(String, String)]) -> RenderOpts {
    RenderOpts {
        display: DisplayMode::parse(param(params, "sysparm_display_value")),
        exclude_links: flag(params, "sysparm_exclude_reference_link"),
        base_url: instance.base_url(),
    }
}

/// `{"result": record}` with the fields `sysparm_fields` asks for.
fn result_body(
    db: &Db,
    def: &'static TableDef,
    record: &Record,
    params: &[(String, String)],
    opts: &RenderOpts,
) -> Value {
    let fields = field_list(db, def, param(params, "sysparm_fields"));
    json!({ "result": render(db, record, &fields, opts) })
}

/// The rows a list or stats call selects; an invalid query selects none when the instance's
/// `glide.invalid_query.returns_no_rows` is set, and is ignored otherwise.
pub fn select<'db>(
    db: &'db Db,
    def: &'static TableDef,
    params: &[(String, String)],
    caller: &Caller,
    settings: &Settings,
) -> Vec<&'db Record> {
    let query = build_query(db, def, params, caller);
    if query.invalid && settings.invalid_query_returns_no_rows {
        Vec::new()
    } else {
        db.select(def, &query)
    }
}

/// The query of a list or stats call: `sysparm_query` (with `javascript:gs.getUserID()`
/// standing for the caller) plus plain `field=value` parameters AND'ed onto every group.
fn build_query(
    db: &Db,
    def: &'static TableDef,
    params: &[(String, String)],
    caller: &Caller,
) -> Query {
    let encoded = param(params, "sysparm_query")
        .unwrap_or("")
        .replace("javascript:gs.getUserID()", &caller.sys_id);
    let mut query = db.parse_query(def, &encoded);
    for (key, value) in params.iter().filter(|(k, _)| !k.starts_with("sysparm_")) {
        if db.resolve(def, key).is_none() {
            query.invalid = true;
            continue;
        }
        let cond = Cond {
            field: key.clone(),
            op: Op::Eq,
            value: value.clone(),
        };
        if query.groups.is_empty() {
            query.groups.push(Vec::new());
        }
        for group in &mut query.groups {
            group.push(vec![cond.clone()]);
        }
    }
    query
}

async fn list(
    State(instance): State<Arc<Instance>>,
    Path(path): Path<TablePath>,
    Extension(caller): Extension<Caller>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let (v1, def) = path.target(&headers)?;
    let params = params(query.as_deref());
    let limit = param(&params, "sysparm_limit")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(DEFAULT_LIMIT);
    let offset = match param(&params, "sysparm_offset").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(offset)) => offset,
        Some(Err(_)) => {
            return Err(envelope::error(
                400,
                "Invalid sysparm_offset",
                "sysparm_offset must be a non-negative integer",
            )
            .into());
        }
    };
    let settings = instance.settings();
    let opts = render_opts(&instance, &params);
    let db = instance.db();
    let rows = select(&db, def, &params, &caller, &settings);
    let total = rows.len();
    let cap = instance.faults.page_cap(limit);
    let fields = field_list(&db, def, param(&params, "sysparm_fields"));
    let page: Vec<Value> = rows
        .iter()
        .skip(offset)
        .take(cap)
        .map(|r| render(&db, r, &fields, &opts))
        .collect();
    drop(db);
    if v1 && page.is_empty() {
        return Err(envelope::not_found().into());
    }
    let returned = page.len();
    let mut response = Json(json!({ "result": page })).into_response();
    let out = response.headers_mut();
    if !flag(&params, "sysparm_no_count")
        && let Ok(v) = HeaderValue::from_str(&total.to_string())
    {
        out.insert("X-Total-Count", v);
    }
    if !flag(&params, "sysparm_suppress_pagination_header")
        && let Some(link) = link_header(
            &instance.base_url(),
            uri.path(),
            &params,
            Paging {
                offset,
                limit,
                returned,
                total,
            },
        )
        && let Ok(v) = HeaderValue::from_str(&link)
    {
        out.insert(header::LINK, v);
    }
    Ok(response)
}

async fn read(
    State(instance): State<Arc<Instance>>,
    Path(path): Path<TablePath>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let (_, def) = path.target(&headers)?;
    let params = params(query.as_deref());
    let opts = render_opts(&instance, &params);
    let db = instance.db();
    let record = db
        .get(def.name, path.sys_id())
        .ok_or_else(envelope::not_found)?;
    Ok(Json(result_body(&db, def, record, &params, &opts)).into_response())
}

/// `POST` on a table inserts a record; `PATCH` and `PUT` on a record update it.
async fn write(
    State(instance): State<Arc<Instance>>,
    method: Method,
    Path(path): Path<TablePath>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refusal> {
    let (_, def) = path.target(&headers)?;
    let input = write_input(&headers, &body)?;
    let params = params(query.as_deref());
    let ctx = write_ctx(&instance, &caller);
    let opts = render_opts(&instance, &params);
    let mut db = instance.db();
    let (status, record) = match path.sys_id.as_deref() {
        None => (
            StatusCode::CREATED,
            rules::insert(&mut db, def, &input, &ctx).map_err(rejection)?,
        ),
        Some(sys_id) => (
            StatusCode::OK,
            rules::update(&mut db, def, sys_id, &input, &ctx)
                .map_err(rejection)?
                .ok_or_else(envelope::not_found)?,
        ),
    };
    let body = wants_body(&headers).then(|| result_body(&db, def, &record, &params, &opts));
    drop(db);
    instance.count_write(def.name, method.as_str());
    let mut response = match body {
        Some(body) => (status, Json(body)).into_response(),
        None => status.into_response(),
    };
    if status == StatusCode::CREATED {
        let location = format!(
            "{}/api/now/table/{}/{}",
            opts.base_url,
            def.name,
            record.sys_id()
        );
        if let Ok(v) = HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, v);
        }
    }
    Ok(response)
}

async fn remove(
    State(instance): State<Arc<Instance>>,
    Path(path): Path<TablePath>,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let (_, def) = path.target(&headers)?;
    if !instance.db().delete(def.name, path.sys_id()) {
        return Err(envelope::not_found().into());
    }
    instance.count_write(def.name, "DELETE");
    Ok(StatusCode::NO_CONTENT.into_response())
}
