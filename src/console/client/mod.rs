//! The console's client of the adapter API (`/api/v1`): OAuth client-credentials tokens,
//! typed reads, actions, the live event stream with reconnect, and the log of calls for the
//! `@` view. It knows the adapter only through its HTTP API, and nothing of the terminal.
//!
//! - [`ApiClient`]: one per adapter; cheap to clone, safe to share between tasks.
//! - Every call returns [`ClientError`] on failure, which says whether the adapter is away,
//!   the request was refused, or the adapter failed.
//! - [`EventStream`]: `GET /api/v1/events` as a channel of [`StreamEvent`]s.
//! - [`CallLog`]: the last calls, readable at any time without waiting.

mod accounts;
mod api;
mod calls;
mod error;
mod events;
mod idle;
mod reports;
mod runbooks;
mod sse;
mod stream;
mod types;
mod work;
mod workflows;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::secret::Secret;

pub use accounts::{
    AccountInfo, AccountPage, CheckViolation, PasswordCheck, PolicyAnswer, SECRET_NAMES, redact,
};
pub use calls::{CallLog, CallOutcome, CallRecord, DEFAULT_CAPACITY};
pub use error::ClientError;
pub use events::{
    CountChange, EventKind, EventPayload, InventoryEvent, JobEvent, ServerEvent, SiteEvent,
    StreamEvent, TaskEvent, TicketEvent, WriteReport,
};
pub use idle::{IdleAnswer, IdleCandidate, IdleRequest, IdleSkipped};
pub use reports::{ReportColumn, ReportData, ReportInfo, ReportParam, ReportSource};
pub use runbooks::{
    ParamKind, RUNBOOK_ACTION, RUNBOOK_TARGET_SITE, RunbookInfo, RunbookParam, RunbookStep,
    run_request,
};
pub use sse::{LineTooLong, SseMessage, SseParser};
pub use stream::{EventStream, StreamOptions};
pub use types::{
    AuditEntry, AuditPage, AuditQuery, ConnectorStatus, ListQuery, Page, SiteCounts, SiteInfo,
    SiteRows, Sited, SyncByInstance, SyncStatus, TicketLink, UserRow, Whoami,
};
pub use work::{
    AttemptInfo, IdempotencyKey, JobInfo, JobPage, JobProgress, JobQuery, JobRequest, JobState,
    NamedRef, NoteVisibility, SecretPath, Submitted, Target, TaskInfo, TaskState, TicketDetail,
    TicketPage, TicketQuery, TicketRow, TicketWrite, Variable, WriteStatus,
};
pub use workflows::{
    RouteInfo, RoutingExplanation, RoutingFacts, RuleCheckInfo, StepEvent, StepInfo, StepState,
    WorkflowPreview,
};

/// Time limits and sizes of the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// Limit of an ordinary call, body included. Ticket writes wait up to 5 s for
    /// ServiceNow at the adapter, so this stays well above that.
    pub timeout: Duration,
    /// Limit of a whole site's list (100,000 sessions are tens of megabytes).
    pub bulk_timeout: Duration,
    /// Limit of opening a connection: an adapter that is away is reported this soon.
    pub connect_timeout: Duration,
    /// Calls kept for the `@` view.
    pub call_log_capacity: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(20),
            bulk_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(5),
            call_log_capacity: DEFAULT_CAPACITY,
        }
    }
}

/// An access token and when to renew it. `generation` tells a 401 for an old token (renew)
/// from one for a token another task already renewed (just retry).
#[derive(Clone)]
struct Bearer {
    value: Secret,
    renew_at: Instant,
    generation: u64,
}

#[derive(Default)]
struct TokenSlot {
    current: Option<Bearer>,
    generation: u64,
}

struct Inner {
    base: Url,
    /// The base as given, without a trailing slash, for messages.
    base_text: String,
    http: reqwest::Client,
    client_id: String,
    secret: Secret,
    /// Held while a token is fetched, so concurrent calls wait for one fetch.
    token: tokio::sync::Mutex<TokenSlot>,
    calls: CallLog,
    options: ClientOptions,
}

/// The client of one adapter.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.inner.base_text)
            .field("client_id", &self.inner.client_id)
            .finish_non_exhaustive()
    }
}

/// The token endpoint's answer (RFC 6749 §5.1).
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Secret,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The method names the client uses, as `'static` text for the call log.
fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

/// `path?query` of a URL, as the call log shows it, with any secret's value in the query
/// replaced by `***` (secrets go in bodies, which are never logged; this is the backstop).
fn shown_path(url: &Url) -> String {
    match url.query() {
        Some(query) => accounts::redact(&format!("{}?{query}", url.path())),
        None => url.path().to_owned(),
    }
}

impl ApiClient {
    /// A client of the adapter at `base_url` (`http://127.0.0.1:8080`, or with a path prefix
    /// behind a reverse proxy). No call is made until the first request.
    pub fn new(
        base_url: &str,
        client_id: impl Into<String>,
        secret: Secret,
    ) -> Result<ApiClient, ClientError> {
        ApiClient::with_options(base_url, client_id, secret, ClientOptions::default())
    }

    pub fn with_options(
        base_url: &str,
        client_id: impl Into<String>,
        secret: Secret,
        options: ClientOptions,
    ) -> Result<ApiClient, ClientError> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let base = Url::parse(trimmed).map_err(|e| {
            ClientError::Config(format!("the adapter address {trimmed:?} is not a URL: {e}"))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ClientError::Config(format!(
                "the adapter address {trimmed:?} must start with http:// or https://"
            )));
        }
        if base.query().is_some() || !base.username().is_empty() || base.password().is_some() {
            return Err(ClientError::Config(format!(
                "the adapter address {trimmed:?} must not carry a query or credentials; the \
                 client id and secret are given separately"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("deskbridge-console/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Config(format!("cannot set up HTTP: {e}")))?;
        Ok(ApiClient {
            inner: Arc::new(Inner {
                base_text: trimmed.to_owned(),
                base,
                http,
                client_id: client_id.into(),
                secret,
                token: tokio::sync::Mutex::new(TokenSlot::default()),
                calls: CallLog::new(options.call_log_capacity),
                options,
            }),
        })
    }

    /// The adapter's address as given.
    pub fn base_url(&self) -> &str {
        &self.inner.base_text
    }

    /// The log of calls, shared with every clone and event stream of this client.
    pub fn calls(&self) -> &CallLog {
        &self.inner.calls
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// `{base}/api/v1/{segments…}?{query}`, each segment escaped (site names, ticket
    /// numbers and ids come from data).
    fn url(&self, segments: &[&str], query: &[(&'static str, String)]) -> Url {
        let mut url = self.inner.base.clone();
        // Checked in `new`: the base can be a base, so there are path segments.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        url
    }

    fn log(
        &self,
        at: chrono::DateTime<Utc>,
        method: &Method,
        url: &Url,
        outcome: CallOutcome,
        latency: Duration,
    ) {
        let outcome = match outcome {
            CallOutcome::Failed(why) => CallOutcome::Failed(accounts::redact(&why)),
            status => status,
        };
        self.inner
            .calls
            .record(at, method_name(method), shown_path(url), outcome, latency);
    }

    /// A token valid for a while yet: the current one, or a new one. Callers wait on the
    /// slot's lock while one of them fetches, so a burst of calls makes one token request.
    async fn bearer(&self) -> Result<Bearer, ClientError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(current) = &slot.current
            && Instant::now() < current.renew_at
        {
            return Ok(current.clone());
        }
        let (value, lifetime) = self.fetch_token().await?;
        slot.generation += 1;
        // Renewed at four fifths of its life: early enough that a call never carries a
        // token about to expire, late enough to cost one request per token lifetime.
        let bearer = Bearer {
            value,
            renew_at: Instant::now() + lifetime.mul_f32(0.8),
            generation: slot.generation,
        };
        slot.current = Some(bearer.clone());
        Ok(bearer)
    }

    /// Forgets the token a 401 was answered to, unless it was already replaced.
    async fn invalidate(&self, generation: u64) {
        let mut slot = self.inner.token.lock().await;
        if slot
            .current
            .as_ref()
            .is_some_and(|b| b.generation == generation)
        {
            slot.current = None;
        }
    }

    async fn fetch_token(&self) -> Result<(Secret, Duration), ClientError> {
        let url = self.url(&["token"], &[]);
        let call = format!("POST {}", url.path());
        let timeout = self.inner.options.timeout;
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.inner.client_id.as_str()),
            ("client_secret", self.inner.secret.expose()),
        ];
        let request = self
            .inner
            .http
            .post(url.clone())
            .form(&form)
            .timeout(timeout);
        let (at, started) = (Utc::now(), Instant::now());
        let answer = read_answer(request).await;
        let latency = started.elapsed();
        let (status, body) = match answer {
            Ok(found) => found,
            Err(e) => {
                let err = ClientError::from_transport(&self.inner.base_text, &call, timeout, e);
                self.log(
                    at,
                    &Method::POST,
                    &url,
                    CallOutcome::Failed(err.to_string()),
                    latency,
                );
                return Err(err);
            }
        };
        self.log(
            at,
            &Method::POST,
            &url,
            CallOutcome::Status(status),
            latency,
        );
        if !(200..300).contains(&status) {
            return Err(ClientError::from_answer(&call, status, &body));
        }
        let token: TokenAnswer = parse(&call, &body)?;
        if token.access_token.is_empty() {
            return Err(ClientError::Decode {
                call,
                detail: "the token answer holds no access_token".to_owned(),
            });
        }
        // No expiry given: assume a short life rather than reuse a token forever.
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(60));
        Ok((token.access_token, lifetime))
    }

    /// One API call with the bearer token; a 401 renews the token and tries once more.
    /// Answers 2xx as `(status, body)`, anything else as the error it stands for.
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let call = format!("{method} {}", url.path());
        let mut renewed = false;
        loop {
            let bearer = self.bearer().await?;
            let mut request = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(bearer.value.expose())
                .timeout(timeout);
            if let Some(body) = body {
                request = request.json(body);
            }
            let (at, started) = (Utc::now(), Instant::now());
            let answer = read_answer(request).await;
            let latency = started.elapsed();
            let (status, bytes) = match answer {
                Ok(found) => found,
                Err(e) => {
                    let err = ClientError::from_transport(&self.inner.base_text, &call, timeout, e);
                    let outcome = CallOutcome::Failed(err.to_string());
                    self.log(at, &method, &url, outcome, latency);
                    return Err(err);
                }
            };
            self.log(at, &method, &url, CallOutcome::Status(status), latency);
            if status == 401 && !renewed {
                // Expired early, signing key rotated, adapter restarted with a new key:
                // a fresh token settles all of them; a second 401 is a real refusal.
                renewed = true;
                self.invalidate(bearer.generation).await;
                continue;
            }
            if (200..300).contains(&status) {
                return Ok((status, bytes));
            }
            return Err(ClientError::from_answer(&call, status, &bytes));
        }
    }

    /// A call whose answer is read into `T`; large answers are parsed off the async workers.
    async fn call<T: DeserializeOwned + Send + 'static>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&'static str, String)],
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<(u16, T), ClientError> {
        let url = self.url(segments, query);
        let call = format!("{method} {}", url.path());
        let (status, bytes) = self.send(method, url, body, timeout).await?;
        const INLINE: usize = 256 * 1024;
        if bytes.len() <= INLINE {
            return Ok((status, parse(&call, &bytes)?));
        }
        let parsed = tokio::task::spawn_blocking(move || parse::<T>(&call, &bytes))
            .await
            .map_err(|e| ClientError::Decode {
                call: "a large answer".to_owned(),
                detail: format!("the parsing task failed: {e}"),
            })??;
        Ok((status, parsed))
    }
}

/// Sends and reads the whole answer; the request's own timeout covers both.
async fn read_answer(request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), reqwest::Error> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    Ok((status, Vec::from(body)))
}

fn parse<T: DeserializeOwned>(call: &str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode {
        call: call.to_owned(),
        detail: e.to_string(),
    })
}
