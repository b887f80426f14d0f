//! Tests of the action registry: parameters, roles, defaults.

use super::*;

#[test]
fn every_action_validates_its_parameters() {
    for spec in ACTIONS {
        assert!(lookup(spec.name).is_some());
    }
    assert_eq!(
        operation("machine.restart", &json!({"force": true})),
        Ok(Operation::Power {
            action: PowerAction::Reboot,
            force: true,
            if_idle: false,
        })
    );
    assert!(
        operation("machine.restart", &json!({"forse": true}))
            .unwrap_err()
            .contains("no parameter \"forse\"")
    );
    assert!(
        operation("machine.maintenance", &json!({}))
            .unwrap_err()
            .contains("needs params.on")
    );
    assert!(
        operation("machine.maintenance", &json!({"on": "yes"}))
            .unwrap_err()
            .contains("true or false")
    );
    assert!(
        operation("session.message", &json!({"title": "t"}))
            .unwrap_err()
            .contains("params.text")
    );
    assert!(
        operation(
            "session.message",
            &json!({"title": "t", "text": "x", "style": "Loud"})
        )
        .unwrap_err()
        .contains("Loud")
    );
    assert!(operation("session.logoff", &json!([1])).is_err());
    assert_eq!(
        operation("session.logoff", &Value::Null),
        Ok(Operation::Logoff {
            escalate_after: None
        })
    );
    assert!(
        operation("nope", &Value::Null)
            .unwrap_err()
            .contains("session.logoff")
    );
}

#[test]
fn roles_follow_the_brief() {
    for spec in ACTIONS {
        // Provisioning and offboarding are the brief's admin actions; so are account changes
        // beyond a reset or unlock.
        let admin = [
            "account.enable",
            "account.disable",
            "account.group_add",
            "account.group_remove",
            "request.persistent_desktop",
            "user.onboard",
            "user.offboard",
        ];
        let expected = if spec.name.starts_with("machine.") || admin.contains(&spec.name) {
            Role::Admin
        } else {
            Role::Helpdesk
        };
        assert_eq!(spec.role, expected, "{}", spec.name);
    }
}

#[test]
fn escalate_after_is_a_bounded_duration() {
    let op = operation("session.logoff", &json!({"escalate_after": " 2m "})).expect("valid");
    assert_eq!(
        op,
        Operation::Logoff {
            escalate_after: Some(Duration::from_secs(120))
        }
    );
    assert_eq!(normalized_params(&op), json!({"escalate_after": "2m"}));
    assert!(params_role(&op).is_some_and(|(role, _)| role == Role::Admin));
    let op = operation("session.logoff", &json!({"escalate_after": "90s"})).expect("valid");
    assert_eq!(normalized_params(&op), json!({"escalate_after": "90s"}));
    for (bad, says) in [
        (json!(120), "duration string"),
        (json!("2"), "not a duration"),
        (json!("2 minutes"), "not a duration"),
        (json!("-1m"), "not a duration"),
        (json!("0s"), "between 1s and 1h"),
        (json!("2h"), "between 1s and 1h"),
    ] {
        let message =
            operation("session.logoff", &json!({ "escalate_after": bad })).expect_err("refused");
        assert!(message.contains(says), "{bad}: {message}");
    }
    assert!(
        operation("user.logoff", &json!({"escalate_after": "2m"}))
            .unwrap_err()
            .contains("no parameter")
    );
    assert_eq!(
        params_role(&operation("session.logoff", &Value::Null).expect("valid")),
        None
    );
}

#[test]
fn normalized_params_fill_defaults() {
    let op = operation("machine.shutdown", &json!({})).expect("valid");
    assert_eq!(normalized_params(&op), json!({"force": false}));
    let op = operation("machine.start", &Value::Null).expect("valid");
    assert_eq!(normalized_params(&op), json!({}));
}

#[test]
fn if_idle_is_for_shutdowns_and_stored_only_when_set() {
    let op = operation("machine.shutdown", &json!({"if_idle": true})).expect("valid");
    assert_eq!(
        normalized_params(&op),
        json!({"force": false, "if_idle": true})
    );
    let plain = operation("machine.shutdown", &json!({})).expect("valid");
    assert_eq!(normalized_params(&plain), json!({"force": false}));
    let err = operation("machine.restart", &json!({"if_idle": true})).expect_err("shutdown only");
    assert!(err.contains("if_idle"), "{err}");
}
