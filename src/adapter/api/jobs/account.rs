//! What a password reset needs before it is stored: the account exists, a given password
//! meets the policy (refused with the rules it breaks, never quoting it), a generated one is
//! made, and the secrets go to the engine's memory with only a reference in the job.

use serde_json::Value;
use uuid::Uuid;

use super::super::AppState;
use super::super::accounts::{directory_error, directory_of};
use super::super::error::ApiError;
use super::CreateJob;
use super::validate::{Checked, invalid};
use crate::accounts::generate::generate;
use crate::accounts::policy::AccountNames;
use crate::adapter::engine::account_params::{AccountOp, PasswordSource};
use crate::adapter::engine::actions::Operation;
use crate::adapter::engine::secrets::SECRET_REF;
use crate::directory::DirectoryError;
use crate::secret::Secret;

/// The secrets of a checked request, kept for its tasks: the reference to drop if the job is
/// not created, and the generated password to show once.
pub(super) struct Kept {
    pub reference: Option<Uuid>,
    pub temporary: Option<Secret>,
}

pub(super) async fn keep_secrets(
    state: &AppState,
    body: &CreateJob,
    checked: &mut Checked,
) -> Result<Kept, ApiError> {
    let mut kept = Kept {
        reference: None,
        temporary: None,
    };
    let Operation::Account(AccountOp::PasswordReset { source, .. }) = &checked.op else {
        return Ok(kept);
    };
    let Some(target) = body.targets.first() else {
        return Err(invalid("a password reset needs its one target"));
    };
    let directory = directory_of(state, &target.site)?;
    let account = match directory.account(&target.id).await {
        Ok(account) => account,
        Err(DirectoryError::NotFound(_)) => {
            return Err(invalid(format!(
                "targets[0]: no account {:?} in domain {}",
                target.id, target.site
            )));
        }
        Err(e) => return Err(directory_error(e)),
    };
    let names = AccountNames::new(&account.sam_name, &account.display_name);
    let policy = &state.config.accounts.policy;
    match source {
        PasswordSource::Provided => {
            let password = checked.secrets.password.as_ref().map(Secret::expose);
            let violations = policy.check(password.unwrap_or_default(), &names);
            if !violations.is_empty() {
                let rules: Vec<String> = violations.iter().map(|v| v.message.clone()).collect();
                return Err(invalid(format!(
                    "the new password does not meet the policy: it {}",
                    rules.join("; it ")
                )));
            }
        }
        PasswordSource::Generated => {
            let made = generate(policy, &names).map_err(|e| {
                invalid(format!("cannot generate a password under the policy: {e}"))
            })?;
            checked.secrets.password = Some(made.clone());
            kept.temporary = Some(made);
        }
    }
    let Some(jobs) = &state.jobs else {
        return Err(ApiError::unavailable(
            "a password reset needs the job engine, which holds the new password in memory, \
             and it is not running",
        ));
    };
    let reference = jobs.secrets().keep(std::mem::take(&mut checked.secrets));
    if let Value::Object(map) = &mut checked.params {
        map.insert(SECRET_REF.into(), Value::from(reference.to_string()));
    }
    kept.reference = Some(reference);
    Ok(kept)
}
