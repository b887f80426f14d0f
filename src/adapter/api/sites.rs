//! `POST /api/v1/sites/{name}/enable|disable`: the operator's switch for each configured site
//! (the sites list, with inventory, is in `inventory.rs`). A switch is stored, so it outlives
//! a restart and holds for every replica; until a site is switched, the config's `enabled`
//! applies.

use axum::extract::State;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::body::{ApiPath, OptionalJson};
use super::error::ApiError;
use super::guard::Caller;
use crate::adapter::store::SiteFlag;
use crate::config::SiteConfig;
use crate::model::SiteKind;

/// One site as configured and switched; the sites list adds its inventory state to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SiteView {
    pub name: String,
    pub kind: SiteKind,
    /// Whether the adapter acts on the site now.
    pub enabled: bool,
    /// The `enabled` key of the config, which applies until an operator switches the site.
    pub enabled_in_config: bool,
    /// Connector base URLs.
    pub endpoints: Vec<String>,
    pub customer_id: String,
    pub site_id: String,
    /// Who switched the site through the API last, and when; absent if nobody has.
    pub changed_by: Option<String>,
    pub changed_at: Option<DateTime<Utc>>,
}

/// Optional body of enable/disable.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwitchBody {
    /// Why, recorded in the audit log.
    pub reason: Option<String>,
}

/// The site as configured and switched; `api::inventory` adds its inventory state for the
/// sites list.
pub(crate) fn view(site: &SiteConfig, flag: Option<&SiteFlag>) -> SiteView {
    SiteView {
        name: site.name.clone(),
        kind: site.kind,
        enabled: flag.map_or(site.enabled, |f| f.enabled),
        enabled_in_config: site.enabled,
        endpoints: site.endpoints.clone(),
        customer_id: site.customer_id.clone(),
        site_id: site.site_id.clone(),
        changed_by: flag.map(|f| f.changed_by.clone()),
        changed_at: flag.map(|f| f.updated_at),
    }
}

async fn switch(
    state: AppState,
    caller: Caller,
    name: String,
    body: Option<SwitchBody>,
    enabled: bool,
) -> Result<(Extension<super::error::AuditNote>, Json<SiteView>), ApiError> {
    let site = state
        .config
        .sites
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = state.config.sites.iter().map(|s| s.name.as_str()).collect();
            ApiError::not_found(format!(
                "no site named {name:?}; the configured sites are: {}",
                known.join(", ")
            ))
        })?;
    let flag = state
        .store
        .set_site_enabled(&site.name, enabled, &caller.name)
        .await
        .map_err(ApiError::store)?;
    let message = body
        .and_then(|b| b.reason)
        .filter(|r| !r.trim().is_empty())
        .map(|r| format!("reason: {r}"));
    Ok((
        Extension(super::error::AuditNote {
            message,
            targets: None,
        }),
        Json(view(site, Some(&flag))),
    ))
}

pub async fn enable(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(name): ApiPath<String>,
    OptionalJson(body): OptionalJson<SwitchBody>,
) -> Result<(Extension<super::error::AuditNote>, Json<SiteView>), ApiError> {
    switch(state, caller, name, body, true).await
}

pub async fn disable(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(name): ApiPath<String>,
    OptionalJson(body): OptionalJson<SwitchBody>,
) -> Result<(Extension<super::error::AuditNote>, Json<SiteView>), ApiError> {
    switch(state, caller, name, body, false).await
}
