//! `[servicenow.runbooks]`: catalog items mapped to runbooks load in both forms, and every bad
//! mapping (unknown runbook, an item mapped twice or to a built-in recipe, a bad rename) is
//! reported with the file, line and key.

use super::{BASE, env, errors};
use crate::config::{AdapterConfig, ConfigErrors, LoadedConfig};
use std::path::Path;

/// Loads `text` as if it sat in the repository's root, beside the shipped `runbooks` folder.
fn load_here(text: &str) -> Result<LoadedConfig, ConfigErrors> {
    AdapterConfig::from_toml(
        text,
        "adapter.toml",
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &env,
    )
}

fn errors_here(text: &str) -> String {
    match load_here(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The line of `needle` in `text`, 1-based.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .expect("the needle is in the text")
}

/// `BASE` with a `[servicenow.runbooks]` table of `lines` (it belongs to the one instance:
/// the queue table before it ends at the new table header).
fn with_items(lines: &str) -> String {
    format!("{BASE}\n[servicenow.runbooks]\n{lines}\n")
}

#[test]
fn both_forms_load_and_items_are_found_ignoring_case_and_spaces() {
    let text = with_items(
        "\"Reset stale Citrix sessions\" = \"reset-disconnected\"\n\
         \"Free up a site\" = { runbook = \"reset-disconnected\", variables = { hours = \"older_than\" } }",
    );
    let loaded = load_here(&text).expect("valid");
    let sn = &loaded.config.servicenow[0];
    assert_eq!(sn.runbooks.len(), 2);
    let stale = sn
        .runbook_for("  reset STALE citrix   sessions ")
        .expect("found ignoring case and spaces");
    assert_eq!(stale.runbook, "reset-disconnected");
    assert!(stale.variables.is_empty());
    let line = line_of(&text, "Reset stale Citrix sessions");
    assert!(
        stale.origin.starts_with(&format!("adapter.toml:{line}:")),
        "{}",
        stale.origin
    );
    assert!(
        stale.origin.contains("servicenow[0].runbooks"),
        "{}",
        stale.origin
    );
    let free = sn.runbook_for("Free up a site").expect("the table form");
    assert_eq!(
        free.variables.get("hours").map(String::as_str),
        Some("older_than")
    );
    assert!(sn.runbook_for("Reset a session").is_none());
    // Without the table, no item is mapped.
    let plain = load_here(BASE).expect("valid");
    assert!(plain.config.servicenow[0].runbooks.is_empty());
}

#[test]
fn an_unknown_runbook_is_an_error_at_its_line() {
    let text = with_items("\"Reset stale Citrix sessions\" = \"reset-disconected\"");
    let shown = errors_here(&text);
    let line = line_of(&text, "reset-disconected");
    assert!(
        shown.contains(&format!(
            "adapter.toml:{line}:33: key servicenow[0].runbooks.\"Reset stale Citrix sessions\": no runbook \"reset-disconected\""
        )),
        "{shown}"
    );
    assert!(
        shown.contains("reset-disconnected"),
        "lists what there is: {shown}"
    );
}

#[test]
fn without_a_runbooks_folder_a_mapping_is_an_error() {
    let shown = errors(&with_items(
        "\"Reset stale Citrix sessions\" = \"reset-disconnected\"",
    ));
    assert!(shown.contains("there is no runbooks folder"), "{shown}");
    assert!(shown.contains("key servicenow[0].runbooks"), "{shown}");
}

#[test]
fn an_item_mapped_twice_or_to_a_recipe_and_bad_values_are_errors() {
    let text = with_items(
        "\"Reset stale sessions\" = \"reset-disconnected\"\n\
         \"reset  STALE sessions\" = \"drain-and-reboot\"\n\
         \"Reset a session\" = \"reset-disconnected\"\n\
         \"Bad name\" = \"Reset_Disconnected\"\n\
         \"Bad type\" = 3\n\
         \"Bad table\" = { runbok = \"reset-disconnected\" }\n\
         \"Bad rename\" = { runbook = \"reset-disconnected\", variables = { a = \"Older-Than\" } }\n\
         \"Two renames\" = { runbook = \"reset-disconnected\", variables = { a = \"site\", b = \"site\" } }",
    );
    let shown = errors_here(&text);
    for (needle, says) in [
        (
            "reset  STALE sessions",
            "is mapped twice (also as \"Reset stale sessions\")",
        ),
        ("\"Reset a session\" =", "is a built-in item"),
        ("Reset_Disconnected", "is not a runbook name"),
        ("\"Bad type\"", "is a integer, not a runbook"),
        ("runbok", "unknown key"),
        ("runbok", "runbook: this key is required"),
        ("Older-Than", "is not a parameter name"),
        ("Two renames", "both give parameter \"site\""),
    ] {
        let line = line_of(&text, needle);
        let at = format!("adapter.toml:{line}:");
        assert!(
            shown
                .lines()
                .any(|l| l.starts_with(&at) && l.contains(says)),
            "{says} at line {line}:\n{shown}"
        );
    }
}
