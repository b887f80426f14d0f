//! Sites, their zones (resource locations) and the connector endpoints a site is reached through.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a site's Delivery Controllers live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteKind {
    /// An on-premises farm reached through its Delivery Controllers.
    Onprem,
    /// A Citrix DaaS instance reached through the cloud API.
    Cloud,
}

impl fmt::Display for SiteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SiteKind::Onprem => "onprem",
            SiteKind::Cloud => "cloud",
        })
    }
}

/// One CVAD site (on-prem farm or DaaS instance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub kind: SiteKind,
    pub customer_id: String,
    pub zones: Vec<Zone>,
}

/// A zone (resource location) of a site, with the connectors that serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    pub id: String,
    pub name: String,
    pub is_primary: bool,
    pub is_healthy: bool,
    pub connectors: Vec<Connector>,
}

/// One endpoint through which a site's API is reached (a Delivery Controller or Cloud Connector).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connector {
    pub name: String,
    pub url: String,
    pub health: ConnectorHealth,
}

/// What the client last learned about a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorHealth {
    Up,
    Down,
    Unknown,
}
