//! The Service Catalog API's `order_now`: one REQ, one RITM per requested-for user, a catalog
//! task per RITM and the variable rows (`sc_item_option` + `sc_item_option_mtom`).

use super::auth::Caller;
use super::envelope;
use super::instance::Instance;
use super::request::{
    accepts_json, bad_content_type, json_content, not_acceptable, stringify, write_ctx,
};
use super::rules::{self, Rejection, WriteCtx};
use super::schema::table_def;
use super::store::Db;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::post};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Quantities above this are refused, like a catalog item's maximum quantity.
const MAX_QUANTITY: u64 = 100;

pub fn routes() -> Router<Arc<Instance>> {
    Router::new()
        .route(
            "/api/sn_sc/servicecatalog/items/{sys_id}/order_now",
            post(order_now),
        )
        .route(
            "/api/sn_sc/v1/servicecatalog/items/{sys_id}/order_now",
            post(order_now),
        )
}

/// What to order.
#[derive(Debug, Clone, Default)]
pub struct Order {
    pub quantity: u64,
    /// sys_ids of the users the item is for (the first is `sysparm_requested_for`).
    pub requested_for: Vec<String>,
    pub variables: Vec<(String, String)>,
    /// Approved orders get their fulfilment task at once; others wait for approval.
    pub approved: bool,
}

/// The records an order created.
#[derive(Debug, Clone)]
pub struct Ordered {
    pub request_id: String,
    pub request_number: String,
    pub items: Vec<String>,
    pub tasks: Vec<String>,
}

fn rejected(status: u16, message: &str, detail: &str) -> Rejection {
    Rejection {
        status,
        message: message.into(),
        detail: detail.into(),
    }
}

/// Places an order for catalog item `item_id`.
pub fn place(
    db: &mut Db,
    item_id: &str,
    order: &Order,
    ctx: &WriteCtx,
) -> Result<Ordered, Rejection> {
    let item = db
        .get("sc_cat_item", item_id)
        .filter(|i| i.get("active") == "true")
        .cloned()
        .ok_or_else(|| {
            rejected(
                404,
                "No Record found",
                "Catalog item doesn't exist or is not active",
            )
        })?;
    if order.quantity == 0 || order.quantity > MAX_QUANTITY {
        return Err(rejected(
            400,
            "Invalid quantity",
            "sysparm_quantity must be between 1 and 100",
        ));
    }
    for user in &order.requested_for {
        if db.get("sys_user", user).is_none() {
            return Err(rejected(
                400,
                "Invalid requested_for",
                &format!("No user with sys_id {user}"),
            ));
        }
    }
    let (Some(req_def), Some(ritm_def), Some(task_def), Some(opt_def), Some(mtom_def)) = (
        table_def("sc_request"),
        table_def("sc_req_item"),
        table_def("sc_task"),
        table_def("sc_item_option"),
        table_def("sc_item_option_mtom"),
    ) else {
        return Err(rejected(
            500,
            "Internal error",
            "catalog tables are missing",
        ));
    };
    let name = item.get("name").to_string();
    let group = item.get("group").to_string();
    let first = order.requested_for.first().cloned().unwrap_or_default();
    let kv = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let stage = if order.approved {
        "fulfillment"
    } else {
        "waiting_for_approval"
    };
    let approval = if order.approved {
        "approved"
    } else {
        "requested"
    };
    let req = rules::insert(
        db,
        req_def,
        &kv(&[
            ("requested_for", &first),
            ("short_description", &name),
            ("approval", approval),
            (
                "stage",
                if order.approved {
                    "fulfillment"
                } else {
                    "waiting_for_approval"
                },
            ),
            (
                "request_state",
                if order.approved {
                    "in_process"
                } else {
                    "requested"
                },
            ),
        ]),
        ctx,
    )?;
    let questions: Vec<(String, String, String, String)> = db
        .find_all("item_option_new", "cat_item", item_id)
        .iter()
        .filter(|q| q.get("active") == "true")
        .map(|q| {
            (
                q.sys_id().to_string(),
                q.get("name").to_string(),
                q.get("default_value").to_string(),
                q.get("order").to_string(),
            )
        })
        .collect();
    let mut out = Ordered {
        request_id: req.sys_id().to_string(),
        request_number: req.get("number").to_string(),
        items: Vec::new(),
        tasks: Vec::new(),
    };
    let quantity = order.quantity.to_string();
    for user in &order.requested_for {
        let ritm = rules::insert(
            db,
            ritm_def,
            &kv(&[
                ("request", req.sys_id()),
                ("cat_item", item_id),
                ("requested_for", user),
                ("quantity", &quantity),
                ("short_description", &name),
                ("assignment_group", &group),
                ("stage", stage),
                ("approval", approval),
            ]),
            ctx,
        )?;
        for (question_id, question, default, position) in &questions {
            let value = order
                .variables
                .iter()
                .find(|(k, _)| k == question)
                .map_or(default.as_str(), |(_, v)| v.as_str());
            let option = rules::insert(
                db,
                opt_def,
                &kv(&[
                    ("item_option_new", question_id),
                    ("value", value),
                    ("order", position),
                ]),
                ctx,
            )?;
            rules::insert(
                db,
                mtom_def,
                &kv(&[
                    ("request_item", ritm.sys_id()),
                    ("sc_item_option", option.sys_id()),
                ]),
                ctx,
            )?;
        }
        if order.approved {
            let who = db.reference_display("sys_user", user);
            let task = rules::insert(
                db,
                task_def,
                &kv(&[
                    ("request_item", ritm.sys_id()),
                    ("request", req.sys_id()),
                    ("short_description", &format!("{name}: {who}")),
                    ("assignment_group", &group),
                ]),
                ctx,
            )?;
            out.tasks.push(task.sys_id().to_string());
        }
        out.items.push(ritm.sys_id().to_string());
    }
    Ok(out)
}

fn quantity(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `POST /api/sn_sc/servicecatalog/items/{sys_id}/order_now`.
async fn order_now(
    State(instance): State<Arc<Instance>>,
    Path(item_id): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !accepts_json(&headers) {
        return not_acceptable();
    }
    if !json_content(&headers) {
        return bad_content_type();
    }
    let body: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => map,
        _ => {
            return envelope::error(
                400,
                "Exception while reading request",
                "The payload must be a JSON object",
            );
        }
    };
    let Some(quantity) = quantity(body.get("sysparm_quantity")) else {
        return envelope::error(
            400,
            "Invalid quantity",
            "sysparm_quantity must be a positive integer",
        );
    };
    let mut requested_for = vec![
        body.get("sysparm_requested_for")
            .cloned()
            .map(stringify)
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| caller.sys_id.clone()),
    ];
    if let Some(also) = body.get("sysparm_also_request_for").cloned().map(stringify) {
        requested_for.extend(
            also.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
    }
    let variables = match body.get("variables") {
        Some(Value::Object(vars)) => vars
            .iter()
            .map(|(k, v)| (k.clone(), stringify(v.clone())))
            .collect(),
        _ => Vec::new(),
    };
    let order = Order {
        quantity,
        requested_for,
        variables,
        approved: true,
    };
    let ctx = write_ctx(&instance, &caller);
    let placed = place(&mut instance.db(), &item_id, &order, &ctx);
    match placed {
        Ok(ordered) => {
            instance.count_order();
            Json(json!({
                "result": {
                    "sys_id": ordered.request_id,
                    "number": ordered.request_number,
                    "request_number": ordered.request_number,
                    "request_id": ordered.request_id,
                    "table": "sc_request",
                }
            }))
            .into_response()
        }
        Err(r) => envelope::error(r.status, &r.message, &r.detail),
    }
}
