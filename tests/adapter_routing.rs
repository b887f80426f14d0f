//! Routing rules through the adapter, over real HTTP against the lab: `GET
//! /api/v1/routing/explain` names the rule a lab user matches and why, with facts read from the
//! lab's directory (its CVAD Identity API), and routes to delivery groups the lab's sites really
//! have; unknown users and domains are clear 404s; `GET /api/v1/routing/rules` lists the rules.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use deskbridge::config::{RouteTarget, RoutingRule, RuleMatch};
use deskbridge::lab::Scale;
use reqwest::StatusCode;
use serde_json::Value;
use support::api::Api;
use support::{LabAdapter, token, until};

/// `user` as a query value (`LAB\alice` → `LAB%5Calice`).
fn explain_path(user: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/api/v1/routing/explain").expect("url");
    url.query_pairs_mut().append_pair("user", user);
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

/// Ordinary lab accounts (people, not built-in ones), up to 200 matching `q`.
async fn people(api: &Api, token: &str, q: &str) -> Vec<Value> {
    let (status, page) = api
        .get(
            token,
            &format!("/api/v1/accounts?q={q}&domain=LAB&limit=200"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| a["dn"].as_str().is_some_and(|dn| dn.contains("OU=People")))
        .cloned()
        .collect()
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

/// (site, delivery group) of every delivery group the adapter's inventory shows, once every
/// one of `sites` has been read (each site's inventory loads on its own).
async fn delivery_groups(api: &Api, token: &str, sites: &[String]) -> HashSet<(String, String)> {
    until(
        "the inventory's delivery groups",
        Duration::from_secs(30),
        async || {
            let (status, page) = api.get(token, "/api/v1/delivery-groups?limit=1000").await;
            let items = page["items"].as_array()?;
            let groups: HashSet<(String, String)> = items
                .iter()
                .map(|g| (text(g, "site").to_owned(), text(g, "name").to_owned()))
                .collect();
            let every_site = sites
                .iter()
                .all(|s| groups.iter().any(|(site, _)| site == s));
            (status == StatusCode::OK && every_site).then_some(groups)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn lab_users_are_explained_and_routed_to_groups_their_site_has() {
    let lab = LabAdapter::start(Scale::Small, &|_| {}).await;
    let http = reqwest::Client::new();
    let viewer = token(&http, &lab.url, lab.id("viewer")).await;
    let api = Api::new(&lab.url);
    let sites: Vec<String> = lab
        .lab
        .info()
        .sites
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let groups = delivery_groups(&api, &viewer, &sites).await;

    // The rules as configured, in order, with the default.
    let (status, rules) = api.get(&viewer, "/api/v1/routing/rules").await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    let names: Vec<&str> = rules["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| text(r, "name"))
        .collect();
    assert_eq!(names.first(), Some(&"london-engineering"), "{rules}");
    assert!(names.contains(&"office-paris"), "{names:?}");
    assert_eq!(rules["default"]["site"], "Cloud", "{rules}");

    let everyone = people(&api, &viewer, "a").await;
    let london = everyone
        .iter()
        .find(|a| text(a, "location") == "London" && !text(a, "dn").contains("OU=Engineering"))
        .expect("a London account outside engineering");
    let user = format!("LAB\\{}", text(london, "sam_name"));
    let (status, explained) = api.get(&viewer, &explain_path(&user)).await;
    assert_eq!(status, StatusCode::OK, "{explained}");
    assert_eq!(explained["facts"]["user"], user.as_str());
    assert_eq!(explained["facts"]["location"], "London");
    // The Identity API has no department: it is named as unknown, not guessed.
    assert_eq!(explained["facts"]["department"], "");
    assert_eq!(explained["unknown"], serde_json::json!(["department"]));
    let checks = explained["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 2, "{explained}");
    assert_eq!(checks[0]["rule"], "london-engineering");
    assert_eq!(checks[0]["matched"], false);
    assert!(
        checks[0]["reasons"][0]
            .as_str()
            .is_some_and(|r| r.starts_with("ou is \"OU=") && r.contains("or below")),
        "{}",
        checks[0]
    );
    assert_eq!(checks[1]["rule"], "office-london");
    assert_eq!(checks[1]["matched"], true);
    assert_eq!(
        checks[1]["reasons"][0],
        "location is \"London\", as the rule wants"
    );
    let route = &explained["route"];
    assert_eq!(route["rule"], "office-london");
    assert_eq!(route["site"], "London");
    assert_eq!(
        route["pooled_desktop"]["delivery_group"],
        "London Pooled Desktops"
    );
    assert!(route["persistent_desktop"].is_null(), "{route}");

    // Every lab office: the routed site has the routed delivery groups.
    let mut offices_seen = HashSet::new();
    for account in &everyone {
        let location = text(account, "location");
        if !offices_seen.insert(location.to_owned()) {
            continue;
        }
        let user = format!("LAB\\{}", text(account, "sam_name"));
        let (status, explained) = api.get(&viewer, &explain_path(&user)).await;
        assert_eq!(status, StatusCode::OK, "{explained}");
        let route = &explained["route"];
        let site = text(route, "site").to_owned();
        for group in [
            &route["pooled_desktop"]["delivery_group"],
            &route["persistent_desktop"]["delivery_group"],
        ] {
            if let Some(group) = group.as_str() {
                assert!(
                    groups.contains(&(site.clone(), group.to_owned())),
                    "{user} in {location} is routed to {group} at {site}, which it lacks"
                );
            }
        }
    }
    assert!(offices_seen.len() >= 3, "{offices_seen:?}");

    // An engineer in London gets the persistent desktop of the first rule.
    let engineer = everyone
        .iter()
        .find(|a| text(a, "dn").contains("OU=Engineering,OU=London"))
        .expect("a London engineer");
    let user = format!("LAB\\{}", text(engineer, "sam_name"));
    let (status, explained) = api.get(&viewer, &explain_path(&user)).await;
    assert_eq!(status, StatusCode::OK, "{explained}");
    assert_eq!(explained["route"]["rule"], "london-engineering");
    assert_eq!(explained["checks"].as_array().map(Vec::len), Some(1));
    let persistent = &explained["route"]["persistent_desktop"];
    assert_eq!(persistent["catalog"], "LDN Win11 Persistent");
    assert!(groups.contains(&(
        "London".to_owned(),
        text(persistent, "delivery_group").to_owned()
    )));
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_users_and_domains_are_404s_and_a_token_is_needed() {
    let lab = LabAdapter::start(Scale::Small, &|_| {}).await;
    let http = reqwest::Client::new();
    let viewer = token(&http, &lab.url, lab.id("viewer")).await;
    let api = Api::new(&lab.url);

    let (status, body) = api.get(&viewer, &explain_path("LAB\\nobody.here")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    let message = text(&body["error"], "message");
    assert_eq!(
        message, "no account LAB\\nobody.here in the directory of domain LAB",
        "{body}"
    );

    let (status, body) = api.get(&viewer, &explain_path("CORP\\alice")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let message = text(&body["error"], "message");
    assert!(
        message.contains("no directory serves domain \"CORP\"") && message.contains("LAB"),
        "{message}"
    );

    let (status, body) = api.get(&viewer, "/api/v1/routing/explain").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(text(&body["error"], "message").contains("?user="), "{body}");
    let (status, body) = api
        .get(&viewer, "/api/v1/routing/explain?user=x&colour=blue")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    for path in [
        "/api/v1/routing/explain?user=LAB%5Cx",
        "/api/v1/routing/rules",
    ] {
        let response = http
            .get(format!("{}{path}", lab.url))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }

    // Both are in the OpenAPI document.
    let (status, doc) = api.get(&viewer, "/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/api/v1/routing/explain"]["get"]["responses"]["404"].is_object());
    assert!(doc["paths"]["/api/v1/routing/rules"]["get"].is_object());
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_on_an_unknown_fact_falls_to_the_default_and_says_why() {
    // A department rule cannot match through the Identity API, which gives no department.
    let lab = LabAdapter::start(Scale::Small, &|config| {
        let site = config.sites[0].name.clone();
        config.routing.rules = vec![RoutingRule {
            name: "finance".into(),
            matches: RuleMatch {
                department: Some("Finance".into()),
                ..RuleMatch::default()
            },
            target: RouteTarget {
                site: site.clone(),
                pooled_desktop: None,
                persistent_desktop: None,
                apps: vec!["Office Suite".into()],
                groups: Vec::new(),
            },
        }];
        if let Some(default) = &mut config.routing.default {
            default.site = site;
        }
    })
    .await;
    let http = reqwest::Client::new();
    let viewer = token(&http, &lab.url, lab.id("viewer")).await;
    let api = Api::new(&lab.url);
    let finance = people(&api, &viewer, "a")
        .await
        .into_iter()
        .find(|a| text(a, "dn").contains("OU=Finance,"))
        .expect("someone in finance");
    let user = format!("LAB\\{}", text(&finance, "sam_name"));
    let (status, explained) = api.get(&viewer, &explain_path(&user)).await;
    assert_eq!(status, StatusCode::OK, "{explained}");
    let checks = explained["checks"].as_array().expect("checks");
    assert_eq!(checks[0]["matched"], false);
    assert_eq!(
        checks[0]["reasons"][0],
        "department is unknown (the directory gives none), rule wants \"Finance\""
    );
    assert_eq!(checks[1]["rule"], "default");
    assert_eq!(checks[1]["reasons"][0], "no rule matched; default");
    assert_eq!(explained["route"]["rule"], "default");
    lab.stop().await;
}
