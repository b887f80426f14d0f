//! Directory steps: create the account (onboarding), add it to a group, disable it
//! (offboarding). Each reads the account first and acts only if it is not already as asked.

use super::{StepCtx, StepOutcome, StepResult, from_directory};
use crate::directory::{DirectoryError, NewAccount};

pub(super) async fn create(ctx: &StepCtx<'_>) -> StepResult {
    let directory = ctx.directory()?;
    let user = ctx.qualified_user();
    match directory.account(ctx.user).await {
        // Made by an earlier attempt of this very step: done, not repeated.
        Ok(_) if ctx.resumed => {
            return Ok(StepOutcome::skipped(format!(
                "account {user} exists: created by an earlier attempt"
            )));
        }
        Ok(existing) => {
            return Err(StepOutcome::Failed(format!(
                "an account named {user} already exists ({}); onboarding never takes over an \
                 existing account: choose another account name",
                if existing.display_name.is_empty() {
                    "no display name"
                } else {
                    existing.display_name.as_str()
                }
            )));
        }
        Err(DirectoryError::NotFound(_)) => {}
        Err(e) => return Err(from_directory(&format!("cannot look up {user}"), &e)),
    }
    let Some(person) = &ctx.params.person else {
        return Err(StepOutcome::Failed(
            "the job names no person to create".into(),
        ));
    };
    let Some(password) = ctx.password else {
        return Err(StepOutcome::Failed(
            "the initial password was held in memory by an adapter that has stopped since; \
             nothing was created: submit the onboarding again for a new password"
                .into(),
        ));
    };
    let display_name = if person.display_name.trim().is_empty() {
        format!("{} {}", person.given_name, person.surname)
    } else {
        person.display_name.clone()
    };
    let new = NewAccount {
        sam_name: ctx.user.to_owned(),
        given_name: person.given_name.clone(),
        surname: person.surname.clone(),
        display_name,
        upn: person.upn.clone(),
        mail: person.mail.clone(),
        ou: person.ou.clone(),
        password: password.clone(),
        must_change: true,
    };
    match directory.create(&new).await {
        Ok(account) => Ok(StepOutcome::done(format!(
            "created {}{}; the user must choose a new password at first logon",
            account.qualified_name(),
            if account.dn.is_empty() {
                String::new()
            } else {
                format!(" ({})", account.dn)
            }
        ))),
        Err(e) => Err(from_directory(&format!("cannot create {user}"), &e)),
    }
}

pub(super) async fn group_add(ctx: &StepCtx<'_>, group: &str) -> StepResult {
    let directory = ctx.directory()?;
    let user = ctx.qualified_user();
    let account = directory
        .account(ctx.user)
        .await
        .map_err(|e| from_directory(&format!("cannot read {user}"), &e))?;
    if account.groups.iter().any(|g| g.eq_ignore_ascii_case(group)) {
        return Ok(StepOutcome::skipped(format!(
            "{user} is already in {group}"
        )));
    }
    directory
        .add_to_group(ctx.user, group)
        .await
        .map_err(|e| from_directory(&format!("cannot add {user} to {group}"), &e))?;
    Ok(StepOutcome::done(format!("added {user} to {group}")))
}

pub(super) async fn disable(ctx: &StepCtx<'_>) -> StepResult {
    let directory = ctx.directory()?;
    let user = ctx.qualified_user();
    let account = match directory.account(ctx.user).await {
        Ok(account) => account,
        Err(DirectoryError::NotFound(_)) => {
            return Ok(StepOutcome::skipped(format!(
                "{user} is not in the directory: nothing to disable"
            )));
        }
        Err(e) => return Err(from_directory(&format!("cannot read {user}"), &e)),
    };
    if account.disabled {
        return Ok(StepOutcome::skipped(format!("{user} was already disabled")));
    }
    directory
        .set_enabled(ctx.user, false)
        .await
        .map_err(|e| from_directory(&format!("cannot disable {user}"), &e))?;
    Ok(StepOutcome::done(format!("disabled {user}")))
}
