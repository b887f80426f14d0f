//! What every test module shares: a logged-in [`Caller`] of one site with raw `reqwest`
//! helpers, the lab's control API, and small finders.

use deskbridge::lab::{Lab, LabOptions, SiteCredentials, SiteInfo};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

/// A logged-in caller of one site.
pub struct Caller {
    pub http: Client,
    pub site: SiteInfo,
    pub token: String,
    pub control: String,
}

impl Caller {
    pub async fn login(lab: &Lab, name: &str) -> Caller {
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

    pub fn request(&self, endpoint: usize, method: Method, path: &str) -> RequestBuilder {
        let url = format!("{}/cvad/manage{path}", self.site.endpoints[endpoint]);
        self.http
            .request(method, url)
            .header("Authorization", format!("CWSAuth bearer={}", self.token))
            .header("Citrix-CustomerId", &self.site.customer_id)
            .header("Citrix-InstanceId", &self.site.site_id)
    }

    /// Sends a bodiless request through connector `endpoint`.
    pub async fn send(&self, endpoint: usize, method: Method, path: &str) -> reqwest::Response {
        self.request(endpoint, method, path)
            .send()
            .await
            .expect("send")
    }

    pub async fn get(&self, path: &str) -> Value {
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

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(0, Method::POST, path)
            .json(&body)
            .send()
            .await
            .expect("send")
    }

    pub async fn search_machines(&self, filters: Value) -> Vec<Value> {
        let body = json!({ "SearchFilters": filters });
        let response = self.post("/Machines/$search?limit=1000", body).await;
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.expect("json");
        page["Items"].as_array().cloned().unwrap_or_default()
    }

    /// `GET {control}{path}` as JSON.
    pub async fn lab_get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.control))
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

    pub async fn lab_post(&self, path: &str, body: Value) -> Value {
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

    pub async fn advance(&self, secs: f64) {
        self.lab_post("/clock", json!({ "advance_secs": secs }))
            .await;
    }

    pub async fn freeze(&self) {
        self.lab_post("/clock", json!({ "speed": 0.0 })).await;
    }
}

pub async fn token(http: &Client, site: &SiteInfo) -> String {
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

pub async fn start() -> Lab {
    Lab::start(LabOptions::default()).await.expect("lab starts")
}

/// A powered-off, healthy, power-managed machine of a site.
pub async fn off_machine(caller: &Caller) -> Value {
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

pub async fn job(caller: &Caller, location: &str) -> Value {
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

/// `Basic base64(user:password)` for `X-AdminCredential`.
pub fn admin_credential() -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode("LAB\\svc-mcs:Passw0rd!");
    format!("Basic {encoded}")
}

/// Asserts a CVAD error answer: status and `type` under `https://errors-api.cloud.com/`.
pub async fn expect_error(response: reqwest::Response, status: StatusCode, kind: &str) -> Value {
    assert_eq!(response.status(), status);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("content type")
            .starts_with("application/json")
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["type"], format!("https://errors-api.cloud.com/{kind}"));
    body
}

/// The `Location` of a 202 or 303 answer.
pub fn location_of(response: &reqwest::Response) -> String {
    response.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}
