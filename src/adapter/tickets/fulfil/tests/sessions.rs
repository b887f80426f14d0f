//! Session resets (own and others'), troubleshooting, the items without a recipe, and the
//! refusals over missing or mismatched people and variables.

use serde_json::json;

use super::*;

#[test]
fn reset_a_session_logs_off_the_requesters_desktop_only() {
    let sites = [london()];
    let req = request(
        "Reset a session",
        &[
            ("requested_for", "0123456789abcdef0123456789abcdef"),
            ("session_type", "desktop"),
            // Admins rename variables' case; values come as typed.
            ("Resource_Name", "  london POOLED   desktops "),
        ],
        Some(sam()),
    );
    let plan = ok(&req, &sites);
    assert_eq!(plan.action, "session.logoff");
    assert_eq!(ids(&plan), [("london", "s1")]);
    assert_eq!(plan.params, json!({}));
    assert!(plan.summary.contains("LAB\\sam.smith"), "{}", plan.summary);
    assert!(plan.summary.contains("VDI-LON-0004"), "{}", plan.summary);
    assert!(plan.targets[0].display.contains(DESKTOPS));
}

#[test]
fn the_requester_is_found_by_sam_domain_name_or_email() {
    let sites = [london()];
    let by = |user_name: &str, email: &str| {
        let person = Person {
            user_name: user_name.to_owned(),
            email: email.to_owned(),
            ..sam()
        };
        let req = request(
            "reset a session",
            &[("resource_name", "Microsoft Word")],
            Some(person),
        );
        ids(&ok(&req, &sites))
            .into_iter()
            .map(|(_, id)| id.to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(by("SAM.SMITH", ""), ["s2"]);
    assert_eq!(by("lab\\sam.smith", ""), ["s2"]);
    assert_eq!(by("", "Sam.Smith@Lab.Example"), ["s2"]);
}

#[test]
fn resources_match_by_group_application_or_machine_whole_names() {
    let sites = [london()];
    let reset = |resource: &str, kind: &str| {
        let mut vars = vec![("resource_name", resource)];
        if !kind.is_empty() {
            vars.push(("session_type", kind));
        }
        plan(&request("Reset a session", &vars, Some(sam())), &sites)
    };
    let hit = |resource: &str| reset(resource, "").map(|p| p.targets[0].id.clone());
    assert_eq!(hit("microsoft word"), Ok("s2".to_owned()));
    assert_eq!(hit("VDI-LON-0004"), Ok("s1".to_owned()));
    assert_eq!(hit("lab\\vdi-lon-0004"), Ok("s1".to_owned()));
    assert_eq!(hit(APPS), Ok("s2".to_owned()));
    // A part of a name is not a match: it could end an unrelated session.
    let err = reset("Word", "").expect_err("no partial match");
    let text = err.to_string();
    assert!(matches!(err, NotAutomatable::NothingFound { .. }));
    assert!(
        text.contains("Sam Smith (sam.smith, sam.smith@lab.example)"),
        "{text}"
    );
    assert!(text.contains("they have 2 sessions"), "{text}");
    assert!(
        text.contains("Application Microsoft Word on XA-LON-01 at site london"),
        "{text}"
    );
    // The session type narrows.
    let err = reset("Microsoft Word", "Desktop").expect_err("not a desktop");
    assert!(
        err.to_string().contains("none is a Desktop session"),
        "{err}"
    );
    let err = reset(DESKTOPS, "Published app").expect_err("bad type");
    assert_eq!(
        err.to_string(),
        "The variable \"session_type\" is \"Published app\": expected Desktop or Application."
    );
}

#[test]
fn reset_for_other_users_finds_the_user_by_upn_at_every_site() {
    let d = vdi("m9", "VDI-MAN-0009");
    let manchester = site(
        "manchester",
        vec![d.clone()],
        vec![session("s9", "LAB\\sam.smith", &d, &[])],
    );
    let sites = [london(), manchester];
    let req = request(
        "Reset a session for other users",
        &[
            ("target_user_upn", " Sam.Smith@LAB.example "),
            ("resource_name", DESKTOPS),
            ("reason", "stuck\nsince this morning"),
        ],
        None,
    );
    let plan = ok(&req, &sites);
    assert_eq!(ids(&plan), [("london", "s1"), ("manchester", "s9")]);
    assert!(
        plan.summary
            .starts_with("Log off 2 sessions of LAB\\sam.smith")
    );

    let nobody = request(
        "Reset a session for other users",
        &[
            ("target_user_upn", "sam@corp.example"),
            ("resource_name", DESKTOPS),
        ],
        None,
    );
    let text = refused(&nobody, &sites).to_string();
    assert!(
        text.contains(
            "sam@corp.example has no Citrix session at any site searched (london, manchester)"
        ),
        "{text}"
    );
    assert!(text.contains("matched by UPN"), "{text}");

    let bad = request(
        "Reset a session for other users",
        &[
            ("target_user_upn", "sam smith@lab.example"),
            ("resource_name", DESKTOPS),
        ],
        None,
    );
    assert!(matches!(
        refused(&bad, &sites),
        NotAutomatable::InvalidValue {
            name: "target_user_upn",
            ..
        }
    ));
}

#[test]
fn a_login_two_domains_share_is_refused_as_ambiguous() {
    let d = vdi("o1", "VDI-OTH-0001");
    let other = site(
        "other",
        vec![d.clone()],
        vec![session("o-s1", "OTHER\\sam.smith", &d, &[])],
    );
    let sites = [london(), other];
    let req = request(
        "Reset a session for other users",
        &[
            ("target_user_upn", "sam.smith"),
            ("resource_name", DESKTOPS),
        ],
        None,
    );
    let err = refused(&req, &sites);
    assert!(matches!(err, NotAutomatable::Unsafe { .. }));
    let text = err.to_string();
    assert!(text.contains("LAB\\sam.smith, OTHER\\sam.smith"), "{text}");
    assert!(text.contains("name the user by UPN"), "{text}");
}

fn troubleshoot(action: &str, resource: &str) -> CatalogRequest {
    request(
        "Troubleshoot and report app and desktop failures",
        &[
            ("requested_for", "0123456789abcdef0123456789abcdef"),
            ("resource_name", resource),
            ("action", action),
            ("issue_description", "Frozen after lunch"),
        ],
        Some(sam()),
    )
}

#[test]
fn troubleshooting_resets_sessions_or_restarts_the_users_vdi() {
    let sites = [london()];
    let plan = ok(&troubleshoot("Reset sessions", "Microsoft Word"), &sites);
    assert_eq!(
        (plan.action, ids(&plan)),
        ("session.logoff", vec![("london", "s2")])
    );

    let plan = ok(&troubleshoot("power_manage_vda_machines", DESKTOPS), &sites);
    assert_eq!(plan.action, "machine.restart");
    assert_eq!(plan.params, json!({"force": false}));
    assert_eq!(ids(&plan), [("london", "m4")]);
    assert!(
        plan.summary.contains("VDI-LON-0004 at site london"),
        "{}",
        plan.summary
    );

    let err = refused(
        &troubleshoot("Power manage VDA machines", "Microsoft Word"),
        &sites,
    );
    let text = err.to_string();
    assert!(matches!(err, NotAutomatable::Unsafe { .. }), "{text}");
    assert!(
        text.contains("LAB\\XA-LON-01 at site london, a multi-session machine"),
        "{text}"
    );
    assert!(text.contains("Reset sessions"), "{text}");

    let err = refused(&troubleshoot("Report issues", DESKTOPS), &sites);
    assert_eq!(
        err.to_string(),
        "A person needs to look: Sam Smith (sam.smith, sam.smith@lab.example) reported a \
         problem with \"London Pooled Desktops\"; a report is for a person to investigate, not \
         an action to run."
    );
    let err = refused(&troubleshoot("Reinstall", DESKTOPS), &sites);
    assert!(matches!(
        err,
        NotAutomatable::InvalidValue { name: "action", .. }
    ));
}

#[test]
fn other_items_are_not_yet_or_unknown_with_a_reason() {
    let sites = [london()];
    // The workflow items have recipes; planned without the directory lookup they need
    // (src/adapter/tickets/fulfil/lookup.rs), they are refused with a reason, never guessed.
    for item in [
        "Request a desktop",
        "Request applications",
        "Unlock my account",
        "New hire onboarding",
        "Process employee separation",
    ] {
        let err = refused(&request(item, &[], Some(sam())), &sites);
        assert!(
            !matches!(
                err,
                NotAutomatable::NotYet { .. } | NotAutomatable::UnknownItem { .. }
            ),
            "{item}: {err}"
        );
        assert_eq!(recipe_for(item), Some(item));
    }
    let err = refused(&request("Order a laptop", &[], None), &sites);
    assert_eq!(
        err.to_string(),
        "deskbridge has no recipe for the catalog item \"Order a laptop\"; it fulfils only: \
         Reset a session, Reset a session for other users, Power manage VDI desktops, \
         Troubleshoot and report app and desktop failures, Reset my password, Request a \
         desktop, Request applications, Unlock my account, New hire onboarding, Process \
         employee separation. Fulfil this request by hand."
    );
    assert_eq!(recipe_names().len(), 10);
    for name in recipe_names() {
        assert_eq!(recipe_for(&name.to_uppercase()), Some(*name));
    }
    assert_eq!(recipe_for("  reset MY password"), Some("Reset my password"));
}

#[test]
fn missing_people_variables_and_mismatched_requesters_are_refused() {
    let sites = [london()];
    let err = refused(
        &request("Reset a session", &[("requested_for", "x")], Some(sam())),
        &sites,
    );
    assert_eq!(
        err.to_string(),
        "The request has no value for the variable \"resource_name\", which \"Reset a session\" \
         needs; fill it in or fulfil the request by hand."
    );
    let err = refused(
        &request("Reset a session", &[("resource_name", DESKTOPS)], None),
        &sites,
    );
    assert!(matches!(
        err,
        NotAutomatable::MissingVariable {
            name: "requested_for",
            ..
        }
    ));
    let blank = request("Reset a session", &[("resource_name", "   ")], Some(sam()));
    assert!(matches!(
        refused(&blank, &sites),
        NotAutomatable::MissingVariable {
            name: "resource_name",
            ..
        }
    ));
    // The person looked up must be the one the variable names.
    let wrong = request(
        "Reset a session",
        &[
            ("requested_for", "ffffffffffffffffffffffffffffffff"),
            ("resource_name", DESKTOPS),
        ],
        Some(sam()),
    );
    let err = refused(&wrong, &sites);
    assert!(matches!(err, NotAutomatable::Unsafe { .. }));
    assert!(
        err.to_string().contains("the wrong user's sessions"),
        "{err}"
    );
    // A user ServiceNow knows by name only cannot be matched to sessions.
    let nameless = Person {
        user_name: String::new(),
        email: " ".into(),
        ..sam()
    };
    let req = request(
        "Reset a session",
        &[("resource_name", DESKTOPS)],
        Some(nameless),
    );
    assert!(
        refused(&req, &sites)
            .to_string()
            .contains("neither a user name nor an email")
    );
    // A user with no sessions: the note says so, and where it looked.
    let idle = Person {
        user_name: "ann.lee".into(),
        email: "ann.lee@lab.example".into(),
        ..sam()
    };
    let req = request(
        "Reset a session",
        &[("resource_name", DESKTOPS)],
        Some(idle),
    );
    assert_eq!(
        refused(&req, &sites).to_string(),
        "Nothing to act on: Sam Smith (ann.lee, ann.lee@lab.example) has no Citrix session at \
         any site searched (london)."
    );
}

#[test]
fn long_values_are_shortened_in_notes() {
    let long = "x".repeat(300);
    let err = refused(&power_request(&long, "Restart", None, None), &[london()]);
    let text = err.to_string();
    assert!(text.len() < 250, "{text}");
    assert!(text.contains('…'), "{text}");
}
