//! Snapshots of the console's screens (insta), drawn from app state the way the event loop
//! draws them: every view, the help overlay, the confirmation dialog, the jobs pane and an
//! error state. A change to what the operator sees shows up as a snapshot diff to review.

use chrono::{DateTime, TimeZone, Utc};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use uuid::Uuid;

use deskbridge::console::app::{
    App, Effect, Failure, Link, Loaded, Msg, Row, RowRef, Setup, Tone, convert,
};
use deskbridge::console::client::{
    CallLog, EventPayload, JobEvent, JobProgress, JobState, ServerEvent, StreamEvent, TicketLink,
    Whoami,
};
use deskbridge::console::keymap::{Keymap, View};
use deskbridge::console::theme::Theme;
use deskbridge::console::ui;
use deskbridge::model::Role;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 30, 0)
        .single()
        .unwrap_or_default()
}

fn app() -> App {
    let setup = Setup {
        keymap: Keymap::defaults(),
        readonly: false,
        lab: true,
        adapter_url: "http://127.0.0.1:40123".into(),
        theme_names: Vec::new(),
    };
    let mut app = App::new(setup, now());
    app.start();
    let me = Whoami {
        client_id: Uuid::nil(),
        name: "alice".into(),
        role: Role::Helpdesk,
        token_expires_at: None,
    };
    app.update(Msg::Whoami(Ok(me)), now());
    app.update(
        Msg::Stream(StreamEvent::Connected {
            resume_after: 0,
            reconnected: false,
        }),
        now(),
    );
    app
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now())
}

/// Switches to `view` and answers its load with `rows`.
fn show(app: &mut App, view: View, rows: Vec<Row>) {
    let digit = char::from(b'1' + View::ALL.iter().position(|v| *v == view).unwrap_or(0) as u8);
    let effects = key(app, KeyCode::Char(digit));
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::Load {
                view: v,
                generation,
                ..
            } if *v == view => Some(*generation),
            _ => None,
        })
        .unwrap_or_else(|| app.tables[&view].generation);
    app.update(
        Msg::Loaded {
            view,
            generation,
            result: Ok(Loaded { rows, note: None }),
        },
        now(),
    );
}

fn cells(view: View, values: &[(&str, &str)]) -> Vec<String> {
    let columns = convert::columns(view);
    let mut cells = vec![String::new(); columns.len()];
    for (name, value) in values {
        if let Some(i) = columns.iter().position(|c| c.name == *name) {
            cells[i] = (*value).to_owned();
        }
    }
    cells
}

fn sessions(n: usize) -> Vec<Row> {
    (0..n)
        .map(|i| {
            let user = format!("LAB\\user{i:03}");
            let state = if i % 4 == 3 { "Disconnected" } else { "Active" };
            let values = [
                ("user", user.as_str()),
                ("name", "Lab User"),
                ("machine", &format!("LON-VDA-{i:03}")),
                ("state", state),
                ("site", "London"),
                ("group", "Office Desktops"),
                ("client", "LAPTOP-7"),
                ("started", "2026-11-27 08:0"),
            ];
            let target = RowRef::Session {
                site: "London".into(),
                id: format!("s{i}"),
                user: user.clone(),
            };
            let tone = if state == "Disconnected" {
                Tone::Warn
            } else {
                Tone::Plain
            };
            Row::new(target, cells(View::Sessions, &values), tone)
        })
        .collect()
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let theme = Theme::load("default", None).expect("the default theme loads");
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    ui::render(app, &theme, &CallLog::new(10), area, &mut buf);
    (0..height)
        .map(|y| {
            let line: String = (0..width)
                .map(|x| buf[(x, y)].symbol().to_owned())
                .collect();
            line.trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sessions_view_with_marks_and_a_filter() {
    let mut app = app();
    show(&mut app, View::Sessions, sessions(30));
    key(&mut app, KeyCode::Char('/'));
    for c in "user01".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Char(' '));
    insta::assert_snapshot!(screen(&mut app, 100, 24));
}

#[test]
fn tickets_view() {
    let mut app = app();
    let rows = (1..=6)
        .map(|i| {
            let number = format!("INC00100{i:02}");
            let values = [
                ("number", number.as_str()),
                ("priority", &i.min(5).to_string()),
                ("state", if i % 2 == 0 { "In Progress" } else { "New" }),
                ("age", "2h 10m"),
                ("short", "My session is frozen"),
                ("requester", "Ada Lovelace"),
                ("group", "Service Desk"),
                ("instance", "dev"),
            ];
            let link = TicketLink {
                instance: "dev".into(),
                number: number.clone(),
            };
            Row::new(
                RowRef::Ticket(link),
                cells(View::Tickets, &values),
                Tone::Priority(i.min(5) as u8),
            )
        })
        .collect();
    show(&mut app, View::Tickets, rows);
    insta::assert_snapshot!(screen(&mut app, 120, 16));
}

#[test]
fn every_other_view_renders_its_columns() {
    let mut app = app();
    let mut out = String::new();
    for view in [
        View::Machines,
        View::Groups,
        View::Sites,
        View::Users,
        View::Jobs,
        View::Audit,
    ] {
        let values: Vec<(&str, &str)> = match view {
            View::Groups => vec![
                ("name", "Office Desktops"),
                ("site", "London"),
                ("machines", "20/50/5/3/2"),
                ("total", "80"),
            ],
            View::Sites => vec![
                ("name", "London"),
                ("health", "healthy"),
                ("connectors", "2/2 up"),
                ("sessions", "1200"),
            ],
            View::Machines => vec![
                ("name", "LAB\\LON-VDA-001"),
                ("state", "InUse"),
                ("power", "On"),
                ("registration", "Registered"),
                ("maintenance", "no"),
                ("sessions", "1"),
                ("site", "London"),
            ],
            View::Users => vec![
                ("user", "LAB\\ada"),
                ("name", "Ada Lovelace"),
                ("sessions", "2"),
                ("sites", "London"),
            ],
            View::Jobs => vec![
                ("action", "session.logoff"),
                ("state", "succeeded"),
                ("progress", "3/3"),
                ("failed", "0"),
            ],
            _ => vec![
                ("at", "2026-11-27 09:12:00"),
                ("actor", "alice"),
                ("action", "session.logoff"),
                ("outcome", "allowed"),
            ],
        };
        let target = match view {
            View::Groups => RowRef::Group {
                site: "London".into(),
                id: "g1".into(),
            },
            View::Sites => RowRef::Site {
                name: "London".into(),
            },
            View::Users => RowRef::User {
                login: "LAB\\ada".into(),
                sites: vec!["London".into()],
            },
            View::Jobs => RowRef::Job { id: Uuid::nil() },
            View::Audit => RowRef::Audit { id: 1 },
            _ => RowRef::Machine {
                site: "London".into(),
                id: "m1".into(),
            },
        };
        show(
            &mut app,
            view,
            vec![Row::new(target, cells(view, &values), Tone::Plain)],
        );
        out.push_str(&format!(
            "--- {}\n{}\n",
            view.name(),
            screen(&mut app, 100, 8)
        ));
    }
    insta::assert_snapshot!(out);
}

#[test]
fn help_overlay() {
    let mut app = app();
    show(&mut app, View::Sessions, sessions(5));
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!(screen(&mut app, 100, 30));
}

#[test]
fn confirmation_dialog_for_a_bulk_reset_asks_for_the_count() {
    let mut app = app();
    show(&mut app, View::Sessions, sessions(60));
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL)),
        now(),
    );
    key(&mut app, KeyCode::Char('r'));
    key(&mut app, KeyCode::Char('6'));
    insta::assert_snapshot!(screen(&mut app, 100, 24));
}

#[test]
fn jobs_pane_with_a_running_and_a_finished_job() {
    let mut app = app();
    show(&mut app, View::Sessions, sessions(5));
    let mut event = |id: u128, action: &str, state, succeeded, failed, running| {
        let payload = EventPayload::Job(JobEvent {
            job_id: Uuid::from_u128(id),
            action: action.into(),
            state,
            progress: JobProgress {
                total: 50,
                succeeded,
                failed,
                running,
                queued: 50 - succeeded - failed - running,
                cancelled: 0,
            },
            ticket: None,
        });
        let event = ServerEvent {
            id: id as i64,
            at: now(),
            subject: String::new(),
            payload,
        };
        app.update(Msg::Stream(StreamEvent::Event(event)), now());
    };
    event(1, "machine.restart", JobState::PartiallyFailed, 47, 3, 0);
    event(2, "session.logoff", JobState::Running, 20, 1, 8);
    insta::assert_snapshot!(screen(&mut app, 100, 20));
}

#[test]
fn adapter_away_keeps_the_data_and_says_so() {
    let mut app = app();
    show(&mut app, View::Sessions, sessions(4));
    let away = StreamEvent::Reconnecting {
        attempt: 3,
        after: std::time::Duration::from_secs(4),
        retry_at: now() + chrono::Duration::seconds(4),
        reason: "connection refused".into(),
    };
    app.update(Msg::Stream(away), now());
    // The reload that was under way when the link dropped fails.
    let reload = app.tables[&View::Sessions].generation;
    app.update(
        Msg::Loaded {
            view: View::Sessions,
            generation: reload,
            result: Err(Failure {
                message: "the adapter is unreachable".into(),
                adapter_away: true,
            }),
        },
        now(),
    );
    assert!(matches!(app.link, Link::Away { .. }));
    insta::assert_snapshot!(screen(&mut app, 100, 12));
}

/// The users view with Ada, `P` pressed, the policy loaded and `typed` typed.
fn password_dialog(typed: &str) -> App {
    let mut app = app();
    let ada = convert::user(&deskbridge::console::client::UserRow {
        user_name: "LAB\\ada".into(),
        upn: "ada@lab.example".into(),
        display_name: "Ada Lovelace".into(),
        sessions: 2,
        machines: 1,
        sites: vec!["London".into()],
    });
    show(&mut app, View::Users, vec![ada]);
    key(&mut app, KeyCode::Char('P'));
    app.update(
        Msg::PolicyLoaded(Ok(
            Box::new(deskbridge::accounts::PasswordPolicy::default()),
        )),
        now(),
    );
    for c in typed.chars() {
        key(&mut app, KeyCode::Char(c));
    }
    app
}

#[test]
fn password_dialog_masked_with_live_policy_feedback() {
    let mut app = password_dialog("lovelace2");
    let screen = screen(&mut app, 100, 30);
    assert!(!screen.contains("lovelace2"), "the password is masked");
    insta::assert_snapshot!(screen);
}

#[test]
fn password_dialog_revealed_and_accepted() {
    let mut app = password_dialog("Quartz-Orbit-93!");
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
        now(),
    );
    let screen = screen(&mut app, 100, 30);
    assert!(screen.contains("Quartz-Orbit-93!"), "ctrl-r reveals it");
    insta::assert_snapshot!(screen);
}

#[test]
fn password_dialog_generating_with_a_security_code() {
    let mut app = password_dialog("");
    for code in [KeyCode::Tab, KeyCode::Char(' ')] {
        key(&mut app, code);
    }
    for _ in 0..3 {
        key(&mut app, KeyCode::Tab);
    }
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Tab);
    for c in "482913".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let screen = screen(&mut app, 100, 30);
    assert!(!screen.contains("482913"), "the code is masked");
    insta::assert_snapshot!(screen);
}

#[test]
fn a_generated_password_is_shown_once() {
    let mut app = password_dialog("");
    key(&mut app, KeyCode::Esc);
    let job = deskbridge::console::client::JobInfo {
        id: Uuid::from_u128(9),
        action: "account.password_reset".into(),
        requested_by: "alice".into(),
        ticket: None,
        params: serde_json::Value::Null,
        idempotency_key: None,
        state: JobState::Queued,
        progress: JobProgress {
            total: 1,
            queued: 1,
            ..JobProgress::default()
        },
        cancel_requested_at: None,
        created_at: now(),
        updated_at: now(),
        result: None,
        error: None,
        tasks: None,
        ticket_status: None,
    };
    app.update(
        Msg::PasswordReset {
            what: "Reset password of LAB\\ada".into(),
            login: "LAB\\ada".into(),
            result: Ok((
                Box::new(job),
                Some(deskbridge::secret::Secret::new("Tmp-7h8J-kq2P-x9Wm")),
            )),
        },
        now(),
    );
    insta::assert_snapshot!(screen(&mut app, 100, 24));
    key(&mut app, KeyCode::Enter);
    assert!(
        !screen(&mut app, 100, 24).contains("Tmp-7h8J"),
        "gone once closed"
    );
}

#[test]
fn password_dialog_at_80_by_24_keeps_the_rules_and_the_refusal() {
    let mut app = password_dialog("Lovelace-2026!");
    // Submitted without the call-back note: refused in the dialog.
    key(&mut app, KeyCode::Enter);
    let screen = screen(&mut app, 80, 24);
    assert!(screen.contains("call-back note"), "{screen}");
    assert!(screen.contains("not the account name"), "{screen}");
    insta::assert_snapshot!(screen);
}
