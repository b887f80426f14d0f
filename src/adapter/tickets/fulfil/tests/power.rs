//! VDI power recipes: every power action, every way of naming a machine, and the refusals
//! (wrong group, unknown, ambiguous, unmanaged, shared multi-session machines).

use serde_json::json;

use super::*;

#[test]
fn power_actions_map_to_machine_jobs_by_any_machine_name() {
    let sites = [london()];
    for (name, action, job, params) in [
        (
            "VDI-LON-0006",
            "Restart",
            "machine.restart",
            json!({"force": false}),
        ),
        (
            "lab\\vdi-lon-0006",
            "shutdown",
            "machine.shutdown",
            json!({"force": false}),
        ),
        (
            "vdi-lon-0006.LAB.example",
            "TurnOn",
            "machine.start",
            json!({}),
        ),
        (" vdi-lon-0006 ", "turn on", "machine.start", json!({})),
        (
            "VDI-LON-0006",
            "Reset",
            "machine.restart",
            json!({"force": true}),
        ),
    ] {
        let plan = ok(&power_request(name, action, Some(DESKTOPS), None), &sites);
        assert_eq!(
            (plan.action, &plan.params),
            (job, &params),
            "{name} {action}"
        );
        assert_eq!(ids(&plan), [("london", "m6")]);
        assert_eq!(
            plan.targets[0].display,
            format!("LAB\\VDI-LON-0006 ({DESKTOPS})")
        );
    }
    let plan = ok(
        &power_request("VDI-LON-0004", "Restart", None, None),
        &sites,
    );
    assert_eq!(
        plan.summary,
        format!("Restart LAB\\VDI-LON-0004 ({DESKTOPS}) at site london, in use by LAB\\sam.smith")
    );
    let err = refused(
        &power_request("VDI-LON-0006", "Explode", None, None),
        &sites,
    );
    assert_eq!(
        err.to_string(),
        "The variable \"power_action\" is \"Explode\": expected Restart, Shutdown, TurnOn or Reset."
    );
}

#[test]
fn power_refuses_wrong_groups_unknown_and_ambiguous_machines() {
    let twin = vdi("t6", "VDI-LON-0006");
    let mut elsewhere = twin.clone();
    elsewhere.delivery_group = Some(Ref {
        id: "dg-dr".into(),
        name: "DR Desktops".into(),
    });
    let sites = [london(), site("dr", vec![elsewhere], Vec::new())];

    let err = refused(
        &power_request("VDI-LON-0006", "Restart", None, None),
        &sites,
    );
    let text = err.to_string();
    assert!(matches!(err, NotAutomatable::Unsafe { .. }), "{text}");
    assert!(text.contains("it names 2 machines (at 2 sites"), "{text}");
    assert!(
        text.contains("at site london") && text.contains("at site dr"),
        "{text}"
    );
    assert!(text.contains("or name its delivery group"), "{text}");
    // The delivery group picks one.
    let plan = ok(
        &power_request("VDI-LON-0006", "Restart", Some("dr desktops"), None),
        &sites,
    );
    assert_eq!(ids(&plan), [("dr", "t6")]);

    let err = refused(
        &power_request("VDI-LON-0004", "Restart", Some("DR Desktops"), None),
        &sites,
    );
    assert_eq!(
        err.to_string(),
        "Nothing to act on: no machine named \"VDI-LON-0004\" is in the delivery group \
         \"DR Desktops\"; found LAB\\VDI-LON-0004 in London Pooled Desktops at site london."
    );
    let err = refused(
        &power_request("LON-W11-0042", "Restart", None, None),
        &sites,
    );
    assert_eq!(
        err.to_string(),
        "Nothing to act on: no machine is named \"LON-W11-0042\" at any site searched \
         (london, dr)."
    );
    let err = refused(&power_request("LON-W11-0042", "Restart", None, None), &[]);
    assert!(
        err.to_string()
            .contains("no site's inventory has been fetched yet")
    );
}

#[test]
fn multi_session_machines_are_not_restarted_under_other_users() {
    let sites = [london()];
    for action in ["Restart", "Shutdown", "Reset"] {
        let err = refused(
            &power_request("XA-LON-01", action, None, Some(sam())),
            &sites,
        );
        let text = err.to_string();
        assert!(matches!(err, NotAutomatable::Unsafe { .. }), "{text}");
        assert!(
            text.contains(
                "LAB\\XA-LON-01 at site london is a multi-session machine with 1 session of \
                 1 other user (LAB\\bob.jones)"
            ),
            "{text}"
        );
        assert!(text.contains("maintenance mode"), "{text}");
        assert!(text.ends_with("A person should decide."), "{text}");
    }
    // Without a requester, every session counts as someone else's.
    let text = refused(&power_request("XA-LON-01", "Restart", None, None), &sites).to_string();
    assert!(text.contains("2 sessions of 2 other users"), "{text}");
    // Starting harms nobody.
    let plan = ok(&power_request("XA-LON-01", "TurnOn", None, None), &sites);
    assert_eq!(plan.action, "machine.start");

    // Only the requester's own session on it: allowed.
    let xa = server("x2", "XA-LON-02");
    let alone = [site(
        "london",
        vec![xa.clone()],
        vec![session("a1", "LAB\\sam.smith", &xa, &["Microsoft Word"])],
    )];
    let plan = ok(
        &power_request("XA-LON-02", "Restart", None, Some(sam())),
        &alone,
    );
    assert_eq!(ids(&plan), [("london", "x2")]);
}

#[test]
fn unmanaged_machines_and_missing_power_actions_are_refused() {
    let mut pc = vdi("w1", "WS-LON-001");
    pc.power_state = PowerState::Unmanaged;
    pc.supported_power_actions.clear();
    let mut no_reset = vdi("n1", "VDI-LON-0100");
    no_reset
        .supported_power_actions
        .retain(|a| *a != SupportedPowerAction::Reset);
    let sites = [site("london", vec![pc, no_reset], Vec::new())];
    let err = refused(&power_request("WS-LON-001", "Restart", None, None), &sites);
    assert!(
        err.to_string()
            .contains("LAB\\WS-LON-001 is not power managed by its site"),
        "{err}"
    );
    let err = refused(&power_request("VDI-LON-0100", "Reset", None, None), &sites);
    assert!(
        err.to_string()
            .contains("does not support Reset; it supports PowerOn, PowerOff, Shutdown, Restart"),
        "{err}"
    );
    ok(
        &power_request("VDI-LON-0100", "Restart", None, None),
        &sites,
    );
}
