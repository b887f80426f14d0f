//! Checking a job request completely before anything is stored, and expanding its targets
//! into tasks: a bad request is answered with what is wrong and creates nothing.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::super::AppState;
use super::super::error::ApiError;
use super::super::guard::Caller;
use super::{CreateJob, MAX_ID, MAX_TARGETS};
use crate::adapter::engine::account_params::{
    self, AccountOp, JobSecrets, PasswordSource, Verification,
};
use crate::adapter::engine::actions::{self, ActionSpec, Operation, TargetKind};
use crate::adapter::engine::{accounts, expand, secrets};
use crate::adapter::store::{JobDetail, NewJob, NewTask};
use crate::adapter::workflows;
use crate::directory::account_name;

pub(super) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}

pub(super) fn check_role(caller: &Caller, spec: &ActionSpec) -> Result<(), ApiError> {
    if caller.role.allows(spec.role) {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "action {} needs role {}; client '{}' has {}",
            spec.name, spec.role, caller.name, caller.role
        )))
    }
}

fn check_text(what: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(invalid(format!("{what} must not be empty")));
    }
    if value.chars().count() > MAX_ID {
        return Err(invalid(format!(
            "{what} is longer than {MAX_ID} characters"
        )));
    }
    Ok(())
}

/// A checked request: the action, what its tasks run, the parameters to store (no secrets)
/// and the secrets taken out of them.
pub(super) struct Checked {
    pub spec: &'static ActionSpec,
    pub op: Operation,
    pub params: Value,
    pub secrets: JobSecrets,
}

/// Everything about the request that needs no site: the action, role, targets, params,
/// ticket and key.
pub(super) fn validate(
    state: &AppState,
    caller: &Caller,
    body: &CreateJob,
) -> Result<Checked, ApiError> {
    let spec = actions::lookup(&body.action).ok_or_else(|| {
        invalid(format!(
            "unknown action {:?}; known actions: {}",
            body.action,
            actions::names()
        ))
    })?;
    check_role(caller, spec)?;
    if body.targets.is_empty() {
        return Err(invalid("targets is empty; a job needs at least one target"));
    }
    if body.targets.len() > MAX_TARGETS {
        return Err(invalid(format!(
            "too many targets: {}; at most {MAX_TARGETS} per job (split the work into several jobs)",
            body.targets.len()
        )));
    }
    let mut seen = HashSet::new();
    for (i, t) in body.targets.iter().enumerate() {
        check_text(&format!("targets[{i}].id"), &t.id)?;
        if spec.target == TargetKind::Runbook {
            if !t.site.eq_ignore_ascii_case(workflows::RUNBOOK_SITE) {
                return Err(invalid(format!(
                    "targets[{i}]: a runbook's target is {{\"site\": \"runbook\", \"id\": NAME}}; \
                     got site {:?}",
                    t.site
                )));
            }
            if state.runbooks.get(&t.id).is_none() {
                let known: Vec<&str> = state
                    .runbooks
                    .list()
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect();
                return Err(invalid(format!(
                    "targets[{i}]: no runbook named {:?}; loaded: {}",
                    t.id,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        } else if matches!(spec.target, TargetKind::Account | TargetKind::Person) {
            if state.directories.get(&t.site).is_none() {
                let known = state.directories.domains();
                return Err(invalid(format!(
                    "targets[{i}]: no directory for domain {:?} (for account actions and \
                     workflows a target's site names the domain); configured: {}",
                    t.site,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        } else if !state.config.sites.iter().any(|s| s.name == t.site) {
            let known: Vec<&str> = state.config.sites.iter().map(|s| s.name.as_str()).collect();
            return Err(invalid(format!(
                "targets[{i}]: unknown site {:?}; the configured sites are: {}",
                t.site,
                known.join(", ")
            )));
        }
        if !seen.insert((t.site.as_str(), t.id.as_str())) {
            return Err(invalid(format!(
                "targets[{i}]: {} {:?} at site {} is listed twice",
                spec.target.as_str(),
                t.id,
                t.site
            )));
        }
    }
    let mut raw = body.params.clone();
    let secrets = if spec.target == TargetKind::Account {
        account_params::take_secrets(spec.name, &mut raw).map_err(invalid)?
    } else {
        JobSecrets::default()
    };
    let op = actions::operation(spec.name, &raw).map_err(invalid)?;
    if let Operation::Account(AccountOp::PasswordReset {
        source,
        verification,
        ..
    }) = &op
    {
        if body.targets.len() != 1 {
            return Err(invalid(format!(
                "{} takes exactly one target (one account per reset); got {}",
                spec.name,
                body.targets.len()
            )));
        }
        if *source == PasswordSource::Provided && secrets.password.is_none() {
            return Err(invalid(format!(
                "{} needs params.password (the new password) or params.generate = true",
                spec.name
            )));
        }
        if *verification == Verification::Code && secrets.code.is_none() {
            return Err(invalid(format!(
                "params.verification.code of {} is missing: give the security code the \
                 requester read out",
                spec.name
            )));
        }
    }
    if let Some((role, why)) = actions::params_role(&op)
        && !caller.role.allows(role)
    {
        return Err(ApiError::forbidden(format!(
            "{why}; client '{}' has {}",
            caller.name, caller.role
        )));
    }
    let mut params = actions::normalized_params(&op);
    if spec.target == TargetKind::User {
        // The job's tasks are sessions; the users asked for are kept for idempotency and for
        // the person reading the job.
        let users: Vec<Value> = body
            .targets
            .iter()
            .map(|t| json!({ "site": t.site, "id": t.id }))
            .collect();
        if let Value::Object(map) = &mut params {
            map.insert("users".into(), Value::Array(users));
        }
    }
    if let Some(ticket) = &body.ticket {
        check_text("ticket.number", &ticket.number)?;
        if !state
            .config
            .servicenow
            .iter()
            .any(|i| i.name == ticket.instance)
        {
            let known: Vec<&str> = state
                .config
                .servicenow
                .iter()
                .map(|i| i.name.as_str())
                .collect();
            return Err(invalid(format!(
                "ticket.instance {:?} is not a configured ServiceNow instance; configured: {}",
                ticket.instance,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    if let Some(key) = &body.idempotency_key {
        check_text("idempotency_key", key)?;
    }
    Ok(Checked {
        spec,
        op,
        params,
        secrets,
    })
}

/// The tasks of the job; `user.logoff` asks each user's site for the user's sessions.
pub(super) async fn tasks_for(
    state: &AppState,
    spec: &ActionSpec,
    body: &CreateJob,
) -> Result<Vec<NewTask>, ApiError> {
    if spec.target == TargetKind::Account {
        // A domain's tasks run in its directory's own lane; the account as the directory
        // knows it (`LAB\sam` → `sam`).
        return Ok(body
            .targets
            .iter()
            .map(|t| NewTask {
                site: accounts::lane_name(&t.site),
                target_id: account_name(&t.id).to_owned(),
                display_name: format!("{}\\{}", t.site.to_ascii_uppercase(), account_name(&t.id)),
            })
            .collect());
    }
    if spec.target == TargetKind::Runbook {
        return Ok(body
            .targets
            .iter()
            .map(|t| NewTask {
                site: workflows::LANE.to_owned(),
                target_id: t.id.clone(),
                display_name: format!("runbook {}", t.id),
            })
            .collect());
    }
    if spec.target == TargetKind::Person {
        // Workflows span sites and a directory: they run in their own lane, named by person.
        return Ok(body
            .targets
            .iter()
            .map(|t| {
                let person = format!("{}\\{}", t.site.to_ascii_uppercase(), account_name(&t.id));
                NewTask {
                    site: workflows::LANE.to_owned(),
                    target_id: person.clone(),
                    display_name: person,
                }
            })
            .collect());
    }
    if spec.target != TargetKind::User {
        return Ok(body
            .targets
            .iter()
            .map(|t| NewTask {
                site: t.site.clone(),
                target_id: t.id.clone(),
                display_name: t.id.clone(),
            })
            .collect());
    }
    let Some(jobs) = &state.jobs else {
        return Err(ApiError::unavailable(
            "user.logoff needs the job engine to look up sessions, and it is not running",
        ));
    };
    let mut tasks = Vec::new();
    let mut seen = HashSet::new();
    for t in &body.targets {
        let Some(client) = jobs.client(&t.site) else {
            return Err(invalid(format!("site {} has no CVAD client", t.site)));
        };
        let found = expand::user_sessions(client, &t.site, &t.id)
            .await
            .map_err(|e| {
                ApiError::unavailable(format!(
                    "cannot list the sessions of user {} at site {}: {e}",
                    t.id, t.site
                ))
            })?;
        for task in found {
            if seen.insert((task.site.clone(), task.target_id.clone())) {
                tasks.push(task);
            }
        }
    }
    if tasks.is_empty() {
        let users: Vec<String> = body
            .targets
            .iter()
            .map(|t| format!("{} at {}", t.id, t.site))
            .collect();
        return Err(invalid(format!(
            "no sessions found for {}; nothing to log off",
            users.join(", ")
        )));
    }
    if tasks.len() > MAX_TARGETS {
        return Err(invalid(format!(
            "the users have {} sessions; at most {MAX_TARGETS} per job",
            tasks.len()
        )));
    }
    Ok(tasks)
}

/// Whether an existing job (returned for a repeated key or ticket) is the same request.
pub(super) fn same_request(
    existing: &JobDetail,
    spec: &ActionSpec,
    params: &Value,
    new: &NewJob,
) -> bool {
    let job = &existing.job;
    // A repeated password reset carries a new secret reference; what it asks is the same.
    let without_ref = |p: &Value| {
        let mut p = p.clone();
        if let Value::Object(map) = &mut p {
            map.remove(secrets::SECRET_REF);
        }
        p
    };
    if job.action != spec.name
        || without_ref(&job.params) != without_ref(params)
        || job.ticket != new.ticket
    {
        return false;
    }
    if spec.target == TargetKind::User {
        // Users were compared through params; the sessions found may differ by now.
        return true;
    }
    let old: HashSet<(&str, &str)> = existing
        .tasks
        .iter()
        .map(|t| (t.site.as_str(), t.target_id.as_str()))
        .collect();
    let asked: HashSet<(&str, &str)> = new
        .tasks
        .iter()
        .map(|t| (t.site.as_str(), t.target_id.as_str()))
        .collect();
    old == asked
}
