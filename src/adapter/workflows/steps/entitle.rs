//! Entitlement steps: the user on a delivery group's or an application group's included
//! users. The client reads the list first and sends nothing when the user is already as asked.

use std::sync::Arc;

use super::{StepCtx, StepOutcome, StepResult, from_cvad};
use crate::adapter::engine::worker::SiteCtx;
use crate::cvad::{CvadError, EntitlementChange, JobRef, job_types};

/// Which kind of group carries the entitlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    Delivery,
    Application,
}

impl Group {
    fn noun(self) -> &'static str {
        match self {
            Group::Delivery => "delivery group",
            Group::Application => "application group",
        }
    }

    /// The CVAD job type of a change to the group's users.
    fn job_type(self) -> &'static str {
        match self {
            Group::Delivery => job_types::UPDATE_DELIVERY_GROUP,
            Group::Application => job_types::UPDATE_APPLICATION_GROUP,
        }
    }
}

/// Puts `user` on (`included`) or off the group's list at `site`, holding one call slot: the
/// site's job, or why nothing was sent.
async fn set(
    ctx: &StepCtx<'_>,
    site: &Arc<SiteCtx>,
    kind: Group,
    group: &str,
    user: &str,
    included: bool,
) -> Result<Result<JobRef, EntitlementChange>, CvadError> {
    ctx.call(site, |c| async move {
        match kind {
            Group::Delivery => c.set_delivery_group_user_async(group, user, included).await,
            Group::Application => {
                c.set_application_group_user_async(group, user, included)
                    .await
            }
        }
    })
    .await
}

/// The step: `user` entitled to `group` at `site_name`.
pub(super) async fn entitle(
    ctx: &StepCtx<'_>,
    site_name: &str,
    kind: Group,
    group: &str,
) -> StepResult {
    let site = ctx.site(site_name)?;
    let user = ctx.qualified_user();
    let sent = set(ctx, site, kind, group, &user, true)
        .await
        .map_err(|e| {
            from_cvad(
                &format!("cannot entitle {user} to {group} at {site_name}"),
                &e,
            )
        })?;
    match sent {
        Ok(job) => {
            ctx.wait_job(site, &job.id, kind.job_type()).await?;
            Ok(StepOutcome::done(format!(
                "entitled {user} to {} {group}",
                kind.noun()
            )))
        }
        Err(EntitlementChange::FilterOff) => Ok(StepOutcome::skipped(format!(
            "{group} does not filter by user (its included-users list is off): its other \
             rules decide who gets it"
        ))),
        Err(_) => Ok(StepOutcome::skipped(format!(
            "{user} was already entitled to {group}"
        ))),
    }
}

/// Takes the user off every delivery group and application group of every site that lists
/// them; returns what was removed (`delivery group NAME at SITE`).
pub(super) async fn remove_everywhere(ctx: &StepCtx<'_>) -> Result<Vec<String>, StepOutcome> {
    let user = ctx.qualified_user();
    let mut removed = Vec::new();
    for site in ctx.sites.values() {
        let at = &site.name;
        let delivery = ctx
            .call(site, |c| c.delivery_groups())
            .await
            .map_err(|e| from_cvad(&format!("cannot list the delivery groups of {at}"), &e))?
            .into_iter()
            .map(|g| (Group::Delivery, g.name));
        let application = ctx
            .call(site, |c| c.application_groups())
            .await
            .map_err(|e| from_cvad(&format!("cannot list the application groups of {at}"), &e))?
            .into_iter()
            .map(|g| (Group::Application, g.name));
        for (kind, group) in delivery.chain(application).collect::<Vec<_>>() {
            let sent = set(ctx, site, kind, &group, &user, false)
                .await
                .map_err(|e| from_cvad(&format!("cannot remove {user} from {group}"), &e))?;
            if let Ok(job) = sent {
                ctx.wait_job(site, &job.id, kind.job_type()).await?;
                removed.push(format!("{} {group} at {at}", kind.noun()));
            }
        }
    }
    Ok(removed)
}
