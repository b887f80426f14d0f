//! Control routes under `/_lab/sites`: connector stop/start, faults, auth settings, the
//! per-action call counts tests use to prove "each target acted on exactly once", sessions
//! whose logoff hangs, and status.

use super::Site;
use crate::lab::FaultPatch;
use crate::lab::control::bad_request;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

type Sites = Arc<Vec<Arc<Site>>>;

pub fn router(sites: Vec<Arc<Site>>) -> Router {
    Router::new()
        .route("/_lab/sites", get(list))
        .route("/_lab/sites/{site}", get(status))
        .route(
            "/_lab/sites/{site}/connectors/{index}/{op}",
            post(connector),
        )
        .route(
            "/_lab/sites/{site}/faults",
            post(set_faults).delete(reset_faults).get(get_faults),
        )
        .route("/_lab/sites/{site}/calls", get(calls))
        .route("/_lab/sites/{site}/auth", post(auth))
        .route(
            "/_lab/sites/{site}/sessions/{session}/hang-logoff",
            post(hang_logoff).delete(release_logoff),
        )
        .route("/_lab/sites/{site}/machines/{machine}/logon", post(logon))
        .route("/_lab/sites/{site}/people", post(add_person))
        .with_state(Arc::new(sites))
}

fn not_found(message: String) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": message }))).into_response()
}

/// An unknown site, answered with a 404.
struct UnknownSite(String);

impl IntoResponse for UnknownSite {
    fn into_response(self) -> Response {
        not_found(format!("no site named '{}'", self.0))
    }
}

/// A site by name or id, any case.
fn find(sites: &Sites, key: &str) -> Result<Arc<Site>, UnknownSite> {
    sites
        .iter()
        .find(|s| s.meta.name.eq_ignore_ascii_case(key) || s.meta.id.eq_ignore_ascii_case(key))
        .cloned()
        .ok_or_else(|| UnknownSite(key.to_string()))
}

async fn list(State(sites): State<Sites>) -> Response {
    let mut out = Vec::new();
    for site in sites.iter() {
        out.push(describe(site).await);
    }
    Json(out).into_response()
}

async fn status(State(sites): State<Sites>, Path(key): Path<String>) -> Response {
    match find(&sites, &key) {
        Ok(site) => Json(describe(&site).await).into_response(),
        Err(unknown) => unknown.into_response(),
    }
}

async fn describe(site: &Arc<Site>) -> serde_json::Value {
    let connectors = site.connector_states().await;
    let state = site.lock_current();
    let zones: Vec<serde_json::Value> = state
        .zones
        .iter()
        .enumerate()
        .map(|(zone, z)| {
            let list: Vec<serde_json::Value> = connectors
                .iter()
                .enumerate()
                .filter(|(_, (cz, _))| *cz == zone)
                .map(|(index, (_, up))| {
                    json!({ "index": index, "url": site.endpoint_url(index), "up": up })
                })
                .collect();
            json!({ "name": z.name, "id": z.id, "healthy": z.is_healthy(), "connectors": list })
        })
        .collect();
    let running_jobs = state
        .jobs
        .values()
        .filter(|j| !j.status.is_terminal())
        .count();
    json!({
        "name": site.meta.name,
        "id": site.meta.id,
        "kind": site.meta.kind,
        "customer_id": site.meta.customer_id,
        "zones": zones,
        "counts": {
            "machines": state.machines.iter().filter(|m| !m.removed).count(),
            "sessions": state.sessions.len(),
            "delivery_groups": state.groups.len(),
            "machine_catalogs": state.catalogs.len(),
            "applications": state.apps.len(),
            "application_groups": state.app_groups.len(),
            "jobs": state.jobs.len(),
            "running_jobs": running_jobs,
            "tokens": state.tokens.len(),
            "pending_events": state.timeline.len(),
        },
        "token_ttl_secs": state.token_ttl_secs,
        "faults": site.faults.plan(),
    })
}

async fn connector(
    State(sites): State<Sites>,
    Path((key, index, op)): Path<(String, String, String)>,
) -> Response {
    let site = match find(&sites, &key) {
        Ok(site) => site,
        Err(unknown) => return unknown.into_response(),
    };
    let Ok(index) = index.parse::<usize>() else {
        return bad_request(format!("connector index must be a number, got '{index}'"));
    };
    let up = match op.as_str() {
        "stop" => false,
        "start" => true,
        other => {
            return not_found(format!(
                "unknown connector operation '{other}' (stop or start)"
            ));
        }
    };
    if index >= site.connector_states().await.len() {
        return not_found(format!("site {} has no connector {index}", site.meta.name));
    }
    match site.set_connector(index, up).await {
        Ok(_) => Json(describe(&site).await).into_response(),
        Err(message) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": message })),
        )
            .into_response(),
    }
}

async fn get_faults(State(sites): State<Sites>, Path(key): Path<String>) -> Response {
    match find(&sites, &key) {
        Ok(site) => Json(site.faults.plan()).into_response(),
        Err(unknown) => unknown.into_response(),
    }
}

async fn set_faults(State(sites): State<Sites>, Path(key): Path<String>, body: Bytes) -> Response {
    let site = match find(&sites, &key) {
        Ok(site) => site,
        Err(unknown) => return unknown.into_response(),
    };
    let patch: FaultPatch = match serde_json::from_slice(&body) {
        Ok(patch) => patch,
        Err(err) => return bad_request(format!("invalid fault patch: {err}")),
    };
    match site.faults.update(&patch) {
        Ok(plan) => Json(plan).into_response(),
        Err(message) => bad_request(message),
    }
}

async fn reset_faults(State(sites): State<Sites>, Path(key): Path<String>) -> Response {
    match find(&sites, &key) {
        Ok(site) => {
            site.faults.reset();
            Json(site.faults.plan()).into_response()
        }
        Err(unknown) => unknown.into_response(),
    }
}

async fn calls(State(sites): State<Sites>, Path(key): Path<String>) -> Response {
    let site = match find(&sites, &key) {
        Ok(site) => site,
        Err(unknown) => return unknown.into_response(),
    };
    let state = site.lock_current();
    let total: u32 = state.calls.values().flat_map(|t| t.values()).sum();
    Json(json!({ "total": total, "calls": state.calls })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthChange {
    #[serde(default)]
    token_ttl_secs: Option<i64>,
    #[serde(default)]
    revoke_all: bool,
}

async fn auth(State(sites): State<Sites>, Path(key): Path<String>, body: Bytes) -> Response {
    let site = match find(&sites, &key) {
        Ok(site) => site,
        Err(unknown) => return unknown.into_response(),
    };
    let change: AuthChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(err) => return bad_request(format!("invalid auth change: {err}")),
    };
    if let Some(ttl) = change.token_ttl_secs
        && ttl < 1
    {
        return bad_request(format!("token_ttl_secs must be at least 1, got {ttl}"));
    }
    let mut state = site.lock();
    if let Some(ttl) = change.token_ttl_secs {
        state.token_ttl_secs = ttl;
    }
    let revoked = if change.revoke_all {
        let n = state.tokens.len();
        state.tokens.clear();
        n
    } else {
        0
    };
    Json(json!({ "token_ttl_secs": state.token_ttl_secs, "revoked": revoked })).into_response()
}

/// Makes a session's logoff hang: a logoff (from the API or already under way) leaves it
/// `LogoffInProgress` instead of ending it, as a hung user profile or application does, until
/// the mark is lifted or a forced restart or power-off of the machine drops the session.
async fn hang_logoff(
    State(sites): State<Sites>,
    Path((key, session)): Path<(String, String)>,
) -> Response {
    set_hang(&sites, &key, &session, true)
}

/// Lifts the mark: a session already logging off finishes its logoff now.
async fn release_logoff(
    State(sites): State<Sites>,
    Path((key, session)): Path<(String, String)>,
) -> Response {
    set_hang(&sites, &key, &session, false)
}

fn set_hang(sites: &Sites, key: &str, session: &str, hang: bool) -> Response {
    let site = match find(sites, key) {
        Ok(site) => site,
        Err(unknown) => return unknown.into_response(),
    };
    let mut state = site.lock_current();
    let Some(found) = state.find_session(session) else {
        return not_found(format!(
            "site {} has no session '{session}'",
            site.meta.name
        ));
    };
    let logging_off = state
        .sessions
        .get(&found)
        .is_some_and(|s| s.logoff_in_progress);
    if hang {
        state.hung_logoffs.insert(found);
    } else if state.hung_logoffs.remove(&found) && logging_off {
        let now = site.clock.now();
        state
            .timeline
            .schedule(now, super::timeline::Event::LogoffDone { session: found });
    }
    Json(json!({
        "session": session,
        "hang_logoff": hang,
        "logoff_in_progress": logging_off,
    }))
    .into_response()
}

/// Starts a logon on one machine, as a user launching a desktop would (the session starts
/// `LogonInProgress`), for tests of what must not touch a machine someone is logging on to.
/// The body may name the user (`{"user": "LAB\\sam"}`); by default the machine's assigned
/// user, else the site's first person. Refused (409) where the broker would refuse.
async fn logon(
    State(sites): State<Sites>,
    Path((key, machine)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Logon {
        #[serde(default)]
        user: Option<String>,
    }
    let site = match find(&sites, &key) {
        Ok(site) => site,
        Err(unknown) => return unknown.into_response(),
    };
    let request: Logon = if body.is_empty() {
        Logon::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(request) => request,
            Err(err) => return bad_request(format!("invalid logon: {err}")),
        }
    };
    let now = site.clock.now();
    let mut state = site.lock_current();
    let Some(index) = state.find_machine(&machine) else {
        return not_found(format!(
            "site {} has no machine '{machine}'",
            site.meta.name
        ));
    };
    let person = match &request.user {
        Some(user) => match state.find_person(user) {
            Some(person) => person,
            None => return not_found(format!("no person '{user}' in the lab")),
        },
        None => state.machines[index].assigned.first().copied().unwrap_or(0),
    };
    match super::actions::logon(&mut state, person, index, Vec::new(), now) {
        Some(key) => {
            let id = state.sessions.get(&key).map(|s| s.id.clone());
            (StatusCode::CREATED, Json(json!({ "session": id }))).into_response()
        }
        None => (
            StatusCode::CONFLICT,
            Json(json!({ "error": format!(
                "machine '{machine}' takes no session now (off, unregistered, in maintenance or full)"
            ) })),
        )
            .into_response(),
    }
}

/// `POST /_lab/sites/{site}/people` `{"sam","given_name","surname"}`: the site's directory
/// learns an account made elsewhere (an onboarding against a real AD, whose new user the lab
/// cannot know), so the site resolves it as a real site would after AD replication.
async fn add_person(State(sites): State<Sites>, Path(key): Path<String>, body: Bytes) -> Response {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewPerson {
        sam: String,
        given_name: String,
        surname: String,
    }
    let site = match find(&sites, &key) {
        Ok(site) => site,
        Err(unknown) => return unknown.into_response(),
    };
    let request: NewPerson = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => return bad_request(format!("invalid person: {err}")),
    };
    let sam = request.sam.trim().to_ascii_lowercase();
    if sam.is_empty() || sam.contains(['\\', '@', ' ']) {
        return bad_request(format!("invalid account name '{}'", request.sam));
    }
    let mut state = site.lock_current();
    if let Some(known) = state.find_person(&sam) {
        return (StatusCode::OK, Json(json!({ "index": known }))).into_response();
    }
    let index = state.people.len();
    let upn = format!("{sam}@{}", crate::lab::people::DNS_DOMAIN);
    let office = crate::lab::people::OFFICES[0];
    let person = crate::lab::people::Person {
        index,
        display_name: format!("{} {}", request.given_name, request.surname),
        first: request.given_name,
        last: request.surname,
        mail: upn.clone(),
        upn,
        department: crate::lab::people::DEPARTMENTS[0],
        ou: "OU=People,DC=lab,DC=example".to_owned(),
        title: "Analyst",
        office,
        manager: None,
        contractor: false,
        sam,
    };
    std::sync::Arc::make_mut(&mut state.people).push(person);
    (StatusCode::CREATED, Json(json!({ "index": index }))).into_response()
}
