//! A runbook file exactly as written: serde types with spans, for errors at the right line.
//! Keys a valid file must have are still `Option` here, so the checking pass reports every
//! missing one with its step instead of serde stopping at the first.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRunbook {
    pub name: Option<Spanned<String>>,
    pub title: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub role: Option<Spanned<String>>,
    #[serde(default)]
    pub params: Vec<Spanned<RawParam>>,
    #[serde(default)]
    pub steps: Vec<Spanned<RawStep>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawParam {
    pub name: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub required: Option<Spanned<bool>>,
    pub default: Option<Spanned<toml::Value>>,
    pub description: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub name: Option<Spanned<String>>,
    pub title: Option<Spanned<String>>,
    pub action: Option<Spanned<String>>,
    pub params: Option<Spanned<toml::Table>>,
    pub select: Option<Spanned<RawSelect>>,
    pub when: Option<Spanned<String>>,
    pub on_failure: Option<Spanned<String>>,
    pub wait: Option<Spanned<String>>,
}

/// Exactly one of the three (checked after reading).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSelect {
    pub sessions: Option<Spanned<RawSessions>>,
    pub machines: Option<Spanned<RawMachines>>,
    pub users: Option<Spanned<RawUsers>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSessions {
    pub site: Option<Spanned<String>>,
    pub delivery_group: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub state: Option<Spanned<String>>,
    pub older_than: Option<Spanned<String>>,
    pub machine: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMachines {
    pub site: Option<Spanned<String>>,
    pub delivery_group: Option<Spanned<String>>,
    pub power_state: Option<Spanned<String>>,
    pub registration_state: Option<Spanned<String>>,
    /// `true`/`false`, or `"{{param}}"`.
    pub in_maintenance: Option<Spanned<toml::Value>>,
    pub with_sessions: Option<Spanned<toml::Value>>,
    pub name_prefix: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUsers {
    pub site: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
}
