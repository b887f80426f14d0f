//! Loading runbook files written to a scratch folder: the shipped examples load, and each
//! kind of mistake is reported with its file, line and step. [`bind`] and [`select`] test
//! parameters, substitution, conditions and target selection.

mod bind;
mod select;

use std::path::{Path, PathBuf};

use super::*;
use crate::adapter::store::Role;

pub(super) const SITES: &[&str] = &["london", "daas-eu"];

/// A scratch folder removed at the end of the test.
pub(super) struct Folder(pub PathBuf);

impl Folder {
    pub(super) fn new() -> Folder {
        let dir =
            std::env::temp_dir().join(format!("deskbridge-runbooks-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Folder(dir)
    }

    pub(super) fn write(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.0.join(name), text).expect("write a runbook");
        self
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Loads one runbook file `NAME.toml` with `text`.
pub(super) fn load_one(name: &str, text: &str) -> Result<Runbook, RunbookErrors> {
    let folder = Folder::new();
    folder.write(&format!("{name}.toml"), text);
    let runbooks = Runbooks::load_with_sites(&folder.0, SITES)?;
    Ok(runbooks.get(name).expect("the runbook is loaded").clone())
}

/// The one error of loading `text` as `NAME.toml`.
fn only_error(name: &str, text: &str) -> RunbookError {
    let errors = load_one(name, text).expect_err("the runbook has a problem");
    assert_eq!(errors.len(), 1, "exactly one problem: {errors}");
    errors.0[0].clone()
}

/// 1-based line of the first line of `text` holding `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("the needle is in the text")
        + 1
}

fn assert_at(e: &RunbookError, file: &str, line: usize, step: Option<&str>, says: &str) {
    assert!(e.file.ends_with(file), "file of {e}");
    assert_eq!(e.line, Some(line), "line of {e}");
    assert_eq!(e.step.as_deref(), step, "step of {e}");
    assert!(e.message.contains(says), "{e:?} should say {says:?}");
    let shown = e.to_string();
    assert!(shown.contains(&format!("{file}:{line}: ")), "{shown}");
    if let Some(step) = step {
        assert!(shown.contains(&format!("step \"{step}\"")), "{shown}");
    }
}

const GOOD: &str = r#"name = "logoff-old"
title = "Log off old disconnected sessions"
role = "helpdesk"

[[params]]
name = "site"
type = "site"
required = true

[[params]]
name = "hours"
type = "duration"
default = "4h"

[[steps]]
name = "logoff"
action = "session.logoff"
select = { sessions = { site = "{{site}}", state = "disconnected", older_than = "{{hours}}" } }
"#;

#[test]
fn the_shipped_examples_load_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let runbooks = Runbooks::load_with_sites(&dir, SITES).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = runbooks.list().iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["drain-and-reboot", "move-desktop", "reset-disconnected"]
    );
    let drain = runbooks.get("drain-and-reboot").expect("drain-and-reboot");
    assert_eq!(drain.role, Role::Admin);
    assert_eq!(drain.steps.len(), 4);
    assert_eq!(
        runbooks.get("reset-disconnected").map(|r| r.role),
        Some(Role::Helpdesk)
    );
}

#[test]
fn a_good_file_loads_with_its_parameters_and_steps() {
    let rb = load_one("logoff-old", GOOD).expect("loads");
    assert_eq!(rb.title, "Log off old disconnected sessions");
    assert_eq!(rb.role, Role::Helpdesk);
    assert_eq!(rb.params.len(), 2);
    assert_eq!(rb.params[1].default, Some(serde_json::json!("4h")));
    let Selection::Sessions(q) = &rb.steps[0].select else {
        panic!("a sessions selection");
    };
    assert_eq!(q.site, "{{site}}");
    assert_eq!(
        q.state,
        Some(Field::Value(SessionStateFilter::Disconnected))
    );
    assert_eq!(q.older_than, Some(Field::Param("hours".into())));
    // The job's snapshot: JSON and back gives the same runbook.
    let json = serde_json::to_value(&rb).expect("serializes");
    let back: Runbook = serde_json::from_value(json).expect("deserializes");
    assert_eq!(back, rb);
    let described = describe(&rb);
    assert_eq!(described["params"][1]["type"], "duration");
    assert_eq!(described["params"][1]["default"], "4h");
    assert_eq!(described["steps"][0]["targets"], "sessions");
}

#[test]
fn bad_toml_is_reported_at_its_line_and_step() {
    let text = "name = \"x\"\n[[steps]]\nname = \"first\"\naction = \"session.logoff\n";
    let e = only_error("x", text);
    assert_at(&e, "x.toml", 4, Some("first"), "string");
}

#[test]
fn an_unknown_key_is_named_with_its_line_and_step() {
    let text = GOOD.replace("state = \"disconnected\"", "sate = \"disconnected\"");
    let e = only_error("logoff-old", &text);
    assert_at(
        &e,
        "logoff-old.toml",
        line_of(&text, "sate"),
        Some("logoff"),
        "unknown key `sate`",
    );
    assert!(e.message.contains("select.sessions.sate"), "{e}");
}

#[test]
fn an_unknown_action_lists_the_known_ones() {
    let text = GOOD.replace("session.logoff", "machine.explode");
    let e = only_error("logoff-old", &text);
    assert_at(
        &e,
        "logoff-old.toml",
        line_of(&text, "explode"),
        Some("logoff"),
        "unknown action \"machine.explode\"; known: session.logoff",
    );
}

#[test]
fn a_selection_must_fit_the_action() {
    let text = GOOD
        .replace("session.logoff", "machine.restart")
        .replace("role = \"helpdesk\"", "role = \"admin\"");
    let errors = load_one("logoff-old", &text).expect_err("does not fit");
    let e = &errors.0[0];
    assert_at(
        e,
        "logoff-old.toml",
        line_of(&text, "select ="),
        Some("logoff"),
        "select has sessions but machine.restart acts on machines",
    );
}

#[test]
fn a_condition_may_only_use_earlier_steps() {
    let text = format!(
        "{GOOD}when = \"steps.later.succeeded > 0\"\n\n[[steps]]\nname = \"later\"\n\
         action = \"session.disconnect\"\nselect = {{ sessions = {{ site = \"london\" }} }}\n"
    );
    let e = only_error("logoff-old", &text);
    assert_at(
        &e,
        "logoff-old.toml",
        line_of(&text, "when ="),
        Some("logoff"),
        "runs later",
    );
}

#[test]
fn a_template_must_name_a_parameter() {
    let text = GOOD.replace("{{hours}}", "{{hourz}}");
    let e = only_error("logoff-old", &text);
    assert_at(
        &e,
        "logoff-old.toml",
        line_of(&text, "hourz"),
        Some("logoff"),
        "{{hourz}} names no parameter",
    );
}

#[test]
fn the_role_may_not_be_lower_than_a_steps_action() {
    let text = GOOD.replace("session.logoff", "session.disconnect").replace(
        "[[steps]]\nname = \"logoff\"",
        "[[steps]]\nname = \"boot\"\naction = \"machine.start\"\nselect = { machines = { site = \"london\" } }\n\n[[steps]]\nname = \"logoff\"",
    );
    let e = only_error("logoff-old", &text);
    assert_at(
        &e,
        "logoff-old.toml",
        line_of(&text, "machine.start"),
        Some("boot"),
        "machine.start needs role admin, but the runbook's role is helpdesk",
    );
    // Escalating a logoff restarts machines: admin too, found from the step's parameters.
    let text = GOOD.replace(
        "action = \"session.logoff\"",
        "action = \"session.logoff\"\nparams = { escalate_after = \"2m\" }",
    );
    let e = only_error("logoff-old", &text);
    assert_at(
        &e,
        "logoff-old.toml",
        line_of(&text, "escalate_after"),
        Some("logoff"),
        "needs role admin",
    );
}

#[test]
fn action_parameters_known_at_load_are_checked_by_the_action() {
    let text = GOOD.replace(
        "action = \"session.logoff\"",
        "action = \"session.logoff\"\nparams = { forse = true }",
    );
    let e = only_error("logoff-old", &text);
    assert_at(
        &e,
        "logoff-old.toml",
        line_of(&text, "forse"),
        Some("logoff"),
        "no parameter \"forse\"",
    );
}

#[test]
fn other_mistakes_are_named() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "name = \"logoff-old\"",
            "name = \"other\"",
            "must equal its file name",
        ),
        (
            "site = \"{{site}}\"",
            "site = \"paris\"",
            "\"paris\", which is not a configured site",
        ),
        (
            "type = \"duration\"",
            "type = \"minutes\"",
            "unknown type \"minutes\"",
        ),
        (
            "default = \"4h\"",
            "default = \"4 hours\"",
            "default of parameter \"hours\" is wrong",
        ),
        (
            "older_than = \"{{hours}}\"",
            "older_than = \"{{site}}\"",
            "a parameter of type site; it takes a parameter of type duration",
        ),
        (
            "state = \"disconnected\"",
            "state = \"asleep\"",
            "not a state",
        ),
        (
            "role = \"helpdesk\"",
            "role = \"root\"",
            "use viewer, helpdesk or admin",
        ),
        (
            "action = \"session.logoff\"",
            "action = \"account.password_reset\"",
            "cannot be a runbook step",
        ),
    ];
    for (from, to, says) in cases {
        let text = GOOD.replace(from, to);
        let errors = load_one("logoff-old", &text).expect_err(to);
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains(says) && e.line == Some(line_of(&text, to))),
            "{to}: expected {says:?} at line {}, got:\n{errors}",
            line_of(&text, to)
        );
    }
}

#[test]
fn every_problem_of_every_file_is_reported() {
    let folder = Folder::new();
    folder
        .write(
            "one.toml",
            "name = \"one\"\n[[steps]]\nname = \"a\"\naction = \"nope\"\n",
        )
        .write(
            "two.toml",
            &GOOD
                .replace("logoff-old", "two")
                .replace("session.logoff", "nope.two"),
        )
        .write("README.md", "not a runbook");
    let errors = Runbooks::load_with_sites(&folder.0, SITES).expect_err("two bad files");
    let text = errors.to_string();
    assert_eq!(errors.len(), 2, "{text}");
    assert!(
        text.contains("one.toml:4: step \"a\": unknown action \"nope\""),
        "{text}"
    );
    assert!(text.contains("two.toml:"), "{text}");
    assert!(text.lines().count() == 2, "{text}");
}

#[test]
fn shipped_examples_survive_the_jobs_json_snapshot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let runbooks = Runbooks::load_with_sites(&dir, SITES).unwrap_or_else(|e| panic!("{e}"));
    for rb in runbooks.list() {
        let json = serde_json::to_value(rb).expect("serializes");
        let back: Runbook = serde_json::from_value(json).expect("deserializes");
        assert_eq!(&back, rb);
    }
}

/// A config that loads, with `extra` keys at the top.
fn config_text(extra: &str) -> String {
    format!(
        r#"{extra}
listen = "127.0.0.1:0"
data_dir = "."

[[sites]]
name = "london"
kind = "onprem"
endpoints = ["http://127.0.0.1:9"]
site_id = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
credentials = {{ username = 'CORP\svc', password = {{ env = "P" }} }}

[[clients]]
name = "ops"
id = "33333333-3333-4333-8333-333333333333"
role = "admin"
secret = {{ env = "S" }}
"#
    )
}

#[test]
fn the_runbooks_folder_comes_from_the_config() {
    let env = |name: &str| match name {
        "P" => Some("site-password".to_owned()),
        "S" => Some("admin-secret-0123456789abcdef".to_owned()),
        _ => None,
    };
    let folder = Folder::new();
    let load = |extra: &str| {
        crate::config::AdapterConfig::from_toml(
            &config_text(extra),
            "adapter.toml",
            &folder.0,
            &env,
        )
    };
    // No key and no `runbooks` folder beside the file: no runbooks.
    let config = load("").unwrap_or_else(|e| panic!("{e}")).config;
    assert_eq!(config.runbooks_dir, None);
    assert!(Runbooks::configured(&config).expect("none").is_empty());
    // The folder beside the file is found without a key.
    std::fs::create_dir_all(folder.0.join("runbooks")).expect("runbooks folder");
    std::fs::write(
        folder.0.join("runbooks/logoff-old.toml"),
        GOOD.replace("daas-eu", "london"),
    )
    .expect("write");
    let config = load("").unwrap_or_else(|e| panic!("{e}")).config;
    assert_eq!(config.runbooks_dir, Some(folder.0.join("runbooks")));
    let runbooks = Runbooks::configured(&config).unwrap_or_else(|e| panic!("{e}"));
    assert!(runbooks.get("logoff-old").is_some());
    // A named folder that does not exist is an error at its line.
    let errors = load("runbooks_dir = \"elsewhere\"").expect_err("missing folder");
    let text = errors.to_string();
    assert!(
        text.contains("adapter.toml:1:16: key runbooks_dir: "),
        "{text}"
    );
    assert!(text.contains("elsewhere is not a folder"), "{text}");
}
