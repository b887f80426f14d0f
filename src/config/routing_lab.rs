//! The routing rules of `serve --lab` and the embedded default: each lab office to the site and
//! zone the lab serves it from (src/lab/cvad/seed), London's engineers also to a persistent
//! desktop, and everyone else to the cloud site by an access group.

use super::routing::{
    PersistentDesktop, PooledDesktop, RouteTarget, RoutingConfig, RoutingRule, RuleMatch,
};
use crate::lab::LabInfo;
use crate::lab::people::OFFICES;

/// (office city, site, zone, machine-name code of the zone), as the lab's seed places people:
/// London and Manchester on-prem, the rest in the cloud zone of their region.
const HOMES: &[(&str, &str, &str, &str)] = &[
    ("London", "London", "London", "LDN"),
    ("Manchester", "London", "Manchester", "MAN"),
    ("Frankfurt", "Cloud", "Frankfurt", "FRA"),
    ("Paris", "Cloud", "Frankfurt", "FRA"),
    ("New York", "Cloud", "Virginia", "VIR"),
    ("Boston", "Cloud", "Virginia", "VIR"),
    ("Singapore", "Cloud", "Singapore", "SIN"),
];

/// The application group every lab site publishes its office applications in.
const OFFICE_APPS: &str = "Office Suite";
/// The lab domain's groups of Citrix users (src/lab/identity/state.rs).
const DESKTOP_USERS: &str = "Citrix Desktop Users";
const APP_USERS: &str = "Citrix Office Apps";

impl RoutingConfig {
    /// The lab's rules, for the sites `info` has (a rule for a site the lab lacks is left
    /// out, as a config file would have it refused).
    pub fn from_lab(info: &LabInfo) -> RoutingConfig {
        let has = |site: &str| info.sites.iter().any(|s| s.name == site);
        let target = |site: &str, zone: &str, code: &str, persistent: bool| RouteTarget {
            site: site.to_string(),
            pooled_desktop: Some(PooledDesktop::DeliveryGroup(format!(
                "{zone} Pooled Desktops"
            ))),
            persistent_desktop: persistent.then(|| PersistentDesktop {
                delivery_group: format!("{zone} Persistent Desktops"),
                catalog: format!("{code} Win11 Persistent"),
                naming: None,
            }),
            apps: vec![OFFICE_APPS.to_string()],
            groups: vec![DESKTOP_USERS.to_string(), APP_USERS.to_string()],
        };
        let mut rules = Vec::new();
        if has("London") {
            rules.push(RoutingRule {
                name: "london-engineering".to_string(),
                matches: RuleMatch {
                    ou: Some("OU=Engineering,OU=London,OU=People,DC=lab,DC=example".to_string()),
                    ..RuleMatch::default()
                },
                target: target("London", "London", "LDN", true),
            });
        }
        for office in OFFICES {
            let Some((city, site, zone, code)) =
                HOMES.iter().find(|(city, ..)| *city == office.city)
            else {
                continue;
            };
            if !has(site) {
                continue;
            }
            rules.push(RoutingRule {
                name: format!("office-{}", city.to_lowercase().replace(' ', "-")),
                matches: RuleMatch {
                    location: Some(city.to_string()),
                    ..RuleMatch::default()
                },
                target: target(site, zone, code, false),
            });
        }
        let default = info
            .sites
            .iter()
            .find(|s| s.name == "Cloud")
            .or(info.sites.first())
            .map(|site| RouteTarget {
                site: site.name.clone(),
                pooled_desktop: Some(PooledDesktop::AccessGroup(DESKTOP_USERS.to_string())),
                persistent_desktop: None,
                apps: vec![OFFICE_APPS.to_string()],
                groups: vec![DESKTOP_USERS.to_string()],
            });
        RoutingConfig { rules, default }
    }
}
