//! Routing against a real Samba AD DC (started by scripts/test; skipped without it): a user's
//! department, city (`l`, else `physicalDeliveryOfficeName`), OU and direct groups are read
//! over LDAPS and decide which rule matches.

#[path = "support/samba.rs"]
mod samba;

use std::collections::HashSet;
use std::sync::Arc;

use deskbridge::adapter::routing::{explain, facts};
use deskbridge::config::{RouteTarget, RoutingConfig, RoutingRule, RuleMatch};
use deskbridge::directory::ldap::LdapDirectory;
use deskbridge::directory::{Directories, Directory, DirectoryError};
use ldap3::{LdapConnAsync, LdapConnSettings, Mod};
use samba::{SambaDc, create_group, unique_name};

/// Replaces attributes of `dn` over LDAP as Administrator (an empty value removes one).
async fn set_attrs(dc: &SambaDc, dn: &str, attrs: &[(&str, &str)]) {
    let config = dc.config();
    let tls = deskbridge::directory::ldap::connect::tls_config(&config).expect("tls");
    let (conn, mut ldap) =
        LdapConnAsync::with_settings(LdapConnSettings::new().set_config(tls), &dc.url)
            .await
            .expect("connect");
    ldap3::drive!(conn);
    ldap.simple_bind(&dc.bind, &dc.password)
        .await
        .expect("bind")
        .success()
        .expect("bind ok");
    let mods: Vec<Mod<&str>> = attrs
        .iter()
        .map(|(name, value)| {
            let values = if value.is_empty() {
                HashSet::new()
            } else {
                HashSet::from([*value])
            };
            Mod::Replace(*name, values)
        })
        .collect();
    ldap.modify(dn, mods)
        .await
        .expect("modify")
        .success()
        .expect("attributes set");
    let _ = ldap.unbind().await;
}

fn rule(name: &str, conditions: &[(&str, &str)]) -> RoutingRule {
    let mut matches = RuleMatch::default();
    for (key, value) in conditions {
        assert!(matches.set(key, value.to_string()));
    }
    RoutingRule {
        name: name.into(),
        matches,
        target: RouteTarget {
            site: format!("{name}-site"),
            pooled_desktop: None,
            persistent_desktop: None,
            apps: vec!["Office Apps".into()],
            groups: Vec::new(),
        },
    }
}

#[tokio::test]
async fn department_city_ou_and_groups_from_ad_decide_the_rule() {
    let Some(dc) = samba::dc() else { return };
    let dir = LdapDirectory::new(dc.config()).expect("a valid LDAP configuration");
    let new = dc.new_account("rt");
    let account = dir.create(&new).await.expect("create a test account");
    let group = unique_name("rtg");
    create_group(&dc, &group).await;
    dir.add_to_group(&account.sam_name, &group)
        .await
        .expect("add to the group");
    // No `l`: the office is the location.
    set_attrs(
        &dc,
        &account.dn,
        &[
            ("department", "Finance"),
            ("physicalDeliveryOfficeName", "London"),
        ],
    )
    .await;
    let directories =
        Directories::from_directories(vec![Arc::new(dir) as Arc<dyn Directory>]).expect("one");
    let user = format!("LAB\\{}", account.sam_name);

    let found = facts(&directories, &user).await.expect("facts over LDAPS");
    assert_eq!(found.user, user);
    assert_eq!(found.department, "Finance");
    assert_eq!(found.location, "London");
    assert_eq!(found.ou, format!("CN=Users,{}", dc.base_dn));
    assert!(found.groups.contains(&group), "{:?}", found.groups);

    let config = RoutingConfig {
        rules: vec![
            rule(
                "london-sales",
                &[("location", "London"), ("department", "Sales")],
            ),
            rule(
                "finance-users",
                &[
                    ("department", "finance"),
                    ("ou", &dc.base_dn),
                    ("group", &group.to_uppercase()),
                ],
            ),
        ],
        default: None,
    };
    let explanation = explain(&config, found);
    assert!(explanation.unknown.is_empty(), "{:?}", explanation.unknown);
    assert_eq!(
        explanation.checks[0].reasons,
        vec![
            "location is \"London\", as the rule wants",
            "department is \"Finance\", rule wants \"Sales\""
        ]
    );
    let route = explanation.route.expect("the second rule");
    assert_eq!(route.rule, "finance-users");
    assert!(
        explanation.checks[1]
            .reasons
            .iter()
            .any(|r| r.starts_with("ou is \"CN=Users,") && r.contains("within")),
        "{:?}",
        explanation.checks[1]
    );

    // The city wins over the office once it is set.
    set_attrs(&dc, &account.dn, &[("l", "Paris")]).await;
    let found = facts(&directories, &account.upn).await.expect("by UPN");
    assert_eq!(found.location, "Paris");

    let missing = facts(&directories, "LAB\\no-such-user-rt").await;
    assert!(
        matches!(missing, Err(DirectoryError::NotFound(_))),
        "{missing:?}"
    );
}
