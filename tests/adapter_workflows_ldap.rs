//! Onboarding and offboarding through the whole adapter against the real Samba AD DC (started
//! by scripts/test) and the lab's CVAD sites: the account is created in the DC with a
//! generated initial password shown once, put in the routed groups and entitled at the site;
//! offboarding then disables it in the DC; and the initial password is written nowhere.

mod support;

use std::time::Duration;

use deskbridge::config::{
    DirectoryBackend, DirectoryConfig, PooledDesktop, RouteTarget, RoutingConfig,
};
use deskbridge::cvad::{CvadClient, CvadConfig};
use deskbridge::directory::ldap::{BindRefusal, CheckPasswordError, LdapDirectory};
use deskbridge::directory::{Directory, DirectoryError};
use deskbridge::lab::Scale;
use deskbridge::secret::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::{Api, log};
use support::samba::{self, create_group};
use support::{LabAdapter, token, until};

const POOLED: &str = "London Pooled Desktops";
const APPS: &str = "Office Suite";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn onboarding_creates_the_account_in_the_dc_then_offboarding_disables_it() {
    let Some(dc) = samba::dc() else { return };
    log();
    let group = samba::unique_name("staff");
    create_group(&dc, &group).await;
    let config = dc.config();
    let routed_group = group.clone();
    let base = LabAdapter::start(Scale::Small, &|adapter| {
        adapter.directories = vec![DirectoryConfig {
            domain: config.domain.clone(),
            backend: DirectoryBackend::Ldap(config.clone()),
        }];
        adapter.routing = RoutingConfig {
            rules: Vec::new(),
            default: Some(RouteTarget {
                site: "London".into(),
                pooled_desktop: Some(PooledDesktop::DeliveryGroup(POOLED.into())),
                persistent_desktop: None,
                apps: vec![APPS.into()],
                groups: vec![routed_group.clone()],
            }),
        };
    })
    .await;
    let http = reqwest::Client::new();
    let admin = token(&http, &base.url, base.id("admin")).await;
    let api = Api::new(&base.url);
    let dir = LdapDirectory::new(dc.config()).expect("LDAP config");
    let sam = samba::unique_name("new");

    let body = json!({
        "action": "user.onboard",
        "targets": [{ "site": "LAB", "id": sam }],
        "params": {
            "person": { "given_name": "Ada", "surname": "Lovelace", "department": "Engineering",
                        "location": "London" },
            "requester": "LAB\\Administrator"
        }
    });
    let (status, preview) = api
        .post(&admin, "/api/v1/workflows/preview", body.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let titles: Vec<&str> = preview["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["kind"].as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "account.create",
            "account.group_add",
            "cvad.entitle_delivery_group",
            "cvad.entitle_application_group"
        ]
    );
    assert!(
        matches!(dir.account(&sam).await, Err(DirectoryError::NotFound(_))),
        "a preview creates nothing"
    );

    // The lab's sites resolve users against the lab's own people; tell London about the
    // account the DC is about to get, as a real site learns it from AD.
    let learned = http
        .post(format!("{}/sites/London/people", base.lab.info().control))
        .json(&json!({ "sam": sam, "given_name": "Ada", "surname": "Lovelace" }))
        .send()
        .await
        .expect("lab people");
    assert!(learned.status().is_success(), "{}", learned.status());
    // Linked to a ticket, which the finished onboarding resolves.
    let ticket = until(
        "an open incident in the queue",
        Duration::from_secs(30),
        async || {
            let (_, page) = api.get(&admin, "/api/v1/tickets?limit=50").await;
            page["items"]
                .as_array()?
                .iter()
                .filter_map(|t| t["number"].as_str())
                .find(|n| n.starts_with("INC"))
                .map(str::to_owned)
        },
    )
    .await;
    let mut body = body;
    body["ticket"] = json!({ "instance": "lab", "number": ticket });
    let (status, created) = api.post(&admin, "/api/v1/jobs", body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let initial = created["temporary_password"]
        .as_str()
        .expect("the initial password, shown once")
        .to_owned();
    let job = api.finished(&admin, &created).await;
    assert_eq!(job["state"], "succeeded", "{job:#}");
    assert!(
        job.get("temporary_password").is_none_or(Value::is_null),
        "shown once only"
    );

    let id = job["id"].as_str().expect("job id").to_owned();
    until("the ticket resolved", Duration::from_secs(30), async || {
        let (_, job) = api.get(&admin, &format!("/api/v1/jobs/{id}")).await;
        let status = job["ticket_status"].as_str().unwrap_or_default().to_owned();
        status.starts_with("resolve: written").then_some(())
    })
    .await;
    let account = dir.account(&sam).await.expect("created in the DC");
    assert!(account.must_change, "{account:?}");
    assert!(!account.disabled);
    assert!(account.groups.iter().any(|g| g == &group), "{account:?}");
    match dir
        .check_password(&sam, &Secret::new(initial.clone()))
        .await
    {
        Err(CheckPasswordError::Refused(BindRefusal::MustChangePassword)) => {}
        other => panic!("the initial password is set and must be changed first: {other:?}"),
    }
    let info = base
        .lab
        .info()
        .sites
        .iter()
        .find(|s| s.name == "London")
        .expect("London")
        .clone();
    let site = CvadClient::new(CvadConfig::from_lab(&info)).expect("client");
    let user = format!("LAB\\{sam}");
    assert!(
        site.delivery_group_entitlement(POOLED)
            .await
            .expect("group")
            .includes(&user)
    );
    assert!(
        site.application_group_entitlement(APPS)
            .await
            .expect("apps")
            .includes(&user)
    );

    let (status, off) = api
        .post(
            &admin,
            "/api/v1/jobs",
            json!({ "action": "user.offboard", "targets": [{ "site": "LAB", "id": sam }] }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{off}");
    let off = api.finished(&admin, &off).await;
    assert_eq!(off["state"], "succeeded", "{off:#}");
    let account = until(
        "the account disabled",
        Duration::from_secs(10),
        async || dir.account(&sam).await.ok().filter(|a| a.disabled),
    )
    .await;
    assert!(account.disabled);
    assert!(
        !site
            .delivery_group_entitlement(POOLED)
            .await
            .expect("group")
            .includes(&user)
    );

    for (place, text) in api.written_places(&admin).await {
        assert!(
            !text.contains(&initial),
            "the initial password is in {place}"
        );
    }
    base.stop().await;
}
