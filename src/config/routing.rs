//! Routing rules (`[[routing.rules]]`, `[routing.default]` in adapter.toml): which site, desktops
//! and applications a user is given, decided by the user's location, department, domain, OU or
//! groups. The first rule that matches wins; the default takes everyone else.
//!
//! Only the checked shape lives here; matching a user is [`crate::adapter::routing`]'s job, and
//! the checks (a rule must point at a configured, enabled site) are in `routing_check`.

use serde::{Deserialize, Serialize};

/// The name explanations give the `[routing.default]` route; no rule may take it.
pub const DEFAULT_RULE: &str = "default";

/// Every routing rule, in file order, and the default route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoutingConfig {
    /// Checked in order; the first whose every condition holds wins.
    pub rules: Vec<RoutingRule>,
    /// Where a user no rule matches goes; `None`: such a user has no route.
    pub default: Option<RouteTarget>,
}

impl RoutingConfig {
    /// True when nothing is configured: no rule and no default.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.default.is_none()
    }
}

/// One `[[routing.rules]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoutingRule {
    /// Unique (ignoring case); names the rule in explanations, audit and the console.
    pub name: String,
    #[serde(rename = "match")]
    pub matches: RuleMatch,
    #[serde(flatten)]
    pub target: RouteTarget,
}

/// What a rule asks of a user: every condition given must hold. Values compare ignoring case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleMatch {
    /// The user's office city (AD `l`, else `physicalDeliveryOfficeName`; Identity `City`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// AD `department`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// NetBIOS domain (`LAB`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// A DN: the user's OU is this one or below it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ou: Option<String>,
    /// A group the user is a direct member of, by common name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl RuleMatch {
    /// The match keys a rule accepts, in the order explanations list them.
    pub const KEYS: [&'static str; 5] = ["location", "department", "domain", "ou", "group"];

    /// The conditions given, as (key, wanted value), in [`RuleMatch::KEYS`] order.
    pub fn conditions(&self) -> Vec<(&'static str, &str)> {
        [
            ("location", &self.location),
            ("department", &self.department),
            ("domain", &self.domain),
            ("ou", &self.ou),
            ("group", &self.group),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key, value.as_deref()?)))
        .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.conditions().is_empty()
    }

    /// Sets one condition by its key; false for a key that is not one of [`RuleMatch::KEYS`].
    pub fn set(&mut self, key: &str, value: String) -> bool {
        let slot = match key {
            "location" => &mut self.location,
            "department" => &mut self.department,
            "domain" => &mut self.domain,
            "ou" => &mut self.ou,
            "group" => &mut self.group,
            _ => return false,
        };
        *slot = Some(value);
        true
    }
}

/// Where matching users go: a site, and per request type what they are given there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteTarget {
    /// A configured, enabled `[[sites]] name`.
    pub site: String,
    /// A pooled (random) desktop.
    pub pooled_desktop: Option<PooledDesktop>,
    /// A persistent (static) desktop, provisioned from a catalog.
    pub persistent_desktop: Option<PersistentDesktop>,
    /// Application groups.
    pub apps: Vec<String>,
    /// AD groups onboarding adds the user to.
    pub groups: Vec<String>,
}

/// How a pooled desktop is entitled: directly in a delivery group, or through an AD group the
/// delivery group already admits. Serialized as written in the file:
/// `{"delivery_group": "…"}` or `{"access_group": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PooledDesktop {
    DeliveryGroup(String),
    AccessGroup(String),
}

/// A persistent desktop: the delivery group it is assigned in and the machine catalog that
/// provisions it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersistentDesktop {
    pub delivery_group: String,
    pub catalog: String,
    /// A CVAD naming scheme (`VDI-####`) for new machines; `None`: the catalog's own.
    pub naming: Option<String>,
}
