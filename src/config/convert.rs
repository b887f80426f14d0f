//! Conversions from the adapter config to the CVAD and ServiceNow clients' settings and to
//! the store's API client records.

use super::types::{ApiClientConfig, ServiceNowInstanceConfig, SiteConfig};
use crate::adapter::store::clients::NewApiClient;
use crate::cvad::CvadConfig;
use crate::servicenow::ServiceNowConfig;

impl SiteConfig {
    /// The CVAD client settings for this site: the client's defaults for retries and
    /// failover, with this site's request timeout.
    pub fn to_cvad_config(&self) -> CvadConfig {
        let mut config = CvadConfig::new(
            self.name.clone(),
            self.kind,
            self.customer_id.clone(),
            self.site_id.clone(),
            self.endpoints.clone(),
            self.auth.clone(),
        );
        config.request_timeout = self.request_timeout;
        config.zones = self
            .zones
            .iter()
            .map(|z| crate::cvad::ZoneEndpoints {
                zone: z.name.clone(),
                endpoints: z.endpoints.clone(),
            })
            .collect();
        // A connect that outlasts the whole request could never succeed in time.
        config.connect_timeout = config.connect_timeout.min(self.request_timeout);
        config
    }
}

impl From<&SiteConfig> for CvadConfig {
    fn from(site: &SiteConfig) -> Self {
        site.to_cvad_config()
    }
}

impl ServiceNowInstanceConfig {
    /// The ServiceNow client settings for this instance: the client's defaults for paging and
    /// retries, with this instance's timeout.
    pub fn to_servicenow_config(&self) -> ServiceNowConfig {
        let mut config =
            ServiceNowConfig::new(self.name.clone(), self.url.clone(), self.auth.clone());
        config.timeout = self.request_timeout;
        config
    }
}

impl From<&ServiceNowInstanceConfig> for ServiceNowConfig {
    fn from(instance: &ServiceNowInstanceConfig) -> Self {
        instance.to_servicenow_config()
    }
}

impl ApiClientConfig {
    /// The store record for this configured client, with its stable id. The store hashes the
    /// secret (argon2id) before it is written; this is the one place it leaves its `Secret`.
    pub fn to_new_api_client(&self) -> NewApiClient {
        NewApiClient {
            id: Some(self.id),
            name: self.name.clone(),
            role: self.role,
            secret: self.secret.expose().to_string(),
            enabled: self.enabled,
        }
    }
}

impl SiteConfig {
    /// The site as the lab describes it, with the defaults an operator would get from a
    /// config file: what `serve --lab` and the tests run against.
    pub fn from_lab(site: &crate::lab::SiteInfo) -> SiteConfig {
        use crate::lab::SiteCredentials;
        SiteConfig {
            name: site.name.clone(),
            kind: site.kind,
            endpoints: site.endpoints.clone(),
            customer_id: site.customer_id.clone(),
            site_id: site.site_id.clone(),
            auth: match &site.credentials {
                SiteCredentials::Basic { username, password } => crate::cvad::CvadAuth::OnPrem {
                    username: username.clone(),
                    password: crate::secret::Secret::new(password.clone()),
                },
                SiteCredentials::Client {
                    client_id,
                    client_secret,
                } => crate::cvad::CvadAuth::Cloud {
                    token_url: site.token_url.clone(),
                    client_id: client_id.clone(),
                    client_secret: crate::secret::Secret::new(client_secret.clone()),
                },
            },
            enabled: true,
            concurrency: super::DEFAULT_CONCURRENCY,
            rate_limit: None,
            request_timeout: super::DEFAULT_SITE_TIMEOUT,
            zones: site
                .zones
                .iter()
                .map(|z| super::SiteZone {
                    name: z.name.clone(),
                    endpoints: z.endpoints.clone(),
                })
                .collect(),
        }
    }
}
