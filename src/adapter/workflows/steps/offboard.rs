//! Offboarding steps across every site: log off the person's sessions, remove their
//! entitlements, and release the machines dedicated to them (unassign, or delete).

use std::sync::Arc;

use super::{StepCtx, StepOutcome, StepResult, entitle, from_cvad};
use crate::adapter::engine::expand;
use crate::adapter::engine::worker::SiteCtx;
use crate::cvad::search::property;
use crate::cvad::wire::UpdateMachineRequest;
use crate::cvad::{DeleteMachineOptions, Search, SearchOp, job_types};
use crate::model::Machine;

/// "London: 2, Paris: 1" from per-site counts, leaving out sites with none.
fn per_site(counts: &[(String, usize)]) -> String {
    counts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(site, n)| format!("{site}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) async fn logoff_sessions(ctx: &StepCtx<'_>) -> StepResult {
    let user = ctx.qualified_user();
    let mut counts = Vec::new();
    for site in ctx.sites.values() {
        let sessions = ctx
            .call(site, |c| expand::user_sessions(c, &site.name, &user))
            .await
            .map_err(|e| {
                from_cvad(
                    &format!("cannot list {user}'s sessions at {}", site.name),
                    &e,
                )
            })?;
        for session in &sessions {
            let job = match ctx.call(site, |c| c.logoff_async(&session.target_id)).await {
                Ok(job) => job,
                // Ended by itself meanwhile: that is what this step wants.
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    return Err(from_cvad(
                        &format!("cannot log off {} at {}", session.display_name, site.name),
                        &e,
                    ));
                }
            };
            ctx.wait_job(site, &job.id, job_types::LOGOFF_SESSIONS)
                .await?;
        }
        counts.push((site.name.clone(), sessions.len()));
    }
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    Ok(if total == 0 {
        StepOutcome::skipped(format!("{user} had no sessions"))
    } else {
        StepOutcome::done(format!(
            "logged off {total} session(s) of {user} ({})",
            per_site(&counts)
        ))
    })
}

/// The machines assigned to `user` at the site.
async fn assigned_machines(
    ctx: &StepCtx<'_>,
    site: &Arc<SiteCtx>,
    user: &str,
) -> Result<Vec<Machine>, StepOutcome> {
    // The site's `UserName` search finds machines by their users, assigned or in session.
    let search = Search::new()
        .filter(property::USER_NAME, SearchOp::Equals, user)
        .build();
    let found = ctx
        .call(site, |c| c.search_machines(&search))
        .await
        .map_err(|e| {
            from_cvad(
                &format!("cannot list {user}'s machines at {}", site.name),
                &e,
            )
        })?;
    Ok(found
        .items
        .into_iter()
        .filter(|m| {
            m.assigned_users
                .iter()
                .any(|u| u.eq_ignore_ascii_case(user))
        })
        .collect())
}

pub(super) async fn release_machines(ctx: &StepCtx<'_>, delete: bool) -> StepResult {
    let user = ctx.qualified_user();
    let mut released = Vec::new();
    for site in ctx.sites.values() {
        for machine in assigned_machines(ctx, site, &user).await? {
            if delete {
                delete_machine(ctx, site, &machine).await?;
            } else {
                let others: Vec<String> = machine
                    .assigned_users
                    .iter()
                    .filter(|u| !u.eq_ignore_ascii_case(&user))
                    .cloned()
                    .collect();
                let update = UpdateMachineRequest {
                    assigned_users: Some(others),
                    ..Default::default()
                };
                let job = ctx
                    .call(site, |c| c.update_machine_async(&machine.name, &update))
                    .await
                    .map_err(|e| from_cvad(&format!("cannot unassign {}", machine.name), &e))?;
                ctx.wait_job(site, &job.id, job_types::UPDATE_MACHINE)
                    .await?;
            }
            released.push(format!("{} at {}", machine.name, site.name));
        }
    }
    Ok(match (released.is_empty(), delete) {
        (true, _) => StepOutcome::skipped(format!("no machine is assigned to {user}")),
        (false, true) => StepOutcome::done(format!("deleted {}", released.join(", "))),
        (false, false) => StepOutcome::done(format!(
            "removed {user}'s assignment from {} (machines kept)",
            released.join(", ")
        )),
    })
}

/// Out of its delivery group, then deleted from its catalog (the VM with it, the site's
/// default); the site refuses while sessions remain, which the logoff step ended first.
async fn delete_machine(
    ctx: &StepCtx<'_>,
    site: &Arc<SiteCtx>,
    machine: &Machine,
) -> Result<(), StepOutcome> {
    if let Some(group) = &machine.delivery_group {
        let job = ctx
            .call(site, |c| {
                c.remove_machine_from_delivery_group_async(&group.name, &machine.name)
            })
            .await
            .map_err(|e| {
                from_cvad(
                    &format!("cannot remove {} from {}", machine.name, group.name),
                    &e,
                )
            })?;
        ctx.wait_job(site, &job.id, job_types::REMOVE_GROUP_MACHINES)
            .await?;
    }
    let Some(catalog) = &machine.catalog else {
        return Err(StepOutcome::Failed(format!(
            "{} is in no machine catalog",
            machine.name
        )));
    };
    let options = DeleteMachineOptions::default();
    let job = ctx
        .call(site, |c| {
            c.delete_catalog_machine_async(&catalog.name, &machine.name, &options)
        })
        .await
        .map_err(|e| {
            from_cvad(
                &format!("cannot delete {} from {}", machine.name, catalog.name),
                &e,
            )
        })?;
    ctx.wait_job(site, &job.id, job_types::DELETE_MACHINE)
        .await?;
    Ok(())
}

pub(super) async fn remove_entitlements(ctx: &StepCtx<'_>) -> StepResult {
    let user = ctx.qualified_user();
    let removed = entitle::remove_everywhere(ctx).await?;
    Ok(if removed.is_empty() {
        StepOutcome::skipped(format!(
            "no delivery group or application group lists {user}"
        ))
    } else {
        StepOutcome::done(format!("removed {user} from {}", removed.join(", ")))
    })
}
