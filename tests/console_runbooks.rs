//! The console's `:runbooks` screen. End to end: the real binary in tmux, as a helpdesk
//! operator, on an adapter with the repository's runbooks and a lab, both started here: the
//! picker lists them (the admin ones dimmed and marked), reset-disconnected is filled in
//! (`site=London`, `older_than=1m`), confirmed, and its job succeeds in the jobs pane; the
//! adapter's job holds exactly the values typed. Snapshots of the picker and of the form
//! showing an adapter's refusal, drawn from app state as the event loop draws them.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use serde_json::{Value, json};
use uuid::Uuid;

use deskbridge::console::app::runbooks::RunbookMsg;
use deskbridge::console::app::{App, Failure, Link, Msg, Row, RowRef, Setup, Tone};
use deskbridge::console::client::{CallLog, RunbookInfo, Whoami};
use deskbridge::console::keymap::{Keymap, View};
use deskbridge::console::theme::Theme;
use deskbridge::console::ui;
use deskbridge::lab::Scale;
use deskbridge::model::Role;
use support::api::Api;
use support::tmux::Pane;
use support::{LabAdapter, SECRET, token, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_helpdesk_operator_runs_reset_disconnected_from_the_form() {
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let rig = LabAdapter::start(Scale::Small, &|config| {
        config.runbooks_dir = Some(shipped.clone());
    })
    .await;
    let url = rig.url.clone();
    let id = rig.id("helpdesk").to_string();
    let screens = tokio::task::spawn_blocking(move || {
        let env = [
            ("DESKBRIDGE_CLIENT_ID", id.as_str()),
            ("DESKBRIDGE_CLIENT_SECRET", SECRET),
        ];
        let pane = Pane::start(&["console", "--adapter", &url], 140, 45, &env);
        pane.wait("the first frame", |s| s.contains("tickets"));
        pane.wait("the operator's identity", |s| s.contains("helpdesk"));

        pane.text(":runbooks");
        pane.keys(&["Enter"]);
        let list = pane.wait("the list of runbooks", |s| {
            s.contains("reset-disconnected") && s.contains("drain-and-reboot")
        });
        // Admin runbooks are marked as beyond the operator's role.
        assert!(list.contains("admin ✗"), "{list}");
        assert!(list.contains("helpdesk"), "{list}");

        // To reset-disconnected, wherever the adapter lists it.
        let mut picked = list;
        for _ in 0..3 {
            if picked.contains("Logs off every session of the site") {
                break;
            }
            pane.keys(&["j"]);
            std::thread::sleep(Duration::from_millis(150));
            picked = pane.screen();
        }
        assert!(
            picked.contains("Log off the disconnected sessions"),
            "{picked}"
        );

        pane.keys(&["Enter"]);
        let form = pane.wait("the parameter form", |s| {
            s.contains("Run reset-disconnected") && s.contains("older_than")
        });
        assert!(
            form.contains("site *"),
            "the required field is marked: {form}"
        );
        assert!(form.contains("4h"), "the default is filled in: {form}");

        pane.text("London");
        pane.keys(&["Tab", "C-u"]);
        pane.text("1m");
        pane.keys(&["Enter"]);
        let confirm = pane.wait("the confirmation", |s| {
            s.contains("Run reset-disconnected with") && s.contains("[ Cancel ]")
        });
        assert!(confirm.contains("older_than=1m"), "{confirm}");
        assert!(confirm.contains("site=London"), "{confirm}");
        pane.keys(&["y"]);

        let done = pane.wait("the run succeeded in the jobs pane", |s| {
            s.lines()
                .any(|l| l.contains("runbook.run") && l.contains("succeeded"))
        });
        (done, pane.log())
    })
    .await
    .expect("the tmux steps ran");
    assert!(
        !screens.0.contains("Run reset-disconnected"),
        "the form closed: {}",
        screens.0
    );
    assert!(!screens.1.contains("panicked"), "{}", screens.1);

    // The adapter ran exactly what the form said.
    let http = reqwest::Client::new();
    let admin = token(&http, &rig.url, rig.id("admin")).await;
    let api = Api::new(&rig.url);
    let job = until(
        "the run in the jobs list",
        Duration::from_secs(10),
        async || {
            let (_, jobs) = api.get(&admin, "/api/v1/jobs?limit=50").await;
            jobs["items"]
                .as_array()?
                .iter()
                .find(|j| j["action"] == "runbook.run")
                .cloned()
        },
    )
    .await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(
        job["params"]["runbook"]["values"],
        json!({ "site": "London", "older_than": "1m" }),
        "{job:#}"
    );
    rig.stop().await;
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 9, 30, 0)
        .single()
        .unwrap_or_default()
}

fn shipped_like() -> Vec<RunbookInfo> {
    let list: Value = json!([
        { "name": "drain-and-reboot", "title": "Drain and reboot a delivery group",
          "description": "Puts the group's machines in maintenance, warns the users, waits, restarts the empty machines.",
          "role": "admin",
          "params": [{ "name": "site", "type": "site", "required": true, "description": "" }],
          "steps": [{ "name": "drain", "title": "Maintenance on" }] },
        { "name": "reset-disconnected", "title": "Reset disconnected sessions older than N hours",
          "description": "Logs off every session of the site that has been disconnected for longer than the given time.",
          "role": "helpdesk",
          "params": [
            { "name": "site", "type": "site", "required": true,
              "description": "The site whose sessions are reset" },
            { "name": "older_than", "type": "duration", "default": "4h",
              "description": "Only sessions disconnected for longer than this" },
            { "name": "group", "type": "delivery_group",
              "description": "Only this delivery group (all groups of the site when empty)" }
          ],
          "steps": [{ "name": "logoff", "title": "Log off the disconnected sessions" }] }
    ]);
    serde_json::from_value(list).expect("runbooks")
}

/// A helpdesk operator on the `:runbooks` screen, the list answered, London and Cloud loaded.
fn picker() -> App {
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
    app.link = Link::Live;
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
    for c in ":runbooks".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    app.update(
        Msg::Runbook(RunbookMsg::Loaded {
            generation: 1,
            result: Ok(shipped_like()),
        }),
        now(),
    );
    app
}

fn key(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now());
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
fn picker_snapshot() {
    let mut app = picker();
    key(&mut app, KeyCode::Enter);
    let screen = screen(&mut app, 100, 26);
    assert!(screen.contains("admin ✗"), "{screen}");
    assert!(screen.contains("needs the admin role"), "{screen}");
    insta::assert_snapshot!(screen);
}

#[test]
fn form_snapshot_with_a_refusal() {
    let mut app = picker();
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Enter);
    for c in "Lon".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Tab);
    app.update(
        Msg::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
        now(),
    );
    for c in "1m".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Char('y'));
    app.update(
        Msg::Runbook(RunbookMsg::Ran {
            what: "Runbook reset-disconnected".into(),
            result: Err(Failure::refused(
                "params.older_than: \"1m\" is shorter than this site allows",
            )),
        }),
        now(),
    );
    let screen = screen(&mut app, 100, 30);
    assert!(screen.contains("London"), "{screen}");
    assert!(screen.contains("shorter than this site allows"), "{screen}");
    insta::assert_snapshot!(screen);
}
