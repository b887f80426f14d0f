//! How to reach one ServiceNow instance: URL, credentials, timeouts and retry budget.

use crate::lab::ServiceNowInfo;
use crate::observe::CallObserver;
use crate::secret::Secret;
use std::sync::Arc;
use std::time::Duration;

/// Connection settings for one instance. `Debug` never shows a password or client secret.
#[derive(Debug, Clone)]
pub struct ServiceNowConfig {
    /// A short name used in error messages and logs ("lab", "prod").
    pub name: String,
    /// Base URL of the instance, e.g. `https://acme.service-now.com`.
    pub url: String,
    pub auth: Auth,
    /// Limit for one HTTP exchange; the Table API cancels transactions after 60 s anyway.
    pub timeout: Duration,
    /// Rows per page when listing.
    pub page_size: u32,
    pub retry: RetryPolicy,
    /// Told about every Table API exchange (not OAuth token requests); the adapter counts
    /// them for `/metrics`. `None`: nobody is told.
    pub observer: Option<Arc<dyn CallObserver>>,
}

impl ServiceNowConfig {
    /// Settings with the defaults for everything but the instance and credentials.
    pub fn new(name: impl Into<String>, url: impl Into<String>, auth: Auth) -> Self {
        ServiceNowConfig {
            name: name.into(),
            url: url.into(),
            auth,
            timeout: Duration::from_secs(60),
            page_size: 1000,
            retry: RetryPolicy::default(),
            observer: None,
        }
    }

    /// The same settings, with `observer` told about every exchange: for a config built
    /// elsewhere (`to_servicenow_config`) that the adapter's metrics should see.
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Settings for a lab instance, with the chosen way of logging in.
    pub fn from_lab(info: &ServiceNowInfo, mode: AuthMode) -> Self {
        let password = || Secret::new(info.password.clone());
        let oauth = |grant| Auth::OAuth {
            client_id: info.client_id.clone(),
            client_secret: Secret::new(info.client_secret.clone()),
            grant,
        };
        let auth = match mode {
            AuthMode::Basic => Auth::Basic {
                username: info.username.clone(),
                password: password(),
            },
            AuthMode::OAuthPassword => oauth(OAuthGrant::Password {
                username: info.username.clone(),
                password: password(),
            }),
            AuthMode::OAuthClientCredentials => oauth(OAuthGrant::ClientCredentials),
        };
        let mut config = ServiceNowConfig::new(info.name.clone(), info.url.clone(), auth);
        // The lab is on loopback: fail fast, and keep retry pauses short so tests stay quick.
        config.timeout = Duration::from_secs(15);
        config.retry = RetryPolicy {
            base_backoff: Duration::from_millis(50),
            ..RetryPolicy::default()
        };
        config
    }
}

/// Which login [`ServiceNowConfig::from_lab`] sets up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Basic,
    OAuthPassword,
    OAuthClientCredentials,
}

/// How requests authenticate.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `Authorization: Basic …` on every request.
    Basic { username: String, password: Secret },
    /// Bearer tokens from `POST /oauth_token.do`.
    OAuth {
        client_id: String,
        client_secret: Secret,
        grant: OAuthGrant,
    },
}

/// The grant that obtains the first token (and the fallback when a refresh fails).
#[derive(Debug, Clone)]
pub enum OAuthGrant {
    /// Resource-owner password: returns a refresh token, which is used for later renewals.
    Password { username: String, password: Secret },
    /// Service accounts: no refresh token; each renewal repeats the grant.
    ClientCredentials,
    /// A refresh token issued elsewhere (for example by a registration step).
    RefreshToken { refresh_token: Secret },
}

/// Bounds on retrying retryable failures (429, 5xx, timeouts, connection errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included.
    pub max_attempts: u32,
    /// First pause before retrying a 5xx or a connection failure; doubles each time.
    pub base_backoff: Duration,
    /// Longest pause between attempts for backoff.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured on a 429; longer requests fail instead of stalling a job.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Never retry: one attempt.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Pause before attempt `attempt + 1` (attempt counts from 1) for exponential backoff,
    /// with up to 25 % jitter so that many clients do not retry in step.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exp.min(self.max_backoff);
        let jitter = rand::random::<f64>() * 0.25;
        capped.mul_f64(1.0 + jitter).min(self.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_passwords_and_client_secrets() {
        let info = ServiceNowInfo {
            name: "lab".into(),
            url: "http://127.0.0.1:1".into(),
            username: "svc".into(),
            password: "pw-hunter2".into(),
            client_id: "cid".into(),
            client_secret: "cs-hunter2".into(),
        };
        for mode in [
            AuthMode::Basic,
            AuthMode::OAuthPassword,
            AuthMode::OAuthClientCredentials,
        ] {
            let text = format!("{:?}", ServiceNowConfig::from_lab(&info, mode));
            assert!(!text.contains("hunter2"), "{text}");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            ..RetryPolicy::default()
        };
        assert!(p.backoff(1) >= Duration::from_millis(100));
        assert!(p.backoff(1) <= Duration::from_millis(125));
        assert!(p.backoff(2) >= Duration::from_millis(200));
        assert_eq!(p.backoff(30), Duration::from_millis(300));
    }
}
