//! The workflow recipes (desktop, applications, unlock, onboarding, separation) over a
//! hand-built lookup: the job each request makes (action, target, params the engine accepts)
//! and every refusal with its sentence.

use chrono::NaiveDate;
use serde_json::json;

use super::*;
use crate::adapter::routing::Route;
use crate::adapter::workflows::{WorkflowKind, params::parse_request};
use crate::config::{PersistentDesktop, PooledDesktop};
use crate::directory::Account;

const ALICE: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const BOSS: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const POOLED: &str = "London Pooled Desktops";
const STATIC: &str = "London Persistent Desktops";

fn alice() -> Person {
    Person {
        sys_id: ALICE.to_owned(),
        user_name: "alice.smith".to_owned(),
        email: "alice.smith@lab.example".to_owned(),
        name: "Alice Smith".to_owned(),
    }
}

fn boss() -> Person {
    Person {
        sys_id: BOSS.to_owned(),
        user_name: "bob.jones".to_owned(),
        email: "bob.jones@lab.example".to_owned(),
        name: "Bob Jones".to_owned(),
    }
}

fn request(item: &str, vars: &[(&str, &str)]) -> CatalogRequest {
    CatalogRequest {
        item: item.to_owned(),
        variables: vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        requested_for: Some(alice()),
    }
}

fn account(sam: &str) -> Account {
    Account {
        sam_name: sam.to_owned(),
        domain: "LAB".to_owned(),
        upn: format!("{sam}@lab.example"),
        mail: format!("{sam}@lab.example"),
        display_name: "Alice Smith".to_owned(),
        ..Account::default()
    }
}

fn route() -> Route {
    Route {
        rule: "office-london".to_owned(),
        site: "London".to_owned(),
        pooled_desktop: Some(PooledDesktop::DeliveryGroup(POOLED.to_owned())),
        persistent_desktop: Some(PersistentDesktop {
            delivery_group: STATIC.to_owned(),
            catalog: "LDN Win11 Persistent".to_owned(),
            naming: None,
        }),
        apps: vec!["Office Suite".to_owned()],
        groups: vec!["Citrix Desktop Users".to_owned()],
    }
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).expect("a date")
}

/// What the lookup would have found: `user`'s account (or none), routed by [`route`], the
/// request opened by Bob Jones, in the one directory LAB (which can create accounts).
fn context(user: &str, found: Option<Account>) -> Context {
    Context {
        domains: vec!["LAB".to_owned()],
        can_create: vec!["LAB".to_owned()],
        today: Some(today()),
        people: [(BOSS.to_owned(), boss())].into_iter().collect(),
        opened_by: Some(BOSS.to_owned()),
        subject: Some(Subject {
            domain: "LAB".to_owned(),
            user: user.to_owned(),
            account: found,
            route: Some(route()),
            routed_apps: Some(vec![
                "Microsoft Word".to_owned(),
                "Word".to_owned(),
                "Microsoft Excel".to_owned(),
            ]),
            ..Subject::default()
        }),
        runbook: None,
    }
}

fn alice_ctx() -> Context {
    context("alice.smith", Some(account("alice.smith")))
}

fn planned(request: &CatalogRequest, ctx: &Context) -> Plan {
    let plan = plan_with(request, &[], ctx).unwrap_or_else(|e| panic!("{}: {e}", request.item));
    // Whatever a recipe makes, the engine takes: a known action, params it accepts.
    assert!(actions::lookup(plan.action).is_some(), "{}", plan.action);
    if let Some(kind) = WorkflowKind::from_action(plan.action) {
        parse_request(kind, &plan.params).unwrap_or_else(|e| panic!("{e}: {}", plan.params));
    }
    plan
}

fn refused(request: &CatalogRequest, ctx: &Context) -> NotAutomatable {
    match plan_with(request, &[], ctx) {
        Ok(plan) => panic!("{} was not refused: {plan:?}", request.item),
        Err(e) => e,
    }
}

fn only_target(plan: &Plan) -> (&str, &str) {
    assert_eq!(plan.targets.len(), 1, "{plan:?}");
    (plan.targets[0].site.as_str(), plan.targets[0].id.as_str())
}

#[test]
fn a_desktop_request_is_pooled_or_persistent_by_the_routed_group_and_records_the_requester() {
    let ctx = alice_ctx();
    for (chosen, action) in [
        (Some("  london pooled DESKTOPS "), "request.pooled_desktop"),
        (Some(STATIC), "request.persistent_desktop"),
        (None, "request.pooled_desktop"),
    ] {
        let mut vars = vec![("requested_for", ALICE)];
        if let Some(c) = chosen {
            vars.push(("delivery_group", c));
        }
        let plan = planned(&request("Request a desktop", &vars), &ctx);
        assert_eq!(plan.action, action, "{chosen:?}");
        assert_eq!(only_target(&plan), ("LAB", "alice.smith"));
        assert_eq!(plan.params, json!({ "requester": "LAB\\bob.jones" }));
        assert!(
            plan.summary.contains("asked by LAB\\bob.jones"),
            "{}",
            plan.summary
        );
        assert!(plan.summary.contains("office-london"), "{}", plan.summary);
    }
    // Ordered by the person themself: no requester.
    let mut own = alice_ctx();
    own.opened_by = Some(ALICE.to_owned());
    let plan = planned(
        &request("Request a desktop", &[("requested_for", ALICE)]),
        &own,
    );
    assert_eq!(plan.params, json!({}));
}

#[test]
fn a_desktop_the_route_does_not_give_is_left_to_a_person() {
    let err = refused(
        &request(
            "Request a desktop",
            &[
                ("requested_for", ALICE),
                ("delivery_group", "Virginia Pooled Desktops"),
            ],
        ),
        &alice_ctx(),
    );
    assert!(
        matches!(
            err,
            NotAutomatable::InvalidValue {
                name: "delivery_group",
                ..
            }
        ),
        "{err}"
    );
    let text = err.to_string();
    for part in [
        "Virginia Pooled Desktops",
        POOLED,
        STATIC,
        "office-london",
        "routing decides",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
    // A route that gives the pooled desktop through an AD group: a delivery group that admits
    // the group is the routed one, another is not.
    let mut ctx = alice_ctx();
    if let Some(s) = ctx.subject.as_mut() {
        if let Some(r) = s.route.as_mut() {
            r.pooled_desktop = Some(PooledDesktop::AccessGroup("Citrix Desktop Users".into()));
        }
        s.admits = Some(true);
    }
    let vars = [
        ("requested_for", ALICE),
        ("delivery_group", "Cloud Desktops"),
    ];
    let plan = planned(&request("Request a desktop", &vars), &ctx);
    assert_eq!(plan.action, "request.pooled_desktop");
    if let Some(s) = ctx.subject.as_mut() {
        s.admits = Some(false);
    }
    let err = refused(&request("Request a desktop", &vars), &ctx);
    assert!(err.to_string().contains("AD group"), "{err}");
}

#[test]
fn applications_outside_the_routed_groups_are_named_and_left_to_a_person() {
    let plan = planned(
        &request(
            "Request applications",
            &[
                ("requested_for", ALICE),
                ("applications", "Microsoft Word, word,Microsoft Excel"),
            ],
        ),
        &alice_ctx(),
    );
    assert_eq!(plan.action, "request.apps");
    assert_eq!(only_target(&plan), ("LAB", "alice.smith"));
    assert_eq!(plan.params, json!({ "requester": "LAB\\bob.jones" }));
    assert!(plan.summary.contains("Office Suite"), "{}", plan.summary);

    let err = refused(
        &request(
            "Request applications",
            &[
                ("requested_for", ALICE),
                ("applications", "Microsoft Word,SAP GUI,Epic Hyperspace"),
            ],
        ),
        &alice_ctx(),
    );
    let text = err.to_string();
    assert!(
        text.contains("\"SAP GUI\"") && text.contains("\"Epic Hyperspace\""),
        "{text}"
    );
    assert!(
        !text.contains("Microsoft Word"),
        "only the missing ones: {text}"
    );
    assert!(text.contains("Office Suite"), "{text}");

    let err = refused(
        &request("Request applications", &[("requested_for", ALICE)]),
        &alice_ctx(),
    );
    assert!(
        matches!(
            err,
            NotAutomatable::MissingVariable {
                name: "applications",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn unlock_targets_the_requested_for_account_and_nothing_else() {
    let mut locked = account("alice.smith");
    locked.locked = true;
    let plan = planned(
        &request("Unlock my account", &[("requested_for", ALICE)]),
        &context("alice.smith", Some(locked)),
    );
    assert_eq!(plan.action, "account.unlock");
    assert_eq!(only_target(&plan), ("LAB", "alice.smith"));
    assert_eq!(plan.params, json!({}));
    assert!(
        plan.summary.contains("asked by LAB\\bob.jones"),
        "{}",
        plan.summary
    );

    let err = refused(
        &request("Unlock my account", &[("requested_for", ALICE)]),
        &context("alice.smith", None),
    );
    assert!(matches!(err, NotAutomatable::NothingFound { .. }), "{err}");
    assert!(err.to_string().contains("no account alice.smith"), "{err}");

    // The variable names someone other than the person looked up.
    let err = refused(
        &request("Unlock my account", &[("requested_for", BOSS)]),
        &alice_ctx(),
    );
    assert!(matches!(err, NotAutomatable::Unsafe { .. }), "{err}");

    // Without the lookup, nothing is guessed.
    let err = refused(
        &request("Unlock my account", &[("requested_for", ALICE)]),
        &Context {
            domains: vec!["LAB".into()],
            ..Context::default()
        },
    );
    assert!(
        err.to_string().contains("did not look LAB\\alice.smith up"),
        "{err}"
    );
}

#[test]
fn several_directories_are_told_apart_by_the_users_domain() {
    let two = vec!["CORP".to_owned(), "LAB".to_owned()];
    let mut ctx = alice_ctx();
    ctx.domains = two.clone();
    // alice.smith@lab.example: LAB.
    let plan = planned(
        &request("Unlock my account", &[("requested_for", ALICE)]),
        &ctx,
    );
    assert_eq!(only_target(&plan), ("LAB", "alice.smith"));
    // No domain anywhere: which directory is a person's call.
    let mut req = request("Unlock my account", &[("requested_for", ALICE)]);
    if let Some(p) = req.requested_for.as_mut() {
        p.email = "alice@example.org".to_owned();
    }
    let err = refused(&req, &ctx);
    assert!(err.to_string().contains("CORP, LAB"), "{err}");
    // DOMAIN\sam as the ServiceNow user name says it.
    if let Some(p) = req.requested_for.as_mut() {
        p.user_name = "lab\\alice.smith".to_owned();
    }
    assert_eq!(only_target(&planned(&req, &ctx)), ("LAB", "alice.smith"));
}

fn hire(extra: &[(&'static str, &'static str)]) -> CatalogRequest {
    let mut vars = vec![
        ("first_name", "José"),
        ("last_name", "Núñez-García"),
        ("department", "Finance"),
        ("office", "London"),
        ("manager", BOSS),
        ("start_date", "2026-11-27"),
        ("delivery_group", POOLED),
        ("applications", "Microsoft Word"),
    ];
    for (k, v) in extra {
        vars.retain(|(name, _)| name != k);
        if !v.is_empty() {
            vars.push((k, v));
        }
    }
    let mut r = request("New hire onboarding", &vars);
    r.requested_for = Some(boss());
    r
}

#[test]
fn onboarding_creates_first_dot_last_with_the_routed_resources_for_the_manager() {
    let ctx = context("jose.nunezgarcia", None);
    let plan = planned(&hire(&[]), &ctx);
    assert_eq!(plan.action, "user.onboard");
    assert_eq!(only_target(&plan), ("LAB", "jose.nunezgarcia"));
    assert_eq!(
        plan.params,
        json!({
            "person": {
                "given_name": "José", "surname": "Núñez-García",
                "display_name": "José Núñez-García",
                "department": "Finance", "location": "London",
            },
            "include": ["pooled_desktop", "apps"],
            "requester": "LAB\\bob.jones",
        })
    );
    assert!(plan.summary.contains("shown once"), "{}", plan.summary);
    // The persistent group chosen, no applications.
    let ctx = context("jose.nunezgarcia", None);
    let plan = planned(
        &hire(&[("delivery_group", STATIC), ("applications", "")]),
        &ctx,
    );
    assert_eq!(plan.params["include"], json!(["persistent_desktop"]));
}

#[test]
fn onboarding_refuses_a_typed_password_a_taken_name_a_later_start_and_a_directory_that_cannot_create()
 {
    let ctx = context("jose.nunezgarcia", None);
    let secret = "Welcome-4242!";
    let err = refused(&hire(&[("initial_password", secret)]), &ctx);
    let text = err.to_string();
    assert!(text.contains("generates the initial password"), "{text}");
    assert!(
        !text.contains(secret) && !format!("{err:?}").contains(secret),
        "{text}"
    );
    assert!(!format!("{:?}", hire(&[("initial_password", secret)])).contains(secret));

    let err = refused(
        &hire(&[]),
        &context("jose.nunezgarcia", Some(account("jose.nunezgarcia"))),
    );
    assert!(err.to_string().contains("already exists"), "{err}");
    assert!(err.to_string().contains("choose a name"), "{err}");

    let err = refused(&hire(&[("start_date", "2026-12-14")]), &ctx);
    assert!(matches!(err, NotAutomatable::NotYet { .. }), "{err}");
    assert!(
        err.to_string().contains("fulfil on or after 2026-12-14"),
        "{err}"
    );
    let err = refused(&hire(&[("start_date", "next monday")]), &ctx);
    assert!(
        matches!(
            err,
            NotAutomatable::InvalidValue {
                name: "start_date",
                ..
            }
        ),
        "{err}"
    );

    let mut identity = context("jose.nunezgarcia", None);
    identity.can_create.clear();
    let err = refused(&hire(&[]), &identity);
    assert!(err.to_string().contains("cannot create accounts"), "{err}");

    let err = refused(&hire(&[("applications", "SAP GUI")]), &ctx);
    assert!(err.to_string().contains("\"SAP GUI\""), "{err}");
    let err = refused(&hire(&[("delivery_group", "Paris Desktops")]), &ctx);
    assert!(
        matches!(
            err,
            NotAutomatable::InvalidValue {
                name: "delivery_group",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn account_names_are_lower_case_ascii_first_dot_last() {
    for (first, last, sam) in [
        ("Amelia", "Hartmann", "amelia.hartmann"),
        ("Zoë", "O'Brien", "zoe.obrien"),
        ("Jürgen", "Weiß", "jurgen.weiss"),
        ("Maximilian-Alexander", "Oberhauser", "maximilianalexander"),
    ] {
        assert_eq!(
            onboard::new_account_name(first, last).expect("a name"),
            sam,
            "{first} {last}"
        );
    }
    assert!(onboard::new_account_name("李", "Wei").is_err());
}

fn leaver(choice: &'static str, last_day: &'static str) -> CatalogRequest {
    let mut r = request(
        "Process employee separation",
        &[
            ("departing_user_upn", "alice.smith@lab.example"),
            ("requested_for", ALICE),
            ("last_day", last_day),
            ("deprovisioning_type", choice),
        ],
    );
    r.requested_for = Some(alice());
    r
}

#[test]
fn separation_maps_the_deprovisioning_choice_and_waits_for_the_last_day() {
    let ctx = context("alice.smith@lab.example", Some(account("alice.smith")));
    for (choice, machines) in [
        ("Delete desktop", "delete"),
        ("Keep desktop but remove user assignment", "unassign"),
    ] {
        let plan = planned(&leaver(choice, "2026-11-26"), &ctx);
        assert_eq!(plan.action, "user.offboard");
        assert_eq!(only_target(&plan), ("LAB", "alice.smith"));
        assert_eq!(
            plan.params,
            json!({ "machines": machines, "requester": "LAB\\bob.jones" })
        );
    }
    let err = refused(&leaver("Wipe everything", "2026-11-26"), &ctx);
    assert!(
        matches!(
            err,
            NotAutomatable::InvalidValue {
                name: "deprovisioning_type",
                ..
            }
        ),
        "{err}"
    );
    let err = refused(&leaver("Delete desktop", "2026-11-27"), &ctx);
    assert!(matches!(err, NotAutomatable::NotYet { .. }), "{err}");
    assert!(err.to_string().contains("on or after 2026-11-28"), "{err}");

    // The UPN and the reference name two people.
    let mut two = leaver("Delete desktop", "2026-11-26");
    two.requested_for = Some(boss());
    two.variables.insert("requested_for".into(), BOSS.into());
    let err = refused(&two, &ctx);
    assert!(matches!(err, NotAutomatable::Unsafe { .. }), "{err}");
    // Only the reference: its account.
    let mut by_ref = leaver("Delete desktop", "2026-11-26");
    by_ref.variables.remove("departing_user_upn");
    let plan = planned(&by_ref, &alice_ctx());
    assert_eq!(only_target(&plan), ("LAB", "alice.smith"));
}
