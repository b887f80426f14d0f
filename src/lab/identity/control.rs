//! Control routes under `/_lab/directory`: what a user at a Windows logon screen would do,
//! for tests and demos. `POST .../users/{user}/logon` tries a password (proving a reset);
//! `POST .../users/{user}/bad-logons` types wrong passwords (locking the account); `GET
//! /_lab/directory` summarises the policy and the accounts' states. No answer contains a
//! password.

use super::{LabDirectory, Logon};
use crate::lab::control::bad_request;
use crate::secret::Secret;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub fn router(directory: Arc<LabDirectory>) -> Router {
    Router::new()
        .route("/_lab/directory", get(summary))
        .route("/_lab/directory/users/{user}/logon", post(logon))
        .route("/_lab/directory/users/{user}/bad-logons", post(bad_logons))
        .with_state(directory)
}

async fn summary(State(dir): State<Arc<LabDirectory>>) -> Response {
    let policy = dir.policy();
    let now = dir.clock().now();
    let soon = now + chrono::Duration::days(7);
    let state = dir.lock();
    let count = |keep: &dyn Fn(&super::state::AccountRec) -> bool| {
        state.accounts.iter().filter(|a| keep(a)).count()
    };
    Json(json!({
        "domain": crate::lab::people::DOMAIN,
        "policy": {
            "min_length": policy.min_length,
            "lockout_threshold": policy.lockout_threshold,
            "max_age_days": policy.max_age_days,
            "history": policy.history,
        },
        "accounts": state.accounts.len(),
        "groups": state.groups.len(),
        "locked": count(&|a| a.locked_at.is_some()),
        "disabled": count(&|a| !a.enabled),
        "must_change": count(&|a| a.password_set.is_none()),
        "expiring_within_7_days": count(&|a| {
            a.password_set.is_some()
                && a.password_expires(&policy).is_some_and(|e| e > now && e <= soon)
        }),
    }))
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogonRequest {
    password: Secret,
}

/// The account's state after an attempt, as the control routes report it.
fn account_state(dir: &LabDirectory, user: &str) -> serde_json::Value {
    let state = dir.lock();
    match state.account(user).map(|i| &state.accounts[i]) {
        Some(a) => json!({
            "user": a.qualified(),
            "bad_logons": a.bad_logons,
            "locked": a.locked_at.is_some(),
            "enabled": a.enabled,
            "must_change": a.password_set.is_none(),
        }),
        None => json!({ "user": user }),
    }
}

async fn logon(
    State(dir): State<Arc<LabDirectory>>,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    let request: LogonRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => return bad_request(format!("expected {{\"password\": \"...\"}}: {err}")),
    };
    let outcome = dir.logon(&user, &request.password);
    if outcome == Logon::NoSuchUser {
        return no_such_user(&user);
    }
    let mut answer = account_state(&dir, &user);
    answer["accepted"] = json!(outcome == Logon::Accepted);
    answer["result"] = json!(outcome.name());
    answer["code"] = json!(outcome.code());
    Json(answer).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BadLogons {
    /// How many wrong passwords to type; the lockout threshold when absent.
    #[serde(default)]
    count: Option<u32>,
}

async fn bad_logons(
    State(dir): State<Arc<LabDirectory>>,
    Path(user): Path<String>,
    body: Bytes,
) -> Response {
    let request: BadLogons = if body.is_empty() {
        BadLogons { count: None }
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(err) => return bad_request(format!("expected {{\"count\": n}}: {err}")),
        }
    };
    let count = request.count.unwrap_or(dir.policy().lockout_threshold);
    if !(1..=100).contains(&count) {
        return bad_request(format!("count must be between 1 and 100, got {count}"));
    }
    // A password nobody can have: the seeded ones and the policy's both need other characters.
    let wrong = Secret::new("\u{1}not-a-password");
    for _ in 0..count {
        if dir.logon(&user, &wrong) == Logon::NoSuchUser {
            return no_such_user(&user);
        }
    }
    Json(account_state(&dir, &user)).into_response()
}

fn no_such_user(user: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": format!("no account '{user}' in the lab directory") })),
    )
        .into_response()
}
