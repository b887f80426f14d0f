//! The workflow forms as an operator drives them (pure: state + message → state + effects):
//! the request a form previews and sends, the debounce, 422s, role and read-only hiding, the
//! typed confirmation of offboarding, the temporary password shown once, and the steps and
//! routing in the detail pane.

use chrono::Duration;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;
use uuid::Uuid;

use super::super::tests::{app, now};
use super::super::*;
use super::*;
use crate::console::client::{JobProgress, JobState, UserRow};
use crate::console::widgets::workflow_dialog::Stage;

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now())
}

fn typed(app: &mut App, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| press(app, KeyCode::Char(c)))
        .collect()
}

/// The users view with Ada and Bob loaded.
fn users(app: &mut App) {
    let effects = press(app, KeyCode::Char('6'));
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::Load { generation, .. } => Some(*generation),
            _ => None,
        })
        .unwrap_or_default();
    let user = |login: &str, name: &str| {
        convert::user(&UserRow {
            user_name: login.into(),
            upn: String::new(),
            display_name: name.into(),
            sessions: 1,
            machines: 0,
            sites: vec!["London".into()],
        })
    };
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
}

fn form(app: &App) -> &WorkflowForm {
    match &app.mode {
        Mode::Workflow(w) => w,
        other => panic!("a workflow form should be open, not {other:?}"),
    }
}

/// The one preview asked for among `effects`: its key and request.
fn preview_of(effects: &[Effect]) -> (serde_json::Value, JobRequest) {
    let found: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Workflow(WorkflowEffect::Preview { key, request }) => {
                Some((key.clone(), request.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one preview in {effects:?}");
    found.into_iter().next().unwrap_or_else(|| unreachable!())
}

fn preview(person: &str, steps: &[&str]) -> Box<WorkflowPreview> {
    let body = json!({
        "action": "request.pooled_desktop", "person": person,
        "routing": { "facts": { "user": person, "location": "London" },
            "route": { "rule": "office-london", "site": "London",
                "pooled_desktop": { "delivery_group": "London Pooled Desktops" },
                "persistent_desktop": null, "apps": ["Office"], "groups": [] },
            "checks": [{ "rule": "london-engineering", "matched": false, "reasons": ["ou is x"] },
                       { "rule": "office-london", "matched": true,
                         "reasons": ["location is \"London\", as the rule wants"] }],
            "unknown": ["department"] },
        "steps": steps.iter().enumerate().map(|(i, t)| json!({
            "number": i, "kind": "k", "title": t, "state": "pending" })).collect::<Vec<_>>(),
    });
    Box::new(serde_json::from_value(body).expect("a preview"))
}

fn answer(app: &mut App, key: serde_json::Value, result: Result<Box<WorkflowPreview>, Failure>) {
    app.update(Msg::Workflow(WorkflowMsg::Previewed { key, result }), now());
}

fn job(action: &str) -> Box<JobInfo> {
    Box::new(JobInfo {
        id: Uuid::from_u128(9),
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

fn shown_text(app: &App) -> String {
    form(app)
        .shown()
        .into_iter()
        .map(|(l, _)| l)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_request_drilled_down_from_a_ticket_previews_confirms_and_links_the_job() {
    let mut app = app(Role::Helpdesk, false);
    users(&mut app);
    // Drilled down from RITM0010001, whose requester is Bob.
    let link = TicketLink {
        instance: "lab".into(),
        number: "RITM0010001".into(),
    };
    let columns = convert::columns(View::Tickets).len();
    let mut cells = vec![String::new(); columns];
    if let Some(i) = convert::column_index(View::Tickets, "requester") {
        cells[i] = "Bob Smith".into();
    }
    app.tables
        .get_mut(&View::Tickets)
        .expect("tickets table")
        .set_rows(vec![Row::new(
            RowRef::Ticket(link.clone()),
            cells,
            super::super::Tone::Plain,
        )]);
    app.crumbs.push(Crumb {
        from: View::Tickets,
        label: "RITM0010001".into(),
        to: View::Users,
        to_filter_before: None,
        to_scope_before: None,
        ticket: Some(link.clone()),
    });
    // The cursor is on Ada: Bob asks for Ada.
    let effects = press(&mut app, KeyCode::Char('N'));
    let (key, request) = preview_of(&effects);
    assert_eq!(request.action, "request.pooled_desktop");
    assert_eq!(
        request.targets,
        vec![Target {
            site: "LAB".into(),
            id: "ada".into()
        }]
    );
    assert_eq!(request.params, json!({ "requester": "LAB\\bob" }));
    assert!(shown_text(&app).contains("asking the adapter"));
    // Enter before the preview: nothing is sent.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(form(&app).form.stage, Stage::Edit);

    answer(
        &mut app,
        key,
        Ok(preview("LAB\\ada", &["Entitle LAB\\ada", "Check"])),
    );
    let text = shown_text(&app);
    assert!(
        text.contains("Routed to site London by rule office-london"),
        "{text}"
    );
    assert!(
        text.contains("because location is \"London\", as the rule wants"),
        "{text}"
    );
    assert!(
        text.contains("unknown to the directory: department"),
        "{text}"
    );
    assert!(text.contains("1. Entitle LAB\\ada"), "{text}");
    assert!(text.contains("2. Check"), "{text}");

    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(form(&app).form.stage, Stage::Confirm { .. }));
    // Focus on Cancel: a stray Enter goes back to the form.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(form(&app).form.stage, Stage::Edit);
    press(&mut app, KeyCode::Enter);
    let effects = press(&mut app, KeyCode::Char('y'));
    let [Effect::Workflow(WorkflowEffect::Submit { request, login, .. })] = &effects[..] else {
        panic!("one job: {effects:?}");
    };
    assert_eq!(login, "LAB\\ada");
    assert_eq!(request.ticket.as_ref(), Some(&link));
    assert_eq!(request.action, "request.pooled_desktop");
    assert!(matches!(app.mode, Mode::Normal));

    app.update(
        Msg::Workflow(WorkflowMsg::Submitted {
            what: "Request pooled desktop for LAB\\ada".into(),
            login: "LAB\\ada".into(),
            result: Ok((job("request.pooled_desktop"), None)),
        }),
        now(),
    );
    assert!(app.jobs.get(Uuid::from_u128(9)).is_some());
    assert!(app.jobs_pane);
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn a_refused_request_shows_why_and_sends_nothing() {
    let mut app = app(Role::Helpdesk, false);
    users(&mut app);
    let (key, _) = preview_of(&press(&mut app, KeyCode::Char('N')));
    let why = "no routing rule matches LAB\\ada and there is no default rule";
    answer(&mut app, key, Err(Failure::refused(why)));
    assert!(shown_text(&app).contains(why));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    let w = form(&app);
    assert_eq!(w.form.stage, Stage::Edit);
    assert!(
        w.form.errors.iter().any(|e| e.contains(why)),
        "{:?}",
        w.form.errors
    );
    // Esc: nothing changed, and the flash says so.
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(matches!(app.mode, Mode::Normal));
}

#[test]
fn edits_are_previewed_once_the_fields_settle_and_stale_answers_are_dropped() {
    let mut app = app(Role::Admin, false);
    users(&mut app);
    let (old_key, _) = preview_of(&press(&mut app, KeyCode::Char('N')));
    // To the persistent desktop (admins only), then to "for": Bob.
    assert!(press(&mut app, KeyCode::Right).is_empty());
    press(&mut app, KeyCode::Tab);
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    assert!(
        typed(&mut app, "bob").is_empty(),
        "no preview per keystroke"
    );
    let due = now() + DEBOUNCE;
    assert_eq!(app.next_tick().map(|t| t <= due), Some(true));
    assert!(
        app.update(Msg::Tick, now() + Duration::milliseconds(100))
            .is_empty()
    );
    let effects = app.update(Msg::Tick, now() + Duration::milliseconds(500));
    let (key, request) = preview_of(&effects);
    assert_eq!(request.action, "request.persistent_desktop");
    assert_eq!(request.targets[0].id, "bob");
    // The first answer arrives late: it is not for what the form says now.
    answer(&mut app, old_key, Ok(preview("LAB\\ada", &["Old"])));
    assert!(!shown_text(&app).contains("Old"));
    answer(&mut app, key, Ok(preview("LAB\\bob", &["New"])));
    assert!(shown_text(&app).contains("1. New"));
}

#[test]
fn persistent_desktops_offboarding_and_onboarding_are_for_admins_and_never_readonly() {
    let mut helpdesk = app(Role::Helpdesk, false);
    users(&mut helpdesk);
    press(&mut helpdesk, KeyCode::Char('N'));
    let types = match form(&helpdesk).form.get(FieldId::Type) {
        Some(crate::console::widgets::workflow_dialog::FieldValue::Choice { options, .. }) => {
            options.iter().map(|o| o.0).collect::<Vec<_>>()
        }
        other => panic!("a choice of types: {other:?}"),
    };
    assert_eq!(types, ["request.pooled_desktop", "request.apps"]);
    press(&mut helpdesk, KeyCode::Esc);
    assert!(press(&mut helpdesk, KeyCode::Char('O')).is_empty());
    assert!(matches!(helpdesk.mode, Mode::Normal));
    assert!(
        helpdesk
            .keymap
            .hints(View::Users)
            .iter()
            .all(|h| h.label != "offboard")
    );

    let mut readonly = app(Role::Admin, true);
    users(&mut readonly);
    for k in ['N', 'O'] {
        assert!(press(&mut readonly, KeyCode::Char(k)).is_empty());
        assert!(matches!(readonly.mode, Mode::Normal), "{k}");
    }
    for (mut app, why) in [(helpdesk, "admin"), (readonly, "read-only")] {
        press(&mut app, KeyCode::Char(':'));
        typed(&mut app, "onboard");
        assert!(press(&mut app, KeyCode::Enter).is_empty());
        assert!(matches!(app.mode, Mode::Normal));
        let flash = app
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default();
        assert!(flash.contains(why), "{flash}");
    }
}

#[test]
fn offboarding_needs_the_account_name_typed() {
    let mut app = app(Role::Admin, false);
    users(&mut app);
    let (key, request) = preview_of(&press(&mut app, KeyCode::Char('O')));
    assert_eq!(request.action, "user.offboard");
    assert_eq!(request.params, json!({ "machines": "unassign" }));
    // Delete instead: a new preview once settled.
    press(&mut app, KeyCode::Char(' '));
    let effects = app.update(Msg::Tick, now() + Duration::seconds(1));
    let (key2, request) = preview_of(&effects);
    assert_ne!(key, key2);
    assert_eq!(request.params, json!({ "machines": "delete" }));
    answer(
        &mut app,
        key2,
        Ok(preview("LAB\\ada", &["Log off", "Disable"])),
    );
    press(&mut app, KeyCode::Enter);
    assert!(matches!(form(&app).form.stage, Stage::Confirm { .. }));
    // `y` is text here; Confirm stays shut until the name is right.
    assert!(press(&mut app, KeyCode::Char('y')).is_empty());
    press(&mut app, KeyCode::Tab);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Backspace);
    typed(&mut app, "ad");
    press(&mut app, KeyCode::Tab);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    press(&mut app, KeyCode::Tab);
    typed(&mut app, "a");
    press(&mut app, KeyCode::Tab);
    let effects = press(&mut app, KeyCode::Enter);
    let [Effect::Workflow(WorkflowEffect::Submit { request, .. })] = &effects[..] else {
        panic!("one job: {effects:?}");
    };
    assert_eq!(request.action, "user.offboard");
    assert_eq!(request.params, json!({ "machines": "delete" }));
}

#[test]
fn onboarding_suggests_the_account_and_shows_the_password_once() {
    let mut app = app(Role::Admin, false);
    users(&mut app);
    press(&mut app, KeyCode::Char(':'));
    typed(&mut app, "onboard");
    assert!(
        press(&mut app, KeyCode::Enter).is_empty(),
        "nothing to preview yet"
    );
    assert!(shown_text(&app).contains("fill in the given name and surname"));
    typed(&mut app, "Zoë");
    press(&mut app, KeyCode::Tab);
    typed(&mut app, "Núñez");
    assert_eq!(form(&app).form.text(FieldId::Account), "LAB\\zoe.nunez");
    // Department, location, groups.
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    typed(&mut app, "Finance");
    press(&mut app, KeyCode::Tab);
    typed(&mut app, "London");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    typed(&mut app, "Finance Staff, VPN ,");
    let (key, request) = preview_of(&app.update(Msg::Tick, now() + Duration::seconds(1)));
    assert_eq!(request.action, "user.onboard");
    assert_eq!(request.targets[0].id, "zoe.nunez");
    assert_eq!(
        request.params,
        json!({ "person": { "given_name": "Zoë", "surname": "Núñez", "department": "Finance",
                            "location": "London", "groups": ["Finance Staff", "VPN"] },
                "include": ["pooled_desktop", "apps"] })
    );
    answer(
        &mut app,
        key,
        Ok(preview("LAB\\zoe.nunez", &["Create account"])),
    );
    press(&mut app, KeyCode::Enter);
    let effects = press(&mut app, KeyCode::Char('y'));
    let [Effect::Workflow(WorkflowEffect::Submit { login, .. })] = &effects[..] else {
        panic!("one job: {effects:?}");
    };
    let login = login.clone();
    app.update(
        Msg::Workflow(WorkflowMsg::Submitted {
            what: "Onboard".into(),
            login,
            result: Ok((job("user.onboard"), Some(Secret::new("Tmp-Pa55word!x")))),
        }),
        now(),
    );
    let Mode::ShownOnce(shown) = &app.mode else {
        panic!("the password is shown: {:?}", app.mode);
    };
    assert_eq!(shown.password.expose(), "Tmp-Pa55word!x");
    assert!(
        !format!("{app:?}").contains("Tmp-Pa55word!x"),
        "never in Debug"
    );
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.mode, Mode::Normal));
    assert!(!format!("{app:?}").contains("Tmp-Pa55word"));
    assert!(app.log.iter().all(|l| !l.contains("Tmp-Pa55word")));
}

#[test]
fn an_edited_account_name_is_kept() {
    let mut app = app(Role::Admin, false);
    users(&mut app);
    app.begin_onboard();
    typed(&mut app, "Ada");
    for _ in 0..2 {
        press(&mut app, KeyCode::Tab);
    }
    typed(&mut app, "x");
    press(&mut app, KeyCode::BackTab);
    typed(&mut app, "Byron");
    assert_eq!(form(&app).form.text(FieldId::Account), "LAB\\adax");
}

#[test]
fn on_a_ticket_the_request_is_for_its_requester_and_linked_to_it() {
    let mut app = app(Role::Helpdesk, false);
    users(&mut app);
    let link = TicketLink {
        instance: "lab".into(),
        number: "RITM0010002".into(),
    };
    let mut cells = vec![String::new(); convert::columns(View::Tickets).len()];
    if let Some(i) = convert::column_index(View::Tickets, "requester") {
        cells[i] = "Bob Smith".into();
    }
    let effects = press(&mut app, KeyCode::Char('1'));
    let generation = effects
        .iter()
        .find_map(|e| match e {
            Effect::Load { generation, .. } => Some(*generation),
            _ => None,
        })
        .unwrap_or_else(|| app.tables[&View::Tickets].generation);
    let rows = vec![Row::new(
        RowRef::Ticket(link.clone()),
        cells,
        super::super::Tone::Plain,
    )];
    app.update(
        Msg::Loaded {
            view: View::Tickets,
            generation,
            result: Ok(Loaded { rows, note: None }),
        },
        now(),
    );
    let (key, request) = preview_of(&press(&mut app, KeyCode::Char('N')));
    assert_eq!(request.targets[0].id, "bob");
    assert_eq!(request.params, json!({ "requester": "LAB\\bob" }));
    assert_eq!(form(&app).ticket.as_ref(), Some(&link));
    answer(&mut app, key, Ok(preview("LAB\\bob", &["Entitle"])));
    press(&mut app, KeyCode::Enter);
    let effects = press(&mut app, KeyCode::Char('y'));
    let [Effect::Workflow(WorkflowEffect::Submit { request, .. })] = &effects[..] else {
        panic!("one job: {effects:?}");
    };
    assert_eq!(request.ticket.as_ref(), Some(&link));
}

#[path = "workflow_detail_tests.rs"]
mod detail;
