//! The `:` line as an operator meets it: commands, mistakes and their messages, Tab
//! completion, history recall, and the `/` line's separate history.

use super::*;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

fn source() -> Completions {
    Completions {
        sites: vec![
            "London".into(),
            "London-DR".into(),
            "New York".into(),
            "Zürich".into(),
        ],
        themes: vec![
            "default".into(),
            "dark".into(),
            "light".into(),
            "high-contrast".into(),
        ],
        ..Completions::default()
    }
}

fn parse(line: &str) -> Command {
    Command::parse(line, &source()).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

fn err(line: &str) -> String {
    match Command::parse(line, &source()) {
        Ok(c) => panic!("{line:?} parsed as {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn view(view: View, arg: Option<ViewArg>) -> Command {
    Command::View { view, arg }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// Types `text` into the `:` line, expecting every key to leave it pending.
fn type_in(line: &mut CommandLine, text: &str) {
    for c in text.chars() {
        assert_eq!(
            line.handle_key(key(KeyCode::Char(c)), &source()),
            Outcome::Pending
        );
    }
}

fn tab(line: &mut CommandLine) {
    assert_eq!(
        line.handle_key(key(KeyCode::Tab), &source()),
        Outcome::Pending
    );
}

fn enter(line: &mut CommandLine) -> Outcome {
    line.handle_key(key(KeyCode::Enter), &source())
}

fn submit(line: &mut CommandLine, text: &str) -> Outcome {
    type_in(line, text);
    enter(line)
}

#[test]
fn every_view_has_a_command_named_as_the_view() {
    for v in View::ALL {
        assert_eq!(parse(v.name()), view(v, None), "{}", v.name());
    }
    assert_eq!(parse("quit"), Command::Quit);
    assert_eq!(parse("q"), Command::Quit);
    assert_eq!(parse("help"), Command::Help);
    assert_eq!(parse("log"), Command::Log);
    assert_eq!(parse("refresh"), Command::Refresh);
}

#[test]
fn singulars_prefixes_case_and_a_typed_colon_are_accepted() {
    assert_eq!(parse("session"), view(View::Sessions, None));
    assert_eq!(parse("sess"), view(View::Sessions, None));
    assert_eq!(parse("TICKETS"), view(View::Tickets, None));
    assert_eq!(parse(":jobs"), view(View::Jobs, None));
    assert_eq!(parse("  machines  "), view(View::Machines, None));
    assert_eq!(parse("ref"), Command::Refresh);
    assert_eq!(parse("au"), view(View::Audit, None));
}

#[test]
fn site_arguments_are_checked_and_spelled_as_the_site_list() {
    assert_eq!(
        parse("sessions london"),
        view(View::Sessions, Some(ViewArg::Site("London".into())))
    );
    assert_eq!(
        parse("machines NEW YORK"),
        view(View::Machines, Some(ViewArg::Site("New York".into())))
    );
    assert_eq!(
        parse("groups   zürich"),
        view(View::Groups, Some(ViewArg::Site("Zürich".into())))
    );
    assert_eq!(
        err("sessions Lodnon"),
        "unknown site \"Lodnon\"; did you mean \"London\"?"
    );
    let msg = err("sessions Paris");
    assert_eq!(
        msg,
        "unknown site \"Paris\"; one of: London, London-DR, New York, Zürich"
    );
}

#[test]
fn an_empty_site_list_accepts_any_site() {
    let none = Completions::default();
    assert_eq!(
        Command::parse("sessions Paris", &none),
        Ok(view(View::Sessions, Some(ViewArg::Site("Paris".into()))))
    );
}

#[test]
fn ticket_queues_default_to_mine_unassigned_all() {
    assert_eq!(
        parse("tickets mine"),
        view(View::Tickets, Some(ViewArg::Queue("mine".into())))
    );
    assert_eq!(
        parse("tickets ALL"),
        view(View::Tickets, Some(ViewArg::Queue("all".into())))
    );
    assert_eq!(
        err("tickets unasigned"),
        "unknown queue \"unasigned\"; did you mean \"unassigned\"?"
    );
}

#[test]
fn theme_needs_a_known_name() {
    assert_eq!(parse("theme Dark"), Command::Theme("dark".into()));
    assert_eq!(
        err("theme"),
        ":theme needs a theme name: default, dark, light, high-contrast"
    );
    assert_eq!(
        err("theme drak"),
        "unknown theme \"drak\"; did you mean \"dark\"?"
    );
}

#[test]
fn commands_without_arguments_refuse_one() {
    assert_eq!(err("quit now"), ":quit takes no argument (got \"now\")");
    assert_eq!(
        err("users smith"),
        ":users takes no argument (got \"smith\")"
    );
    assert_eq!(
        err("refresh all"),
        ":refresh takes no argument (got \"all\")"
    );
}

#[test]
fn unknown_commands_suggest_the_closest_name() {
    assert_eq!(
        err("sesions"),
        "unknown command :sesions; did you mean :sessions?"
    );
    assert_eq!(
        err("tickest"),
        "unknown command :tickest; did you mean :tickets?"
    );
    assert_eq!(err("qiut"), "unknown command :qiut; did you mean :quit?");
    assert_eq!(err("theem"), "unknown command :theem; did you mean :theme?");
    assert_eq!(
        err("xyzzy"),
        "unknown command :xyzzy; :help lists the commands"
    );
}

#[test]
fn ambiguous_prefixes_name_the_candidates() {
    assert_eq!(err("s"), ":s could be :sessions or :sites; type more of it");
    assert_eq!(err("t"), ":t could be :tickets or :theme; type more of it");
}

#[test]
fn help_lists_every_command() {
    let usages: Vec<_> = Command::help().map(|(usage, _)| usage).collect();
    for v in View::ALL {
        assert!(
            usages.iter().any(|u| u.starts_with(v.name())),
            "{}",
            v.name()
        );
    }
    assert!(usages.contains(&"theme NAME"));
}

#[test]
fn completing_a_command_name() {
    let c = complete("se", &source());
    assert_eq!(
        (c.start, c.candidates.as_slice(), c.common.as_str()),
        (0, &["sessions".to_string()][..], "sessions")
    );
    let c = complete("s", &source());
    assert_eq!(c.candidates, ["sessions", "sites"]);
    assert_eq!(c.common, "s");
    let c = complete("", &source());
    assert_eq!(c.candidates.len(), Command::help().count());
    assert!(complete("zz", &source()).candidates.is_empty());
}

#[test]
fn completing_arguments_uses_the_callers_lists() {
    let c = complete("sessions lon", &source());
    assert_eq!(c.start, 9);
    assert_eq!(c.candidates, ["London", "London-DR"]);
    assert_eq!(c.common, "London");
    // Site names with spaces complete as a whole.
    assert_eq!(
        complete("machines new y", &source()).candidates,
        ["New York"]
    );
    // Not a prefix of any: names containing it.
    assert_eq!(complete("groups dr", &source()).candidates, ["London-DR"]);
    assert_eq!(complete("tickets u", &source()).candidates, ["unassigned"]);
    assert_eq!(complete("theme ", &source()).candidates.len(), 4);
    assert!(complete("users x", &source()).candidates.is_empty());
    assert!(complete("nonsense x", &source()).candidates.is_empty());
}

#[test]
fn tab_completes_a_unique_command_and_opens_its_argument() {
    let mut line = CommandLine::default();
    type_in(&mut line, "sess");
    tab(&mut line);
    assert_eq!(line.value(), "sessions ");
    tab(&mut line);
    // Two sites start with nothing typed yet... every site; common start is empty, so the
    // first Tab already puts the first one in.
    let menu = line.completion().cloned();
    assert_eq!(menu.as_ref().map(|m| m.candidates.len()), Some(4));
    assert_eq!(line.value(), "sessions London");
    type_in(&mut line, "x");
    assert!(line.completion().is_none(), "typing ends the cycle");
}

#[test]
fn tab_inserts_the_common_start_then_cycles() {
    let mut line = CommandLine::default();
    type_in(&mut line, "sessions lo");
    tab(&mut line);
    assert_eq!(line.value(), "sessions London");
    assert_eq!(line.completion().and_then(|m| m.selected), None);
    tab(&mut line);
    assert_eq!(line.value(), "sessions London");
    assert_eq!(line.completion().and_then(|m| m.selected), Some(0));
    tab(&mut line);
    assert_eq!(line.value(), "sessions London-DR");
    tab(&mut line);
    assert_eq!(line.value(), "sessions London", "wraps around");
    assert_eq!(
        line.handle_key(key(KeyCode::BackTab), &source()),
        Outcome::Pending
    );
    assert_eq!(line.value(), "sessions London-DR");
    assert_eq!(
        enter(&mut line),
        Outcome::Submitted(view(
            View::Sessions,
            Some(ViewArg::Site("London-DR".into()))
        ))
    );
}

#[test]
fn tab_with_no_candidates_changes_nothing() {
    let mut line = CommandLine::default();
    type_in(&mut line, "zz");
    tab(&mut line);
    assert_eq!(line.value(), "zz");
    assert!(line.completion().is_none());
}

#[test]
fn tab_completes_before_the_cursor_and_keeps_the_rest() {
    let mut line = CommandLine::default();
    type_in(&mut line, "mach London");
    for _ in 0.." London".len() {
        line.handle_key(key(KeyCode::Left), &source());
    }
    tab(&mut line);
    assert_eq!(line.value(), "machines  London");
    assert_eq!(
        enter(&mut line),
        Outcome::Submitted(view(View::Machines, Some(ViewArg::Site("London".into()))))
    );
}

#[test]
fn enter_submits_valid_commands_and_clears_the_line() {
    let mut line = CommandLine::default();
    assert_eq!(
        submit(&mut line, "sessions london"),
        Outcome::Submitted(view(View::Sessions, Some(ViewArg::Site("London".into()))))
    );
    assert_eq!(line.value(), "");
    assert_eq!(
        line.history().entries().collect::<Vec<_>>(),
        ["sessions london"]
    );
}

#[test]
fn invalid_lines_stay_open_with_the_error_until_edited() {
    let mut line = CommandLine::default();
    let outcome = submit(&mut line, "sesions");
    assert_eq!(
        outcome,
        Outcome::Invalid("unknown command :sesions; did you mean :sessions?".into())
    );
    assert_eq!(line.value(), "sesions");
    assert!(line.error().is_some());
    assert!(
        line.history().is_empty(),
        "only commands that ran are remembered"
    );
    line.handle_key(key(KeyCode::Home), &source());
    assert!(
        line.error().is_some(),
        "moving the cursor keeps the message"
    );
    line.handle_key(key(KeyCode::End), &source());
    line.handle_key(key(KeyCode::Backspace), &source());
    assert!(line.error().is_none());
}

#[test]
fn esc_ctrl_c_empty_enter_and_backspace_on_empty_cancel() {
    let mut line = CommandLine::default();
    type_in(&mut line, "sessions");
    assert_eq!(
        line.handle_key(key(KeyCode::Esc), &source()),
        Outcome::Cancelled
    );
    assert_eq!(line.value(), "");
    type_in(&mut line, "x");
    assert_eq!(line.handle_key(ctrl('c'), &source()), Outcome::Cancelled);
    assert_eq!(enter(&mut line), Outcome::Cancelled);
    type_in(&mut line, "a");
    assert_eq!(
        line.handle_key(key(KeyCode::Backspace), &source()),
        Outcome::Pending
    );
    assert_eq!(
        line.handle_key(key(KeyCode::Backspace), &source()),
        Outcome::Cancelled
    );
    assert!(line.history().is_empty());
}

#[test]
fn key_releases_are_ignored() {
    let mut line = CommandLine::default();
    let mut release = key(KeyCode::Char('x'));
    release.kind = KeyEventKind::Release;
    assert_eq!(line.handle_key(release, &source()), Outcome::Pending);
    assert_eq!(line.value(), "");
}

#[test]
fn up_and_down_recall_history_and_restore_the_draft() {
    let mut line = CommandLine::default();
    for cmd in ["jobs", "sessions", "sites"] {
        assert!(matches!(submit(&mut line, cmd), Outcome::Submitted(_)));
    }
    type_in(&mut line, "au");
    // The draft `au` is a prefix no entry has: up finds nothing and keeps it.
    line.handle_key(key(KeyCode::Up), &source());
    assert_eq!(line.value(), "au");
    line.handle_key(ctrl('u'), &source());
    line.handle_key(key(KeyCode::Up), &source());
    assert_eq!(line.value(), "sites");
    line.handle_key(ctrl('p'), &source());
    assert_eq!(line.value(), "sessions");
    line.handle_key(key(KeyCode::Up), &source());
    assert_eq!(line.value(), "jobs");
    line.handle_key(key(KeyCode::Up), &source());
    assert_eq!(line.value(), "jobs", "the oldest stays");
    line.handle_key(key(KeyCode::Down), &source());
    assert_eq!(line.value(), "sessions");
    line.handle_key(ctrl('n'), &source());
    line.handle_key(key(KeyCode::Down), &source());
    assert_eq!(line.value(), "", "past the newest: the draft again");
}

#[test]
fn up_recalls_only_lines_starting_with_the_draft() {
    let mut line = CommandLine::default();
    for cmd in ["sessions London", "jobs", "sessions Zürich", "sites"] {
        assert!(matches!(submit(&mut line, cmd), Outcome::Submitted(_)));
    }
    type_in(&mut line, "sess");
    line.handle_key(key(KeyCode::Up), &source());
    assert_eq!(line.value(), "sessions Zürich");
    line.handle_key(key(KeyCode::Up), &source());
    assert_eq!(line.value(), "sessions London");
    line.handle_key(key(KeyCode::Down), &source());
    line.handle_key(key(KeyCode::Down), &source());
    assert_eq!(line.value(), "sess");
}

#[test]
fn history_drops_blanks_and_consecutive_repeats_and_keeps_100() {
    let mut h = History::new();
    h.push("sessions");
    h.push("sessions");
    h.push("  ");
    h.push("jobs");
    h.push("sessions");
    assert_eq!(
        h.entries().collect::<Vec<_>>(),
        ["sessions", "jobs", "sessions"]
    );
    for i in 0..150 {
        h.push(&format!("cmd {i}"));
    }
    assert_eq!(h.len(), History::CAPACITY);
    assert_eq!(h.entries().next(), Some("cmd 50"));
    assert_eq!(h.entries().last(), Some("cmd 149"));
}

#[test]
fn walking_history_skips_repeats_of_the_line_shown() {
    let mut h = History::new();
    for line in ["a", "b", "a"] {
        h.push(line);
    }
    assert_eq!(h.older("").as_deref(), Some("a"));
    assert_eq!(h.older("a").as_deref(), Some("b"));
    assert_eq!(h.older("b").as_deref(), Some("a"));
    assert_eq!(h.older("a"), None);
    assert_eq!(h.newer().as_deref(), Some("b"));
}

#[test]
fn the_filter_line_has_its_own_history() {
    let mut commands = CommandLine::default();
    let mut filter = LineEditor::default();
    assert!(matches!(
        submit(&mut commands, "jobs"),
        Outcome::Submitted(_)
    ));
    for c in "site=lon".chars() {
        assert_eq!(filter.handle_key(key(KeyCode::Char(c))), LineEvent::Edited);
    }
    assert_eq!(
        filter.handle_key(key(KeyCode::Enter)),
        LineEvent::Submitted("site=lon".into())
    );
    assert_eq!(filter.value(), "site=lon", "the caller accepts or keeps it");
    filter.accept();
    assert_eq!(filter.value(), "");
    assert_eq!(filter.history().entries().collect::<Vec<_>>(), ["site=lon"]);
    assert_eq!(commands.history().entries().collect::<Vec<_>>(), ["jobs"]);
    assert_eq!(filter.handle_key(key(KeyCode::Up)), LineEvent::Edited);
    assert_eq!(filter.value(), "site=lon");
    assert_eq!(filter.handle_key(key(KeyCode::Left)), LineEvent::Unchanged);
}

#[test]
fn set_value_puts_the_cursor_at_the_end() {
    let mut filter = LineEditor::new(History::with_capacity(5));
    filter.set_value("zürich");
    assert_eq!(filter.input().cursor(), 6);
    filter.handle_key(key(KeyCode::Char('!')));
    assert_eq!(filter.value(), "zürich!");
}
