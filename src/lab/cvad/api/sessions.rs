//! `/Sessions`: list, get, search and the session actions (logoff, disconnect, message, hide).

use super::http::ApiPath;
use super::{ApiState, Call, SyncAnswer, Target, collection, listing, no_content, parse_body};
use crate::cvad::wire::{SearchRequest, SendMessageRequest};
use crate::lab::cvad::actions::Action;
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::paging::take_page;
use crate::lab::cvad::render;
use crate::lab::cvad::search::Search;
use crate::lab::cvad::state::{SessionRec, SiteState};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::ops::Bound;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/Sessions", get(list))
        .route("/Sessions/$search", post(search))
        .route("/Sessions/{id}", get(get_one))
        .route("/Sessions/{id}/{action}", post(act))
}

fn after(key: Option<u64>) -> (Bound<u64>, Bound<u64>) {
    match key {
        Some(k) => (Bound::Excluded(k), Bound::Unbounded),
        None => (Bound::Unbounded, Bound::Unbounded),
    }
}

/// Sessions kept by `keep`, paged by session key; `with_total` for `$search` answers.
fn session_page(
    api: &ApiState,
    raw: Option<String>,
    kind: &str,
    keep: impl Fn(&SiteState, &SessionRec) -> bool,
    with_total: bool,
) -> ApiResult<Response> {
    let page = listing(api, raw, kind)?;
    // Render under the lock (a range lookup plus the page), serialize after releasing it.
    let (items, total) = {
        let state = api.state();
        let total = with_total.then(|| state.sessions.values().filter(|s| keep(&state, s)).count());
        let iter = state
            .sessions
            .range(after(page.after))
            .filter(|(_, s)| keep(&state, s))
            .map(|(k, s)| (*k, render::session(&state, s)));
        (take_page(iter, page.limit, kind), total)
    };
    Ok(collection(items, total))
}

async fn list(State(api): State<ApiState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    session_page(&api, raw, "sessions", |_, _| true, false)
}

async fn search(
    State(api): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let request: SearchRequest = parse_body(&body)?;
    let search = Search::parse(&request)?;
    session_page(
        &api,
        raw,
        "session-search",
        |state, s| search.matches_session(state, s),
        true,
    )
}

fn resolve(state: &SiteState, id: &str) -> ApiResult<u64> {
    state
        .find_session(id)
        .ok_or_else(|| ApiError::not_found("Session", id))
}

async fn get_one(State(api): State<ApiState>, ApiPath(id): ApiPath<String>) -> ApiResult<Response> {
    let state = api.state();
    let key = resolve(&state, &id)?;
    match state.sessions.get(&key) {
        Some(s) => Ok(Json(render::session(&state, s)).into_response()),
        None => Err(ApiError::not_found("Session", &id)),
    }
}

fn session_answer(key: u64) -> SyncAnswer {
    Box::new(move |state: &SiteState| match state.sessions.get(&key) {
        Some(s) => Json(render::session(state, s)).into_response(),
        None => ApiError::not_found("Session", &key.to_string()).into_response(),
    })
}

async fn act(
    call: Call,
    ApiPath((id, verb)): ApiPath<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let (key, session_id) = {
        let state = call.api.state();
        let key = resolve(&state, &id)?;
        let session_id = state
            .sessions
            .get(&key)
            .map(|s| s.id.clone())
            .unwrap_or_default();
        (key, session_id)
    };
    let (action, answer): (Action, SyncAnswer) = match verb.to_ascii_lowercase().as_str() {
        "$logoff" => (Action::LogoffSession(key), no_content()),
        "$disconnect" => (Action::DisconnectSession(key), session_answer(key)),
        "$sendmessage" => {
            let message: SendMessageRequest = parse_body(&body)?;
            let styles = ["Critical", "Question", "Exclamation", "Information"];
            if !styles
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&message.style))
            {
                return Err(ApiError::invalid_enum("Style", &message.style));
            }
            if message.text.trim().is_empty() {
                return Err(ApiError::missing("Text"));
            }
            (Action::SendMessage(key), session_answer(key))
        }
        "$hide" => (
            Action::HideSession {
                session: key,
                hide: true,
            },
            session_answer(key),
        ),
        "$unhide" => (
            Action::HideSession {
                session: key,
                hide: false,
            },
            session_answer(key),
        ),
        _ => return Err(ApiError::not_found("Action", &verb)),
    };
    let target = Target::new(
        format!("/Sessions/{session_id}"),
        &[("SessionId", &session_id)],
    );
    Ok(call.run(action, target, answer))
}
