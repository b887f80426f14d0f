//! The adapter's CVAD inventory over real HTTP against the lab: the sites list with zones,
//! connector health, degraded flag, data age and counts equal to the lab's own; the paged
//! lists with filters, sorting and cursors; the whole-site lists; bad parameters; roles; and
//! a site whose connectors all stop (degraded, last-known data, growing age) and come back.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use deskbridge::adapter::api::bootstrap::sync_clients;
use deskbridge::adapter::api::{ApiOptions, ApiServer, AppState};
use deskbridge::adapter::store::{EventKind, EventStore, SqliteStore, Store};
use deskbridge::config::{
    AdapterConfig, ApiClientConfig, DEFAULT_TOKEN_TTL, Role, SiteConfig, StoreConfig,
};
use deskbridge::lab::{Lab, LabInfo, LabOptions};
use deskbridge::secret::Secret;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

const VIEWER_SECRET: &str = "viewer-secret-0123456789abcdef";

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deskbridge-inv-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch folder");
    dir
}

/// The adapter config for a lab, as `serve --lab` builds it, with one viewer client.
fn config_for(info: &LabInfo, dir: &Path, viewer: Uuid) -> AdapterConfig {
    let sites = info.sites.iter().map(SiteConfig::from_lab).collect();
    AdapterConfig {
        listen: ([127, 0, 0, 1], 0).into(),
        data_dir: dir.to_path_buf(),
        store: StoreConfig::Sqlite {
            path: dir.join("deskbridge.db"),
        },
        token_ttl: DEFAULT_TOKEN_TTL,
        sites,
        servicenow: Vec::new(),
        clients: vec![ApiClientConfig {
            id: viewer,
            name: "wallboard".to_owned(),
            role: Role::Viewer,
            secret: Secret::new(VIEWER_SECRET.to_owned()),
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

/// A lab and an adapter in this process, every site refreshed once, a viewer token ready.
struct Rig {
    lab: Lab,
    server: ApiServer,
    state: AppState,
    store: SqliteStore,
    http: reqwest::Client,
    token: String,
}

impl Rig {
    async fn start(test: &str) -> Rig {
        let lab = Lab::start(LabOptions::default()).await.expect("lab starts");
        let dir = scratch(test);
        let viewer = Uuid::new_v4();
        let config = config_for(lab.info(), &dir, viewer);
        let store = SqliteStore::open(&config.store.url())
            .await
            .expect("open store");
        let shared: Arc<dyn Store> = Arc::new(store.clone());
        sync_clients(shared.as_ref(), &config.clients)
            .await
            .expect("sync clients");
        let listen = config.listen;
        let state = AppState::new(shared, config, ApiOptions::default())
            .await
            .expect("state");
        // The background refreshers, with an interval no test waits for: each refreshes its
        // site once at start (awaited here); the tests refresh on demand after that.
        state
            .inventory
            .start_with_interval(Duration::from_secs(3600));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while state
            .inventory
            .states()
            .iter()
            .any(|(_, s)| s.last_attempt.is_none())
        {
            assert!(tokio::time::Instant::now() < deadline, "first refreshes");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for (name, s) in state.inventory.states() {
            assert!(
                s.data.is_some(),
                "first refresh of {name}: {:?}",
                s.last_error
            );
        }
        let server = ApiServer::start(listen, state.clone())
            .await
            .expect("listen");
        let http = reqwest::Client::new();
        let response = http
            .post(format!("{}/api/v1/token", server.url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &viewer.to_string()),
                ("client_secret", VIEWER_SECRET),
            ])
            .send()
            .await
            .expect("token request");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("token JSON");
        let token = body["access_token"].as_str().expect("token").to_owned();
        Rig {
            lab,
            server,
            state,
            store,
            http,
            token,
        }
    }

    async fn stop(self) {
        self.state.inventory.stop().await;
        self.server.shutdown().await.expect("clean shutdown");
        self.store.close().await;
        self.lab.shutdown().await;
    }

    async fn get_as(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}{path}", self.server.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("GET");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.get_as(path, Some(&self.token)).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// The lab's own view of a site (`GET {control}/sites/{site}`).
    async fn lab_site(&self, site: &str) -> Value {
        let url = format!("{}/sites/{site}", self.lab.info().control);
        let response = self.http.get(url).send().await.expect("lab control");
        assert!(response.status().is_success());
        response.json().await.expect("lab JSON")
    }

    async fn connector(&self, site: &str, index: usize, op: &str) {
        let url = format!(
            "{}/sites/{site}/connectors/{index}/{op}",
            self.lab.info().control
        );
        let response = self.http.post(url).send().await.expect("lab control");
        assert!(response.status().is_success(), "{op} connector {index}");
    }

    async fn site(&self, name: &str) -> Value {
        let body = self.get("/api/v1/sites").await;
        body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|s| s["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("site {name} listed: {body}"))
    }

    /// Every item of a paged list, walking `next_cursor`; asserts `total` on every page.
    async fn walk(&self, path: &str) -> (Vec<Value>, u64) {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        let mut total = None;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}{sep}cursor={c}"),
                None => path.to_owned(),
            };
            let page = self.get(&url).await;
            let page_total = page["total"].as_u64().expect("total");
            assert_eq!(*total.get_or_insert(page_total), page_total, "{url}");
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        (items, total.unwrap_or(0))
    }
}

fn key(item: &Value) -> String {
    format!("{}/{}", item["site"], item["id"])
}

fn count(value: &Value, name: &str) -> u64 {
    value[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} in {value}"))
}

#[tokio::test]
async fn lists_match_the_lab() {
    let rig = Rig::start("match").await;
    let mut all_sessions = 0;
    for site in &rig.lab.info().sites {
        let lab = rig.lab_site(&site.name).await;
        let ours = rig.site(&site.name).await;
        let counts = &lab["counts"];
        assert_eq!(ours["enabled"], true);
        assert_eq!(ours["degraded"], false, "{ours}");
        assert!(ours["data_age"].as_u64().is_some(), "{ours}");
        assert_eq!(ours["last_error"], Value::Null);
        for name in ["machines", "sessions", "delivery_groups"] {
            assert_eq!(
                count(&ours["counts"], name),
                count(counts, name),
                "{name} of {}",
                site.name
            );
        }
        let lab_zones = lab["zones"].as_array().map_or(0, Vec::len);
        assert_eq!(ours["zones"].as_array().map_or(0, Vec::len), lab_zones);
        assert_eq!(
            ours["connectors"].as_array().map_or(0, Vec::len),
            site.endpoints.len()
        );
        assert!(
            ours["connectors"]
                .as_array()
                .is_some_and(|c| c.iter().all(|c| c["health"] == "up")),
            "every connector probed and up: {ours}"
        );
        // Each zone lists the connectors the site config assigns to it (the lab's two per
        // zone), with their health.
        for lab_zone in &site.zones {
            let zone = ours["zones"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|z| z["name"] == lab_zone.name.as_str())
                .unwrap_or_else(|| panic!("zone {} listed: {ours}", lab_zone.name));
            let urls: Vec<&str> = zone["connectors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["url"].as_str())
                .collect();
            let expected: Vec<&str> = lab_zone
                .endpoints
                .iter()
                .map(|&i| site.endpoints[i].as_str())
                .collect();
            assert_eq!(
                urls, expected,
                "zone {} of {}: {zone}",
                lab_zone.name, site.name
            );
        }

        // The paged lists agree with the counts.
        let name = &site.name;
        for (path, counted) in [
            ("sessions", "sessions"),
            ("machines", "machines"),
            ("delivery-groups", "delivery_groups"),
        ] {
            let page = rig
                .get(&format!("/api/v1/{path}?site={name}&limit=1"))
                .await;
            assert_eq!(page["total"].as_u64(), counts[counted].as_u64(), "{path}");
            if let Some(item) = page["items"].as_array().and_then(|i| i.first()) {
                assert_eq!(item["site"], name.as_str());
            }
        }

        // The whole-site calls return every session and machine, once each.
        for (what, counted) in [("sessions", "sessions"), ("machines", "machines")] {
            let whole = rig.get(&format!("/api/v1/sites/{name}/{what}")).await;
            let items = whole["items"].as_array().expect("items");
            assert_eq!(Some(items.len() as u64), counts[counted].as_u64());
            assert_eq!(whole["total"].as_u64(), counts[counted].as_u64());
            let ids: HashSet<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
            assert_eq!(ids.len(), items.len(), "{what}: ids unique");
            assert_eq!(whole["site"], name.as_str());
        }
        all_sessions += count(counts, "sessions");
    }

    // Users: derived from the sessions of every site.
    let (users, total) = rig.walk("/api/v1/users?limit=1000").await;
    assert_eq!(users.len() as u64, total);
    let session_sum: u64 = users.iter().map(|u| count(u, "sessions")).sum();
    assert_eq!(session_sum, all_sessions);
    let with_session = users
        .iter()
        .find(|u| count(u, "sessions") > 0)
        .expect("a user with a session");
    assert!(
        with_session["sites"]
            .as_array()
            .is_some_and(|s| !s.is_empty())
    );
    let user = with_session["user_name"].as_str().expect("user_name");
    let (theirs, _) = rig
        .walk(&format!("/api/v1/sessions?user={}", urlencode(user)))
        .await;
    assert_eq!(theirs.len() as u64, count(with_session, "sessions"));
    assert!(theirs.iter().all(|s| s["user_name"] == user));

    let (status, body) = rig
        .get_as("/api/v1/sites/nowhere/sessions", Some(&rig.token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    rig.stop().await;
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn paging_filters_and_sorting() {
    let rig = Rig::start("paging").await;
    let everything = rig.get("/api/v1/sessions?limit=1").await;
    let total = count(&everything, "total");
    assert!(total > 100, "the small lab has sessions: {total}");

    // Walk every page with an odd page size and a descending sort: no duplicates, no gaps.
    let (items, walked_total) = rig.walk("/api/v1/sessions?limit=37&sort=-user_name").await;
    assert_eq!(walked_total, total);
    assert_eq!(items.len() as u64, total);
    let keys: HashSet<String> = items.iter().map(key).collect();
    assert_eq!(keys.len(), items.len(), "no session twice");
    let names: Vec<&str> = items
        .iter()
        .filter_map(|i| i["user_name"].as_str())
        .collect();
    assert!(names.windows(2).all(|w| w[0] >= w[1]), "sorted descending");

    // The same walk in the other direction sees the same sessions.
    let (ascending, _) = rig
        .walk("/api/v1/sessions?limit=1000&sort=start_time")
        .await;
    let other: HashSet<String> = ascending.iter().map(key).collect();
    assert_eq!(other, keys);

    // state
    let (disconnected, n) = rig
        .walk("/api/v1/sessions?state=disconnected&limit=500")
        .await;
    let expected = items
        .iter()
        .filter(|i| i["state"] == "Disconnected")
        .count();
    assert_eq!(n as usize, expected);
    assert!(disconnected.iter().all(|i| i["state"] == "Disconnected"));

    // group, by name
    let group = items
        .iter()
        .find_map(|i| i["delivery_group"]["name"].as_str())
        .expect("a session in a group")
        .to_owned();
    let (in_group, _) = rig
        .walk(&format!(
            "/api/v1/sessions?group={}&limit=1000",
            urlencode(&group)
        ))
        .await;
    let expected = items
        .iter()
        .filter(|i| i["delivery_group"]["name"] == group.as_str())
        .count();
    assert_eq!(in_group.len(), expected);

    // q: text in a visible field, any case
    let machine = items[0]["machine"]["name"].as_str().expect("machine name");
    let needle = machine
        .rsplit('\\')
        .next()
        .unwrap_or(machine)
        .to_uppercase();
    let (found, _) = rig
        .walk(&format!(
            "/api/v1/sessions?q={}&limit=1000",
            urlencode(&needle)
        ))
        .await;
    assert!(found.iter().any(|i| i["machine"]["name"] == machine));

    // machines: sorted by a number, paged
    let (machines, machine_total) = rig
        .walk("/api/v1/machines?sort=-session_count&limit=50")
        .await;
    assert_eq!(machines.len() as u64, machine_total);
    let counts: Vec<u64> = machines.iter().map(|m| count(m, "session_count")).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]));
    let keys: HashSet<String> = machines.iter().map(key).collect();
    assert_eq!(keys.len(), machines.len());

    // delivery groups carry their counters
    let groups = rig
        .get("/api/v1/delivery-groups?sort=name&limit=1000")
        .await;
    let first = &groups["items"][0];
    assert!(first["counters"]["total_desktops"].is_u64(), "{first}");
    rig.stop().await;
}

#[tokio::test]
async fn bad_parameters_and_auth() {
    let rig = Rig::start("bad").await;
    for (query, names) in [
        ("/api/v1/sessions?limit=0", "limit"),
        ("/api/v1/sessions?limit=1001", "limit"),
        ("/api/v1/machines?limit=ten", "limit"),
        ("/api/v1/sessions?sort=colour", "sort"),
        ("/api/v1/sessions?cursor=not-a-cursor", "cursor"),
        ("/api/v1/sessions?state=Sleeping", "state"),
        ("/api/v1/machines?state=Sleeping", "state"),
        ("/api/v1/sessions?site=atlantis", "site"),
        ("/api/v1/users?group=x", "group"),
        ("/api/v1/delivery-groups?colour=blue", "colour"),
    ] {
        let (status, body) = rig.get_as(query, Some(&rig.token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{query}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "{query}: {message}");
    }
    // A cursor made for one sort is refused under another.
    let page = rig.get("/api/v1/sessions?limit=5&sort=user_name").await;
    let cursor = page["next_cursor"].as_str().expect("more pages");
    let (status, body) = rig
        .get_as(
            &format!("/api/v1/sessions?sort=-user_name&cursor={cursor}"),
            Some(&rig.token),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // No token: 401 on every inventory endpoint; the viewer reads them all.
    let site = &rig.lab.info().sites[0].name;
    for path in [
        "/api/v1/sites".to_owned(),
        "/api/v1/delivery-groups".to_owned(),
        "/api/v1/machines".to_owned(),
        "/api/v1/sessions".to_owned(),
        "/api/v1/users".to_owned(),
        format!("/api/v1/sites/{site}/sessions"),
        format!("/api/v1/sites/{site}/machines"),
    ] {
        let (status, body) = rig.get_as(&path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(body["error"]["code"], "unauthorized");
        let (status, _) = rig.get_as(&path, Some(&rig.token)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    rig.stop().await;
}

#[tokio::test]
async fn all_connectors_down_is_degraded_with_last_known_data() {
    let rig = Rig::start("degraded").await;
    let site = rig.lab.info().sites[0].name.clone();
    let connectors = rig.lab.info().sites[0].endpoints.len();
    let before = rig.site(&site).await;
    let sessions_before = count(&before["counts"], "sessions");

    for index in 0..connectors {
        rig.connector(&site, index, "stop").await;
    }
    let report = rig.state.inventory.refresh_now(&site).await.expect("known");
    assert!(!report.ok && report.degraded, "{report:?}");

    let down = rig.site(&site).await;
    assert_eq!(down["degraded"], true, "{down}");
    assert!(down["last_error"].is_string());
    assert_eq!(count(&down["counts"], "sessions"), sessions_before);
    assert!(
        down["connectors"]
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["health"] == "down")),
        "{down}"
    );
    let age = count(&down, "data_age");
    // The last-known data is still served, and it ages.
    let page = rig
        .get(&format!("/api/v1/sessions?site={site}&limit=1"))
        .await;
    assert_eq!(count(&page, "total"), sessions_before);
    let whole = rig.get(&format!("/api/v1/sites/{site}/sessions")).await;
    assert_eq!(whole["degraded"], true);
    assert_eq!(
        whole["items"].as_array().map(Vec::len),
        Some(sessions_before as usize)
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let later = rig.site(&site).await;
    assert!(count(&later, "data_age") > age, "{later}");

    // The other sites are unaffected.
    for other in rig.lab.info().sites.iter().skip(1) {
        assert_eq!(rig.site(&other.name).await["degraded"], false);
    }

    for index in 0..connectors {
        rig.connector(&site, index, "start").await;
    }
    let report = rig.state.inventory.refresh_now(&site).await.expect("known");
    assert!(report.ok && !report.degraded, "{report:?}");
    let back = rig.site(&site).await;
    assert_eq!(back["degraded"], false);
    assert_eq!(back["last_error"], Value::Null);
    assert!(count(&back, "data_age") < count(&later, "data_age"));

    // The change was announced: a `site` event saying degraded, then one saying recovered.
    let events = rig.store.events_since(0, 1000).await.expect("events");
    let site_events: Vec<&Value> = events
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Site && e.subject == site)
        .map(|e| &e.payload)
        .collect();
    assert!(
        site_events.iter().any(|p| p["degraded"] == true),
        "{site_events:?}"
    );
    assert_eq!(
        site_events.last().map(|p| &p["degraded"]),
        Some(&Value::Bool(false))
    );
    assert!(
        events
            .events
            .iter()
            .any(|e| e.kind == EventKind::Inventory && e.subject == site),
        "the first load is an inventory event"
    );
    rig.stop().await;
}

#[tokio::test]
async fn one_connector_down_is_not_degraded() {
    let rig = Rig::start("one-down").await;
    let site = rig
        .lab
        .info()
        .sites
        .iter()
        .find(|s| s.endpoints.len() >= 2)
        .expect("a site with two connectors")
        .name
        .clone();
    let sessions = count(&rig.site(&site).await["counts"], "sessions");
    rig.connector(&site, 0, "stop").await;
    let report = rig.state.inventory.refresh_now(&site).await.expect("known");
    assert!(report.ok && !report.degraded, "{report:?}");
    let listed = rig.site(&site).await;
    assert_eq!(listed["degraded"], false);
    assert_eq!(count(&listed["counts"], "sessions"), sessions);
    // Every connector is probed: the stopped one shows down, the others up.
    let health: Vec<&str> = listed["connectors"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["health"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(health.first(), Some(&"down"), "{listed}");
    assert!(health[1..].iter().all(|h| *h == "up"), "{listed}");
    let whole = rig.get(&format!("/api/v1/sites/{site}/sessions")).await;
    assert_eq!(
        whole["items"].as_array().map(Vec::len),
        Some(sessions as usize)
    );
    rig.connector(&site, 0, "start").await;
    rig.stop().await;
}

#[tokio::test]
async fn disabled_sites_are_listed_not_refreshed() {
    let rig = Rig::start("disabled").await;
    let site = rig.lab.info().sites[0].name.clone();
    let attempt = |v: &Value| v["last_attempt"].as_str().map(str::to_owned);
    let before = attempt(&rig.site(&site).await);
    assert!(before.is_some());

    // An operator's switch (what POST /sites/{name}/disable stores); the refresher, woken,
    // skips the site.
    use deskbridge::adapter::store::SiteStore;
    rig.store
        .set_site_enabled(&site, false, "test")
        .await
        .expect("switch");
    assert!(rig.state.inventory.request_refresh(&site));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let listed = rig.site(&site).await;
    assert_eq!(listed["enabled"], false);
    assert_eq!(attempt(&listed), before, "a disabled site is not refreshed");
    assert!(listed["counts"].is_object(), "its last data is still shown");

    // Enabled again, the woken refresher refreshes it.
    rig.store
        .set_site_enabled(&site, true, "test")
        .await
        .expect("switch");
    assert!(rig.state.inventory.request_refresh(&site));
    let mut refreshed = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if attempt(&rig.site(&site).await) != before {
            refreshed = true;
            break;
        }
    }
    assert!(
        refreshed,
        "the enabled site is refreshed when its refresher wakes"
    );
    assert!(!rig.state.inventory.request_refresh("atlantis"));
    rig.stop().await;
}
