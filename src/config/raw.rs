//! The TOML schema of `adapter.toml` as serde types, exactly as written in the file: every
//! value keeps its span for error messages, and nothing is checked beyond TOML types.
//!
//! Keys that a valid file must have are still `Option` here, so that the checking pass can
//! report every missing key at once instead of serde stopping at the first. New sections
//! (routing, runbooks) are added as new optional fields; `deny_unknown_fields`
//! keeps typos from being ignored.

use super::secret_ref::SecretSpec;
use super::types::Role;
use crate::model::SiteKind;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub listen: Option<Spanned<String>>,
    pub data_dir: Option<Spanned<String>>,
    pub store: Option<Spanned<String>>,
    /// The PostgreSQL password, by reference (never in the `store` URL).
    pub store_password: Option<Spanned<SecretSpec>>,
    pub token_ttl: Option<Spanned<String>>,
    pub engine: Option<Spanned<RawEngine>>,
    #[serde(default)]
    pub sites: Vec<Spanned<RawSite>>,
    #[serde(default)]
    pub servicenow: Vec<Spanned<RawInstance>>,
    #[serde(default)]
    pub clients: Vec<Spanned<RawClient>>,
    #[serde(default)]
    pub directories: Vec<Spanned<RawDirectory>>,
    pub password_policy: Option<Spanned<RawTable>>,
    pub verification: Option<Spanned<RawTable>>,
    pub routing: Option<Spanned<RawRouting>>,
    #[serde(default)]
    pub idle_power_off: Vec<Spanned<RawIdlePowerOff>>,
    /// The runbooks folder (`crate::adapter::runbooks`); default `runbooks` beside the file.
    pub runbooks_dir: Option<Spanned<String>>,
    pub offboarding: Option<Spanned<RawOffboarding>>,
}

/// `[offboarding]`: what a separation does with the machines dedicated to the person.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOffboarding {
    pub machines: Option<Spanned<String>>,
}

/// `[engine]`: how the job engine runs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEngine {
    pub lease: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSite {
    pub name: Option<Spanned<String>>,
    pub kind: Option<Spanned<SiteKind>>,
    pub endpoints: Option<Spanned<Vec<Spanned<String>>>>,
    pub customer_id: Option<Spanned<String>>,
    pub site_id: Option<Spanned<String>>,
    pub token_url: Option<Spanned<String>>,
    pub credentials: Option<Spanned<RawSiteCredentials>>,
    pub enabled: Option<bool>,
    pub concurrency: Option<Spanned<i64>>,
    pub rate_limit: Option<Spanned<f64>>,
    pub request_timeout: Option<Spanned<String>>,
    pub zones: Option<Vec<Spanned<RawZone>>>,
}

/// `[[sites.zones]]`: which of the site's endpoints serve a zone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawZone {
    pub name: Option<Spanned<String>>,
    pub endpoints: Option<Spanned<Vec<Spanned<String>>>>,
}

/// On-prem sites use `username` + `password`; cloud sites `client_id` + `client_secret`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSiteCredentials {
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<SecretSpec>>,
    pub client_id: Option<Spanned<String>>,
    pub client_secret: Option<Spanned<SecretSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInstance {
    pub name: Option<Spanned<String>>,
    pub url: Option<Spanned<String>>,
    pub auth: Option<Spanned<RawServiceNowAuth>>,
    pub poll_interval: Option<Spanned<String>>,
    pub request_timeout: Option<Spanned<String>>,
    pub resolve_close_code: Option<Spanned<String>>,
    pub failure_assignment_group: Option<Spanned<String>>,
    #[serde(default)]
    pub auto_fulfil: Vec<Spanned<String>>,
    #[serde(default)]
    pub queues: Vec<Spanned<RawQueue>>,
    /// `[servicenow.runbooks]`: catalog item name → runbook name, or `{ runbook, variables }`;
    /// read key by key (`super::runbook_items`).
    pub runbooks: Option<Spanned<RawTable>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum AuthMethod {
    Basic,
    OauthPassword,
    OauthClientCredentials,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServiceNowAuth {
    pub method: Option<Spanned<AuthMethod>>,
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<SecretSpec>>,
    pub client_id: Option<Spanned<String>>,
    pub client_secret: Option<Spanned<SecretSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQueue {
    pub name: Option<Spanned<String>>,
    #[serde(default)]
    pub tables: Vec<Spanned<String>>,
    #[serde(default)]
    pub assignment_groups: Vec<Spanned<String>>,
    #[serde(default)]
    pub catalog_items: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    pub name: Option<Spanned<String>>,
    pub id: Option<Spanned<String>>,
    pub role: Option<Spanned<Role>>,
    pub secret: Option<Spanned<SecretSpec>>,
    pub enabled: Option<bool>,
}

/// A table read key by key with the spans of both, for sections whose schema is another
/// module's serde type (`[password_policy]`, `[verification]`): the checking pass feeds each
/// key to that type alone, so every bad key is reported at its own line.
pub(super) type RawTable = std::collections::BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// `[[directories]] kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum DirectoryKind {
    Ldap,
    CvadIdentity,
}

/// `[[directories]]`: one domain's accounts, over LDAP or a CVAD site's Identity API.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDirectory {
    pub domain: Option<Spanned<String>>,
    pub kind: Option<Spanned<DirectoryKind>>,
    pub url: Option<Spanned<String>>,
    pub starttls: Option<Spanned<bool>>,
    pub bind: Option<Spanned<String>>,
    pub password: Option<Spanned<SecretSpec>>,
    pub base_dn: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
    pub tls_verify: Option<Spanned<bool>>,
    pub timeout: Option<Spanned<String>>,
    pub users_ou: Option<Spanned<String>>,
    pub site: Option<Spanned<String>>,
}

/// `[routing]`: `[[routing.rules]]` in order, and `[routing.default]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouting {
    #[serde(default)]
    pub rules: Vec<Spanned<RawRule>>,
    pub default: Option<Spanned<RawRouteTarget>>,
}

/// `[[routing.rules]]`: a name, what it matches, and where matching users go. `match` is read
/// key by key so that every unknown or bad key is reported at its own line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub name: Option<Spanned<String>>,
    #[serde(rename = "match")]
    pub matches: Option<Spanned<RawTable>>,
    pub site: Option<Spanned<String>>,
    pub pooled_desktop: Option<Spanned<RawPooledDesktop>>,
    pub persistent_desktop: Option<Spanned<RawPersistentDesktop>>,
    #[serde(default)]
    pub apps: Vec<Spanned<String>>,
    #[serde(default)]
    pub groups: Vec<Spanned<String>>,
}

/// `[routing.default]`: a rule's destination without its name and match.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouteTarget {
    pub site: Option<Spanned<String>>,
    pub pooled_desktop: Option<Spanned<RawPooledDesktop>>,
    pub persistent_desktop: Option<Spanned<RawPersistentDesktop>>,
    #[serde(default)]
    pub apps: Vec<Spanned<String>>,
    #[serde(default)]
    pub groups: Vec<Spanned<String>>,
}

/// `pooled_desktop = { delivery_group = "…" }` or `{ access_group = "…" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPooledDesktop {
    pub delivery_group: Option<Spanned<String>>,
    pub access_group: Option<Spanned<String>>,
}

/// `persistent_desktop = { delivery_group = "…", catalog = "…", naming = "VDI-####" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPersistentDesktop {
    pub delivery_group: Option<Spanned<String>>,
    pub catalog: Option<Spanned<String>>,
    pub naming: Option<Spanned<String>>,
}

/// `[[idle_power_off]]`: a schedule that powers off idle machines of delivery groups.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIdlePowerOff {
    pub delivery_groups: Option<Spanned<Vec<Spanned<String>>>>,
    pub site: Option<Spanned<String>>,
    pub idle_minutes: Option<Spanned<i64>>,
    pub every: Option<Spanned<String>>,
    pub include_unregistered: Option<bool>,
}
