//! Routing: which site, desktops and applications a user gets, by the first
//! `[[routing.rules]]` of adapter.toml whose conditions the user's directory facts meet (the
//! `[routing.default]` otherwise), and why. [`explain`] is pure, so the API, the CLI
//! (`deskbridge route explain`) and the workflows all decide, and explain, the same way.
//!
//! Matching: every condition a rule gives must hold; values compare ignoring case and
//! surrounding spaces; `ou` holds when the user's OU is the rule's or below it (compared RDN by
//! RDN); `group` is direct membership by common name. A fact the directory does not give (the
//! CVAD Identity API has no department) never matches, and the explanation says it was unknown.

mod facts;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use crate::config::{DEFAULT_RULE, RouteTarget, RoutingConfig, RoutingRule};
pub use crate::config::{PersistentDesktop, PooledDesktop};
pub use facts::{facts, not_found, unknown_domain};

/// What routing knows of a user, from the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFacts {
    /// `DOMAIN\sam`.
    pub user: String,
    /// NetBIOS domain (`LAB`).
    pub domain: String,
    /// Office city; empty when the directory gives none.
    pub location: String,
    /// Empty when the directory gives none.
    pub department: String,
    /// DN of the OU the account is in; empty when the directory gives no DN.
    pub ou: String,
    /// Common names of the groups the user is a direct member of.
    pub groups: Vec<String>,
}

impl UserFacts {
    /// The facts of a directory account.
    pub fn from_account(account: &crate::directory::Account) -> UserFacts {
        UserFacts {
            user: account.qualified_name(),
            domain: account.domain.clone(),
            location: account.location.trim().to_string(),
            department: account.department.trim().to_string(),
            ou: account.ou(),
            groups: account.groups.clone(),
        }
    }

    /// The facts a rule can ask about that the directory left empty, by match key.
    pub fn unknown(&self) -> Vec<String> {
        [
            ("location", &self.location),
            ("department", &self.department),
            ("domain", &self.domain),
            ("ou", &self.ou),
        ]
        .into_iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(key, _)| key.to_string())
        .collect()
    }

    /// The value of a single-valued fact by its match key.
    fn value(&self, key: &str) -> &str {
        match key {
            "location" => &self.location,
            "department" => &self.department,
            "domain" => &self.domain,
            "ou" => &self.ou,
            _ => "",
        }
    }
}

/// Where a user goes: the rule that decided, and what it gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The rule's name, or `default` for `[routing.default]`.
    pub rule: String,
    pub site: String,
    pub pooled_desktop: Option<PooledDesktop>,
    pub persistent_desktop: Option<PersistentDesktop>,
    /// Application groups.
    pub apps: Vec<String>,
    /// AD groups onboarding adds.
    pub groups: Vec<String>,
}

impl Route {
    fn new(rule: &str, target: &RouteTarget) -> Route {
        Route {
            rule: rule.to_string(),
            site: target.site.clone(),
            pooled_desktop: target.pooled_desktop.clone(),
            persistent_desktop: target.persistent_desktop.clone(),
            apps: target.apps.clone(),
            groups: target.groups.clone(),
        }
    }
}

/// One rule as checked against a user: whether it matched, and each condition's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCheck {
    pub rule: String,
    pub matched: bool,
    /// One per condition, in the order of the match keys, e.g.
    /// `location is "Paris", rule wants "London"`.
    pub reasons: Vec<String>,
}

/// The whole decision for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub facts: UserFacts,
    /// `None`: no rule matched and there is no default.
    pub route: Option<Route>,
    /// The rules checked, in order, up to the one that matched; then the default, if it
    /// applied.
    pub checks: Vec<RuleCheck>,
    /// Facts the directory left empty (`location`, `department`, `domain`, `ou`): a rule
    /// asking about one of them cannot match this user.
    #[serde(default)]
    pub unknown: Vec<String>,
}

/// Routes `facts` by `config`: the first rule whose every condition holds, else the default.
pub fn explain(config: &RoutingConfig, facts: UserFacts) -> Explanation {
    let mut checks = Vec::new();
    let mut route = None;
    for rule in &config.rules {
        let check = check_rule(rule, &facts);
        let matched = check.matched;
        checks.push(check);
        if matched {
            route = Some(Route::new(&rule.name, &rule.target));
            break;
        }
    }
    if route.is_none()
        && let Some(default) = &config.default
    {
        checks.push(RuleCheck {
            rule: DEFAULT_RULE.to_string(),
            matched: true,
            reasons: vec!["no rule matched; default".to_string()],
        });
        route = Some(Route::new(DEFAULT_RULE, default));
    }
    Explanation {
        unknown: facts.unknown(),
        facts,
        route,
        checks,
    }
}

fn check_rule(rule: &RoutingRule, facts: &UserFacts) -> RuleCheck {
    let mut matched = true;
    let mut reasons = Vec::new();
    for (key, wanted) in rule.matches.conditions() {
        let (holds, reason) = condition(key, wanted, facts);
        matched &= holds;
        reasons.push(reason);
    }
    RuleCheck {
        rule: rule.name.clone(),
        // A rule with no condition is refused at load; here it would match nobody.
        matched: matched && !reasons.is_empty(),
        reasons,
    }
}

/// Whether one condition holds, and why, in words for the operator.
fn condition(key: &str, wanted: &str, facts: &UserFacts) -> (bool, String) {
    if key == "group" {
        return match facts.groups.iter().find(|g| same(g, wanted)) {
            Some(group) => (true, format!("member of {group:?}, as the rule wants")),
            None if facts.groups.is_empty() => (
                false,
                format!("in no groups the directory shows, rule wants {wanted:?}"),
            ),
            None => (false, format!("not a direct member of {wanted:?}")),
        };
    }
    let have = facts.value(key);
    if have.trim().is_empty() {
        return (
            false,
            format!("{key} is unknown (the directory gives none), rule wants {wanted:?}"),
        );
    }
    if key == "ou" {
        return if ou_within(have, wanted) {
            (true, format!("ou is {have:?}, within {wanted:?}"))
        } else {
            (
                false,
                format!("ou is {have:?}, rule wants {wanted:?} or below"),
            )
        };
    }
    if same(have, wanted) {
        (true, format!("{key} is {have:?}, as the rule wants"))
    } else {
        (false, format!("{key} is {have:?}, rule wants {wanted:?}"))
    }
}

/// Equal ignoring case and surrounding spaces.
fn same(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// True when `ou` is `within` or below it: `within`'s RDNs end `ou`'s.
fn ou_within(ou: &str, within: &str) -> bool {
    let ou = rdns(ou);
    let within = rdns(within);
    !within.is_empty() && ou.len() >= within.len() && ou[ou.len() - within.len()..] == within[..]
}

/// A DN's RDNs, lower-cased, with the spaces around `,` and `=` removed; an escaped comma
/// stays inside its value.
fn rdns(dn: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in dn.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if c == ',' {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|rdn| match rdn.split_once('=') {
            Some((kind, value)) => format!("{}={}", kind.trim(), value.trim()).to_lowercase(),
            None => rdn.trim().to_lowercase(),
        })
        .filter(|rdn| !rdn.is_empty())
        .collect()
}
