//! `[offboarding]`: what a separation does with the person's dedicated machines.

use super::{BASE, errors, load};

#[test]
fn machines_are_kept_unless_the_config_says_delete() {
    let none = load(BASE).expect("valid");
    assert!(!none.config.offboarding.delete_machines);
    let delete = load(&format!("{BASE}\n[offboarding]\nmachines = \"delete\"\n")).expect("valid");
    assert!(delete.config.offboarding.delete_machines);
    let keep = load(&format!("{BASE}\n[offboarding]\nmachines = \"unassign\"\n")).expect("valid");
    assert!(!keep.config.offboarding.delete_machines);
}

#[test]
fn an_unknown_choice_names_the_line_and_key() {
    let text = format!("{BASE}\n[offboarding]\nmachines = \"shred\"\n");
    let shown = errors(&text);
    let line = text
        .lines()
        .position(|l| l.starts_with("machines = \"shred\""))
        .expect("the line")
        + 1;
    assert!(shown.contains(&format!("adapter.toml:{line}:")), "{shown}");
    assert!(shown.contains("offboarding.machines"), "{shown}");
    assert!(shown.contains("\"shred\" is not a choice"), "{shown}");
}
