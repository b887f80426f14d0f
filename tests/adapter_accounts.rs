//! Account actions through the adapter, over real HTTP against the lab's directory (its CVAD
//! Identity API): account lookups, password resets verified by call-back or by security
//! code, generated passwords shown once, policy refusals, unlock and enable/disable by role,
//! and the secrecy promise: a new password or code appears in no log line, audit entry,
//! stored job, event or metric.

mod support;

use std::time::Duration;

use deskbridge::lab::Scale;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::{Api, log};
use support::{LabAdapter, token, until};

struct Env {
    base: LabAdapter,
    api: Api,
    http: reqwest::Client,
    helpdesk: String,
    admin: String,
    viewer: String,
}

impl Env {
    async fn start() -> Env {
        // Before anything logs, so every callsite sees the capturing subscriber.
        log();
        let base = LabAdapter::start(Scale::Small, &|_| {}).await;
        let http = reqwest::Client::new();
        let helpdesk = token(&http, &base.url, base.id("helpdesk")).await;
        let admin = token(&http, &base.url, base.id("admin")).await;
        let viewer = token(&http, &base.url, base.id("viewer")).await;
        Env {
            api: Api::new(&base.url),
            base,
            http,
            helpdesk,
            admin,
            viewer,
        }
    }

    async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.api.call(token, method, path, body).await
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        self.api.get(token, path).await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.api.post(token, path, body).await
    }

    /// An ordinary lab account (not locked, disabled or protected), distinct per `nth`.
    async fn account(&self, nth: usize) -> Value {
        let (status, page) = self
            .get(&self.viewer, "/api/v1/accounts?q=a&domain=LAB&limit=200")
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().expect("items");
        items
            .iter()
            .filter(|a| {
                a["locked"] == false
                    && a["disabled"] == false
                    && a["groups"]
                        .as_array()
                        .is_none_or(|g| !g.iter().any(|g| g == "Domain Admins"))
                    && a["sam_name"].as_str().is_some_and(|s| s.contains('.'))
            })
            .nth(nth)
            .cloned()
            .expect("enough ordinary lab accounts")
    }

    async fn logon(&self, sam: &str, password: &str) -> Value {
        let response = self
            .http
            .post(format!(
                "{}/directory/users/{sam}/logon",
                self.base.lab.info().control
            ))
            .json(&json!({ "password": password }))
            .send()
            .await
            .expect("logon");
        response.json().await.expect("logon JSON")
    }

    async fn finished(&self, job: &Value) -> Value {
        self.api.finished(&self.viewer, job).await
    }

    async fn reset(&self, sam: &str, params: Value) -> (StatusCode, Value) {
        self.post(
            &self.helpdesk,
            "/api/v1/jobs",
            json!({
                "action": "account.password_reset",
                "targets": [{ "site": "LAB", "id": sam }],
                "params": params,
            }),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_resets_work_through_every_path_and_the_password_is_never_written_down() {
    let env = Env::start().await;
    let mut secrets: Vec<String> = Vec::new();

    // Call-back verification with a password the operator typed.
    let alice = env.account(0).await;
    let sam = alice["sam_name"].as_str().expect("sam").to_owned();
    let typed = "Winter-Harbour-2219!";
    secrets.push(typed.to_owned());
    let (status, job) = env
        .reset(
            &sam,
            json!({
                "password": typed, "must_change": false, "unlock": true,
                "verification": { "method": "callback", "note": "called back on the HR number" },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert!(job.get("temporary_password").is_none());
    assert_eq!(job["params"]["source"], "provided");
    let job = env.finished(&job).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    let logon = env.logon(&sam, typed).await;
    assert_eq!(logon["accepted"], true, "the new password logs on: {logon}");

    // A generated password, shown once in the answer and nowhere after.
    let (status, created) = env
        .reset(
            &sam,
            json!({
                "generate": true,
                "verification": { "method": "callback", "note": "seen in person at the desk" },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let temporary = created["temporary_password"]
        .as_str()
        .expect("shown once")
        .to_owned();
    secrets.push(temporary.clone());
    let job = env.finished(&created).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert!(
        job.get("temporary_password").is_none(),
        "shown only once: {job}"
    );
    let logon = env.logon(&sam, &temporary).await;
    // must_change defaults to true: the right password, but the user must change it.
    assert_eq!(logon["result"], "must_change", "{logon}");
    let account = env
        .get(&env.viewer, &format!("/api/v1/accounts/LAB/{sam}"))
        .await
        .1;
    assert_eq!(account["must_change"], true, "{account}");

    // A security code the user enrolled: wrong code refused (and the password untouched),
    // right code accepted.
    let bob = env.account(1).await;
    let bob_sam = bob["sam_name"].as_str().expect("sam").to_owned();
    let code = "735190";
    secrets.push(code.to_owned());
    let (status, body) = env
        .call(
            &env.admin,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/LAB/{bob_sam}/security-code"),
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let wrong_try = "Cobalt-Meadow-8841!";
    secrets.push(wrong_try.to_owned());
    let (status, job) = env
        .reset(
            &bob_sam,
            json!({
                "password": wrong_try, "must_change": false,
                "verification": { "method": "code", "code": "111111" },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = env.finished(&job).await;
    assert_eq!(job["state"], "failed", "{job}");
    let error = job["tasks"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("identity not verified"), "{error}");
    assert_eq!(
        env.logon(&bob_sam, wrong_try).await["accepted"],
        false,
        "not reset"
    );
    let (_, audit) = env
        .get(
            &env.admin,
            "/api/v1/audit?action=account.verification&limit=100",
        )
        .await;
    let denied = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["outcome"] == "denied" && e["targets"].to_string().contains(&bob_sam));
    assert!(denied, "the wrong code is in the audit log: {audit}");
    let right = "Amber-Quarry-5526!";
    secrets.push(right.to_owned());
    let (status, job) = env
        .reset(
            &bob_sam,
            json!({
                "password": right, "must_change": false,
                "verification": { "method": "code", "code": code },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(env.finished(&job).await["state"], "succeeded");
    assert_eq!(env.logon(&bob_sam, right).await["accepted"], true);

    // A weak password is refused before anything is stored, without being repeated.
    let weak = "bob12";
    let (status, body) = env
        .reset(
            &bob_sam,
            json!({
                "password": weak,
                "verification": { "method": "callback", "note": "called back" },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body.to_string();
    assert!(
        message.contains("policy") && !message.contains(weak),
        "{message}"
    );

    // Now look everywhere a secret could have leaked.
    let mut places = env.api.written_places(&env.admin).await;
    let events = env
        .http
        .get(format!("{}/api/v1/events", env.base.url))
        .bearer_auth(&env.admin)
        .header("Last-Event-ID", "0")
        .send()
        .await
        .expect("events");
    let mut stream = events;
    let mut seen = String::new();
    // The feed replays from the start, then waits: read what is there.
    while let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(Duration::from_millis(500), stream.chunk()).await
    {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        seen.contains("account.password_reset"),
        "the event feed was read"
    );
    places.push(("the event feed".into(), seen));
    for secret in &secrets {
        for (place, text) in &places {
            assert!(
                !text.contains(secret.as_str()),
                "a secret appears in {place}"
            );
        }
    }
    env.base.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_actions_check_roles_targets_and_state() {
    let env = Env::start().await;
    let carol = env.account(2).await;
    let sam = carol["sam_name"].as_str().expect("sam").to_owned();
    let job = |action: &str| json!({ "action": action, "targets": [{ "site": "LAB", "id": sam }] });

    // Roles: a viewer resets nothing; disabling needs admin.
    let (status, body) = env
        .post(&env.viewer, "/api/v1/jobs", json!({
            "action": "account.password_reset", "targets": [{ "site": "LAB", "id": sam }],
            "params": { "generate": true, "verification": { "method": "callback", "note": "x" } } }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = env
        .post(&env.helpdesk, "/api/v1/jobs", job("account.disable"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Bad targets and params are refused with what is wrong.
    let (status, body) = env
        .post(
            &env.admin,
            "/api/v1/jobs",
            json!({ "action": "account.unlock", "targets": [{ "site": "NOPE", "id": sam }] }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.to_string().contains("no directory for domain"),
        "{body}"
    );
    let (status, body) = env
        .reset(
            "no.such.person",
            json!({ "generate": true, "verification": { "method": "callback", "note": "x" } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.to_string().contains("no account"), "{body}");
    let (status, body) = env.reset(&sam, json!({ "generate": true })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.to_string().contains("verification"), "{body}");

    // Lock the account for real, then unlock it through a job.
    let lab = format!(
        "{}/directory/users/{sam}/bad-logons",
        env.base.lab.info().control
    );
    let locked = env
        .http
        .post(lab)
        .json(&json!({}))
        .send()
        .await
        .expect("bad logons");
    assert!(locked.status().is_success());
    let (_, account) = env
        .get(&env.viewer, &format!("/api/v1/accounts/LAB/{sam}"))
        .await;
    assert_eq!(account["locked"], true, "{account}");
    let (status, created) = env
        .post(&env.helpdesk, "/api/v1/jobs", job("account.unlock"))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let done = env.finished(&created).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    // The audit log names who asked to unlock which account.
    let (_, audit) = env
        .get(
            &env.admin,
            "/api/v1/audit?action=job.create&actor=helpdesk&limit=100",
        )
        .await;
    let named = audit["items"].as_array().into_iter().flatten().any(|e| {
        e["targets"].to_string().contains(&sam)
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("account.unlock"))
    });
    assert!(named, "the unlock's audit entry names the account: {audit}");
    assert_eq!(
        env.get(&env.viewer, &format!("/api/v1/accounts/LAB/{sam}"))
            .await
            .1["locked"],
        false
    );

    // Disable, then disable again (already so: done without acting), then enable.
    for (action, disabled) in [
        ("account.disable", true),
        ("account.disable", true),
        ("account.enable", false),
    ] {
        let (status, created) = env.post(&env.admin, "/api/v1/jobs", job(action)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{created}");
        assert_eq!(env.finished(&created).await["state"], "succeeded");
        let account = env
            .get(&env.viewer, &format!("/api/v1/accounts/LAB/{sam}"))
            .await
            .1;
        assert_eq!(account["disabled"], disabled, "after {action}: {account}");
    }

    // The policy the console checks live, and the server-side check.
    let (status, policy) = env.get(&env.viewer, "/api/v1/password-policy").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        policy["policy"]["min_length"].as_u64().is_some(),
        "{policy}"
    );
    let (status, check) = env
        .post(
            &env.helpdesk,
            "/api/v1/password-policy/check",
            json!({ "domain": "LAB", "user": sam, "password": "short" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(check["ok"], false);
    assert!(!check.to_string().contains("\"short\""), "{check}");
    env.base.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_service_reset_from_servicenow_is_verified_done_and_its_secrets_cleared() {
    use deskbridge::servicenow::{AuthMode, ServiceNowClient, ServiceNowConfig};
    let env = Env::start().await;
    let sn = ServiceNowClient::new(ServiceNowConfig::from_lab(
        &env.base.lab.info().servicenow[0],
        AuthMode::Basic,
    ))
    .expect("servicenow client");
    // A person who is both a ServiceNow user and a directory account.
    let mut found = None;
    for nth in 3..40 {
        let account = env.account(nth).await;
        let sam = account["sam_name"].as_str().expect("sam").to_owned();
        if let Ok(Some(user)) = sn.user_by_user_name(&sam).await {
            found = Some((sam, user.sys_id));
            break;
        }
    }
    let (sam, sys_id) = found.expect("a lab person in both systems");
    let code = "602214";
    let password = "Lantern-Orchard-7734!";
    let (status, body) = env
        .call(
            &env.admin,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/LAB/{sam}/security-code"),
            Some(json!({ "code": code, "kind": "one_time" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let item = sn
        .catalog_item_by_name("Reset my password")
        .await
        .expect("item lookup")
        .expect("the lab has the item");
    let vars: std::collections::BTreeMap<String, String> = [
        ("requested_for", sys_id.as_str()),
        ("user", &format!("LAB\\{sam}")),
        ("security_code", code),
        ("new_password", password),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let order = sn
        .order_now(&item, Some(&sys_id), &vars)
        .await
        .expect("order_now");
    let ritm = order
        .items
        .first()
        .expect("one requested item")
        .sys_id
        .clone();

    let (status, job) = env
        .post(
            &env.helpdesk,
            "/api/v1/servicenow/lab/requests",
            json!({ "table": "sc_req_item", "sys_id": ritm }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["action"], "account.password_reset");
    let job = env.finished(&job).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    // The catalog task the job was linked to is closed complete, with no operator.
    let closed = until(
        "the catalog task to close",
        Duration::from_secs(30),
        async || {
            let tasks = sn
                .list(
                    "sc_task",
                    &deskbridge::servicenow::ListParams::new()
                        .query(
                            deskbridge::servicenow::Query::new()
                                .eq("request_item", &ritm)
                                .build()
                                .expect("query"),
                        )
                        .fields(["number", "state", "close_notes"]),
                )
                .await
                .ok()?;
            let task = tasks.into_iter().next()?;
            (task.text("state") == "3").then_some(task)
        },
    )
    .await;
    assert!(
        closed.text("close_notes").contains("password reset"),
        "{:?}",
        closed.text("close_notes")
    );
    let logon = env.logon(&sam, password).await;
    // The recipe asks for a change at next logon: the password is right, and must change.
    assert_eq!(logon["result"], "must_change", "{logon}");

    // The masked variables were cleared in ServiceNow; the plain ones stay.
    let variables = sn.variables(&ritm).await.expect("variables");
    let value = |name: &str| {
        variables
            .iter()
            .find(|v| v.variable.name == name)
            .map(|v| v.variable.value.clone())
    };
    assert_eq!(value("security_code").as_deref(), Some(""));
    assert_eq!(value("new_password").as_deref(), Some(""));
    assert!(value("user").is_some_and(|u| u.contains(&sam)));

    // Nothing written anywhere holds the secrets: not the log, the job, the audit log, nor
    // the ticket's notes in ServiceNow.
    let journal = sn
        .list(
            "sys_journal_field",
            &deskbridge::servicenow::ListParams::new().page_size(1000),
        )
        .await
        .map(|rows| format!("{rows:?}"))
        .unwrap_or_default();
    let mut places = env.api.written_places(&env.admin).await;
    places.push(("the ticket journal".into(), journal));
    places.push(("the catalog task".into(), format!("{closed:?}")));
    for secret in [code, password] {
        for (place, text) in &places {
            assert!(!text.contains(secret), "a secret appears in {place}");
        }
    }
    env.base.stop().await;
}
