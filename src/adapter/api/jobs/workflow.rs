//! What a workflow request needs before it is stored: the beneficiary's routing decided and
//! written into the job (so the plan shown is the plan that runs), the plan checked against
//! the route, and for an onboarding the new account's name free and its initial password
//! generated, kept in the engine's memory and shown once.
//!
//! `POST /api/v1/workflows/preview` runs the same checks and answers the routing explanation
//! and every step, creating nothing.

use axum::Json;
use axum::extract::State;
use axum::{Extension, http::StatusCode};
use serde::Serialize;

use super::super::AppState;
use super::super::accounts::{directory_error, directory_of};
use super::super::body::OptionalJson;
use super::super::error::ApiError;
use super::super::guard::Caller;
use super::CreateJob;
use super::account::Kept;
use super::validate::{Checked, invalid, validate};
use crate::accounts::generate::generate;
use crate::accounts::policy::AccountNames;
use crate::adapter::engine::account_params::JobSecrets;
use crate::adapter::engine::actions::Operation;
use crate::adapter::routing::{self, Explanation, UserFacts};
use crate::adapter::runbooks;
use crate::adapter::store::StepState;
use crate::adapter::workflows::WorkflowKind;
use crate::adapter::workflows::params::{DedicatedMachines, NewPerson, WorkflowParams};
use crate::adapter::workflows::plan::{Step, plan};
use crate::directory::{DirectoryError, account_name};

/// The routing facts of an onboarding: the account does not exist yet, so they are what the
/// request says about the new person.
fn new_person_facts(domain: &str, sam: &str, person: &NewPerson) -> UserFacts {
    UserFacts {
        user: format!("{domain}\\{sam}"),
        domain: domain.to_owned(),
        location: person.location.trim().to_owned(),
        department: person.department.trim().to_owned(),
        ou: person.ou.trim().to_owned(),
        groups: person.groups.clone(),
    }
}

/// A checked workflow request, routed and planned.
pub(super) struct Prepared {
    pub explanation: Option<Explanation>,
    pub steps: Vec<Step>,
    pub person: String,
}

/// Routes and plans the request in `checked` (a workflow), writing the route into its params.
pub(super) async fn route_and_plan(
    state: &AppState,
    caller: &Caller,
    body: &CreateJob,
    checked: &mut Checked,
) -> Result<Prepared, ApiError> {
    let Operation::Workflow { kind, params } = &mut checked.op else {
        return Err(invalid("not a workflow"));
    };
    let kind = *kind;
    if kind == WorkflowKind::Runbook {
        let steps = prepare_runbook(state, caller, body, params)?;
        checked.params = serde_json::json!(**params);
        let name = body
            .targets
            .first()
            .map(|t| t.id.as_str())
            .unwrap_or_default();
        return Ok(Prepared {
            explanation: None,
            steps,
            person: format!("runbook {name}"),
        });
    }
    let [target] = body.targets.as_slice() else {
        if kind == WorkflowKind::Offboard {
            return Err(invalid(format!(
                "{} takes one person per job (the steps and the ticket are that person's); got \
                 {} targets",
                kind.action(),
                body.targets.len()
            )));
        }
        return Err(invalid(format!(
            "{} takes exactly one target: the person it is for; got {}",
            kind.action(),
            body.targets.len()
        )));
    };
    let domain = target.site.to_ascii_uppercase();
    let sam = account_name(&target.id).to_owned();
    let person = format!("{domain}\\{sam}");
    let directory = directory_of(state, &domain)?;
    let facts = match (&params.person, directory.account(&sam).await) {
        (Some(_), Ok(_)) => {
            return Err(invalid(format!(
                "an account named {person} already exists; onboarding creates a new account: \
                 choose another name"
            )));
        }
        (Some(new), Err(DirectoryError::NotFound(_))) => new_person_facts(&domain, &sam, new),
        (None, Ok(account)) => UserFacts::from_account(&account),
        (None, Err(DirectoryError::NotFound(_))) => {
            return Err(invalid(format!(
                "targets[0]: no account {person} in the directory"
            )));
        }
        (_, Err(e)) => return Err(directory_error(e)),
    };
    let explanation = if kind.is_routed() {
        let explanation = routing::explain(&state.config.routing, facts);
        let Some(route) = explanation.route.clone() else {
            let reasons: Vec<String> = explanation
                .checks
                .iter()
                .map(|c| format!("{}: {}", c.rule, c.reasons.join(", ")))
                .collect();
            return Err(invalid(format!(
                "no routing rule matches {person} and there is no default rule ({})",
                if reasons.is_empty() {
                    "no rules are configured".to_owned()
                } else {
                    reasons.join("; ")
                }
            )));
        };
        if !state.config.sites.iter().any(|s| s.name == route.site) {
            return Err(invalid(format!(
                "routing rule {:?} names site {:?}, which this adapter does not have",
                route.rule, route.site
            )));
        }
        params.resources = Some(route);
        Some(explanation)
    } else {
        None
    };
    if kind == WorkflowKind::Offboard && params.machines.is_none() {
        // The config's choice, written into the job so it shows what will happen.
        params.machines = Some(if state.config.offboarding.delete_machines {
            DedicatedMachines::Delete
        } else {
            DedicatedMachines::Unassign
        });
    }
    let steps = plan(kind, params).map_err(|e| invalid(format!("{person}: {e}")))?;
    checked.params = serde_json::json!(params);
    Ok(Prepared {
        explanation,
        steps,
        person,
    })
}

/// A runbook run: the runbook (as loaded now, stored with the job), the caller allowed to run
/// it, and its parameters checked and filled with their defaults.
fn prepare_runbook(
    state: &AppState,
    caller: &Caller,
    body: &CreateJob,
    params: &mut WorkflowParams,
) -> Result<Vec<Step>, ApiError> {
    let [target] = body.targets.as_slice() else {
        return Err(invalid(format!(
            "runbook.run takes exactly one target, the runbook; got {}",
            body.targets.len()
        )));
    };
    let Some(book) = state.runbooks.get(&target.id) else {
        return Err(invalid(format!("no runbook named {:?}", target.id)));
    };
    if !caller.role.allows(book.role) {
        return Err(ApiError::forbidden(format!(
            "runbook {} needs role {}; client '{}' has {}",
            book.name, book.role, caller.name, caller.role
        )));
    }
    let Some(run) = params.runbook.as_mut() else {
        return Err(invalid("runbook.run carries no parameters"));
    };
    let values = runbooks::bind(book, &run.values, &state.config)
        .map_err(|e| invalid(format!("runbook {}: {e}", book.name)))?;
    run.values = values.to_json();
    run.definition = Some(book.clone());
    plan(WorkflowKind::Runbook, params).map_err(invalid)
}

/// For a job about to be stored: routes and plans it, and for an onboarding generates the
/// initial password, keeps it for the engine and returns it to show once.
pub(super) async fn keep_secrets(
    state: &AppState,
    caller: &Caller,
    body: &CreateJob,
    checked: &mut Checked,
) -> Result<Kept, ApiError> {
    let prepared = route_and_plan(state, caller, body, checked).await?;
    let mut kept = Kept {
        reference: None,
        temporary: None,
    };
    let Operation::Workflow {
        params: ref mut workflow,
        ..
    } = checked.op
    else {
        return Ok(kept);
    };
    let Some(new) = &workflow.person else {
        return Ok(kept);
    };
    let Some(jobs) = &state.jobs else {
        return Err(ApiError::unavailable(
            "an onboarding needs the job engine, which holds the initial password in memory, \
             and it is not running",
        ));
    };
    let (_, sam) = prepared
        .person
        .split_once('\\')
        .unwrap_or(("", &prepared.person));
    let display = format!("{} {}", new.given_name, new.surname);
    let names = AccountNames::new(sam, &display);
    let password = generate(&state.config.accounts.policy, &names).map_err(|e| {
        invalid(format!(
            "cannot generate an initial password under the policy: {e}"
        ))
    })?;
    let reference = jobs.secrets().keep(JobSecrets {
        password: Some(password.clone()),
        ..Default::default()
    });
    workflow.secret_ref = Some(reference.to_string());
    checked.params = serde_json::json!(workflow);
    kept.reference = Some(reference);
    kept.temporary = Some(password);
    Ok(kept)
}

#[derive(Debug, Serialize)]
pub struct PreviewStep {
    pub number: u32,
    pub kind: &'static str,
    pub title: String,
    pub state: StepState,
}

#[derive(Debug, Serialize)]
pub struct Preview {
    pub action: String,
    pub person: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// Why the route is what it is (absent for offboarding, which is not routed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing: Option<Explanation>,
    pub steps: Vec<PreviewStep>,
}

/// `POST /api/v1/workflows/preview`: what the same body sent to `POST /api/v1/jobs` would do.
pub async fn preview(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    OptionalJson(body): OptionalJson<CreateJob>,
) -> Result<(StatusCode, Json<Preview>), ApiError> {
    let Some(body) = body else {
        return Err(ApiError::bad_request(
            "the body is empty; send the job you would create: {\"action\":…,\"targets\":[…],…}",
        ));
    };
    let mut checked = validate(&state, &caller, &body)?;
    if !matches!(checked.op, Operation::Workflow { .. }) {
        return Err(invalid(format!(
            "{} is not a workflow; previews are for request.*, user.onboard and user.offboard",
            body.action
        )));
    }
    let prepared = route_and_plan(&state, &caller, &body, &mut checked).await?;
    let requester = match &checked.op {
        Operation::Workflow { params, .. } => params.requester.clone(),
        _ => None,
    };
    let steps = prepared
        .steps
        .iter()
        .enumerate()
        .map(|(number, step)| PreviewStep {
            number: u32::try_from(number).unwrap_or(u32::MAX),
            kind: step.kind(),
            title: step.title(&prepared.person),
            state: StepState::Pending,
        })
        .collect();
    Ok((
        StatusCode::OK,
        Json(Preview {
            action: body.action.clone(),
            person: prepared.person,
            requester,
            routing: prepared.explanation,
            steps,
        }),
    ))
}
