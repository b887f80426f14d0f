//! Catalog items mapped to runbooks, planned against the runbooks the repository ships: the
//! `runbook.run` job and its parameters, variables left out (unmapped, masked), renames,
//! values the runbook refuses, and the start-up check of the mappings.

use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::adapter::runbooks::Runbooks;
use crate::config::RunbookItem;

const ITEM: &str = "Reset stale Citrix sessions";

fn shipped() -> Runbooks {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    Runbooks::load_with_sites(&dir, &["London"]).expect("the shipped runbooks load")
}

fn mapped(renames: &[(&str, &str)], masked: &[&str]) -> Mapped {
    Mapped {
        item: ITEM.to_owned(),
        name: "reset-disconnected".to_owned(),
        runbook: shipped().get("reset-disconnected").cloned(),
        variables: renames
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        masked: masked.iter().map(|m| (*m).to_owned()).collect(),
        sites: vec!["London".to_owned()],
        error: None,
    }
}

fn request(item: &str, vars: &[(&str, &str)]) -> CatalogRequest {
    CatalogRequest {
        item: item.to_owned(),
        variables: vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        requested_for: None,
    }
}

fn plan_mapped(request: &CatalogRequest, mapped: Mapped) -> Result<Plan, NotAutomatable> {
    let context = Context {
        runbook: Some(mapped),
        ..Context::default()
    };
    plan_with(request, &[], &context)
}

#[test]
fn a_mapped_item_plans_a_runbook_run_with_its_variables_as_parameters() {
    let req = request(
        "  reset STALE citrix sessions",
        &[
            ("site", " London "),
            ("older_than", "1m"),
            ("reason", "Monday clean-up"),
        ],
    );
    let plan = plan_mapped(&req, mapped(&[], &[])).expect("a plan");
    assert_eq!(plan.action, "runbook.run");
    assert_eq!(plan.targets.len(), 1);
    assert_eq!(plan.targets[0].site, "runbook");
    assert_eq!(plan.targets[0].id, "reset-disconnected");
    assert_eq!(plan.params, json!({ "site": "London", "older_than": "1m" }));
    assert!(plan.secret_params.is_empty());
    assert!(
        plan.summary.contains("runbook reset-disconnected")
            && plan.summary.contains("site=\"London\"")
            && plan.summary.contains("older_than=\"1m\""),
        "{}",
        plan.summary
    );
    // The variable the runbook has no parameter for is not passed, and the note says so.
    assert!(
        plan.summary.contains("variables not used: reason"),
        "{}",
        plan.summary
    );
    assert!(!plan.summary.contains("Monday"), "{}", plan.summary);
    // An empty variable is a parameter not given: the runbook's default applies.
    let req = request(ITEM, &[("site", "London"), ("older_than", "")]);
    let plan = plan_mapped(&req, mapped(&[], &[])).expect("a plan");
    assert_eq!(plan.params, json!({ "site": "London" }));
}

#[test]
fn a_masked_variable_is_never_passed_even_when_named_like_a_parameter() {
    let req = request(
        ITEM,
        &[
            ("site", "London"),
            ("older_than", "hunter2-secret"),
            ("group", ""),
        ],
    );
    let plan = plan_mapped(&req, mapped(&[], &["older_than"])).expect("a plan");
    assert_eq!(plan.params, json!({ "site": "London" }));
    assert!(
        plan.summary
            .contains("masked variables, never passed: older_than"),
        "{}",
        plan.summary
    );
    assert!(!plan.summary.contains("hunter2"), "{}", plan.summary);
    // A required parameter that only a masked variable gives: a person decides, told why.
    let req = request(ITEM, &[("site", "hunter2-secret")]);
    let refusal = plan_mapped(&req, mapped(&[], &["site"])).expect_err("refused");
    let note = refusal.to_string();
    assert!(note.contains("params.site"), "{note}");
    assert!(note.contains("masked variables are never passed"), "{note}");
    assert!(!note.contains("hunter2"), "{note}");
}

#[test]
fn renamed_variables_give_their_parameter_and_the_rename_wins() {
    let req = request(
        ITEM,
        &[("where", "London"), ("hours", "2h"), ("older_than", "9h")],
    );
    let plan = plan_mapped(
        &req,
        mapped(&[("where", "site"), ("hours", "older_than")], &[]),
    )
    .expect("a plan");
    assert_eq!(plan.params, json!({ "site": "London", "older_than": "2h" }));
    assert!(
        plan.summary.contains("variables not used: older_than"),
        "{}",
        plan.summary
    );
}

#[test]
fn values_the_runbook_refuses_leave_the_request_for_a_person() {
    for (vars, says) in [
        (vec![("site", "Paris")], "not a configured site"),
        (
            vec![("site", "London"), ("older_than", "soon")],
            "older_than",
        ),
        (vec![("older_than", "1h")], "needs params.site"),
    ] {
        let refusal = plan_mapped(&request(ITEM, &vars), mapped(&[], &[])).expect_err("refused");
        let note = refusal.to_string();
        assert!(note.contains("reset-disconnected"), "{note}");
        assert!(note.contains(says), "{says}: {note}");
    }
    // A runbook that is not loaded, or a failed lookup, is never guessed at.
    let mut gone = mapped(&[], &[]);
    gone.runbook = None;
    let note = plan_mapped(&request(ITEM, &[("site", "London")]), gone)
        .expect_err("refused")
        .to_string();
    assert!(note.contains("has not loaded"), "{note}");
    let mut failed = mapped(&[], &[]);
    failed.error = Some("ServiceNow did not answer".to_owned());
    let note = plan_mapped(&request(ITEM, &[("site", "London")]), failed)
        .expect_err("refused")
        .to_string();
    assert!(note.contains("ServiceNow did not answer"), "{note}");
}

#[test]
fn an_item_the_mapping_is_not_for_goes_to_the_recipes() {
    let req = request("Something else", &[("site", "London")]);
    let refusal = plan_mapped(&req, mapped(&[], &[])).expect_err("unknown");
    assert!(
        matches!(refusal, NotAutomatable::UnknownItem { .. }),
        "{refusal:?}"
    );
}

fn config_with(items: Vec<RunbookItem>) -> crate::config::AdapterConfig {
    let toml = r#"
data_dir = "/var/lib/deskbridge"

[[sites]]
name = "London"
kind = "onprem"
endpoints = ["https://ddc1.example.com"]
site_id = "site-1"
credentials = { username = 'CORP\svc', password = { env = "PW" } }

[[servicenow]]
name = "prod"
url = "https://acme.service-now.com"
auth = { method = "basic", username = "svc", password = { env = "PW" } }

[[servicenow.queues]]
name = "requests"
tables = ["sc_req_item"]
assignment_groups = ["Citrix Operations"]

[[clients]]
name = "console"
id = "5b0c8f1e-2a4d-4e6f-9a1b-3c5d7e9f0a2b"
role = "helpdesk"
secret = { env = "PW" }
"#;
    let env = |name: &str| (name == "PW").then(|| "a-long-enough-secret-0123456789".to_owned());
    let mut config = crate::config::AdapterConfig::from_toml(
        toml,
        "adapter.toml",
        std::path::Path::new("/nonexistent"),
        &env,
    )
    .expect("a valid config")
    .config;
    config.servicenow[0].runbooks = items;
    config
}

fn item(name: &str, runbook: &str, renames: &[(&str, &str)]) -> RunbookItem {
    RunbookItem {
        item: name.to_owned(),
        runbook: runbook.to_owned(),
        variables: renames
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        origin: String::new(),
    }
}

#[test]
fn the_start_up_check_refuses_unknown_runbooks_recipes_and_missing_parameters() {
    let loaded = shipped();
    let good = config_with(vec![item(
        ITEM,
        "reset-disconnected",
        &[("hours", "older_than")],
    )]);
    assert_eq!(check_runbook_items(&good, &loaded), Ok(()));
    let mut bad = config_with(vec![
        item(ITEM, "reset-everything", &[]),
        item("Reset a session", "reset-disconnected", &[]),
        item("Free up", "reset-disconnected", &[("hours", "age")]),
    ]);
    bad.servicenow[0].runbooks[0].origin =
        "adapter.toml:20:1: key servicenow[0].runbooks.\"Reset stale Citrix sessions\"".to_owned();
    let problems = check_runbook_items(&bad, &loaded).expect_err("problems");
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].starts_with("adapter.toml:20:1: key servicenow[0].runbooks.")
            && problems[0].contains("no runbook \"reset-everything\" is loaded")
            && problems[0].contains("reset-disconnected"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].contains("is a built-in item"),
        "{}",
        problems[1]
    );
    assert!(
        problems[2].contains("\"age\"") && problems[2].contains("older_than"),
        "{}",
        problems[2]
    );
}
