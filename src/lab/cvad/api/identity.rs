//! `/Identity/Users`: the lab domain's accounts through the Orchestration API's Identity routes.
//! Every site of the lab serves the same directory (domain `LAB`, forest `lab.example`).
//!
//! - `GET /Identity/Users` with the real query parameters: `forest`, `domain`, `user`
//!   (repeatable; names, UPNs or SIDs, groups included), `startsWith` / `contains` / `matches`
//!   (exclusive; against the account name, UPN, display name, mail and common name), `parentOU`
//!   with `recursive`, `propertiesToRetrieve` (echoed in `PropertiesFetched`; every property is
//!   always returned), `limit` and `continuationToken`. Accounts come ordered by
//!   sAMAccountName.
//! - `GET /Identity/Users/{userOrGroup}`: `sam`, `LAB\sam`, `LAB|sam`, UPN, SID, DN or a
//!   group's name.
//! - `PATCH /Identity/Users/{user}?forest=&domain=` (both required, as on the real API) with
//!   `IdentityUpdateUserRequestModel`: `NewPassword` alone is an administrator's reset,
//!   with `OldPassword` a self-service change; `AccountPasswordFormat: Base64` is decoded.
//!   A refused password is a 400 whose detail is the AD constraint violation the Identity
//!   service passes on (`0x800708C5` ... `0000052D` and the rule), never the password.
//!   Protected accounts (Domain Admins) answer 403, as AD's `E_ACCESSDENIED`.
//! - `POST /Identity/Users/$validate` (real): one logon attempt; wrong passwords count
//!   towards the lockout as on a domain controller.
//!
//! Design choices where the real API has nothing (documented, lab-only):
//! - enable/disable, unlock and must-change are extension fields of the same PATCH body,
//!   named after the response model (`Enabled`, `Locked: false`) and AD's
//!   `Set-ADUser -ChangePasswordAtLogon` (`ChangePasswordAtLogon`); `Locked: true` is refused.
//!   Unknown fields are refused (400), so a typo is never a silent no-op.
//! - group membership follows the real API's own member route for Azure AD groups
//!   (`PUT/DELETE .../AzureADSecurityGroups/{groupId}/members/{refGroupId}`) on the path where
//!   the real API already serves groups: `PUT` / `DELETE /Identity/Users/{group}/members/{user}`,
//!   204 whether or not anything changed.
//! - must-change has no response property; as in AD (`pwdLastSet = 0`) it shows as an expired
//!   password: `PasswordCanExpire: true`, `DaysUntilPasswordExpiry: 0`. Days are rounded up, so
//!   0 only ever means "expired or must change".
//! - `async=true` is not simulated for Identity writes: 501, rather than silently ignored.
//! - writes fail with the outage answer (503) while the site is in outage mode, like every
//!   other write: the connectors reach AD.

use super::http::ApiPath;
use super::{ApiState, collection, flag, listing, parse_body};
use crate::cvad::wire_identity::{
    IdentityPasswordFormat, IdentityUpdateUserRequest, IdentityUserResponse,
    IdentityValidateUserRequest,
};
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::paging::{query_param, take_page};
use crate::lab::identity::policy::PASSWORD_RESTRICTION;
use crate::lab::identity::state::{
    AccountRec, DIRECTORY_SERVER, DirState, GroupRec, Object, is_our_domain,
};
use crate::lab::identity::{Change, LabDirectory, Logon, Policy, Refusal};
use crate::lab::people::{DNS_DOMAIN, DOMAIN};
use crate::secret::Secret;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// `PropertiesFetched` when the caller did not restrict `propertiesToRetrieve`.
const ALL_PROPERTIES: i32 = i32::MAX;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/Identity/Users", get(list))
        .route("/Identity/Users/$validate", post(validate))
        .route("/Identity/Users/{user}", get(get_one).patch(update))
        .route(
            "/Identity/Users/{group}/members/{user}",
            put(add_member).delete(remove_member),
        )
}

/// Renders a directory object as `IdentityUserResponseModel`.
pub fn render(
    state: &DirState,
    object: Object,
    policy: &Policy,
    now: DateTime<Utc>,
    fetched: i32,
) -> IdentityUserResponse {
    match object {
        Object::Account(i) => render_account(state, &state.accounts[i], policy, now, fetched),
        Object::Group(g) => render_group(&state.groups[g], fetched),
    }
}

fn canonical(dn: &str) -> String {
    let mut parts: Vec<&str> = dn
        .split(',')
        .filter(|p| !p.starts_with("DC="))
        .map(|p| p.split_once('=').map_or(p, |(_, v)| v))
        .collect();
    parts.reverse();
    format!("{DNS_DOMAIN}/{}", parts.join("/"))
}

fn render_account(
    state: &DirState,
    a: &AccountRec,
    policy: &Policy,
    now: DateTime<Utc>,
    fetched: i32,
) -> IdentityUserResponse {
    let days = a.password_expires(policy).map(|expires| {
        let secs = (expires - now).num_seconds().max(0);
        (secs + 86_399) / 86_400
    });
    let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
    IdentityUserResponse {
        domain: Some(DNS_DOMAIN.to_string()),
        forest: Some(DNS_DOMAIN.to_string()),
        guid: Some(a.guid.clone()),
        distinguished_name: Some(a.dn.clone()),
        canonical_name: Some(canonical(&a.dn)),
        directory_server: Some(DIRECTORY_SERVER.to_string()),
        display_name: a.display_name.clone(),
        sam_name: Some(a.qualified()),
        sam_account_name: Some(a.sam.clone()),
        common_name: Some(a.common_name().to_string()),
        principal_name: Some(a.upn.clone()),
        sid: Some(a.sid()),
        group_sids: Some(
            a.groups
                .iter()
                .filter_map(|g| state.groups.get(*g))
                .map(GroupRec::sid)
                .collect(),
        ),
        password_can_expire: Some(!a.password_never_expires),
        days_until_password_expiry: days,
        is_built_in: Some(a.built_in),
        is_group: Some(false),
        name: Some(a.common_name().to_string()),
        city: text(&a.city),
        country: text(&a.country),
        mail: text(&a.mail),
        enabled: Some(a.enabled),
        locked: Some(a.locked_at.is_some()),
        properties_fetched: fetched,
    }
}

fn render_group(g: &GroupRec, fetched: i32) -> IdentityUserResponse {
    IdentityUserResponse {
        domain: Some(DNS_DOMAIN.to_string()),
        forest: Some(DNS_DOMAIN.to_string()),
        guid: Some(g.guid.clone()),
        distinguished_name: Some(g.dn.clone()),
        canonical_name: Some(canonical(&g.dn)),
        directory_server: Some(DIRECTORY_SERVER.to_string()),
        display_name: g.name.clone(),
        sam_name: Some(format!("{DOMAIN}\\{}", g.name)),
        sam_account_name: Some(g.name.clone()),
        common_name: Some(g.name.clone()),
        sid: Some(g.sid()),
        is_built_in: Some(g.built_in),
        is_group: Some(true),
        name: Some(g.name.clone()),
        properties_fetched: fetched,
        ..IdentityUserResponse::default()
    }
}

fn directory(api: &ApiState) -> &LabDirectory {
    &api.site.identity
}

/// `forest` / `domain` must name the lab's, when given.
fn check_scope(query: &HashMap<String, String>, required: bool) -> ApiResult<()> {
    for name in ["forest", "domain"] {
        match query_param(query, name) {
            Some(value) if !is_our_domain(value) => {
                return Err(ApiError::not_found(
                    if name == "forest" { "Forest" } else { "Domain" },
                    value,
                ));
            }
            None if required => return Err(ApiError::missing(name)),
            _ => {}
        }
    }
    Ok(())
}

fn fetched(query: &HashMap<String, String>) -> ApiResult<i32> {
    match query_param(query, "propertiesToRetrieve") {
        None => Ok(ALL_PROPERTIES),
        Some(raw) => raw.trim().parse().map_err(|_| {
            ApiError::invalid_string(
                "propertiesToRetrieve",
                format!("propertiesToRetrieve must be a number, got '{raw}'"),
            )
        }),
    }
}

/// How a name search compares.
enum Text {
    Any,
    StartsWith(String),
    Contains(String),
    Matches(String),
}

impl Text {
    fn parse(query: &HashMap<String, String>) -> ApiResult<Text> {
        let given: Vec<(&str, String)> = ["startsWith", "contains", "matches"]
            .into_iter()
            .filter_map(|name| query_param(query, name).map(|v| (name, v.to_lowercase())))
            .collect();
        match given.as_slice() {
            [] => Ok(Text::Any),
            [(name, value)] => Ok(match *name {
                "startsWith" => Text::StartsWith(value.clone()),
                "contains" => Text::Contains(value.clone()),
                _ => Text::Matches(value.clone()),
            }),
            _ => Err(ApiError::invalid_operation(
                "startsWith, contains and matches are exclusive: give at most one of them",
            )),
        }
    }

    fn keeps(&self, a: &AccountRec) -> bool {
        let names = [
            a.sam.as_str(),
            a.upn.as_str(),
            a.display_name.as_str(),
            a.mail.as_str(),
            a.common_name(),
        ];
        let any = |test: &dyn Fn(&str) -> bool| names.iter().any(|n| test(&n.to_lowercase()));
        match self {
            Text::Any => true,
            Text::StartsWith(t) => any(&|n| n.starts_with(t.as_str())),
            Text::Contains(t) => any(&|n| n.contains(t.as_str())),
            Text::Matches(t) => any(&|n| n == t),
        }
    }
}

async fn list(State(api): State<ApiState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = super::query_map(raw.clone());
    check_scope(&query, false)?;
    let fetched = fetched(&query)?;
    let text = Text::parse(&query)?;
    let page = listing(&api, raw.clone(), "identity-users")?;
    let named: Vec<String> = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k.eq_ignore_ascii_case("user"))
        .map(|(_, v)| v.into_owned())
        .collect();
    let parent = query_param(&query, "parentOU").map(str::to_lowercase);
    let recursive =
        query_param(&query, "recursive").is_none_or(|v| !v.eq_ignore_ascii_case("false"));
    let dir = directory(&api);
    let (policy, now) = (dir.policy(), dir.clock().now());
    let state = dir.lock();
    if !named.is_empty() {
        // A bulk lookup: the named objects (groups too), in the order asked; unknown ones
        // are left out.
        let items: Vec<IdentityUserResponse> = named
            .iter()
            .filter_map(|name| state.find(name))
            .map(|object| render(&state, object, &policy, now, fetched))
            .collect();
        return Ok(collection((items, None), None));
    }
    let under = |a: &AccountRec| match &parent {
        None => true,
        Some(ou) => {
            let dn = a.dn.to_lowercase();
            match dn.split_once(',') {
                Some((_, container)) if !recursive => container == ou,
                _ => dn.ends_with(&format!(",{ou}")),
            }
        }
    };
    let start = page.after.map_or(0, |a| a as usize + 1);
    let iter = state
        .accounts
        .iter()
        .enumerate()
        .skip(start)
        .filter(|(_, a)| text.keeps(a) && under(a))
        .map(|(i, a)| (i as u64, render_account(&state, a, &policy, now, fetched)));
    Ok(collection(
        take_page(iter, page.limit, "identity-users"),
        None,
    ))
}

async fn get_one(
    State(api): State<ApiState>,
    ApiPath(user): ApiPath<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let query = super::query_map(raw);
    check_scope(&query, false)?;
    let fetched = fetched(&query)?;
    let dir = directory(&api);
    let (policy, now) = (dir.policy(), dir.clock().now());
    let state = dir.lock();
    let object = state
        .find(&user)
        .ok_or_else(|| ApiError::not_found("User", &user))?;
    Ok(Json(render(&state, object, &policy, now, fetched)).into_response())
}

/// Writes reach AD through the connectors: none while the site is in outage mode.
fn check_writable(api: &ApiState) -> ApiResult<()> {
    let state = api.state();
    if !state.outage {
        return Ok(());
    }
    let zone = state
        .zones
        .iter()
        .find(|z| z.is_primary)
        .map(|z| z.name.as_str());
    Err(ApiError::connector_outage(zone.unwrap_or("")))
}

fn refusal(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::NotFound { entity, name } => ApiError::not_found(entity, &name),
        Refusal::Denied(text) => ApiError::forbidden(text),
        Refusal::Constraint(rule) => {
            ApiError::invalid_operation(format!("{PASSWORD_RESTRICTION} {rule}"))
                .param("errorCode", "0x800708C5")
        }
        Refusal::WrongPassword => ApiError::invalid_operation(
            "The specified network password is not correct. (Exception from HRESULT: 0x80070056)",
        )
        .param("errorCode", "0x80070056"),
        Refusal::Invalid(text) => ApiError::invalid_operation(text),
    }
}

fn decode_password(
    value: Option<Secret>,
    format: Option<IdentityPasswordFormat>,
    name: &str,
) -> ApiResult<Option<Secret>> {
    match (value, format) {
        (Some(secret), Some(IdentityPasswordFormat::Base64)) => {
            let invalid =
                || ApiError::invalid_string(name, format!("{name} is not valid Base64 text"));
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(secret.expose().trim())
                .map_err(|_| invalid())?;
            String::from_utf8(bytes)
                .map(|text| Some(Secret::new(text)))
                .map_err(|_| invalid())
        }
        (value, _) => Ok(value),
    }
}

fn not_async(query: &HashMap<String, String>) -> ApiResult<()> {
    if flag(query, "async") {
        return Err(ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "common/notImplemented",
            "async=true is not simulated for Identity updates; send the request synchronously",
        ));
    }
    Ok(())
}

async fn update(
    State(api): State<ApiState>,
    ApiPath(user): ApiPath<String>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let query = super::query_map(raw);
    check_scope(&query, true)?;
    not_async(&query)?;
    let request: IdentityUpdateUserRequest = parse_body(&body)?;
    if request.locked == Some(true) {
        return Err(ApiError::invalid_operation(
            "Locked can only be set to false: accounts lock themselves after bad passwords",
        ));
    }
    if request.account_password_format == Some(IdentityPasswordFormat::Unknown) {
        return Err(ApiError::invalid_enum("AccountPasswordFormat", "Unknown"));
    }
    let format = request.account_password_format;
    let change = Change {
        new_password: decode_password(request.new_password, format, "NewPassword")?,
        old_password: decode_password(request.old_password, format, "OldPassword")?,
        enabled: request.enabled,
        unlock: request.locked == Some(false),
        change_at_logon: request.change_password_at_logon,
    };
    check_writable(&api)?;
    let dir = directory(&api);
    let i = dir.update(&user, &change).map_err(refusal)?;
    let (policy, now) = (dir.policy(), dir.clock().now());
    let state = dir.lock();
    let answer = render(&state, Object::Account(i), &policy, now, ALL_PROPERTIES);
    Ok(Json(answer).into_response())
}

async fn validate(State(api): State<ApiState>, body: Bytes) -> ApiResult<Response> {
    let request: IdentityValidateUserRequest = parse_body(&body)?;
    if let Some(domain) = request.domain.as_deref().filter(|d| !is_our_domain(d)) {
        return Err(ApiError::not_found("Domain", domain));
    }
    let password = decode_password(Some(request.password), request.password_format, "Password")?
        .unwrap_or_default();
    let dir = directory(&api);
    let outcome = dir.logon(&request.user_name, &password);
    if outcome != Logon::Accepted {
        return Err(ApiError::invalid_operation(format!(
            "The user name or password is incorrect, or the account cannot log on \
             (AcceptSecurityContext error, data {})",
            outcome.code()
        ))
        .param("reason", outcome.name()));
    }
    let (policy, now) = (dir.policy(), dir.clock().now());
    let state = dir.lock();
    let object = state
        .find(&request.user_name)
        .ok_or_else(|| ApiError::not_found("User", &request.user_name))?;
    Ok(Json(render(&state, object, &policy, now, ALL_PROPERTIES)).into_response())
}

async fn membership(api: &ApiState, group: &str, user: &str, member: bool) -> ApiResult<Response> {
    check_writable(api)?;
    directory(api)
        .set_membership(group, user, member)
        .map_err(refusal)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn add_member(
    State(api): State<ApiState>,
    ApiPath((group, user)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    membership(&api, &group, &user, true).await
}

async fn remove_member(
    State(api): State<ApiState>,
    ApiPath((group, user)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    membership(&api, &group, &user, false).await
}
