//! The CVAD client against the lab's simulated sites, over real HTTP: every operation, paging,
//! connector failover, throttling, error messages, jobs and authentication.

use anyhow::{Context as _, Result, bail};
use deskbridge::cvad::search::{SearchOp, property};
use deskbridge::cvad::wire::{
    AddCatalogMachineRequest, DeliveryGroupAddMachinesRequest, MachineAccountCreationRules,
    UpdateMachineRequest,
};
use deskbridge::cvad::{
    AdminCredential, CvadAuth, CvadClient, CvadConfig, CvadError, JobStatus, MessageStyle, Search,
};
use deskbridge::lab::{Lab, LabOptions, Scale};
use deskbridge::model::{ConnectorHealth, PowerAction, PowerState, SessionState, SiteKind};
use deskbridge::secret::Secret;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The lab's control API.
struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    fn new(lab: &Lab) -> Self {
        Control {
            http: reqwest::Client::new(),
            base: lab.info().control.clone(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("control {path}: {status} {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn reset_faults(&self, site: &str) -> Result<()> {
        self.send(
            reqwest::Method::DELETE,
            &format!("/sites/{site}/faults"),
            None,
        )
        .await
        .map(|_| ())
    }

    async fn connector(&self, site: &str, index: usize, op: &str) -> Result<()> {
        self.post(&format!("/sites/{site}/connectors/{index}/{op}"), json!({}))
            .await
            .map(|_| ())
    }
}

async fn lab() -> Result<Lab> {
    Lab::start(LabOptions::default()).await
}

fn config(lab: &Lab, site: &str) -> Result<CvadConfig> {
    let info = lab
        .info()
        .site(site)
        .with_context(|| format!("the lab has no site {site}"))?;
    let mut config = CvadConfig::from_lab(info);
    config.probe_interval = Duration::from_millis(200);
    config.retry.round_backoff = Duration::from_millis(50);
    Ok(config)
}

fn client(lab: &Lab, site: &str) -> Result<CvadClient> {
    Ok(CvadClient::new(config(lab, site)?)?)
}

/// An MCS catalog of the site, an admin credential and a one-machine request for it.
async fn mcs_request(
    client: &CvadClient,
) -> Result<(
    deskbridge::model::MachineCatalog,
    AdminCredential,
    AddCatalogMachineRequest,
)> {
    let catalog = client
        .machine_catalogs()
        .await?
        .into_iter()
        .find(|c| c.provisioning_type == deskbridge::model::ProvisioningType::MCS)
        .context("an MCS catalog")?;
    let admin = AdminCredential {
        username: "LAB\\svc-mcs".into(),
        password: Secret::new("pw"),
    };
    let request = AddCatalogMachineRequest {
        machine_account_creation_rules: Some(MachineAccountCreationRules {
            naming_scheme: catalog
                .naming_scheme
                .clone()
                .unwrap_or("LDN-NEW-###".into()),
            naming_scheme_type: "Numeric".into(),
            domain: "lab.example".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    Ok((catalog, admin, request))
}

#[tokio::test]
async fn reads_every_resource_of_an_onprem_site() -> Result<()> {
    let lab = lab().await?;
    let client = client(&lab, "London")?;
    assert_eq!(client.config().kind, SiteKind::Onprem);

    let me = client.me().await?;
    assert!(!me.customers.is_empty(), "{me:?}");
    let sites = client.sites().await?;
    let site_id = &client.config().site_id;
    assert!(sites.iter().any(|s| &s.id == site_id), "{sites:?}");
    let detail = client.site(site_id).await?;
    assert_eq!(&detail.id, site_id);

    let zones = client.zones().await?;
    let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(names, ["London", "Manchester"]);
    assert!(zones.iter().all(|z| z.connectors.len() == 2), "{zones:?}");

    let groups = client.delivery_groups().await?;
    assert!(!groups.is_empty());
    let group = &groups[0];
    assert_eq!(&client.delivery_group(&group.id).await?.name, &group.name);
    let members = client.delivery_group_machines(&group.id).await?;
    assert_eq!(members.len() as u32, group.counters.total_desktops);

    let catalogs = client.machine_catalogs().await?;
    assert!(!catalogs.is_empty());
    let catalog = client.machine_catalog(&catalogs[0].name).await?;
    assert_eq!(catalog.id, catalogs[0].id);
    let in_catalog = client.catalog_machines(&catalog.id).await?;
    assert_eq!(in_catalog.len() as u32, catalog.total_count);

    let machines = client.machines().await?;
    assert!(machines.len() > 10);
    let busy = machines
        .iter()
        .find(|m| m.session_count > 0)
        .context("a machine with sessions")?;
    // By DOMAIN\NAME (sent as DOMAIN|NAME) and by id.
    assert_eq!(client.machine(&busy.name).await?.id, busy.id);
    assert_eq!(client.machine(&busy.id).await?.name, busy.name);
    let on_machine = client.machine_sessions(&busy.name).await?;
    assert_eq!(on_machine.len() as u32, busy.session_count);

    let sessions = client.sessions().await?;
    assert!(!sessions.is_empty());
    let one = client.session(&sessions[0].id).await?;
    assert_eq!(one.user_name, sessions[0].user_name);
    assert!(one.user_name.starts_with("LAB\\"), "{}", one.user_name);

    assert!(!client.applications().await?.is_empty());
    assert!(!client.application_groups().await?.is_empty());
    client.jobs().await?;
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_cloud_site_uses_client_credentials() -> Result<()> {
    let lab = lab().await?;
    let client = client(&lab, "Cloud")?;
    assert!(matches!(client.config().auth, CvadAuth::Cloud { .. }));
    let zones = client.zones().await?;
    let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(names, ["Frankfurt", "Virginia", "Singapore"]);
    assert!(!client.sessions().await?.is_empty());
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn search_filters_and_reports_totals() -> Result<()> {
    let lab = lab().await?;
    let client = client(&lab, "London")?;
    let sessions = client.sessions().await?;
    let user = sessions[0].user_name.clone();
    let expected = sessions.iter().filter(|s| s.user_name == user).count();
    let found = client
        .search_sessions(
            &Search::new()
                .filter(property::USER_NAME, SearchOp::Equals, &user)
                .build(),
        )
        .await?;
    assert_eq!(found.items.len(), expected);
    assert_eq!(found.total_items, Some(expected as u64));
    assert!(found.items.iter().all(|s| s.user_name == user));

    let off = client
        .search_machines(
            &Search::new()
                .filter(property::POWER_STATE, SearchOp::Equals, "Off")
                .build(),
        )
        .await?;
    assert!(off.items.iter().all(|m| m.power_state == PowerState::Off));
    assert_eq!(off.total_items, Some(off.items.len() as u64));
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn paging_goes_past_1000_items_and_survives_short_pages() -> Result<()> {
    let lab = Lab::start(LabOptions {
        scale: Scale::Large,
        ..LabOptions::default()
    })
    .await?;
    let ctl = Control::new(&lab);
    let client = client(&lab, "London")?;
    let status = ctl.get("/sites/London").await?;
    let total = status["counts"]["sessions"]
        .as_u64()
        .context("session count")? as usize;
    assert!(total > 1000, "the large lab has {total} London sessions");

    let started = Instant::now();
    let mut pager = client.sessions_pager(1000);
    let mut count = 0;
    while let Some(page) = pager.next_page().await? {
        assert!(page.items.len() <= 1000);
        count += page.items.len();
    }
    eprintln!(
        "listed {count} sessions in {} pages in {:?}",
        pager.pages_fetched(),
        started.elapsed()
    );
    assert_eq!(count, total);
    assert!(pager.pages_fetched() > 1);

    // Short pages never end the listing early.
    ctl.post("/sites/London/faults", json!({"short_page": 333}))
        .await?;
    let all = client.machines().await?;
    let machines = status["counts"]["machines"].as_u64().context("machines")? as usize;
    assert_eq!(all.len(), machines);
    ctl.reset_faults("London").await?;
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_listing_survives_its_connector_stopping_between_pages() -> Result<()> {
    let lab = lab().await?;
    let ctl = Control::new(&lab);
    let client = client(&lab, "London")?;
    let expected: Vec<String> = client.sessions().await?.into_iter().map(|s| s.id).collect();
    assert!(expected.len() > 40);

    let mut pager = client.sessions_pager(20);
    let mut ids = Vec::new();
    let first = pager.next_page().await?.context("first page")?;
    ids.extend(first.items.into_iter().map(|s| s.id));
    // The client sticks to the first connector; take it away mid-listing.
    ctl.connector("London", 0, "stop").await?;
    while let Some(page) = pager.next_page().await? {
        ids.extend(page.items.into_iter().map(|s| s.id));
    }
    assert_eq!(ids, expected);
    let health = client.endpoint_health();
    assert_eq!(health[0].1, ConnectorHealth::Down, "{health:?}");
    assert_eq!(health[1].1, ConnectorHealth::Up, "{health:?}");

    // Back up: a probe notices once the skip period is over.
    ctl.connector("London", 0, "start").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    client.me().await?;
    let mut up = false;
    for _ in 0..50 {
        if client.endpoint_health()[0].1 == ConnectorHealth::Up {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "{:?}", client.endpoint_details());
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn every_connector_down_is_a_clear_retryable_error() -> Result<()> {
    let lab = lab().await?;
    let ctl = Control::new(&lab);
    let client = client(&lab, "London")?;
    client.me().await?;
    let count = client.config().endpoints.len();
    for i in 0..count {
        ctl.connector("London", i, "stop").await?;
    }
    let err = client.me().await.expect_err("nobody answers");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "none of the {count} connectors of site London answered: "
        )),
        "{text}"
    );
    assert!(err.is_retryable());
    assert!(
        client
            .endpoint_health()
            .iter()
            .all(|(_, h)| *h == ConnectorHealth::Down)
    );
    // All marked down, yet the next call still tries them.
    ctl.connector("London", 1, "start").await?;
    client.me().await?;
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn throttling_and_busy_answers_are_retried() -> Result<()> {
    let lab = lab().await?;
    let ctl = Control::new(&lab);
    let client = client(&lab, "London")?;
    client.me().await?;

    ctl.post(
        "/sites/London/faults",
        json!({"throttle_next": 2, "retry_after_secs": 1}),
    )
    .await?;
    let started = Instant::now();
    client.delivery_groups().await?;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited as asked"
    );

    // 503 with a retry delay: the site is busy, not the connector; retried after the delay.
    ctl.post(
        "/sites/London/faults",
        json!({"error_rate": 1.0, "error_status": 503, "retry_after_secs": 1}),
    )
    .await?;
    let healer = {
        let base = lab.info().control.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            reqwest::Client::new()
                .delete(format!("{base}/sites/London/faults"))
                .send()
                .await
        })
    };
    client.zones().await?;
    healer.await??;
    assert!(
        client
            .endpoint_health()
            .iter()
            .all(|(_, h)| *h != ConnectorHealth::Down)
    );

    // A site that stays busy: the budget runs out with a clear message.
    let mut impatient = config(&lab, "London")?;
    impatient.retry.max_throttle_retries = 1;
    let impatient = CvadClient::new(impatient)?;
    impatient.me().await?;
    ctl.post(
        "/sites/London/faults",
        json!({"throttle_next": 5, "retry_after_secs": 1}),
    )
    .await?;
    let err = impatient.me().await.expect_err("still throttled");
    assert!(matches!(err, CvadError::Throttled { .. }), "{err:?}");
    assert!(err.to_string().contains("still throttling"), "{err}");
    ctl.reset_faults("London").await?;
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn slow_connectors_time_out() -> Result<()> {
    let lab = lab().await?;
    let ctl = Control::new(&lab);
    let mut config = config(&lab, "London")?;
    config.request_timeout = Duration::from_millis(300);
    config.retry.failover_rounds = 1;
    let client = CvadClient::new(config)?;
    client.me().await?;
    ctl.post("/sites/London/faults", json!({"latency_ms": 1000}))
        .await?;
    let err = client.sessions().await.expect_err("too slow");
    assert!(err.to_string().contains("no answer within 0.3 s"), "{err}");
    ctl.reset_faults("London").await?;
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn error_bodies_become_clear_messages() -> Result<()> {
    let lab = lab().await?;
    let client = client(&lab, "London")?;
    let err = client.machine("LAB\\NO-SUCH-VDI").await.expect_err("404");
    assert_eq!(err.status(), Some(404));
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.starts_with("CVAD site London: "), "{text}");
    assert!(text.contains("LAB|NO-SUCH-VDI"), "{text}");
    assert!(text.ends_with("(404 common/notFound)"), "{text}");

    let err = client.session("no-such-session").await.expect_err("404");
    assert!(err.is_not_found(), "{err}");

    let sessions = client.sessions().await?;
    let err = client
        .send_message(&sessions[0].id, MessageStyle::Information, "Hi", "")
        .await
        .expect_err("empty text refused");
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("Text"), "{err}");
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bad_credentials_are_rejected() -> Result<()> {
    let lab = lab().await?;
    let mut onprem = config(&lab, "London")?;
    if let CvadAuth::OnPrem { password, .. } = &mut onprem.auth {
        *password = Secret::new("not-the-password");
    }
    let err = CvadClient::new(onprem)?.me().await.expect_err("refused");
    let text = format!("{err} {err:?}");
    assert!(matches!(err, CvadError::Auth { .. }), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");

    let mut cloud = config(&lab, "Cloud")?;
    if let CvadAuth::Cloud { client_secret, .. } = &mut cloud.auth {
        *client_secret = Secret::new("not-the-secret");
    }
    let err = CvadClient::new(cloud)?.me().await.expect_err("refused");
    assert!(matches!(err, CvadError::Auth { .. }), "{err:?}");
    assert!(err.to_string().contains("client id and secret"), "{err}");
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn tokens_are_renewed_after_expiry_and_revocation() -> Result<()> {
    let lab = lab().await?;
    let ctl = Control::new(&lab);
    for site in ["London", "Cloud"] {
        ctl.post(&format!("/sites/{site}/auth"), json!({"token_ttl_secs": 2}))
            .await?;
        let client = client(&lab, site)?;
        client.me().await?;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        client
            .me()
            .await
            .with_context(|| format!("{site} after expiry"))?;
        ctl.post(
            &format!("/sites/{site}/auth"),
            json!({"token_ttl_secs": 3600, "revoke_all": true}),
        )
        .await?;
        client
            .me()
            .await
            .with_context(|| format!("{site} after revocation"))?;
        // The simulated clock jumping past the token's life: the site refuses it, the client
        // renews it.
        ctl.post("/clock", json!({"advance_secs": 7200})).await?;
        client
            .zones()
            .await
            .with_context(|| format!("{site} after clock jump"))?;
    }
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn an_async_power_job_is_followed_to_completion() -> Result<()> {
    let lab = lab().await?;
    let ctl = Control::new(&lab);
    let client = client(&lab, "London")?;
    let off = client
        .search_machines(
            &Search::new()
                .filter(property::POWER_STATE, SearchOp::Equals, "Off")
                .build(),
        )
        .await?;
    let machine = off
        .items
        .iter()
        .find(|m| m.fault_state != deskbridge::model::FaultState::FailedToStart)
        .context("a machine that is off")?;
    ctl.post("/clock", json!({"speed": 20.0})).await?;
    let job = client
        .power_async(&machine.name, PowerAction::Start, false)
        .await?;
    let mut seen = Vec::new();
    let done = client
        .wait_job(
            &job.id,
            Duration::from_millis(50),
            Duration::from_secs(20),
            |j| {
                seen.push((j.status, j.progress));
            },
        )
        .await?;
    assert_eq!(done.status, JobStatus::Complete);
    assert_eq!(done.job_type, "StartMachines");
    assert!(
        seen.iter().any(|(s, _)| *s == JobStatus::InProgress),
        "{seen:?}"
    );
    let progress: Vec<u32> = seen.iter().filter_map(|(_, p)| *p).collect();
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_eq!(progress.last(), Some(&100));
    assert_eq!(
        client.machine(&machine.id).await?.power_state,
        PowerState::On
    );
    let listed = client.jobs().await?;
    assert!(listed.iter().any(|j| j.id == job.id));
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn provisioning_jobs_can_be_cancelled() -> Result<()> {
    let lab = lab().await?;
    let client = client(&lab, "London")?;
    let (catalog, admin, request) = mcs_request(&client).await?;
    let job = client
        .add_catalog_machine(&catalog.id, &request, &admin)
        .await?;
    client.cancel_job(&job.id).await?;
    let err = client
        .wait_job(
            &job.id,
            Duration::from_millis(50),
            Duration::from_secs(10),
            |_| {},
        )
        .await
        .expect_err("canceled");
    assert!(
        matches!(
            err,
            CvadError::JobFailed {
                status: JobStatus::Canceled,
                ..
            }
        ),
        "{err:?}"
    );

    // Waiting too long cancels the job and says so.
    let job = client
        .add_catalog_machine(&catalog.id, &request, &admin)
        .await?;
    let err = client
        .wait_job(
            &job.id,
            Duration::from_millis(100),
            Duration::from_millis(1500),
            |_| {},
        )
        .await
        .expect_err("timed out");
    assert!(
        matches!(err, CvadError::JobTimeout { canceled: true, .. }),
        "{err:?}"
    );
    assert_eq!(client.job(&job.id).await?.status, JobStatus::Canceled);
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn machine_and_session_actions_work() -> Result<()> {
    let lab = lab().await?;
    let ctl = Control::new(&lab);
    ctl.post("/clock", json!({"speed": 20.0})).await?;
    let client = client(&lab, "London")?;
    let machines = client.machines().await?;

    // Maintenance mode on and off.
    let target = machines
        .iter()
        .find(|m| !m.in_maintenance_mode)
        .context("a machine")?;
    client.set_maintenance_mode(&target.name, true).await?;
    assert!(client.machine(&target.id).await?.in_maintenance_mode);
    let job = client
        .update_machine_async(
            &target.name,
            &UpdateMachineRequest {
                in_maintenance_mode: Some(false),
                ..Default::default()
            },
        )
        .await?;
    client
        .wait_job(
            &job.id,
            Duration::from_millis(50),
            Duration::from_secs(10),
            |_| {},
        )
        .await?;
    assert!(!client.machine(&target.id).await?.in_maintenance_mode);

    // Synchronous power: the answer is the machine afterwards.
    let on = machines
        .iter()
        .find(|m| m.power_state == PowerState::On && m.session_count == 0)
        .context("an idle machine that is on")?;
    let after = client.power(&on.name, PowerAction::Shutdown, true).await?;
    assert_ne!(after.power_state, PowerState::On);

    // Session actions.
    let sessions = client.sessions().await?;
    let active: Vec<_> = sessions
        .iter()
        .filter(|s| s.state == SessionState::Active)
        .collect();
    let s = active.first().context("an active session")?;
    client
        .send_message(
            &s.id,
            MessageStyle::Information,
            "Maintenance",
            "Please save",
        )
        .await?;
    client.hide_session(&s.id).await?;
    assert!(client.session(&s.id).await?.hidden);
    client.unhide_session(&s.id).await?;
    client.disconnect(&s.id).await?;
    assert_eq!(
        client.session(&s.id).await?.state,
        SessionState::Disconnected
    );
    client.logoff(&s.id).await?;
    let job = client
        .logoff_async(&active.get(1).context("a second session")?.id)
        .await?;
    client
        .wait_job(
            &job.id,
            Duration::from_millis(50),
            Duration::from_secs(10),
            |_| {},
        )
        .await?;

    // Machine-wide session actions.
    let busy = client
        .machines()
        .await?
        .into_iter()
        .find(|m| m.session_count > 0)
        .context("a busy machine")?;
    client.disconnect_machine_sessions(&busy.name).await?;
    client.logoff_machine_sessions(&busy.name).await?;

    // Delivery group membership.
    let groups = client.delivery_groups().await?;
    let group = groups
        .iter()
        .find(|g| g.counters.available > 0)
        .context("a group with an idle machine")?;
    let member = client
        .delivery_group_machines(&group.id)
        .await?
        .into_iter()
        .find(|m| m.session_count == 0)
        .context("an idle member")?;
    let catalog = member.catalog.clone().context("member's catalog")?;
    client
        .remove_machine_from_delivery_group(&group.id, &member.name)
        .await?;
    assert!(client.machine(&member.id).await?.delivery_group.is_none());
    client
        .add_machines_to_delivery_group(
            &group.id,
            &DeliveryGroupAddMachinesRequest {
                machine_catalog: catalog.id.clone(),
                count: 1,
                assign_machines_to_users: Vec::new(),
            },
        )
        .await?;
    let back = client.delivery_group(&group.id).await?;
    assert_eq!(back.counters.total_desktops, group.counters.total_desktops);
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_zone_outage_is_reported_with_a_hint() -> Result<()> {
    let lab = lab().await?;
    let ctl = Control::new(&lab);
    let client = client(&lab, "London")?;
    let zone = client
        .config()
        .zones
        .iter()
        .find(|z| z.zone == "Manchester")
        .context("the Manchester zone")?
        .clone();
    let machine = client
        .machines()
        .await?
        .into_iter()
        .find(|m| m.zone.as_ref().is_some_and(|z| z.name == "Manchester"))
        .context("a Manchester machine")?;
    for &i in &zone.endpoints {
        ctl.connector("London", i, "stop").await?;
    }
    // Reads still work through London's connectors; writes to Manchester cannot.
    client.machine(&machine.id).await?;
    let err = client
        .set_maintenance_mode(&machine.name, true)
        .await
        .expect_err("zone in outage");
    let text = err.to_string();
    assert!(
        text.contains("check the Cloud Connectors of the zone"),
        "{text}"
    );
    assert_eq!(err.status(), Some(503), "{text}");
    assert!(err.is_retryable());
    // London's connectors answered that; they are not blamed.
    let health = client.endpoint_health();
    for (i, (url, h)) in health.iter().enumerate() {
        if !zone.endpoints.contains(&i) {
            assert_ne!(*h, ConnectorHealth::Down, "{url}");
        }
    }
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_provisioning_job_reports_sub_jobs_until_complete() -> Result<()> {
    let lab = lab().await?;
    let ctl = Control::new(&lab);
    let client = client(&lab, "London")?;
    let (catalog, admin, request) = mcs_request(&client).await?;
    ctl.post("/clock", json!({"speed": 30.0})).await?;
    let job = client
        .add_catalog_machine(&catalog.id, &request, &admin)
        .await?;
    let mut most_sub_jobs_done = 0;
    let done = client
        .wait_job(
            &job.id,
            Duration::from_millis(50),
            Duration::from_secs(30),
            |j| {
                let (finished, _) = j.sub_job_counts();
                most_sub_jobs_done = most_sub_jobs_done.max(finished);
            },
        )
        .await?;
    assert_eq!(done.status, JobStatus::Complete);
    assert!(!done.sub_jobs.is_empty(), "{done:?}");
    assert_eq!(most_sub_jobs_done, done.sub_jobs.len());
    let after = client.machine_catalog(&catalog.id).await?;
    assert_eq!(after.total_count, catalog.total_count + 1);
    lab.shutdown().await;
    Ok(())
}
