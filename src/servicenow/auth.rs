//! Authentication: Basic, or OAuth 2 bearer tokens from `POST /oauth_token.do`.
//!
//! One token is cached per client and shared by all concurrent calls: the cache sits behind an
//! async mutex, so when it needs renewing the first caller fetches and the others wait for that
//! result instead of each asking for a token. Renewal happens shortly before expiry (the refresh
//! token first, then the original grant) and once after a 401, in case the instance revoked or
//! expired the token earlier than `expires_in` said.

use super::config::{Auth, OAuthGrant};
use super::error::{Error, TransportKind, parse_oauth_error};
use crate::secret::Secret;
use serde::Deserialize;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use url::Url;

/// How many tokens each grant has obtained; lets tests and health pages see renewal at work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthStats {
    pub password_grants: u32,
    pub refresh_grants: u32,
    pub client_credentials_grants: u32,
    /// Refresh attempts the instance refused, each followed by the original grant.
    pub refresh_failures: u32,
}

#[derive(Default)]
struct Counters {
    password: AtomicU32,
    refresh: AtomicU32,
    client_credentials: AtomicU32,
    refresh_failures: AtomicU32,
}

struct Access {
    token: Secret,
    renew_at: Instant,
    /// Identifies this token so a 401 only discards the token that was actually refused.
    generation: u64,
}

#[derive(Default)]
struct Tokens {
    access: Option<Access>,
    refresh: Option<Secret>,
    generation: u64,
}

struct OAuth {
    client_id: String,
    client_secret: Secret,
    grant: OAuthGrant,
    token_url: Url,
    tokens: Mutex<Tokens>,
    counters: Counters,
}

/// The credential a request goes out with.
pub(crate) enum Credential {
    Basic { username: String, password: Secret },
    Bearer { token: Secret, generation: u64 },
}

impl Credential {
    pub(crate) fn apply(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credential::Basic { username, password } => {
                rb.basic_auth(username, Some(password.expose()))
            }
            Credential::Bearer { token, .. } => rb.bearer_auth(token.expose()),
        }
    }

    pub(crate) fn generation(&self) -> Option<u64> {
        match self {
            Credential::Bearer { generation, .. } => Some(*generation),
            Credential::Basic { .. } => None,
        }
    }
}

pub(crate) struct Authenticator {
    instance: String,
    basic: Option<(String, Secret)>,
    oauth: Option<OAuth>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    /// Seconds; some gateways send it as a string.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// Assumed lifetime when the token answer has no `expires_in` (ServiceNow's default).
const DEFAULT_TTL: Duration = Duration::from_secs(1800);

impl Authenticator {
    pub(crate) fn new(instance: &str, base: &Url, auth: &Auth) -> Result<Self, Error> {
        let mut out = Authenticator {
            instance: instance.to_owned(),
            basic: None,
            oauth: None,
        };
        match auth {
            Auth::Basic { username, password } => {
                out.basic = Some((username.clone(), password.clone()));
            }
            Auth::OAuth {
                client_id,
                client_secret,
                grant,
            } => {
                let token_url = base.join("oauth_token.do").map_err(|e| Error::Invalid {
                    instance: instance.to_owned(),
                    message: format!("cannot build the token URL: {e}"),
                })?;
                let refresh = match grant {
                    OAuthGrant::RefreshToken { refresh_token } => Some(refresh_token.clone()),
                    _ => None,
                };
                out.oauth = Some(OAuth {
                    client_id: client_id.clone(),
                    client_secret: client_secret.clone(),
                    grant: grant.clone(),
                    token_url,
                    tokens: Mutex::new(Tokens {
                        refresh,
                        ..Tokens::default()
                    }),
                    counters: Counters::default(),
                });
            }
        }
        Ok(out)
    }

    pub(crate) fn is_oauth(&self) -> bool {
        self.oauth.is_some()
    }

    pub(crate) fn stats(&self) -> AuthStats {
        match &self.oauth {
            None => AuthStats::default(),
            Some(o) => AuthStats {
                password_grants: o.counters.password.load(Ordering::Relaxed),
                refresh_grants: o.counters.refresh.load(Ordering::Relaxed),
                client_credentials_grants: o.counters.client_credentials.load(Ordering::Relaxed),
                refresh_failures: o.counters.refresh_failures.load(Ordering::Relaxed),
            },
        }
    }

    /// The credential for the next request, fetching or renewing a token when needed.
    pub(crate) async fn credential(&self, http: &reqwest::Client) -> Result<Credential, Error> {
        if let Some((username, password)) = &self.basic {
            return Ok(Credential::Basic {
                username: username.clone(),
                password: password.clone(),
            });
        }
        let Some(oauth) = &self.oauth else {
            return Err(Error::Invalid {
                instance: self.instance.clone(),
                message: "no credentials configured".into(),
            });
        };
        let mut tokens = oauth.tokens.lock().await;
        if let Some(access) = &tokens.access
            && Instant::now() < access.renew_at
        {
            return Ok(Credential::Bearer {
                token: access.token.clone(),
                generation: access.generation,
            });
        }
        let response = self.obtain(http, oauth, &mut tokens).await?;
        let ttl = ttl_of(&response);
        let token = Secret::new(response.access_token.unwrap_or_default());
        if let Some(refresh) = response.refresh_token.filter(|r| !r.is_empty()) {
            tokens.refresh = Some(Secret::new(refresh));
        }
        tokens.generation += 1;
        // Renew a fifth of the lifetime early (at most a minute) so no request races expiry.
        let margin = (ttl / 5).min(Duration::from_secs(60));
        tokens.access = Some(Access {
            token: token.clone(),
            renew_at: Instant::now() + ttl.saturating_sub(margin),
            generation: tokens.generation,
        });
        Ok(Credential::Bearer {
            token,
            generation: tokens.generation,
        })
    }

    /// Forgets the token of `generation` after the instance refused it with a 401, unless a
    /// concurrent call has already replaced it.
    pub(crate) async fn invalidate(&self, generation: Option<u64>) {
        let (Some(oauth), Some(generation)) = (&self.oauth, generation) else {
            return;
        };
        let mut tokens = oauth.tokens.lock().await;
        if tokens
            .access
            .as_ref()
            .is_some_and(|a| a.generation == generation)
        {
            tokens.access = None;
        }
    }

    /// Runs the refresh grant when a refresh token is held, falling back to the original grant.
    async fn obtain(
        &self,
        http: &reqwest::Client,
        oauth: &OAuth,
        tokens: &mut Tokens,
    ) -> Result<TokenResponse, Error> {
        if let Some(refresh) = tokens.refresh.clone() {
            let form = [
                ("grant_type", "refresh_token"),
                ("client_id", oauth.client_id.as_str()),
                ("client_secret", oauth.client_secret.expose()),
                ("refresh_token", refresh.expose()),
            ];
            match self.request(http, oauth, "refresh_token", &form).await {
                Ok(r) => {
                    oauth.counters.refresh.fetch_add(1, Ordering::Relaxed);
                    return Ok(r);
                }
                Err(e) if e.is_retryable() => return Err(e),
                Err(e) => {
                    oauth
                        .counters
                        .refresh_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tokens.refresh = None;
                    if matches!(oauth.grant, OAuthGrant::RefreshToken { .. }) {
                        return Err(e);
                    }
                    tracing::info!(instance = %self.instance, error = %e,
                        "refresh token refused; repeating the original grant");
                }
            }
        }
        let response = match &oauth.grant {
            OAuthGrant::Password { username, password } => {
                let form = [
                    ("grant_type", "password"),
                    ("client_id", oauth.client_id.as_str()),
                    ("client_secret", oauth.client_secret.expose()),
                    ("username", username.as_str()),
                    ("password", password.expose()),
                ];
                let r = self.request(http, oauth, "password", &form).await?;
                oauth.counters.password.fetch_add(1, Ordering::Relaxed);
                r
            }
            OAuthGrant::ClientCredentials => {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", oauth.client_id.as_str()),
                    ("client_secret", oauth.client_secret.expose()),
                ];
                let r = self
                    .request(http, oauth, "client_credentials", &form)
                    .await?;
                oauth
                    .counters
                    .client_credentials
                    .fetch_add(1, Ordering::Relaxed);
                r
            }
            OAuthGrant::RefreshToken { .. } => {
                return Err(Error::Auth {
                    instance: self.instance.clone(),
                    grant: "refresh_token",
                    status: None,
                    message: "the configured refresh token was refused or expired; \
                              register the client again"
                        .into(),
                });
            }
        };
        Ok(response)
    }

    /// One form-encoded token request (ServiceNow rejects JSON bodies on this endpoint).
    async fn request(
        &self,
        http: &reqwest::Client,
        oauth: &OAuth,
        grant: &'static str,
        form: &[(&str, &str)],
    ) -> Result<TokenResponse, Error> {
        let auth_err = |status: Option<u16>, message: String| Error::Auth {
            instance: self.instance.clone(),
            grant,
            status,
            message,
        };
        let sent = http
            .post(oauth.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                // Reported as a transport failure so the caller's retry loop treats it alike.
                let kind = if e.is_timeout() {
                    TransportKind::Timeout
                } else if e.is_connect() {
                    TransportKind::Connect
                } else {
                    TransportKind::Other
                };
                return Err(Error::Transport {
                    instance: self.instance.clone(),
                    method: "POST".into(),
                    target: "oauth_token.do".into(),
                    kind,
                    message: super::transport::error_text(&e),
                });
            }
        };
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(auth_err(Some(status), parse_oauth_error(status, &body)));
        }
        let parsed: TokenResponse = serde_json::from_str(&body).map_err(|e| {
            // serde's message could quote a token, so only its position is reported.
            auth_err(
                Some(status),
                format!(
                    "unreadable token answer (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        if parsed.access_token.as_deref().is_none_or(str::is_empty) {
            return Err(auth_err(
                Some(status),
                "the token answer has no access_token".into(),
            ));
        }
        Ok(parsed)
    }
}

fn ttl_of(response: &TokenResponse) -> Duration {
    let secs = match &response.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    match secs {
        Some(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s.min(1.0e7)),
        _ => DEFAULT_TTL,
    }
}
