//! `[[routing.rules]]` and `[routing.default]`: a full example loads in order with every field,
//! and each mistake (a missing or disabled site, a duplicate name, an unknown or empty match,
//! a bad desktop) is an error at its line and key.

use super::*;
use crate::config::{PersistentDesktop, PooledDesktop, RuleMatch};

/// BASE plus a disabled site and a directory, so rules can point at both kinds of site.
fn base() -> String {
    format!(
        r#"{BASE}
[[sites]]
name = "paris"
kind = "onprem"
endpoints = ["https://ddc1.paris.example.com"]
site_id = "site-2"
enabled = false
credentials = {{ username = 'CORP\svc', password = {{ env = "LONDON_PW" }} }}

[[directories]]
domain = "CORP"
kind = "cvad-identity"
site = "london"
"#
    )
}

const RULES: &str = r#"
[[routing.rules]]
name = "london-finance"
match = { location = "London", department = "Finance" }
site = "london"
pooled_desktop = { delivery_group = "Office Desktop" }
persistent_desktop = { delivery_group = "Dev VDI", catalog = "Dev VDI MCS", naming = "VDI-####" }
apps = ["Office Apps"]
groups = ["Finance Staff"]

[[routing.rules]]
name = "engineers"
match = { ou = "OU=Engineering,DC=corp,DC=example,DC=com", group = "Developers", domain = "corp" }
site = "london"
pooled_desktop = { access_group = "CTX Office Desktop Users" }

[routing.default]
site = "london"
apps = ["Office Apps"]
"#;

#[test]
fn rules_load_in_order_with_every_field_and_the_default() {
    let text = format!("{}{RULES}", base());
    let loaded = load(&text).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let routing = loaded.config.routing;
    let names: Vec<&str> = routing.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["london-finance", "engineers"]);
    let first = &routing.rules[0];
    assert_eq!(
        first.matches,
        RuleMatch {
            location: Some("London".into()),
            department: Some("Finance".into()),
            ..RuleMatch::default()
        }
    );
    assert_eq!(first.target.site, "london");
    assert_eq!(
        first.target.pooled_desktop,
        Some(PooledDesktop::DeliveryGroup("Office Desktop".into()))
    );
    assert_eq!(
        first.target.persistent_desktop,
        Some(PersistentDesktop {
            delivery_group: "Dev VDI".into(),
            catalog: "Dev VDI MCS".into(),
            naming: Some("VDI-####".into()),
        })
    );
    assert_eq!(first.target.apps, vec!["Office Apps"]);
    assert_eq!(first.target.groups, vec!["Finance Staff"]);
    let second = &routing.rules[1];
    assert_eq!(
        second.matches.conditions(),
        vec![
            ("domain", "corp"),
            ("ou", "OU=Engineering,DC=corp,DC=example,DC=com"),
            ("group", "Developers"),
        ]
    );
    assert_eq!(
        second.target.pooled_desktop,
        Some(PooledDesktop::AccessGroup(
            "CTX Office Desktop Users".into()
        ))
    );
    let default = routing.default.expect("a default");
    assert_eq!(default.site, "london");
    assert_eq!(default.pooled_desktop, None);
}

#[test]
fn no_routing_section_is_no_rules() {
    let loaded = load(&base()).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.config.routing.is_empty());
}

#[test]
fn a_rule_for_a_missing_site_is_an_error_at_its_site_key() {
    let text = format!(
        "{}{}",
        base(),
        RULES.replacen("site = \"london\"", "site = \"berlin\"", 1)
    );
    let shown = errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"berlin\""),
        "routing.rules[0].site",
        "no [[sites]] is named \"berlin\"; configured: london, paris",
    );
    // A near miss in case is named, since site names are exact.
    let text = format!(
        "{}{}",
        base(),
        RULES.replacen("site = \"london\"", "site = \"London\"", 1)
    );
    assert_error(
        &errors(&text),
        &at(&text, "\"London\"\npooled"),
        "routing.rules[0].site",
        "did you mean \"london\"?",
    );
}

#[test]
fn a_rule_for_a_disabled_site_is_an_error() {
    let rules = RULES.replace(
        "[routing.default]\nsite = \"london\"",
        "[routing.default]\nsite = \"paris\"",
    );
    let text = format!("{}{rules}", base());
    let shown = errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"paris\"\napps"),
        "routing.default.site",
        "site \"paris\" is disabled",
    );
}

#[test]
fn rule_names_are_required_and_unique_ignoring_case() {
    let rules = RULES.replace("name = \"engineers\"", "name = \"London-Finance\"");
    let text = format!("{}{rules}", base());
    assert_error(
        &errors(&text),
        &at(&text, "\"London-Finance\""),
        "routing.rules[1].name",
        "rule \"London-Finance\" is already defined (routing.rules[0])",
    );
    let rules = RULES.replace("name = \"engineers\"", "name = \"Default\"");
    let text = format!("{}{rules}", base());
    assert_error(
        &errors(&text),
        &at(&text, "\"Default\""),
        "routing.rules[1].name",
        "names the [routing.default] route",
    );
    let rules = RULES.replace("name = \"engineers\"\n", "");
    let text = format!("{}{rules}", base());
    assert_error(
        &errors(&text),
        &at_nth(&text, "[[routing.rules]]", 1),
        "routing.rules[1].name",
        "this key is required",
    );
}

#[test]
fn an_unknown_match_key_is_named_with_the_keys_there_are() {
    let rules = RULES.replace("location = \"London\"", "city = \"London\"");
    let text = format!("{}{rules}", base());
    let shown = errors(&text);
    assert_error(
        &shown,
        &at(&text, "city = "),
        "routing.rules[0].match.city",
        "unknown match key `city`; a rule matches on location, department, domain, ou, group",
    );
}

#[test]
fn an_empty_or_missing_match_is_an_error_but_the_default_needs_none() {
    let rules = RULES.replace(
        "match = { location = \"London\", department = \"Finance\" }",
        "match = {}",
    );
    let text = format!("{}{rules}", base());
    assert_error(
        &errors(&text),
        &at(&text, "{}"),
        "routing.rules[0].match",
        "matches nobody in particular; give at least one of location, department",
    );
    let rules = RULES.replace(
        "match = { location = \"London\", department = \"Finance\" }\n",
        "",
    );
    let text = format!("{}{rules}", base());
    assert_error(
        &errors(&text),
        &at(&text, "[[routing.rules]]"),
        "routing.rules[0].match",
        "this key is required",
    );
    // The default takes no match: it is an unknown key there.
    let rules = RULES.replace(
        "[routing.default]\n",
        "[routing.default]\nmatch = { location = \"x\" }\n",
    );
    let text = format!("{}{rules}", base());
    assert_error(
        &errors(&text),
        &at(&text, "match = { location = \"x\""),
        "routing.default.match",
        "unknown key `match`",
    );
}

#[test]
fn bad_match_values_are_errors_at_their_value() {
    let cases = [
        (
            "department = \"Finance\"",
            "department = \"\"",
            "\"\"",
            "department",
            "is empty",
        ),
        (
            "department = \"Finance\"",
            "department = 3",
            "3 }",
            "department",
            "must be a string",
        ),
        (
            "department = \"Finance\"",
            "ou = \"Engineering\"",
            "\"Engineering\"",
            "ou",
            "is not a distinguished name",
        ),
        (
            "department = \"Finance\"",
            "group = \"CN=Finance,OU=Groups,DC=corp\"",
            "\"CN=Finance",
            "group",
            "give the group's common name",
        ),
        (
            "department = \"Finance\"",
            "domain = \"corp.example.com\"",
            "\"corp.example.com\"",
            "domain",
            "is not a NetBIOS domain name",
        ),
    ];
    for (from, to, needle, key, message) in cases {
        let text = format!("{}{}", base(), RULES.replace(from, to));
        assert_error(
            &errors(&text),
            &at(&text, needle),
            &format!("routing.rules[0].match.{key}"),
            message,
        );
    }
}

#[test]
fn desktops_must_be_whole() {
    let cases = [
        (
            "pooled_desktop = { delivery_group = \"Office Desktop\" }",
            "pooled_desktop = { delivery_group = \"A\", access_group = \"B\" }",
            "{ delivery_group = \"A\"",
            "routing.rules[0].pooled_desktop",
            "not both",
        ),
        (
            "pooled_desktop = { delivery_group = \"Office Desktop\" }",
            "pooled_desktop = {}",
            "{}",
            "routing.rules[0].pooled_desktop",
            "give `delivery_group",
        ),
        (
            ", catalog = \"Dev VDI MCS\"",
            "",
            "{ delivery_group = \"Dev VDI\"",
            "routing.rules[0].persistent_desktop.catalog",
            "this key is required",
        ),
        (
            "naming = \"VDI-####\"",
            "naming = \"VDI-LONDON-FINANCE-##\"",
            "\"VDI-LONDON",
            "routing.rules[0].persistent_desktop.naming",
            "at most 15",
        ),
        (
            "naming = \"VDI-####\"",
            "naming = \"VDI\"",
            "\"VDI\"",
            "routing.rules[0].persistent_desktop.naming",
            "has no `#`",
        ),
        (
            "apps = [\"Office Apps\"]\ngroups",
            "apps = [\" \"]\ngroups",
            "\" \"",
            "routing.rules[0].apps[0]",
            "is empty",
        ),
    ];
    for (from, to, needle, key, message) in cases {
        let text = format!("{}{}", base(), RULES.replacen(from, to, 1));
        assert_error(&errors(&text), &at(&text, needle), key, message);
    }
}

#[test]
fn every_routing_error_is_reported_at_once() {
    let rules = RULES
        .replacen("site = \"london\"", "site = \"berlin\"", 1)
        .replace("location = \"London\"", "city = \"London\"")
        .replace("name = \"engineers\"", "name = \"london-finance\"");
    let shown = errors(&format!("{}{rules}", base()));
    assert_eq!(shown.lines().count(), 3, "{shown}");
}

#[test]
fn a_rule_that_can_never_win_or_gives_nothing_is_a_warning() {
    let rules = format!(
        "{RULES}\n[[routing.rules]]\nname = \"again\"\nmatch = {{ department = \"finance\", \
         location = \"LONDON\" }}\nsite = \"london\"\n"
    );
    let text = format!("{}{rules}", base());
    let loaded = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = loaded.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("routing.rules[2].match")
            && w.contains("rule \"again\" never matches: rule \"london-finance\" above")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("key routing.rules[2]: gives no desktop and no applications")),
        "{warnings:?}"
    );
    let rules = RULES.replace("domain = \"corp\"", "domain = \"EMEA\"");
    let loaded = load(&format!("{}{rules}", base())).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        loaded.warnings.iter().any(|w| w
            .to_string()
            .contains("no [[directories]] serves domain EMEA")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn the_lab_rules_point_at_the_lab_sites() {
    // What `serve --lab` gets for a lab with only the London site: no rule for the cloud.
    let site = |name: &str| crate::lab::SiteInfo {
        name: name.into(),
        kind: crate::model::SiteKind::Onprem,
        customer_id: "CitrixOnPremises".into(),
        site_id: "s".into(),
        endpoints: vec!["http://127.0.0.1:1".into()],
        token_url: String::new(),
        credentials: crate::lab::SiteCredentials::Basic {
            username: "u".into(),
            password: "p".into(),
        },
        zones: Vec::new(),
    };
    let info = |sites: Vec<crate::lab::SiteInfo>| crate::lab::LabInfo {
        sites,
        servicenow: Vec::new(),
        control: String::new(),
    };
    let both = RoutingConfig::from_lab(&info(vec![site("London"), site("Cloud")]));
    assert!(both.rules.iter().any(|r| r.target.site == "Cloud"));
    assert_eq!(
        both.default.as_ref().map(|d| d.site.as_str()),
        Some("Cloud")
    );
    let london = RoutingConfig::from_lab(&info(vec![site("London")]));
    assert!(!london.rules.is_empty());
    assert!(london.rules.iter().all(|r| r.target.site == "London"));
    assert_eq!(london.default.map(|d| d.site), Some("London".into()));
}

#[test]
fn the_commented_example_in_adapter_example_toml_loads() {
    const EXAMPLE: &str = include_str!("../../../adapter.example.toml");
    let section = EXAMPLE
        .split("# Routing rules:")
        .nth(1)
        .expect("the example has a routing section");
    // After the section's closing rule line, every line is commented-out TOML.
    let (_, body) = section
        .split_once("# ----------")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .expect("the section's header block ends");
    let rules: String = body
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(rules.contains("[[routing.rules]]"), "{rules}");
    let text = format!(
        "{BASE}\n[[sites]]\nname = \"daas-eu\"\nkind = \"onprem\"\nendpoints = \
         [\"https://ddc9.example.com\"]\nsite_id = \"s9\"\ncredentials = {{ username = 'CORP\\svc', \
         password = {{ env = \"LONDON_PW\" }} }}\n{rules}"
    );
    let loaded = load(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let routing = loaded.config.routing;
    assert_eq!(routing.rules.len(), 3);
    assert!(routing.default.is_some());
}
