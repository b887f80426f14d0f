//! The account actions as an operator drives them: the password dialog's state machine, the
//! exact job it sends, the generated password shown once, unlock/enable/disable and the
//! users view's account columns.

use chrono::{TimeZone, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use uuid::Uuid;

use super::super::tests::now;
use super::super::*;
use super::*;
use crate::accounts::PasswordPolicy;
use crate::console::client::{
    AccountInfo, CheckViolation, JobInfo, JobProgress, JobState, PasswordCheck, Target, UserRow,
};
use crate::console::widgets::password_dialog::{Field, Method};

fn app(role: Role) -> App {
    super::super::tests::app(role, false)
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now())
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn user(login: &str, name: &str) -> Row {
    convert::user(&UserRow {
        user_name: login.into(),
        upn: String::new(),
        display_name: name.into(),
        sessions: 1,
        machines: 0,
        sites: vec!["London".into()],
    })
}

/// The users view with Ada and Bob loaded; answers the effects of the load.
fn users(app: &mut App) -> Vec<Effect> {
    let effects = press(app, KeyCode::Char('6'));
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::Load { generation, .. } => Some(*generation),
            _ => None,
        })
        .unwrap_or_default();
    app.update(
        Msg::Loaded {
            view: View::Users,
            generation,
            result: Ok(Loaded {
                rows: vec![
                    user("LAB\\ada", "Ada Lovelace"),
                    user("LAB\\bob", "Bob Smith"),
                ],
                note: None,
            }),
        },
        now(),
    )
}

fn reset(app: &App) -> &PasswordReset {
    match &app.mode {
        Mode::Password(r) => r,
        other => panic!("the password dialog should be open, not {other:?}"),
    }
}

fn opened(role: Role) -> App {
    let mut app = app(role);
    users(&mut app);
    let effects = press(&mut app, KeyCode::Char('P'));
    assert_eq!(effects, vec![Effect::LoadPolicy]);
    app.update(
        Msg::PolicyLoaded(Ok(Box::new(PasswordPolicy::default()))),
        now(),
    );
    app
}

fn job_info(action: &str) -> Box<JobInfo> {
    Box::new(JobInfo {
        id: Uuid::from_u128(7),
        action: action.into(),
        requested_by: "alice".into(),
        ticket: None,
        params: json!(null),
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
    })
}

#[test]
fn p_opens_the_dialog_for_the_cursor_user_with_must_change_on() {
    let app = opened(Role::Helpdesk);
    let r = reset(&app);
    assert_eq!(
        r.target,
        Target {
            site: "LAB".into(),
            id: "ada".into()
        }
    );
    assert_eq!(r.label(), "LAB\\ada (Ada Lovelace)");
    assert!(r.form.must_change && !r.form.unlock && !r.form.generate && !r.form.reveal);
    assert_eq!(r.form.focus, Field::Password);
}

#[test]
fn typing_is_masked_reveal_toggles_and_the_checklist_follows() {
    let mut app = opened(Role::Helpdesk);
    typed(&mut app, "short");
    let policy = app.policy.clone().unwrap_or_default();
    let summary = reset(&app).summary(&policy);
    assert!(!summary.acceptable());
    assert!(summary.checks.iter().any(|c| !c.passed));
    assert!(!reset(&app).form.password.shown(false).contains("short"));
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
        now(),
    );
    assert!(reset(&app).form.reveal);
    typed(&mut app, "-Quartz-93!");
    let summary = reset(&app).summary(&policy);
    assert!(summary.acceptable(), "{:?}", summary.violations);
    // No line of feedback repeats the password or a piece of it.
    for check in &summary.checks {
        assert!(!check.label.contains("Quartz"), "{}", check.label);
    }
    // The name rule knows the user: their name in the password fails it.
    for _ in 0..30 {
        press(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "Lovelace-2026!");
    assert!(!reset(&app).summary(&policy).acceptable());
}

#[test]
fn escape_cancels_and_wipes_the_typed_password() {
    let mut app = opened(Role::Helpdesk);
    typed(&mut app, "Sup3r-Secret-99");
    let mut form = match std::mem::replace(&mut app.mode, Mode::Normal) {
        Mode::Password(r) => r.form,
        _ => panic!("dialog open"),
    };
    // The form itself: Esc empties both secret fields before anything else sees them.
    assert_eq!(
        form.handle_key(KeyEvent::from(KeyCode::Esc)),
        crate::console::widgets::password_dialog::PasswordOutcome::Cancelled
    );
    assert_eq!(form.password.expose(), "");
    // Through the app: the dialog closes, nothing is sent, and nothing of it is kept.
    let mut app = opened(Role::Helpdesk);
    typed(&mut app, "Sup3r-Secret-99");
    let effects = press(&mut app, KeyCode::Esc);
    assert!(effects.is_empty());
    assert!(matches!(app.mode, Mode::Normal));
    assert!(!format!("{app:?}").contains("Sup3r"));
}

#[test]
fn submit_checks_locally_then_at_the_adapter_then_sends_the_exact_job() {
    let mut app = opened(Role::Helpdesk);
    // Nothing typed: refused in the dialog.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(reset(&app).form.errors[0].contains("type the new password"));
    typed(&mut app, "Quartz-Orbit-93!");
    // No call-back note yet.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        reset(&app)
            .form
            .errors
            .iter()
            .any(|e| e.contains("call-back note"))
    );
    // Tab to unlock, tick it; on to the note.
    for _ in 0..3 {
        press(&mut app, KeyCode::Tab);
    }
    assert_eq!(reset(&app).form.focus, Field::Unlock);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    assert_eq!(reset(&app).form.focus, Field::Note);
    typed(&mut app, "called back on the number on file");
    let effects = press(&mut app, KeyCode::Enter);
    let [
        Effect::CheckPassword {
            domain,
            user,
            password,
        },
    ] = effects.as_slice()
    else {
        panic!("a check, not {effects:?}");
    };
    assert_eq!((domain.as_str(), user.as_str()), ("LAB", "ada"));
    assert_eq!(password.expose(), "Quartz-Orbit-93!");
    assert!(reset(&app).form.checking);
    // The adapter refuses (its deny list): its reasons go into the dialog.
    app.update(
        Msg::PasswordChecked {
            login: "LAB\\ada".into(),
            result: Ok(PasswordCheck {
                ok: false,
                violations: vec![CheckViolation {
                    code: "denied".into(),
                    message: "is on the list of common passwords".into(),
                }],
            }),
        },
        now(),
    );
    let r = reset(&app);
    assert!(!r.form.checking);
    assert_eq!(
        r.form.errors,
        ["the password is on the list of common passwords"]
    );
    // Once more; accepted this time.
    press(&mut app, KeyCode::Enter);
    let effects = app.update(
        Msg::PasswordChecked {
            login: "LAB\\ada".into(),
            result: Ok(PasswordCheck {
                ok: true,
                violations: vec![],
            }),
        },
        now(),
    );
    assert!(matches!(app.mode, Mode::Normal));
    let [Effect::ResetPassword { login, request, .. }] = effects.as_slice() else {
        panic!("the reset job, not {effects:?}");
    };
    assert_eq!(login, "LAB\\ada");
    assert_eq!(request.action, "account.password_reset");
    assert_eq!(
        request.targets,
        [Target {
            site: "LAB".into(),
            id: "ada".into()
        }]
    );
    // What is stored and shown (params) has no secret; the body on the wire has it.
    assert_eq!(
        request.params,
        json!({
            "must_change": true,
            "unlock": true,
            "verification": {"method": "callback", "note": "called back on the number on file"},
        })
    );
    assert!(!format!("{request:?}").contains("Quartz"));
    let body = request.body().unwrap_or_default();
    assert_eq!(body["params"]["password"], "Quartz-Orbit-93!");
    assert_eq!(body["params"]["unlock"], true);
}

#[test]
fn a_security_code_goes_as_a_secret_and_generate_needs_no_password() {
    let mut app = opened(Role::Helpdesk);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char(' ')); // generate
    for _ in 0..3 {
        press(&mut app, KeyCode::Tab);
    }
    assert_eq!(reset(&app).form.focus, Field::Method);
    press(&mut app, KeyCode::Char(' '));
    assert_eq!(reset(&app).form.method, Method::Code);
    press(&mut app, KeyCode::Tab);
    assert_eq!(reset(&app).form.focus, Field::Code);
    typed(&mut app, "482913");
    // Generated: no password check at the adapter, straight to the job.
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::ResetPassword { request, .. }] = effects.as_slice() else {
        panic!("the reset job, not {effects:?}");
    };
    assert_eq!(
        request.params,
        json!({"generate": true, "must_change": true, "unlock": false,
               "verification": {"method": "code"}})
    );
    let body = request.body().unwrap_or_default();
    assert_eq!(body["params"]["verification"]["code"], "482913");
    assert!(body["params"].get("password").is_none());
    assert!(!format!("{effects:?}").contains("482913"));
}

#[test]
fn the_generated_password_is_shown_once_then_gone() {
    let mut app = opened(Role::Helpdesk);
    app.mode = Mode::Normal;
    let effects = app.update(
        Msg::PasswordReset {
            what: "Reset password of LAB\\ada".into(),
            login: "LAB\\ada".into(),
            result: Ok((
                job_info("account.password_reset"),
                Some(Secret::new("Tmp-7h8J-kq2P")),
            )),
        },
        now(),
    );
    let Mode::ShownOnce(shown) = &app.mode else {
        panic!("the password is shown");
    };
    assert_eq!(shown.password.expose(), "Tmp-7h8J-kq2P");
    assert!(!format!("{app:?}").contains("Tmp-7h8J"));
    // The job is followed like any other.
    assert!(app.jobs.get(Uuid::from_u128(7)).is_some());
    assert!(
        effects
            .iter()
            .all(|e| !format!("{e:?}").contains("Tmp-7h8J"))
    );
    // Other keys do not close it by accident.
    press(&mut app, KeyCode::Char('j'));
    assert!(matches!(app.mode, Mode::ShownOnce(_)));
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn unlock_confirms_and_disable_is_for_admins_only() {
    let mut app = app(Role::Helpdesk);
    users(&mut app);
    press(&mut app, KeyCode::Char('u'));
    let Mode::Confirm { pending, .. } = &app.mode else {
        panic!("a confirmation");
    };
    assert_eq!(pending.targets, ["LAB\\ada"]);
    let PendingWork::Job {
        action, targets, ..
    } = &pending.work
    else {
        panic!("a job");
    };
    assert_eq!(action, "account.unlock");
    assert_eq!(targets[0].site, "LAB");
    press(&mut app, KeyCode::Esc);
    // A helpdesk operator's `D` does nothing.
    press(&mut app, KeyCode::Char('D'));
    assert!(matches!(app.mode, Mode::Normal));

    let mut admin = self::app(Role::Admin);
    users(&mut admin);
    press(&mut admin, KeyCode::Char(' '));
    press(&mut admin, KeyCode::Char(' '));
    press(&mut admin, KeyCode::Char('D'));
    let Mode::Confirm { pending, .. } = &admin.mode else {
        panic!("a confirmation");
    };
    assert_eq!(pending.question, "Disable 2 accounts?");
    let effects = press(&mut admin, KeyCode::Char('y'));
    let [Effect::Submit { request, .. }] = effects.as_slice() else {
        panic!("a job, not {effects:?}");
    };
    assert_eq!(request.action, "account.disable");
    assert_eq!(request.params, json!(null));
}

#[test]
fn account_flags_fill_the_cursor_users_row_and_survive_a_reload() {
    let mut app = app(Role::Helpdesk);
    let effects = users(&mut app);
    assert!(
        effects.contains(&Effect::LoadAccount {
            domain: "LAB".into(),
            user: "ada".into()
        }),
        "{effects:?}"
    );
    let expires = Utc.with_ymd_and_hms(2026, 12, 24, 8, 0, 0).single();
    app.update(
        Msg::AccountLoaded {
            login: "LAB\\ada".into(),
            result: Ok(Box::new(AccountInfo {
                sam_name: "ada".into(),
                domain: "LAB".into(),
                display_name: "Ada Lovelace".into(),
                locked: true,
                must_change: true,
                password_expires: expires,
                ..AccountInfo::default()
            })),
        },
        now(),
    );
    let cell = |app: &App, name: &str| {
        let i = convert::column_index(View::Users, name).unwrap_or_default();
        app.tables[&View::Users].rows[0].cell(i).to_owned()
    };
    assert_eq!(cell(&app, "locked"), "yes");
    assert_eq!(cell(&app, "disabled"), "no");
    assert_eq!(cell(&app, "must_change"), "yes");
    assert_eq!(cell(&app, "expires"), "2026-12-24 08:00");
    assert_eq!(app.tables[&View::Users].rows[0].tone, Tone::Warn);
    // Bob is not read until the cursor is on him; Ada is not read again.
    let down = press(&mut app, KeyCode::Char('j'));
    assert_eq!(
        down,
        vec![Effect::LoadAccount {
            domain: "LAB".into(),
            user: "bob".into()
        }]
    );
    assert!(press(&mut app, KeyCode::Char('k')).is_empty());
    // A reload keeps what is known.
    let reload = app.act(crate::console::keymap::Action::Refresh);
    let generation = reload
        .iter()
        .find_map(|e| match e {
            Effect::Load { generation, .. } => Some(*generation),
            _ => None,
        })
        .unwrap_or_default();
    app.update(
        Msg::Loaded {
            view: View::Users,
            generation,
            result: Ok(Loaded {
                rows: vec![
                    user("LAB\\ada", "Ada Lovelace"),
                    user("LAB\\bob", "Bob Smith"),
                ],
                note: None,
            }),
        },
        now(),
    );
    assert_eq!(cell(&app, "locked"), "yes");
}

#[test]
fn p_on_a_ticket_resets_its_requesters_password_for_that_ticket() {
    let mut app = app(Role::Helpdesk);
    users(&mut app);
    press(&mut app, KeyCode::Char('1'));
    let mut cells = vec![String::new(); convert::columns(View::Tickets).len()];
    cells[0] = "INC0010001".into();
    if let Some(i) = convert::column_index(View::Tickets, "requester") {
        cells[i] = "Bob Smith".into();
    }
    let link = crate::console::client::TicketLink {
        instance: "dev".into(),
        number: "INC0010001".into(),
    };
    let row = Row::new(RowRef::Ticket(link.clone()), cells, Tone::Plain);
    let generation = app.tables[&View::Tickets].generation;
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
    press(&mut app, KeyCode::Char('P'));
    let r = reset(&app);
    assert_eq!(r.login, "LAB\\bob");
    assert_eq!(r.ticket, Some(link));
}
