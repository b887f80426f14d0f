//! [`CvadClient`]: one site's client, cheap to clone and shared by every caller of that site
//! (one HTTP connection pool, one token, one view of connector health).

use super::auth::{self, TokenCache};
use super::config::CvadConfig;
use super::endpoints::Endpoints;
use super::error::{CvadError, decode_error_body, truncate};
use super::path;
use super::transport::{ApiRequest, ApiResponse};
use crate::model::ConnectorHealth;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// A client for one CVAD site.
#[derive(Clone)]
pub struct CvadClient {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for CvadClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CvadClient")
            .field("site", &self.inner.config.site_name)
            .field("endpoints", &self.inner.endpoints.snapshot())
            .finish_non_exhaustive()
    }
}

/// What the client shares between clones.
#[derive(Debug)]
pub(crate) struct Inner {
    pub config: CvadConfig,
    pub http: reqwest::Client,
    pub endpoints: Endpoints,
    pub tokens: TokenCache,
}

/// One endpoint's health as [`CvadClient::endpoint_details`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStatus {
    pub url: String,
    pub health: ConnectorHealth,
    /// Why it was last marked down; `None` while it answers.
    pub last_error: Option<String>,
}

/// An asynchronous job the site accepted (`202` with `Location`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    pub id: String,
    /// The `Location` the site answered with.
    pub location: String,
}

impl CvadClient {
    /// Checks the configuration and builds the client; nothing is sent until the first call.
    pub fn new(config: CvadConfig) -> Result<Self, CvadError> {
        config.validate()?;
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // Locations (jobs, 303 to results) are read by the client itself; following them
            // blindly would turn a POST into a GET.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("deskbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CvadError::Config {
                site: config.site_name.clone(),
                detail: format!("cannot build the HTTP client: {e}"),
            })?;
        let endpoints = Endpoints::new(&config.endpoints, config.probe_interval);
        Ok(CvadClient {
            inner: Arc::new(Inner {
                config,
                http,
                endpoints,
                tokens: TokenCache::default(),
            }),
        })
    }

    pub fn config(&self) -> &CvadConfig {
        &self.inner.config
    }

    pub fn site_name(&self) -> &str {
        &self.inner.config.site_name
    }

    /// What the client last learned about each connector endpoint, in configuration order.
    /// Endpoints not contacted yet are `Unknown`.
    pub fn endpoint_health(&self) -> Vec<(String, ConnectorHealth)> {
        self.inner.endpoints.snapshot()
    }

    /// Each endpoint with its health and, when down, why it was marked down.
    pub fn endpoint_details(&self) -> Vec<EndpointStatus> {
        self.inner
            .endpoints
            .snapshot()
            .into_iter()
            .enumerate()
            .map(|(i, (url, health))| EndpointStatus {
                url,
                health,
                last_error: self.inner.endpoints.last_error(i),
            })
            .collect()
    }

    /// Probes every endpoint now and returns the fresh health (for a "test connection" button
    /// or the adapter's periodic check).
    pub async fn check_endpoints(&self) -> Vec<(String, ConnectorHealth)> {
        let probes = (0..self.inner.endpoints.len()).map(|i| {
            let inner = Arc::clone(&self.inner);
            async move {
                let result = inner.probe(i).await;
                match result {
                    Ok(()) => inner.endpoints.mark_up(i),
                    Err(reason) => inner.endpoints.mark_down(i, reason),
                }
            }
        });
        futures::future::join_all(probes).await;
        self.endpoint_health()
    }

    /// Fetches a token now if none is cached, proving the credentials work.
    pub async fn authenticate(&self) -> Result<(), CvadError> {
        let inner = &self.inner;
        inner
            .tokens
            .get(|| auth::fetch_token(&inner.http, &inner.config, &inner.endpoints))
            .await
            .map(|_| ())
    }

    /// Sends a call and turns any non-success answer into an error.
    pub(crate) async fn call(&self, request: ApiRequest) -> Result<ApiResponse, CvadError> {
        let response = self.inner.execute(&request).await?;
        let raw = &response.raw;
        if raw.is_success() {
            return Ok(response);
        }
        if raw.status == 401 {
            let decoded = decode_error_body(raw.status, &raw.body);
            return Err(CvadError::Auth {
                site: self.site_name().to_string(),
                endpoint: request.describe(),
                detail: format!("{} (401, even with a freshly issued token)", decoded.detail),
                hint: "check that the account is an administrator of this site",
            });
        }
        Err(super::classify::api_error(
            &self.inner.config,
            raw,
            &response.transaction_id,
        ))
    }

    /// Decodes a JSON answer.
    pub(crate) fn decode<W: DeserializeOwned>(
        &self,
        what: &str,
        response: &ApiResponse,
    ) -> Result<W, CvadError> {
        serde_json::from_slice(&response.raw.body).map_err(|e| CvadError::Decode {
            site: self.site_name().to_string(),
            what: what.to_string(),
            detail: format!(
                "{e}; the answer began with {:?}",
                truncate(&String::from_utf8_lossy(&response.raw.body), 120)
            ),
        })
    }

    /// `GET` and decode.
    pub(crate) async fn get_json<W: DeserializeOwned>(
        &self,
        segments: &[&str],
    ) -> Result<W, CvadError> {
        let request = ApiRequest::new(reqwest::Method::GET, segments);
        let what = request.describe();
        let response = self.call(request).await?;
        self.decode(&what, &response)
    }

    /// Attaches a JSON body to a request.
    pub(crate) fn with_body<B: Serialize>(
        &self,
        mut request: ApiRequest,
        body: &B,
    ) -> Result<ApiRequest, CvadError> {
        let bytes = serde_json::to_vec(body).map_err(|e| CvadError::Config {
            site: self.site_name().to_string(),
            detail: format!("cannot encode the body of {}: {e}", request.describe()),
        })?;
        request.body = Some(bytes);
        Ok(request)
    }

    /// Sends a request with `async=true` and returns the job the site started.
    pub(crate) async fn start_job(&self, request: ApiRequest) -> Result<JobRef, CvadError> {
        let request = request.query("async", "true");
        let what = request.describe();
        let response = self.call(request).await?;
        let location = response.raw.header("location").unwrap_or_default();
        match path::job_id_from_location(location) {
            Some(id) => Ok(JobRef {
                id,
                location: location.to_string(),
            }),
            None => Err(CvadError::Decode {
                site: self.site_name().to_string(),
                what,
                detail: format!(
                    "expected 202 Accepted with a job Location, got {} with Location {location:?}",
                    response.raw.status
                ),
            }),
        }
    }
}
