//! The simulated ServiceNow instance over real HTTP, with a raw reqwest client: wire format,
//! paging, errors, auth, business rules, the catalog and faults.

use deskbridge::lab::{Lab, LabOptions};
use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::HashSet;

struct Sn {
    lab: Lab,
    http: Client,
    url: String,
    user: String,
    password: String,
    client_id: String,
    client_secret: String,
    control: String,
}

async fn start() -> Sn {
    let lab = Lab::start(LabOptions::default()).await.expect("lab starts");
    let info = lab.info().servicenow[0].clone();
    let control = lab.info().control.clone();
    Sn {
        http: Client::new(),
        url: info.url,
        user: info.username,
        password: info.password,
        client_id: info.client_id,
        client_secret: info.client_secret,
        control,
        lab,
    }
}

impl Sn {
    fn auth(&self, rb: RequestBuilder) -> RequestBuilder {
        rb.basic_auth(&self.user, Some(&self.password))
    }

    fn get(&self, path: &str) -> RequestBuilder {
        self.auth(self.http.get(format!("{}{path}", self.url)))
    }

    fn patch(&self, path: &str, body: Value) -> RequestBuilder {
        self.auth(self.http.patch(format!("{}{path}", self.url)))
            .json(&body)
    }

    fn post(&self, path: &str, body: Value) -> RequestBuilder {
        self.auth(self.http.post(format!("{}{path}", self.url)))
            .json(&body)
    }

    async fn list(&self, table: &str, params: &[(&str, &str)]) -> Vec<Value> {
        let r = self
            .get(&format!("/api/now/table/{table}"))
            .query(params)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::OK, "list {table} {params:?}");
        result(r).await.as_array().cloned().unwrap_or_default()
    }

    async fn record(&self, table: &str, sys_id: &str) -> Value {
        let r = self
            .get(&format!(
                "/api/now/table/{table}/{sys_id}?sysparm_exclude_reference_link=true"
            ))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::OK);
        result(r).await
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Response {
        let mut rb = self
            .http
            .request(method, format!("{}/servicenow/lab{path}", self.control));
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        rb.send().await.expect("control request")
    }

    async fn faults(&self, body: Value) {
        let r = self
            .control(reqwest::Method::POST, "/faults", Some(body))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    /// An active incident in state New with no close fields.
    async fn new_incident(&self) -> Value {
        let rows = self
            .list(
                "incident",
                &[
                    ("sysparm_query", "state=1^active=true"),
                    ("sysparm_limit", "1"),
                    ("sysparm_exclude_reference_link", "true"),
                ],
            )
            .await;
        rows.into_iter().next().expect("a New incident is seeded")
    }

    async fn item_id(&self, name: &str) -> String {
        let rows = self
            .list("sc_cat_item", &[("sysparm_query", &format!("name={name}"))])
            .await;
        str_of(&rows[0]["sys_id"])
    }
}

async fn result(r: Response) -> Value {
    let body: Value = r.json().await.expect("json body");
    body["result"].clone()
}

fn str_of(v: &Value) -> String {
    v.as_str().expect("a string value").to_string()
}

fn is_sys_id(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `rel` → URL map of a Link header.
fn links(r: &Response) -> Vec<(String, String)> {
    header(r, "link")
        .unwrap_or("")
        .split(',')
        .filter_map(|part| {
            let (url, rel) = part.split_once(";rel=")?;
            Some((
                rel.trim_matches('"').to_string(),
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string(),
            ))
        })
        .collect()
}

async fn error_of(r: Response) -> (StatusCode, Value) {
    let status = r.status();
    let body: Value = r.json().await.expect("json error body");
    assert_eq!(body["status"], "failure", "{body}");
    (status, body["error"].clone())
}

#[tokio::test]
async fn values_are_strings_and_references_carry_links() {
    let sn = start().await;
    let rows = sn.list("incident", &[("sysparm_limit", "20")]).await;
    assert_eq!(rows.len(), 20);
    for row in &rows {
        for (field, value) in row.as_object().expect("object") {
            match value {
                Value::String(_) => {}
                Value::Object(obj) => {
                    assert!(
                        obj["link"]
                            .as_str()
                            .is_some_and(|l| l.contains("/api/now/table/")),
                        "{field}"
                    );
                    assert!(is_sys_id(obj["value"].as_str().unwrap_or("")), "{field}");
                }
                other => panic!("{field} is not a string: {other}"),
            }
        }
        assert!(is_sys_id(row["sys_id"].as_str().unwrap_or("")));
        assert!(row["number"].as_str().unwrap_or("").starts_with("INC00"));
        assert_eq!(row["work_notes"], "");
    }
    let caller = &rows[0]["caller_id"];
    let link = caller["link"].as_str().expect("link");
    assert_eq!(
        link,
        format!(
            "{}/api/now/table/sys_user/{}",
            sn.url,
            caller["value"].as_str().unwrap_or("")
        )
    );

    let bare = sn
        .list(
            "incident",
            &[
                ("sysparm_limit", "1"),
                ("sysparm_exclude_reference_link", "true"),
            ],
        )
        .await;
    assert!(is_sys_id(
        bare[0]["caller_id"].as_str().expect("bare sys_id")
    ));
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn display_values_and_dot_walking() {
    let sn = start().await;
    let rows = sn
        .list(
            "incident",
            &[
                ("sysparm_display_value", "all"),
                ("sysparm_query", "state=1^ORDERBYnumber"),
                ("sysparm_limit", "1"),
            ],
        )
        .await;
    let row = &rows[0];
    assert_eq!(row["state"], json!({"display_value": "New", "value": "1"}));
    let caller = &row["caller_id"];
    let user = sn
        .record("sys_user", caller["value"].as_str().expect("value"))
        .await;
    assert_eq!(caller["display_value"], user["name"]);
    assert!(caller["link"].is_string());
    assert!(
        row["priority"]["display_value"]
            .as_str()
            .unwrap_or("")
            .contains(" - ")
    );

    let shown = sn
        .list(
            "incident",
            &[
                ("sysparm_display_value", "true"),
                ("sysparm_exclude_reference_link", "true"),
                ("sysparm_fields", "number,state,assignment_group"),
                ("sysparm_query", "state=1^ORDERBYnumber"),
                ("sysparm_limit", "1"),
            ],
        )
        .await;
    assert_eq!(shown[0]["state"], "New");
    assert!(
        [
            "Service Desk",
            "Citrix Operations",
            "Desktop Support L2",
            "Identity and Access"
        ]
        .contains(&shown[0]["assignment_group"].as_str().unwrap_or(""))
    );
    assert_eq!(shown[0].as_object().map(|o| o.len()), Some(3));

    let walked = sn
        .list(
            "incident",
            &[
                (
                    "sysparm_fields",
                    "number,caller_id.user_name,caller_id.location.city,nosuch",
                ),
                (
                    "sysparm_query",
                    &format!("caller_id={}", caller["value"].as_str().unwrap_or("")),
                ),
            ],
        )
        .await;
    assert!(!walked.is_empty());
    assert_eq!(walked[0]["caller_id.user_name"], user["user_name"]);
    assert!(walked[0]["caller_id.location.city"].is_string());
    assert!(walked[0].get("nosuch").is_none());

    // Query through a dot-walk too.
    let by_login = sn
        .list(
            "incident",
            &[(
                "sysparm_query",
                &format!("caller_id.user_name={}", str_of(&user["user_name"])),
            )],
        )
        .await;
    assert_eq!(by_login.len(), walked.len());
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn link_and_total_count_page_past_a_thousand_rows() {
    let sn = start().await;
    let mut created = HashSet::new();
    for chunk in (0..1_100).collect::<Vec<_>>().chunks(50) {
        let posts = chunk.iter().map(|n| {
            sn.post(
                "/api/now/table/cmn_location",
                json!({"name": format!("Site {n:04}"), "city": "Leeds"}),
            )
            .header("X-no-response-body", "true")
            .send()
        });
        for r in futures::future::join_all(posts).await {
            let r = r.expect("post");
            assert_eq!(r.status(), StatusCode::CREATED);
            created.insert(header(&r, "location").unwrap_or("").to_string());
        }
    }
    assert_eq!(created.len(), 1_100);

    let mut url = format!(
        "{}/api/now/table/cmn_location?sysparm_query=nameSTARTSWITHSite%20^ORDERBYname&sysparm_fields=sys_id,name&sysparm_limit=300",
        sn.url
    );
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = sn.auth(sn.http.get(&url)).send().await.expect("page");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "x-total-count"), Some("1100"));
        let rels = links(&r);
        assert!(rels.iter().any(|(rel, _)| rel == "first"));
        assert!(
            rels.iter()
                .any(|(rel, u)| rel == "last" && u.contains("sysparm_offset=900"))
        );
        let next = rels
            .iter()
            .find(|(rel, _)| rel == "next")
            .map(|(_, u)| u.clone());
        if let Some(next) = &next {
            assert!(next.contains("sysparm_query=nameSTARTSWITHSite"), "{next}");
            assert!(next.contains("sysparm_fields=sys_id%2Cname"), "{next}");
        }
        for row in result(r).await.as_array().cloned().unwrap_or_default() {
            seen.push(str_of(&row["name"]));
        }
        pages += 1;
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen.len(), 1_100);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "ORDERBY holds across pages");

    // A single page has no Link header; sysparm_no_count drops the total.
    let r = sn
        .get("/api/now/table/cmn_location?sysparm_query=city=London&sysparm_no_count=true")
        .send()
        .await
        .expect("one page");
    assert!(header(&r, "link").is_none());
    assert!(header(&r, "x-total-count").is_none());
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn v1_empty_lists_are_404_and_v2_are_empty() {
    let sn = start().await;
    let q = "?sysparm_query=number=INC9999999";
    let r = sn
        .get(&format!("/api/now/v1/table/incident{q}"))
        .send()
        .await
        .expect("v1");
    let (status, error) = error_of(r).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error["message"], "No Record found");
    for path in ["/api/now/v2/table/incident", "/api/now/table/incident"] {
        let r = sn.get(&format!("{path}{q}")).send().await.expect("v2");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(result(r).await, json!([]));
    }
    let r = sn
        .get("/api/now/v1/table/incident?sysparm_limit=2")
        .send()
        .await
        .expect("v1 rows");
    assert_eq!(result(r).await.as_array().map(Vec::len), Some(2));
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn errors_use_the_servicenow_envelope() {
    let sn = start().await;
    let r = sn
        .get("/api/now/table/incident/0123456789abcdef0123456789abcdef")
        .send()
        .await
        .expect("404");
    let (status, error) = error_of(r).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        error,
        json!({"message": "No Record found", "detail": "Record doesn't exist or ACL restricts the record retrieval"})
    );

    let unauthenticated = [
        sn.http.get(format!("{}/api/now/table/incident", sn.url)),
        sn.http
            .get(format!("{}/api/now/table/incident", sn.url))
            .basic_auth(&sn.user, Some("wrong")),
        sn.http
            .get(format!("{}/api/now/table/incident", sn.url))
            .bearer_auth("not-a-token"),
    ];
    for rb in unauthenticated {
        let (status, error) = error_of(rb.send().await.expect("401")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            error,
            json!({"message": "User Not Authenticated", "detail": "Required to provide Auth information"})
        );
    }

    let (status, error) = error_of(
        sn.get("/api/now/table/no_such_table")
            .send()
            .await
            .expect("400"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["message"]
            .as_str()
            .unwrap_or("")
            .contains("no_such_table")
    );

    let r = sn
        .get("/api/now/table/incident")
        .header("Accept", "application/xml")
        .send()
        .await
        .expect("406");
    assert_eq!(error_of(r).await.0, StatusCode::NOT_ACCEPTABLE);

    let r = sn
        .auth(sn.http.post(format!("{}/api/now/table/incident", sn.url)))
        .body(r#"{"short_description":"x"}"#)
        .send()
        .await
        .expect("no content type");
    assert_eq!(error_of(r).await.0, StatusCode::BAD_REQUEST);
    let r = sn
        .auth(sn.http.post(format!("{}/api/now/table/incident", sn.url)))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("bad json");
    assert_eq!(error_of(r).await.0, StatusCode::BAD_REQUEST);
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn oauth_grants_and_token_expiry() {
    let sn = start().await;
    let token_url = format!("{}/oauth_token.do", sn.url);
    let form = |grant: &str| {
        vec![
            ("grant_type".to_string(), grant.to_string()),
            ("client_id".to_string(), sn.client_id.clone()),
            ("client_secret".to_string(), sn.client_secret.clone()),
        ]
    };
    let mut password = form("password");
    password.push(("username".into(), sn.user.clone()));
    password.push(("password".into(), sn.password.clone()));
    let r = sn
        .http
        .post(&token_url)
        .form(&password)
        .send()
        .await
        .expect("password grant");
    assert_eq!(r.status(), StatusCode::OK);
    let tokens: Value = r.json().await.expect("json");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 1799);
    let access = str_of(&tokens["access_token"]);
    let refresh = str_of(&tokens["refresh_token"]);

    let with_bearer = |token: &str| {
        sn.http
            .get(format!("{}/api/now/table/sys_user?sysparm_limit=1", sn.url))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(
        with_bearer(&access).await.expect("bearer").status(),
        StatusCode::OK
    );

    let mut refresh_form = form("refresh_token");
    refresh_form.push(("refresh_token".into(), refresh));
    let r = sn
        .http
        .post(&token_url)
        .form(&refresh_form)
        .send()
        .await
        .expect("refresh grant");
    assert_eq!(r.status(), StatusCode::OK);
    let refreshed: Value = r.json().await.expect("json");
    let access2 = str_of(&refreshed["access_token"]);
    assert_ne!(access2, access);
    assert_eq!(
        with_bearer(&access2).await.expect("bearer").status(),
        StatusCode::OK
    );

    let r = sn
        .http
        .post(&token_url)
        .form(&form("client_credentials"))
        .send()
        .await
        .expect("cc grant");
    assert_eq!(r.status(), StatusCode::OK);
    let cc: Value = r.json().await.expect("json");
    assert!(cc.get("refresh_token").is_none());
    let access3 = str_of(&cc["access_token"]);
    assert_eq!(
        with_bearer(&access3).await.expect("bearer").status(),
        StatusCode::OK
    );

    // JSON bodies are refused; bad client credentials are an OAuth error.
    let r = sn
        .http
        .post(&token_url)
        .json(&json!({"grant_type": "client_credentials", "client_id": sn.client_id, "client_secret": sn.client_secret}))
        .send()
        .await
        .expect("json body");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let mut bad = form("client_credentials");
    bad[2].1 = "wrong".into();
    let r = sn
        .http
        .post(&token_url)
        .form(&bad)
        .send()
        .await
        .expect("bad secret");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.expect("json");
    assert!(body["error"].is_string() && body["error_description"].is_string());

    // 1800 simulated seconds later the access tokens are dead.
    let r = sn
        .http
        .post(format!("{}/clock", sn.control))
        .json(&json!({"advance_secs": 1801}))
        .send()
        .await
        .expect("clock");
    assert_eq!(r.status(), StatusCode::OK);
    let (status, _) = error_of(with_bearer(&access2).await.expect("expired")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn patch_bumps_mod_count_and_writes_journal_rows() {
    let sn = start().await;
    let inc = sn.new_incident().await;
    let id = str_of(&inc["sys_id"]);
    let count: u64 = str_of(&inc["sys_mod_count"]).parse().expect("count");
    let r = sn
        .patch(
            &format!("/api/now/table/incident/{id}"),
            json!({"work_notes": "Job 42 started: reset session", "urgency": "1", "impact": "1"}),
        )
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), StatusCode::OK);
    let updated = result(r).await;
    assert_eq!(updated["sys_mod_count"], (count + 1).to_string());
    assert_eq!(updated["sys_updated_by"], sn.user);
    assert_eq!(updated["priority"], "1");
    assert_eq!(updated["work_notes"], "");
    assert_ne!(updated["sys_updated_on"], "");

    let journal = sn
        .list(
            "sys_journal_field",
            &[
                (
                    "sysparm_query",
                    &format!("name=incident^element_id={id}^elementINcomments,work_notes^ORDERBYDESCsys_created_on"),
                ),
                ("sysparm_fields", "element,value,sys_created_by,sys_created_on"),
            ],
        )
        .await;
    assert_eq!(journal[0]["value"], "Job 42 started: reset session");
    assert_eq!(journal[0]["element"], "work_notes");
    assert_eq!(journal[0]["sys_created_by"], sn.user);

    let calls: Value = sn
        .control(reqwest::Method::GET, "/calls", None)
        .await
        .json()
        .await
        .expect("calls");
    assert_eq!(calls["writes"]["incident"]["PATCH"], 1);
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn resolving_stamps_and_the_close_fields_rule() {
    let sn = start().await;
    let inc = sn.new_incident().await;
    let path = format!(
        "/api/now/table/incident/{}?sysparm_exclude_reference_link=true",
        str_of(&inc["sys_id"])
    );
    let r = sn
        .patch(&path, json!({"state": "6"}))
        .send()
        .await
        .expect("patch");
    let (status, error) = error_of(r).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(error["detail"].as_str().unwrap_or("").contains("mandatory"));

    let r = sn
        .patch(&path, json!({"state": "6", "close_code": "Solution provided", "close_notes": "Session reset"}))
        .send()
        .await
        .expect("resolve");
    assert_eq!(r.status(), StatusCode::OK);
    let resolved = result(r).await;
    assert_eq!(resolved["state"], "6");
    assert_eq!(resolved["incident_state"], "6");
    assert_eq!(resolved["active"], "true");
    assert_ne!(resolved["resolved_at"], "");
    assert!(is_sys_id(resolved["resolved_by"].as_str().unwrap_or("")));

    let closed = result(
        sn.patch(&path, json!({"state": "7"}))
            .send()
            .await
            .expect("close"),
    )
    .await;
    assert_eq!(closed["active"], "false");
    assert_ne!(closed["closed_at"], "");

    // With the rule off, a bare resolve goes through.
    let r = sn
        .control(
            reqwest::Method::POST,
            "/settings",
            Some(json!({"require_close_fields": false})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let other = sn.new_incident().await;
    let r = sn
        .patch(
            &format!("/api/now/table/incident/{}", str_of(&other["sys_id"])),
            json!({"state": "6"}),
        )
        .send()
        .await
        .expect("resolve");
    assert_eq!(r.status(), StatusCode::OK);
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn order_now_creates_the_request_tree_and_tasks_cascade() {
    let sn = start().await;
    let item = sn.item_id("Request a desktop").await;
    assert_eq!(
        item,
        deskbridge::lab::servicenow::stable_id("sc_cat_item", "request_desktop")
    );
    let me = sn
        .list(
            "sys_user",
            &[("sysparm_query", &format!("user_name={}", sn.user))],
        )
        .await;
    let someone = sn
        .list(
            "sys_user",
            &[
                ("sysparm_query", "active=true^web_service_access_only=false"),
                ("sysparm_limit", "1"),
            ],
        )
        .await;
    assert_eq!(me.len(), 1);
    let user = str_of(&someone[0]["sys_id"]);
    let order = json!({
        "sysparm_quantity": 1,
        "sysparm_requested_for": user,
        "variables": {"requested_for": user, "delivery_group": "London Pooled Desktops", "operating_system": "Windows 11"}
    });
    let r = sn
        .post(
            &format!("/api/sn_sc/servicecatalog/items/{item}/order_now"),
            order,
        )
        .send()
        .await
        .expect("order");
    assert_eq!(r.status(), StatusCode::OK);
    let req = result(r).await;
    assert_eq!(req["table"], "sc_request");
    assert!(req["number"].as_str().unwrap_or("").starts_with("REQ00"));
    assert_eq!(req["request_number"], req["number"]);
    let req_id = str_of(&req["request_id"]);

    let ritms = sn
        .list(
            "sc_req_item",
            &[
                ("sysparm_query", &format!("request={req_id}")),
                ("sysparm_exclude_reference_link", "true"),
            ],
        )
        .await;
    assert_eq!(ritms.len(), 1);
    let ritm = &ritms[0];
    assert!(ritm["number"].as_str().unwrap_or("").starts_with("RITM00"));
    assert_eq!(ritm["cat_item"], item);
    assert_eq!(ritm["requested_for"], user);
    let ritm_id = str_of(&ritm["sys_id"]);

    let vars = sn
        .list(
            "sc_item_option_mtom",
            &[
                ("sysparm_query", &format!("request_item={ritm_id}")),
                (
                    "sysparm_fields",
                    "sc_item_option.item_option_new.name,sc_item_option.value",
                ),
            ],
        )
        .await;
    let dg = vars
        .iter()
        .find(|v| v["sc_item_option.item_option_new.name"] == "delivery_group")
        .expect("delivery_group variable");
    assert_eq!(dg["sc_item_option.value"], "London Pooled Desktops");
    let shortcut = sn
        .list(
            "sc_req_item",
            &[
                ("sysparm_query", &format!("sys_id={ritm_id}")),
                ("sysparm_fields", "variables.operating_system"),
            ],
        )
        .await;
    assert_eq!(shortcut[0]["variables.operating_system"], "Windows 11");

    let tasks = sn
        .list(
            "sc_task",
            &[("sysparm_query", &format!("request_item={ritm_id}"))],
        )
        .await;
    assert_eq!(tasks.len(), 1);
    let task = str_of(&tasks[0]["sys_id"]);
    assert!(
        tasks[0]["number"]
            .as_str()
            .unwrap_or("")
            .starts_with("SCTASK00")
    );

    let r = sn
        .patch(
            &format!("/api/now/table/sc_task/{task}"),
            json!({"state": "2", "work_notes": "claimed"}),
        )
        .send()
        .await
        .expect("claim");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(sn.record("sc_req_item", &ritm_id).await["state"], "2");
    let r = sn
        .patch(
            &format!("/api/now/table/sc_task/{task}"),
            json!({"state": "3", "close_notes": "desktop assigned"}),
        )
        .send()
        .await
        .expect("close");
    assert_eq!(r.status(), StatusCode::OK);
    let ritm = sn.record("sc_req_item", &ritm_id).await;
    assert_eq!(
        (
            ritm["state"].as_str(),
            ritm["stage"].as_str(),
            ritm["active"].as_str()
        ),
        (Some("3"), Some("complete"), Some("false"))
    );
    let req = sn.record("sc_request", &req_id).await;
    assert_eq!(req["request_state"], "closed_complete");
    assert_eq!(req["active"], "false");

    // Bad quantity and unknown item.
    let path = format!("/api/sn_sc/servicecatalog/items/{item}/order_now");
    let (status, _) = error_of(
        sn.post(&path, json!({"sysparm_quantity": 0}))
            .send()
            .await
            .expect("q0"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = error_of(
        sn.post(&path, json!({"sysparm_quantity": "lots"}))
            .send()
            .await
            .expect("q?"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = error_of(
        sn.post(
            "/api/sn_sc/servicecatalog/items/0123456789abcdef0123456789abcdef/order_now",
            json!({"sysparm_quantity": 1}),
        )
        .send()
        .await
        .expect("unknown"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn incomplete_tasks_close_the_ritm_incomplete() {
    let sn = start().await;
    let item = sn.item_id("Request applications").await;
    let r = sn
        .post(
            &format!("/api/sn_sc/servicecatalog/items/{item}/order_now"),
            json!({"sysparm_quantity": "1", "variables": {"applications": ["SAP GUI", "Microsoft Excel"]}}),
        )
        .send()
        .await
        .expect("order");
    let req_id = str_of(&result(r).await["request_id"]);
    let ritm = &sn
        .list(
            "sc_req_item",
            &[("sysparm_query", &format!("request={req_id}"))],
        )
        .await[0];
    let ritm_id = str_of(&ritm["sys_id"]);
    assert_eq!(
        sn.list(
            "sc_req_item",
            &[
                ("sysparm_query", &format!("sys_id={ritm_id}")),
                ("sysparm_fields", "variables.applications")
            ]
        )
        .await[0]["variables.applications"],
        "SAP GUI,Microsoft Excel"
    );
    let task = &sn
        .list(
            "sc_task",
            &[("sysparm_query", &format!("request_item={ritm_id}"))],
        )
        .await[0];
    sn.patch(
        &format!("/api/now/table/sc_task/{}", str_of(&task["sys_id"])),
        json!({"state": "4"}),
    )
    .send()
    .await
    .expect("fail task");
    assert_eq!(sn.record("sc_req_item", &ritm_id).await["state"], "4");
    assert_eq!(
        sn.record("sc_request", &req_id).await["request_state"],
        "closed_incomplete"
    );
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn masked_variables_can_be_cleared() {
    let sn = start().await;
    let item = sn.item_id("Reset my password").await;
    let r = sn
        .post(
            &format!("/api/sn_sc/servicecatalog/items/{item}/order_now"),
            json!({"sysparm_quantity": 1, "variables": {"new_password": "Secr3t-Pass!", "unlock_account": true}}),
        )
        .send()
        .await
        .expect("order");
    let req_id = str_of(&result(r).await["request_id"]);
    let ritm_id = str_of(
        &sn.list(
            "sc_req_item",
            &[("sysparm_query", &format!("request={req_id}"))],
        )
        .await[0]["sys_id"],
    );
    let options = sn
        .list(
            "sc_item_option_mtom",
            &[
                (
                    "sysparm_query",
                    &format!(
                        "request_item={ritm_id}^sc_item_option.item_option_new.type=25\
                         ^sc_item_option.item_option_new.name=new_password"
                    ),
                ),
                ("sysparm_fields", "sc_item_option,sc_item_option.value"),
                ("sysparm_exclude_reference_link", "true"),
            ],
        )
        .await;
    assert_eq!(options.len(), 1);
    assert_eq!(options[0]["sc_item_option.value"], "Secr3t-Pass!");
    let option = str_of(&options[0]["sc_item_option"]);
    let r = sn
        .patch(
            &format!("/api/now/table/sc_item_option/{option}"),
            json!({"value": ""}),
        )
        .send()
        .await
        .expect("clear");
    assert_eq!(r.status(), StatusCode::OK);
    let after = sn
        .list(
            "sc_req_item",
            &[
                ("sysparm_query", &format!("sys_id={ritm_id}")),
                (
                    "sysparm_fields",
                    "variables.new_password,variables.unlock_account",
                ),
            ],
        )
        .await;
    assert_eq!(after[0]["variables.new_password"], "");
    assert_eq!(after[0]["variables.unlock_account"], "true");
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn throttle_storms_outages_and_short_pages() {
    let sn = start().await;
    sn.faults(json!({"throttle_next": 3, "retry_after_secs": 7}))
        .await;
    for _ in 0..3 {
        let r = sn
            .get("/api/now/table/incident?sysparm_limit=1")
            .send()
            .await
            .expect("429");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&r, "retry-after"), Some("7"));
        assert!(header(&r, "x-ratelimit-limit").is_some());
        assert!(
            header(&r, "x-ratelimit-reset")
                .and_then(|v| v.parse::<i64>().ok())
                .is_some()
        );
        assert!(header(&r, "x-ratelimit-rule").is_some());
        let (_, error) = error_of(r).await;
        assert_eq!(error["message"], "Rate limit exceeded");
    }
    let r = sn
        .get("/api/now/table/incident?sysparm_limit=1")
        .send()
        .await
        .expect("after storm");
    assert_eq!(r.status(), StatusCode::OK);

    sn.faults(json!({"outage": true})).await;
    let (status, _) = error_of(
        sn.get("/api/now/table/incident")
            .send()
            .await
            .expect("outage"),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let r = sn.control(reqwest::Method::DELETE, "/faults", None).await;
    assert_eq!(r.status(), StatusCode::OK);

    sn.faults(json!({"error_rate": 1.0, "error_status": 502}))
        .await;
    let (status, _) = error_of(sn.get("/api/now/table/incident").send().await.expect("502")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    sn.control(reqwest::Method::DELETE, "/faults", None).await;

    sn.faults(json!({"short_page": 7})).await;
    let r = sn
        .get("/api/now/table/sys_user?sysparm_limit=50&sysparm_fields=sys_id")
        .send()
        .await
        .expect("short");
    assert_eq!(r.status(), StatusCode::OK);
    let total: usize = header(&r, "x-total-count")
        .and_then(|v| v.parse().ok())
        .expect("total");
    assert!(total > 400);
    let next = links(&r)
        .into_iter()
        .find(|(rel, _)| rel == "next")
        .map(|(_, u)| u)
        .expect("next");
    assert!(next.contains("sysparm_offset=7&sysparm_limit=50"), "{next}");
    assert_eq!(result(r).await.as_array().map(Vec::len), Some(7));
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn queries_over_http_and_invalid_query_setting() {
    let sn = start().await;
    let r = sn
        .post(
            "/api/now/table/incident",
            json!({"short_description": "a^b = c", "impact": 2, "urgency": 2}),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::CREATED);
    let created = result(r).await;
    assert_eq!(created["priority"], "3");
    assert_eq!(created["state"], "1");
    assert!(
        created["number"]
            .as_str()
            .unwrap_or("")
            .starts_with("INC00")
    );
    let found = sn
        .list(
            "incident",
            &[("sysparm_query", "short_description=a^^b = c^active=true")],
        )
        .await;
    assert_eq!(found.len(), 1);

    let all = sn
        .list("incident", &[("sysparm_fields", "sys_id")])
        .await
        .len();
    let open_or_new = sn
        .list("incident", &[("sysparm_query", "state=1^ORstate=2")])
        .await
        .len();
    let new = sn
        .list("incident", &[("sysparm_query", "state=1")])
        .await
        .len();
    let two = sn
        .list("incident", &[("sysparm_query", "state=2")])
        .await
        .len();
    assert_eq!(open_or_new, new + two);
    let nq = sn
        .list("incident", &[("sysparm_query", "state=1^NQstate=2")])
        .await
        .len();
    assert_eq!(nq, open_or_new);
    assert_eq!(
        sn.list("incident", &[("sysparm_query", "nosuchfield=1")])
            .await
            .len(),
        all
    );
    sn.control(
        reqwest::Method::POST,
        "/settings",
        Some(json!({"invalid_query_returns_no_rows": true})),
    )
    .await;
    assert_eq!(
        sn.list("incident", &[("sysparm_query", "nosuchfield=1")])
            .await
            .len(),
        0
    );

    let r = sn
        .control(
            reqwest::Method::POST,
            "/settings",
            Some(json!({"bogus": 1})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = sn
        .http
        .get(format!("{}/servicenow/nope/calls", sn.control))
        .send()
        .await
        .expect("unknown instance");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = sn
        .auth(sn.http.delete(format!(
            "{}/api/now/table/incident/{}",
            sn.url,
            str_of(&created["sys_id"])
        )))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn the_seed_looks_like_a_helpdesk() {
    let sn = start().await;
    let groups = sn
        .list("sys_user_group", &[("sysparm_fields", "name")])
        .await;
    let names: HashSet<String> = groups.iter().map(|g| str_of(&g["name"])).collect();
    for g in [
        "Service Desk",
        "Citrix Operations",
        "Desktop Support L2",
        "Identity and Access",
    ] {
        assert!(names.contains(g), "{g}");
    }
    let items = sn.list("sc_cat_item", &[("sysparm_fields", "name")]).await;
    // The ten Citrix ITSM items and the runbook example ("Reset stale Citrix sessions").
    assert_eq!(items.len(), 11);
    let incidents = sn
        .list("incident", &[("sysparm_fields", "state,assigned_to")])
        .await;
    assert!(incidents.len() >= 80);
    let states: HashSet<String> = incidents.iter().map(|i| str_of(&i["state"])).collect();
    for s in ["1", "2", "6", "7"] {
        assert!(states.contains(s), "state {s} seeded");
    }
    assert!(incidents.iter().any(|i| i["assigned_to"] == ""));
    assert!(incidents.iter().any(|i| i["assigned_to"] != ""));
    let ritms = sn.list("sc_req_item", &[("sysparm_fields", "stage")]).await;
    assert!(ritms.len() >= 20);
    let choices = sn
        .list(
            "sys_choice",
            &[("sysparm_query", "nameINincident,sc_req_item,sc_task^elementINstate,hold_reason,close_code,stage^inactive=false")],
        )
        .await;
    assert!(choices.iter().any(|c| c["label"] == "Solution provided"));
    let agents = sn
        .list(
            "sys_user_grmember",
            &[
                ("sysparm_query", "group.name=Citrix Operations"),
                ("sysparm_fields", "user.user_name"),
            ],
        )
        .await;
    assert!(agents.iter().any(|a| a["user.user_name"] == sn.user));
    assert!(agents.len() >= 3);
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn stats_count_and_group_and_caller_token() {
    let sn = start().await;
    let all = sn
        .list(
            "incident",
            &[
                ("sysparm_query", "active=true"),
                ("sysparm_fields", "state"),
            ],
        )
        .await;
    let r = sn
        .get("/api/now/stats/incident?sysparm_count=true&sysparm_group_by=state&sysparm_query=active=true")
        .send()
        .await
        .expect("stats");
    assert_eq!(r.status(), StatusCode::OK);
    let groups = result(r).await;
    let mut total = 0;
    for g in groups.as_array().expect("groups") {
        let state = str_of(&g["groupby_fields"][0]["value"]);
        let count: usize = str_of(&g["stats"]["count"]).parse().expect("count");
        assert_eq!(
            count,
            all.iter().filter(|i| i["state"] == state.as_str()).count()
        );
        total += count;
    }
    assert_eq!(total, all.len());
    let r = sn
        .get("/api/now/stats/incident?sysparm_count=true")
        .send()
        .await
        .expect("count");
    let count = str_of(&result(r).await["stats"]["count"]);
    assert!(count.parse::<usize>().expect("number") >= all.len());

    // gs.getUserID() stands for the caller (the integration user).
    let inc = sn.new_incident().await;
    let me = &sn
        .list(
            "sys_user",
            &[("sysparm_query", &format!("user_name={}", sn.user))],
        )
        .await[0];
    sn.patch(
        &format!("/api/now/table/incident/{}", str_of(&inc["sys_id"])),
        json!({"assigned_to": str_of(&me["sys_id"])}),
    )
    .send()
    .await
    .expect("assign");
    let mine = sn
        .list(
            "incident",
            &[("sysparm_query", "assigned_to=javascript:gs.getUserID()")],
        )
        .await;
    assert_eq!(mine.len(), 1);
    sn.lab.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_instance() {
    let a = start().await;
    let b = start().await;
    assert_eq!(a.password, b.password);
    assert_eq!(a.client_id, b.client_id);
    let fields = [
        (
            "sysparm_fields",
            "sys_id,number,short_description,state,caller_id,assigned_to",
        ),
        ("sysparm_exclude_reference_link", "true"),
    ];
    assert_eq!(
        a.list("incident", &fields).await,
        b.list("incident", &fields).await
    );
    let fields = [
        (
            "sysparm_fields",
            "sys_id,number,cat_item,requested_for,stage",
        ),
        ("sysparm_exclude_reference_link", "true"),
    ];
    assert_eq!(
        a.list("sc_req_item", &fields).await,
        b.list("sc_req_item", &fields).await
    );
    a.lab.shutdown().await;
    b.lab.shutdown().await;
}

#[tokio::test]
async fn head_and_single_record_fields() {
    let sn = start().await;
    let r = sn
        .auth(
            sn.http
                .head(format!("{}/api/now/table/incident?sysparm_limit=5", sn.url)),
        )
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "x-total-count").is_some());
    let inc = sn.new_incident().await;
    let r = sn
        .get(&format!(
            "/api/now/table/incident/{}?sysparm_fields=number,caller_id.email,assignment_group.name&sysparm_display_value=all",
            str_of(&inc["sys_id"])
        ))
        .send()
        .await
        .expect("get");
    let one = result(r).await;
    assert_eq!(one["number"]["value"], inc["number"]);
    assert!(
        one["caller_id.email"]["value"]
            .as_str()
            .unwrap_or("")
            .contains('@')
    );
    assert_eq!(one.as_object().map(|o| o.len()), Some(3));
    sn.lab.shutdown().await;
}
