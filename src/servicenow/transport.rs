//! The client handle and its one way of sending a request: headers, credentials, the 401
//! renewal, and bounded retries (429 honouring `Retry-After`, 5xx and network failures with
//! backoff). Every other module builds a [`Call`] and goes through [`ServiceNowClient::send`].

use super::auth::{AuthStats, Authenticator};
use super::config::ServiceNowConfig;
use super::error::{
    ApiError, Error, TransportKind, is_retryable_status, parse_envelope, parse_retry_after,
};
use crate::observe::{CallOutcome, CallRecord};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// A client for one ServiceNow instance. Cheap to clone; clones share the connection pool and
/// the OAuth token.
#[derive(Clone)]
pub struct ServiceNowClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ServiceNowConfig,
    /// The instance URL, always ending in `/`.
    pub(crate) base: Url,
    pub(crate) http: reqwest::Client,
    pub(crate) auth: Authenticator,
}

impl std::fmt::Debug for ServiceNowClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceNowClient")
            .field("name", &self.inner.config.name)
            .field("url", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// Whether a request may be sent again when its outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Reads, deletes and plain field updates: repeating them changes nothing.
    Safe,
    /// Inserts, orders and journal appends: a repeat could create a second record or note,
    /// so only failures that prove the request was not processed (429, 503, no connection)
    /// are retried.
    Unsafe,
}

/// One request to send.
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) url: Url,
    /// `table` or `table/sys_id`, for messages.
    pub(crate) target: String,
    pub(crate) body: Option<serde_json::Value>,
    pub(crate) replay: Replay,
}

/// A successful answer.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl ServiceNowClient {
    /// Builds a client; no request is made until the first call.
    pub fn new(config: ServiceNowConfig) -> Result<Self, Error> {
        let invalid = |message: String| Error::Invalid {
            instance: config.name.clone(),
            message,
        };
        let mut base = Url::parse(config.url.trim())
            .map_err(|e| invalid(format!("invalid instance URL {:?}: {e}", config.url)))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid(format!(
                "instance URL {:?} must be http(s)",
                config.url
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("deskbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {}", error_text(&e))))?;
        let auth = Authenticator::new(&config.name, &base, &config.auth)?;
        Ok(ServiceNowClient {
            inner: Arc::new(Inner {
                config,
                base,
                http,
                auth,
            }),
        })
    }

    /// The instance's short name, as used in messages.
    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// The instance base URL (ending in `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    pub fn config(&self) -> &ServiceNowConfig {
        &self.inner.config
    }

    /// Counts of OAuth grants used so far (all zero with Basic auth).
    pub fn auth_stats(&self) -> AuthStats {
        self.inner.auth.stats()
    }

    pub(crate) fn invalid(&self, message: impl Into<String>) -> Error {
        Error::Invalid {
            instance: self.inner.config.name.clone(),
            message: message.into(),
        }
    }

    /// `{base}/{segments…}`, each segment percent-encoded.
    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut url = self.inner.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| self.invalid("instance URL cannot take a path"))?;
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        Ok(url)
    }

    /// Whether `url` points at this instance, so credentials may be sent there.
    pub(crate) fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.inner.base.origin()
    }

    /// Sends `call`, renewing the token once on a 401 and retrying within the policy.
    pub(crate) async fn send(&self, call: &Call) -> Result<Reply, Error> {
        let policy = &self.inner.config.retry;
        let max_attempts = policy.max_attempts.max(1);
        let mut attempt: u32 = 1;
        let mut renewed = false;
        loop {
            let started = Instant::now();
            let (outcome, generation) = match self.inner.auth.credential(&self.inner.http).await {
                Ok(cred) => {
                    let rb = cred.apply(self.request(call));
                    (rb.send().await, cred.generation())
                }
                Err(e) if e.is_retryable() && attempt < max_attempts => {
                    self.pause(call, attempt, &e, policy.backoff(attempt)).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let err = match outcome {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    let body = response.text().await;
                    self.observe(
                        call,
                        match &body {
                            Ok(_) => CallOutcome::Status(status),
                            Err(e) => CallOutcome::of_error(e),
                        },
                        started,
                    );
                    match body {
                        Ok(body) if (200..300).contains(&status) => {
                            return Ok(Reply {
                                status,
                                headers,
                                body,
                            });
                        }
                        Ok(body) => {
                            if status == 401 && self.inner.auth.is_oauth() && !renewed {
                                // The token may have been revoked or expired early: renew once.
                                renewed = true;
                                self.inner.auth.invalidate(generation).await;
                                continue;
                            }
                            self.api_error(call, status, &headers, &body)
                        }
                        Err(e) => self.transport_error(call, &e),
                    }
                }
                Err(e) => {
                    self.observe(call, CallOutcome::of_error(&e), started);
                    self.transport_error(call, &e)
                }
            };
            if attempt >= max_attempts || !self.may_retry(call, &err) {
                return Err(err);
            }
            let asked = match &err {
                Error::Api(api) if api.status == 429 => api.retry_after,
                _ => None,
            };
            let wait = match asked {
                // Waiting longer than the cap would stall a job; its engine can reschedule.
                Some(after) if after > policy.max_retry_after => return Err(err),
                Some(after) => after,
                None => policy.backoff(attempt),
            };
            self.pause(call, attempt, &err, wait).await;
            attempt += 1;
        }
    }

    /// Tells the configured observer (if any) how one exchange ended. The clock starts before
    /// the credential is fetched, so a token renewal shows in the latency of the call it held.
    fn observe(&self, call: &Call, outcome: CallOutcome, started: Instant) {
        if let Some(observer) = &self.inner.config.observer {
            observer.call_ended(&CallRecord {
                target: &self.inner.config.name,
                method: call.method.as_str(),
                outcome,
                elapsed: started.elapsed(),
            });
        }
    }

    fn request(&self, call: &Call) -> reqwest::RequestBuilder {
        let mut rb = self
            .inner
            .http
            .request(call.method.clone(), call.url.clone())
            .header(ACCEPT, "application/json");
        if call.method != Method::GET && call.method != Method::HEAD {
            // ServiceNow answers 400 to a write without Content-Type, even a bodiless DELETE.
            rb = rb.header(CONTENT_TYPE, "application/json");
        }
        if let Some(body) = &call.body {
            rb = rb.body(body.to_string());
        }
        rb
    }

    fn may_retry(&self, call: &Call, err: &Error) -> bool {
        if !err.is_retryable() {
            return false;
        }
        match call.replay {
            Replay::Safe => true,
            Replay::Unsafe => match err {
                Error::Api(api) => api.status == 429 || api.status == 503,
                Error::Transport { kind, .. } => *kind == TransportKind::Connect,
                _ => false,
            },
        }
    }

    async fn pause(&self, call: &Call, attempt: u32, err: &Error, wait: Duration) {
        tracing::debug!(
            instance = %self.inner.config.name,
            method = %call.method,
            target = %call.target,
            attempt,
            wait_ms = wait.as_millis() as u64,
            error = %err,
            "retrying ServiceNow request"
        );
        tokio::time::sleep(wait).await;
    }

    fn api_error(&self, call: &Call, status: u16, headers: &HeaderMap, body: &str) -> Error {
        let (mut message, detail) = parse_envelope(status, body);
        if status == 401 {
            message = if self.inner.auth.is_oauth() {
                format!("{message} (token refused even after renewal)")
            } else {
                format!("{message} (check the user name and password)")
            };
        }
        let retry_after = if is_retryable_status(status) {
            parse_retry_after(
                headers
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()),
            )
        } else {
            None
        };
        Error::Api(Box::new(ApiError {
            instance: self.inner.config.name.clone(),
            method: call.method.to_string(),
            target: call.target.clone(),
            status,
            message,
            detail,
            retry_after,
        }))
    }

    fn transport_error(&self, call: &Call, e: &reqwest::Error) -> Error {
        let kind = if e.is_timeout() {
            TransportKind::Timeout
        } else if e.is_connect() {
            TransportKind::Connect
        } else if e.is_body() || e.is_decode() {
            TransportKind::Incomplete
        } else {
            TransportKind::Other
        };
        Error::Transport {
            instance: self.inner.config.name.clone(),
            method: call.method.to_string(),
            target: call.target.clone(),
            kind,
            message: error_text(e),
        }
    }
}

/// A reqwest error with its causes (the URL it names carries no credentials).
pub(crate) fn error_text(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
