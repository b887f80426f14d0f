//! The adapter's HTTP API over real HTTP: tokens (RFC 6749 client credentials), bearer
//! authentication and roles, audit of mutating calls and denials, bad input, site switches
//! that survive a restart, readiness, the OpenAPI document against the router, and the
//! `deskbridge serve` binary in both modes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use deskbridge::adapter::api::bootstrap::sync_clients;
use deskbridge::adapter::api::routes::ROUTES;
use deskbridge::adapter::api::{ApiOptions, ApiServer, AppState};
use deskbridge::adapter::store::{ClientStore, SqliteStore, Store};
use deskbridge::config::AdapterConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

const VIEWER_ID: &str = "11111111-1111-4111-8111-111111111111";
const HELPDESK_ID: &str = "22222222-2222-4222-8222-222222222222";
const ADMIN_ID: &str = "33333333-3333-4333-8333-333333333333";
const VIEWER_SECRET: &str = "viewer-secret-0123456789abcdef";
const HELPDESK_SECRET: &str = "helpdesk-secret-0123456789abcdef";
const ADMIN_SECRET: &str = "admin-secret-0123456789abcdef";

const CONFIG: &str = r#"
listen = "127.0.0.1:0"
data_dir = "."
store = "sqlite://deskbridge.db"

[[sites]]
name = "london"
kind = "onprem"
endpoints = ["http://127.0.0.1:9", "http://127.0.0.2:9"]
site_id = "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"
[sites.credentials]
username = 'CORP\svc-deskbridge'
password = { env = "SITE_PASSWORD" }

[[sites]]
name = "paris"
kind = "onprem"
endpoints = ["http://127.0.0.1:9"]
site_id = "2c4e6a8b-1d3f-4a5b-9c7d-e1f2a3b4c5d6"
enabled = false
[sites.credentials]
username = 'CORP\svc-deskbridge'
password = { env = "SITE_PASSWORD" }

[[clients]]
name = "wallboard"
id = "11111111-1111-4111-8111-111111111111"
role = "viewer"
secret = { env = "VIEWER_SECRET" }

[[clients]]
name = "helpdesk"
id = "22222222-2222-4222-8222-222222222222"
role = "helpdesk"
secret = { env = "HELPDESK_SECRET" }

[[clients]]
name = "ops"
id = "33333333-3333-4333-8333-333333333333"
role = "admin"
secret = { env = "ADMIN_SECRET" }
"#;

fn env(name: &str) -> Option<String> {
    match name {
        "SITE_PASSWORD" => Some("site-password".to_owned()),
        "VIEWER_SECRET" => Some(VIEWER_SECRET.to_owned()),
        "HELPDESK_SECRET" => Some(HELPDESK_SECRET.to_owned()),
        "ADMIN_SECRET" => Some(ADMIN_SECRET.to_owned()),
        _ => None,
    }
}

/// A fresh folder for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deskbridge-api-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch folder");
    dir
}

fn load_config(dir: &Path) -> AdapterConfig {
    match AdapterConfig::from_toml(CONFIG, "adapter.toml", dir, &env) {
        Ok(loaded) => loaded.config,
        Err(errors) => panic!("test config does not load:\n{errors}"),
    }
}

/// An adapter running in this process on 127.0.0.1:0 with a SQLite file in `dir`.
struct Adapter {
    server: ApiServer,
    url: String,
    /// The same pool the server uses, kept so a test can close it under the server.
    store: SqliteStore,
    http: reqwest::Client,
}

impl Adapter {
    async fn start(dir: &Path, ttl: Duration) -> Adapter {
        let config = load_config(dir);
        let store = SqliteStore::open(&config.store.url())
            .await
            .expect("open store");
        let shared: Arc<dyn Store> = Arc::new(store.clone());
        sync_clients(shared.as_ref(), &config.clients)
            .await
            .expect("sync clients");
        let listen = config.listen;
        let state = AppState::new(shared, config, ApiOptions { token_ttl: ttl })
            .await
            .expect("state");
        let server = ApiServer::start(listen, state).await.expect("listen");
        Adapter {
            url: server.url(),
            server,
            store,
            http: reqwest::Client::new(),
        }
    }

    async fn stop(self) {
        self.server.shutdown().await.expect("clean shutdown");
        self.store.close().await;
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    async fn token(&self, id: &str, secret: &str) -> String {
        let response = self
            .http
            .post(self.at("/api/v1/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("token JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.get(self.at(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("GET");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.post(self.at(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn site(&self, token: &str, name: &str) -> Value {
        let (status, body) = self.get("/api/v1/sites", Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|s| s["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("site {name} listed: {body}"))
    }

    async fn audit(&self, token: &str, query: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!("/api/v1/audit?{query}"), Some(token))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn tokens_by_form_and_by_basic() {
    let dir = scratch("tokens");
    let adapter = Adapter::start(&dir, Duration::from_secs(3600)).await;

    let response = adapter
        .http
        .post(adapter.at("/api/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ADMIN_ID),
            ("client_secret", ADMIN_SECRET),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let form_token = body["access_token"].as_str().expect("token").to_owned();

    let response = adapter
        .http
        .post(adapter.at("/api/v1/token"))
        .basic_auth(HELPDESK_ID, Some(HELPDESK_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("JSON");
    let basic_token = body["access_token"].as_str().expect("token").to_owned();

    let (status, me) = adapter.get("/api/v1/whoami", Some(&form_token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["name"], "ops");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["client_id"], ADMIN_ID);
    let (_, me) = adapter.get("/api/v1/whoami", Some(&basic_token)).await;
    assert_eq!(me["name"], "helpdesk");
    assert_eq!(me["role"], "helpdesk");
    adapter.stop().await;
}

#[tokio::test]
async fn token_errors_follow_rfc_6749() {
    let dir = scratch("token-errors");
    let adapter = Adapter::start(&dir, Duration::from_secs(3600)).await;
    let url = adapter.at("/api/v1/token");
    let http = &adapter.http;

    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            "wrong secret",
            http.post(&url).form(&[
                ("grant_type", "client_credentials"),
                ("client_id", ADMIN_ID),
                ("client_secret", "wrong-secret-but-long-enough"),
            ]),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "unknown client",
            http.post(&url)
                .basic_auth("44444444-4444-4444-8444-444444444444", Some(ADMIN_SECRET))
                .form(&[("grant_type", "client_credentials")]),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "no client authentication",
            http.post(&url)
                .form(&[("grant_type", "client_credentials")]),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "wrong grant type",
            http.post(&url).form(&[
                ("grant_type", "password"),
                ("client_id", ADMIN_ID),
                ("client_secret", ADMIN_SECRET),
            ]),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "JSON body instead of a form",
            http.post(&url).json(&json!({
                "grant_type": "client_credentials",
                "client_id": ADMIN_ID,
                "client_secret": ADMIN_SECRET,
            })),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "missing grant type",
            http.post(&url)
                .form(&[("client_id", ADMIN_ID), ("client_secret", ADMIN_SECRET)]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "Basic and form credentials at once",
            http.post(&url)
                .basic_auth(ADMIN_ID, Some(ADMIN_SECRET))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", ADMIN_ID),
                    ("client_secret", ADMIN_SECRET),
                ]),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (case, request, status, error) in cases {
        let response = request.send().await.expect("token request");
        assert_eq!(response.status(), status, "{case}");
        let www = response.headers().get("www-authenticate").cloned();
        let text = response.text().await.expect("body");
        assert!(!text.contains(ADMIN_SECRET), "{case}: secret echoed");
        let body: Value = serde_json::from_str(&text).expect("JSON error");
        assert_eq!(body["error"], error, "{case}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "{case}: {body}"
        );
        if status == StatusCode::UNAUTHORIZED {
            assert!(www.is_some(), "{case}: 401 without WWW-Authenticate");
        }
    }

    // Failed logins are audited, and no secret reaches the audit log.
    let admin = adapter.token(ADMIN_ID, ADMIN_SECRET).await;
    let entries = adapter.audit(&admin, "action=token.issue&limit=1000").await;
    assert!(entries.iter().any(|e| e["outcome"] == "denied"));
    assert!(
        entries
            .iter()
            .any(|e| e["outcome"] == "succeeded" && e["actor_name"] == "ops")
    );
    let all = serde_json::to_string(&adapter.audit(&admin, "limit=1000").await).expect("JSON");
    assert!(!all.contains(ADMIN_SECRET) && !all.contains("wrong-secret"));
    assert!(!all.contains(&admin), "a token reached the audit log");
    adapter.stop().await;
}

#[tokio::test]
async fn bearer_problems_are_401_json() {
    let dir = scratch("bearer");
    let adapter = Adapter::start(&dir, Duration::from_secs(1)).await;
    let token = adapter.token(VIEWER_ID, VIEWER_SECRET).await;

    let (status, body) = adapter.get("/api/v1/whoami", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "unauthorized");
    assert!(error_message(&body).contains("no bearer token"), "{body}");

    let response = adapter
        .http
        .get(adapter.at("/api/v1/whoami"))
        .header("authorization", format!("Basic {}", STANDARD.encode("a:b")))
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("www-authenticate").is_some());
    let body: Value = response.json().await.expect("JSON");
    assert!(
        error_message(&body).contains("not `Bearer <token>`"),
        "{body}"
    );

    let (status, body) = adapter.get("/api/v1/whoami", Some("not-a-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_message(&body).contains("malformed"), "{body}");

    // Tampered: the payload rewritten to claim admin, the signature kept.
    let mut parts = token.split('.');
    let (prefix, payload, signature) = (
        parts.next().expect("prefix"),
        parts.next().expect("payload"),
        parts.next().expect("signature"),
    );
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("utf8");
    assert!(claims.contains("\"viewer\""));
    let forged = URL_SAFE_NO_PAD.encode(claims.replace("\"viewer\"", "\"admin\""));
    let tampered = format!("{prefix}.{forged}.{signature}");
    let (status, body) = adapter.get("/api/v1/whoami", Some(&tampered)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_message(&body).contains("signature"), "{body}");

    // Disabled client: its still-valid token is refused at once.
    let helpdesk = adapter.token(HELPDESK_ID, HELPDESK_SECRET).await;
    let id = uuid::Uuid::parse_str(HELPDESK_ID).expect("uuid");
    adapter
        .store
        .set_client_enabled(id, false)
        .await
        .expect("disable");
    let (status, body) = adapter.get("/api/v1/whoami", Some(&helpdesk)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_message(&body).contains("disabled"), "{body}");

    // Expired: the TTL is one second.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = adapter.get("/api/v1/whoami", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(error_message(&body).contains("expired"), "{body}");

    // The denied reads are audited, the expired one under the client's name.
    let admin = adapter.token(ADMIN_ID, ADMIN_SECRET).await;
    let denied = adapter.audit(&admin, "action=whoami").await;
    assert!(denied.iter().all(|e| e["outcome"] == "denied"));
    assert!(denied.iter().any(|e| e["actor_name"] == "anonymous"));
    assert!(denied.iter().any(|e| e["actor_name"] == "wallboard"
        && e["message"].as_str().is_some_and(|m| m.contains("expired"))));
    adapter.stop().await;
}

#[tokio::test]
async fn roles_audit_and_a_switch_that_survives_restart() {
    let dir = scratch("roles");
    let adapter = Adapter::start(&dir, Duration::from_secs(3600)).await;
    let helpdesk = adapter.token(HELPDESK_ID, HELPDESK_SECRET).await;
    let admin = adapter.token(ADMIN_ID, ADMIN_SECRET).await;
    let viewer = adapter.token(VIEWER_ID, VIEWER_SECRET).await;

    let response = adapter
        .http
        .post(adapter.at("/api/v1/sites/london/disable"))
        .bearer_auth(&helpdesk)
        .header("x-request-id", "req-helpdesk-1")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers().get("x-request-id").map(|v| v.as_bytes()),
        Some(&b"req-helpdesk-1"[..])
    );
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(error_code(&body), "forbidden");
    assert!(
        error_message(&body).contains("needs role admin; client 'helpdesk' has helpdesk"),
        "{body}"
    );
    assert_eq!(adapter.site(&viewer, "london").await["enabled"], true);

    let (status, site) = adapter
        .post("/api/v1/sites/london/disable", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK, "{site}");
    assert_eq!(site["enabled"], false);
    assert_eq!(site["enabled_in_config"], true);
    assert_eq!(site["changed_by"], "ops");
    assert_eq!(adapter.site(&viewer, "london").await["enabled"], false);
    // Config default applies to a site nobody switched.
    assert_eq!(adapter.site(&viewer, "paris").await["enabled"], false);

    let (status, body) = adapter
        .post("/api/v1/sites/nowhere/enable", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_message(&body).contains("london"), "{body}");

    // The audit log: the denied call with its request id, the allowed and succeeded one.
    let entries = adapter.audit(&viewer, "action=site.disable").await;
    let denied = entries
        .iter()
        .find(|e| e["outcome"] == "denied")
        .expect("denied entry");
    assert_eq!(denied["actor_name"], "helpdesk");
    assert_eq!(denied["actor_id"], HELPDESK_ID);
    assert_eq!(denied["request_id"], "req-helpdesk-1");
    assert_eq!(denied["targets"], json!([{ "site": "london" }]));
    for outcome in ["allowed", "succeeded"] {
        assert!(
            entries
                .iter()
                .any(|e| e["outcome"] == outcome && e["actor_name"] == "ops"),
            "{outcome} entry for ops in {entries:?}"
        );
    }
    let failed = adapter.audit(&viewer, "action=site.enable").await;
    assert!(
        failed
            .iter()
            .any(|e| e["outcome"] == "failed" && e["targets"] == json!([{ "site": "nowhere" }]))
    );
    // The helpdesk client got a token and was refused once.
    let by_helpdesk = adapter.audit(&viewer, "actor=helpdesk").await;
    let actions: Vec<(&str, &str)> = by_helpdesk
        .iter()
        .filter_map(|e| Some((e["action"].as_str()?, e["outcome"].as_str()?)))
        .collect();
    assert_eq!(
        actions,
        [("site.disable", "denied"), ("token.issue", "succeeded")]
    );
    assert!(
        !adapter
            .audit(&viewer, "text=needs%20role%20admin")
            .await
            .is_empty()
    );
    // Cursor paging walks every entry once.
    let everything = adapter.audit(&viewer, "limit=1000").await;
    let mut seen = Vec::new();
    let mut query = "limit=2".to_owned();
    loop {
        let (_, page) = adapter
            .get(&format!("/api/v1/audit?{query}"), Some(&viewer))
            .await;
        seen.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_i64() {
            Some(cursor) => query = format!("limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, everything);
    let (status, body) = adapter
        .get("/api/v1/audit?since=yesterday", Some(&viewer))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_message(&body).contains("RFC 3339"), "{body}");

    // Restart on the same database: the switch holds, and old tokens stay valid because the
    // signing key lives in the store.
    adapter.stop().await;
    let adapter = Adapter::start(&dir, Duration::from_secs(3600)).await;
    assert_eq!(adapter.site(&viewer, "london").await["enabled"], false);
    let (status, site) = adapter
        .post("/api/v1/sites/london/enable", Some(&admin))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(site["enabled"], true);
    adapter.stop().await;
}

#[tokio::test]
async fn bad_input_is_4xx_json_and_changes_nothing() {
    let dir = scratch("bad-input");
    let adapter = Adapter::start(&dir, Duration::from_secs(3600)).await;
    let admin = adapter.token(ADMIN_ID, ADMIN_SECRET).await;
    let url = adapter.at("/api/v1/sites/london/disable");
    let big = format!("{{\"reason\":\"{}\"}}", "x".repeat(1024 * 1024 + 1));
    let cases = [
        (
            "malformed JSON",
            "application/json",
            "{\"reason\":".to_owned(),
            StatusCode::BAD_REQUEST,
            "malformed JSON",
        ),
        (
            "unknown field",
            "application/json",
            "{\"reason\":\"x\",\"force\":true}".to_owned(),
            StatusCode::BAD_REQUEST,
            "unknown field `force`",
        ),
        (
            "wrong type",
            "application/json",
            "{\"reason\":5}".to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid type",
        ),
        (
            "wrong content type",
            "text/plain",
            "{\"reason\":\"x\"}".to_owned(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "application/json",
        ),
        (
            "oversized body",
            "application/json",
            big,
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than",
        ),
    ];
    for (case, content_type, body, status, says) in cases {
        let response = adapter
            .http
            .post(&url)
            .bearer_auth(&admin)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), status, "{case}");
        let body: Value = response.json().await.expect("JSON error");
        assert!(error_message(&body).contains(says), "{case}: {body}");
        assert!(!error_code(&body).is_empty(), "{case}: {body}");
    }
    let viewer = adapter.token(VIEWER_ID, VIEWER_SECRET).await;
    assert_eq!(adapter.site(&viewer, "london").await["enabled"], true);
    let entries = adapter.audit(&viewer, "action=site.disable").await;
    assert!(entries.iter().all(|e| e["outcome"] != "succeeded"));
    assert_eq!(
        entries.iter().filter(|e| e["outcome"] == "failed").count(),
        5
    );

    // A good body with a reason works, and the reason is audited.
    let response = adapter
        .http
        .post(&url)
        .bearer_auth(&admin)
        .json(&json!({ "reason": "maintenance window" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        !adapter
            .audit(&viewer, "text=maintenance%20window")
            .await
            .is_empty()
    );

    let (status, body) = adapter.get("/api/v1/audit?colour=red", Some(&viewer)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_message(&body).contains("colour"), "{body}");
    adapter.stop().await;
}

#[tokio::test]
async fn health_readiness_and_request_ids() {
    let dir = scratch("ready");
    let adapter = Adapter::start(&dir, Duration::from_secs(3600)).await;
    let (status, body) = adapter.get("/healthz", None).await;
    assert_eq!(
        (status, body["status"].clone()),
        (StatusCode::OK, json!("ok"))
    );
    let (status, _) = adapter.get("/readyz", None).await;
    assert_eq!(status, StatusCode::OK);

    let response = adapter
        .http
        .get(adapter.at("/healthz"))
        .send()
        .await
        .expect("GET");
    let generated = response
        .headers()
        .get("x-request-id")
        .expect("generated id");
    assert!(uuid::Uuid::parse_str(generated.to_str().unwrap_or_default()).is_ok());

    adapter.store.close().await;
    let (status, body) = adapter.get("/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&body), "unavailable");
    assert!(error_message(&body).contains("store"), "{body}");
    let (status, _) = adapter.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    adapter.server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn openapi_document_matches_the_router() {
    let dir = scratch("openapi");
    let adapter = Adapter::start(&dir, Duration::from_secs(3600)).await;
    let admin = adapter.token(ADMIN_ID, ADMIN_SECRET).await;
    let (status, doc) = adapter.get("/api/v1/openapi.json", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.0"))
    );

    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.push(format!("{} {path}", method.to_ascii_uppercase()));
        }
    }
    let mut routed: Vec<String> = ROUTES.iter().map(|r| r.describe()).collect();
    documented.sort();
    routed.sort();
    assert_eq!(documented, routed);

    // Against the live router: every documented operation is served, every other method on
    // a documented path is 405, and an undocumented path is 404.
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    for (path, item) in doc["paths"].as_object().expect("paths") {
        let concrete = path.replace("{name}", "london");
        for method in methods {
            let documented = item.get(method.to_ascii_lowercase()).is_some();
            let response = adapter
                .http
                .request(method.parse().expect("method"), adapter.at(&concrete))
                .bearer_auth(&admin)
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials")
                .send()
                .await
                .expect("request");
            let status = response.status();
            let streaming = response
                .headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
            // An event stream never ends by itself: seeing it answer is enough.
            let body: Value = if streaming {
                Value::Null
            } else {
                response.json().await.unwrap_or(Value::Null)
            };
            // A 404 for the object a path names (an instance not configured here) is the
            // route answering; only the fallback's "no such endpoint" means it is not served.
            let no_route = status == StatusCode::NOT_FOUND
                && body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("no such endpoint"));
            if documented {
                assert!(
                    !no_route && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but answered {status}: {body}"
                );
                let op = &item[method.to_ascii_lowercase()];
                if status.is_client_error() {
                    assert!(
                        op["responses"].get(status.as_str()).is_some(),
                        "{method} {path} answered an undocumented {status}"
                    );
                }
            } else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
                assert_eq!(error_code(&body), "method_not_allowed");
            }
        }
    }
    let (status, body) = adapter.get("/api/v1/no-such-endpoint", Some(&admin)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
    adapter.stop().await;
}

#[tokio::test]
async fn clients_removed_from_the_config_are_disabled() {
    let dir = scratch("sync");
    let adapter = Adapter::start(&dir, Duration::from_secs(3600)).await;
    let old = adapter.token(VIEWER_ID, VIEWER_SECRET).await;
    let mut config = load_config(&dir);
    config.clients.retain(|c| c.name != "wallboard");
    let shared: Arc<dyn Store> = Arc::new(adapter.store.clone());
    let report = sync_clients(shared.as_ref(), &config.clients)
        .await
        .expect("sync");
    assert_eq!(report.disabled, vec!["wallboard".to_owned()]);
    let (status, _) = adapter.get("/api/v1/whoami", Some(&old)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let response = adapter
        .http
        .post(adapter.at("/api/v1/token"))
        .basic_auth(VIEWER_ID, Some(VIEWER_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    adapter.stop().await;
}

/// Reads lines of a child's stream on a thread, so a test can wait with a deadline.
fn lines_of(stream: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    for _ in 0..100 {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("deskbridge serve did not stop within 10 s of SIGTERM");
}

#[tokio::test]
async fn serve_lab_json_prints_one_line_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
        .args(["serve", "--lab", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start deskbridge serve --lab");
    let lines = lines_of(child.stdout.take().expect("stdout"));
    let line = lines
        .recv_timeout(Duration::from_secs(60))
        .expect("one line when ready");
    let ready: Value = serde_json::from_str(&line).expect("the line is JSON");
    let url = ready["url"].as_str().expect("url");
    let id = ready["client_id"].as_str().expect("client_id");
    let secret = ready["client_secret"].as_str().expect("client_secret");
    let lab_sites: Vec<&str> = ready["lab"]["sites"]
        .as_array()
        .expect("lab sites")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(!lab_sites.is_empty());
    assert!(
        ready["lab"]["servicenow"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );

    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{url}/api/v1/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    let token = token["access_token"].as_str().expect("access_token");
    let sites: Value = http
        .get(format!("{url}/api/v1/sites"))
        .bearer_auth(token)
        .send()
        .await
        .expect("sites")
        .json()
        .await
        .expect("sites JSON");
    let names: Vec<&str> = sites["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, lab_sites);
    let me: Value = http
        .get(format!("{url}/api/v1/whoami"))
        .bearer_auth(token)
        .send()
        .await
        .expect("whoami")
        .json()
        .await
        .expect("JSON");
    assert_eq!(me["role"], "admin");

    let status = terminate(&mut child);
    assert!(status.success(), "stopped with {status}");
    assert!(
        lines.recv_timeout(Duration::from_millis(200)).is_err(),
        "exactly one line on stdout"
    );
}

#[test]
fn serve_config_reports_errors_with_file_line_and_key() {
    let dir = scratch("broken-config");
    let path = dir.join("adapter.toml");
    // Line 6 holds the empty endpoints list.
    let text = "listen = \"127.0.0.1:0\"\ndata_dir = \".\"\n\n[[sites]]\nname = \"london\"\n\
                endpoints = []\nkind = \"onprem\"\nsite_id = \"x\"\n[sites.credentials]\n\
                username = 'CORP\\svc'\npassword = { env = \"UNSET_VAR_FOR_TEST\" }\n";
    std::fs::write(&path, text).expect("write config");
    let output = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
        .args(["serve", "--config"])
        .arg(&path)
        .env_remove("UNSET_VAR_FOR_TEST")
        .output()
        .expect("run deskbridge serve");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let expected = format!("{}:6:", path.display());
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with(&expected) && l.contains("key sites[0].endpoints")),
        "{stderr}"
    );
    assert!(
        stderr.contains("key sites[0].credentials.password"),
        "{stderr}"
    );
}

#[tokio::test]
async fn serve_config_starts_and_stops_on_sigterm() {
    let dir = scratch("good-config");
    let path = dir.join("adapter.toml");
    std::fs::write(&path, CONFIG).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskbridge"))
        .args(["serve", "--config"])
        .arg(&path)
        .env("SITE_PASSWORD", "site-password")
        .env("VIEWER_SECRET", VIEWER_SECRET)
        .env("HELPDESK_SECRET", HELPDESK_SECRET)
        .env("ADMIN_SECRET", ADMIN_SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start deskbridge serve --config");
    let lines = lines_of(child.stderr.take().expect("stderr"));
    let mut url = None;
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(60)) {
        if let Some(rest) = line.split("listening on ").nth(1) {
            url = rest.split_whitespace().next().map(str::to_owned);
            break;
        }
    }
    let url = url.expect("a line saying where it listens");
    let response = reqwest::Client::new()
        .post(format!("{url}/api/v1/token"))
        .basic_auth(HELPDESK_ID, Some(HELPDESK_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    assert_eq!(response.status(), StatusCode::OK);
    let status = terminate(&mut child);
    assert!(status.success(), "stopped with {status}");
    assert!(dir.join("deskbridge.db").exists(), "store in data_dir");
}
