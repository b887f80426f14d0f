//! One logical API call: headers, failover between connectors, retries after throttling and a
//! single re-authentication after a 401.
//!
//! What is retried where:
//! - the endpoint cannot be reached (connect error, timeout, reset) or answers 502/503/504
//!   without a retry delay (the connector itself is sick): mark it down, try the next one;
//! - 429, or 503 carrying `retryDelay` / `Retry-After` (the site is alive but busy): wait as
//!   asked (capped) and send again, a bounded number of times;
//! - 401: renew the token once and send again.
//!
//! A request that is not safe to send twice (it creates something) is not failed over once it
//! may have reached a connector; the caller gets [`CvadError::Ambiguous`] instead.

use super::auth;
use super::classify::{Failures, Verdict, verdict};
use super::client::Inner;
use super::error::{CvadError, decode_error_body, describe, human_duration};
use super::path;
use crate::observe::{CallOutcome, CallRecord};
use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Probes must be quick: they only ask "are you there?".
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The smallest wait between throttled attempts, doubled each time, so a site that says
/// "retry now" is not hammered.
const MIN_THROTTLE_WAIT: Duration = Duration::from_millis(100);

/// One request to the API under `/cvad/manage`, before an endpoint is chosen.
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    pub method: Method,
    /// Raw path segments after `/cvad/manage` (encoded when the URL is built).
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    /// JSON body.
    pub body: Option<Vec<u8>>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Whether sending it twice is harmless, so it may be failed over after it may already
    /// have reached a connector.
    pub replayable: bool,
}

impl ApiRequest {
    pub fn new(method: Method, segments: &[&str]) -> Self {
        let replayable = method != Method::POST;
        ApiRequest {
            method,
            segments: segments.iter().map(|s| s.to_string()).collect(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            replayable,
        }
    }

    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_string(), value.into()));
        self
    }

    pub fn describe(&self) -> String {
        describe(&self.method, &self.segments)
    }
}

/// An answer from one endpoint, body read in full.
#[derive(Debug, Clone)]
pub(crate) struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The server's clock, from its `Date` header.
    pub fn date(&self) -> Option<DateTime<Utc>> {
        let date = self.header("date")?;
        DateTime::parse_from_rfc2822(date)
            .ok()
            .map(|d| d.with_timezone(&Utc))
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// An answer to a logical call, with the transaction id it was sent under.
#[derive(Debug, Clone)]
pub(crate) struct ApiResponse {
    pub raw: RawResponse,
    pub transaction_id: String,
}

/// Why a request got no answer.
#[derive(Debug, Clone)]
pub(crate) struct SendFailure {
    pub reason: String,
    /// False when the connection was never made, so the request certainly was not processed.
    pub maybe_sent: bool,
    /// For the call observer: timeout, unreachable or broken.
    pub outcome: CallOutcome,
}

/// Sends a request and reads the whole body, all within `timeout`.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<RawResponse, SendFailure> {
    let failure = |e: reqwest::Error| failure(&e, timeout);
    let response = request.timeout(timeout).send().await.map_err(failure)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body: Vec<u8> = response.bytes().await.map_err(failure)?.into();
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

fn failure(err: &reqwest::Error, timeout: Duration) -> SendFailure {
    // The innermost cause ("Connection refused (os error 111)") is what a person needs; the
    // outer layers only repeat the URL.
    let mut cause: &dyn std::error::Error = err;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let reason = if err.is_timeout() {
        format!("no answer within {}", human_duration(timeout))
    } else if err.is_connect() {
        format!("cannot connect: {cause}")
    } else {
        format!("connection failed: {cause}")
    };
    SendFailure {
        reason,
        maybe_sent: !err.is_connect(),
        outcome: CallOutcome::of_error(err),
    }
}

fn header(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(value).ok()
}

impl Inner {
    fn api_base(&self, endpoint: usize) -> String {
        format!("{}/cvad/manage", self.endpoints.base(endpoint))
    }

    /// Builds the request for one endpoint with the standard headers.
    fn build(
        &self,
        endpoint: usize,
        request: &ApiRequest,
        token: Option<&auth::Token>,
        txn: &str,
    ) -> reqwest::RequestBuilder {
        let url = path::join(&self.api_base(endpoint), &request.segments);
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .query(&request.query)
            .header(reqwest::header::ACCEPT, "application/json")
            .header("Citrix-CustomerId", &self.config.customer_id)
            .header("Citrix-InstanceId", &self.config.site_id)
            .header("Citrix-TransactionId", txn);
        if let Some(token) = token
            && let Some(mut value) = header(&format!("CWSAuth bearer={}", token.value.expose()))
        {
            value.set_sensitive(true);
            builder = builder.header(reqwest::header::AUTHORIZATION, value);
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        builder
    }

    async fn token(&self) -> Result<auth::Token, CvadError> {
        self.tokens
            .get(|| auth::fetch_token(&self.http, &self.config, &self.endpoints))
            .await
    }

    /// Sends one logical call, failing over and retrying as the module docs describe. Returns
    /// every real answer, successful or not; only reachability and throttling are handled here.
    pub(crate) async fn execute(
        self: &Arc<Self>,
        request: &ApiRequest,
    ) -> Result<ApiResponse, CvadError> {
        self.start_due_probes();
        let txn = Uuid::new_v4().to_string();
        let policy = &self.config.retry;
        let mut failures = Failures::default();
        let mut throttled = 0u32;
        let mut renewed = false;
        for round in 0..policy.failover_rounds.max(1) {
            if round > 0 {
                tokio::time::sleep(policy.round_backoff * round).await;
            }
            let order = self.endpoints.order();
            let mut k = 0;
            while let Some(&i) = order.get(k) {
                let token = self.token().await?;
                let endpoint = self.endpoints.base(i).to_string();
                let started = Instant::now();
                let sent = send(
                    self.build(i, request, Some(&token), &txn),
                    self.config.request_timeout,
                )
                .await;
                self.observe(request, &sent, started);
                let reason = match sent {
                    Err(fail) => {
                        if fail.maybe_sent && !request.replayable {
                            self.endpoints.mark_down(i, fail.reason.clone());
                            return Err(self.ambiguous(request, &endpoint, fail.reason));
                        }
                        fail.reason
                    }
                    Ok(response) => match verdict(&response, policy) {
                        Verdict::Sick(reason) => {
                            // 503 means "not processed"; 502/504 from a gateway may hide a
                            // request that did get through.
                            if response.status != 503 && !request.replayable {
                                self.endpoints.mark_down(i, reason.clone());
                                return Err(self.ambiguous(request, &endpoint, reason));
                            }
                            reason
                        }
                        Verdict::Throttle(delay) => {
                            self.endpoints.mark_up(i);
                            if throttled >= policy.max_throttle_retries {
                                let decoded = decode_error_body(response.status, &response.body);
                                return Err(CvadError::Throttled {
                                    site: self.config.site_name.clone(),
                                    retries: throttled,
                                    status: response.status,
                                    detail: decoded.detail,
                                });
                            }
                            let floor = MIN_THROTTLE_WAIT * 2u32.saturating_pow(throttled);
                            let wait = delay.max(floor).min(policy.max_retry_delay);
                            throttled += 1;
                            tracing::debug!(
                                site = %self.config.site_name, status = response.status,
                                wait = %human_duration(wait), "CVAD site is busy; waiting"
                            );
                            tokio::time::sleep(wait).await;
                            continue;
                        }
                        Verdict::Unauthorized if !renewed => {
                            self.endpoints.mark_up(i);
                            renewed = true;
                            self.tokens.invalidate(token.generation).await;
                            continue;
                        }
                        Verdict::Unauthorized | Verdict::Done => {
                            self.endpoints.mark_up(i);
                            return Ok(ApiResponse {
                                raw: response,
                                transaction_id: txn,
                            });
                        }
                    },
                };
                tracing::debug!(%endpoint, %reason, "CVAD endpoint failed; trying the next");
                self.endpoints.mark_down(i, reason.clone());
                failures.push(&endpoint, reason);
                k += 1;
            }
        }
        Err(failures.into_error(&self.config, self.endpoints.len()))
    }

    /// Tells the configured observer (if any) how one exchange ended.
    fn observe(
        &self,
        request: &ApiRequest,
        sent: &Result<RawResponse, SendFailure>,
        started: Instant,
    ) {
        let Some(observer) = &self.config.observer else {
            return;
        };
        let outcome = match sent {
            Ok(response) => CallOutcome::Status(response.status),
            Err(failure) => failure.outcome,
        };
        observer.call_ended(&CallRecord {
            target: &self.config.site_name,
            method: request.method.as_str(),
            outcome,
            elapsed: started.elapsed(),
        });
    }

    fn ambiguous(&self, request: &ApiRequest, endpoint: &str, reason: String) -> CvadError {
        CvadError::Ambiguous {
            site: self.config.site_name.clone(),
            what: request.describe(),
            endpoint: endpoint.to_string(),
            reason,
        }
    }

    /// Starts a background probe for every down endpoint whose skip period is over.
    pub(crate) fn start_due_probes(self: &Arc<Self>) {
        for i in self.endpoints.claim_due_probes() {
            let inner = Arc::clone(self);
            tokio::spawn(async move {
                let result = inner.probe(i).await;
                inner.endpoints.probe_finished(i, result);
            });
        }
    }

    /// Asks endpoint `i` for `GET /me`, with the current token if there is one (a 401 still
    /// proves the connector answers). Never fetches a token: a probe must stay cheap.
    pub(crate) async fn probe(&self, i: usize) -> Result<(), String> {
        let request = ApiRequest::new(Method::GET, &["me"]);
        let token = self.tokens.peek();
        let txn = Uuid::new_v4().to_string();
        let timeout = PROBE_TIMEOUT.min(self.config.request_timeout);
        let builder = self.build(i, &request, token.as_ref(), &txn);
        let response = send(builder, timeout).await.map_err(|f| f.reason)?;
        match verdict(&response, &self.config.retry) {
            Verdict::Sick(reason) => Err(reason),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_requests_are_not_replayable_by_default() {
        assert!(!ApiRequest::new(Method::POST, &["Sessions", "x", "$logoff"]).replayable);
        assert!(ApiRequest::new(Method::GET, &["Sessions"]).replayable);
        assert!(ApiRequest::new(Method::PATCH, &["Machines", "m"]).replayable);
    }
}
