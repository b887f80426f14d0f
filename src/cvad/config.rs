//! How to reach one CVAD site: its identity, connector endpoints, credentials, timeouts and
//! retry budget.

use super::error::CvadError;
use crate::lab::{SiteCredentials, SiteInfo};
use crate::model::SiteKind;
use crate::observe::CallObserver;
use crate::secret::Secret;
use std::sync::Arc;
use std::time::Duration;

/// The customer id on-prem sites use (`Citrix-CustomerId`).
pub const ONPREM_CUSTOMER_ID: &str = "CitrixOnPremises";

/// Everything needed to talk to one site.
#[derive(Debug, Clone)]
pub struct CvadConfig {
    /// The site's display name; every error message starts with it.
    pub site_name: String,
    pub kind: SiteKind,
    /// `Citrix-CustomerId`; `CitrixOnPremises` for on-prem sites.
    pub customer_id: String,
    /// `Citrix-InstanceId`: the site id (farm GUID on-prem, virtual site id in the cloud).
    pub site_id: String,
    /// Base URL of each connector (Delivery Controller or API gateway); the API lives under
    /// `{endpoint}/cvad/manage`. Tried in turn when one does not answer.
    pub endpoints: Vec<String>,
    /// Which endpoints serve which zone, when known (the real API does not say); used only to
    /// report connector health per zone.
    pub zones: Vec<ZoneEndpoints>,
    pub auth: CvadAuth,
    /// Time allowed for one HTTP exchange with one endpoint, body included.
    pub request_timeout: Duration,
    /// Time allowed to open a connection; kept short so a dead connector is skipped quickly.
    pub connect_timeout: Duration,
    /// How long an endpoint that failed is skipped before a health probe is tried.
    pub probe_interval: Duration,
    pub retry: RetryPolicy,
    /// Told about every API exchange with a connector (not token requests or health
    /// probes); the adapter counts them for `/metrics`. `None`: nobody is told.
    pub observer: Option<Arc<dyn CallObserver>>,
}

/// The endpoints of one zone, by index into [`CvadConfig::endpoints`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneEndpoints {
    pub zone: String,
    pub endpoints: Vec<usize>,
}

/// How the client authenticates.
#[derive(Debug, Clone)]
pub enum CvadAuth {
    /// HTTP Basic to `POST {endpoint}/citrix/orchestration/api/tokens` on a Delivery Controller.
    OnPrem { username: String, password: Secret },
    /// OAuth2 client credentials at the Citrix Cloud trust service.
    Cloud {
        token_url: String,
        client_id: String,
        client_secret: Secret,
    },
}

/// How hard the client tries before giving up on a call.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after 429, or 503 with a retry delay, per call.
    pub max_throttle_retries: u32,
    /// Upper bound on any single wait the site asks for (its `retryDelay` or `Retry-After`).
    pub max_retry_delay: Duration,
    /// Wait after a 429 that says nothing about how long to wait.
    pub default_retry_delay: Duration,
    /// Full passes over every endpoint before the site is declared unreachable.
    pub failover_rounds: u32,
    /// Pause between two passes (multiplied by the pass number).
    pub round_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_throttle_retries: 5,
            max_retry_delay: Duration::from_secs(30),
            default_retry_delay: Duration::from_secs(1),
            failover_rounds: 2,
            round_backoff: Duration::from_millis(500),
        }
    }
}

impl CvadConfig {
    /// A configuration with the default timeouts and retry budget.
    pub fn new(
        site_name: impl Into<String>,
        kind: SiteKind,
        customer_id: impl Into<String>,
        site_id: impl Into<String>,
        endpoints: Vec<String>,
        auth: CvadAuth,
    ) -> Self {
        CvadConfig {
            site_name: site_name.into(),
            kind,
            customer_id: customer_id.into(),
            site_id: site_id.into(),
            endpoints,
            zones: Vec::new(),
            auth,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            probe_interval: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            observer: None,
        }
    }

    /// The same settings, with `observer` told about every API exchange.
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The configuration for a lab site, as `deskbridge lab --json` describes it. Timeouts are
    /// shorter than for a real site since the lab is on loopback.
    pub fn from_lab(site: &SiteInfo) -> Self {
        let auth = match &site.credentials {
            SiteCredentials::Basic { username, password } => CvadAuth::OnPrem {
                username: username.clone(),
                password: Secret::new(password.clone()),
            },
            SiteCredentials::Client {
                client_id,
                client_secret,
            } => CvadAuth::Cloud {
                token_url: site.token_url.clone(),
                client_id: client_id.clone(),
                client_secret: Secret::new(client_secret.clone()),
            },
        };
        let customer_id = if site.customer_id.is_empty() && site.kind == SiteKind::Onprem {
            ONPREM_CUSTOMER_ID.to_string()
        } else {
            site.customer_id.clone()
        };
        let mut config = CvadConfig::new(
            site.name.clone(),
            site.kind,
            customer_id,
            site.site_id.clone(),
            site.endpoints.clone(),
            auth,
        );
        config.zones = site
            .zones
            .iter()
            .map(|z| ZoneEndpoints {
                zone: z.name.clone(),
                endpoints: z.endpoints.clone(),
            })
            .collect();
        config.request_timeout = Duration::from_secs(10);
        config.connect_timeout = Duration::from_secs(2);
        config.probe_interval = Duration::from_secs(2);
        config
    }

    /// Checks what can be checked without the network.
    pub fn validate(&self) -> Result<(), CvadError> {
        let fail = |detail: String| CvadError::Config {
            site: self.site_name.clone(),
            detail,
        };
        if self.endpoints.is_empty() {
            return Err(fail("no connector endpoints are configured".into()));
        }
        for endpoint in &self.endpoints {
            check_url(endpoint).map_err(|e| fail(format!("endpoint {endpoint:?}: {e}")))?;
        }
        for zone in &self.zones {
            if let Some(bad) = zone.endpoints.iter().find(|&&i| i >= self.endpoints.len()) {
                return Err(fail(format!(
                    "zone {} names endpoint #{bad}, but only {} are configured",
                    zone.zone,
                    self.endpoints.len()
                )));
            }
        }
        if self.site_id.trim().is_empty() {
            return Err(fail(
                "the site id (Citrix-InstanceId) is empty; find it with GET /me".into(),
            ));
        }
        if self.customer_id.trim().is_empty() {
            return Err(fail("the customer id (Citrix-CustomerId) is empty".into()));
        }
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(fail("timeouts must be longer than zero".into()));
        }
        match &self.auth {
            CvadAuth::OnPrem { username, .. } if username.is_empty() => {
                Err(fail("the on-prem user name is empty".into()))
            }
            CvadAuth::Cloud {
                token_url,
                client_id,
                ..
            } => {
                check_url(token_url).map_err(|e| fail(format!("token URL {token_url:?}: {e}")))?;
                if client_id.is_empty() {
                    return Err(fail("the API client id is empty".into()));
                }
                Ok(())
            }
            CvadAuth::OnPrem { .. } => Ok(()),
        }
    }
}

fn check_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {} is not http or https", url.scheme()));
    }
    if url.host_str().is_none() {
        return Err("no host".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onprem() -> CvadConfig {
        CvadConfig::new(
            "London",
            SiteKind::Onprem,
            ONPREM_CUSTOMER_ID,
            "site-1",
            vec!["http://127.0.0.1:1".into()],
            CvadAuth::OnPrem {
                username: "LAB\\admin".into(),
                password: Secret::new("hunter2"),
            },
        )
    }

    #[test]
    fn debug_output_hides_secrets() {
        let text = format!("{:?}", onprem());
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(onprem().validate().is_ok());
        let mut config = onprem();
        config.endpoints.clear();
        let err = config.validate().expect_err("no endpoints");
        assert!(err.to_string().contains("no connector endpoints"), "{err}");
        let mut config = onprem();
        config.endpoints = vec!["ftp://x".into()];
        assert!(config.validate().is_err());
        let mut config = onprem();
        config.zones = vec![ZoneEndpoints {
            zone: "Z".into(),
            endpoints: vec![3],
        }];
        assert!(config.validate().is_err());
    }
}
