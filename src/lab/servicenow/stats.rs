//! The Aggregate API, `GET /api/now/stats/{table}`: counts, optionally grouped, for queue badges.

use super::auth::Caller;
use super::instance::Instance;
use super::request::{Refusal, flag, param, params, target};
use super::table_api::select;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn routes() -> Router<Arc<Instance>> {
    Router::new()
        .route("/api/now/stats/{table}", get(stats))
        .route("/api/now/v1/stats/{table}", get(stats))
}

async fn stats(
    State(instance): State<Arc<Instance>>,
    Path(name): Path<String>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Refusal> {
    let def = target(&headers, &name)?;
    let params = params(raw.as_deref());
    let settings = instance.settings();
    let db = instance.db();
    let rows = select(&db, def, &params, &caller, &settings);
    // Without sysparm_count the API returns an empty stats object, as ServiceNow does.
    let counting = flag(&params, "sysparm_count");
    let stats = |n: usize| {
        if counting {
            json!({ "count": n.to_string() })
        } else {
            json!({})
        }
    };
    let group_by: Vec<(String, _)> = param(&params, "sysparm_group_by")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .filter_map(|f| db.resolve(def, f).map(|p| (f.to_string(), p)))
        .collect();
    if group_by.is_empty() {
        return Ok(Json(json!({ "result": { "stats": stats(rows.len()) } })).into_response());
    }
    let mut groups: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for row in &rows {
        let key = group_by.iter().map(|(_, p)| db.value(row, p)).collect();
        *groups.entry(key).or_default() += 1;
    }
    let result: Vec<_> = groups
        .into_iter()
        .map(|(values, n)| {
            let fields: Vec<_> = group_by
                .iter()
                .zip(values)
                .map(|((field, _), value)| json!({ "field": field, "value": value }))
                .collect();
            json!({ "stats": stats(n), "groupby_fields": fields })
        })
        .collect();
    Ok(Json(json!({ "result": result })).into_response())
}
