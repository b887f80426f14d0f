//! `/Sessions`: list, get, search and the session actions (logoff, disconnect, message, hide).

use super::{ApiState, SyncAnswer, no_content, params, parse_body, query_map, run_action};
use crate::cvad::wire::{Collection, SearchRequest, SendMessageRequest};
use crate::lab::cvad::actions::Action;
use crate::lab::cvad::auth::Caller;
use crate::lab::cvad::error::{ApiError, ApiResult};
use crate::lab::cvad::paging::{self, take_page};
use crate::lab::cvad::render;
use crate::lab::cvad::search::Search;
use crate::lab::cvad::state::SiteState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use std::ops::Bound;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/Sessions", get(list))
        .route("/Sessions/$search", post(search))
        .route("/Sessions/{id}", get(get_one))
        .route("/Sessions/{id}/{action}", post(act))
}

const KIND: &str = "sessions";

fn after(key: Option<u64>) -> (Bound<u64>, Bound<u64>) {
    match key {
        Some(k) => (Bound::Excluded(k), Bound::Unbounded),
        None => (Bound::Unbounded, Bound::Unbounded),
    }
}

async fn list(State(api): State<ApiState>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let query = query_map(raw);
    let page = paging::parse(&query, KIND)?;
    let limit = api.site.faults.page_cap(page.limit);
    // Render under the lock (a range lookup plus the page), serialize after releasing it.
    let collection = {
        let state = api.state();
        let iter = state
            .sessions
            .range(after(page.after))
            .map(|(k, s)| (*k, render::session(&state, s)));
        let (items, token) = take_page(iter, limit, KIND);
        Collection {
            items,
            continuation_token: token,
            total_items: None,
        }
    };
    Ok(Json(collection).into_response())
}

async fn search(
    State(api): State<ApiState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let request: SearchRequest = parse_body(&body)?;
    let search = Search::parse(&request)?;
    let page = paging::parse(&query, "session-search")?;
    let limit = api.site.faults.page_cap(page.limit);
    let collection = {
        let state = api.state();
        let total = state
            .sessions
            .values()
            .filter(|s| search.matches_session(&state, s))
            .count();
        let iter = state
            .sessions
            .range(after(page.after))
            .filter(|(_, s)| search.matches_session(&state, s))
            .map(|(k, s)| (*k, render::session(&state, s)));
        let (items, token) = take_page(iter, limit, "session-search");
        Collection {
            items,
            continuation_token: token,
            total_items: Some(total as u64),
        }
    };
    Ok(Json(collection).into_response())
}

fn resolve(state: &SiteState, id: &str) -> ApiResult<u64> {
    state
        .find_session(id)
        .ok_or_else(|| ApiError::not_found("Session", id))
}

async fn get_one(State(api): State<ApiState>, Path(id): Path<String>) -> ApiResult<Response> {
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
    State(api): State<ApiState>,
    Extension(caller): Extension<Caller>,
    Path((id, verb)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult<Response> {
    let query = query_map(raw);
    let (key, session_id) = {
        let state = api.state();
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
    let parameters = params(&[("SessionId", &session_id)]);
    Ok(run_action(
        &api,
        &caller,
        &query,
        action,
        parameters,
        format!("/Sessions/{session_id}"),
        answer,
    ))
}
