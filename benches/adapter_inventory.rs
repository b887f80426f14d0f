//! The adapter serving one site's 100,000 sessions: the whole-site call
//! (`GET /api/v1/sites/{name}/sessions`) over real HTTP, body read to the end; the one-time
//! serialization of the snapshot that call sends; and a filtered, sorted page over the same
//! 100,000 rows. Target (issue 3, docs/perf.md): the whole-site call under 300 ms.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use deskbridge::adapter::api::bootstrap::sync_clients;
use deskbridge::adapter::api::{ApiOptions, ApiServer, AppState};
use deskbridge::adapter::inventory::SiteData;
use deskbridge::adapter::store::{SqliteStore, Store};
use deskbridge::config::{
    AdapterConfig, ApiClientConfig, DEFAULT_CONCURRENCY, DEFAULT_SITE_TIMEOUT, DEFAULT_TOKEN_TTL,
    Role, SiteConfig, StoreConfig,
};
use deskbridge::cvad::CvadAuth;
use deskbridge::model::{
    AppState as SessionAppState, Ref, Session, SessionState, SessionType, SiteKind,
};
use deskbridge::secret::Secret;
use uuid::Uuid;

const SESSIONS: usize = 100_000;
const SECRET: &str = "bench-secret-0123456789abcdef";

fn sessions() -> Vec<Session> {
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).single();
    (0..SESSIONS)
        .map(|i| Session {
            id: format!("{:08x}-5e55-4000-8000-{:012x}", i, i * 7),
            user_name: format!("CORP\\user{:05}", i % 60_000),
            user_upn: format!("user{:05}@corp.example", i % 60_000),
            user_display_name: format!("Person Number {i}"),
            machine: Ref {
                id: format!("m-{}", i / 20),
                name: format!("CORP\\LDN-VDA-{:05}", i / 20),
            },
            delivery_group: Some(Ref {
                id: format!("g-{}", i % 40),
                name: format!("London Desktops {}", i % 40),
            }),
            state: if i % 5 == 0 {
                SessionState::Disconnected
            } else {
                SessionState::Active
            },
            session_type: SessionType::Desktop,
            app_state: SessionAppState::Desktop,
            applications_in_use: Vec::new(),
            client_name: format!("LAPTOP-{:05}", i % 9_000),
            client_address: format!("10.{}.{}.{}", i / 65_536 % 256, i / 256 % 256, i % 256),
            protocol: "HDX".to_owned(),
            start_time: start.map(|t| t + chrono::Duration::seconds(i as i64)),
            state_change_time: start,
            logon_in_progress: false,
            logoff_in_progress: false,
            hidden: false,
        })
        .collect()
}

fn config(dir: &std::path::Path, client: Uuid) -> AdapterConfig {
    AdapterConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        data_dir: dir.to_path_buf(),
        store: StoreConfig::Sqlite {
            path: dir.join("deskbridge.db"),
        },
        token_ttl: DEFAULT_TOKEN_TTL,
        // Never contacted: the bench installs the site's data itself.
        sites: vec![SiteConfig {
            name: "bench".to_owned(),
            kind: SiteKind::Onprem,
            endpoints: vec!["http://127.0.0.1:9".to_owned()],
            customer_id: "CitrixOnPremises".to_owned(),
            site_id: "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f".to_owned(),
            auth: CvadAuth::OnPrem {
                username: "CORP\\svc".to_owned(),
                password: Secret::new("unused".to_owned()),
            },
            enabled: true,
            concurrency: DEFAULT_CONCURRENCY,
            rate_limit: None,
            request_timeout: DEFAULT_SITE_TIMEOUT,
            zones: Vec::new(),
        }],
        servicenow: Vec::new(),
        clients: vec![ApiClientConfig {
            id: client,
            name: "bench".to_owned(),
            role: Role::Viewer,
            secret: Secret::new(SECRET.to_owned()),
            enabled: true,
        }],
        directories: Vec::new(),
        accounts: Default::default(),
        routing: Default::default(),
        idle_power_off: Vec::new(),
        runbooks_dir: None,
        offboarding: Default::default(),
    }
}

fn serve_sessions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = std::env::temp_dir().join(format!("deskbridge-bench-inv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let client_id = Uuid::new_v4();
    let all = sessions();

    let (server, token, http) = runtime.block_on(async {
        let config = config(&dir, client_id);
        let store = SqliteStore::open(&config.store.url()).await.expect("store");
        let store: Arc<dyn Store> = Arc::new(store);
        sync_clients(store.as_ref(), &config.clients)
            .await
            .expect("clients");
        let listen = config.listen;
        let state = AppState::new(store, config, ApiOptions::default())
            .await
            .expect("state");
        let cache = state.inventory.cache("bench").expect("the bench site");
        cache.install(SiteData::new(
            Utc::now(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            all.clone(),
        ));
        let server = ApiServer::start(listen, state).await.expect("listen");
        let http = reqwest::Client::new();
        let response = http
            .post(format!("{}/api/v1/token", server.url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &client_id.to_string()),
                ("client_secret", SECRET),
            ])
            .send()
            .await
            .expect("token");
        let body: serde_json::Value = response.json().await.expect("token JSON");
        let token = body["access_token"].as_str().expect("token").to_owned();
        (server, token, http)
    });
    let whole = format!("{}/api/v1/sites/bench/sessions", server.url());
    let paged = format!(
        "{}/api/v1/sessions?state=Disconnected&q=ldn-vda-0&sort=-start_time&limit=100",
        server.url()
    );
    let sorted = format!(
        "{}/api/v1/sessions?sort=-start_time&limit=1000",
        server.url()
    );
    let get = |url: &str| {
        let request = http.get(url).bearer_auth(&token);
        runtime.block_on(async {
            let response = request.send().await.expect("GET");
            assert!(response.status().is_success());
            response.bytes().await.expect("body").len()
        })
    };
    // The first call serializes the snapshot; every later one sends the same bytes.
    let size = get(&whole);
    assert!(
        size > SESSIONS * 100,
        "the whole site is sent: {size} bytes"
    );

    let mut group = c.benchmark_group("adapter_inventory");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("whole_site_100k_sessions_over_http", |b| {
        b.iter(|| get(&whole))
    });
    group.bench_function("serialize_100k_sessions_once_per_snapshot", |b| {
        b.iter(|| serde_json::to_vec(&all).expect("JSON").len())
    });
    group.bench_function("filtered_sorted_page_over_100k_sessions", |b| {
        b.iter(|| get(&paged))
    });
    group.bench_function("sorted_page_of_1000_over_100k_sessions", |b| {
        b.iter(|| get(&sorted))
    });
    group.finish();

    runtime.block_on(async { server.shutdown().await.expect("shutdown") });
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, serve_sessions);
criterion_main!(benches);
