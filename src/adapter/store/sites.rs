//! Site enabled flags set through the API (`POST /api/v1/sites/{name}/enable|disable`).
//!
//! The config's `enabled` key is the default; a flag stored here overrides it, so an
//! operator's decision survives a restart and is shared by every replica on the database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// The stored override for one site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteFlag {
    pub name: String,
    pub enabled: bool,
    /// Name of the API client that set it last.
    pub changed_by: String,
    pub updated_at: DateTime<Utc>,
}

#[async_trait]
pub trait SiteStore: Send + Sync {
    /// Every stored override, ordered by site name.
    async fn site_flags(&self) -> Result<Vec<SiteFlag>, StoreError>;
    /// Sets (creates or replaces) the override for `name`; returns what is now stored.
    async fn set_site_enabled(
        &self,
        name: &str,
        enabled: bool,
        changed_by: &str,
    ) -> Result<SiteFlag, StoreError>;
}
