//! Zero-touch fulfilment of the workflow catalog items, over real HTTP against the lab: a
//! desktop and applications ordered in the lab's ServiceNow are fulfilled through the
//! requests endpoint, their catalog tasks closed and the person entitled at the lab site; a
//! separation is picked up by the poller (opted in with `auto_fulfil`) and the account
//! disabled; an unlock runs; onboarding, which the lab's directory (the CVAD Identity API)
//! cannot do, is refused or deferred with a note that says why, and a typed initial
//! password is refused, cleared in ServiceNow and quoted nowhere.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use deskbridge::config::{PersistentDesktop, PooledDesktop, RouteTarget, RoutingConfig};
use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::lab::Scale;
use deskbridge::servicenow::{AuthMode, ListParams, Query, ServiceNowClient, ServiceNowConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::Api;
use support::{LabAdapter, token, until};

const SITE: &str = "London";
const POOLED: &str = "London Pooled Desktops";
const STATIC: &str = "London Persistent Desktops";
const APPS: &str = "Office Suite";
const SEPARATION: &str = "Process employee separation";

/// Everyone goes to London, so the tests do not depend on which office a lab person is in.
fn routing() -> RoutingConfig {
    RoutingConfig {
        rules: Vec::new(),
        default: Some(RouteTarget {
            site: SITE.into(),
            pooled_desktop: Some(PooledDesktop::DeliveryGroup(POOLED.into())),
            persistent_desktop: Some(PersistentDesktop {
                delivery_group: STATIC.into(),
                catalog: "LDN Win11 Persistent".into(),
                naming: Some("LDN-NEW-###".into()),
            }),
            apps: vec![APPS.into()],
            groups: Vec::new(),
        }),
    }
}

struct Env {
    base: LabAdapter,
    api: Api,
    helpdesk: String,
    admin: String,
    sn: ServiceNowClient,
    site: CvadClient,
}

impl Env {
    /// The lab and an adapter routing everyone to London; separations are auto-fulfilled,
    /// and requests a person must do go to Desktop Support L2.
    async fn start() -> Env {
        let base = LabAdapter::start(Scale::Small, &|config| {
            config.routing = routing();
            for sn in &mut config.servicenow {
                sn.failure_assignment_group = Some("Desktop Support L2".to_owned());
                sn.auto_fulfil = vec![SEPARATION.to_owned()];
            }
        })
        .await;
        let http = reqwest::Client::new();
        let helpdesk = token(&http, &base.url, base.id("helpdesk")).await;
        let admin = token(&http, &base.url, base.id("admin")).await;
        let sn = ServiceNowClient::new(ServiceNowConfig::from_lab(
            &base.lab.info().servicenow[0],
            AuthMode::Basic,
        ))
        .expect("servicenow client");
        let info = base
            .lab
            .info()
            .sites
            .iter()
            .find(|s| s.name == SITE)
            .expect("the lab's London site")
            .clone();
        let site = CvadClient::new(CvadConfig::from_lab(&info)).expect("site client");
        Env {
            api: Api::new(&base.url),
            base,
            helpdesk,
            admin,
            sn,
            site,
        }
    }

    /// Lab people who are both enabled directory accounts and ServiceNow users, as
    /// (`sam`, ServiceNow sys_id), skipping the first `skip`.
    async fn people(&self, skip: usize, n: usize) -> Vec<(String, String)> {
        let (status, page) = self
            .api
            .get(&self.admin, "/api/v1/accounts?q=a&domain=LAB&limit=300")
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let mut found = Vec::new();
        let sams = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|a| a["disabled"] == false)
            .filter_map(|a| a["sam_name"].as_str())
            .filter(|s| s.contains('.'))
            .map(str::to_owned)
            .skip(skip)
            .collect::<Vec<_>>();
        for sam in sams {
            if let Ok(Some(user)) = self.sn.user_by_user_name(&sam).await {
                found.push((sam, user.sys_id));
                if found.len() == n {
                    break;
                }
            }
        }
        assert_eq!(found.len(), n, "enough lab people in both systems");
        found
    }

    /// Orders `item` in the lab's ServiceNow; the requested item's sys_id.
    async fn order(&self, item: &str, requested_for: &str, variables: &[(&str, &str)]) -> String {
        let item_id = self
            .sn
            .catalog_item_by_name(item)
            .await
            .expect("item lookup")
            .expect("the lab has the item");
        let vars: BTreeMap<String, String> = variables
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let order = self
            .sn
            .order_now(&item_id, Some(requested_for), &vars)
            .await
            .expect("order_now");
        order
            .items
            .first()
            .expect("one requested item")
            .sys_id
            .clone()
    }

    /// What ServiceNow's business rule would do: ask the adapter to fulfil the item.
    async fn fulfil(&self, token: &str, ritm: &str) -> (StatusCode, Value) {
        self.api
            .post(
                token,
                "/api/v1/servicenow/lab/requests",
                json!({ "table": "sc_req_item", "sys_id": ritm }),
            )
            .await
    }

    async fn finished(&self, job: &Value) -> Value {
        let id = job["id"].as_str().expect("job id").to_owned();
        until("the job to end", Duration::from_secs(90), async || {
            let (_, job) = self
                .api
                .get(&self.admin, &format!("/api/v1/jobs/{id}"))
                .await;
            let state = job["state"].as_str().unwrap_or_default();
            (!matches!(state, "queued" | "running")).then_some(job)
        })
        .await
    }

    /// The request's catalog task once it is closed complete (state 3).
    async fn closed_task(&self, ritm: &str) -> deskbridge::servicenow::Record {
        until(
            "the catalog task to close",
            Duration::from_secs(60),
            async || {
                let task = self.task(ritm).await?;
                (task.text("state") == "3").then_some(task)
            },
        )
        .await
    }

    async fn task(&self, ritm: &str) -> Option<deskbridge::servicenow::Record> {
        let params = ListParams::new()
            .query(
                Query::new()
                    .eq("request_item", ritm)
                    .build()
                    .expect("query"),
            )
            .fields(["sys_id", "number", "state", "close_notes"]);
        self.sn
            .list("sc_task", &params)
            .await
            .ok()?
            .into_iter()
            .next()
    }

    /// The work notes and comments of the request's catalog task.
    async fn notes(&self, ritm: &str) -> String {
        let Some(task) = self.task(ritm).await else {
            return String::new();
        };
        let id = task.sys_id().unwrap_or_default().to_owned();
        let entries = self.sn.journal("sc_task", &id, 100).await.expect("journal");
        entries
            .into_iter()
            .map(|e| e.value)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The refusal note on the request's catalog task, once it is written.
    async fn refusal_note(&self, ritm: &str) -> String {
        until("the refusal note", Duration::from_secs(30), async || {
            let notes = self.notes(ritm).await;
            notes.contains("did not fulfil").then_some(notes)
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn desktop_and_application_requests_ordered_in_servicenow_are_fulfilled_and_closed() {
    let env = Env::start().await;
    let entitled = env
        .site
        .delivery_group_entitlement(POOLED)
        .await
        .expect("the pooled group");
    let apps_before = env
        .site
        .application_group_entitlement(APPS)
        .await
        .expect("the app group");
    let (sam, sys_id) = env
        .people(0, 40)
        .await
        .into_iter()
        .find(|(sam, _)| {
            let qualified = format!("LAB\\{sam}");
            !entitled.includes(&qualified) && !apps_before.includes(&qualified)
        })
        .expect("a lab person with neither the desktop nor the applications");
    let person = format!("LAB\\{sam}");

    // "Request a desktop" naming the routed pooled group, as a portal user types it.
    let ritm = env
        .order(
            "Request a desktop",
            &sys_id,
            &[
                ("requested_for", &sys_id),
                ("delivery_group", " london pooled desktops "),
            ],
        )
        .await;
    let (status, job) = env.fulfil(&env.helpdesk, &ritm).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["action"], "request.pooled_desktop");
    assert_eq!(job["tasks"][0]["target_id"], person.as_str(), "{job}");
    let job = env.finished(&job).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    let task = env.closed_task(&ritm).await;
    assert!(
        task.text("close_notes").contains("deskbridge job"),
        "{}",
        task.text("close_notes")
    );
    let after = env
        .site
        .delivery_group_entitlement(POOLED)
        .await
        .expect("the pooled group");
    assert!(after.includes(&person), "{person} is entitled at {SITE}");

    // "Request applications" for applications of the routed group.
    let ritm = env
        .order(
            "Request applications",
            &sys_id,
            &[
                ("requested_for", &sys_id),
                ("applications", "Microsoft Word,Microsoft Excel"),
            ],
        )
        .await;
    let (status, job) = env.fulfil(&env.helpdesk, &ritm).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["action"], "request.apps");
    let job = env.finished(&job).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    env.closed_task(&ritm).await;
    let apps = env
        .site
        .application_group_entitlement(APPS)
        .await
        .expect("the app group");
    assert!(apps.includes(&person), "{person} gets {APPS}");

    // An application the route does not give, and another office's desktop: a person
    // decides, told which and why; nothing is done.
    let ritm = env
        .order(
            "Request applications",
            &sys_id,
            &[
                ("requested_for", &sys_id),
                ("applications", "Microsoft Word,Epic Hyperspace"),
            ],
        )
        .await;
    let (status, body) = env.fulfil(&env.helpdesk, &ritm).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let note = env.refusal_note(&ritm).await;
    assert!(note.contains("\"Epic Hyperspace\""), "{note}");
    assert!(note.contains(APPS), "{note}");
    let ritm = env
        .order(
            "Request a desktop",
            &sys_id,
            &[
                ("requested_for", &sys_id),
                ("delivery_group", "Virginia Pooled Desktops"),
            ],
        )
        .await;
    let (status, body) = env.fulfil(&env.helpdesk, &ritm).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let note = env.refusal_note(&ritm).await;
    assert!(note.contains("routing decides"), "{note}");
    assert!(
        env.task(&ritm)
            .await
            .is_some_and(|t| t.text("state") != "3"),
        "a refused request stays open"
    );
    env.base.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_separation_is_fulfilled_by_the_poller_and_an_unlock_through_the_endpoint() {
    let env = Env::start().await;
    let people = env.people(40, 2).await;
    let (leaver, leaver_id) = &people[0];
    let (locked, locked_id) = &people[1];
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();

    // Auto-fulfilled: nobody calls the adapter; the poller finds the request.
    let upn = format!("{leaver}@lab.example");
    let ritm = env
        .order(
            SEPARATION,
            leaver_id,
            &[
                ("departing_user_upn", &upn),
                ("requested_for", leaver_id),
                ("last_day", &yesterday),
                (
                    "deprovisioning_type",
                    "Keep desktop but remove user assignment",
                ),
            ],
        )
        .await;
    let task = env.closed_task(&ritm).await;
    assert!(
        task.text("close_notes").contains("deskbridge job"),
        "{}",
        task.text("close_notes")
    );
    let (status, account) = env
        .api
        .get(&env.admin, &format!("/api/v1/accounts/LAB/{leaver}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["disabled"], true, "{account}");
    let (_, jobs) = env
        .api
        .get(&env.admin, "/api/v1/jobs?action=user.offboard")
        .await;
    let job = jobs["items"]
        .as_array()
        .and_then(|j| j.first())
        .cloned()
        .expect("the offboarding job");
    assert_eq!(job["params"]["machines"], "unassign", "{job}");

    // "Unlock my account", ordered by the service desk for a caller who is locked out.
    let bad_logons = reqwest::Client::new()
        .post(format!(
            "{}/directory/users/{locked}/bad-logons",
            env.base.lab.info().control
        ))
        .json(&json!({}))
        .send()
        .await
        .expect("bad logons");
    assert!(bad_logons.status().is_success());
    let (_, account) = env
        .api
        .get(&env.admin, &format!("/api/v1/accounts/LAB/{locked}"))
        .await;
    assert_eq!(account["locked"], true, "{account}");
    let ritm = env
        .order(
            "Unlock my account",
            locked_id,
            &[("requested_for", locked_id)],
        )
        .await;
    let (status, job) = env.fulfil(&env.helpdesk, &ritm).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["action"], "account.unlock");
    assert_eq!(
        job["tasks"][0]["target_id"].as_str().map(str::to_lowercase),
        Some(locked.to_lowercase()),
        "{job}"
    );
    let job = env.finished(&job).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    env.closed_task(&ritm).await;
    let (_, account) = env
        .api
        .get(&env.admin, &format!("/api/v1/accounts/LAB/{locked}"))
        .await;
    assert_eq!(account["locked"], false, "{account}");
    env.base.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn onboarding_against_the_lab_directory_is_deferred_or_refused_with_the_reason() {
    let env = Env::start().await;
    let (_, manager) = env.people(80, 1).await.remove(0);
    let today = chrono::Utc::now().date_naive();
    let later = (today + chrono::Duration::days(14)).to_string();
    let now = today.to_string();
    // The new hire, for `manager`, starting on `start`.
    let hire = |start: &str| -> Vec<(String, String)> {
        [
            ("first_name", "Amelia"),
            ("last_name", "Zeta-Person"),
            ("department", "Finance"),
            ("office", "London"),
            ("manager", manager.as_str()),
            ("start_date", start),
            ("delivery_group", POOLED),
            ("applications", "Microsoft Word"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    };

    // Starts in two weeks: the engine cannot schedule a job for later, so the note says when.
    let vars = hire(&later);
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let ritm = env.order("New hire onboarding", &manager, &refs).await;
    let (status, body) = env.fulfil(&env.admin, &ritm).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let note = env.refusal_note(&ritm).await;
    assert!(
        note.contains(&format!("fulfil on or after {later}")),
        "{note}"
    );

    // Starts today: the lab's directory (the CVAD Identity API) cannot create accounts.
    let vars = hire(&now);
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let ritm = env.order("New hire onboarding", &manager, &refs).await;
    let (status, body) = env.fulfil(&env.admin, &ritm).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let note = env.refusal_note(&ritm).await;
    assert!(note.contains("cannot create accounts"), "{note}");
    assert!(note.contains("LAB\\amelia.zetaperson"), "{note}");

    // A typed initial password: refused, cleared in ServiceNow, quoted nowhere.
    let secret = "Welcome-8086!";
    let mut vars = hire(&now);
    vars.push(("initial_password".into(), secret.into()));
    let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let ritm = env.order("New hire onboarding", &manager, &refs).await;
    let (status, body) = env.fulfil(&env.admin, &ritm).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let note = env.refusal_note(&ritm).await;
    assert!(note.contains("generates the initial password"), "{note}");
    let variables = env.sn.variables(&ritm).await.expect("variables");
    let password = variables
        .iter()
        .find(|v| v.variable.name == "initial_password")
        .map(|v| v.variable.value.clone());
    assert_eq!(
        password.as_deref(),
        Some(""),
        "the masked variable is cleared"
    );
    let (_, audit) = env.api.get(&env.admin, "/api/v1/audit?limit=1000").await;
    for (place, text) in [
        ("the answer", body.to_string()),
        ("the ticket's notes", note),
        ("the audit log", audit.to_string()),
    ] {
        assert!(!text.contains(secret), "the password appears in {place}");
    }
    env.base.stop().await;
}
