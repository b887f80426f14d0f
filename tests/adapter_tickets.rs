//! Tickets through the adapter, over real HTTP against the lab's ServiceNow and CVAD sites:
//! queue sync and filters, operator writes with conflicts, the job ↔ ticket lifecycle on a
//! bulk reset followed over SSE, a ServiceNow outage during ticket writes, and the zero-touch
//! path for catalog requests.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use deskbridge::lab::Scale;
use deskbridge::servicenow::{AuthMode, ListParams, Query, ServiceNowClient, ServiceNowConfig};
use reqwest::StatusCode;
use serde_json::{Map, Value, json};
use support::{LabAdapter, SECRET};
use uuid::Uuid;

/// The shared lab + adapter (failed tickets go to Desktop Support L2), a token per client and
/// a ServiceNow client on the lab's instance to set up and check tickets.
struct Env {
    base: LabAdapter,
    url: String,
    http: reqwest::Client,
    tokens: BTreeMap<&'static str, String>,
    sn: ServiceNowClient,
}

impl Env {
    async fn start(scale: Scale, tune: &dyn Fn(&mut deskbridge::config::AdapterConfig)) -> Env {
        let base = LabAdapter::start(scale, &|config| {
            for sn in &mut config.servicenow {
                sn.failure_assignment_group = Some("Desktop Support L2".to_owned());
            }
            tune(config);
        })
        .await;
        let sn_info = &base.lab.info().servicenow[0];
        let sn = ServiceNowClient::new(ServiceNowConfig::from_lab(sn_info, AuthMode::Basic))
            .expect("servicenow client");
        let mut env = Env {
            url: base.url.clone(),
            base,
            http: reqwest::Client::new(),
            tokens: BTreeMap::new(),
            sn,
        };
        for name in ["viewer", "helpdesk", "admin"] {
            let token = env.token(env.base.id(name)).await;
            env.tokens.insert(name, token);
        }
        env
    }

    async fn stop(self) {
        self.base.stop().await;
    }

    async fn token(&self, id: Uuid) -> String {
        let response = self
            .http
            .post(format!("{}/api/v1/token", self.url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &id.to_string()),
                ("client_secret", SECRET),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("token JSON");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(self.tokens.get(who).cloned().unwrap_or_default())
            .send()
            .await
            .expect("GET");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(self.tokens.get(who).cloned().unwrap_or_default())
            .json(&body)
            .send()
            .await
            .expect("POST");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn lab_control(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base.lab.info().control));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("lab control");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    /// Waits (up to `within`) until `probe` returns Some.
    async fn until<T>(
        &self,
        what: &str,
        within: Duration,
        probe: impl AsyncFnMut() -> Option<T>,
    ) -> T {
        support::until(what, within, probe).await
    }

    /// The queue rows whose text matches `q`.
    async fn queue(&self, q: &str) -> Vec<Value> {
        let (status, page) = self
            .get("viewer", &format!("/api/v1/tickets?q={}", urlencode(q)))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"].as_array().cloned().unwrap_or_default()
    }

    /// A new incident in the lab's ServiceNow, in the Service Desk queue.
    async fn incident(&self, text: &str) -> (String, String) {
        let group = self
            .sn
            .group_by_name("Service Desk")
            .await
            .expect("group lookup")
            .expect("Service Desk exists");
        let mut fields = Map::new();
        fields.insert("short_description".into(), json!(text));
        fields.insert("assignment_group".into(), json!(group));
        fields.insert("impact".into(), json!("2"));
        fields.insert("urgency".into(), json!("2"));
        let record = self
            .sn
            .insert("incident", &fields)
            .await
            .expect("insert incident");
        (
            record.text("number"),
            record.sys_id().unwrap_or_default().to_owned(),
        )
    }

    async fn incident_fields(&self, sys_id: &str) -> deskbridge::servicenow::Record {
        self.sn
            .get(
                "incident",
                sys_id,
                &deskbridge::servicenow::ReadOptions::new().fields([
                    "number",
                    "state",
                    "assigned_to",
                    "assignment_group",
                    "close_code",
                    "close_notes",
                    "sys_mod_count",
                ]),
            )
            .await
            .expect("read incident")
    }

    async fn journal(&self, table: &str, sys_id: &str) -> Vec<(String, String)> {
        let mut entries = self.sn.journal(table, sys_id, 100).await.expect("journal");
        entries.reverse();
        entries.into_iter().map(|e| (e.element, e.value)).collect()
    }

    async fn job(&self, id: &str) -> Value {
        let (status, job) = self.get("viewer", &format!("/api/v1/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        job
    }

    async fn wait_job(&self, id: &str, within: Duration) -> Value {
        self.until("the job to finish", within, async || {
            let job = self.job(id).await;
            let state = job["state"].as_str().unwrap_or_default();
            (!matches!(state, "queued" | "running")).then_some(job)
        })
        .await
    }

    /// A helpdesk write to a lab ticket: `take`, `notes` or `resolve`.
    async fn write(&self, number: &str, verb: &str, body: Value) -> (StatusCode, Value) {
        self.post(
            "helpdesk",
            &format!("/api/v1/tickets/lab/{number}/{verb}"),
            body,
        )
        .await
    }

    /// Waits until the job's `ticket_status` (its last ticket write's outcome) satisfies `wanted`.
    async fn wait_ticket_status(&self, job: &str, wanted: impl Fn(&str) -> bool) {
        self.until(
            "the job's ticket status",
            Duration::from_secs(60),
            async || {
                let job = self.job(job).await;
                job["ticket_status"]
                    .as_str()
                    .filter(|s| wanted(s))
                    .map(|_| ())
            },
        )
        .await
    }

    async fn sessions(&self, site: &str, n: usize) -> Vec<Value> {
        let path = format!("/api/v1/sites/{site}/sessions");
        let all = self
            .until(
                "the site's inventory",
                Duration::from_secs(60),
                async || {
                    let (status, body) = self.get("viewer", &path).await;
                    let items = body["items"].as_array().cloned().unwrap_or_default();
                    (status == StatusCode::OK && items.len() >= n).then_some(items)
                },
            )
            .await;
        all.into_iter()
            .filter(|s| s["state"] == "Active" || s["state"] == "Disconnected")
            .take(n)
            .collect()
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn unique(label: &str) -> String {
    format!("{label} {}", Uuid::new_v4().simple())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_queue_syncs_filters_and_takes_notes_and_resolves() {
    let env = Env::start(Scale::Small, &|_| {}).await;
    // The seeded backlog is synced.
    let (status, page) = env.get("viewer", "/api/v1/tickets?limit=5").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page["total"].as_u64().unwrap_or(0) > 5, "{page}");
    assert!(page["sync"]["lab"]["synced_at"].is_string(), "{page}");

    // A new incident appears on the next delta poll, unassigned and New.
    let text = unique("Session frozen");
    let (number, sys_id) = env.incident(&text).await;
    let row = env
        .until(
            "the new incident in the queue",
            Duration::from_secs(10),
            async || env.queue(&text).await.into_iter().next(),
        )
        .await;
    assert_eq!(row["number"], number.as_str());
    assert_eq!(row["state"], "New");
    assert_eq!(row["assignment_group"]["name"], "Service Desk");
    assert!(row["assigned_to"].is_null());
    let filtered = |query: &'static str| {
        let env = &env;
        let number = number.clone();
        async move {
            let (status, page) = env
                .get("viewer", &format!("/api/v1/tickets?{query}&limit=1000"))
                .await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            page["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|t| t["number"] == number.as_str()))
        }
    };
    assert!(filtered("assigned_to=none&state=new&kind=incident").await);
    assert!(filtered("group=service%20desk").await);
    assert!(!filtered("group=Citrix%20Operations").await);

    // Take: assigned to the adapter's ServiceNow user, In Progress, with the note.
    let (status, taken) = env
        .write(&number, "take", json!({"note": "Looking at it"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken["write"]["status"], "delivered");
    assert_eq!(taken["ticket"]["state"], "In Progress", "{taken}");
    assert_eq!(
        taken["ticket"]["assigned_to"]["name"], "Deskbridge Integration",
        "{taken}"
    );
    assert!(filtered("assigned_to=me&instance=lab").await);
    assert!(!filtered("assigned_to=none").await);

    // A note, then the detail shows it in the journal.
    let (status, noted) = env
        .write(&number, "notes", json!({"text": "Logged the user off"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{noted}");
    let (status, detail) = env
        .get("viewer", &format!("/api/v1/tickets/lab/{number}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["live"], true);
    let notes: Vec<&str> = detail["journal"]
        .as_array()
        .map(|j| j.iter().filter_map(|e| e["value"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        notes.contains(&"Logged the user off") && notes.contains(&"Looking at it"),
        "{detail}"
    );

    // Bad input: clear errors, nothing written.
    let before = env.incident_fields(&sys_id).await.text("sys_mod_count");
    for (who, path, body, expected) in [
        (
            "helpdesk",
            format!("/api/v1/tickets/lab/{number}/notes"),
            json!({"text": "  "}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "helpdesk",
            format!("/api/v1/tickets/lab/{number}/notes"),
            json!({"text": "x", "visibility": "public"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "helpdesk",
            format!("/api/v1/tickets/lab/{number}/resolve"),
            json!({"close_notes": "x", "extra": 1}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "helpdesk",
            "/api/v1/tickets/nowhere/INC0000001/take".to_owned(),
            json!({}),
            StatusCode::NOT_FOUND,
        ),
        (
            "helpdesk",
            "/api/v1/tickets/lab/XYZ123/take".to_owned(),
            json!({}),
            StatusCode::NOT_FOUND,
        ),
        (
            "viewer",
            format!("/api/v1/tickets/lab/{number}/take"),
            json!({}),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (status, body) = env.post(who, &path, body).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    let (status, body) = env.get("viewer", "/api/v1/tickets?state=sleeping").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        env.incident_fields(&sys_id).await.text("sys_mod_count"),
        before
    );

    // Resolve: Resolved with the configured close code; it leaves the queue.
    let (status, resolved) = env
        .write(
            &number,
            "resolve",
            json!({"close_notes": "Session reset; user back in"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    let record = env.incident_fields(&sys_id).await;
    assert_eq!(record.text("state"), "6");
    assert_eq!(record.text("close_code"), "Solution provided");
    assert_eq!(record.text("close_notes"), "Session reset; user back in");
    env.until(
        "the resolved incident to leave the queue",
        Duration::from_secs(10),
        async || env.queue(&text).await.is_empty().then_some(()),
    )
    .await;

    // Every write is in the audit log with its ticket.
    let (status, audit) = env
        .get("admin", "/api/v1/audit?action=ticket.resolve")
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert!(audit.to_string().contains(&number), "{audit}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_made_in_servicenow_meanwhile_is_not_overruled() {
    let env = Env::start(Scale::Small, &|_| {}).await;
    let text = unique("Cannot start desktop");
    let (number, sys_id) = env.incident(&text).await;
    let (status, body) = env.write(&number, "take", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Someone puts it on hold in ServiceNow directly.
    let mut hold = Map::new();
    hold.insert("state".into(), json!("3"));
    hold.insert("hold_reason".into(), json!("1"));
    hold.insert("comments".into(), json!("Waiting for the user"));
    env.sn
        .patch("incident", &sys_id, &hold)
        .await
        .expect("put on hold");
    let (status, body) = env
        .write(&number, "resolve", json!({"close_notes": "done"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("On Hold"), "{message}");
    let record = env.incident_fields(&sys_id).await;
    assert_eq!(record.text("state"), "3", "left as the person set it");
    assert_eq!(record.text("close_notes"), "");
    // A note is still welcome: appending never overrules anyone.
    let (status, body) = env.write(&number, "notes", json!({"text": "Noted"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The refused write is in the audit log as failed.
    let (_, audit) = env
        .get("admin", "/api/v1/audit?action=ticket.resolve")
        .await;
    assert!(audit.to_string().contains("conflict"), "{audit}");
    env.stop().await;
}

/// Reads SSE messages until `done` says stop; returns every (event, data) seen.
async fn follow_events(
    env: &Env,
    kinds: &str,
    within: Duration,
    mut done: impl FnMut(&str, &Value) -> bool,
) -> Vec<(String, Value)> {
    let mut response = env
        .http
        .get(format!("{}/api/v1/events?kinds={kinds}&since=0", env.url))
        .bearer_auth(env.tokens.get("viewer").cloned().unwrap_or_default())
        .send()
        .await
        .expect("events");
    assert_eq!(response.status(), StatusCode::OK);
    let mut buffer = String::new();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("events before the deadline")
            .expect("stream readable")
            .expect("stream open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            let mut event = String::new();
            let mut data = String::new();
            for line in message.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
            let stop = done(&event, &data);
            seen.push((event, data));
            if stop {
                return seen;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bulk_reset_of_a_thousand_sessions_resolves_its_ticket() {
    let env = Env::start(Scale::Large, &|config| {
        for site in &mut config.sites {
            site.concurrency = 32;
        }
    })
    .await;
    let text = unique("Floor 3 sessions frozen");
    let (number, sys_id) = env.incident(&text).await;
    let mut targets = Vec::new();
    for site in ["London", "Cloud"] {
        for s in env.sessions(site, 500).await {
            targets.push(json!({"site": site, "id": s["id"]}));
        }
    }
    assert_eq!(targets.len(), 1000);
    let (status, job) = env
        .post(
            "helpdesk",
            "/api/v1/jobs",
            json!({"action": "session.logoff", "targets": targets,
                   "ticket": {"instance": "lab", "number": number}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().expect("job id").to_owned();

    // Follow it over SSE to the end: progress events, then the ticket's resolve delivered.
    let subject = format!("lab/{number}");
    let mut job_done = false;
    let seen = follow_events(
        &env,
        "job,ticket",
        Duration::from_secs(180),
        |event, data| {
            if event == "job"
                && data["payload"]["job_id"] == id.as_str()
                && data["payload"]["state"] == "succeeded"
            {
                job_done = true;
            }
            job_done
                && event == "ticket"
                && data["subject"] == subject.as_str()
                && data["payload"]["write"]["purpose"] == "resolve"
                && data["payload"]["write"]["result"] == "delivered"
        },
    )
    .await;
    let progress_events = seen
        .iter()
        .filter(|(e, d)| e == "job" && d["payload"]["job_id"] == id.as_str())
        .count();
    assert!(
        progress_events >= 2,
        "job progress was streamed: {progress_events} events"
    );

    let job = env.job(&id).await;
    assert_eq!(job["state"], "succeeded", "{}", job["error"]);
    assert_eq!(job["progress"]["succeeded"], 1000);
    assert!(
        job["ticket_status"]
            .as_str()
            .is_some_and(|s| s.starts_with("resolve: written")),
        "{}",
        job["ticket_status"]
    );
    let record = env.incident_fields(&sys_id).await;
    assert_eq!(record.text("state"), "6");
    let notes = record.text("close_notes");
    assert!(
        notes.contains(&id) && notes.contains("1000 targets"),
        "{notes}"
    );
    let journal = env.journal("incident", &sys_id).await;
    let started: Vec<_> = journal
        .iter()
        .filter(|(_, v)| v.contains(&format!("deskbridge job {id} started")))
        .collect();
    assert_eq!(started.len(), 1, "one start note: {journal:?}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ticket_writes_wait_out_a_servicenow_outage_and_arrive_once_in_order() {
    let env = Env::start(Scale::Small, &|_| {}).await;
    let mut tickets = Vec::new();
    for n in 0..3 {
        tickets.push(env.incident(&unique(&format!("Outage ticket {n}"))).await);
    }
    let sessions = env.sessions("London", 6).await;
    // ServiceNow goes down; the jobs run regardless.
    let outage = "/servicenow/lab/faults";
    env.lab_control(reqwest::Method::POST, outage, Some(json!({"outage": true})))
        .await;
    let mut jobs = Vec::new();
    for (i, (number, _)) in tickets.iter().enumerate() {
        let targets: Vec<Value> = sessions[i * 2..i * 2 + 2]
            .iter()
            .map(|s| json!({"site": "London", "id": s["id"]}))
            .collect();
        let (status, job) = env
            .post(
                "helpdesk",
                "/api/v1/jobs",
                json!({"action": "session.logoff", "targets": targets,
                  "ticket": {"instance": "lab", "number": number}}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        jobs.push(job["id"].as_str().unwrap_or_default().to_owned());
    }
    for id in &jobs {
        let job = env.wait_job(id, Duration::from_secs(60)).await;
        assert_eq!(job["state"], "succeeded", "{job}");
    }
    // The writes wait: each job says so.
    for id in &jobs {
        env.wait_ticket_status(id, |s| s.contains("waiting for ServiceNow"))
            .await;
    }
    env.lab_control(reqwest::Method::DELETE, outage, None).await;
    for id in &jobs {
        env.wait_ticket_status(id, |s| s.starts_with("resolve: written"))
            .await;
    }
    for ((_, sys_id), id) in tickets.iter().zip(&jobs) {
        let record = env.incident_fields(sys_id).await;
        assert_eq!(record.text("state"), "6", "resolved");
        // Taken once, then resolved: two writes, in that order, nothing doubled.
        assert_eq!(record.text("sys_mod_count"), "2", "exactly two updates");
        let journal = env.journal("incident", sys_id).await;
        let mine: Vec<_> = journal
            .iter()
            .filter(|(_, v)| v.contains(id.as_str()))
            .collect();
        assert_eq!(mine.len(), 1, "one start note: {journal:?}");
        assert!(mine[0].1.contains("started"));
    }
    env.stop().await;
}

async fn order(env: &Env, item: &str, variables: &[(&str, &str)]) -> (String, String) {
    let item_id = env
        .sn
        .catalog_item_by_name(item)
        .await
        .expect("item lookup")
        .expect("item exists");
    let vars: std::collections::BTreeMap<String, String> = variables
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let requested_for = variables
        .iter()
        .find(|(k, _)| *k == "requested_for")
        .map(|(_, v)| *v);
    let order = env
        .sn
        .order_now(&item_id, requested_for, &vars)
        .await
        .expect("order_now");
    let ritm = order.items.first().expect("one requested item");
    (ritm.number.clone(), ritm.sys_id.clone())
}

/// A lab user with an active session: (ServiceNow sys_id, delivery group name).
async fn user_with_session(env: &Env) -> (String, String, String) {
    let sessions = env.sessions("London", 40).await;
    for s in sessions {
        let (Some(user), Some(group)) = (
            s["user_name"].as_str(),
            s["delivery_group"]["name"].as_str(),
        ) else {
            continue;
        };
        let sam = user.rsplit('\\').next().unwrap_or(user);
        if let Ok(Some(u)) = env.sn.user_by_user_name(sam).await {
            return (
                u.sys_id,
                group.to_owned(),
                s["id"].as_str().unwrap_or_default().to_owned(),
            );
        }
    }
    panic!("no lab user with a London session is a ServiceNow user");
}

async fn task_of(env: &Env, ritm: &str) -> deskbridge::servicenow::Record {
    let params = ListParams::new()
        .query(
            Query::new()
                .eq("request_item", ritm)
                .build()
                .expect("query"),
        )
        .fields(["number", "state", "close_notes", "sys_id"]);
    env.sn
        .list("sc_task", &params)
        .await
        .expect("tasks")
        .into_iter()
        .next()
        .expect("a task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn zero_touch_requests_are_fulfilled_and_closed_with_no_operator() {
    let env = Env::start(Scale::Small, &|config| {
        config.servicenow[0].auto_fulfil = vec!["Reset a session".to_owned()];
    })
    .await;
    let (user, group, session) = user_with_session(&env).await;

    // Called by ServiceNow: the request becomes a job linked to its catalog task.
    let (ritm, ritm_id) = order(
        &env,
        "Reset a session for other users",
        &[
            ("target_user_upn", &user_upn(&env, &user).await),
            ("resource_name", &group),
        ],
    )
    .await;
    let (status, job) = env
        .post(
            "helpdesk",
            "/api/v1/servicenow/lab/requests",
            json!({"table": "sc_req_item", "sys_id": ritm_id}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["action"], "session.logoff");
    assert!(
        job["ticket"]["number"]
            .as_str()
            .is_some_and(|n| n.starts_with("SCTASK")),
        "{job}"
    );
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    // Asking again gives the same job.
    let (status, again) = env
        .post(
            "helpdesk",
            "/api/v1/servicenow/lab/requests",
            json!({"table": "sc_req_item", "sys_id": ritm_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], id.as_str());
    let job = env.wait_job(&id, Duration::from_secs(60)).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert!(
        job["tasks"].to_string().contains(&session),
        "the user's session was logged off: {job}"
    );
    let task = env
        .until(
            "the catalog task to close",
            Duration::from_secs(30),
            async || {
                let task = task_of(&env, &ritm_id).await;
                (task.text("state") == "3").then_some(task)
            },
        )
        .await;
    assert!(
        task.text("close_notes").contains(&id),
        "{}",
        task.text("close_notes")
    );
    let _ = ritm;

    // Found by the poller: an auto-fulfilled item needs no call at all.
    let (_, auto_ritm_id) = order(
        &env,
        "Reset a session",
        &[("requested_for", &user), ("resource_name", &group)],
    )
    .await;
    let task = env
        .until(
            "the auto-fulfilled task to close",
            Duration::from_secs(60),
            async || {
                let task = task_of(&env, &auto_ritm_id).await;
                (task.text("state") == "3").then_some(task)
            },
        )
        .await;
    assert!(
        task.text("close_notes").contains("deskbridge job"),
        "{}",
        task.text("close_notes")
    );

    // Not automatable: 422 with the reason, one work note, the ticket handed to L2.
    let (_, desk_ritm_id) = order(
        &env,
        "Request a desktop",
        &[("requested_for", &user), ("delivery_group", &group)],
    )
    .await;
    for _ in 0..2 {
        let (status, body) = env
            .post(
                "helpdesk",
                "/api/v1/servicenow/lab/requests",
                json!({"table": "sc_req_item", "sys_id": desk_ritm_id}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("needs a person")),
            "{body}"
        );
    }
    let task = task_of(&env, &desk_ritm_id).await;
    let task_id = task.sys_id().unwrap_or_default().to_owned();
    let notes = env
        .until(
            "the explanatory note",
            Duration::from_secs(20),
            async || {
                let journal = env.journal("sc_task", &task_id).await;
                let notes: Vec<_> = journal
                    .into_iter()
                    .filter(|(_, v)| v.contains("did not fulfil"))
                    .collect();
                (!notes.is_empty()).then_some(notes)
            },
        )
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        env.journal("sc_task", &task_id)
            .await
            .iter()
            .filter(|(_, v)| v.contains("did not fulfil"))
            .count(),
        1,
        "{notes:?}"
    );

    // Bad requests create nothing.
    for (body, expected) in [
        (
            json!({"table": "incident", "sys_id": "0123456789abcdef0123456789abcdef"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"table": "sc_req_item", "sys_id": "0123456789abcdef0123456789abcdef"}),
            StatusCode::NOT_FOUND,
        ),
        (json!({"table": "sc_req_item"}), StatusCode::BAD_REQUEST),
    ] {
        let (status, answer) = env
            .post("helpdesk", "/api/v1/servicenow/lab/requests", body)
            .await;
        assert_eq!(status, expected, "{answer}");
    }
    let (status, _) = env
        .post(
            "helpdesk",
            "/api/v1/servicenow/nowhere/requests",
            json!({"table": "sc_req_item", "sys_id": ritm_id}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    env.stop().await;
}

async fn user_upn(env: &Env, sys_id: &str) -> String {
    let record = env
        .sn
        .get(
            "sys_user",
            sys_id,
            &deskbridge::servicenow::ReadOptions::new().fields(["email"]),
        )
        .await
        .expect("user");
    record.text("email")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partly_failed_job_leaves_its_ticket_open_with_the_errors_for_l2() {
    let env = Env::start(Scale::Small, &|_| {}).await;
    let (number, sys_id) = env.incident(&unique("Disconnect two sessions")).await;
    let real = env.sessions("London", 1).await;
    let targets = json!([
        {"site": "London", "id": real[0]["id"]},
        {"site": "London", "id": "no-such-session"}
    ]);
    let (status, job) = env
        .post(
            "helpdesk",
            "/api/v1/jobs",
            json!({"action": "session.disconnect", "targets": targets,
                   "ticket": {"instance": "lab", "number": number}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    let job = env.wait_job(&id, Duration::from_secs(60)).await;
    assert_eq!(job["state"], "partially_failed", "{job}");
    env.wait_ticket_status(&id, |s| s.starts_with("job failed: written"))
        .await;
    let record = env.incident_fields(&sys_id).await;
    assert_eq!(
        record.text("state"),
        "2",
        "still In Progress, never resolved"
    );
    assert_eq!(record.text("assigned_to"), "", "handed back to a group");
    let l2 = env
        .sn
        .group_by_name("Desktop Support L2")
        .await
        .expect("group lookup")
        .expect("L2 exists");
    assert_eq!(record.text("assignment_group"), l2);
    let journal = env.journal("incident", &sys_id).await;
    let failure = journal
        .iter()
        .find(|(_, v)| v.contains("failed on 1 of 2 targets"))
        .unwrap_or_else(|| panic!("a failure note: {journal:?}"));
    assert!(failure.1.contains("no-such-session"), "{}", failure.1);
    env.stop().await;
}
