//! The simulated CVAD sites over real HTTP with raw `reqwest`: wire names, errors, auth,
//! paging with failover, power transitions, jobs, connector outages and faults.

use deskbridge::cvad::wire::{Collection, SessionResponse};
use deskbridge::lab::{Lab, LabOptions, Scale, SiteCredentials, SiteInfo};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;

/// A logged-in caller of one site.
struct Caller {
    http: Client,
    site: SiteInfo,
    token: String,
    control: String,
}

impl Caller {
    async fn login(lab: &Lab, name: &str) -> Caller {
        let site = lab.info().site(name).expect("site exists").clone();
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let token = token(&http, &site).await;
        Caller {
            http,
            site,
            token,
            control: lab.info().control.clone(),
        }
    }

    fn request(&self, endpoint: usize, method: Method, path: &str) -> RequestBuilder {
        let url = format!("{}/cvad/manage{path}", self.site.endpoints[endpoint]);
        self.http
            .request(method, url)
            .header("Authorization", format!("CWSAuth bearer={}", self.token))
            .header("Citrix-CustomerId", &self.site.customer_id)
            .header("Citrix-InstanceId", &self.site.site_id)
    }

    async fn get(&self, path: &str) -> Value {
        let response = self
            .request(0, Method::GET, path)
            .send()
            .await
            .expect("send");
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.expect("json")
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(0, Method::POST, path)
            .json(&body)
            .send()
            .await
            .expect("send")
    }

    async fn search_machines(&self, filters: Value) -> Vec<Value> {
        let body = json!({ "SearchFilters": filters });
        let response = self.post("/Machines/$search?limit=1000", body).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.expect("json");
        page["Items"].as_array().cloned().unwrap_or_default()
    }

    async fn lab_post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.control))
            .json(&body)
            .send()
            .await
            .expect("send");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("json")
    }

    async fn advance(&self, secs: f64) {
        self.lab_post("/clock", json!({ "advance_secs": secs }))
            .await;
    }

    async fn freeze(&self) {
        self.lab_post("/clock", json!({ "speed": 0.0 })).await;
    }
}

async fn token(http: &Client, site: &SiteInfo) -> String {
    match &site.credentials {
        SiteCredentials::Basic { username, password } => {
            let response = http
                .post(&site.token_url)
                .basic_auth(username, Some(password))
                .send()
                .await
                .expect("token");
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.expect("json");
            body["Token"].as_str().expect("Token").to_string()
        }
        SiteCredentials::Client {
            client_id,
            client_secret,
        } => {
            let response = http
                .post(&site.token_url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", client_secret),
                ])
                .send()
                .await
                .expect("token");
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.expect("json");
            assert_eq!(body["expires_in"], "3600");
            body["access_token"]
                .as_str()
                .expect("access_token")
                .to_string()
        }
    }
}

async fn start() -> Lab {
    Lab::start(LabOptions::default()).await.expect("lab starts")
}

#[tokio::test]
async fn sites_zones_and_raw_field_names() {
    let lab = start().await;
    let sites = &lab.info().sites;
    assert_eq!(sites.len(), 2);
    for site in sites {
        let endpoints: usize = site.zones.iter().map(|z| z.endpoints.len()).sum();
        assert_eq!(endpoints, site.endpoints.len());
        assert!(site.zones.iter().all(|z| z.endpoints.len() == 2));
    }
    let cloud = Caller::login(&lab, "Cloud").await;
    let zones = cloud.get("/Zones").await;
    let names: Vec<&str> = zones["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .filter_map(|z| z["Name"].as_str())
        .collect();
    assert_eq!(names, ["Frankfurt", "Virginia", "Singapore"]);
    assert_eq!(zones["Items"][0]["IsHealthy"], true);

    let london = Caller::login(&lab, "London").await;
    let me = london.get("/me").await;
    assert_eq!(me["Customers"][0]["Id"], "CitrixOnPremises");
    assert_eq!(
        me["Customers"][0]["Sites"][0]["Id"],
        london.site.site_id.as_str()
    );
    let machines = london.get("/Machines?limit=5").await;
    let items = machines["Items"].as_array().expect("Items");
    assert_eq!(items.len(), 5);
    assert!(machines["ContinuationToken"].is_string());
    for key in [
        "PowerState",
        "SummaryState",
        "RegistrationState",
        "FaultState",
        "Name",
        "Id",
    ] {
        assert!(items[0].get(key).is_some(), "machine has {key}");
    }
    assert!(
        items[0]["Name"]
            .as_str()
            .expect("name")
            .starts_with("LAB\\")
    );
    let groups = london.get("/DeliveryGroups").await;
    let group = &groups["Items"][0];
    for key in [
        "TotalDesktops",
        "DesktopsAvailable",
        "DesktopsInUse",
        "SessionCount",
    ] {
        assert!(group.get(key).is_some(), "group has {key}");
    }
    let sessions = london.get("/Sessions?limit=3").await;
    let session = &sessions["Items"][0];
    assert!(session["User"]["SamName"].is_string());
    assert!(session["Machine"]["Name"].is_string());
    for path in [
        "/MachineCatalogs",
        "/Applications",
        "/ApplicationGroups",
        "/Sites",
    ] {
        let page = london.get(path).await;
        assert!(
            !page["Items"].as_array().expect("Items").is_empty(),
            "{path}"
        );
    }
    // The transaction id is echoed, or made up when absent.
    let response = london
        .request(0, Method::GET, "/Zones")
        .header("Citrix-TransactionId", "abc-123")
        .send()
        .await
        .expect("send");
    assert_eq!(response.headers()["citrix-transactionid"], "abc-123");
    let response = london
        .request(1, Method::GET, "/Zones")
        .send()
        .await
        .expect("send");
    assert_eq!(response.headers()["citrix-transactionid"].len(), 36);
    lab.shutdown().await;
}

#[tokio::test]
async fn authentication_errors_and_token_expiry() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let url = format!("{}/cvad/manage/Machines", london.site.endpoints[0]);
    let response = london.http.get(&url).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/authentication"
    );
    assert_eq!(body["detail"], "Missing or invalid authentication details");
    assert_eq!(
        body["parameters"][0],
        json!({ "name": "reason", "value": "missing" })
    );

    for auth in ["CWSAuth bearer=nope", &format!("Bearer {}", london.token)] {
        let response = london
            .http
            .get(&url)
            .header("Authorization", auth)
            .header("Citrix-CustomerId", "CitrixOnPremises")
            .header("Citrix-InstanceId", &london.site.site_id)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{auth}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["parameters"][0]["value"], "invalid");
    }
    // Scheme and key are case-insensitive.
    let response = london
        .http
        .get(&url)
        .header("Authorization", format!("cwsauth Bearer={}", london.token))
        .header("Citrix-CustomerId", "CitrixOnPremises")
        .header("Citrix-InstanceId", &london.site.site_id)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    // A wrong instance id is refused.
    let response = london
        .http
        .get(&url)
        .header("Authorization", format!("CWSAuth bearer={}", london.token))
        .header("Citrix-CustomerId", "CitrixOnPremises")
        .header("Citrix-InstanceId", "not-this-site")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Wrong Basic password.
    let response = london
        .http
        .post(&london.site.token_url)
        .basic_auth("LAB\\svc-deskbridge", Some("wrong"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Wrong cloud secret: OAuth error JSON.
    let cloud = lab.info().site("Cloud").expect("cloud");
    let SiteCredentials::Client { client_id, .. } = &cloud.credentials else {
        panic!("cloud site uses client credentials");
    };
    let response = london
        .http
        .post(&cloud.token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "invalid_client");

    // Tokens expire after an hour of simulated time.
    london.advance(3601.0).await;
    let response = london
        .request(0, Method::GET, "/Zones")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Revocation through the control API.
    let fresh = Caller::login(&lab, "London").await;
    assert_eq!(
        fresh
            .request(1, Method::GET, "/Zones")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );
    let answer = fresh
        .lab_post(
            "/sites/London/auth",
            json!({ "revoke_all": true, "token_ttl_secs": 60 }),
        )
        .await;
    assert_eq!(answer["token_ttl_secs"], 60);
    assert_eq!(
        fresh
            .request(1, Method::GET, "/Zones")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::UNAUTHORIZED
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_lower_case_errors() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    let response = london
        .request(0, Method::GET, "/Machines/LAB|NOPE-001")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["type"], "https://errors-api.cloud.com/common/notFound");
    assert_eq!(
        body["parameters"][0],
        json!({ "name": "entityType", "value": "Machine" })
    );
    assert_eq!(
        body["parameters"][1],
        json!({ "name": "id", "value": "LAB|NOPE-001" })
    );

    let response = london
        .request(0, Method::GET, "/Sessions?limit=1001")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/outOfRange"
    );

    let response = london
        .request(0, Method::POST, "/Sessions/$search")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/invalidJson"
    );

    let filters = json!({ "SearchFilters": [{ "Property": "PowerState", "Value": "Sideways", "Operator": "Equals" }] });
    let response = london.post("/Machines/$search", filters).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/invalidEnum"
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn search_filters_and_total_items() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    let page = london.get("/Sessions?limit=1").await;
    let user = page["Items"][0]["User"]["SamName"]
        .as_str()
        .expect("user")
        .to_string();
    let body = json!({ "SearchFilters": [{ "Property": "UserName", "Value": user, "Operator": "Equals" }] });
    let found: Value = london
        .post("/Sessions/$search", body)
        .await
        .json()
        .await
        .expect("json");
    let total = found["TotalItems"].as_u64().expect("TotalItems");
    assert!(total >= 1);
    assert!(
        found["Items"]
            .as_array()
            .expect("Items")
            .iter()
            .all(|s| s["User"]["SamName"] == user.as_str())
    );

    let on = london
        .search_machines(
            json!([{ "Property": "PowerState", "Value": "On", "Operator": "Equals" },
        { "Property": "ZoneName", "Value": "Manchester", "Operator": "Equals" }]),
        )
        .await;
    assert!(!on.is_empty());
    assert!(
        on.iter()
            .all(|m| m["PowerState"] == "On" && m["Zone"]["Name"] == "Manchester")
    );
    let disc = json!({ "SearchFilters": [{ "Property": "SessionState", "Value": "Disconnected,Active", "Operator": "In" }] });
    let found: Value = london
        .post("/Sessions/$search?limit=1000", disc)
        .await
        .json()
        .await
        .expect("json");
    assert!(
        found["Items"]
            .as_array()
            .expect("Items")
            .iter()
            .all(|s| s["State"] == "Disconnected" || s["State"] == "Active")
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn paging_past_a_thousand_switching_endpoints() {
    let lab = Lab::start(LabOptions {
        scale: Scale::Large,
        ..LabOptions::default()
    })
    .await
    .expect("lab starts");
    let cloud = Caller::login(&lab, "Cloud").await;
    let mut token: Option<String> = None;
    let mut seen = HashSet::new();
    for page in 0..4 {
        // Each page through a different connector, as a client failing over would.
        let endpoint = page % cloud.site.endpoints.len();
        let mut request = cloud
            .request(endpoint, Method::GET, "/Sessions")
            .query(&[("limit", "1000")]);
        if let Some(t) = &token {
            request = request.query(&[("continuationToken", t.as_str())]);
        }
        let response = request.send().await.expect("send");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("json");
        let items = body["Items"].as_array().expect("Items");
        assert_eq!(items.len(), 1000);
        for item in items {
            assert!(
                seen.insert(item["Id"].as_str().expect("Id").to_string()),
                "no repeats"
            );
        }
        token = body["ContinuationToken"].as_str().map(str::to_string);
        assert!(token.is_some());
    }
    assert_eq!(seen.len(), 4000);
    let status: Value = cloud
        .http
        .get(format!("{}/sites/Cloud", cloud.control))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let london: Value = cloud
        .http
        .get(format!("{}/sites/London", cloud.control))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let total = status["counts"]["sessions"].as_u64().unwrap_or(0)
        + london["counts"]["sessions"].as_u64().unwrap_or(0);
    assert_eq!(total, 100_000);
    lab.shutdown().await;
}

/// A powered-off, healthy, power-managed machine of a site.
async fn off_machine(caller: &Caller) -> Value {
    let off = caller
        .search_machines(json!([
            { "Property": "PowerState", "Value": "Off", "Operator": "Equals" },
            { "Property": "MachineName", "Value": "VDI-", "Operator": "Contains" }
        ]))
        .await;
    off.into_iter()
        .find(|m| m["FaultState"] == "None")
        .expect("an idle pooled machine is off")
}

async fn job(caller: &Caller, location: &str) -> Value {
    let response = caller
        .http
        .get(location)
        .header("Authorization", format!("CWSAuth bearer={}", caller.token))
        .header("Citrix-CustomerId", &caller.site.customer_id)
        .header("Citrix-InstanceId", &caller.site.site_id)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

#[tokio::test]
async fn async_start_job_goes_through_turning_on_to_registered() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let machine = off_machine(&london).await;
    let path = format!(
        "/Machines/{}",
        machine["Name"].as_str().expect("name").replace('\\', "|")
    );
    let response = london
        .request(1, Method::POST, &format!("{path}/$start?async=true"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(location.starts_with(&format!("{}/cvad/manage/Jobs/", london.site.endpoints[1])));
    assert!(response.text().await.expect("body").is_empty());

    let first = job(&london, &location).await;
    assert_eq!(first["Type"], "StartMachines");
    assert_eq!(first["Status"], "NotStarted");
    assert!(
        first["Parameters"]
            .as_array()
            .expect("Parameters")
            .iter()
            .any(|p| p["Name"] == "Name")
    );
    london.advance(1.0).await;
    let running = job(&london, &location).await;
    assert_eq!(running["Status"], "InProgress");
    assert_eq!(london.get(&path).await["PowerState"], "TurningOn");
    london.advance(2.0).await;
    let later = job(&london, &location).await;
    assert!(later["OverallProgressPercent"].as_u64() > running["OverallProgressPercent"].as_u64());
    london.advance(2.0).await;
    let m = london.get(&path).await;
    assert_eq!(m["PowerState"], "On");
    assert_eq!(m["RegistrationState"], "Initializing");
    london.advance(3.0).await;
    let m = london.get(&path).await;
    assert_eq!(m["RegistrationState"], "Registered");
    assert_eq!(m["SummaryState"], "Available");
    let done = job(&london, &location).await;
    assert_eq!(done["Status"], "Complete");
    assert_eq!(done["OverallProgressPercent"], 100);
    // Results redirect to the machine.
    let response = london
        .request(
            0,
            Method::GET,
            &format!("/Jobs/{}/Results", done["Id"].as_str().expect("id")),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to = response.headers()["location"].to_str().expect("location");
    assert!(to.ends_with(&format!(
        "/cvad/manage/Machines/{}",
        machine["Id"].as_str().expect("id")
    )));
    // Jobs are listed for their owner.
    let jobs = london.get("/Jobs").await;
    assert_eq!(jobs["Items"].as_array().expect("Items").len(), 1);
    lab.shutdown().await;
}

#[tokio::test]
async fn shutdown_reboot_and_refused_transitions() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    // A single-session machine with a session: a graceful shutdown logs the session off first.
    let sessions = london.get("/Sessions?limit=1000").await;
    let session = sessions["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .find(|s| {
            s["Machine"]["Name"]
                .as_str()
                .is_some_and(|n| n.contains("VDI-"))
                && s["LogonInProgress"] == false
        })
        .expect("a pooled session")
        .clone();
    let path = format!(
        "/Machines/{}",
        session["Machine"]["Id"].as_str().expect("id")
    );
    let m = london.get(&path).await;
    assert_eq!(m["PowerState"], "On");
    let response = london
        .request(0, Method::POST, &format!("{path}/$shutdown"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let m: Value = response.json().await.expect("json");
    assert_eq!(m["PowerState"], "TurningOff");
    assert_eq!(m["LastDeregistrationReason"], "AgentShutdown");
    let s = london
        .get(&format!(
            "/Sessions/{}",
            session["Id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(s["LogoffInProgress"], true);
    london.advance(4.0).await;
    let m = london.get(&path).await;
    assert_eq!(m["PowerState"], "Off");
    assert_eq!(m["SummaryState"], "Off");
    assert_eq!(m["SessionCount"], 0);
    // Nonsense transitions are refused.
    let response = london
        .request(0, Method::POST, &format!("{path}/$resume"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["type"]
            .as_str()
            .expect("type")
            .starts_with("https://errors-api.cloud.com/common/")
    );
    // Start, then a forced reboot deregisters with DesktopRestart and comes back.
    london
        .request(0, Method::POST, &format!("{path}/$start"))
        .send()
        .await
        .expect("send");
    london.advance(7.0).await;
    assert_eq!(london.get(&path).await["RegistrationState"], "Registered");
    let response = london
        .request(0, Method::POST, &format!("{path}/$reboot?force=true"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let m = london.get(&path).await;
    assert_eq!(m["PowerState"], "TurningOff");
    assert_eq!(m["RegistrationState"], "Unregistered");
    assert_eq!(m["LastDeregistrationReason"], "DesktopRestart");
    london.advance(4.0).await;
    assert_eq!(london.get(&path).await["PowerState"], "TurningOn");
    london.advance(7.0).await;
    assert_eq!(london.get(&path).await["RegistrationState"], "Registered");
    // Suspend and resume.
    london
        .request(0, Method::POST, &format!("{path}/$suspend"))
        .send()
        .await
        .expect("send");
    assert_eq!(london.get(&path).await["PowerState"], "Suspending");
    london.advance(4.0).await;
    assert_eq!(london.get(&path).await["PowerState"], "Suspended");
    london
        .request(0, Method::POST, &format!("{path}/$resume"))
        .send()
        .await
        .expect("send");
    assert_eq!(london.get(&path).await["PowerState"], "Resuming");
    london.advance(7.0).await;
    assert_eq!(london.get(&path).await["PowerState"], "On");
    // Unmanaged (Remote PC) machines support no power action.
    let remote = london
        .search_machines(
            json!([{ "Property": "MachineName", "Value": "WS-", "Operator": "Contains" }]),
        )
        .await;
    let remote = remote.first().expect("a remote PC");
    assert_eq!(remote["PowerState"], "Unmanaged");
    assert_eq!(remote["SupportedPowerActions"], json!([]));
    let response = london
        .request(
            0,
            Method::POST,
            &format!("/Machines/{}/$reboot", remote["Id"].as_str().expect("id")),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Each action counted once per target.
    let calls: Value = london
        .http
        .get(format!("{}/sites/London/calls", london.control))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let id = session["Machine"]["Id"].as_str().expect("id");
    for action in ["shutdown", "start", "reboot", "suspend", "resume"] {
        assert_eq!(calls["calls"][action][id], 1, "{action}");
    }
    lab.shutdown().await;
}

#[tokio::test]
async fn logoff_updates_sessions_and_derived_counters() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let sessions = london.get("/Sessions?limit=1000").await;
    let session = sessions["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .find(|s| {
            s["State"] == "Active"
                && s["Machine"]["Name"]
                    .as_str()
                    .is_some_and(|n| n.contains("VDI-"))
        })
        .expect("an active pooled session")
        .clone();
    let group_id = session["Machine"]["DeliveryGroup"]["Id"]
        .as_str()
        .expect("group")
        .to_string();
    let before = london.get(&format!("/DeliveryGroups/{group_id}")).await;
    let id = session["Id"].as_str().expect("id");
    let response = london
        .request(0, Method::POST, &format!("/Sessions/{id}/$logoff"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        london.get(&format!("/Sessions/{id}")).await["LogoffInProgress"],
        true
    );
    london.advance(2.0).await;
    let response = london
        .request(0, Method::GET, &format!("/Sessions/{id}"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let after = london.get(&format!("/DeliveryGroups/{group_id}")).await;
    let n = |v: &Value, k: &str| v[k].as_i64().expect(k);
    assert_eq!(n(&after, "DesktopsInUse"), n(&before, "DesktopsInUse") - 1);
    assert_eq!(n(&after, "SessionCount"), n(&before, "SessionCount") - 1);
    let available_delta = n(&after, "DesktopsAvailable") - n(&before, "DesktopsAvailable");
    // Available unless the freed machine is in maintenance mode.
    assert!((0..=1).contains(&available_delta));

    // Disconnect an active session, synchronously and as a job.
    let other = sessions["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .filter(|s| s["State"] == "Active" && s["Id"] != session["Id"])
        .take(2)
        .cloned()
        .collect::<Vec<_>>();
    let response = london
        .request(
            0,
            Method::POST,
            &format!(
                "/Sessions/{}/$disconnect",
                other[0]["Id"].as_str().expect("id")
            ),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let s: Value = response.json().await.expect("json");
    assert_eq!(s["State"], "Disconnected");
    let response = london
        .request(
            0,
            Method::POST,
            &format!(
                "/Sessions/{}/$disconnect?async=true",
                other[1]["Id"].as_str().expect("id")
            ),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    london.advance(1.0).await;
    let done = job(&london, &location).await;
    assert_eq!(done["Type"], "DisconnectSessions");
    assert_eq!(done["Status"], "Complete");
    lab.shutdown().await;
}

#[tokio::test]
async fn connector_outages_one_then_all_of_a_zone() {
    let lab = start().await;
    let cloud = Caller::login(&lab, "Cloud").await;
    cloud.freeze().await;
    let frankfurt = cloud
        .site
        .zones
        .iter()
        .find(|z| z.name == "Frankfurt")
        .expect("zone")
        .endpoints
        .clone();
    let virginia = cloud
        .site
        .zones
        .iter()
        .find(|z| z.name == "Virginia")
        .expect("zone")
        .endpoints[0];
    // One connector down: its port refuses connections, the other serves as before.
    cloud
        .lab_post(
            &format!("/sites/Cloud/connectors/{}/stop", frankfurt[0]),
            json!({}),
        )
        .await;
    let err = cloud
        .request(frankfurt[0], Method::GET, "/Zones")
        .send()
        .await
        .expect_err("port closed");
    assert!(err.is_connect(), "{err}");
    let response = cloud
        .request(frankfurt[1], Method::GET, "/Zones")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let zones: Value = response.json().await.expect("json");
    assert_eq!(zones["Items"][0]["IsHealthy"], true);

    // All connectors of Frankfurt down: the zone is unhealthy, reads still work elsewhere.
    cloud
        .lab_post(
            &format!("/sites/Cloud/connectors/{}/stop", frankfurt[1]),
            json!({}),
        )
        .await;
    let zones: Value = cloud
        .request(virginia, Method::GET, "/Zones")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(zones["Items"][0]["Name"], "Frankfurt");
    assert_eq!(zones["Items"][0]["IsHealthy"], false);
    let search = json!({ "SearchFilters": [{ "Property": "ZoneName", "Value": "Frankfurt", "Operator": "Equals" }] });
    let found: Value = cloud
        .request(virginia, Method::POST, "/Sessions/$search")
        .json(&search)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let ids: Vec<String> = found["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .filter_map(|s| s["Id"].as_str().map(str::to_string))
        .collect();
    assert!(ids.len() >= 2);
    let response = cloud
        .request(
            virginia,
            Method::POST,
            &format!("/Sessions/{}/$logoff", ids[0]),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["detail"],
        "Hcl request is not allowed when connector is in outage mode"
    );
    let response = cloud
        .request(
            virginia,
            Method::POST,
            &format!("/Sessions/{}/$logoff?async=true", ids[1]),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    cloud.advance(1.0).await;
    let failed = job(&cloud, &location).await;
    assert_eq!(failed["Status"], "Failed");
    assert_eq!(
        failed["ErrorString"],
        "No Citrix Workspace Cloud Connector was found"
    );
    // Nothing was acted on.
    let calls: Value = cloud
        .http
        .get(format!("{}/sites/Cloud/calls", cloud.control))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(calls["total"], 0);

    // Back up on the same port.
    let status = cloud
        .lab_post(
            &format!("/sites/Cloud/connectors/{}/start", frankfurt[0]),
            json!({}),
        )
        .await;
    assert_eq!(status["zones"][0]["healthy"], true);
    let response = cloud
        .request(frankfurt[0], Method::GET, "/Zones")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let response = cloud
        .request(
            frankfurt[0],
            Method::POST,
            &format!("/Sessions/{}/$logoff", ids[0]),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Unknown sites and connectors are 404 on the control API.
    let response = cloud
        .http
        .post(format!("{}/sites/Cloud/connectors/99/stop", cloud.control))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = cloud
        .http
        .get(format!("{}/sites/Nowhere", cloud.control))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    lab.shutdown().await;
}

#[tokio::test]
async fn throttling_and_injected_errors() {
    let lab = start().await;
    let cloud = Caller::login(&lab, "Cloud").await;
    cloud
        .lab_post(
            "/sites/Cloud/faults",
            json!({ "throttle_next": 1, "retry_after_secs": 4 }),
        )
        .await;
    let response = cloud
        .request(2, Method::GET, "/Machines")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "4");
    assert!(response.headers().contains_key("citrix-transactionid"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/rateLimitExceeded"
    );
    assert_eq!(
        body["parameters"][0],
        json!({ "name": "retryDelay", "value": "4" })
    );
    assert_eq!(
        cloud
            .request(2, Method::GET, "/Machines")
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK
    );

    cloud
        .lab_post(
            "/sites/Cloud/faults",
            json!({ "error_rate": 1.0, "error_status": 502 }),
        )
        .await;
    let response = cloud
        .request(0, Method::GET, "/Machines")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["type"],
        "https://errors-api.cloud.com/common/serviceUnavailable"
    );
    let response = cloud
        .http
        .delete(format!("{}/sites/Cloud/faults", cloud.control))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    cloud
        .lab_post("/sites/Cloud/faults", json!({ "short_page": 7 }))
        .await;
    let page = cloud.get("/Machines?limit=100").await;
    assert_eq!(page["Items"].as_array().expect("Items").len(), 7);
    let response = cloud
        .http
        .post(format!("{}/sites/Cloud/faults", cloud.control))
        .json(&json!({ "error_rate": 3 }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("error_rate")
    );
    lab.shutdown().await;
}

#[tokio::test]
async fn mcs_provisioning_job_progress_and_cancel() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let catalogs = london.get("/MachineCatalogs").await;
    let catalog = catalogs["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .find(|c| c["Name"] == "LDN Win11 Pooled")
        .expect("catalog")
        .clone();
    let scheme = catalog["ProvisioningScheme"]["NamingScheme"]
        .as_str()
        .expect("scheme")
        .to_string();
    let before = catalog["TotalCount"].as_u64().expect("count");
    let body = json!({
        "MachineAccountCreationRules": { "NamingScheme": scheme, "NamingSchemeType": "Numeric", "Domain": "lab.example" }
    });
    let path = format!(
        "/MachineCatalogs/{}/Machines?async=true",
        catalog["Id"].as_str().expect("id")
    );
    let response = london.post(&path, body.clone()).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    london.advance(1.0).await;
    let job1 = job(&london, &location).await;
    assert_eq!(job1["Type"], "AddMachineCatalogMachine");
    assert_eq!(job1["Status"], "InProgress");
    assert_eq!(job1["IsCancellable"], true);
    assert_eq!(job1["SubJobs"].as_array().expect("SubJobs").len(), 3);
    assert_eq!(job1["SubJobs"][0]["Status"], "InProgress");
    london.advance(10.0).await;
    let job2 = job(&london, &location).await;
    assert_eq!(job2["SubJobs"][0]["Status"], "Complete");
    assert_eq!(job2["SubJobs"][1]["Status"], "InProgress");
    assert!(job2["OverallProgressPercent"].as_u64() > job1["OverallProgressPercent"].as_u64());
    london.advance(21.0).await;
    let done = job(&london, &location).await;
    assert_eq!(done["Status"], "Complete");
    let machine_url = done["ResultLocation"].as_str().expect("result");
    let machine = job(&london, machine_url).await;
    assert_eq!(machine["PowerState"], "Off");
    assert_eq!(machine["MachineCatalog"]["Id"], catalog["Id"]);
    let expected_prefix = scheme.trim_end_matches('#');
    assert!(
        machine["Name"]
            .as_str()
            .expect("name")
            .starts_with(&format!("LAB\\{expected_prefix}"))
    );
    let after = london
        .get(&format!(
            "/MachineCatalogs/{}",
            catalog["Id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(after["TotalCount"].as_u64(), Some(before + 1));

    // A second job cancelled while running creates nothing.
    let response = london.post(&path, body).await;
    let location = response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    london.advance(5.0).await;
    let id = location.rsplit('/').next().expect("id").to_string();
    let response = london
        .request(0, Method::POST, &format!("/Jobs/{id}/$cancel"))
        .send()
        .await
        .expect("send");
    assert!(response.status().is_success());
    london.advance(60.0).await;
    let cancelled = job(&london, &location).await;
    assert_eq!(cancelled["Status"], "Canceled");
    assert_eq!(cancelled["IsCancellable"], false);
    let after = london
        .get(&format!(
            "/MachineCatalogs/{}",
            catalog["Id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(after["TotalCount"].as_u64(), Some(before + 1));
    // Cancelling again is refused; other callers' jobs do not exist.
    let response = london
        .request(0, Method::POST, &format!("/Jobs/{id}/$cancel"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    lab.shutdown().await;
}

#[tokio::test]
async fn delivery_group_machines_and_maintenance() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    london.freeze().await;
    let groups = london.get("/DeliveryGroups").await;
    let group = groups["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .find(|g| g["Name"] == "London Pooled Desktops")
        .expect("group")
        .clone();
    let gid = group["Id"].as_str().expect("id");
    let body = json!({ "MachineCatalog": "LDN Win11 Pooled", "Count": 2 });
    let response = london
        .post(&format!("/DeliveryGroups/{gid}/Machines"), body)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = london.get(&format!("/DeliveryGroups/{gid}")).await;
    assert_eq!(
        after["TotalDesktops"].as_u64(),
        group["TotalDesktops"].as_u64().map(|n| n + 2)
    );
    // Too many is refused and changes nothing.
    let response = london
        .post(
            &format!("/DeliveryGroups/{gid}/Machines"),
            json!({ "MachineCatalog": "LDN Win11 Pooled", "Count": 500 }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Remove an idle machine again.
    let machines = london
        .get(&format!("/DeliveryGroups/{gid}/Machines?limit=1000"))
        .await;
    let idle = machines["Items"]
        .as_array()
        .expect("Items")
        .iter()
        .find(|m| m["SessionCount"] == 0)
        .expect("idle")
        .clone();
    let response = london
        .request(
            0,
            Method::DELETE,
            &format!(
                "/DeliveryGroups/{gid}/Machines/{}",
                idle["Name"].as_str().expect("name").replace('\\', "|")
            ),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Maintenance mode through PATCH, also as a job.
    let mpath = format!("/Machines/{}", idle["Id"].as_str().expect("id"));
    let response = london
        .request(0, Method::PATCH, &mpath)
        .json(&json!({ "InMaintenanceMode": true }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(london.get(&mpath).await["InMaintenanceMode"], true);
    let response = london
        .request(0, Method::PATCH, &format!("{mpath}?async=true"))
        .json(&json!({ "InMaintenanceMode": false }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    london.advance(1.0).await;
    assert_eq!(london.get(&mpath).await["InMaintenanceMode"], false);
    let response = london
        .request(0, Method::PATCH, &mpath)
        .json(&json!({ "InMaintenanceMode": "yes" }))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    lab.shutdown().await;
}

/// Lists all 100,000 sessions of the large lab, 1,000 at a time over HTTP, alternating
/// endpoints. Timed in release builds only: `cargo test --release --test lab_cvad -- --ignored`.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "performance check; run in release mode"]
async fn listing_100k_sessions_is_fast() {
    let lab = Lab::start(LabOptions {
        scale: Scale::Large,
        ..LabOptions::default()
    })
    .await
    .expect("lab starts");
    let callers = [
        Caller::login(&lab, "London").await,
        Caller::login(&lab, "Cloud").await,
    ];
    let started = std::time::Instant::now();
    let mut total = 0;
    for caller in &callers {
        let mut token: Option<String> = None;
        let mut page = 0;
        loop {
            let endpoint = page % caller.site.endpoints.len();
            let mut request = caller
                .request(endpoint, Method::GET, "/Sessions")
                .query(&[("limit", "1000")]);
            if let Some(t) = &token {
                request = request.query(&[("continuationToken", t.as_str())]);
            }
            // Decoded into the wire models, as a client would; `Value` trees cost more than
            // the server does.
            let body: Collection<SessionResponse> = request
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            total += body.items.len();
            token = body.continuation_token;
            page += 1;
            if token.is_none() {
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(total, 100_000);
    eprintln!("listed {total} sessions in {elapsed:?}");
    assert!(
        elapsed < std::time::Duration::from_secs(2),
        "took {elapsed:?}"
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn live_mode_keeps_sessions_moving() {
    let lab = Lab::start(LabOptions {
        live: true,
        ..LabOptions::default()
    })
    .await
    .expect("lab starts");
    let london = Caller::login(&lab, "London").await;
    let snapshot = |page: Value| -> HashSet<String> {
        page["Items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|s| format!("{}:{}:{}", s["Id"], s["State"], s["LogoffInProgress"]))
                    .collect()
            })
            .unwrap_or_default()
    };
    let before = snapshot(london.get("/Sessions?limit=1000").await);
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    let after = snapshot(london.get("/Sessions?limit=1000").await);
    assert_ne!(before, after, "live mode changed something in 4.5 s");
    lab.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_get_json_errors() {
    let lab = start().await;
    let london = Caller::login(&lab, "London").await;
    let response = london
        .request(0, Method::GET, "/NoSuchThing")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["type"], "https://errors-api.cloud.com/common/notFound");
    let response = london
        .request(0, Method::POST, "/Machines/LAB|NOPE/$explode")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    lab.shutdown().await;
}
