//! Directories as lanes of work: the `account.*` tasks of one domain run against its
//! [`Directory`], with the same claims, leases, retries, events and audit as a site's tasks.
//!
//! A password reset verifies the requester first (a security code is checked here, once; a
//! call-back attestation was recorded with the job), then sets the password the job's
//! secrets hold ([`super::secrets`]). The other actions look at the account first and act only
//! if it is not already as asked, so a resumed task never repeats a change.

use std::future::Future;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::Shared;
use super::account_params::{AccountOp, Verification};
use super::actions::Operation;
use super::lane::{self, Claimed, Lane, Opened};
use super::lease;
use super::run::Outcome;
use super::worker::{Ended, TaskSlot, record};
use crate::accounts::verify::VerificationPolicy;
use crate::adapter::store::{AuditOutcome, NewAuditEntry};
use crate::directory::{Directory, DirectoryError, ResetOptions};

/// The prefix of a directory lane's name in the store (`directory:LAB`): sites and domains
/// may share a name, their tasks must not share a lane.
pub const LANE_PREFIX: &str = "directory:";

/// Directory changes in flight per domain: a helpdesk's resets come one at a time, and a
/// domain controller should not see a burst from a bulk enable.
const CONCURRENCY: u32 = 4;

/// The lane name of a domain's tasks.
pub fn lane_name(domain: &str) -> String {
    format!("{LANE_PREFIX}{}", domain.to_ascii_uppercase())
}

/// One directory as the engine sees it.
pub struct DirectoryCtx {
    pub name: String,
    pub directory: Arc<dyn Directory>,
    pub verification: VerificationPolicy,
}

impl DirectoryCtx {
    pub fn new(directory: Arc<dyn Directory>, verification: VerificationPolicy) -> Self {
        DirectoryCtx {
            name: lane_name(directory.domain()),
            directory,
            verification,
        }
    }
}

impl Lane for DirectoryCtx {
    fn name(&self) -> &str {
        &self.name
    }

    fn concurrency(&self) -> u32 {
        CONCURRENCY
    }

    fn enabled_in_config(&self) -> bool {
        true
    }

    fn run(
        self: &Arc<Self>,
        shared: Arc<Shared>,
        claimed: Claimed,
        slot: TaskSlot,
    ) -> impl Future<Output = ()> + Send + 'static {
        run_claimed(shared, Arc::clone(self), claimed, slot)
    }
}

async fn run_claimed(
    shared: Arc<Shared>,
    ctx: Arc<DirectoryCtx>,
    claimed: Claimed,
    slot: TaskSlot,
) {
    let Some(Opened {
        task,
        interrupted,
        lost,
        job,
    }) = lane::open(&shared, claimed).await
    else {
        return;
    };
    let started = Instant::now();
    let cancelled = !interrupted && shared.jobs.cancel_requested(&shared, task.job_id).await;
    let outcome = match &job.op {
        _ if cancelled => Outcome::Cancelled("cancelled before this attempt started".into()),
        Ok(Operation::Account(op)) => {
            let run = AccountRun {
                shared: &shared,
                ctx: &ctx,
                user: &task.target_id,
                params: &job.params,
                requested_by: &job.requested_by,
                resumed: task.attempts > 1 || interrupted,
            };
            tokio::select! {
                biased;
                () = lease::lost(lost) => Outcome::LeaseLost,
                outcome = run.run(op) => outcome,
            }
        }
        Ok(_) => Outcome::Failed("only account actions run at a directory".into()),
        Err(e) => Outcome::Failed(format!("the job's parameters are not valid: {e}")),
    };
    slot.release();
    if matches!(outcome, Outcome::Done(_))
        && let Some(hook) = shared.options.after_action.clone()
    {
        // The account as it is now, for the inventory's users list; read off the task's path.
        let (directory, user) = (Arc::clone(&ctx.directory), task.target_id.clone());
        tokio::spawn(async move {
            if let Ok(account) = directory.account(&user).await {
                hook.account_changed(&account);
            }
        });
    }
    let ended = Ended {
        action: &job.action,
        attempt: task.attempts,
        started,
    };
    record(&shared, (&ctx.name, None), task.id, ended, outcome, None);
}

struct AccountRun<'a> {
    shared: &'a Shared,
    ctx: &'a DirectoryCtx,
    user: &'a str,
    params: &'a Value,
    requested_by: &'a str,
    /// An earlier attempt may have acted.
    resumed: bool,
}

/// A directory error as an outcome: unreachable is retried, the rest is final.
fn classify(err: &DirectoryError) -> Outcome {
    if err.is_retryable() {
        Outcome::Retry(err.to_string())
    } else {
        Outcome::Failed(err.to_string())
    }
}

impl AccountRun<'_> {
    fn directory(&self) -> &dyn Directory {
        self.ctx.directory.as_ref()
    }

    /// Records how the requester of a password reset was verified, in the audit log beside
    /// the API calls (the code itself is never part of it).
    async fn audit_verification(&self, outcome: AuditOutcome, message: String) {
        let entry = NewAuditEntry {
            actor_id: None,
            actor_name: self.requested_by.to_owned(),
            action: "account.verification".to_owned(),
            targets: json!([{ "account": format!("{}\\{}", self.directory().domain(), self.user) }]),
            ticket: None,
            outcome,
            message: Some(message),
            request_id: None,
        };
        if let Err(e) = self.shared.store.append_audit(entry).await {
            tracing::warn!(error = %e, "cannot audit a verification");
        }
    }

    async fn run(&self, op: &AccountOp) -> Outcome {
        match op {
            AccountOp::PasswordReset {
                must_change,
                unlock,
                verification,
                ..
            } => {
                let options = ResetOptions {
                    must_change: *must_change,
                    unlock: *unlock,
                };
                self.reset(verification, options).await
            }
            AccountOp::Unlock => match self.directory().account(self.user).await {
                Ok(account) if !account.locked => {
                    Outcome::Done("the account was not locked".into())
                }
                Ok(_) => match self.directory().unlock(self.user).await {
                    Ok(()) => Outcome::Done("unlocked".into()),
                    Err(e) => classify(&e),
                },
                Err(e) => classify(&e),
            },
            AccountOp::SetEnabled(enabled) => match self.directory().account(self.user).await {
                Ok(account) if account.disabled != *enabled => Outcome::Done(
                    if *enabled {
                        "the account was already enabled"
                    } else {
                        "the account was already disabled"
                    }
                    .into(),
                ),
                Ok(_) => match self.directory().set_enabled(self.user, *enabled).await {
                    Ok(()) => Outcome::Done(if *enabled { "enabled" } else { "disabled" }.into()),
                    Err(e) => classify(&e),
                },
                Err(e) => classify(&e),
            },
            AccountOp::Group { add, group } => {
                let done = if *add {
                    self.directory().add_to_group(self.user, group).await
                } else {
                    self.directory().remove_from_group(self.user, group).await
                };
                match done {
                    Ok(()) if *add => Outcome::Done(format!("member of {group}")),
                    Ok(()) => Outcome::Done(format!("not a member of {group}")),
                    Err(e) => classify(&e),
                }
            }
        }
    }

    async fn reset(&self, verification: &Verification, options: ResetOptions) -> Outcome {
        let Some(secrets) = self.shared.secrets.get(self.params) else {
            let maybe = if self.resumed {
                " An earlier attempt may have set it before the restart; check the account."
            } else {
                ""
            };
            return Outcome::Failed(format!(
                "the new password is kept only in the memory of the adapter that took the \
                 request, and that adapter has restarted since (or another one runs this \
                 task); nothing was changed by this attempt. Ask for the reset again.{maybe}"
            ));
        };
        if let Verification::Code = verification {
            // Checked once: the code is spent here whatever the answer, so a retry after a
            // directory outage does not present it (a one-time code) again.
            match &secrets.code {
                Some(code) => {
                    let checked = self
                        .shared
                        .store
                        .verify_code(self.user, code, &self.ctx.verification, self.requested_by)
                        .await;
                    if let Ok(v) = &checked {
                        self.audit_verification(
                            if v.is_verified() {
                                AuditOutcome::Succeeded
                            } else {
                                AuditOutcome::Denied
                            },
                            format!("security code: {}", v.message()),
                        )
                        .await;
                    }
                    match checked {
                        Ok(v) if v.is_verified() => self.shared.secrets.spend_code(self.params),
                        Ok(v) => {
                            self.shared.secrets.spend_code(self.params);
                            return Outcome::Failed(format!(
                                "identity not verified, so the password was not reset: {}",
                                v.message()
                            ));
                        }
                        Err(e) => {
                            return Outcome::Retry(format!("cannot check the security code: {e}"));
                        }
                    }
                }
                // Verified by an earlier attempt of this task (the code was spent then).
                None if self.resumed => {}
                None => {
                    return Outcome::Failed(
                        "identity not verified, so the password was not reset: no security \
                         code was given"
                            .into(),
                    );
                }
            }
        }
        if let Verification::Callback { note } = verification
            && !self.resumed
        {
            self.audit_verification(
                AuditOutcome::Succeeded,
                format!("attested by {}: {note}", self.requested_by),
            )
            .await;
        }
        let Some(password) = &secrets.password else {
            return Outcome::Failed("the request carried no new password".into());
        };
        match self
            .directory()
            .reset_password(self.user, password, options)
            .await
        {
            Ok(()) => {
                let mut done = vec!["password reset".to_owned()];
                if options.must_change {
                    done.push("the user must change it at next logon".into());
                }
                if options.unlock {
                    done.push("account unlocked".into());
                }
                Outcome::Done(done.join("; "))
            }
            Err(e) => classify(&e),
        }
    }
}
