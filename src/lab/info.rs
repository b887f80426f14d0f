//! The lab's self-description: URLs and credentials of every simulated service, printed by
//! `deskbridge lab --json` and handed to tests and the embedded adapter.

use crate::model::SiteKind;
use serde::{Deserialize, Serialize};

/// Everything a client needs to reach the lab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabInfo {
    pub servicenow: Vec<ServiceNowInfo>,
    pub sites: Vec<SiteInfo>,
    /// Base URL of the control API (`…/_lab`).
    pub control: String,
}

impl LabInfo {
    pub fn site(&self, name: &str) -> Option<&SiteInfo> {
        self.sites.iter().find(|s| s.name == name)
    }

    pub fn servicenow(&self, name: &str) -> Option<&ServiceNowInfo> {
        self.servicenow.iter().find(|s| s.name == name)
    }
}

/// One simulated ServiceNow instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceNowInfo {
    pub name: String,
    pub url: String,
    pub username: String,
    pub password: String,
    pub client_id: String,
    pub client_secret: String,
}

/// One simulated CVAD site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteInfo {
    pub name: String,
    pub kind: SiteKind,
    pub customer_id: String,
    pub site_id: String,
    /// Base URL of each connector; the API is under `/cvad/manage`.
    pub endpoints: Vec<String>,
    pub token_url: String,
    #[serde(flatten)]
    pub credentials: SiteCredentials,
    /// Which endpoints belong to which zone (an index into `endpoints`).
    pub zones: Vec<ZoneInfo>,
}

/// How a site authenticates: Basic for on-prem controllers, client credentials for the cloud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SiteCredentials {
    Basic {
        username: String,
        password: String,
    },
    Client {
        client_id: String,
        client_secret: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZoneInfo {
    pub name: String,
    pub endpoints: Vec<usize>,
}
