//! Pure update tests: state + message → state + effects, as an operator's keys drive them.

use chrono::{TimeZone, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use uuid::Uuid;

use super::*;
use crate::console::client::{
    EventPayload, JobEvent, JobProgress, JobState, ServerEvent, StreamEvent, TicketLink,
};
use crate::console::keymap::Keymap;
use crate::console::widgets::flash::FlashLevel;

/// The fixed "now" of the pure update tests (shared with the account tests).
pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A live app whose operator has `role` (shared with the account tests).
pub(super) fn app(role: Role, readonly: bool) -> App {
    let setup = Setup {
        keymap: Keymap::defaults(),
        readonly,
        lab: true,
        adapter_url: "http://127.0.0.1:1".into(),
        theme_names: vec!["default".into()],
    };
    let mut app = App::new(setup, now());
    app.update(
        Msg::Whoami(Ok(Whoami {
            client_id: Uuid::nil(),
            name: "alice".into(),
            role,
            token_expires_at: None,
        })),
        now(),
    );
    app.link = Link::Live;
    app
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now())
}

fn ch(app: &mut App, c: char) -> Vec<Effect> {
    key(app, KeyCode::Char(c))
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)),
        now(),
    )
}

fn session_row(i: usize) -> Row {
    let user = format!("CORP\\user{i:03}");
    let mut cells = vec![String::new(); convert::columns(View::Sessions).len()];
    cells[0] = user.clone();
    cells[1] = format!("User {i}");
    cells[2] = format!("VDA-{i:03}");
    cells[3] = "Active".into();
    cells[4] = "London".into();
    Row::new(
        RowRef::Session {
            site: "London".into(),
            id: format!("s{i}"),
            user,
        },
        cells,
        Tone::Plain,
    )
}

/// Opens the sessions view and answers its load with `n` rows.
fn sessions(app: &mut App, n: usize) {
    let effects = ch(app, '2');
    let Some(Effect::Load { generation, .. }) = effects
        .into_iter()
        .find(|e| matches!(e, Effect::Load { .. }))
    else {
        panic!("the sessions view should load");
    };
    let rows = (0..n).map(session_row).collect();
    app.update(
        Msg::Loaded {
            view: View::Sessions,
            generation,
            result: Ok(Loaded { rows, note: None }),
        },
        now(),
    );
}

#[test]
fn start_asks_who_i_am_and_loads_the_tickets() {
    let mut app = App::new(
        Setup {
            keymap: Keymap::defaults(),
            readonly: false,
            lab: true,
            adapter_url: String::new(),
            theme_names: vec![],
        },
        now(),
    );
    let effects = app.start();
    assert_eq!(effects[0], Effect::Whoami);
    assert!(matches!(
        effects[1],
        Effect::Load {
            view: View::Tickets,
            scope: None,
            ..
        }
    ));
}

#[test]
fn mark_three_reset_confirm_sends_one_job_with_those_three_sessions() {
    let mut app = app(Role::Helpdesk, false);
    sessions(&mut app, 10);
    ch(&mut app, ' ');
    ch(&mut app, ' ');
    ch(&mut app, 'j');
    ch(&mut app, ' ');
    assert!(
        ch(&mut app, 'r').is_empty(),
        "nothing is sent before the operator confirms"
    );
    let Mode::Confirm { pending, state } = &app.mode else {
        panic!("r opens the confirmation, got {:?}", app.mode);
    };
    assert_eq!(pending.question, "Log off 3 sessions?");
    assert_eq!(pending.targets[0], "CORP\\user000 on VDA-000 (London)");
    assert!(state.required.is_none(), "3 targets: no typed count");
    let effects = ch(&mut app, 'y');
    let [Effect::Submit { request, .. }] = &effects[..] else {
        panic!("y sends exactly one job, got {effects:?}");
    };
    assert_eq!(request.action, "session.logoff");
    let ids: Vec<&str> = request.targets.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["s0", "s1", "s3"]);
    assert!(
        app.table().marks.is_empty(),
        "marks are cleared once the action is sent"
    );
}

#[test]
fn enter_on_the_focused_cancel_button_changes_nothing() {
    let mut app = app(Role::Helpdesk, false);
    sessions(&mut app, 3);
    ch(&mut app, 'd');
    let effects = key(&mut app, KeyCode::Enter);
    assert!(effects.is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.flash.as_ref().map(|f| f.level), Some(FlashLevel::Info));
}

#[test]
fn more_than_fifty_targets_need_the_count_typed() {
    let mut app = app(Role::Helpdesk, false);
    sessions(&mut app, 120);
    ctrl(&mut app, 'a');
    ch(&mut app, 'r');
    assert!(
        ch(&mut app, 'y').is_empty(),
        "y alone does not confirm 120 targets"
    );
    for c in "120".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Tab);
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::Submit { request, .. }] = &effects[..] else {
        panic!("typed count + Confirm sends the job, got {effects:?}");
    };
    assert_eq!(request.targets.len(), 120);
}

#[test]
fn readonly_and_viewer_consoles_do_not_offer_actions() {
    for (role, readonly) in [(Role::Admin, true), (Role::Viewer, false)] {
        let mut app = app(role, readonly);
        sessions(&mut app, 3);
        assert!(ch(&mut app, 'r').is_empty());
        assert!(
            matches!(app.mode, Mode::Normal),
            "{role:?} readonly={readonly}"
        );
        let hints: Vec<String> = app
            .keymap
            .hints(View::Sessions)
            .into_iter()
            .map(|h| h.label.to_owned())
            .collect();
        assert!(!hints.iter().any(|h| h == "reset"), "{hints:?}");
    }
}

#[test]
fn actions_wait_while_the_adapter_is_away() {
    let mut app = app(Role::Helpdesk, false);
    sessions(&mut app, 3);
    app.update(
        Msg::Stream(StreamEvent::Reconnecting {
            attempt: 1,
            after: std::time::Duration::from_secs(2),
            retry_at: now() + chrono::Duration::seconds(2),
            reason: "connection refused".into(),
        }),
        now(),
    );
    assert!(ch(&mut app, 'r').is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.table().len(), 3, "the last data stays on screen");
    assert!(
        app.next_tick().is_some(),
        "the countdown in the header needs ticks"
    );
    let effects = app.update(
        Msg::Stream(StreamEvent::Connected {
            resume_after: 7,
            reconnected: true,
        }),
        now(),
    );
    assert!(
        effects.iter().any(|e| matches!(
            e,
            Effect::Load {
                view: View::Sessions,
                ..
            }
        )),
        "back: reload"
    );
    assert_eq!(app.link, Link::Live);
}

#[test]
fn an_answer_to_an_older_load_is_dropped() {
    let mut app = app(Role::Viewer, false);
    sessions(&mut app, 5);
    let Some(Effect::Load { generation, .. }) = ctrl(&mut app, 'r').into_iter().next() else {
        panic!("ctrl-r reloads");
    };
    app.update(
        Msg::Loaded {
            view: View::Sessions,
            generation: generation - 1,
            result: Ok(Loaded::default()),
        },
        now(),
    );
    assert_eq!(
        app.table().len(),
        5,
        "the stale empty answer did not replace the rows"
    );
    app.update(
        Msg::Loaded {
            view: View::Sessions,
            generation,
            result: Err(Failure::refused("boom")),
        },
        now(),
    );
    assert_eq!(app.table().len(), 5, "a failed reload keeps the rows");
    assert!(matches!(app.table().status, LoadStatus::Failed(_)));
}

#[test]
fn a_job_end_flashes_its_counts() {
    let mut app = app(Role::Helpdesk, false);
    let id = Uuid::new_v4();
    let event = |state, succeeded, failed| {
        Msg::Stream(StreamEvent::Event(ServerEvent {
            id: 1,
            at: now(),
            subject: id.to_string(),
            payload: EventPayload::Job(JobEvent {
                job_id: id,
                action: "session.logoff".into(),
                state,
                progress: JobProgress {
                    total: 50,
                    succeeded,
                    failed,
                    ..JobProgress::default()
                },
                ticket: None,
            }),
        }))
    };
    app.update(event(JobState::Running, 10, 0), now());
    assert_eq!(app.jobs.running(), 1);
    app.update(event(JobState::PartiallyFailed, 47, 3), now());
    let flash = app.flash.clone().map(|f| f.text);
    assert_eq!(
        flash.as_deref(),
        Some("Reset 47/50 sessions, 3 failed — w for details")
    );
    app.update(Msg::Tick, now() + chrono::Duration::seconds(60));
    assert!(app.flash.is_none(), "flashes expire");
}

#[test]
fn drill_down_from_a_user_to_their_sessions_and_back() {
    let mut app = app(Role::Helpdesk, false);
    let effects = ch(&mut app, '6');
    let Some(Effect::Load { generation, .. }) = effects.into_iter().next() else {
        panic!("users load");
    };
    let user = Row::new(
        RowRef::User {
            login: "CORP\\user001".into(),
            sites: vec!["London".into()],
        },
        vec!["CORP\\user001".into(), "User 1".into()],
        Tone::Plain,
    );
    app.update(
        Msg::Loaded {
            view: View::Users,
            generation,
            result: Ok(Loaded {
                rows: vec![user],
                note: None,
            }),
        },
        now(),
    );
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Sessions);
    let filter = app.table().filter.as_ref().map(|f| f.text().to_owned());
    assert_eq!(filter.as_deref(), Some("user==CORP\\user001"));
    assert_eq!(app.breadcrumbs(), ["users", "CORP\\user001", "sessions"]);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Users);
    assert!(
        app.tables[&View::Sessions].filter.is_none(),
        "the sessions filter is restored"
    );
    assert!(app.crumbs.is_empty());
}

#[test]
fn q_goes_back_then_quits_and_ctrl_c_quits_at_once() {
    let mut app = app(Role::Viewer, false);
    sessions(&mut app, 1);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Machines);
    assert!(ch(&mut app, 'q').iter().all(|e| *e != Effect::Quit));
    assert_eq!(app.view, View::Sessions);
    assert_eq!(ch(&mut app, 'q'), [Effect::Quit]);
    let mut other = self::app(Role::Viewer, false);
    ch(&mut other, '?');
    assert_eq!(
        ctrl(&mut other, 'c'),
        [Effect::Quit],
        "ctrl-c quits from any mode"
    );
}

#[test]
fn a_work_note_needs_text_then_a_confirmation() {
    let mut app = app(Role::Helpdesk, false);
    let effects = ch(&mut app, '1');
    let generation = match effects.first() {
        Some(Effect::Load { generation, .. }) => *generation,
        _ => app.tables[&View::Tickets].generation,
    };
    let mut cells = vec![String::new(); convert::columns(View::Tickets).len()];
    cells[0] = "INC0010001".into();
    let link = TicketLink {
        instance: "dev".into(),
        number: "INC0010001".into(),
    };
    let row = Row::new(RowRef::Ticket(link.clone()), cells, Tone::Plain);
    app.update(
        Msg::Loaded {
            view: View::Tickets,
            generation,
            result: Ok(Loaded {
                rows: vec![row],
                note: None,
            }),
        },
        now(),
    );
    ch(&mut app, 'n');
    assert!(matches!(app.mode, Mode::Prompt(_)));
    key(&mut app, KeyCode::Enter);
    let Mode::Prompt(prompt) = &app.mode else {
        panic!("empty text is refused and the prompt stays");
    };
    assert!(prompt.error.is_some());
    for c in "called user".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Confirm { .. }));
    let effects = ch(&mut app, 'y');
    assert_eq!(
        effects,
        [Effect::Ticket {
            link,
            op: TicketOp::Note("called user".into())
        }]
    );
}

#[test]
fn a_command_completes_a_loaded_site_and_scopes_the_view_to_it() {
    let mut app = app(Role::Viewer, false);
    let generation = app.tables[&View::Sites].generation;
    let site = |name: &str| {
        Row::new(
            RowRef::Site { name: name.into() },
            vec![name.into()],
            Tone::Plain,
        )
    };
    let rows = vec![site("London"), site("Cloud")];
    app.update(
        Msg::Loaded {
            view: View::Sites,
            generation,
            result: Ok(Loaded { rows, note: None }),
        },
        now(),
    );
    ch(&mut app, ':');
    for c in "sessions lon".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.command_line.value(), "sessions London");
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Sessions);
    assert_eq!(app.table().scope.as_deref(), Some("London"));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Load { view: View::Sessions, scope: Some(s), .. } if s == "London")),
        "{effects:?}"
    );
    // A site that is not there is refused on the line, which stays open.
    ch(&mut app, ':');
    for c in "sessions Atlantis".chars() {
        ch(&mut app, c);
    }
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Command));
    assert!(
        app.command_line
            .error()
            .is_some_and(|e| e.contains("Atlantis")),
        "{:?}",
        app.command_line.error()
    );
}

#[test]
fn who_am_i_is_asked_again_when_the_adapter_comes_back() {
    let mut app = App::new(
        Setup {
            keymap: Keymap::defaults(),
            readonly: false,
            lab: false,
            adapter_url: String::new(),
            theme_names: vec![],
        },
        now(),
    );
    app.start();
    let away = Failure {
        message: "connection refused".into(),
        adapter_away: true,
    };
    app.update(Msg::Whoami(Err(away)), now());
    assert_eq!(
        app.role(),
        Role::Viewer,
        "nothing offered that might be refused"
    );
    let effects = app.update(
        Msg::Stream(StreamEvent::Connected {
            resume_after: 0,
            reconnected: true,
        }),
        now(),
    );
    assert!(effects.contains(&Effect::Whoami), "{effects:?}");
}

#[test]
fn the_detail_pane_scrolls_and_starts_at_the_top_for_the_next_row() {
    let mut app = app(Role::Viewer, false);
    sessions(&mut app, 5);
    ch(&mut app, 'i');
    assert!(app.details);
    ch(&mut app, 'J');
    ch(&mut app, 'J');
    assert_eq!(app.detail_scroll, 6);
    ch(&mut app, 'K');
    assert_eq!(app.detail_scroll, 3);
    ch(&mut app, 'j');
    assert_eq!(
        app.detail_scroll, 0,
        "another row's details start at the top"
    );
}
