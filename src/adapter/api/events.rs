//! `GET /api/v1/events`: Server-Sent Events for job, task, inventory, ticket and site changes.
//!
//! Every event carries its store id as the SSE `id`, so a client that reconnects with
//! `Last-Event-ID` resumes exactly after the last event it saw. The feed comes from the store's
//! event table (not from memory), which is what lets a console on one replica see events made
//! on another, and lets a reconnect within the retention window miss nothing. When the events
//! a client asks for were already pruned, it gets a `reset` event telling it to reload.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::body::ApiQuery;
use super::error::ApiError;
use crate::adapter::store::{Event, EventKind, EventRetention, Store};

/// How often an idle stream looks for new events. Short enough that progress feels live,
/// long enough that a hundred idle consoles cost the database little.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Events read per query; a client far behind catches up in batches of this size.
const BATCH: u32 = 500;
/// Comment lines keep proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Query parameters. `since` does what `Last-Event-ID` does, for clients that cannot set
/// headers; the header wins when both are given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Resume after this event id (0 replays everything still retained).
    pub since: Option<i64>,
    /// Comma-separated kinds to receive: job, task, inventory, ticket, site (default all).
    pub kinds: Option<String>,
}

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let kinds = parse_kinds(params.kinds.as_deref())?;
    let resume = match last_event_id(&headers)? {
        Some(id) => Some(id),
        None => params.since,
    };
    if let Some(id) = resume
        && id < 0
    {
        return Err(ApiError::bad_request(format!(
            "event ids start at 1; cannot resume after {id}"
        )));
    }
    // A new client starts at "now": it loads current state through the list endpoints and
    // needs only what changes afterwards.
    let after = match resume {
        Some(id) => id,
        None => state.store.last_event_id().await.map_err(ApiError::store)?,
    };
    let retention = EventRetention::default();
    let hello = SseEvent::default().event("hello").data(
        json!({
            "resume_after": after,
            "retention": {
                "max_age_secs": retention.max_age.as_secs(),
                "max_events": retention.max_events,
            },
        })
        .to_string(),
    );
    let feed = Feed {
        store: state.store.clone(),
        after,
        kinds,
        pending: VecDeque::from([hello]),
        resumed: resume.is_some(),
        done: false,
        closing: state.closing.subscribe(),
    };
    Ok(Sse::new(futures::stream::unfold(feed, Feed::next))
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive")))
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::bad_request("Last-Event-ID must be a number"))?
        .trim();
    text.parse::<i64>().map(Some).map_err(|_| {
        ApiError::bad_request(format!("Last-Event-ID must be an event id, got {text:?}"))
    })
}

fn parse_kinds(text: Option<&str>) -> Result<Option<HashSet<EventKind>>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    let mut kinds = HashSet::new();
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kind = EventKind::parse(name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown event kind {name:?}; use job, task, inventory, ticket or site"
            ))
        })?;
        kinds.insert(kind);
    }
    if kinds.is_empty() {
        return Err(ApiError::bad_request(
            "kinds is empty; leave it out to receive every kind",
        ));
    }
    Ok(Some(kinds))
}

/// The state of one client's stream.
struct Feed {
    store: Arc<dyn Store>,
    /// The last event id read from the store (sent or filtered out).
    after: i64,
    kinds: Option<HashSet<EventKind>>,
    pending: VecDeque<SseEvent>,
    /// Whether the client asked to resume, so a gap means it missed something.
    resumed: bool,
    done: bool,
    /// Turns true when the server stops; the stream then ends.
    closing: tokio::sync::watch::Receiver<bool>,
}

impl Feed {
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Feed)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.done || *self.closing.borrow() {
                return None;
            }
            match self.store.events_since(self.after, BATCH).await {
                Ok(page) => {
                    if page.missed && self.resumed {
                        self.pending.push_back(
                            SseEvent::default().event("reset").data(
                                json!({
                                    "reason": "events after the requested id were pruned; reload \
                                               current state from the list endpoints",
                                    "oldest_retained": page.oldest_retained,
                                })
                                .to_string(),
                            ),
                        );
                    }
                    // Only the first read can reveal a gap the client did not see.
                    self.resumed = false;
                    if page.events.is_empty() {
                        tokio::select! {
                            _ = tokio::time::sleep(POLL_INTERVAL) => {}
                            // Only a stop is ever sent, and a dropped sender means the
                            // server is gone: either way the stream ends.
                            _ = self.closing.changed() => self.done = true,
                        }
                        continue;
                    }
                    for event in page.events {
                        self.after = event.id;
                        if self.kinds.as_ref().is_none_or(|k| k.contains(&event.kind)) {
                            self.pending.push_back(to_sse(&event));
                        }
                    }
                }
                Err(err) => {
                    // Ending the stream makes the client reconnect with Last-Event-ID, which
                    // loses nothing; say why first.
                    tracing::warn!(error = %err, "event stream stopped: the store failed");
                    self.done = true;
                    self.pending
                        .push_back(
                            SseEvent::default().event("error").data(
                                json!({ "reason": "the adapter's store failed; reconnect" })
                                    .to_string(),
                            ),
                        );
                }
            }
        }
    }
}

fn to_sse(event: &Event) -> SseEvent {
    SseEvent::default()
        .id(event.id.to_string())
        .event(event.kind.as_str())
        .data(
            json!({
                "id": event.id,
                "at": event.at,
                "kind": event.kind,
                "subject": event.subject,
                "payload": event.payload,
            })
            .to_string(),
        )
}

/// Prunes old events on an interval so the feed stays within its stated retention.
pub fn spawn_pruner(store: Arc<dyn Store>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(err) = store.prune_events(EventRetention::default()).await {
                tracing::warn!(error = %err, "pruning old events failed; will try again");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_checked() {
        assert_eq!(parse_kinds(None).ok(), Some(None));
        let kinds = parse_kinds(Some("job, task")).ok().flatten();
        assert_eq!(kinds.map(|k| k.len()), Some(2));
        assert!(parse_kinds(Some("jobs")).is_err());
        assert!(parse_kinds(Some(",")).is_err());
    }

    #[test]
    fn last_event_id_must_be_a_number() {
        let mut headers = HeaderMap::new();
        assert_eq!(last_event_id(&headers).ok(), Some(None));
        headers.insert("last-event-id", axum::http::HeaderValue::from_static("42"));
        assert_eq!(last_event_id(&headers).ok(), Some(Some(42)));
        headers.insert(
            "last-event-id",
            axum::http::HeaderValue::from_static("forty"),
        );
        assert!(last_event_id(&headers).is_err());
    }
}
