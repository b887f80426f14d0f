//! `GET /api/v1/accounts`, `GET /api/v1/accounts/{domain}/{user}`,
//! `GET /api/v1/password-policy`, `POST /api/v1/password-policy/check`: directory accounts
//! with their lockout, disabled, must-change and expiry state, and the password rules the
//! console checks live as the operator types. The checked password is never logged, audited
//! or echoed: the answer lists the rules it breaks, in words that do not quote it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::AppState;
use super::body::{ApiPath, ApiQuery, OptionalJson};
use super::error::ApiError;
use super::guard::Caller;
use super::routes::Operation;
use crate::accounts::policy::AccountNames;
use crate::accounts::verify::{CodeKind, check_new_code};
use crate::directory::{Account, Directory, DirectoryError};

/// Most accounts one search returns.
const MAX_LIMIT: usize = 200;

/// A directory error as an API answer: an unknown account is 404, an unreachable directory
/// 503, the rest 502 (the directory refused), each with the directory's words.
pub(super) fn directory_error(err: DirectoryError) -> ApiError {
    match err {
        DirectoryError::NotFound(_) => ApiError::not_found(err.to_string()),
        DirectoryError::Unreachable(_) => ApiError::unavailable(err.to_string()),
        other => ApiError::new(StatusCode::BAD_GATEWAY, "directory", other.to_string()),
    }
}

/// The directory of `domain`, or a 404 naming the configured ones.
pub(super) fn directory_of(state: &AppState, domain: &str) -> Result<Arc<dyn Directory>, ApiError> {
    state.directories.get(domain).ok_or_else(|| {
        let known = state.directories.domains();
        ApiError::not_found(format!(
            "no directory for domain {domain:?}; configured: {}",
            if known.is_empty() {
                "none (add [[directories]] to adapter.toml)".to_owned()
            } else {
                known.join(", ")
            }
        ))
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    pub domain: Option<String>,
    #[serde(default)]
    pub limit: usize,
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = match query.limit {
        0 => 50,
        n => n.min(MAX_LIMIT),
    };
    let directories: Vec<Arc<dyn Directory>> = match &query.domain {
        Some(domain) => vec![directory_of(&state, domain)?],
        None => state.directories.iter().cloned().collect(),
    };
    let mut items: Vec<Account> = Vec::new();
    for directory in directories {
        let found = directory
            .find(query.q.trim(), limit)
            .await
            .map_err(directory_error)?;
        items.extend(found);
    }
    items.sort_by(|a, b| (&a.domain, &a.sam_name).cmp(&(&b.domain, &b.sam_name)));
    items.truncate(limit);
    let total = items.len();
    Ok(Json(
        json!({ "items": items, "next_cursor": null, "total": total }),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath((domain, user)): ApiPath<(String, String)>,
) -> Result<Json<Account>, ApiError> {
    let directory = directory_of(&state, &domain)?;
    let account = directory.account(&user).await.map_err(directory_error)?;
    // The users list shows what was just read rather than the last periodic refresh.
    state.inventory.accounts().record(&account);
    Ok(Json(account))
}

pub async fn policy(State(state): State<AppState>) -> Json<Value> {
    let accounts = &state.config.accounts;
    Json(json!({
        "policy": accounts.policy,
        "verification": accounts.verification,
        "deny_list": !accounts.policy.denied.is_empty(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub domain: String,
    pub user: String,
    pub password: crate::secret::Secret,
}

pub async fn check(
    State(state): State<AppState>,
    OptionalJson(body): OptionalJson<CheckRequest>,
) -> Result<Json<Value>, ApiError> {
    let Some(body) = body else {
        return Err(ApiError::bad_request(
            "the body is empty; send {\"domain\":…,\"user\":…,\"password\":…}",
        ));
    };
    let directory = directory_of(&state, &body.domain)?;
    let account = directory
        .account(&body.user)
        .await
        .map_err(directory_error)?;
    let names = AccountNames::new(&account.sam_name, &account.display_name);
    let violations = state
        .config
        .accounts
        .policy
        .check(body.password.expose(), &names);
    Ok(Json(
        json!({ "ok": violations.is_empty(), "violations": violations }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub code: crate::secret::Secret,
    #[serde(default = "standing")]
    pub kind: CodeKind,
    /// Hours until the code expires; none: until replaced.
    pub valid_for_hours: Option<u32>,
}

fn standing() -> CodeKind {
    CodeKind::Standing
}

/// `PUT /api/v1/accounts/{domain}/{user}/security-code`: enrols the code a user will read
/// out to prove who they are (called by an enrolment portal or flow, or an administrator who
/// verified the user another way). Only its Argon2 hash is stored; enrolling replaces the
/// previous code and clears its lockout.
pub async fn enroll(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((domain, user)): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<EnrollRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(body) = body else {
        return Err(ApiError::bad_request(
            "the body is empty; send {\"code\":…,\"kind\":\"standing\"|\"one_time\"}",
        ));
    };
    check_new_code(body.code.expose()).map_err(ApiError::bad_request)?;
    let directory = directory_of(&state, &domain)?;
    let account = directory.account(&user).await.map_err(directory_error)?;
    let valid_for = body
        .valid_for_hours
        .map(|h| std::time::Duration::from_secs(u64::from(h) * 3600));
    let enrolled = state
        .store
        .enroll_code(
            &account.sam_name,
            &body.code,
            body.kind,
            valid_for,
            &caller.name,
        )
        .await
        .map_err(ApiError::store)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "user": account.qualified_name(),
            "kind": enrolled.kind,
            "enrolled_at": enrolled.enrolled_at,
            "expires_at": enrolled.expires_at,
        })),
    ))
}

fn string_param(name: &str, place: &str, description: &str, required: bool) -> Value {
    json!({ "name": name, "in": place, "required": required,
            "description": description, "schema": { "type": "string" } })
}

/// The OpenAPI operations of this module.
pub fn openapi(
    operation: Operation,
    op: &mut Map<String, Value>,
    responses: &mut Map<String, Value>,
) {
    let ok = |schema: Value| json!({ "description": "OK", "content": { "application/json": { "schema": schema } } });
    let error = |text: &str| json!({ "description": text, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    match operation {
        Operation::Accounts => {
            op.insert("parameters".into(), json!([
                string_param("q", "query", "Text in the sAMAccountName, UPN, mail or display name", false),
                string_param("domain", "query", "Only this domain (NetBIOS name)", false),
                { "name": "limit", "in": "query", "required": false,
                  "schema": { "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50 } }
            ]));
            responses.insert(
                "200".into(),
                ok(json!({ "type": "object", "properties": {
                "items": { "type": "array", "items": { "$ref": "#/components/schemas/Account" } },
                "next_cursor": { "type": "string", "nullable": true },
                "total": { "type": "integer" } } })),
            );
            responses.insert("404".into(), error("No directory for that domain"));
            responses.insert("503".into(), error("The directory is unreachable"));
        }
        Operation::AccountGet => {
            op.insert(
                "parameters".into(),
                json!([
                    string_param("domain", "path", "The domain (NetBIOS name)", true),
                    string_param("user", "path", "sAMAccountName, DOMAIN\\sam or UPN", true)
                ]),
            );
            responses.insert(
                "200".into(),
                ok(json!({ "$ref": "#/components/schemas/Account" })),
            );
            responses.insert("404".into(), error("No such domain or account"));
        }
        Operation::PasswordPolicy => {
            responses.insert(
                "200".into(),
                ok(json!({ "type": "object", "properties": {
                "policy": { "type": "object" }, "verification": { "type": "object" },
                "deny_list": { "type": "boolean" } } })),
            );
        }
        Operation::PasswordCheck => {
            op.insert("requestBody".into(), json!({ "required": true, "content": { "application/json": {
                "schema": { "type": "object", "required": ["domain", "user", "password"], "properties": {
                    "domain": { "type": "string" }, "user": { "type": "string" },
                    "password": { "type": "string", "format": "password" } } } } } }));
            responses.insert(
                "200".into(),
                ok(json!({ "type": "object", "properties": {
                "ok": { "type": "boolean" },
                "violations": { "type": "array", "items": { "type": "object", "properties": {
                    "code": { "type": "string" }, "message": { "type": "string" } } } } } })),
            );
            responses.insert("404".into(), error("No such domain or account"));
            responses.insert("415".into(), error("Body that is not application/json"));
        }
        Operation::SecurityCodeEnroll => {
            op.insert(
                "parameters".into(),
                json!([
                    string_param("domain", "path", "The domain (NetBIOS name)", true),
                    string_param("user", "path", "sAMAccountName, DOMAIN\\sam or UPN", true)
                ]),
            );
            op.insert("requestBody".into(), json!({ "required": true, "content": { "application/json": {
                "schema": { "type": "object", "required": ["code"], "properties": {
                    "code": { "type": "string", "format": "password", "minLength": 6 },
                    "kind": { "type": "string", "enum": ["standing", "one_time"], "default": "standing" },
                    "valid_for_hours": { "type": "integer", "minimum": 1 } } } } } }));
            responses.insert(
                "201".into(),
                json!({ "description": "Enrolled (the code itself is not stored)" }),
            );
            responses.insert("400".into(), error("The code is too short or too long"));
            responses.insert("404".into(), error("No such domain or account"));
            responses.insert("415".into(), error("Body that is not application/json"));
        }
        _ => {}
    }
}

/// The `Account` schema for the document's components.
pub fn account_schema() -> Value {
    json!({ "type": "object", "properties": {
        "sam_name": { "type": "string" }, "domain": { "type": "string" },
        "upn": { "type": "string" }, "display_name": { "type": "string" },
        "mail": { "type": "string" }, "dn": { "type": "string" },
        "locked": { "type": "boolean" }, "disabled": { "type": "boolean" },
        "must_change": { "type": "boolean" },
        "password_expires": { "type": "string", "format": "date-time", "nullable": true },
        "groups": { "type": "array", "items": { "type": "string" } } } })
}
