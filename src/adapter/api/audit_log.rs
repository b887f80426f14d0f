//! `GET /api/v1/audit`: the audit log, newest first, with filters and cursor paging.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::AppState;
use super::body::ApiQuery;
use super::error::ApiError;
use crate::adapter::store::{AuditPage, AuditQuery};

/// Query parameters; unknown ones are refused so a misspelt filter is not silently ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// API client name or id.
    pub actor: Option<String>,
    pub action: Option<String>,
    /// RFC 3339 time: entries at or after it.
    pub since: Option<String>,
    /// Case-insensitive text in the action, actor, targets, ticket or message.
    pub text: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditPage>, ApiError> {
    let since = params
        .since
        .as_deref()
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::bad_request(format!(
                        "since={s:?} is not an RFC 3339 time such as 2026-01-31T09:00:00Z: {e}"
                    ))
                })
        })
        .transpose()?;
    let limit = match params.limit {
        Some(n @ 1..=1000) => n,
        None => 0,
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "limit={n} is out of range; use 1 to 1000"
            )));
        }
    };
    let empty_is_none = |s: Option<String>| s.filter(|s| !s.is_empty());
    let query = AuditQuery {
        actor: empty_is_none(params.actor),
        action: empty_is_none(params.action),
        since,
        text: empty_is_none(params.text),
        cursor: params.cursor,
        limit,
    };
    state
        .store
        .query_audit(query)
        .await
        .map(Json)
        .map_err(ApiError::store)
}
