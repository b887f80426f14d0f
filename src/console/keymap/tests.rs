//! Keymap behaviour as an operator meets it: defaults, rebinding, conflicts, role and
//! read-only filtering, help and hints.

use super::*;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

fn key(text: &str) -> Key {
    match text.parse() {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    }
}

fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

fn rebind(action: Action, keys: &[&str]) -> Rebind {
    Rebind {
        action,
        keys: keys.iter().map(|k| key(k)).collect(),
    }
}

#[test]
fn defaults_have_no_collisions_and_every_action_a_key_and_help() {
    let (keymap, conflicts) = Keymap::with_rebinds(&[]);
    assert_eq!(conflicts, vec![], "{conflicts:?}");
    for action in Action::all() {
        assert!(!action.info().help.is_empty(), "{action:?}");
        for view in action.info().views.iter() {
            assert!(
                !keymap.keys_in(view, action).is_empty(),
                "{action:?} has no key in {view:?}"
            );
        }
        // Every default key prints in a notation that reads back as itself.
        for k in keymap.keys(action) {
            assert_eq!(key(&k.to_string()), *k, "{action:?}");
        }
    }
}

#[test]
fn issue_keys_resolve_in_the_views_they_belong_to() {
    let keymap = Keymap::defaults();
    let at = |view, text: &str| keymap.action_for_key(view, key(text));
    assert_eq!(at(View::Sessions, "r"), Some(Action::Reset));
    assert_eq!(at(View::Tickets, "r"), None);
    assert_eq!(at(View::Tickets, "R"), Some(Action::Resolve));
    assert_eq!(at(View::Users, "L"), Some(Action::LogoffUser));
    assert_eq!(at(View::Machines, "p"), Some(Action::Power));
    assert_eq!(at(View::Machines, "M"), Some(Action::Maintenance));
    // Maintenance is set per machine; there is no group-wide action to offer.
    assert_eq!(at(View::Groups, "M"), None);
    assert_eq!(at(View::Jobs, "x"), Some(Action::CancelJob));
    assert_eq!(at(View::Jobs, "ctrl-t"), Some(Action::RetryFailed));
    assert_eq!(at(View::Audit, "ctrl-c"), Some(Action::QuitNow));
    assert_eq!(at(View::Audit, "?"), Some(Action::Help));
    assert_eq!(at(View::Audit, "space"), Some(Action::Mark));
    assert_eq!(at(View::Audit, "ctrl-d"), Some(Action::HalfPageDown));
}

#[test]
fn shifted_letters_resolve_however_the_terminal_sends_them() {
    let keymap = Keymap::defaults();
    let view = View::Sessions;
    for mods in [KeyModifiers::SHIFT, KeyModifiers::NONE] {
        let event = press(KeyCode::Char('G'), mods);
        assert_eq!(keymap.action(view, &event), Some(Action::Bottom));
    }
    // Some terminals (kitty protocol) send the base letter with SHIFT.
    let event = press(KeyCode::Char('g'), KeyModifiers::SHIFT);
    assert_eq!(keymap.action(view, &event), Some(Action::Bottom));
    let event = press(KeyCode::Char('g'), KeyModifiers::NONE);
    assert_eq!(keymap.action(view, &event), Some(Action::Top));
    let event = press(KeyCode::Char('?'), KeyModifiers::SHIFT);
    assert_eq!(keymap.action(view, &event), Some(Action::Help));
    let event = press(KeyCode::Char('l'), KeyModifiers::SHIFT);
    assert_eq!(keymap.action(view, &event), Some(Action::LogoffUser));
}

#[test]
fn rebinding_replaces_the_defaults() {
    let (keymap, conflicts) = Keymap::with_rebinds(&[rebind(Action::Reset, &["ctrl-x", "X"])]);
    assert_eq!(conflicts, vec![]);
    let at = |text: &str| keymap.action_for_key(View::Sessions, key(text));
    assert_eq!(at("r"), None, "the default key is gone");
    assert_eq!(at("ctrl-x"), Some(Action::Reset));
    assert_eq!(at("X"), Some(Action::Reset));
    assert!(keymap.is_rebound(Action::Reset));
    assert!(!keymap.is_rebound(Action::Disconnect));
    // An empty list unbinds.
    let (keymap, _) = Keymap::with_rebinds(&[rebind(Action::Suspend, &[])]);
    assert_eq!(keymap.action_for_key(View::Tickets, key("ctrl-z")), None);
}

#[test]
fn taking_another_actions_default_key_is_a_warning_naming_both() {
    let (keymap, conflicts) = Keymap::with_rebinds(&[rebind(Action::Quit, &["q", "ctrl-c"])]);
    assert_eq!(
        keymap.action_for_key(View::Jobs, key("ctrl-c")),
        Some(Action::Quit)
    );
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert_eq!(
        (c.kept, c.lost, c.views),
        (Action::Quit, Action::QuitNow, ViewSet::ALL)
    );
    assert!(!c.is_error());
    let text = c.to_string();
    assert!(
        text.contains("`quit`") && text.contains("`quit_now`"),
        "{text}"
    );
}

#[test]
fn two_rebinds_on_one_key_in_overlapping_views_are_an_error() {
    // `t` (take) is a tickets key; logoff_user also applies in tickets.
    let (keymap, conflicts) = Keymap::with_rebinds(&[
        rebind(Action::TakeTicket, &["t"]),
        rebind(Action::LogoffUser, &["t"]),
    ]);
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    let c = &conflicts[0];
    assert!(c.is_error());
    assert_eq!((c.kept, c.lost), (Action::TakeTicket, Action::LogoffUser));
    assert_eq!(c.views, ViewSet::of(&[View::Tickets]));
    assert!(c.to_string().contains("in tickets"), "{c}");
    // Outside the overlap each keeps working.
    assert_eq!(
        keymap.action_for_key(View::Tickets, key("t")),
        Some(Action::TakeTicket)
    );
    assert_eq!(
        keymap.action_for_key(View::Users, key("t")),
        Some(Action::LogoffUser)
    );
}

#[test]
fn one_key_in_disjoint_views_is_no_conflict() {
    // `x` cancels jobs; giving it to resolve (tickets only) overlaps nowhere.
    let (keymap, conflicts) = Keymap::with_rebinds(&[rebind(Action::Resolve, &["x"])]);
    assert_eq!(conflicts, vec![]);
    assert_eq!(
        keymap.action_for_key(View::Tickets, key("x")),
        Some(Action::Resolve)
    );
    assert_eq!(
        keymap.action_for_key(View::Jobs, key("x")),
        Some(Action::CancelJob)
    );
}

fn all_resolving(keymap: &Keymap) -> Vec<Action> {
    let mut found: Vec<Action> = View::ALL
        .into_iter()
        .flat_map(|v| {
            keymap.by_view[v as usize]
                .values()
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

fn in_help_or_hints(keymap: &Keymap) -> Vec<Action> {
    let mut found: Vec<Action> = View::ALL
        .into_iter()
        .flat_map(|v| {
            let help = keymap
                .help(v)
                .into_iter()
                .flat_map(|s| s.rows)
                .map(|r| r.action);
            let hints = keymap.hints(v).into_iter().map(|h| h.action);
            help.chain(hints).collect::<Vec<_>>()
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

#[test]
fn a_viewer_sees_and_runs_no_mutating_action() {
    let keymap = Keymap::defaults().visible(Role::Viewer, false);
    for action in all_resolving(&keymap)
        .into_iter()
        .chain(in_help_or_hints(&keymap))
    {
        assert!(!action.info().mutates, "{action:?}");
    }
    assert_eq!(keymap.action_for_key(View::Sessions, key("r")), None);
    assert!(keymap.keys(Action::Reset).is_empty());
    // Reading and moving still work.
    assert_eq!(
        keymap.action_for_key(View::Sessions, key("j")),
        Some(Action::Down)
    );
}

#[test]
fn helpdesk_sees_session_and_ticket_work_but_not_power_or_maintenance() {
    let keymap = Keymap::defaults().visible(Role::Helpdesk, false);
    let shown = in_help_or_hints(&keymap);
    let runs = all_resolving(&keymap);
    for hidden in [Action::Power, Action::Maintenance] {
        assert!(
            !shown.contains(&hidden) && !runs.contains(&hidden),
            "{hidden:?}"
        );
    }
    for action in [
        Action::Reset,
        Action::Fulfil,
        Action::RetryFailed,
        Action::Resolve,
    ] {
        assert!(
            shown.contains(&action) && runs.contains(&action),
            "{action:?}"
        );
    }
    let admin = Keymap::defaults().visible(Role::Admin, false);
    assert_eq!(
        admin.action_for_key(View::Machines, key("p")),
        Some(Action::Power)
    );
}

#[test]
fn readonly_hides_every_mutating_action_even_for_admins() {
    let keymap = Keymap::defaults().visible(Role::Admin, true);
    let shown = in_help_or_hints(&keymap);
    let runs = all_resolving(&keymap);
    for action in Action::all().filter(|a| a.info().mutates) {
        assert!(
            !shown.contains(&action) && !runs.contains(&action),
            "{action:?}"
        );
    }
    assert!(runs.contains(&Action::Refresh) && runs.contains(&Action::Filter));
}

#[test]
fn filtering_keeps_rebinds_and_frees_keys_of_hidden_actions() {
    // The operator moved power onto `q`; a viewer cannot power, so `q` quits again.
    let (keymap, conflicts) = Keymap::with_rebinds(&[rebind(Action::Power, &["q"])]);
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        keymap.action_for_key(View::Machines, key("q")),
        Some(Action::Power)
    );
    let viewer = keymap.visible(Role::Viewer, false);
    assert_eq!(
        viewer.action_for_key(View::Machines, key("q")),
        Some(Action::Quit)
    );
    let admin = keymap.visible(Role::Admin, false);
    assert_eq!(
        admin.action_for_key(View::Machines, key("q")),
        Some(Action::Power)
    );
}

#[test]
fn help_is_grouped_and_lists_the_keys_that_work_in_the_view() {
    let keymap = Keymap::defaults();
    let help = keymap.help(View::Sessions);
    let titles: Vec<_> = help.iter().map(|s| s.title).collect();
    assert_eq!(titles.first(), Some(&"Actions"));
    assert!(titles.contains(&"Navigation") && titles.contains(&"Marks"));
    let row = |action| {
        help.iter()
            .flat_map(|s| &s.rows)
            .find(|r| r.action == action)
            .cloned()
    };
    assert_eq!(
        row(Action::Down).map(|r| r.keys),
        Some("j, down".to_string())
    );
    assert!(row(Action::Reset).is_some());
    assert!(
        row(Action::Resolve).is_none(),
        "tickets-only actions stay out of sessions"
    );
    // Every section's group is the group of its rows.
    for section in &help {
        assert!(
            section
                .rows
                .iter()
                .all(|r| r.action.info().group == section.group)
        );
    }
}

#[test]
fn footer_hints_put_the_views_actions_first() {
    let keymap = Keymap::defaults();
    let hints = keymap.hints(View::Tickets);
    let shown: Vec<_> = hints
        .iter()
        .map(|h| format!("<{}> {}", h.key, h.label))
        .collect();
    assert_eq!(
        shown.first().map(String::as_str),
        Some("<L> log off user"),
        "{shown:?}"
    );
    assert!(shown.contains(&"<t> take".to_string()), "{shown:?}");
    assert!(shown.contains(&"<?> help".to_string()), "{shown:?}");
    assert!(!shown.iter().any(|h| h.contains("reset")), "{shown:?}");
    // A rebound key shows up in the hints.
    let (keymap, _) = Keymap::with_rebinds(&[rebind(Action::TakeTicket, &["T"])]);
    let hints = keymap.hints(View::Tickets);
    assert!(hints.iter().any(|h| h.key == "T" && h.label == "take"));
}

#[test]
fn account_actions_follow_the_role_and_do_not_clash() {
    let (_, conflicts) = Keymap::with_rebinds(&[]);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    let helpdesk = Keymap::defaults().visible(Role::Helpdesk, false);
    assert_eq!(
        helpdesk.action_for_key(View::Users, key("P")),
        Some(Action::ResetPassword)
    );
    assert_eq!(
        helpdesk.action_for_key(View::Tickets, key("P")),
        Some(Action::ResetPassword)
    );
    assert_eq!(
        helpdesk.action_for_key(View::Users, key("u")),
        Some(Action::Unlock)
    );
    // Enabling and disabling accounts is for admins: not offered, not run.
    let shown = in_help_or_hints(&helpdesk);
    for admin_only in [Action::EnableAccount, Action::DisableAccount] {
        assert!(!shown.contains(&admin_only), "{admin_only:?}");
    }
    assert_eq!(helpdesk.action_for_key(View::Users, key("D")), None);
    let admin = Keymap::defaults().visible(Role::Admin, false);
    assert_eq!(
        admin.action_for_key(View::Users, key("D")),
        Some(Action::DisableAccount)
    );
    assert_eq!(
        admin.action_for_key(View::Users, key("E")),
        Some(Action::EnableAccount)
    );
    // Sessions keep `d` for disconnect; nothing account-wise there.
    assert_eq!(
        admin.action_for_key(View::Sessions, key("d")),
        Some(Action::Disconnect)
    );
    let viewer = Keymap::defaults().visible(Role::Viewer, false);
    assert_eq!(viewer.action_for_key(View::Users, key("P")), None);
}
