//! End to end: the real `deskbridge console` in a tmux pane, on an adapter and lab started by
//! tests/support in this process (the lab's own routing rules). An admin opens the new-request
//! form on a user (`N`), reads the routed site and the steps, confirms, and sees the job
//! succeed with its steps in the job's detail pane; then offboards another user (`O`) by
//! typing the account name; and `:onboard` shows the lab directory's refusal honestly. Every
//! wait polls the screen with a deadline.

mod support;

use std::time::Duration;

use deskbridge::lab::Scale;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::Api;
use support::tmux::Pane;
use support::{LabAdapter, SECRET, token, until};

/// Two lab people (`LAB\sam`) in the users list whose pooled-desktop request the adapter
/// would run, in a stable order. The inventory loads after the adapter starts, so this waits
/// for them.
async fn requestable(api: &Api, admin: &str) -> Vec<String> {
    until(
        "two lab people a pooled desktop can be routed for",
        Duration::from_secs(30),
        async || {
            let found = routable(api, admin).await;
            (found.len() == 2).then_some(found)
        },
    )
    .await
}

/// Up to two lab people in the users list as it is now whose request would be routed.
async fn routable(api: &Api, admin: &str) -> Vec<String> {
    let (status, users) = api.get(admin, "/api/v1/users?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{users}");
    let mut people: Vec<String> = users["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|u| u["user_name"].as_str())
        .filter(|n| n.starts_with("LAB\\") && n.contains('.'))
        .map(str::to_owned)
        .collect();
    people.sort();
    people.dedup();
    let mut out = Vec::new();
    for person in people {
        let sam = person.trim_start_matches("LAB\\");
        let body = json!({ "action": "request.pooled_desktop",
                           "targets": [{ "site": "LAB", "id": sam }] });
        let (status, _) = api.post(admin, "/api/v1/workflows/preview", body).await;
        if status == StatusCode::OK {
            out.push(person);
        }
        if out.len() == 2 {
            break;
        }
    }
    out
}

async fn jobs_of(api: &Api, admin: &str, action: &str) -> Vec<Value> {
    let (_, jobs) = api
        .get(admin, &format!("/api/v1/jobs?action={action}&limit=50"))
        .await;
    jobs["items"].as_array().cloned().unwrap_or_default()
}

async fn detail_of(api: &Api, admin: &str, job: &Value) -> Value {
    let id = job["id"].as_str().expect("job id");
    api.get(admin, &format!("/api/v1/jobs/{id}")).await.1
}

/// The password in the shown-once box: two lines under "Temporary password for", indented
/// by four columns from it.
fn password_on(screen: &str) -> String {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let needle: Vec<char> = "Temporary password for".chars().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(col) = line.windows(needle.len()).position(|w| w == needle) else {
            continue;
        };
        let Some(below) = lines.get(i + 2) else {
            break;
        };
        return below
            .iter()
            .skip(col + 4)
            .take_while(|c| !c.is_whitespace())
            .collect();
    }
    String::new()
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_and_offboarding_from_the_console_run_as_jobs_with_their_steps() {
    let rig = LabAdapter::start(Scale::Small, &|_| {}).await;
    let api = Api::new(&rig.url);
    let admin = token(&api.http, &rig.url, rig.id("admin")).await;
    let people = requestable(&api, &admin).await;
    let (asked, leaving) = (people[0].clone(), people[1].clone());
    let url = rig.url.clone();
    let id = rig.id("admin").to_string();
    let leaving_sam = leaving.trim_start_matches("LAB\\").to_owned();
    let steps = {
        let (asked, leaving) = (asked.clone(), leaving.clone());
        let leaving_sam = leaving_sam.clone();
        tokio::task::spawn_blocking(move || {
            let env = [
                ("DESKBRIDGE_CLIENT_ID", id.as_str()),
                ("DESKBRIDGE_CLIENT_SECRET", SECRET),
            ];
            let pane = Pane::start(&["console", "--adapter", &url], 160, 50, &env);
            pane.wait("the operator's identity", |s| s.contains("admin"));
            pane.keys(&["6"]);
            pane.wait("the users view", |s| {
                s.contains("users[") && s.contains("LAB\\")
            });
            // The new request on the first person.
            pane.keys(&["/"]);
            pane.text(&format!("user=={asked}"));
            pane.keys(&["Enter"]);
            pane.wait("the person alone", |s| s.contains("users[1]"));
            pane.keys(&["N"]);
            let form = pane.wait("the preview's route and steps", |s| {
                s.contains("New request") && s.contains("Routed to site") && s.contains("1. ")
            });
            assert!(form.contains("because "), "{form}");
            assert!(form.contains(&format!("Steps for {asked}")), "{form}");
            pane.keys(&["Enter"]);
            pane.wait("the confirmation", |s| s.contains("[ Confirm ]"));
            pane.keys(&["y"]);
            pane.wait("the job in the jobs pane", |s| {
                s.contains("request.pooled_desktop") && s.contains("job started")
            });
            // Its steps, in the job's detail.
            pane.keys(&["7"]);
            pane.wait("the jobs view", |s| {
                s.contains("jobs[") && s.contains("request.pooled")
            });
            pane.keys(&["g", "i"]);
            // Done, or skipped when the person was already entitled: the users list holds the
            // people with a session now, and the lab's live clock may have logged on someone
            // the routed group already includes by the time the list is read.
            let detail = pane.wait("the job's steps, all done", |s| {
                s.contains(&format!("Steps of {asked}"))
                    && s.contains("succeeded")
                    && (s.contains("✓ done 1/") || s.contains("– skipped 1/"))
                    && !s.contains("· pending")
                    && !s.contains("▸ running")
            });

            // Offboarding the second person, with the account name typed.
            pane.keys(&["i", "6"]);
            pane.keys(&["/"]);
            pane.keys(&["C-u"]);
            pane.text(&format!("user=={leaving}"));
            pane.keys(&["Enter"]);
            pane.wait("the second person alone", |s| {
                s.contains("users[1]") && s.contains(&leaving)
            });
            pane.keys(&["O"]);
            let form = pane.wait("the offboarding preview", |s| {
                s.contains("Offboard") && s.contains(&format!("Steps for {leaving}"))
            });
            assert!(form.contains("unassign"), "{form}");
            pane.keys(&["Enter"]);
            pane.wait("the typed confirmation", |s| {
                s.contains(&format!("Type {leaving_sam} to confirm"))
            });
            // A wrong name keeps Confirm shut.
            pane.text("nobody");
            pane.keys(&["Tab", "Enter"]);
            let still = pane.wait("still asking", |s| s.contains("to confirm"));
            assert!(!still.contains("job started"), "{still}");
            pane.keys(&["Tab"]);
            for _ in 0.."nobody".len() {
                pane.keys(&["BSpace"]);
            }
            pane.text(&leaving_sam);
            pane.keys(&["Tab", "Enter"]);
            pane.wait("the offboarding job", |s| {
                s.contains("user.offboard") && s.contains("job started")
            });

            // Onboarding: the lab's directory cannot create accounts, and says so.
            pane.text(":onboard");
            pane.keys(&["Enter"]);
            pane.wait_for("Onboard a person");
            pane.text("Grace");
            pane.keys(&["Tab"]);
            pane.text("Tester");
            let onboard = pane.wait("the onboarding preview or its refusal", |s| {
                s.contains("LAB\\grace.tester")
                    && (s.contains("Steps for LAB\\grace.tester") || s.contains("would refuse"))
            });
            // Submitted anyway: the password is shown once, then the job fails at its first
            // step because the lab's directory (the CVAD Identity API) cannot create accounts.
            pane.keys(&["Enter"]);
            pane.wait("the onboarding confirmation", |s| s.contains("[ Confirm ]"));
            pane.keys(&["y"]);
            let shown = pane.wait_for("Temporary password for LAB\\grace.tester");
            let password = password_on(&shown);
            pane.keys(&["Enter"]);
            let failed = pane.wait("the onboarding's failure", |s| {
                !s.contains("Temporary password")
                    && s.contains("user.onboard")
                    && s.contains("failed")
            });
            assert!(
                !failed.contains(&password),
                "the password is gone: {failed}"
            );
            // The failed step, highlighted with why, in the job's detail.
            pane.keys(&["7"]);
            pane.wait("the jobs view", |s| s.contains("jobs[3]"));
            pane.keys(&["g", "i"]);
            let step = pane.wait("the failed first step", |s| {
                s.contains("Steps of LAB\\grace.tester") && s.contains("✗ failed 1/")
            });
            assert!(
                step.contains("cannot create LAB\\grace.tester"),
                "the failure says why: {step}"
            );
            (detail, onboard, pane.log(), password)
        })
        .await
        .expect("the tmux steps ran")
    };
    let (detail, onboard, log, password) = steps;
    assert!(password.len() >= 8, "a password was shown: {password:?}");
    assert!(!log.contains(&password), "never in the console's log");
    assert!(detail.contains("entitled"), "the step's detail: {detail}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        onboard.contains("1. Create account LAB\\grace.tester"),
        "{onboard}"
    );

    let requested = jobs_of(&api, &admin, "request.pooled_desktop").await;
    assert_eq!(requested.len(), 1, "{requested:?}");
    assert_eq!(requested[0]["state"], "succeeded", "{requested:?}");
    let job = detail_of(&api, &admin, &requested[0]).await;
    assert_eq!(job["tasks"][0]["target_id"], asked.as_str(), "{job}");
    let onboarded = jobs_of(&api, &admin, "user.onboard").await;
    assert_eq!(onboarded.len(), 1, "{onboarded:?}");
    let job = detail_of(&api, &admin, &onboarded[0]).await;
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["tasks"][0]["steps"][0]["state"], "failed", "{job}");
    let offboarded = until(
        "the offboarding to end",
        Duration::from_secs(90),
        async || {
            let jobs = jobs_of(&api, &admin, "user.offboard").await;
            jobs.into_iter()
                .find(|j| !matches!(j["state"].as_str(), Some("queued" | "running")))
        },
    )
    .await;
    assert_eq!(offboarded["state"], "succeeded", "{offboarded}");
    let (status, account) = api
        .get(&admin, &format!("/api/v1/accounts/LAB/{leaving_sam}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["disabled"], true, "{account}");
    rig.stop().await;
}

/// Snapshots of the workflow dialogs, drawn from app state the way the event loop draws them.
mod dialogs {
    use chrono::{DateTime, TimeZone, Utc};
    use deskbridge::console::app::workflows::{WorkflowEffect, WorkflowMsg};
    use deskbridge::console::app::{App, Effect, Failure, Link, Loaded, Msg, Setup, convert};
    use deskbridge::console::client::{CallLog, UserRow, Whoami};
    use deskbridge::console::keymap::{Keymap, View};
    use deskbridge::console::theme::Theme;
    use deskbridge::console::ui;
    use deskbridge::model::Role;
    use ratatui::buffer::Buffer;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::layout::Rect;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 9, 30, 0)
            .single()
            .unwrap_or_default()
    }

    /// A live console of `role` on the users view with Ada and Bob.
    fn app(role: Role) -> App {
        let setup = Setup {
            keymap: Keymap::defaults(),
            readonly: false,
            lab: true,
            adapter_url: "http://127.0.0.1:40123".into(),
            theme_names: Vec::new(),
        };
        let mut app = App::new(setup, now());
        let me = Whoami {
            client_id: uuid::Uuid::nil(),
            name: "alice".into(),
            role,
            token_expires_at: None,
        };
        app.update(Msg::Whoami(Ok(me)), now());
        app.link = Link::Live;
        let effects = key(&mut app, KeyCode::Char('6'));
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
                machines: 1,
                sites: vec!["London".into()],
            })
        };
        let rows = vec![
            user("LAB\\ada", "Ada Lovelace"),
            user("LAB\\bob", "Bob Smith"),
        ];
        app.update(
            Msg::Loaded {
                view: View::Users,
                generation,
                result: Ok(Loaded { rows, note: None }),
            },
            now(),
        );
        app
    }

    fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)), now())
    }

    fn typed(app: &mut App, text: &str) -> Vec<Effect> {
        text.chars()
            .flat_map(|c| key(app, KeyCode::Char(c)))
            .collect()
    }

    /// Answers the preview among `effects` with `result`.
    fn answer(app: &mut App, effects: &[Effect], result: Result<serde_json::Value, &str>) {
        let key = effects
            .iter()
            .find_map(|e| match e {
                Effect::Workflow(WorkflowEffect::Preview { key, .. }) => Some(key.clone()),
                _ => None,
            })
            .expect("a preview was asked for");
        let result = result
            .map(|v| Box::new(serde_json::from_value(v).expect("a preview")))
            .map_err(Failure::refused);
        app.update(Msg::Workflow(WorkflowMsg::Previewed { key, result }), now());
    }

    fn preview(action: &str, person: &str, steps: &[&str]) -> serde_json::Value {
        json!({
            "action": action, "person": person,
            "routing": { "facts": { "user": person, "location": "London" },
                "route": { "rule": "office-london", "site": "London",
                    "pooled_desktop": { "delivery_group": "London Pooled Desktops" },
                    "persistent_desktop": null, "apps": ["Office Suite"],
                    "groups": ["Office London"] },
                "checks": [
                    { "rule": "london-engineering", "matched": false,
                      "reasons": ["ou is \"OU=Finance\", rule wants \"OU=Engineering\" or below"] },
                    { "rule": "office-london", "matched": true,
                      "reasons": ["location is \"London\", as the rule wants"] }],
                "unknown": ["department"] },
            "steps": steps.iter().enumerate().map(|(i, t)| json!({
                "number": i, "kind": "k", "title": t, "state": "pending" })).collect::<Vec<_>>(),
        })
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
    fn new_request_with_its_preview() {
        let mut app = app(Role::Helpdesk);
        let effects = key(&mut app, KeyCode::Char('N'));
        let steps = ["Entitle LAB\\ada to delivery group London Pooled Desktops at London"];
        answer(
            &mut app,
            &effects,
            Ok(preview("request.pooled_desktop", "LAB\\ada", &steps)),
        );
        insta::assert_snapshot!(screen(&mut app, 100, 30));
    }

    #[test]
    fn new_request_confirmation_and_a_refusal() {
        let mut app = app(Role::Admin);
        let effects = key(&mut app, KeyCode::Char('N'));
        answer(
            &mut app,
            &effects,
            Ok(preview("request.pooled_desktop", "LAB\\ada", &["Entitle"])),
        );
        key(&mut app, KeyCode::Enter);
        let confirm = screen(&mut app, 100, 30);
        key(&mut app, KeyCode::Esc);
        key(&mut app, KeyCode::Right);
        let effects = app.update(Msg::Tick, now() + chrono::Duration::seconds(1));
        answer(
            &mut app,
            &effects,
            Err("routing rule \"office-london\" gives no persistent desktop"),
        );
        key(&mut app, KeyCode::Enter);
        let refused = screen(&mut app, 100, 30);
        insta::assert_snapshot!(format!("{confirm}\n--- refused\n{refused}"));
    }

    #[test]
    fn offboarding_asks_for_the_account_name() {
        let mut app = app(Role::Admin);
        let effects = key(&mut app, KeyCode::Char('O'));
        let steps = [
            "Log off every session of LAB\\ada",
            "Remove LAB\\ada from every delivery group and application group",
            "Disable the account LAB\\ada",
            "Unassign the machines of LAB\\ada",
        ];
        let mut body = preview("user.offboard", "LAB\\ada", &steps);
        body["routing"] = serde_json::Value::Null;
        answer(&mut app, &effects, Ok(body));
        key(&mut app, KeyCode::Enter);
        typed(&mut app, "ad");
        insta::assert_snapshot!(screen(&mut app, 100, 30));
    }

    #[test]
    fn onboarding_at_80_by_24() {
        let mut app = app(Role::Admin);
        key(&mut app, KeyCode::Char(':'));
        typed(&mut app, "onboard");
        key(&mut app, KeyCode::Enter);
        typed(&mut app, "Grace");
        key(&mut app, KeyCode::Tab);
        typed(&mut app, "Hopper");
        let effects = app.update(Msg::Tick, now() + chrono::Duration::seconds(1));
        let steps = [
            "Create account LAB\\grace.hopper",
            "Add LAB\\grace.hopper to group Office London",
            "Entitle LAB\\grace.hopper to delivery group London Pooled Desktops at London",
            "Entitle LAB\\grace.hopper to application group Office Suite at London",
        ];
        answer(
            &mut app,
            &effects,
            Ok(preview("user.onboard", "LAB\\grace.hopper", &steps)),
        );
        insta::assert_snapshot!(screen(&mut app, 80, 24));
    }
}
