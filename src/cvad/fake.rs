//! A scriptable fake CVAD site for the client's unit tests: real HTTP on loopback, a few
//! endpoints, and queued answers to force failures, throttling and expired tokens.

use super::config::{CvadAuth, CvadConfig, RetryPolicy};
use crate::model::SiteKind;
use crate::secret::Secret;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const USER: &str = "LAB\\admin";
pub const PASSWORD: &str = "right";

/// A forced answer.
#[derive(Debug, Clone)]
pub struct Scripted {
    /// Only for this endpoint; any endpoint if `None`.
    pub endpoint: Option<usize>,
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Scripted {
    pub fn status(status: u16) -> Self {
        Scripted {
            endpoint: None,
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn on(mut self, endpoint: usize) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_string();
        self
    }
}

/// A request the fake saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub endpoint: usize,
    #[allow(dead_code)] // shown in assertion messages
    pub method: String,
    pub path: String,
    pub query: String,
    pub transaction_id: String,
    pub admin_credential: Option<String>,
}

#[derive(Debug, Default)]
pub struct FakeState {
    pub scripted: VecDeque<Scripted>,
    pub seen: Vec<Seen>,
    pub tokens_issued: u32,
    pub valid_tokens: Vec<String>,
    pub token_ttl_secs: i64,
    pub machines: usize,
    /// Largest page served, whatever the limit.
    pub page_cap: usize,
    /// Serve an empty page (with a token) at this offset once.
    pub empty_page_at: Option<usize>,
    /// Hand back the token it was given instead of the next one.
    pub repeat_token: bool,
    /// States each job goes through, one per poll; the last one repeats.
    pub jobs: HashMap<String, VecDeque<Value>>,
}

/// The fake site: its endpoints' URLs and its state.
pub struct Fake {
    pub state: Arc<Mutex<FakeState>>,
    pub urls: Vec<String>,
    stops: Vec<Option<oneshot::Sender<()>>>,
    addrs: Vec<SocketAddr>,
}

impl Fake {
    /// Starts `live` endpoints plus `dead` URLs that refuse connections.
    pub async fn start(live: usize, dead: usize) -> Fake {
        let state = Arc::new(Mutex::new(FakeState {
            token_ttl_secs: 3600,
            machines: 10,
            page_cap: usize::MAX,
            ..Default::default()
        }));
        let mut fake = Fake {
            state,
            urls: Vec::new(),
            stops: Vec::new(),
            addrs: Vec::new(),
        };
        for i in 0..live {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            fake.addrs.push(addr);
            fake.urls.push(format!("http://{addr}"));
            fake.stops.push(Some(fake.serve(listener, i)));
        }
        for _ in 0..dead {
            // Bind and drop: the port is free and nothing listens.
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            drop(listener);
            fake.addrs.push(addr);
            fake.urls.push(format!("http://{addr}"));
            fake.stops.push(None);
        }
        fake
    }

    fn serve(&self, listener: TcpListener, index: usize) -> oneshot::Sender<()> {
        let router = Router::new()
            .fallback(handle)
            .with_state((self.state.clone(), index));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        stop
    }

    /// Stops endpoint `i`: its port refuses connections until started again.
    pub async fn stop_endpoint(&mut self, i: usize) {
        if let Some(stop) = self.stops[i].take() {
            let _ = stop.send(());
        }
        // Let the server task close its listener.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    /// Starts serving on endpoint `i`'s port (again).
    pub async fn start_endpoint(&mut self, i: usize) {
        let listener = TcpListener::bind(self.addrs[i]).await.expect("rebind");
        self.stops[i] = Some(self.serve(listener, i));
    }

    pub fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn script(&self, answer: Scripted) {
        self.lock().scripted.push_back(answer);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// An on-prem configuration for this fake with fast timeouts.
    pub fn config(&self) -> CvadConfig {
        let mut config = CvadConfig::new(
            "Test",
            SiteKind::Onprem,
            "CitrixOnPremises",
            "site-1",
            self.urls.clone(),
            CvadAuth::OnPrem {
                username: USER.into(),
                password: Secret::new(PASSWORD),
            },
        );
        config.request_timeout = Duration::from_secs(2);
        config.connect_timeout = Duration::from_secs(1);
        config.probe_interval = Duration::from_millis(100);
        config.retry = RetryPolicy {
            round_backoff: Duration::from_millis(20),
            ..RetryPolicy::default()
        };
        config
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        for stop in self.stops.iter_mut().filter_map(Option::take) {
            let _ = stop.send(());
        }
    }
}

fn error(status: u16, kind: &str, detail: &str) -> Response {
    let body = json!({
        "type": format!("https://errors-api.cloud.com/common/{kind}"),
        "detail": detail,
        "parameters": []
    });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

async fn handle(
    State((state, endpoint)): State<(Arc<Mutex<FakeState>>, usize)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    _body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
    s.seen.push(Seen {
        endpoint,
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        transaction_id: header("citrix-transactionid").unwrap_or_default(),
        admin_credential: header("x-admincredential"),
    });
    let position = s
        .scripted
        .iter()
        .position(|a| a.endpoint.is_none_or(|e| e == endpoint));
    if let Some(answer) = position.and_then(|p| s.scripted.remove(p)) {
        let mut response = (
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            answer.body,
        )
            .into_response();
        for (name, value) in answer.headers {
            if let Ok(value) = value.parse() {
                response.headers_mut().insert(name, value);
            }
        }
        return response;
    }
    if path == "/citrix/orchestration/api/tokens" {
        use base64::Engine as _;
        let expected =
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        if header("authorization") != Some(format!("Basic {expected}")) {
            return error(401, "authentication", "Invalid user name or password");
        }
        s.tokens_issued += 1;
        let token = format!("tok-{}", s.tokens_issued);
        s.valid_tokens.push(token.clone());
        let expires = chrono::Utc::now() + chrono::Duration::seconds(s.token_ttl_secs);
        return axum::Json(json!({"Token": token, "ExpiresAt": expires.to_rfc3339()}))
            .into_response();
    }
    let authorized = header("authorization")
        .and_then(|a| a.strip_prefix("CWSAuth bearer=").map(str::to_string))
        .is_some_and(|t| s.valid_tokens.contains(&t));
    if !authorized {
        return error(
            401,
            "authentication",
            "Missing or invalid authentication details",
        );
    }
    let Some(rest) = path.strip_prefix("/cvad/manage/") else {
        return error(404, "notFound", "no such path");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["me"]) => {
            axum::Json(json!({"UserId": "u1", "DisplayName": "Admin"})).into_response()
        }
        ("GET", ["Machines"]) => {
            let offset: usize = query_param(&query, "continuationToken")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let limit: usize = query_param(&query, "limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(250);
            let mut take = limit.min(s.page_cap);
            if s.empty_page_at == Some(offset) {
                s.empty_page_at = None;
                take = 0;
            }
            let end = (offset + take).min(s.machines);
            let items: Vec<Value> = (offset..end)
                .map(|i| json!({"Id": format!("m{i}"), "Name": format!("LAB\\VDI-{i:03}")}))
                .collect();
            let next = if s.repeat_token && offset > 0 {
                Some(offset.to_string())
            } else {
                (end < s.machines).then(|| end.to_string())
            };
            axum::Json(json!({"Items": items, "ContinuationToken": next})).into_response()
        }
        ("GET", ["Jobs", id]) => {
            let Some(states) = s.jobs.get_mut(*id) else {
                return error(404, "notFound", &format!("Job '{id}' not found"));
            };
            let state = if states.len() > 1 {
                states.pop_front()
            } else {
                states.front().cloned()
            };
            axum::Json(state.unwrap_or(Value::Null)).into_response()
        }
        ("POST", ["Jobs", _, "$cancel"]) => StatusCode::OK.into_response(),
        ("POST", ["Machines", name, action]) if query_param(&query, "async") == Some("true") => {
            let location = format!("http://fake/cvad/manage/Jobs/job-{name}-{action}");
            (StatusCode::ACCEPTED, [("location", location)]).into_response()
        }
        ("POST", ["MachineCatalogs", _, "Machines"]) => (
            StatusCode::ACCEPTED,
            [("location", "/cvad/manage/Jobs/add-1".to_string())],
        )
            .into_response(),
        _ => error(
            404,
            "notFound",
            &format!("{method} {path} is not served by the fake"),
        ),
    }
}
