//! Matching and explanations: first match wins, the default, each match key, OU suffixes,
//! case, unknown facts, and the JSON the API serves.

use super::*;
use crate::config::RuleMatch;

fn target(site: &str) -> RouteTarget {
    RouteTarget {
        site: site.to_string(),
        pooled_desktop: Some(PooledDesktop::DeliveryGroup(format!("{site} Pooled"))),
        persistent_desktop: None,
        apps: vec!["Office Apps".to_string()],
        groups: vec!["Citrix Users".to_string()],
    }
}

fn rule(name: &str, conditions: &[(&str, &str)], site: &str) -> RoutingRule {
    let mut matches = RuleMatch::default();
    for (key, value) in conditions {
        assert!(matches.set(key, value.to_string()), "{key}");
    }
    RoutingRule {
        name: name.to_string(),
        matches,
        target: target(site),
    }
}

fn alice() -> UserFacts {
    UserFacts {
        user: "LAB\\alice.smith".to_string(),
        domain: "LAB".to_string(),
        location: "Paris".to_string(),
        department: "Finance".to_string(),
        ou: "OU=Finance,OU=Paris,OU=People,DC=lab,DC=example".to_string(),
        groups: vec!["Finance Users".to_string(), "Office Paris".to_string()],
    }
}

fn config(rules: Vec<RoutingRule>, default: Option<&str>) -> RoutingConfig {
    RoutingConfig {
        rules,
        default: default.map(target),
    }
}

fn routed(config: &RoutingConfig, facts: UserFacts) -> Option<(String, String)> {
    explain(config, facts).route.map(|r| (r.rule, r.site))
}

#[test]
fn the_first_matching_rule_wins_and_later_rules_are_not_checked() {
    let config = config(
        vec![
            rule("london", &[("location", "London")], "London"),
            rule(
                "paris-finance",
                &[("location", "Paris"), ("department", "Finance")],
                "Cloud",
            ),
            rule("finance", &[("department", "Finance")], "Other"),
        ],
        Some("Fallback"),
    );
    let explanation = explain(&config, alice());
    let route = explanation.route.expect("a route");
    assert_eq!(route.rule, "paris-finance");
    assert_eq!(route.site, "Cloud");
    assert_eq!(
        route.pooled_desktop,
        Some(PooledDesktop::DeliveryGroup("Cloud Pooled".into()))
    );
    assert_eq!(route.apps, vec!["Office Apps"]);
    let checked: Vec<(&str, bool)> = explanation
        .checks
        .iter()
        .map(|c| (c.rule.as_str(), c.matched))
        .collect();
    assert_eq!(checked, vec![("london", false), ("paris-finance", true)]);
    assert_eq!(
        explanation.checks[0].reasons,
        vec!["location is \"Paris\", rule wants \"London\""]
    );
    assert_eq!(
        explanation.checks[1].reasons,
        vec![
            "location is \"Paris\", as the rule wants",
            "department is \"Finance\", as the rule wants"
        ]
    );
}

#[test]
fn all_conditions_must_hold() {
    let config = config(
        vec![rule(
            "paris-sales",
            &[("location", "Paris"), ("department", "Sales")],
            "Cloud",
        )],
        None,
    );
    let explanation = explain(&config, alice());
    assert_eq!(explanation.route, None);
    assert!(!explanation.checks[0].matched);
    assert_eq!(
        explanation.checks[0].reasons[1],
        "department is \"Finance\", rule wants \"Sales\""
    );
}

#[test]
fn the_default_applies_when_no_rule_matches_and_says_so() {
    let rules = vec![rule("london", &[("location", "London")], "London")];
    let explanation = explain(&config(rules.clone(), Some("Cloud")), alice());
    let route = explanation.route.expect("the default");
    assert_eq!(
        (route.rule.as_str(), route.site.as_str()),
        ("default", "Cloud")
    );
    let last = explanation.checks.last().expect("a check");
    assert_eq!(last.rule, "default");
    assert!(last.matched);
    assert_eq!(last.reasons, vec!["no rule matched; default"]);
    assert_eq!(explanation.checks.len(), 2, "london, then the default");

    let none = explain(&config(rules, None), alice());
    assert_eq!(none.route, None, "no rule and no default: no route");
    assert_eq!(none.checks.len(), 1);
    assert!(none.checks.iter().all(|c| !c.matched));
}

#[test]
fn each_key_matches_on_its_own() {
    let cases: &[(&str, &str, &str)] = &[
        ("location", "Paris", "London"),
        ("department", "Finance", "Sales"),
        ("domain", "LAB", "CORP"),
        (
            "ou",
            "OU=Paris,OU=People,DC=lab,DC=example",
            "OU=London,OU=People,DC=lab,DC=example",
        ),
        ("group", "Finance Users", "Sales Users"),
    ];
    for (key, yes, no) in cases {
        let hit = config(vec![rule("r", &[(key, yes)], "A")], None);
        assert_eq!(
            routed(&hit, alice()),
            Some(("r".into(), "A".into())),
            "{key} = {yes}"
        );
        let miss = config(vec![rule("r", &[(key, no)], "A")], None);
        assert_eq!(routed(&miss, alice()), None, "{key} = {no}");
    }
}

#[test]
fn values_compare_ignoring_case_and_spaces() {
    let config = config(
        vec![rule(
            "r",
            &[
                ("location", " paris "),
                ("department", "FINANCE"),
                ("domain", "lab"),
                ("ou", "ou=people, dc=LAB, dc=Example"),
                ("group", "finance users"),
            ],
            "A",
        )],
        None,
    );
    let explanation = explain(&config, alice());
    assert!(explanation.checks[0].matched, "{:?}", explanation.checks);
    assert!(
        explanation.checks[0]
            .reasons
            .contains(&"member of \"Finance Users\", as the rule wants".to_string())
    );
}

#[test]
fn an_ou_matches_itself_and_below_it_rdn_by_rdn() {
    let within = |ou: &str, rule_ou: &str| {
        let facts = UserFacts {
            ou: ou.to_string(),
            ..alice()
        };
        let config = config(vec![rule("r", &[("ou", rule_ou)], "A")], None);
        explain(&config, facts).route.is_some()
    };
    let people = "OU=People,DC=lab,DC=example";
    assert!(within(people, people), "the OU itself");
    assert!(within(
        "OU=Finance,OU=Paris,OU=People,DC=lab,DC=example",
        people
    ));
    assert!(
        !within(people, "OU=Paris,OU=People,DC=lab,DC=example"),
        "above is not within"
    );
    // A plain string suffix would wrongly match here: "NewLondon" ends in "London".
    assert!(!within(
        "OU=NewLondon,DC=lab,DC=example",
        "OU=London,DC=lab,DC=example"
    ));
    // An escaped comma is part of the value, not an RDN boundary.
    assert!(within(
        "OU=Smith\\, Jones,OU=Legal,DC=lab,DC=example",
        "OU=Legal,DC=lab,DC=example"
    ));
    assert!(!within(
        "OU=Smith\\, Jones,OU=Legal,DC=lab,DC=example",
        "OU= Jones,OU=Legal,DC=lab,DC=example"
    ));
}

#[test]
fn unknown_facts_never_match_and_are_named() {
    // What the cvad-identity backend gives: no department.
    let facts = UserFacts {
        department: String::new(),
        ..alice()
    };
    let finance = config(
        vec![rule("finance", &[("department", "Finance")], "A")],
        Some("B"),
    );
    let explanation = explain(&finance, facts);
    assert_eq!(explanation.unknown, vec!["department"]);
    assert_eq!(
        explanation.checks[0].reasons,
        vec!["department is unknown (the directory gives none), rule wants \"Finance\""]
    );
    assert_eq!(explanation.route.map(|r| r.rule), Some("default".into()));

    let no_groups = UserFacts {
        groups: Vec::new(),
        ..alice()
    };
    let groups = config(vec![rule("g", &[("group", "Finance Users")], "A")], None);
    let explanation = explain(&groups, no_groups);
    assert_eq!(
        explanation.checks[0].reasons,
        vec!["in no groups the directory shows, rule wants \"Finance Users\""]
    );
}

#[test]
fn facts_come_from_the_account() {
    let account = crate::directory::Account {
        sam_name: "alice.smith".into(),
        domain: "LAB".into(),
        dn: "CN=Alice Smith,OU=Finance,OU=Paris,OU=People,DC=lab,DC=example".into(),
        groups: vec!["Finance Users".into()],
        department: " Finance ".into(),
        location: "Paris".into(),
        ..Default::default()
    };
    let facts = UserFacts::from_account(&account);
    assert_eq!(facts.user, "LAB\\alice.smith");
    assert_eq!(facts.ou, "OU=Finance,OU=Paris,OU=People,DC=lab,DC=example");
    assert_eq!(facts.department, "Finance");
    assert!(facts.unknown().is_empty());
}

#[test]
fn the_json_has_the_route_and_the_reasons() {
    let mut config = config(vec![rule("paris", &[("location", "Paris")], "Cloud")], None);
    config.rules[0].target.persistent_desktop = Some(PersistentDesktop {
        delivery_group: "Dev VDI".into(),
        catalog: "Dev VDI MCS".into(),
        naming: Some("VDI-####".into()),
    });
    let json = serde_json::to_value(explain(&config, alice())).expect("serializes");
    assert_eq!(json["route"]["rule"], "paris");
    assert_eq!(
        json["route"]["pooled_desktop"]["delivery_group"],
        "Cloud Pooled"
    );
    assert_eq!(json["route"]["persistent_desktop"]["naming"], "VDI-####");
    assert_eq!(json["checks"][0]["matched"], true);
    assert_eq!(json["facts"]["location"], "Paris");
    let back: Explanation = serde_json::from_value(json).expect("parses back");
    assert_eq!(back.route.map(|r| r.site), Some("Cloud".into()));
    let rules = serde_json::to_value(&config).expect("serializes");
    assert_eq!(rules["rules"][0]["match"]["location"], "Paris");
    assert_eq!(rules["rules"][0]["site"], "Cloud");
    assert!(rules["rules"][0]["match"].get("department").is_none());
}
