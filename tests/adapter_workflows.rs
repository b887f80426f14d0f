//! Workflows through the adapter, over real HTTP against the lab's CVAD sites and directory:
//! pooled desktop and app requests (on behalf of someone else), a persistent desktop taken
//! from the free machines or provisioned through MCS and waited for until it registers,
//! offboarding end to end, and a failure injected at each step of offboarding and of
//! provisioning: the job fails naming the steps done, the ticket stays open, and the retry
//! continues from the failed step without repeating a done one.

mod support;

use std::time::Duration;

use deskbridge::config::{PersistentDesktop, PooledDesktop, RouteTarget, RoutingConfig};
use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::lab::Scale;
use deskbridge::model::RegistrationState;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::Api;
use support::{LabAdapter, token, until};

const SITE: &str = "London";
const POOLED: &str = "London Pooled Desktops";
const STATIC: &str = "London Persistent Desktops";
const CATALOG: &str = "LDN Win11 Persistent";
const APPS: &str = "Office Suite";

/// Everyone goes to London: the default rule names every resource, so the tests do not
/// depend on which office a lab person is in (routing decisions have their own tests).
fn routing() -> RoutingConfig {
    RoutingConfig {
        rules: Vec::new(),
        default: Some(RouteTarget {
            site: SITE.into(),
            pooled_desktop: Some(PooledDesktop::DeliveryGroup(POOLED.into())),
            persistent_desktop: Some(PersistentDesktop {
                delivery_group: STATIC.into(),
                catalog: CATALOG.into(),
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
    site: CvadClient,
}

impl Env {
    async fn start() -> Env {
        let base = LabAdapter::start(Scale::Small, &|config| config.routing = routing()).await;
        let http = reqwest::Client::new();
        let helpdesk = token(&http, &base.url, base.id("helpdesk")).await;
        let admin = token(&http, &base.url, base.id("admin")).await;
        let info = base
            .lab
            .info()
            .sites
            .iter()
            .find(|s| s.name == SITE)
            .expect("the lab's London site")
            .clone();
        let site = CvadClient::new(CvadConfig::from_lab(&info)).expect("client");
        Env {
            api: Api::new(&base.url),
            base,
            helpdesk,
            admin,
            site,
        }
    }

    /// Lab people with at least one session at London, each once, in a stable order.
    async fn people_in_session(&self) -> Vec<String> {
        let mut people: Vec<String> = self
            .site
            .sessions()
            .await
            .expect("sessions")
            .into_iter()
            .filter(|s| !s.logoff_in_progress)
            .map(|s| s.user_name)
            .collect();
        people.sort();
        people.dedup();
        people
    }

    /// The `nth` lab person without a session at London.
    async fn person(&self, nth: usize) -> String {
        let busy = self.people_in_session().await;
        let (status, page) = self
            .api
            .get(&self.admin, "/api/v1/accounts?q=a&domain=LAB&limit=300")
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|a| {
                a["disabled"] == false && a["sam_name"].as_str().is_some_and(|s| s.contains('.'))
            })
            .map(|a| format!("LAB\\{}", a["sam_name"].as_str().unwrap_or_default()))
            .filter(|name| !busy.iter().any(|b| b.eq_ignore_ascii_case(name)))
            .nth(nth)
            .expect("enough lab people")
    }

    async fn submit(&self, token: &str, action: &str, person: &str, params: Value) -> Value {
        let (domain, sam) = person.split_once('\\').expect("DOMAIN\\sam");
        let body = json!({
            "action": action,
            "targets": [{ "site": domain, "id": sam }],
            "params": params,
        });
        let (status, job) = self.api.post(token, "/api/v1/jobs", body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        job
    }

    async fn run(&self, token: &str, action: &str, person: &str, params: Value) -> Value {
        let job = self.submit(token, action, person, params).await;
        self.finished(&job).await
    }

    async fn finished(&self, job: &Value) -> Value {
        let id = job["id"].as_str().expect("job id").to_owned();
        until("the workflow to end", Duration::from_secs(90), async || {
            let (_, job) = self
                .api
                .get(&self.admin, &format!("/api/v1/jobs/{id}"))
                .await;
            let state = job["state"].as_str().unwrap_or_default();
            (!matches!(state, "queued" | "running")).then_some(job)
        })
        .await
    }

    /// Retries the failed job `failed`, whose step `at` failed after the steps `before` it,
    /// and waits for success: the steps done before it keep their records (not repeated).
    /// The steps after the retry.
    async fn retried_from(&self, failed: &Value, before: &[Value], at: usize) -> Vec<Value> {
        let id = failed["id"].as_str().expect("id");
        let (status, retried) = self
            .api
            .post(&self.admin, &format!("/api/v1/jobs/{id}/retry"), json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{retried}");
        let done = self.finished(&retried).await;
        assert_eq!(done["state"], "succeeded", "step {at} retried: {done:#}");
        let after = steps(&done);
        for (old, new) in before[..at].iter().zip(&after[..at]) {
            assert_eq!(
                old["ended_at"], new["ended_at"],
                "a done step is not repeated: {new}"
            );
        }
        after
    }

    async fn fail_next(&self, method: &str, path: &str) {
        let http = reqwest::Client::new();
        for site in &self.base.lab.info().sites {
            let response = http
                .post(format!(
                    "{}/sites/{}/faults",
                    self.base.lab.info().control,
                    site.name
                ))
                .json(&json!({ "fail_next": {
                    "method": method, "path_contains": path, "status": 400, "count": 1
                } }))
                .send()
                .await
                .expect("faults");
            assert!(response.status().is_success(), "fault for {}", site.name);
        }
    }
}

fn steps(job: &Value) -> Vec<Value> {
    job["tasks"][0]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn states(job: &Value) -> Vec<String> {
    steps(job)
        .iter()
        .map(|s| {
            format!(
                "{}={}",
                s["kind"].as_str().unwrap_or("?"),
                s["state"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pooled_desktop_and_apps_request_on_behalf_of_someone_entitles_them_once() {
    let env = Env::start().await;
    let person = env.person(0).await;
    let requester = env.person(1).await;

    let (domain, sam) = person.split_once('\\').expect("person");
    let (status, preview) = env
        .api
        .post(
            &env.helpdesk,
            "/api/v1/workflows/preview",
            json!({ "action": "request.pooled_desktop",
                    "targets": [{ "site": domain, "id": sam }],
                    "params": { "requester": requester } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(preview["routing"]["route"]["site"], SITE, "{preview}");
    assert_eq!(
        preview["steps"].as_array().map(Vec::len),
        Some(1),
        "{preview}"
    );
    assert_eq!(preview["requester"], requester.as_str());
    let before = env
        .site
        .delivery_group_entitlement(POOLED)
        .await
        .expect("group");
    assert!(
        !before.includes(&person),
        "{person} starts without the desktop"
    );

    let job = env
        .run(
            &env.helpdesk,
            "request.pooled_desktop",
            &person,
            json!({ "requester": requester }),
        )
        .await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(
        job["params"]["requester"],
        requester.as_str(),
        "both people recorded"
    );
    assert_eq!(job["tasks"][0]["target_id"], person.as_str());
    assert_eq!(states(&job), ["cvad.entitle_delivery_group=done"]);
    let after = env
        .site
        .delivery_group_entitlement(POOLED)
        .await
        .expect("group");
    assert!(after.includes(&person), "{person} is entitled at the site");

    // The same request again changes nothing and says so.
    let again = env
        .run(&env.helpdesk, "request.pooled_desktop", &person, json!({}))
        .await;
    assert_eq!(again["state"], "succeeded", "{again:#}");
    assert_eq!(states(&again), ["cvad.entitle_delivery_group=skipped"]);
    let detail = steps(&again)[0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(detail.contains("already entitled"), "{detail}");

    let apps = env
        .run(&env.helpdesk, "request.apps", &person, json!({}))
        .await;
    assert_eq!(apps["state"], "succeeded", "{apps:#}");
    let group = env
        .site
        .application_group_entitlement(APPS)
        .await
        .expect("app group");
    assert!(group.includes(&person), "{person} gets the applications");

    // A persistent desktop may provision: admin only.
    let (domain, sam) = person.split_once('\\').expect("person");
    let (status, refused) = env
        .api
        .post(
            &env.helpdesk,
            "/api/v1/jobs",
            json!({ "action": "request.persistent_desktop",
                    "targets": [{ "site": domain, "id": sam }] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    env.base.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_workflow_requests_are_refused_with_what_is_wrong_and_create_nothing() {
    let env = Env::start().await;
    let person = env.person(0).await;
    let (_, sam) = person.split_once('\\').expect("person");
    let cases = [
        (
            json!({ "action": "request.apps", "targets": [{ "site": "LAB", "id": "no.such.person" }] }),
            "no account",
        ),
        (
            json!({ "action": "request.apps", "targets": [{ "site": "NOWHERE", "id": sam }] }),
            "no directory for domain",
        ),
        (
            json!({ "action": "request.apps", "targets": [{ "site": "LAB", "id": sam }],
                 "params": { "resources": { "rule": "mine", "site": "London", "pooled_desktop": null,
                             "persistent_desktop": null, "apps": [], "groups": [] } } }),
            "routing rules",
        ),
        (
            json!({ "action": "user.onboard", "targets": [{ "site": "LAB", "id": sam }],
                 "params": { "person": { "given_name": "A", "surname": "B" } } }),
            "already exists",
        ),
        (
            json!({ "action": "user.offboard", "targets": [{ "site": "LAB", "id": sam },
                                                           { "site": "LAB", "id": "x.y" }] }),
            "one person per job",
        ),
        (
            json!({ "action": "user.offboard", "targets": [{ "site": "LAB", "id": sam }],
                 "params": { "machines": "shred" } }),
            "unknown variant",
        ),
    ];
    for (body, says) in cases {
        let (status, error) = env.api.post(&env.admin, "/api/v1/jobs", body.clone()).await;
        assert!(status.is_client_error(), "{body} → {status} {error}");
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
    }
    let (_, jobs) = env.api.get(&env.admin, "/api/v1/jobs").await;
    assert_eq!(
        jobs["items"].as_array().map(Vec::len),
        Some(0),
        "no job was created: {jobs}"
    );
    env.base.stop().await;
}

/// The group's machines nobody is assigned to and nobody uses: the ones a request could take.
async fn free_machines(site: &CvadClient) -> Vec<String> {
    site.machines()
        .await
        .expect("machines")
        .into_iter()
        .filter(|m| {
            m.delivery_group.as_ref().is_some_and(|g| g.name == STATIC)
                && m.assigned_users.is_empty()
                && m.session_count == 0
                && !m.in_maintenance_mode
        })
        .map(|m| m.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_persistent_desktop_takes_a_free_machine_else_provisions_one_that_registers() {
    let env = Env::start().await;
    let first = env.person(0).await;
    let free = free_machines(&env.site).await;
    assert!(!free.is_empty(), "the lab's static group has free machines");

    let job = env
        .run(&env.admin, "request.persistent_desktop", &first, json!({}))
        .await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    let kinds = states(&job);
    assert_eq!(kinds[0], "cvad.pick_machine=done", "{kinds:?}");
    assert_eq!(kinds[1], "cvad.provision_machine=skipped", "{kinds:?}");
    let picked = steps(&job)[0]["output"]["machine"]
        .as_str()
        .expect("picked")
        .to_owned();
    assert!(
        free.contains(&picked),
        "{picked} was one of the free machines"
    );
    let machine = env.site.machine(&picked).await.expect("machine");
    assert!(
        machine
            .assigned_users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(&first)),
        "{machine:?}"
    );
    assert_eq!(machine.registration_state, RegistrationState::Registered);

    // No machine free any more (the rest held in maintenance): the next one is made.
    for name in free_machines(&env.site).await {
        env.site
            .set_maintenance_mode(&name, true)
            .await
            .expect("maintenance");
    }
    let second = env.person(1).await;
    let job = env
        .run(&env.admin, "request.persistent_desktop", &second, json!({}))
        .await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(
        states(&job),
        [
            "cvad.pick_machine=skipped",
            "cvad.provision_machine=done",
            "cvad.add_to_delivery_group=done",
            "cvad.assign_machine=skipped",
            "cvad.power_on=done",
            "cvad.wait_registered=done",
        ]
    );
    let made = steps(&job)[1]["output"]["machine"]
        .as_str()
        .expect("made")
        .to_owned();
    assert!(
        made.contains("LDN-NEW-"),
        "named by the route's scheme: {made}"
    );
    let machine = env.site.machine(&made).await.expect("new machine");
    assert_eq!(
        machine.delivery_group.map(|g| g.name).as_deref(),
        Some(STATIC)
    );
    assert!(
        machine
            .assigned_users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(&second))
    );
    assert_eq!(machine.registration_state, RegistrationState::Registered);
    env.base.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offboarding_logs_off_removes_entitlements_disables_and_deletes_the_machine() {
    let env = Env::start().await;
    let person = env
        .people_in_session()
        .await
        .into_iter()
        .next()
        .expect("someone in session");
    // Give them what offboarding must take away.
    for action in [
        "request.pooled_desktop",
        "request.apps",
        "request.persistent_desktop",
    ] {
        let job = env.run(&env.admin, action, &person, json!({})).await;
        assert_eq!(job["state"], "succeeded", "{action}: {job:#}");
    }
    let desktop = env
        .site
        .machines()
        .await
        .expect("machines")
        .into_iter()
        .find(|m| {
            m.assigned_users
                .iter()
                .any(|u| u.eq_ignore_ascii_case(&person))
        })
        .expect("their desktop");

    let job = env
        .run(
            &env.admin,
            "user.offboard",
            &person,
            json!({ "machines": "delete" }),
        )
        .await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert_eq!(
        states(&job),
        [
            "cvad.logoff_sessions=done",
            "cvad.remove_entitlements=done",
            "account.disable=done",
            "cvad.release_machines=done",
        ]
    );
    until("the sessions to end", Duration::from_secs(30), async || {
        let left: Vec<_> = env
            .site
            .sessions()
            .await
            .expect("sessions")
            .into_iter()
            .filter(|s| s.user_name.eq_ignore_ascii_case(&person) && !s.logoff_in_progress)
            .collect();
        left.is_empty().then_some(())
    })
    .await;
    assert!(
        !env.site
            .delivery_group_entitlement(POOLED)
            .await
            .expect("g")
            .includes(&person)
    );
    assert!(
        !env.site
            .application_group_entitlement(APPS)
            .await
            .expect("a")
            .includes(&person)
    );
    let (_, sam) = person.split_once('\\').expect("person");
    let (status, account) = env
        .api
        .get(&env.admin, &format!("/api/v1/accounts/LAB/{sam}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["disabled"], true, "{account}");
    let gone = env.site.machine(&desktop.name).await;
    assert!(
        gone.is_err_and(|e| e.is_not_found()),
        "{} is deleted",
        desktop.name
    );
    env.base.stop().await;
}

/// An open incident of the lab's ServiceNow, for a job to be linked to (once the adapter has
/// read the queue).
async fn open_ticket(env: &Env) -> String {
    until(
        "an open incident in the queue",
        Duration::from_secs(30),
        async || {
            let (_, page) = env.api.get(&env.admin, "/api/v1/tickets?limit=50").await;
            page["items"]
                .as_array()?
                .iter()
                .filter_map(|t| t["number"].as_str())
                .find(|n| n.starts_with("INC"))
                .map(str::to_owned)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failure_at_each_offboarding_step_keeps_the_ticket_open_and_retry_continues() {
    // (method, path the step's first change calls) for each of the four steps.
    let breaks = [
        ("POST", "$logoff"),
        ("PATCH", "/deliverygroups/"),
        ("PATCH", "/identity/users/"),
        ("PATCH", "/machines/"),
    ];
    for (at, (method, path)) in breaks.into_iter().enumerate() {
        let env = Env::start().await;
        let person = env
            .people_in_session()
            .await
            .into_iter()
            .nth(at)
            .expect("someone");
        for action in ["request.pooled_desktop", "request.persistent_desktop"] {
            let job = env.run(&env.admin, action, &person, json!({})).await;
            assert_eq!(job["state"], "succeeded", "{action}: {job:#}");
        }
        let ticket = open_ticket(&env).await;
        env.fail_next(method, path).await;
        let (domain, sam) = person.split_once('\\').expect("person");
        let (status, job) = env
            .api
            .post(
                &env.admin,
                "/api/v1/jobs",
                json!({ "action": "user.offboard",
                        "targets": [{ "site": domain, "id": sam }],
                        "ticket": { "instance": "lab", "number": ticket } }),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let failed = env.finished(&job).await;
        assert_eq!(failed["state"], "failed", "step {at}: {failed:#}");
        let error = failed["tasks"][0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains(&format!("step {} of 4", at + 1)), "{error}");
        if at > 0 {
            assert!(error.contains("Done before it: 1 "), "{error}");
        }
        let before = steps(&failed);
        assert_eq!(before[at]["state"], "failed", "{before:#?}");
        assert!(
            before[..at]
                .iter()
                .all(|s| s["state"] == "done" || s["state"] == "skipped")
        );
        // The work note says what happened.
        until(
            "the failure's work note",
            Duration::from_secs(30),
            async || {
                let (_, t) = env
                    .api
                    .get(&env.admin, &format!("/api/v1/tickets/lab/{ticket}"))
                    .await;
                t.to_string()
                    .contains(&format!("step {} of 4", at + 1))
                    .then_some(())
            },
        )
        .await;
        let id = failed["id"].as_str().expect("id");
        until(
            "the failure written, not a resolve",
            Duration::from_secs(30),
            async || {
                let (_, job) = env.api.get(&env.admin, &format!("/api/v1/jobs/{id}")).await;
                let status = job["ticket_status"].as_str().unwrap_or_default().to_owned();
                assert!(
                    !status.starts_with("resolve"),
                    "never resolved on failure: {status}"
                );
                status.starts_with("job failed: written").then_some(())
            },
        )
        .await;

        let after = env.retried_from(&failed, &before, at).await;
        assert!(
            after
                .iter()
                .all(|s| s["state"] == "done" || s["state"] == "skipped"),
            "{after:#?}"
        );
        until("the ticket resolved", Duration::from_secs(30), async || {
            let (_, job) = env.api.get(&env.admin, &format!("/api/v1/jobs/{id}")).await;
            let status = job["ticket_status"].as_str().unwrap_or_default().to_owned();
            status.starts_with("resolve: written").then_some(())
        })
        .await;
        env.base.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failure_at_each_provisioning_step_is_retried_from_that_step() {
    // Each provisioning step's first request (the assignment comes with the new machine, so
    // its step has nothing to send; the registration wait only reads).
    let breaks = [
        ("POST", "/machines/$search"),
        ("POST", "/machinecatalogs/"),
        ("POST", "/deliverygroups/"),
        ("POST", "/$start"),
    ];
    for (n, (method, path)) in breaks.into_iter().enumerate() {
        let env = Env::start().await;
        for name in free_machines(&env.site).await {
            env.site
                .set_maintenance_mode(&name, true)
                .await
                .expect("maintenance");
        }
        let person = env.person(n).await;
        env.fail_next(method, path).await;
        let job = env
            .submit(&env.admin, "request.persistent_desktop", &person, json!({}))
            .await;
        let failed = env.finished(&job).await;
        assert_eq!(failed["state"], "failed", "{path}: {failed:#}");
        let before = steps(&failed);
        let at = before
            .iter()
            .position(|s| s["state"] == "failed")
            .expect("a failed step");
        env.retried_from(&failed, &before, at).await;
        // Exactly one machine was made for the person, however the failure fell.
        let theirs = env
            .site
            .machines()
            .await
            .expect("machines")
            .into_iter()
            .filter(|m| {
                m.assigned_users
                    .iter()
                    .any(|u| u.eq_ignore_ascii_case(&person))
            })
            .count();
        assert_eq!(theirs, 1, "{path}: one desktop for {person}");
        env.base.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offboarding_takes_the_configured_machine_policy_unless_the_job_says() {
    let base = LabAdapter::start(Scale::Small, &|config| {
        config.routing = routing();
        config.offboarding.delete_machines = true;
    })
    .await;
    let admin = token(&reqwest::Client::new(), &base.url, base.id("admin")).await;
    let api = Api::new(&base.url);
    let (status, page) = api
        .get(&admin, "/api/v1/accounts?q=a&domain=LAB&limit=5")
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let sam = page["items"][0]["sam_name"]
        .as_str()
        .expect("an account")
        .to_owned();
    let preview = |params: Value| {
        let api = &api;
        let admin = &admin;
        let sam = sam.clone();
        async move {
            let (status, preview) = api
                .post(
                    admin,
                    "/api/v1/workflows/preview",
                    json!({ "action": "user.offboard", "targets": [{ "site": "LAB", "id": sam }],
                            "params": params }),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{preview}");
            preview["steps"][3]["title"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    let configured = preview(json!({})).await;
    assert!(
        configured.starts_with("Delete the machines"),
        "{configured}"
    );
    let asked = preview(json!({ "machines": "unassign" })).await;
    assert!(asked.contains("machines kept"), "{asked}");
    base.stop().await;
}
