//! Bearer tokens: fetching them (on-prem Basic or cloud client credentials) and one shared,
//! single-flight cache per site.
//!
//! Every caller of a site shares one token. The cache lock is held while a token is fetched, so
//! a hundred concurrent calls that find the token stale cause one token request, not a hundred.

use super::classify::{self, Failures, Verdict};
use super::config::{CvadAuth, CvadConfig};
use super::endpoints::Endpoints;
use super::error::{CvadError, decode_error_body, truncate};
use super::transport::{self, SendFailure};
use super::wire::{CloudTokenResponse, OnPremTokenResponse};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Renew when less than this much validity remains (what Citrix's Go client does) …
const RENEW_MARGIN: Duration = Duration::from_secs(60);
/// … or a quarter of the lifetime for short tokens, so a 30 s token is not renewed every call.
const RENEW_FRACTION: u32 = 4;
/// Lifetime assumed when the token endpoint's expiry cannot be understood.
const FALLBACK_LIFETIME: Duration = Duration::from_secs(300);
/// The on-prem token path on a Delivery Controller.
const ONPREM_TOKEN_PATH: &str = "citrix/orchestration/api/tokens";

/// A token as handed to callers; `generation` identifies it for [`TokenCache::invalidate`].
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub value: Arc<Secret>,
    pub generation: u64,
}

/// A token as the token endpoint issued it.
#[derive(Debug)]
pub(crate) struct Issued {
    pub value: Secret,
    pub lifetime: Duration,
}

#[derive(Debug)]
struct Cached {
    token: Token,
    renew_at: Instant,
    expires_at: Instant,
}

/// One site's token, shared by every concurrent caller.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    slot: Mutex<Option<Cached>>,
    generations: AtomicU64,
}

impl TokenCache {
    /// The current token, fetching a new one with `fetch` if it is missing or due for renewal.
    /// If renewal fails while the old token is still valid, the old one is used.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<Token, CvadError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Issued, CvadError>>,
    {
        let mut slot = self.slot.lock().await;
        let now = Instant::now();
        if let Some(cached) = slot.as_ref()
            && now < cached.renew_at
        {
            return Ok(cached.token.clone());
        }
        match fetch().await {
            Ok(issued) => {
                let margin = RENEW_MARGIN.min(issued.lifetime / RENEW_FRACTION);
                let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
                let token = Token {
                    value: Arc::new(issued.value),
                    generation,
                };
                *slot = Some(Cached {
                    token: token.clone(),
                    renew_at: now + issued.lifetime.saturating_sub(margin),
                    expires_at: now + issued.lifetime,
                });
                Ok(token)
            }
            Err(err) => match slot.as_ref() {
                Some(cached) if now < cached.expires_at => {
                    tracing::warn!(error = %err, "CVAD token renewal failed; using the current token");
                    Ok(cached.token.clone())
                }
                _ => Err(err),
            },
        }
    }

    /// Drops the token of `generation` after the site refused it; a token that was already
    /// replaced by another caller is left alone, so concurrent 401s renew only once.
    pub async fn invalidate(&self, generation: u64) {
        let mut slot = self.slot.lock().await;
        if slot
            .as_ref()
            .is_some_and(|c| c.token.generation == generation)
        {
            *slot = None;
        }
    }

    /// The current token without waiting or renewing (for health probes).
    pub fn peek(&self) -> Option<Token> {
        let slot = self.slot.try_lock().ok()?;
        slot.as_ref()
            .filter(|c| Instant::now() < c.expires_at)
            .map(|c| c.token.clone())
    }
}

/// Fetches a new token the way the site's kind requires.
pub(crate) async fn fetch_token(
    http: &reqwest::Client,
    config: &CvadConfig,
    endpoints: &Endpoints,
) -> Result<Issued, CvadError> {
    match &config.auth {
        CvadAuth::OnPrem { username, password } => {
            fetch_onprem(http, config, endpoints, username, password).await
        }
        CvadAuth::Cloud {
            token_url,
            client_id,
            client_secret,
        } => fetch_cloud(http, config, token_url, client_id, client_secret).await,
    }
}

/// `POST {endpoint}/citrix/orchestration/api/tokens` with Basic auth, failing over between the
/// site's endpoints like any other call.
async fn fetch_onprem(
    http: &reqwest::Client,
    config: &CvadConfig,
    endpoints: &Endpoints,
    username: &str,
    password: &Secret,
) -> Result<Issued, CvadError> {
    let mut failures = Failures::default();
    let mut throttled = 0;
    for round in 0..config.retry.failover_rounds.max(1) {
        if round > 0 {
            tokio::time::sleep(config.retry.round_backoff * round).await;
        }
        let order = endpoints.order();
        let mut k = 0;
        while let Some(&i) = order.get(k) {
            let url = format!("{}/{ONPREM_TOKEN_PATH}", endpoints.base(i));
            let request = http
                .post(&url)
                .basic_auth(username, Some(password.expose()))
                .header(reqwest::header::ACCEPT, "application/json")
                .header("Citrix-CustomerId", &config.customer_id)
                .header("Citrix-InstanceId", &config.site_id);
            let response = match transport::send(request, config.request_timeout).await {
                Ok(response) => response,
                Err(SendFailure { reason, .. }) => {
                    endpoints.mark_down(i, reason.clone());
                    failures.push(endpoints.base(i), reason);
                    k += 1;
                    continue;
                }
            };
            match classify::verdict(&response, &config.retry) {
                Verdict::Sick(reason) => {
                    endpoints.mark_down(i, reason.clone());
                    failures.push(endpoints.base(i), reason);
                    k += 1;
                    continue;
                }
                Verdict::Throttle(delay) if throttled < config.retry.max_throttle_retries => {
                    throttled += 1;
                    tokio::time::sleep(delay).await;
                    continue;
                }
                _ => {}
            }
            endpoints.mark_up(i);
            if matches!(response.status, 401 | 403) {
                let decoded = decode_error_body(response.status, &response.body);
                return Err(CvadError::Auth {
                    site: config.site_name.clone(),
                    endpoint: url,
                    detail: format!("{} ({})", decoded.detail, response.status),
                    hint: "check the user name and password configured for this site",
                });
            }
            if !(200..300).contains(&response.status) {
                return Err(classify::api_error(config, &response, ""));
            }
            let parsed: OnPremTokenResponse = serde_json::from_slice(&response.body)
                .map_err(|e| decode_failure(config, "the token answer", &e))?;
            let lifetime = lifetime_until(&parsed.expires_at, response.date());
            return Ok(Issued {
                value: Secret::new(parsed.token),
                lifetime,
            });
        }
    }
    Err(failures.into_error(config, endpoints.len()))
}

/// The OAuth2 client-credentials grant at the trust service (form-encoded; `expires_in` is a
/// string of seconds).
async fn fetch_cloud(
    http: &reqwest::Client,
    config: &CvadConfig,
    token_url: &str,
    client_id: &str,
    client_secret: &Secret,
) -> Result<Issued, CvadError> {
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", client_secret.expose()),
    ];
    let mut failures = Failures::default();
    let mut throttled = 0;
    let mut attempt = 0;
    while attempt < config.retry.failover_rounds.max(1) {
        let request = http
            .post(token_url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        let response = match transport::send(request, config.request_timeout).await {
            Ok(response) => response,
            Err(SendFailure { reason, .. }) => {
                failures.push(token_url, reason);
                attempt += 1;
                tokio::time::sleep(config.retry.round_backoff * attempt).await;
                continue;
            }
        };
        match classify::verdict(&response, &config.retry) {
            Verdict::Sick(reason) => {
                failures.push(token_url, reason);
                attempt += 1;
                tokio::time::sleep(config.retry.round_backoff * attempt).await;
                continue;
            }
            Verdict::Throttle(delay) if throttled < config.retry.max_throttle_retries => {
                throttled += 1;
                tokio::time::sleep(delay).await;
                continue;
            }
            _ => {}
        }
        // The trust service answers bad client credentials with 400 invalid_client or 401.
        if matches!(response.status, 400 | 401 | 403) {
            let decoded = decode_error_body(response.status, &response.body);
            return Err(CvadError::Auth {
                site: config.site_name.clone(),
                endpoint: token_url.to_string(),
                detail: format!("{} ({})", decoded.detail, response.status),
                hint: "check the API client id and secret configured for this site",
            });
        }
        if !(200..300).contains(&response.status) {
            return Err(classify::api_error(config, &response, ""));
        }
        let parsed: CloudTokenResponse = serde_json::from_slice(&response.body)
            .map_err(|e| decode_failure(config, "the token answer", &e))?;
        let lifetime = match parsed.expires_in.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Duration::from_secs(secs),
            _ => {
                tracing::warn!(
                    expires_in = %truncate(&parsed.expires_in, 40),
                    "token lifetime not understood; assuming 5 minutes"
                );
                FALLBACK_LIFETIME
            }
        };
        return Ok(Issued {
            value: Secret::new(parsed.access_token),
            lifetime,
        });
    }
    Err(CvadError::Unreachable {
        site: config.site_name.clone(),
        count: 1,
        failures: failures.into_lines(),
    })
}

fn decode_failure(config: &CvadConfig, what: &str, err: &serde_json::Error) -> CvadError {
    CvadError::Decode {
        site: config.site_name.clone(),
        what: what.to_string(),
        detail: err.to_string(),
    }
}

/// How long a token that expires at `expires_at` (RFC 3339) is valid, measured against the
/// server's own `Date` when it sent one, so a skewed local clock does not matter.
fn lifetime_until(expires_at: &str, server_now: Option<DateTime<Utc>>) -> Duration {
    let now = server_now.unwrap_or_else(Utc::now);
    match DateTime::parse_from_rfc3339(expires_at.trim()) {
        Ok(expiry) => match (expiry.with_timezone(&Utc) - now).to_std() {
            Ok(lifetime) if !lifetime.is_zero() => lifetime,
            // Already expired by the server's own clock: something is off; renew soon.
            _ => RENEW_MARGIN,
        },
        Err(_) => {
            tracing::warn!("token expiry not understood; assuming 5 minutes");
            FALLBACK_LIFETIME
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn issued(value: &str, secs: u64) -> Result<Issued, CvadError> {
        Ok(Issued {
            value: Secret::new(value),
            lifetime: Duration::from_secs(secs),
        })
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let fetches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let cache = cache.clone();
            let fetches = fetches.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        issued("t1", 3600)
                    })
                    .await
            }));
        }
        for task in tasks {
            let token = task.await.expect("task ran").expect("token");
            assert_eq!(token.value.expose(), "t1");
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn invalidation_renews_once_and_ignores_stale_generations() {
        let cache = TokenCache::default();
        let first = cache
            .get(|| async { issued("t1", 3600) })
            .await
            .expect("t1");
        cache.invalidate(first.generation).await;
        let second = cache
            .get(|| async { issued("t2", 3600) })
            .await
            .expect("t2");
        assert_eq!(second.value.expose(), "t2");
        // A second caller that also saw t1 refused must not throw t2 away.
        cache.invalidate(first.generation).await;
        let still = cache
            .get(|| async { issued("t3", 3600) })
            .await
            .expect("t2");
        assert_eq!(still.value.expose(), "t2");
        assert!(cache.peek().is_some());
    }

    #[tokio::test]
    async fn short_tokens_are_renewed_before_expiry_and_kept_if_renewal_fails() {
        let cache = TokenCache::default();
        // 1 s lifetime: renewed after 0.75 s.
        cache.get(|| async { issued("t1", 1) }).await.expect("t1");
        let same = cache
            .get(|| async { issued("t2", 1) })
            .await
            .expect("cached");
        assert_eq!(same.value.expose(), "t1");
        tokio::time::sleep(Duration::from_millis(800)).await;
        let failed_renewal = cache
            .get(|| async {
                Err(CvadError::Config {
                    site: "S".into(),
                    detail: "down".into(),
                })
            })
            .await
            .expect("old token still valid");
        assert_eq!(failed_renewal.value.expose(), "t1");
        let renewed = cache.get(|| async { issued("t2", 1) }).await.expect("t2");
        assert_eq!(renewed.value.expose(), "t2");
    }

    #[test]
    fn lifetimes_use_the_server_clock() {
        let server_now = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        assert_eq!(
            lifetime_until("2026-01-01T11:00:00Z", Some(server_now)),
            Duration::from_secs(3600)
        );
        assert_eq!(
            lifetime_until("2026-01-01T09:00:00Z", Some(server_now)),
            RENEW_MARGIN
        );
        assert_eq!(
            lifetime_until("tomorrow", Some(server_now)),
            FALLBACK_LIFETIME
        );
    }
}
