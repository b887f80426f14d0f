//! Entitlement steps: the user on a delivery group's or an application group's included
//! users. The client reads the list first and sends nothing when the user is already on it.

use super::{StepCtx, StepOutcome, StepResult, from_cvad};
use crate::cvad::EntitlementChange;

/// What an entitlement change that sent nothing means for a person.
fn unchanged(outcome: EntitlementChange, user: &str, group: &str, added: bool) -> StepOutcome {
    match (outcome, added) {
        (EntitlementChange::FilterOff, _) => StepOutcome::skipped(format!(
            "{group} does not filter by user (its included-users list is off): its other \
             rules decide who gets it"
        )),
        (_, true) => StepOutcome::skipped(format!("{user} was already entitled to {group}")),
        (_, false) => StepOutcome::skipped(format!("{user} was not entitled to {group}")),
    }
}

pub(super) async fn delivery_group(ctx: &StepCtx<'_>, site_name: &str, group: &str) -> StepResult {
    let site = ctx.site(site_name)?;
    let user = ctx.qualified_user();
    let sent = ctx
        .call(site, |c| {
            c.set_delivery_group_user_async(group, &user, true)
        })
        .await
        .map_err(|e| {
            from_cvad(
                &format!("cannot entitle {user} to {group} at {site_name}"),
                &e,
            )
        })?;
    match sent {
        Ok(job) => {
            ctx.wait_job(site, &job.id).await?;
            Ok(StepOutcome::done(format!(
                "entitled {user} to delivery group {group}"
            )))
        }
        Err(outcome) => Ok(unchanged(outcome, &user, group, true)),
    }
}

pub(super) async fn application_group(
    ctx: &StepCtx<'_>,
    site_name: &str,
    group: &str,
) -> StepResult {
    let site = ctx.site(site_name)?;
    let user = ctx.qualified_user();
    let sent = ctx
        .call(site, |c| {
            c.set_application_group_user_async(group, &user, true)
        })
        .await
        .map_err(|e| {
            from_cvad(
                &format!("cannot entitle {user} to {group} at {site_name}"),
                &e,
            )
        })?;
    match sent {
        Ok(job) => {
            ctx.wait_job(site, &job.id).await?;
            Ok(StepOutcome::done(format!(
                "entitled {user} to application group {group}"
            )))
        }
        Err(outcome) => Ok(unchanged(outcome, &user, group, true)),
    }
}

/// Takes the user off every delivery group and application group of every site that lists
/// them; returns what was removed (`group at site`).
pub(super) async fn remove_everywhere(ctx: &StepCtx<'_>) -> Result<Vec<String>, StepOutcome> {
    let user = ctx.qualified_user();
    let mut removed = Vec::new();
    for site in ctx.sites.values() {
        let at = &site.name;
        let groups = ctx
            .call(site, |c| c.delivery_groups())
            .await
            .map_err(|e| from_cvad(&format!("cannot list the delivery groups of {at}"), &e))?;
        for group in groups {
            let sent = ctx
                .call(site, |c| {
                    c.set_delivery_group_user_async(&group.name, &user, false)
                })
                .await
                .map_err(|e| from_cvad(&format!("cannot remove {user} from {}", group.name), &e))?;
            if let Ok(job) = sent {
                ctx.wait_job(site, &job.id).await?;
                removed.push(format!("delivery group {} at {at}", group.name));
            }
        }
        let apps = ctx
            .call(site, |c| c.application_groups())
            .await
            .map_err(|e| from_cvad(&format!("cannot list the application groups of {at}"), &e))?;
        for group in apps {
            let sent = ctx
                .call(site, |c| {
                    c.set_application_group_user_async(&group.name, &user, false)
                })
                .await
                .map_err(|e| from_cvad(&format!("cannot remove {user} from {}", group.name), &e))?;
            if let Ok(job) = sent {
                ctx.wait_job(site, &job.id).await?;
                removed.push(format!("application group {} at {at}", group.name));
            }
        }
    }
    Ok(removed)
}
