//! `GET /api/v1/routing/explain?user=DOMAIN\sam` and `GET /api/v1/routing/rules`: which
//! routing rule sends a user where, and why (see [`crate::adapter::routing`]), and the rules
//! themselves, for the console and for checking a config before a request depends on it.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::body::ApiQuery;
use super::error::ApiError;
use super::routes::Operation;
use crate::adapter::routing::{self, Explanation};
use crate::config::RoutingConfig;
use crate::directory::DirectoryError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainQuery {
    /// `DOMAIN\sam`, a UPN, or a sAMAccountName when one directory is configured.
    #[serde(default)]
    pub user: String,
}

pub async fn explain(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ExplainQuery>,
) -> Result<Json<Explanation>, ApiError> {
    let user = query.user.trim();
    if user.is_empty() {
        return Err(ApiError::bad_request(
            "give the user to explain as ?user=DOMAIN\\sam (or a UPN)",
        ));
    }
    if let Some(message) = routing::unknown_domain(&state.directories, user) {
        return Err(ApiError::not_found(message));
    }
    let facts = match routing::facts(&state.directories, user).await {
        Ok(facts) => facts,
        Err(DirectoryError::NotFound(_)) => {
            return Err(ApiError::not_found(routing::not_found(
                &state.directories,
                user,
            )));
        }
        Err(e) => return Err(super::accounts::directory_error(e)),
    };
    Ok(Json(routing::explain(&state.config.routing, facts)))
}

pub async fn rules(State(state): State<AppState>) -> Json<RoutingConfig> {
    Json(state.config.routing.clone())
}

/// The OpenAPI parts of the routing endpoints.
pub(super) fn openapi(
    operation: Operation,
    op: &mut Map<String, Value>,
    responses: &mut Map<String, Value>,
) {
    let error = |description: &str| {
        json!({ "description": description, "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Error" } } } })
    };
    let ok = |schema: Value| json!({ "description": "OK", "content": { "application/json": { "schema": schema } } });
    let strings = json!({ "type": "array", "items": { "type": "string" } });
    let pooled = json!({ "type": "object", "nullable": true,
        "description": "Entitled in a delivery group, or through an AD group it admits",
        "properties": {
            "delivery_group": { "type": "string" }, "access_group": { "type": "string" } } });
    let persistent = json!({ "type": "object", "nullable": true,
        "properties": { "delivery_group": { "type": "string" }, "catalog": { "type": "string" },
            "naming": { "type": "string", "nullable": true,
                "description": "Naming scheme of new machines; null: the catalog's" } } });
    let target = |extra: Value| {
        let mut properties = json!({
            "site": { "type": "string" },
            "pooled_desktop": pooled,
            "persistent_desktop": persistent,
            "apps": strings,
            "groups": strings,
        });
        if let (Some(p), Some(extra)) = (properties.as_object_mut(), extra.as_object()) {
            p.extend(extra.clone());
        }
        json!({ "type": "object", "properties": properties })
    };
    match operation {
        Operation::RoutingExplain => {
            op.insert(
                "parameters".into(),
                json!([{ "name": "user", "in": "query", "required": true,
                    "description": "DOMAIN\\sam, or a UPN", "schema": { "type": "string" } }]),
            );
            let facts = json!({ "type": "object", "properties": {
                "user": { "type": "string" }, "domain": { "type": "string" },
                "location": { "type": "string" }, "department": { "type": "string" },
                "ou": { "type": "string" }, "groups": strings } });
            let check = json!({ "type": "object", "properties": {
                "rule": { "type": "string" }, "matched": { "type": "boolean" },
                "reasons": strings } });
            let mut route = target(json!({ "rule": { "type": "string",
                "description": "The rule that matched, or \"default\"" } }));
            route["nullable"] = json!(true);
            route["description"] = json!("null: no rule matched and there is no default");
            responses.insert(
                "200".into(),
                ok(json!({ "type": "object", "properties": {
                    "facts": facts,
                    "route": route,
                    "checks": { "type": "array", "items": check,
                        "description": "Rules in order up to the one that matched, then the default if it applied" },
                    "unknown": { "type": "array", "items": { "type": "string" },
                        "description": "Facts the directory left empty; rules asking about them cannot match" }
                } })),
            );
            responses.insert("400".into(), error("No user, or an unknown parameter"));
            responses.insert(
                "404".into(),
                error("No such account, or no directory for its domain"),
            );
            responses.insert("502".into(), error("The directory refused the lookup"));
            responses.insert("503".into(), error("The directory cannot be reached"));
        }
        Operation::RoutingRules => {
            let rule = target(json!({
                "name": { "type": "string" },
                "match": { "type": "object", "properties": {
                    "location": { "type": "string" }, "department": { "type": "string" },
                    "domain": { "type": "string" }, "ou": { "type": "string" },
                    "group": { "type": "string" } } }
            }));
            let mut default = target(json!({}));
            default["nullable"] = json!(true);
            responses.insert(
                "200".into(),
                ok(json!({ "type": "object", "properties": {
                    "rules": { "type": "array", "items": rule,
                        "description": "In order; the first match wins" },
                    "default": default
                } })),
            );
        }
        _ => {}
    }
}
