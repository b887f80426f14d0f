//! `GET /api/v1/events` over real HTTP: events arrive live with their ids, a reconnect with
//! `Last-Event-ID` gets exactly what it missed, kinds filter, a pruned gap is announced, and
//! bad input or a missing token is refused.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use deskbridge::adapter::api::bootstrap::sync_clients;
use deskbridge::adapter::api::{ApiOptions, ApiServer, AppState};
use deskbridge::adapter::store::{EventKind, EventRetention, SqliteStore, Store};
use deskbridge::config::AdapterConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::sse::Reader;

const VIEWER_ID: &str = "11111111-1111-4111-8111-111111111111";
const VIEWER_SECRET: &str = "viewer-secret-0123456789abcdef";

const CONFIG: &str = r#"
listen = "127.0.0.1:0"
data_dir = "."
store = "sqlite://deskbridge.db"

[[sites]]
name = "london"
kind = "onprem"
endpoints = ["http://127.0.0.1:9"]
site_id = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
enabled = false
[sites.credentials]
username = 'LAB\svc-deskbridge'
password = { env = "SITE_PASSWORD" }

[[clients]]
name = "console"
id = "11111111-1111-4111-8111-111111111111"
role = "viewer"
secret = { env = "VIEWER_SECRET" }
"#;

struct Adapter {
    server: ApiServer,
    url: String,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    token: String,
}

impl Adapter {
    async fn start(test: &str) -> Adapter {
        let dir: PathBuf =
            std::env::temp_dir().join(format!("deskbridge-events-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        let env = |name: &str| match name {
            "SITE_PASSWORD" => Some("unused".to_owned()),
            "VIEWER_SECRET" => Some(VIEWER_SECRET.to_owned()),
            _ => None,
        };
        let config = match AdapterConfig::from_toml(CONFIG, "adapter.toml", &dir, &env) {
            Ok(loaded) => loaded.config,
            Err(errors) => panic!("test config does not load:\n{errors}"),
        };
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&config.store.url())
                .await
                .expect("open store"),
        );
        sync_clients(store.as_ref(), &config.clients)
            .await
            .expect("sync clients");
        let listen = config.listen;
        let state = AppState::new(store.clone(), config, ApiOptions::default())
            .await
            .expect("state");
        let server = ApiServer::start(listen, state).await.expect("listen");
        let http = reqwest::Client::new();
        let url = server.url();
        let token: Value = http
            .post(format!("{url}/api/v1/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", VIEWER_ID),
                ("client_secret", VIEWER_SECRET),
            ])
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token JSON");
        let token = token["access_token"].as_str().expect("a token").to_owned();
        Adapter {
            server,
            url,
            store,
            http,
            token,
        }
    }

    async fn open(&self, query: &str, last_event_id: Option<&str>) -> reqwest::Response {
        let mut request = self
            .http
            .get(format!("{}/api/v1/events{query}", self.url))
            .bearer_auth(&self.token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        request.send().await.expect("events request")
    }

    async fn emit(&self, kind: EventKind, subject: &str) -> i64 {
        self.store
            .append_event(kind, subject, json!({ "subject": subject }))
            .await
            .expect("append event")
            .id
    }

    async fn stop(self) {
        self.server.shutdown().await.expect("clean shutdown");
    }
}

#[tokio::test]
async fn live_events_arrive_in_order_with_ids() {
    let adapter = Adapter::start("live").await;
    let before = adapter.emit(EventKind::Job, "old-job").await;
    let mut reader = Reader::new(adapter.open("", None).await);
    let hello = reader.next().await;
    assert_eq!(hello.event, "hello");
    assert_eq!(
        hello.data["resume_after"], before,
        "a new client starts at now"
    );
    assert_eq!(hello.data["retention"]["max_age_secs"], 86_400);

    let first = adapter.emit(EventKind::Job, "job-1").await;
    let second = adapter.emit(EventKind::Task, "task-1").await;
    let got = reader.next().await;
    assert_eq!(
        (got.id.as_deref(), got.event.as_str()),
        (Some(first.to_string().as_str()), "job")
    );
    assert_eq!(got.data["subject"], "job-1");
    let got = reader.next().await;
    assert_eq!(
        (got.id.as_deref(), got.event.as_str()),
        (Some(second.to_string().as_str()), "task")
    );
    assert_eq!(got.data["payload"]["subject"], "task-1");
    adapter.stop().await;
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_gets_exactly_what_it_missed() {
    let adapter = Adapter::start("resume").await;
    let seen = adapter.emit(EventKind::Job, "seen").await;
    let missed_a = adapter.emit(EventKind::Task, "missed-a").await;
    let missed_b = adapter.emit(EventKind::Inventory, "missed-b").await;

    let mut reader = Reader::new(adapter.open("", Some(&seen.to_string())).await);
    assert_eq!(reader.next().await.event, "hello");
    let a = reader.next().await;
    let b = reader.next().await;
    assert_eq!(a.id, Some(missed_a.to_string()));
    assert_eq!(b.id, Some(missed_b.to_string()));
    // Nothing more until something happens, then exactly that.
    let later = adapter.emit(EventKind::Site, "later").await;
    assert_eq!(reader.next().await.id, Some(later.to_string()));

    // `since` does the same for clients that cannot set headers.
    let mut reader = Reader::new(adapter.open(&format!("?since={missed_a}"), None).await);
    assert_eq!(reader.next().await.event, "hello");
    assert_eq!(reader.next().await.id, Some(missed_b.to_string()));
    adapter.stop().await;
}

#[tokio::test]
async fn kinds_filter_what_a_client_receives() {
    let adapter = Adapter::start("kinds").await;
    let mut reader = Reader::new(adapter.open("?kinds=task,site", None).await);
    assert_eq!(reader.next().await.event, "hello");
    adapter.emit(EventKind::Job, "job").await;
    let task = adapter.emit(EventKind::Task, "task").await;
    adapter.emit(EventKind::Inventory, "inventory").await;
    let site = adapter.emit(EventKind::Site, "site").await;
    assert_eq!(reader.next().await.id, Some(task.to_string()));
    assert_eq!(reader.next().await.id, Some(site.to_string()));
    adapter.stop().await;
}

#[tokio::test]
async fn a_gap_pruned_away_is_announced_with_a_reset() {
    let adapter = Adapter::start("pruned").await;
    let first = adapter.emit(EventKind::Job, "a").await;
    adapter.emit(EventKind::Job, "b").await;
    let kept = adapter.emit(EventKind::Job, "c").await;
    adapter
        .store
        .prune_events(EventRetention {
            max_age: Duration::from_secs(3600),
            max_events: 1,
        })
        .await
        .expect("prune");
    let mut reader = Reader::new(adapter.open("", Some(&first.to_string())).await);
    assert_eq!(reader.next().await.event, "hello");
    let reset = reader.next().await;
    assert_eq!(reset.event, "reset", "{reset:?}");
    assert_eq!(reset.data["oldest_retained"], kept);
    assert_eq!(reader.next().await.id, Some(kept.to_string()));
    adapter.stop().await;
}

#[tokio::test]
async fn bad_input_and_missing_tokens_are_refused() {
    let adapter = Adapter::start("refused").await;
    for (query, header, needle) in [
        ("", Some("forty-two"), "Last-Event-ID"),
        ("?kinds=jobs", None, "unknown event kind"),
        ("?since=-5", None, "cannot resume"),
        ("?from=3", None, "from"),
    ] {
        let response = adapter.open(query, header).await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{query} {header:?}"
        );
        let body: Value = response.json().await.expect("JSON error");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{query}: {message}");
    }
    let response = adapter
        .http
        .get(format!("{}/api/v1/events", adapter.url))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    adapter.stop().await;
}
