//! [`EventStream`]: `GET /api/v1/events` followed for as long as the console runs. A task reads
//! the stream, hands typed events to the console through a channel, and when the adapter goes
//! away reconnects with capped, jittered exponential backoff, resuming with `Last-Event-ID`
//! after the last event it handed over, so nothing is missed and nothing comes twice. The
//! connection's ups and downs come through the same channel, in order with the events.
//! Dropping the stream stops the task and closes the connection.

use std::time::{Duration, Instant};

use chrono::Utc;
use rand::Rng;
use reqwest::Method;
use reqwest::header::{ACCEPT, CACHE_CONTROL};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::events::{self, EventKind, Hello, Reset, StreamEvent};
use super::sse::SseParser;
use super::{ApiClient, CallOutcome, ClientError};

/// How the stream connects and reconnects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOptions {
    /// Kinds to receive; every kind when `None`.
    pub kinds: Option<Vec<EventKind>>,
    /// Start after this event id; from "now" when `None`.
    pub resume_after: Option<i64>,
    /// First wait after a lost connection; doubled per failed try.
    pub initial_backoff: Duration,
    /// Longest wait between tries.
    pub max_backoff: Duration,
    /// A connection with no bytes for this long is taken as dead. The adapter sends a
    /// keep-alive comment every 15 s, so three missed ones mean a half-open connection.
    pub idle_timeout: Duration,
    /// Events buffered for the console before the reader waits for it.
    pub capacity: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            kinds: None,
            resume_after: None,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(45),
            capacity: 1024,
        }
    }
}

/// The live event feed; see the module docs. Read it with [`EventStream::recv`].
#[derive(Debug)]
pub struct EventStream {
    events: mpsc::Receiver<StreamEvent>,
    task: JoinHandle<()>,
}

impl EventStream {
    /// The next event; `None` only if the reader stopped, which it does not on its own.
    pub async fn recv(&mut self) -> Option<StreamEvent> {
        self.events.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<StreamEvent> {
        self.events.try_recv().ok()
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        // Aborting drops the response, which closes the connection.
        self.task.abort();
    }
}

impl ApiClient {
    /// Starts following the adapter's events. Must be called within a tokio runtime.
    pub fn events(&self, options: StreamOptions) -> EventStream {
        let (tx, rx) = mpsc::channel(options.capacity.max(1));
        let reader = Reader {
            client: self.clone(),
            last_id: options.resume_after,
            connected_before: false,
            server_retry: None,
            options,
            tx,
        };
        EventStream {
            events: rx,
            task: tokio::spawn(reader.run()),
        }
    }
}

/// Why a connection ended.
enum Ended {
    /// The console dropped the stream.
    Closed,
    /// Lost or never made: try again. `hello` says whether the stream was up at all.
    Lost { reason: String, hello: bool },
}

impl Ended {
    fn lost(hello: bool, reason: impl Into<String>) -> Ended {
        Ended::Lost {
            reason: reason.into(),
            hello,
        }
    }
}

struct Reader {
    client: ApiClient,
    options: StreamOptions,
    tx: mpsc::Sender<StreamEvent>,
    /// The last event id handed to the console (or the server's starting point).
    last_id: Option<i64>,
    connected_before: bool,
    /// The reconnection time the server asked for with `retry:`.
    server_retry: Option<Duration>,
}

impl Reader {
    async fn run(mut self) {
        let mut failures: u32 = 0;
        loop {
            let reason = match self.connect_and_read().await {
                Ended::Closed => return,
                Ended::Lost { reason, hello } => {
                    if hello {
                        failures = 0;
                    }
                    reason
                }
            };
            failures = failures.saturating_add(1);
            let after = self.backoff(failures);
            let retry_at = Utc::now()
                + chrono::Duration::from_std(after).unwrap_or_else(|_| chrono::Duration::zero());
            let state = StreamEvent::Reconnecting {
                attempt: failures,
                after,
                retry_at,
                reason,
            };
            if self.tx.send(state).await.is_err() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(after) => {}
                _ = self.tx.closed() => return,
            }
        }
    }

    /// Equal jitter: half the doubled delay, plus a random part of the other half, so a
    /// hundred consoles cut off together do not come back in step.
    fn backoff(&self, failures: u32) -> Duration {
        let base = self
            .server_retry
            .unwrap_or(self.options.initial_backoff)
            .max(Duration::from_millis(1));
        let cap = self.options.max_backoff.max(base);
        let doubled = base.saturating_mul(1u32 << failures.saturating_sub(1).min(20));
        let full = doubled.min(cap);
        let half = full / 2;
        let spread = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(rand::rng().random_range(0..=spread))
    }

    async fn send(&self, event: StreamEvent) -> Result<(), Ended> {
        self.tx.send(event).await.map_err(|_| Ended::Closed)
    }

    /// Opens the stream (renewing the token once on a 401) and reads it until it ends.
    async fn connect_and_read(&mut self) -> Ended {
        let mut response = match self.open().await {
            Ok(r) => r,
            Err(e) => return e,
        };
        let mut parser = SseParser::new();
        let mut hello = false;
        loop {
            let chunk = tokio::select! {
                read = tokio::time::timeout(self.options.idle_timeout, response.chunk()) => read,
                _ = self.tx.closed() => return Ended::Closed,
            };
            let bytes = match chunk {
                Err(_) => {
                    return Ended::lost(
                        hello,
                        format!(
                            "nothing received for {} s; the connection is taken as dead",
                            self.options.idle_timeout.as_secs()
                        ),
                    );
                }
                Ok(Err(e)) => {
                    return Ended::lost(
                        hello,
                        format!("the event stream broke: {}", e.without_url()),
                    );
                }
                Ok(Ok(None)) => {
                    return Ended::lost(hello, "the adapter closed the event stream".to_owned());
                }
                Ok(Ok(Some(bytes))) => bytes,
            };
            let messages = match parser.push(&bytes) {
                Ok(m) => m,
                Err(e) => return Ended::lost(hello, e.to_string()),
            };
            if let Some(ms) = parser.retry() {
                self.server_retry = Some(Duration::from_millis(ms));
            }
            for message in messages {
                match message.event.as_str() {
                    "hello" => {
                        let Ok(h) = serde_json::from_str::<Hello>(&message.data) else {
                            return Ended::lost(
                                hello,
                                "the adapter's stream greeting cannot be read",
                            );
                        };
                        // The server echoes where it resumes: the Last-Event-ID sent, or
                        // its "now" on a first connection, which is where the console starts.
                        let resume_after = h.resume_after;
                        self.last_id.get_or_insert(resume_after);
                        hello = true;
                        let reconnected = std::mem::replace(&mut self.connected_before, true);
                        let up = StreamEvent::Connected {
                            resume_after,
                            reconnected,
                        };
                        if let Err(closed) = self.send(up).await {
                            return closed;
                        }
                    }
                    "reset" => {
                        let reason = serde_json::from_str::<Reset>(&message.data)
                            .map(|r| r.reason)
                            .unwrap_or_else(|_| "events were missed; reload".to_owned());
                        if let Err(closed) = self.send(StreamEvent::Reset { reason }).await {
                            return closed;
                        }
                    }
                    // The adapter's store failed; the stream ends next and is reopened.
                    "error" => {}
                    _ => {
                        let event = match events::decode(&message.data) {
                            Ok(e) => e,
                            Err(e) => {
                                tracing::warn!(error = %e, kind = %message.event, "unreadable event skipped");
                                continue;
                            }
                        };
                        if self.last_id.is_some_and(|last| event.id <= last) {
                            // Already handed over: a resume never repeats an event.
                            continue;
                        }
                        self.last_id = Some(event.id);
                        if let Err(closed) = self.send(StreamEvent::Event(event)).await {
                            return closed;
                        }
                    }
                }
            }
        }
    }

    async fn open(&self) -> Result<reqwest::Response, Ended> {
        let client = &self.client;
        let query: Vec<(&'static str, String)> = match &self.options.kinds {
            Some(kinds) => {
                let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                vec![("kinds", names.join(","))]
            }
            None => Vec::new(),
        };
        let url = client.url(&["events"], &query);
        let call = format!("GET {}", url.path());
        let timeout = client.inner.options.timeout;
        let lost = |reason: String| Ended::Lost {
            reason,
            hello: false,
        };
        let mut renewed = false;
        loop {
            let bearer = client.bearer().await.map_err(|e| lost(e.to_string()))?;
            let mut request = client
                .inner
                .http
                .get(url.clone())
                .bearer_auth(bearer.value.expose())
                .header(ACCEPT, "text/event-stream")
                .header(CACHE_CONTROL, "no-cache");
            if let Some(id) = self.last_id {
                request = request.header("Last-Event-ID", id.to_string());
            }
            // Only the wait for the headers is limited: the body lasts as long as the console.
            let (at, started) = (Utc::now(), Instant::now());
            let sent = tokio::time::timeout(timeout, request.send()).await;
            let latency = started.elapsed();
            let response = match sent {
                Err(_) => {
                    let err = ClientError::Timeout {
                        call: call.clone(),
                        after: timeout,
                    };
                    let outcome = CallOutcome::Failed(err.to_string());
                    client.log(at, &Method::GET, &url, outcome, latency);
                    return Err(lost(err.to_string()));
                }
                Ok(Err(e)) => {
                    let err = ClientError::from_transport(client.base_url(), &call, timeout, e);
                    let outcome = CallOutcome::Failed(err.to_string());
                    client.log(at, &Method::GET, &url, outcome, latency);
                    return Err(lost(err.to_string()));
                }
                Ok(Ok(response)) => response,
            };
            let status = response.status().as_u16();
            client.log(at, &Method::GET, &url, CallOutcome::Status(status), latency);
            if status == 401 && !renewed {
                renewed = true;
                client.invalidate(bearer.generation).await;
                continue;
            }
            if !(200..300).contains(&status) {
                let body = tokio::time::timeout(timeout, response.bytes())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .map(Vec::from)
                    .unwrap_or_default();
                return Err(lost(
                    ClientError::from_answer(&call, status, &body).to_string(),
                ));
            }
            return Ok(response);
        }
    }
}
