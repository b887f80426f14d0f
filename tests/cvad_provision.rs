//! Provisioning and entitlement through the CVAD client against the lab, over real HTTP:
//! delivery-group and application-group included users, static machine assignment, MCS
//! provisioning through to a registered desktop, removal and deletion, and targeted faults.

use anyhow::{Context as _, Result, bail, ensure};
use deskbridge::cvad::{
    AdminCredential, AssignMachineToUsers, CvadClient, CvadConfig, CvadError, DeleteMachineOptions,
    DeliveryGroupAddMachinesRequest, EntitlementChange,
};
use deskbridge::lab::{Lab, LabOptions};
use deskbridge::model::{PowerAction, PowerState, RegistrationState};
use deskbridge::secret::Secret;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const SITE: &str = "London";
const STATIC_GROUP: &str = "London Persistent Desktops";
const POOLED_GROUP: &str = "London Pooled Desktops";
const STATIC_CATALOG: &str = "LDN Win11 Persistent";
const POOLED_CATALOG: &str = "LDN Win11 Pooled";
const APP_GROUP: &str = "Office Suite";

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
    ) -> Result<(u16, Value)> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let (status, value) = self.send(reqwest::Method::POST, path, Some(body)).await?;
        ensure!(status == 200, "control {path}: {status} {value}");
        Ok(value)
    }

    async fn get(&self, path: &str) -> Result<Value> {
        let (status, value) = self.send(reqwest::Method::GET, path, None).await?;
        ensure!(status == 200, "control {path}: {status} {value}");
        Ok(value)
    }

    /// How many times the site performed `action` on the object with id `target`.
    async fn calls(&self, action: &str, target: &str) -> Result<u64> {
        let calls = self.get(&format!("/sites/{SITE}/calls")).await?;
        Ok(calls["calls"][action][target].as_u64().unwrap_or(0))
    }
}

async fn start() -> Result<(Lab, Control, CvadClient)> {
    let lab = Lab::start(LabOptions::default()).await?;
    let ctl = Control::new(&lab);
    // Jobs and power transitions take simulated seconds; let them pass quickly.
    ctl.post("/clock", json!({"speed": 30.0})).await?;
    let info = lab.info().site(SITE).context("the lab has London")?;
    let mut config = CvadConfig::from_lab(info);
    config.probe_interval = Duration::from_millis(200);
    config.retry.round_backoff = Duration::from_millis(50);
    let client = CvadClient::new(config)?;
    Ok((lab, ctl, client))
}

async fn wait(client: &CvadClient, id: &str) -> Result<deskbridge::cvad::Job> {
    Ok(client
        .wait_job(
            id,
            Duration::from_millis(50),
            Duration::from_secs(30),
            |_| {},
        )
        .await?)
}

/// A person of the site who is on neither list.
async fn outsider(client: &CvadClient, lists: &[&deskbridge::cvad::Entitlement]) -> Result<String> {
    let sessions = client.sessions().await?;
    sessions
        .iter()
        .map(|s| s.user_name.clone())
        .find(|u| lists.iter().all(|l| !l.includes(u)))
        .context("a user on no list")
}

fn api_error(err: &CvadError) -> Option<(u16, &str)> {
    match err {
        CvadError::Api { status, detail, .. } => Some((*status, detail.as_str())),
        _ => None,
    }
}

#[tokio::test]
async fn users_are_entitled_and_unentitled_once() -> Result<()> {
    let (lab, ctl, client) = start().await?;
    let group = client.delivery_group(STATIC_GROUP).await?;
    let before = client.delivery_group_entitlement(STATIC_GROUP).await?;
    assert!(before.filter_enabled);
    assert!(!before.users.is_empty(), "owners are entitled: {before:?}");
    let app_before = client.application_group_entitlement(APP_GROUP).await?;
    let user = outsider(&client, &[&before, &app_before]).await?;

    // Delivery group: added once, the second add sends nothing.
    let added = client
        .set_delivery_group_user(STATIC_GROUP, &user, true)
        .await?;
    assert_eq!(added, EntitlementChange::Changed);
    let after = client.delivery_group_entitlement(&group.id).await?;
    assert!(after.includes(&user), "{after:?}");
    assert_eq!(after.users.len(), before.users.len() + 1);
    assert_eq!(
        client
            .set_delivery_group_user(STATIC_GROUP, &user, true)
            .await?,
        EntitlementChange::AlreadySo
    );
    assert_eq!(ctl.calls("updateDeliveryGroup", &group.id).await?, 1);
    // Removed, as a job this time; removing again sends nothing.
    let job = match client
        .set_delivery_group_user_async(STATIC_GROUP, &user, false)
        .await?
    {
        Ok(job) => job,
        Err(outcome) => bail!("expected a job, got {outcome:?}"),
    };
    let done = wait(&client, &job.id).await?;
    assert_eq!(done.job_type, "UpdateDeliveryGroup");
    assert_eq!(done.parameter("Id"), Some(group.id.as_str()));
    let removed = client.delivery_group_entitlement(STATIC_GROUP).await?;
    assert!(!removed.includes(&user));
    assert_eq!(removed.users, before.users, "everyone else stays");
    assert_eq!(
        client
            .set_delivery_group_user(STATIC_GROUP, &user, false)
            .await?,
        EntitlementChange::AlreadySo
    );
    assert_eq!(ctl.calls("updateDeliveryGroup", &group.id).await?, 2);

    // Application group: the same, by UPN-free DOMAIN\user.
    let app = client
        .application_groups()
        .await?
        .into_iter()
        .find(|g| g.name == APP_GROUP)
        .context("Office Suite")?;
    assert_eq!(
        client
            .set_application_group_user(APP_GROUP, &user, true)
            .await?,
        EntitlementChange::Changed
    );
    assert!(
        client
            .application_group_entitlement(&app.id)
            .await?
            .includes(&user)
    );
    assert_eq!(
        client
            .set_application_group_user(&app.id, &user, true)
            .await?,
        EntitlementChange::AlreadySo
    );
    // The listing shows the new member too.
    let listed = client.application_groups().await?;
    let listed = listed.iter().find(|g| g.id == app.id).context("listed")?;
    assert!(
        listed
            .included_users
            .iter()
            .any(|u| u.eq_ignore_ascii_case(&user))
    );
    assert_eq!(
        client
            .set_application_group_user(APP_GROUP, &user, false)
            .await?,
        EntitlementChange::Changed
    );
    let app_after = client.application_group_entitlement(APP_GROUP).await?;
    assert_eq!(app_after.users, app_before.users);
    assert_eq!(ctl.calls("updateApplicationGroup", &app.id).await?, 2);

    // Someone the directory does not know is refused, with the name in the message.
    let err = client
        .set_delivery_group_user(STATIC_GROUP, "LAB\\nobody-here", true)
        .await
        .expect_err("unknown user");
    let (status, detail) = api_error(&err).context("an API error")?;
    assert_eq!(status, 404, "{err}");
    assert!(detail.contains("nobody-here"), "{err}");
    assert!(
        client
            .set_delivery_group_user(STATIC_GROUP, "  ", true)
            .await
            .is_err()
    );
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_static_machine_is_assigned_and_unassigned() -> Result<()> {
    let (lab, _ctl, client) = start().await?;
    let members = client.delivery_group_machines(STATIC_GROUP).await?;
    assert!(
        members.iter().any(|m| !m.assigned_users.is_empty()),
        "seeded owners"
    );
    let free = members
        .iter()
        .find(|m| m.assigned_users.is_empty())
        .context("the static group has a free machine")?;
    let owner = members
        .iter()
        .find_map(|m| m.assigned_users.first().cloned())
        .context("an owner")?;
    let user = client
        .sessions()
        .await?
        .into_iter()
        .map(|s| s.user_name)
        .find(|u| *u != owner)
        .context("another user")?;

    assert!(client.assign_machine(&free.name, &user).await?);
    let assigned = client.machine(&free.id).await?;
    assert_eq!(assigned.assigned_users, vec![user.clone()]);
    assert!(
        !client.assign_machine(&free.name, &user).await?,
        "already so"
    );
    assert!(client.unassign_machine(&free.name).await?);
    assert!(client.machine(&free.id).await?.assigned_users.is_empty());
    assert!(!client.unassign_machine(&free.name).await?, "already so");

    // As a job.
    let job = client
        .set_machine_users_async(&free.name, std::slice::from_ref(&user))
        .await?;
    let done = wait(&client, &job.id).await?;
    assert_eq!(done.job_type, "UpdateMachineCatalogMachine");
    assert_eq!(
        client.machine(&free.name).await?.assigned_users,
        vec![user.clone()]
    );

    // A pooled machine cannot be assigned.
    let pooled = client.catalog_machines(POOLED_CATALOG).await?;
    let err = client
        .set_machine_users(&pooled[0].name, std::slice::from_ref(&user))
        .await
        .expect_err("random catalog");
    let (status, detail) = api_error(&err).context("an API error")?;
    assert_eq!(status, 400);
    assert!(detail.contains("random"), "{err}");
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_provisioned_desktop_is_added_started_registered_removed_and_deleted() -> Result<()> {
    let (lab, _ctl, client) = start().await?;
    let catalog = client.machine_catalog(STATIC_CATALOG).await?;
    let scheme = catalog
        .naming_scheme
        .clone()
        .context("an MCS naming scheme")?;
    let admin = AdminCredential {
        username: "LAB\\svc-mcs".into(),
        password: Secret::new("pw"),
    };
    let user = client.sessions().await?[0].user_name.clone();

    // Provision: the job names the machine, which exists off, unregistered, in no group.
    let job = client
        .provision_machine(&catalog.id, &scheme, "lab.example", None, &[], &admin)
        .await?;
    let done = wait(&client, &job.id).await?;
    assert_eq!(done.job_type, "AddMachineCatalogMachine");
    assert_eq!(done.parameter("NameOrId"), Some(STATIC_CATALOG));
    let machine = client.provisioned_machine(&done).await?;
    assert!(
        done.parameter("request")
            .is_some_and(|r| r.contains(machine.name.rsplit('\\').next().unwrap_or("?"))),
        "{done:?}"
    );
    let prefix = scheme.trim_end_matches('#');
    assert!(
        machine.name.starts_with(&format!("LAB\\{prefix}")),
        "{}",
        machine.name
    );
    assert_eq!(machine.power_state, PowerState::Off);
    assert_eq!(machine.registration_state, RegistrationState::Unregistered);
    assert_eq!(machine.delivery_group, None);
    assert_eq!(
        machine.catalog.as_ref().map(|c| c.id.as_str()),
        Some(catalog.id.as_str())
    );
    assert_eq!(machine.zone, catalog.zone);

    // Into the static group, assigned to the user.
    let add = DeliveryGroupAddMachinesRequest {
        machine_catalog: catalog.name.clone(),
        count: 1,
        assign_machines_to_users: vec![AssignMachineToUsers {
            machine: machine.name.clone(),
            users: vec![user.clone()],
        }],
    };
    let job = client
        .add_machines_to_delivery_group_async(STATIC_GROUP, &add)
        .await?;
    assert_eq!(
        wait(&client, &job.id).await?.job_type,
        "AddDeliveryGroupMachines"
    );
    let member = client.machine(&machine.id).await?;
    assert_eq!(
        member.delivery_group.map(|g| g.name).as_deref(),
        Some(STATIC_GROUP)
    );
    assert_eq!(member.assigned_users, vec![user.clone()]);

    // Start it and wait until it registers: Off, then turning on, then registered.
    let job = client
        .power_async(&machine.name, PowerAction::Start, false)
        .await?;
    wait(&client, &job.id).await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = vec![member.power_state];
    loop {
        let now = client.machine(&machine.id).await?;
        if seen.last() != Some(&now.power_state) {
            seen.push(now.power_state);
        }
        if now.registration_state == RegistrationState::Registered {
            assert_eq!(now.power_state, PowerState::On);
            break;
        }
        ensure!(Instant::now() < deadline, "never registered: {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen.first(), Some(&PowerState::Off), "{seen:?}");

    // Still in the group: the site refuses to delete it, and says why.
    let err = client
        .delete_catalog_machine(&catalog.id, &machine.name, &DeleteMachineOptions::default())
        .await
        .expect_err("still in a delivery group");
    let (status, detail) = api_error(&err).context("an API error")?;
    assert_eq!(status, 400);
    assert!(
        detail.contains(STATIC_GROUP) && detail.contains("delivery group"),
        "{err}"
    );
    assert!(err.to_string().contains(&detail.to_string()));
    assert!(
        client.machine(&machine.id).await.is_ok(),
        "nothing was deleted"
    );

    // Out of the group, then deleted (VM and account too).
    let job = client
        .remove_machine_from_delivery_group_async(STATIC_GROUP, &machine.name)
        .await?;
    assert_eq!(
        wait(&client, &job.id).await?.job_type,
        "RemoveDeliveryGroupMachines"
    );
    assert_eq!(client.machine(&machine.id).await?.delivery_group, None);
    let options = DeleteMachineOptions {
        delete_vm: Some(true),
        purge_db_only: None,
        delete_account: Some("Delete".into()),
    };
    let job = client
        .delete_catalog_machine_async(&catalog.id, &machine.name, &options)
        .await?;
    let deleted = wait(&client, &job.id).await?;
    assert_eq!(deleted.job_type, "DeleteMachine");
    assert_eq!(deleted.parameter("Name"), Some(machine.name.as_str()));
    let gone = client.machine(&machine.id).await.expect_err("deleted");
    assert_eq!(api_error(&gone).map(|(s, _)| s), Some(404), "{gone}");
    let after = client.machine_catalog(&catalog.id).await?;
    assert_eq!(after.total_count, catalog.total_count);
    assert!(
        !client
            .catalog_machines(&catalog.id)
            .await?
            .iter()
            .any(|m| m.id == machine.id)
    );
    // A bad option is refused before anything happens.
    let bad = DeleteMachineOptions {
        delete_account: Some("Shred".into()),
        ..Default::default()
    };
    let spare = client.catalog_machines(&catalog.id).await?;
    let err = client
        .delete_catalog_machine(&catalog.id, &spare[0].name, &bad)
        .await
        .expect_err("unknown deleteAccount");
    assert_eq!(api_error(&err).map(|(s, _)| s), Some(400), "{err}");
    lab.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn a_targeted_fault_fails_exactly_the_matched_request_once() -> Result<()> {
    let (lab, ctl, client) = start().await?;
    let group = client.delivery_group(POOLED_GROUP).await?;
    let list = client.delivery_group_entitlement(POOLED_GROUP).await?;
    let user = outsider(&client, &[&list]).await?;
    let plan = ctl
        .post(
            &format!("/sites/{SITE}/faults"),
            json!({"fail_next": {"method": "PATCH", "path_contains": "/DeliveryGroups/", "status": 500, "count": 1}}),
        )
        .await?;
    assert_eq!(plan["fail_next"][0]["count"], 1, "{plan}");
    // Reads and other writes go through.
    client.delivery_group_entitlement(POOLED_GROUP).await?;
    let free = client
        .delivery_group_machines(STATIC_GROUP)
        .await?
        .into_iter()
        .find(|m| m.assigned_users.is_empty())
        .context("a free static machine")?;
    assert!(client.assign_machine(&free.name, &user).await?);
    // The group's PATCH fails once, with the status asked for, and changes nothing.
    let err = client
        .set_delivery_group_user(POOLED_GROUP, &user, true)
        .await
        .expect_err("injected");
    assert_eq!(api_error(&err).map(|(s, _)| s), Some(500), "{err}");
    assert!(
        !client
            .delivery_group_entitlement(POOLED_GROUP)
            .await?
            .includes(&user)
    );
    assert_eq!(ctl.calls("updateDeliveryGroup", &group.id).await?, 0);
    let plan = ctl.get(&format!("/sites/{SITE}/faults")).await?;
    assert!(plan.get("fail_next").is_none(), "used up: {plan}");
    // The retry goes through.
    assert_eq!(
        client
            .set_delivery_group_user(POOLED_GROUP, &user, true)
            .await?,
        EntitlementChange::Changed
    );
    assert_eq!(ctl.calls("updateDeliveryGroup", &group.id).await?, 1);
    // A rule that makes no sense is refused.
    let (status, body) = ctl
        .send(
            reqwest::Method::POST,
            &format!("/sites/{SITE}/faults"),
            Some(json!({"fail_next": {"path_contains": "/x", "status": 200}})),
        )
        .await?;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("fail_next")),
        "{body}"
    );
    lab.shutdown().await;
    Ok(())
}
