//! Persistent-desktop steps: pick the user's machine (one already assigned to them, else a
//! free one) in a static delivery group, provision one through MCS when none is free, add it
//! to the group, assign it, power it on and wait until it registers.

use std::sync::Arc;

use serde_json::json;

use super::{StepCtx, StepOutcome, StepResult, from_cvad};
use crate::adapter::engine::worker::SiteCtx;
use crate::cvad::search::property;
use crate::cvad::wire::{
    AssignMachineToUsers, DeliveryGroupAddMachinesRequest, UpdateMachineRequest,
};
use crate::cvad::{AdminCredential, CvadAuth, Search, SearchOp, job_types};
use crate::model::{Machine, PowerAction, PowerState, RegistrationState};

fn assigned_to(machine: &Machine, user: &str) -> bool {
    machine
        .assigned_users
        .iter()
        .any(|u| u.eq_ignore_ascii_case(user))
}

async fn machines_where(
    ctx: &StepCtx<'_>,
    site: &Arc<SiteCtx>,
    field: &str,
    value: &str,
) -> Result<Vec<Machine>, StepOutcome> {
    let search = Search::new().filter(field, SearchOp::Equals, value).build();
    ctx.call(site, |c| c.search_machines(&search))
        .await
        .map(|found| found.items)
        .map_err(|e| {
            from_cvad(
                &format!("cannot list the machines of {value} at {}", site.name),
                &e,
            )
        })
}

async fn read_machine(
    ctx: &StepCtx<'_>,
    site: &Arc<SiteCtx>,
    name: &str,
) -> Result<Machine, StepOutcome> {
    ctx.call(site, |c| c.machine(name))
        .await
        .map_err(|e| from_cvad(&format!("cannot read machine {name} at {}", site.name), &e))
}

pub(super) async fn pick(ctx: &StepCtx<'_>, site_name: &str, group: &str) -> StepResult {
    let site = ctx.site(site_name)?;
    let user = ctx.qualified_user();
    let machines = machines_where(ctx, site, property::DELIVERY_GROUP, group).await?;
    if let Some(mine) = machines.iter().find(|m| assigned_to(m, &user)) {
        return Ok(StepOutcome::Done {
            detail: format!("{} in {group} is already assigned to {user}", mine.name),
            output: json!({ "machine": mine.name }),
        });
    }
    // A free machine: nobody assigned, nobody on it, and not held back by an administrator.
    let free = machines
        .iter()
        .filter(|m| m.assigned_users.is_empty() && m.session_count == 0 && !m.in_maintenance_mode)
        .min_by(|a, b| a.name.cmp(&b.name));
    Ok(match free {
        Some(machine) => StepOutcome::Done {
            detail: format!("{} in {group} is free", machine.name),
            output: json!({ "machine": machine.name }),
        },
        None => StepOutcome::skipped(format!(
            "no free machine in {group} ({} machines, all assigned or in use): one will be provisioned",
            machines.len()
        )),
    })
}

/// `VDI-012` → `VDI-###`: the catalog's own naming, learned from a machine it holds.
fn naming_from(machine_name: &str) -> Option<String> {
    let short = machine_name.rsplit('\\').next().unwrap_or(machine_name);
    let digits = short.chars().rev().take_while(char::is_ascii_digit).count();
    (digits > 0).then(|| format!("{}{}", &short[..short.len() - digits], "#".repeat(digits)))
}

/// Who creates the machine's AD account: the site's own on-prem administrator (CVAD sends it
/// as `X-AdminCredential`); a cloud site has none to lend.
fn admin_credential(site: &SiteCtx) -> Result<AdminCredential, StepOutcome> {
    match &site.client.config().auth {
        CvadAuth::OnPrem { username, password } => Ok(AdminCredential {
            username: username.clone(),
            password: password.clone(),
        }),
        CvadAuth::Cloud { .. } => Err(StepOutcome::Failed(format!(
            "site {} is a cloud site: MCS provisioning needs an AD credential for the machine \
             account, and deskbridge has none configured for it",
            site.name
        ))),
    }
}

/// The site's provisioning job for `catalog` that names `user`: one an earlier run of the step
/// sent and could not note before it stopped.
async fn sent_before(
    ctx: &StepCtx<'_>,
    site: &Arc<SiteCtx>,
    catalog: &str,
    user: &str,
) -> Result<Option<String>, StepOutcome> {
    let jobs = ctx
        .call(site, |c| c.jobs())
        .await
        .map_err(|e| from_cvad(&format!("cannot list the jobs of {}", site.name), &e))?;
    let mentions = |job: &crate::cvad::Job, text: &str| {
        let text = text.to_ascii_lowercase();
        job.parameters
            .iter()
            .any(|(_, value)| value.to_ascii_lowercase().contains(&text))
    };
    Ok(jobs
        .iter()
        .filter(|j| {
            j.job_type == job_types::PROVISION_MACHINE
                && !matches!(
                    j.status,
                    crate::cvad::JobStatus::Failed | crate::cvad::JobStatus::Canceled
                )
        })
        .find(|j| mentions(j, user) && mentions(j, catalog))
        .map(|j| j.id.clone()))
}

/// Waits for provisioning job `job_id` and names the machine it made.
async fn provisioned(
    ctx: &StepCtx<'_>,
    site: &Arc<SiteCtx>,
    catalog: &str,
    job_id: &str,
    how: &str,
) -> StepResult {
    let finished = ctx
        .wait_job(site, job_id, job_types::PROVISION_MACHINE)
        .await?;
    let made = ctx
        .call(site, |c| c.provisioned_machine(&finished))
        .await
        .map_err(|e| from_cvad(&format!("CVAD job {} finished, but", finished.id), &e))?;
    Ok(StepOutcome::Done {
        detail: format!(
            "{how} {} in {catalog} (CVAD job {})",
            made.name, finished.id
        ),
        output: json!({ "machine": made.name, "cvad_job": finished.id }),
    })
}

pub(super) async fn provision(
    ctx: &StepCtx<'_>,
    site_name: &str,
    catalog: &str,
    naming: Option<&str>,
) -> StepResult {
    if let Ok(machine) = ctx.machine() {
        return Ok(StepOutcome::skipped(format!(
            "{machine} was free: nothing to provision"
        )));
    }
    let site = ctx.site(site_name)?;
    let user = ctx.qualified_user();
    let existing = machines_where(ctx, site, property::MACHINE_CATALOG, catalog).await?;
    if ctx.resumed {
        // An earlier run of this step may have started provisioning before it stopped: follow
        // the job it noted, else the machine it made, else the job it sent without noting.
        let noted = ctx
            .previous
            .and_then(|p| p.get("cvad_job"))
            .and_then(serde_json::Value::as_str);
        if let Some(job_id) = noted {
            return provisioned(
                ctx,
                site,
                catalog,
                job_id,
                "provisioned (followed after a restart)",
            )
            .await;
        }
        if let Some(made) = existing.iter().find(|m| assigned_to(m, &user)) {
            return Ok(StepOutcome::Done {
                detail: format!("{} was provisioned by an earlier attempt", made.name),
                output: json!({ "machine": made.name }),
            });
        }
        if let Some(job_id) = sent_before(ctx, site, catalog, &user).await? {
            return provisioned(
                ctx,
                site,
                catalog,
                &job_id,
                "provisioned (found after a restart)",
            )
            .await;
        }
    }
    let scheme = naming
        .map(str::to_owned)
        .or_else(|| existing.iter().find_map(|m| naming_from(&m.name)))
        .unwrap_or_else(|| "VDI-####".to_owned());
    let admin = admin_credential(site)?;
    let users = [user.clone()];
    let job = ctx
        .call(site, |c| {
            c.provision_machine(catalog, &scheme, ctx.domain, None, &users, &admin)
        })
        .await
        .map_err(|e| from_cvad(&format!("cannot provision in {catalog} at {site_name}"), &e))?;
    // Before waiting: a restart meanwhile follows this job instead of provisioning again.
    ctx.note(json!({ "cvad_job": job.id })).await?;
    provisioned(
        ctx,
        site,
        catalog,
        &job.id,
        &format!("provisioned (naming {scheme})"),
    )
    .await
}

pub(super) async fn add_to_group(ctx: &StepCtx<'_>, site_name: &str, group: &str) -> StepResult {
    let site = ctx.site(site_name)?;
    let name = ctx.machine()?;
    let machine = read_machine(ctx, site, name).await?;
    match &machine.delivery_group {
        Some(current) if current.name.eq_ignore_ascii_case(group) => {
            return Ok(StepOutcome::skipped(format!(
                "{name} is already in {group}"
            )));
        }
        Some(current) => {
            return Err(StepOutcome::Failed(format!(
                "{name} belongs to delivery group {}, not {group}",
                current.name
            )));
        }
        None => {}
    }
    let Some(catalog) = &machine.catalog else {
        return Err(StepOutcome::Failed(format!(
            "{name} is in no machine catalog"
        )));
    };
    let request = DeliveryGroupAddMachinesRequest {
        machine_catalog: catalog.name.clone(),
        count: 1,
        assign_machines_to_users: vec![AssignMachineToUsers {
            machine: machine.name.clone(),
            users: machine.assigned_users.clone(),
        }],
    };
    let job = ctx
        .call(site, |c| {
            c.add_machines_to_delivery_group_async(group, &request)
        })
        .await
        .map_err(|e| from_cvad(&format!("cannot add {name} to {group}"), &e))?;
    ctx.wait_job(site, &job.id, job_types::ADD_GROUP_MACHINES)
        .await?;
    Ok(StepOutcome::done(format!("added {name} to {group}")))
}

pub(super) async fn assign(ctx: &StepCtx<'_>, site_name: &str) -> StepResult {
    let site = ctx.site(site_name)?;
    let name = ctx.machine()?;
    let user = ctx.qualified_user();
    let machine = read_machine(ctx, site, name).await?;
    if assigned_to(&machine, &user) {
        return Ok(StepOutcome::skipped(format!(
            "{name} is already assigned to {user}"
        )));
    }
    if let Some(other) = machine.assigned_users.first() {
        return Err(StepOutcome::Failed(format!(
            "{name} was assigned to {other} meanwhile; request the desktop again to pick another machine"
        )));
    }
    let update = UpdateMachineRequest {
        assigned_users: Some(vec![user.clone()]),
        ..Default::default()
    };
    let job = ctx
        .call(site, |c| c.update_machine_async(name, &update))
        .await
        .map_err(|e| from_cvad(&format!("cannot assign {name} to {user}"), &e))?;
    ctx.wait_job(site, &job.id, job_types::UPDATE_MACHINE)
        .await?;
    Ok(StepOutcome::done(format!("assigned {name} to {user}")))
}

pub(super) async fn power_on(ctx: &StepCtx<'_>, site_name: &str) -> StepResult {
    let site = ctx.site(site_name)?;
    let name = ctx.machine()?;
    let machine = read_machine(ctx, site, name).await?;
    if matches!(machine.power_state, PowerState::On | PowerState::TurningOn) {
        return Ok(StepOutcome::skipped(format!("{name} is already on")));
    }
    let job = ctx
        .call(site, |c| c.power_async(name, PowerAction::Start, false))
        .await
        .map_err(|e| from_cvad(&format!("cannot start {name}"), &e))?;
    ctx.wait_job(site, &job.id, PowerAction::Start.job_type())
        .await?;
    Ok(StepOutcome::done(format!("started {name}")))
}

pub(super) async fn wait_registered(ctx: &StepCtx<'_>, site_name: &str) -> StepResult {
    let site = ctx.site(site_name)?;
    let name = ctx.machine()?;
    let deadline = tokio::time::Instant::now() + ctx.job_timeout;
    let started = tokio::time::Instant::now();
    loop {
        let machine = read_machine(ctx, site, name).await?;
        if machine.registration_state == RegistrationState::Registered {
            return Ok(StepOutcome::done(format!(
                "{name} is registered ({} s after this step started)",
                started.elapsed().as_secs()
            )));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StepOutcome::Failed(format!(
                "{name} did not register within {} s (power {:?}, registration {:?})",
                ctx.job_timeout.as_secs(),
                machine.power_state,
                machine.registration_state
            )));
        }
        tokio::time::sleep(ctx.poll_interval).await;
    }
}
