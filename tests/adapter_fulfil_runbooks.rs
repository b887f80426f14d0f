//! Catalog items mapped to runbooks, over real HTTP against the lab: "Reset stale Citrix
//! sessions" ordered in the lab's ServiceNow is fulfilled by the poller with no operator (a
//! `runbook.run` job linked to the catalog task, whose `session.logoff` step logs off the
//! stale sessions, and the task closed), and a request whose values the runbook refuses is left
//! for a person with a work note that says why, with nothing run.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use deskbridge::config::RunbookItem;
use deskbridge::lab::Scale;
use deskbridge::servicenow::{
    AuthMode, ListParams, Query, Record, ServiceNowClient, ServiceNowConfig,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::Api;
use support::{LabAdapter, token, until};

const ITEM: &str = "Reset stale Citrix sessions";
const RUNBOOK: &str = "reset-disconnected";

struct Env {
    base: LabAdapter,
    api: Api,
    admin: String,
    helpdesk: String,
    sn: ServiceNowClient,
}

impl Env {
    /// The lab and an adapter with the shipped runbooks, the lab item mapped to
    /// reset-disconnected and fulfilled automatically.
    async fn start() -> Env {
        let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("runbooks");
        let base = LabAdapter::start(Scale::Small, &|config| {
            config.runbooks_dir = Some(shipped.clone());
            for sn in &mut config.servicenow {
                sn.runbooks = vec![RunbookItem {
                    item: ITEM.to_owned(),
                    runbook: RUNBOOK.to_owned(),
                    variables: BTreeMap::new(),
                    origin: String::new(),
                }];
                sn.auto_fulfil = vec![ITEM.to_owned()];
            }
        })
        .await;
        let http = reqwest::Client::new();
        let admin = token(&http, &base.url, base.id("admin")).await;
        let helpdesk = token(&http, &base.url, base.id("helpdesk")).await;
        let sn = ServiceNowClient::new(ServiceNowConfig::from_lab(
            &base.lab.info().servicenow[0],
            AuthMode::Basic,
        ))
        .expect("servicenow client");
        Env {
            api: Api::new(&base.url),
            base,
            admin,
            helpdesk,
            sn,
        }
    }

    /// Orders the item in the lab's ServiceNow; the requested item's sys_id.
    async fn order(&self, variables: &[(&str, &str)]) -> String {
        let item_id = self
            .sn
            .catalog_item_by_name(ITEM)
            .await
            .expect("item lookup")
            .expect("the lab has the item");
        let vars: BTreeMap<String, String> = variables
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let order = self
            .sn
            .order_now(&item_id, None, &vars)
            .await
            .expect("order_now");
        order
            .items
            .first()
            .expect("one requested item")
            .sys_id
            .clone()
    }

    async fn task(&self, ritm: &str) -> Option<Record> {
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

    async fn job(&self, id: &str) -> Value {
        let (status, job) = self
            .api
            .get(&self.admin, &format!("/api/v1/jobs/{id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{job}");
        job
    }

    /// The `runbook.run` jobs linked to ticket `number`.
    async fn runs_for(&self, number: &str) -> Vec<Value> {
        let (status, jobs) = self
            .api
            .get(&self.admin, "/api/v1/jobs?action=runbook.run&limit=100")
            .await;
        assert_eq!(status, StatusCode::OK, "{jobs}");
        jobs["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|j| j["ticket"]["number"] == number)
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mapped_catalog_item_is_fulfilled_by_its_runbook_with_no_operator() {
    let env = Env::start().await;
    let ritm = env.order(&[("site", "London"), ("older_than", "1m")]).await;

    // Nobody calls the adapter: the poller finds the request, runs the runbook, and the
    // lifecycle closes the catalog task when the run succeeded.
    let task = until(
        "the catalog task to close",
        Duration::from_secs(90),
        async || {
            let task = env.task(&ritm).await?;
            (task.text("state") == "3").then_some(task)
        },
    )
    .await;
    let number = task.text("number");
    assert!(
        task.text("close_notes").contains("deskbridge job")
            && task.text("close_notes").contains("runbook.run"),
        "{}",
        task.text("close_notes")
    );
    let runs = env.runs_for(&number).await;
    assert_eq!(runs.len(), 1, "one run for {number}: {runs:#?}");
    let run = env.job(runs[0]["id"].as_str().expect("job id")).await;
    assert_eq!(run["state"], "succeeded", "{run:#}");
    assert_eq!(run["tasks"][0]["target_id"], RUNBOOK, "{run:#}");
    assert_eq!(
        run["params"]["runbook"]["values"]["older_than"], "1m",
        "the variables are the run's parameters: {run:#}"
    );
    assert_eq!(
        run["params"]["runbook"]["values"]["site"], "London",
        "{run:#}"
    );

    // Its step ran session.logoff over the stale sessions, as a child job that succeeded.
    let step = &run["tasks"][0]["steps"][0];
    let selected = step["output"]["runbook:logoff"]["targets"]
        .as_u64()
        .expect("the step's counts");
    assert!(
        selected > 0,
        "the lab has old disconnected sessions: {step}"
    );
    let child = env
        .job(step["output"]["child_job"].as_str().expect("child job"))
        .await;
    assert_eq!(child["action"], "session.logoff", "{child:#}");
    assert_eq!(child["state"], "succeeded", "{child:#}");
    assert_eq!(child["progress"]["total"].as_u64(), Some(selected));

    // The automatic fulfilment is audited with the plan's summary.
    let (_, audit) = env
        .api
        .get(
            &env.admin,
            "/api/v1/audit?action=servicenow.auto_fulfil&limit=100",
        )
        .await;
    let shown = audit.to_string();
    assert!(
        shown.contains(&format!("run runbook {RUNBOOK}")) && shown.contains("older_than="),
        "{audit:#}"
    );
    env.base.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn values_the_runbook_refuses_leave_the_request_for_a_person_with_a_note() {
    let env = Env::start().await;
    // Paris is no site of this adapter: nothing may run; the note says why.
    let ritm = env.order(&[("site", "Paris"), ("older_than", "1m")]).await;
    let (status, body) = env
        .api
        .post(
            &env.helpdesk,
            "/api/v1/servicenow/lab/requests",
            json!({ "table": "sc_req_item", "sys_id": ritm }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["error"]["message"]
        .as_str()
        .or_else(|| body["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains(RUNBOOK) && message.contains("\"Paris\""),
        "{body}"
    );
    let notes = until("the refusal note", Duration::from_secs(30), async || {
        let notes = env.notes(&ritm).await;
        notes.contains("did not fulfil").then_some(notes)
    })
    .await;
    assert!(
        notes.contains(RUNBOOK) && notes.contains("not a configured site"),
        "{notes}"
    );
    let task = env.task(&ritm).await.expect("the catalog task");
    assert_ne!(task.text("state"), "3", "the task stays open");
    assert!(
        env.runs_for(&task.text("number")).await.is_empty(),
        "no runbook ran"
    );
    env.base.stop().await;
}
