//! Binding a run's parameters, substituting them into steps, and conditions.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use super::super::*;
use super::load_one;

const RUNBOOK: &str = r#"name = "mixed"
role = "admin"

[[params]]
name = "site"
type = "site"
required = true

[[params]]
name = "count"
type = "int"
default = 3

[[params]]
name = "force"
type = "bool"
default = false

[[params]]
name = "after"
type = "duration"
default = "2h"

[[params]]
name = "group"
type = "delivery_group"

[[params]]
name = "who"
type = "user"

[[params]]
name = "note"
type = "string"

[[steps]]
name = "restart"
action = "machine.restart"
params = { force = "{{force}}" }
select = { machines = { site = "{{site}}", delivery_group = "{{group}}", name_prefix = "VDI-{{note}}" } }
wait = "{{after}}"

[[steps]]
name = "tell"
action = "session.message"
params = { title = "Hello {{who}}", text = "{{note}}" }
select = { sessions = { site = "london", user = "{{who}}", older_than = "{{after}}" } }
when = "steps.restart.succeeded >= 2"
"#;

/// The configured sites `bind` checks against.
fn config() -> &'static [&'static str] {
    super::SITES
}

fn runbook() -> Runbook {
    load_one("mixed", RUNBOOK).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn bind_applies_defaults_and_checks_types() {
    let rb = runbook();
    let values = bind_with_sites(
        &rb,
        &json!({ "site": "london", "who": "LAB\\alice" }),
        config(),
    )
    .expect("binds");
    assert_eq!(values.get("count"), Some(&ParamValue::Int(3)));
    assert_eq!(values.get("force"), Some(&ParamValue::Bool(false)));
    assert_eq!(
        values.get("after"),
        Some(&ParamValue::Duration(Duration::from_secs(7200)))
    );
    assert_eq!(values.get("group"), None, "optional and not given");
    // What a job stores binds again to the same values.
    assert_eq!(
        bind_with_sites(&rb, &values.to_json(), config()),
        Ok(values)
    );
}

#[test]
fn catalog_variables_arrive_as_strings_and_are_converted() {
    let rb = runbook();
    let values = bind_with_sites(
        &rb,
        &json!({ "site": "daas-eu", "count": "7", "force": "true", "after": "90s", "group": "" }),
        config(),
    )
    .expect("binds");
    assert_eq!(values.get("count"), Some(&ParamValue::Int(7)));
    assert_eq!(values.get("force"), Some(&ParamValue::Bool(true)));
    assert_eq!(
        values.get("after"),
        Some(&ParamValue::Duration(Duration::from_secs(90)))
    );
    assert_eq!(values.get("group"), None, "an empty variable is not given");
}

#[test]
fn bind_names_every_problem() {
    let rb = runbook();
    let err = bind_with_sites(
        &rb,
        &json!({ "count": "many", "force": 1, "after": "soon", "who": "alice", "colour": "red" }),
        config(),
    )
    .expect_err("bad parameters");
    for says in [
        "no parameter \"colour\"",
        "params.count must be a whole number",
        "params.force must be true or false",
        "params.after",
        "a user is written DOMAIN\\sam",
        "needs params.site",
    ] {
        assert!(err.contains(says), "{err} should say {says}");
    }
    let err =
        bind_with_sites(&rb, &json!({ "site": "paris" }), config()).expect_err("unknown site");
    assert!(
        err.contains("\"paris\", which is not a configured site; the sites: london, daas-eu"),
        "{err}"
    );
    let err = bind_with_sites(&rb, &json!(["london"]), config()).expect_err("not an object");
    assert!(err.contains("must be a JSON object"), "{err}");
}

#[test]
fn resolve_substitutes_typed_values_and_drops_absent_ones() {
    let rb = runbook();
    let values = bind_with_sites(
        &rb,
        &json!({ "site": "london", "force": true, "note": "x1" }),
        config(),
    )
    .expect("binds");
    let step = resolve(&rb.steps[0], &values).expect("resolves");
    assert_eq!(
        step.params,
        json!({ "force": true }),
        "a whole placeholder keeps its type"
    );
    assert_eq!(step.wait, Some(Duration::from_secs(7200)));
    let Selection::Machines(q) = &step.select else {
        panic!("machines")
    };
    assert_eq!(q.site, "london");
    assert_eq!(
        q.delivery_group, None,
        "an absent optional parameter drops the filter"
    );
    assert_eq!(q.name_prefix.as_deref(), Some("VDI-x1"));

    let step = resolve(&rb.steps[1], &values).expect("resolves");
    // Text substitution; the absent user makes an empty title part and no user filter.
    assert_eq!(step.params, json!({ "title": "Hello ", "text": "x1" }));
    let Selection::Sessions(q) = &step.select else {
        panic!("sessions")
    };
    assert_eq!(q.user, None);
    assert_eq!(
        q.older_than,
        Some(Field::Value(Dur(Duration::from_secs(7200))))
    );
}

#[test]
fn resolve_checks_the_actions_parameters_before_anything_runs() {
    let rb = runbook();
    // No note: session.message gets no text, which the action refuses.
    let values = bind_with_sites(&rb, &json!({ "site": "london" }), config()).expect("binds");
    let err = resolve(&rb.steps[1], &values).expect_err("empty text");
    assert!(err.starts_with("step \"tell\": "), "{err}");
    assert!(err.contains("session.message needs params.text"), "{err}");
}

#[test]
fn placeholders_are_parsed_strictly() {
    assert_eq!(placeholders("a {{x}} b {{ y_2 }}"), Ok(vec!["x", "y_2"]));
    assert!(placeholders("a {{x").is_err());
    assert!(placeholders("{{two words}}").is_err());
    assert_eq!(whole_placeholder(" {{site}} "), Some("site"));
    assert_eq!(whole_placeholder("x{{site}}"), None);
}

#[test]
fn conditions_compare_step_results_and_parameters() {
    let rb = runbook();
    let values =
        bind_with_sites(&rb, &json!({ "site": "london", "note": "hi" }), config()).expect("binds");
    let mut results = BTreeMap::new();
    let when = rb.steps[1].when.clone().expect("a condition");
    // The restart step has not run (or was skipped): zeros.
    assert_eq!(condition_holds(&when, &values, &results), Ok(false));
    results.insert(
        "restart".to_owned(),
        StepResult {
            targets: 3,
            succeeded: 2,
            failed: 1,
        },
    );
    assert_eq!(condition_holds(&when, &values, &results), Ok(true));

    let holds = |text: &str| {
        let c = condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        condition_holds(&c, &values, &results)
    };
    assert_eq!(holds("params.count == 3"), Ok(true));
    assert_eq!(holds("params.count > 3"), Ok(false));
    assert_eq!(holds("params.force != true"), Ok(true));
    assert_eq!(holds("params.after >= \"2h\""), Ok(true));
    assert_eq!(holds("params.after < \"90m\""), Ok(false));
    assert_eq!(holds("params.note == \"hi\""), Ok(true));
    assert_eq!(
        holds("params.group == \"\""),
        Ok(true),
        "absent text is empty"
    );
    assert_eq!(holds("steps.restart.failed<=0"), Ok(false));
    assert!(holds("params.count == \"three\"").is_err());
}

#[test]
fn conditions_with_bad_grammar_or_types_are_refused() {
    for (text, says) in [
        ("params.x", "no comparison"),
        ("steps.drain > 1", "not a reference"),
        ("steps.drain.done > 0", "`targets`, `succeeded` or `failed`"),
        ("params.x == maybe", "not a value"),
        ("", "empty"),
        ("foo.bar == 1", "not a reference"),
    ] {
        let err = condition::parse(text).expect_err(text);
        assert!(err.contains(says), "{text}: {err}");
    }
    let rb = runbook();
    let names: Vec<&str> = rb.steps.iter().map(|s| s.name.as_str()).collect();
    for (text, says) in [
        ("params.force > true", "compare it with == or !="),
        ("params.count == \"3\"", "whole number"),
        ("params.note < \"b\"", "compare text with == or !="),
        ("params.nope == 1", "not a parameter"),
        ("steps.restart.failed == true", "is a count"),
        ("steps.tell.failed > 0", "own result"),
        ("steps.gone.failed > 0", "does not exist"),
    ] {
        let c = condition::parse(text).expect(text);
        let err = condition::check(&c, &rb.params, &names, 1).expect_err(text);
        assert!(err.contains(says), "{text}: {err}");
    }
}
