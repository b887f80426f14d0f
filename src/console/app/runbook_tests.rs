//! The `:runbooks` screen as an operator drives it (pure: state + message → state + effects):
//! the list and its dimming by role and `--readonly`, the form's local checks for every
//! parameter type, the params a confirmed run sends, and a refusal shown in the form with
//! every value kept.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Value, json};

use super::super::tests::{app, now};
use super::super::*;
use super::*;
use crate::console::widgets::runbook_dialog::{FieldValue, Stage};
use crate::model::Role;

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now())
}

fn typed(app: &mut App, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| press(app, KeyCode::Char(c)))
        .collect()
}

/// Clears the focused text field (ctrl-u) and types `text`.
fn fill(app: &mut App, text: &str) {
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
        now(),
    );
    typed(app, text);
}

fn runbook(name: &str, role: &str, params: Value) -> RunbookInfo {
    serde_json::from_value(json!({
        "name": name, "title": format!("{name} title"), "description": "what it does",
        "role": role, "params": params,
        "steps": [{ "name": "one", "title": "The first step", "action": "session.logoff" }]
    }))
    .expect("a runbook")
}

fn reset_disconnected() -> RunbookInfo {
    runbook(
        "reset-disconnected",
        "helpdesk",
        json!([
            { "name": "site", "type": "site", "required": true, "description": "The site" },
            { "name": "older_than", "type": "duration", "default": "4h" },
            { "name": "group", "type": "delivery_group" }
        ]),
    )
}

/// Every type once.
fn every_type() -> RunbookInfo {
    runbook(
        "every-type",
        "helpdesk",
        json!([
            { "name": "site", "type": "site", "required": true },
            { "name": "age", "type": "duration", "default": "4h" },
            { "name": "count", "type": "int", "required": true },
            { "name": "force", "type": "bool" },
            { "name": "who", "type": "user" },
            { "name": "note", "type": "string", "default": "hello" }
        ]),
    )
}

/// `:runbooks` answered with `list`; the sites London and Cloud loaded.
fn picker(app: &mut App, list: Vec<RunbookInfo>) {
    let site = |name: &str| {
        Row::new(
            RowRef::Site { name: name.into() },
            vec![name.into()],
            Tone::Plain,
        )
    };
    if let Some(t) = app.tables.get_mut(&View::Sites) {
        t.set_rows(vec![site("London"), site("Cloud")]);
    }
    press(app, KeyCode::Char(':'));
    typed(app, "runbook");
    let effects = press(app, KeyCode::Enter);
    assert_eq!(
        effects,
        [Effect::Runbook(RunbookEffect::Load { generation: 1 })]
    );
    assert!(matches!(app.mode, Mode::Runbooks));
    app.update(
        Msg::Runbook(RunbookMsg::Loaded {
            generation: 1,
            result: Ok(list),
        }),
        now(),
    );
}

fn form(app: &App) -> &RunbookForm {
    app.runbooks.form.as_deref().expect("a form is open")
}

fn text_of(app: &App, name: &str) -> String {
    form(app)
        .state
        .fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| match &f.value {
            FieldValue::Text(i) => i.text.clone(),
            FieldValue::Check(c) => format!("{c:?}"),
        })
        .unwrap_or_default()
}

fn error_of(app: &App, name: &str) -> Option<String> {
    form(app)
        .state
        .fields
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| f.error.clone())
}

/// The run the effects hold.
fn run_of(effects: &[Effect]) -> Option<&JobRequest> {
    effects.iter().find_map(|e| match e {
        Effect::Runbook(RunbookEffect::Run { request, .. }) => Some(request),
        _ => None,
    })
}

#[test]
fn runbooks_above_the_operators_role_are_dimmed_and_cannot_be_started() {
    let mut app = app(Role::Helpdesk, false);
    let drain = runbook("drain-and-reboot", "admin", json!([]));
    picker(&mut app, vec![reset_disconnected(), drain.clone()]);
    assert_eq!(app.runbooks.catalog.len(), 2);
    assert_eq!(app.runbook_refusal(&app.runbooks.catalog[0].clone()), None);
    let refusal = app.runbook_refusal(&drain).unwrap_or_default();
    assert!(refusal.contains("needs the admin role"), "{refusal}");

    press(&mut app, KeyCode::Char('j'));
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(
        app.runbooks.form.is_none(),
        "no form for a runbook above the role"
    );
    assert_eq!(app.runbooks.notice.as_deref(), Some(refusal.as_str()));

    // The one the role allows opens, with its default filled in.
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(app.runbooks.notice, None);
    press(&mut app, KeyCode::Enter);
    assert_eq!(text_of(&app, "older_than"), "4h");
    assert_eq!(text_of(&app, "site"), "");
    // esc: the form closes, nothing is run; esc again leaves the screen.
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.runbooks.form.is_none() && matches!(app.mode, Mode::Runbooks));
    press(&mut app, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Normal));
    // Coming back finds the list without reading it again.
    assert!(app.open_runbooks().is_empty());
}

#[test]
fn a_read_only_console_starts_no_runbook_whatever_the_role() {
    let mut app = app(Role::Admin, true);
    picker(&mut app, vec![reset_disconnected()]);
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert!(app.runbooks.form.is_none());
    let notice = app.runbooks.notice.clone().unwrap_or_default();
    assert!(notice.contains("read-only"), "{notice}");
}

#[test]
fn every_type_is_checked_before_anything_is_sent() {
    let mut app = app(Role::Helpdesk, false);
    picker(&mut app, vec![every_type()]);
    press(&mut app, KeyCode::Enter);
    // site, age, count, force, who, note: wrong values in each checked field.
    fill(&mut app, "Paris");
    press(&mut app, KeyCode::Tab);
    fill(&mut app, "4 hours");
    press(&mut app, KeyCode::Tab);
    fill(&mut app, "three");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    fill(&mut app, "ada");
    let effects = press(&mut app, KeyCode::Enter);
    assert!(effects.is_empty(), "nothing sent: {effects:?}");
    assert_eq!(form(&app).state.stage, Stage::Edit);
    let site = error_of(&app, "site").unwrap_or_default();
    assert!(site.contains("London, Cloud"), "{site}");
    assert!(error_of(&app, "age").is_some_and(|e| e.contains("not a duration")));
    assert!(error_of(&app, "count").is_some_and(|e| e.contains("whole number")));
    assert!(error_of(&app, "who").is_some_and(|e| e.contains("DOMAIN\\sam")));
    assert_eq!(
        error_of(&app, "force"),
        None,
        "an optional bool may be left out"
    );
    assert_eq!(error_of(&app, "note"), None);
    // The focus goes to the first field refused.
    assert_eq!(form(&app).state.focus, 0);

    // A required field left empty is named too.
    fill(&mut app, "");
    press(&mut app, KeyCode::Enter);
    assert_eq!(error_of(&app, "site").as_deref(), Some("required"));
    // Editing a field clears its mark.
    typed(&mut app, "x");
    assert_eq!(error_of(&app, "site"), None);
}

#[test]
fn a_confirmed_run_sends_the_typed_params() {
    let mut app = app(Role::Helpdesk, false);
    picker(&mut app, vec![every_type()]);
    press(&mut app, KeyCode::Enter);
    fill(&mut app, "lo");
    // → takes the offered site; it is sent as the adapter spells it.
    press(&mut app, KeyCode::Right);
    assert_eq!(text_of(&app, "site"), "London");
    press(&mut app, KeyCode::Tab);
    fill(&mut app, "90s");
    press(&mut app, KeyCode::Tab);
    fill(&mut app, "-3");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Tab);
    fill(&mut app, "LAB\\ada");
    press(&mut app, KeyCode::Tab);
    fill(&mut app, "");

    // Enter: the confirmation, focus on Cancel; Enter there goes back to the form.
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(
        form(&app).question,
        "Run every-type with age=90s, count=-3, force=true, site=London, who=LAB\\ada?"
    );
    assert!(press(&mut app, KeyCode::Enter).is_empty());
    assert_eq!(form(&app).state.stage, Stage::Edit);
    press(&mut app, KeyCode::Enter);
    let effects = press(&mut app, KeyCode::Char('y'));
    let request = run_of(&effects).expect("the run");
    assert_eq!(request.action, "runbook.run");
    assert_eq!(request.targets[0].site, "runbook");
    assert_eq!(request.targets[0].id, "every-type");
    // The emptied optional text is left out; the number and the bool are typed.
    assert_eq!(
        request.params,
        json!({ "site": "London", "age": "90s", "count": -3, "force": true, "who": "LAB\\ada" })
    );
    assert_eq!(form(&app).state.stage, Stage::Sending);
    // Keys wait for the answer.
    assert!(press(&mut app, KeyCode::Esc).is_empty());
    assert!(app.runbooks.form.is_some());
}

fn confirmed(app: &mut App) -> Vec<Effect> {
    press(app, KeyCode::Enter);
    app.update(Msg::Key(KeyEvent::from(KeyCode::Char('y'))), now())
}

#[test]
fn a_refusal_is_shown_in_the_form_with_every_value_kept() {
    let mut app = app(Role::Helpdesk, false);
    picker(&mut app, vec![reset_disconnected()]);
    press(&mut app, KeyCode::Enter);
    typed(&mut app, "London");
    press(&mut app, KeyCode::Tab);
    fill(&mut app, "1m");
    press(&mut app, KeyCode::Tab);
    typed(&mut app, "Office");
    assert!(run_of(&confirmed(&mut app)).is_some());

    let message = "params.older_than: \"1m\" is too short for this site";
    let effects = app.update(
        Msg::Runbook(RunbookMsg::Ran {
            what: "Runbook reset-disconnected".into(),
            result: Err(Failure::refused(message)),
        }),
        now(),
    );
    assert!(effects.is_empty());
    let f = form(&app);
    assert_eq!(f.state.stage, Stage::Edit);
    assert_eq!(f.state.error.as_deref(), Some(message));
    assert_eq!(
        f.state.focus, 1,
        "the field the adapter named has the focus"
    );
    assert!(error_of(&app, "older_than").is_some());
    assert_eq!(
        (
            text_of(&app, "site"),
            text_of(&app, "older_than"),
            text_of(&app, "group")
        ),
        ("London".into(), "1m".into(), "Office".into())
    );
    assert!(app.flash.is_none(), "said in the form, not in a flash");

    // A 403 too; then the operator fixes the field and runs again, with a new key.
    let first = run_of(&confirmed(&mut app)).cloned().expect("a run");
    app.update(
        Msg::Runbook(RunbookMsg::Ran {
            what: "Runbook reset-disconnected".into(),
            result: Err(Failure::refused("reset-disconnected needs role admin")),
        }),
        now(),
    );
    assert!(
        form(&app)
            .state
            .error
            .as_deref()
            .is_some_and(|e| e.contains("needs role admin"))
    );
    let effects = confirmed(&mut app);
    let second = run_of(&effects).expect("a second run");
    assert_ne!(first.idempotency_key, second.idempotency_key);
    assert_eq!(first.params, second.params);

    // 202: the form closes and the job is in the jobs pane.
    let job: JobInfo = serde_json::from_value(json!({
        "id": "6f9619ff-8b86-4011-b42d-00c04fc964ff", "action": "runbook.run",
        "requested_by": "alice", "ticket": null, "params": {}, "idempotency_key": null,
        "state": "queued", "progress": { "total": 1, "queued": 1, "running": 0,
            "succeeded": 0, "failed": 0, "cancelled": 0 },
        "cancel_requested_at": null, "created_at": "2026-11-27T09:00:00Z",
        "updated_at": "2026-11-27T09:00:00Z", "result": null, "error": null
    }))
    .expect("a job");
    app.update(
        Msg::Runbook(RunbookMsg::Ran {
            what: "Runbook reset-disconnected".into(),
            result: Ok(Box::new(job.clone())),
        }),
        now(),
    );
    assert!(app.runbooks.form.is_none());
    assert!(matches!(app.mode, Mode::Normal));
    assert!(app.jobs_pane);
    assert_eq!(
        app.jobs.get(job.id).map(|j| j.action.as_str()),
        Some("runbook.run")
    );
}

#[test]
fn a_delivery_group_field_reads_the_groups_and_offers_the_sites_ones() {
    let mut app = app(Role::Helpdesk, false);
    picker(&mut app, vec![reset_disconnected()]);
    let effects = press(&mut app, KeyCode::Enter);
    assert!(
        effects.iter().any(|e| matches!(
            e,
            Effect::Load {
                view: View::Groups,
                ..
            }
        )),
        "{effects:?}"
    );
    let group = |site: &str, name: &str| {
        Row::new(
            RowRef::Group {
                site: site.into(),
                id: name.into(),
            },
            vec![name.into(), site.into()],
            Tone::Plain,
        )
    };
    if let Some(t) = app.tables.get_mut(&View::Groups) {
        t.set_rows(vec![group("London", "Office"), group("Cloud", "Kiosk")]);
    }
    typed(&mut app, "Cloud");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Tab);
    let offered = |app: &App| form(app).state.fields[2].choices.clone();
    assert_eq!(offered(&app), ["Kiosk"]);
    press(&mut app, KeyCode::Right);
    assert_eq!(text_of(&app, "group"), "Kiosk");
}

#[test]
fn durations_are_a_whole_number_and_a_unit() {
    for ok in ["90s", "1m", "4h", "30m"] {
        assert!(runbook_form::is_duration(ok), "{ok}");
    }
    for bad in ["", "4", "h", "0s", "1.5h", "4 h", "4d", "-1m", "1ms"] {
        assert!(!runbook_form::is_duration(bad), "{bad}");
    }
}

#[test]
fn the_adapters_message_is_pinned_on_the_parameter_it_names() {
    let known = runbook_form::Known::default();
    let fields = runbook_form::fields(
        &runbook(
            "x",
            "helpdesk",
            json!([{ "name": "site", "type": "string" }, { "name": "site_group", "type": "string" }]),
        ),
        &known,
    );
    let blamed = |m: &str| runbook_form::blamed(&fields, m);
    assert_eq!(blamed("params.site_group is empty"), Some(1));
    assert_eq!(blamed("params.site is \"Paris\""), Some(0));
    assert_eq!(blamed("no runbook named x"), None);
    assert_eq!(blamed("the website is down"), None);
}
