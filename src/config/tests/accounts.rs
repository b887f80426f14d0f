//! `[password_policy]` and `[verification]`: every mistake is reported at its key, and a
//! configured deny list must load. (The valid full example is in `directories.rs`.)

use super::directories::{Scratch, full};
use super::*;

#[test]
fn password_policy_errors_name_their_key() {
    let scratch = Scratch::new("policy");
    let text = full()
        .replace("min_length = 14", "min_lenght = 14")
        .replace("forbid_names = true", "forbid_names = \"yes\"")
        .replace(
            "required_classes = [\"digit\"]",
            "required_classes = [\"emoji\"]",
        );
    let shown = scratch.errors(&text);
    assert_error(
        &shown,
        &at(&text, "min_lenght"),
        "password_policy.min_lenght",
        "unknown key `min_lenght`",
    );
    assert_error(
        &shown,
        &at(&text, "\"yes\""),
        "password_policy.forbid_names",
        "invalid type: string \"yes\", expected a boolean",
    );
    assert_error(
        &shown,
        &at(&text, "[\"emoji\"]"),
        "password_policy.required_classes",
        "unknown variant `emoji`",
    );
    assert_eq!(shown.lines().count(), 3, "{shown}");

    let text = full().replace("max_length = 64", "max_length = 8");
    assert_error(
        &scratch.errors(&text),
        &at(&text, "8\n"),
        "password_policy.max_length",
        "max_length (8) is less than min_length (14)",
    );
    let text = full().replace("min_length = 14", "min_length = 0");
    assert_error(
        &scratch.errors(&text),
        &at(&text, "0\n"),
        "password_policy.min_length",
        "min_length must be at least 1",
    );
}

#[test]
fn the_deny_list_must_load() {
    let scratch = Scratch::new("deny");
    let text = full().replace("\"deny.txt\"", "\"missing.txt\"");
    let shown = scratch.errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"missing.txt\""),
        "password_policy.deny_list",
        &format!(
            "cannot read the password deny list {}",
            scratch.0.join("missing.txt").display()
        ),
    );
    assert_eq!(shown.lines().count(), 1, "{shown}");

    std::fs::write(scratch.0.join("empty.txt"), "# nothing yet\n\n").expect("write list");
    let text = full().replace("\"deny.txt\"", "\"empty.txt\"");
    let loaded = scratch.load(&text).unwrap_or_else(|e| panic!("{e}"));
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!(
            "{}: key password_policy.deny_list: the deny list",
            at(&text, "\"empty.txt\"")
        )) && warnings[0].contains("refuses nothing"),
        "{warnings:?}"
    );
}

#[test]
fn verification_errors_name_their_key() {
    let scratch = Scratch::new("verification");
    let text = full()
        .replace("max_attempts = 3", "max_attempts = 0")
        .replace("window = \"10m\"", "window = \"10\"")
        .replace("lockout = \"1h\"", "lockout = \"0s\"");
    let shown = scratch.errors(&text);
    assert_error(
        &shown,
        &at(&text, "\"10\""),
        "verification.window",
        "has no unit",
    );
    assert_error(
        &shown,
        &at(&text, "\"0s\""),
        "verification.lockout",
        "must be longer than zero",
    );
    assert_eq!(shown.lines().count(), 2, "{shown}");

    let text = full().replace("max_attempts = 3", "max_attempts = 0");
    assert_error(
        &scratch.errors(&text),
        &at(&text, "0\nwindow"),
        "verification.max_attempts",
        "must be at least 1",
    );
    let text = full().replace("max_attempts = 3", "max_tries = 3");
    assert_error(
        &scratch.errors(&text),
        &at(&text, "max_tries"),
        "verification.max_tries",
        "unknown key `max_tries`",
    );
}
