//! Headless console flows against the lab: the console's own state and update, its effects
//! performed against a real adapter over HTTP, and the live event stream, without a
//! terminal. The operator's path: a ticket → its requester → their sessions → mark →
//! reset → confirm → live progress → done, and the ticket resolved in ServiceNow.

mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, json};

use deskbridge::console::app::{App, Effect, LoadStatus, Msg, Setup};
use deskbridge::console::client::{ApiClient, EventStream, ListQuery, StreamOptions};
use deskbridge::console::keymap::{Keymap, View};
use deskbridge::console::run::effects;
use deskbridge::lab::Scale;
use deskbridge::model::SessionState;
use deskbridge::secret::Secret;
use deskbridge::servicenow::{AuthMode, ServiceNowClient, ServiceNowConfig};
use support::{LabAdapter, SECRET};

const DEADLINE: Duration = Duration::from_secs(90);

/// The console without a terminal: keys in, effects performed against the adapter, answers
/// and stream events fed back, as the event loop does.
struct Console {
    app: App,
    client: ApiClient,
    stream: EventStream,
    pending: Vec<Effect>,
}

impl Console {
    fn new(client: ApiClient) -> Console {
        let setup = Setup {
            keymap: Keymap::defaults(),
            readonly: false,
            lab: true,
            adapter_url: client.base_url().to_owned(),
            theme_names: Vec::new(),
        };
        let mut app = App::new(setup, Utc::now());
        let pending = app.start();
        let stream = client.events(StreamOptions::default());
        Console {
            app,
            client,
            stream,
            pending,
        }
    }

    fn key(&mut self, code: KeyCode, modifiers: KeyModifiers) {
        let effects = self
            .app
            .update(Msg::Key(KeyEvent::new(code, modifiers)), Utc::now());
        self.pending.extend(effects);
    }

    fn press(&mut self, keys: &str) {
        for c in keys.chars() {
            self.key(KeyCode::Char(c), KeyModifiers::NONE);
        }
    }

    /// Performs what is pending and applies answers and events until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        let start = Instant::now();
        while !done(&self.app) {
            assert!(
                start.elapsed() < DEADLINE,
                "timed out waiting for {what}; flash: {:?}",
                self.app.flash
            );
            for effect in std::mem::take(&mut self.pending) {
                if let Some(msg) = effects::perform(&self.client, effect).await {
                    let more = self.app.update(msg, Utc::now());
                    self.pending.extend(more);
                }
            }
            while let Some(event) = self.stream.try_recv() {
                let more = self.app.update(Msg::Stream(event), Utc::now());
                self.pending.extend(more);
            }
            if self.pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    fn loaded(app: &App, view: View) -> bool {
        app.view == view && app.tables[&view].status == LoadStatus::Loaded
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_to_requester_to_sessions_reset_resolves_the_ticket() {
    let env = LabAdapter::start(Scale::Small, &|_| {}).await;
    let client = ApiClient::new(
        &env.url,
        env.id("helpdesk").to_string(),
        Secret::new(SECRET),
    )
    .expect("client");

    // A requester who has an active session, and an incident of theirs in the queue.
    let sessions = client
        .sessions(&ListQuery {
            state: Some(SessionState::Active.to_string()),
            limit: Some(50),
            ..ListQuery::default()
        })
        .await
        .expect("sessions");
    let session = sessions
        .items
        .first()
        .expect("the lab has active sessions")
        .item
        .clone();
    let login = session
        .user_name
        .rsplit('\\')
        .next()
        .unwrap_or_default()
        .to_owned();
    let sn = ServiceNowClient::new(ServiceNowConfig::from_lab(
        &env.lab.info().servicenow[0],
        AuthMode::Basic,
    ))
    .expect("servicenow client");
    let caller = sn
        .user_by_user_name(&login)
        .await
        .expect("user lookup")
        .expect("the requester is in ServiceNow");
    let group = sn
        .group_by_name("Service Desk")
        .await
        .expect("group")
        .expect("Service Desk exists");
    let mut fields = Map::new();
    fields.insert("short_description".into(), json!("My session is frozen"));
    fields.insert("caller_id".into(), json!(caller.sys_id));
    fields.insert("assignment_group".into(), json!(group));
    let number = sn
        .insert("incident", &fields)
        .await
        .expect("incident")
        .text("number");

    let mut console = Console::new(client);
    console
        .until("the tickets", |app| {
            Console::loaded(app, View::Tickets) && app.me.is_some()
        })
        .await;

    // The ticket, found with the filter; the queue sync may need a poll to list it.
    console
        .until("the new incident in the queue", |app| {
            app.tables[&View::Tickets]
                .rows
                .iter()
                .any(|r| r.cell(0) == number)
        })
        .await;
    console.press("/");
    console.press(&number);
    console.key(KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(
        console.app.table().len(),
        1,
        "the filter finds the one ticket"
    );

    // Enter: the requester; Enter: their sessions.
    console.key(KeyCode::Enter, KeyModifiers::NONE);
    console
        .until("the requester in the users view", |app| {
            Console::loaded(app, View::Users) && !app.table().is_empty()
        })
        .await;
    let display = console.app.table().current().map(|r| r.cell(1).to_owned());
    assert_eq!(display.as_deref(), Some(session.user_display_name.as_str()));
    console.key(KeyCode::Enter, KeyModifiers::NONE);
    console
        .until("their sessions", |app| {
            Console::loaded(app, View::Sessions) && !app.table().is_empty()
        })
        .await;
    assert_eq!(console.app.breadcrumbs()[0], "tickets");
    let count = console.app.table().len();

    // Mark them all, reset, confirm.
    console.key(KeyCode::Char('a'), KeyModifiers::CONTROL);
    console.press("r");
    let question = match &console.app.mode {
        deskbridge::console::app::Mode::Confirm { pending, .. } => pending.question.clone(),
        other => panic!("r opens the confirmation, got {other:?}"),
    };
    assert!(
        question.contains(&number),
        "the dialog says the job is for the ticket: {question}"
    );
    console.press("y");
    console
        .until("the job's end", |app| {
            app.jobs
                .items
                .first()
                .is_some_and(|j| j.state.is_terminal())
        })
        .await;
    let job = console.app.jobs.items[0].clone();
    assert_eq!(job.progress.succeeded as usize, count, "{job:?}");
    assert_eq!(
        job.ticket.as_ref().map(|t| t.number.as_str()),
        Some(number.as_str())
    );
    let flash = console
        .app
        .flash
        .as_ref()
        .map(|f| f.text.clone())
        .unwrap_or_default();
    assert!(
        flash.starts_with(&format!("Reset {count}/{count} sessions")),
        "{flash}"
    );

    // The adapter resolves the linked ticket once the job succeeded.
    let start = Instant::now();
    loop {
        let ticket = sn
            .ticket_by_number(&number)
            .await
            .expect("read ticket")
            .expect("ticket exists");
        if ticket.state.code() == 6 {
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the ticket was not resolved: {ticket:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.stop().await;
}
