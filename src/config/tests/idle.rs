//! `[[idle_power_off]]`: a valid schedule loads with its defaults, and every bad key is
//! reported with the file, line and key.

use super::{BASE, errors, load};
use std::time::Duration;

#[test]
fn a_schedule_loads_and_none_is_the_default() {
    let none = load(BASE).expect("valid");
    assert!(none.config.idle_power_off.is_empty());
    let text = format!(
        "{BASE}\n[[idle_power_off]]\ndelivery_groups = [\"London Pooled\", \"VDI\"]\nsite = \"london\"\nidle_minutes = 90\nevery = \"15m\"\n\n[[idle_power_off]]\ndelivery_groups = [\"Office Apps\"]\nidle_minutes = 30\nevery = \"1h\"\ninclude_unregistered = true\n"
    );
    let loaded = load(&text).expect("valid");
    let rules = &loaded.config.idle_power_off;
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].delivery_groups, ["London Pooled", "VDI"]);
    assert_eq!(rules[0].site.as_deref(), Some("london"));
    assert_eq!(rules[0].idle_minutes, 90);
    assert_eq!(rules[0].every, Duration::from_secs(900));
    assert!(!rules[0].include_unregistered);
    assert_eq!(rules[1].site, None);
    assert_eq!(rules[1].every, Duration::from_secs(3600));
    assert!(rules[1].include_unregistered);
}

/// The line of `needle` in `text`, 1-based.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .expect("the needle is in the text")
}

#[test]
fn bad_values_name_the_file_line_and_key() {
    let text = format!(
        "{BASE}\n[[idle_power_off]]\ndelivery_groups = []\nsite = \"paris\"\nidle_minutes = 0\nevery = \"soon\"\n"
    );
    let shown = errors(&text);
    for (needle, key, says) in [
        (
            "delivery_groups = []",
            "idle_power_off[0].delivery_groups",
            "is empty",
        ),
        (
            "site = \"paris\"",
            "idle_power_off[0].site",
            "no site named \"paris\"",
        ),
        (
            "idle_minutes = 0",
            "idle_power_off[0].idle_minutes",
            "out of range",
        ),
        (
            "every = \"soon\"",
            "idle_power_off[0].every",
            "not a duration",
        ),
    ] {
        let line = line_of(&text, needle);
        let expected = format!("adapter.toml:{line}:");
        let found = shown
            .lines()
            .find(|l| l.contains(&format!("key {key}:")))
            .unwrap_or_else(|| panic!("no error for {key} in:\n{shown}"));
        assert!(
            found.starts_with(&expected),
            "{found} (expected line {line})"
        );
        assert!(found.contains(says), "{found}");
    }
}

#[test]
fn missing_keys_and_unknown_keys_are_reported() {
    let text = format!("{BASE}\n[[idle_power_off]]\ndelivery_groups = [\"VDI\"]\n");
    let shown = errors(&text);
    assert!(
        shown.contains("key idle_power_off[0].idle_minutes: this key is required"),
        "{shown}"
    );
    assert!(
        shown.contains("key idle_power_off[0].every: this key is required"),
        "{shown}"
    );
    let text = format!(
        "{BASE}\n[[idle_power_off]]\ndelivery_groups = [\"VDI\"]\nidle_minutes = 5\nevery = \"5m\"\nforce = true\n"
    );
    let shown = errors(&text);
    let line = line_of(&text, "force = true");
    assert!(shown.contains(&format!("adapter.toml:{line}:")), "{shown}");
    assert!(shown.contains("unknown key"), "{shown}");
    let text = format!(
        "{BASE}\n[[idle_power_off]]\ndelivery_groups = [\"VDI\", \" \"]\nidle_minutes = 5\nevery = \"0s\"\n"
    );
    let shown = errors(&text);
    assert!(
        shown.contains("key idle_power_off[0].delivery_groups[1]: is empty"),
        "{shown}"
    );
    assert!(shown.contains("key idle_power_off[0].every"), "{shown}");
}

#[test]
fn the_commented_example_in_adapter_example_toml_loads() {
    const EXAMPLE: &str = include_str!("../../../adapter.example.toml");
    let section = EXAMPLE
        .split("# [[idle_power_off]]: power off idle machines")
        .nth(1)
        .and_then(|s| s.split("# Routing rules:").next())
        .expect("the example has an idle_power_off section");
    let (_, body) = section
        .split_once("# ----------")
        .and_then(|(_, rest)| rest.split_once('\n'))
        .expect("the section's header block ends");
    let body: String = body
        .lines()
        .filter(|l| !l.starts_with("# ---"))
        .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
        .map(|l| format!("{l}\n"))
        .collect();
    let loaded = load(&format!("{BASE}\n{body}")).unwrap_or_else(|e| panic!("{e}\n{body}"));
    let rules = loaded.config.idle_power_off;
    assert_eq!(rules.len(), 2, "{body}");
    assert_eq!(rules[0].every, Duration::from_secs(900));
}
