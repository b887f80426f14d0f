//! A workflow job's parameters: what the request names, checked completely before anything is
//! stored, and the resources routing chose for the beneficiary, added by the API so the job
//! carries every decision its plan depends on.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::WorkflowKind;

pub use crate::adapter::routing::Route as Resources;
use crate::adapter::runbooks::Runbook;
pub use crate::config::{PersistentDesktop, PooledDesktop};

/// The new person of an onboarding.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPerson {
    pub given_name: String,
    pub surname: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub upn: String,
    #[serde(default)]
    pub mail: String,
    #[serde(default)]
    pub department: String,
    #[serde(default)]
    pub location: String,
    /// DN of the OU to create the account in; the directory's default when empty.
    #[serde(default)]
    pub ou: String,
    /// Groups to add beyond the ones routing gives.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The routed resources an onboarding entitles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Include {
    PooledDesktop,
    PersistentDesktop,
    Apps,
}

/// What offboarding does with a machine dedicated (assigned) to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedicatedMachines {
    /// Keep the machine, remove the assignment (the default: nothing is destroyed).
    #[default]
    Unassign,
    /// Remove it from its delivery group and delete it from its catalog.
    Delete,
}

/// What a runbook run stores: a snapshot of the runbook (a file edited meanwhile changes no
/// run under way) and the parameter values the run was given, checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunbookRun {
    /// `None` until the API has looked the runbook up (a request names it by its target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Runbook>,
    pub values: Value,
}

/// A workflow job's parameters as stored.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowParams {
    /// Who asked, when it is not the beneficiary (`DOMAIN\user`): "on behalf of".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// Set by the API from the routing rules; a request may not name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Onboarding only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<NewPerson>,
    /// Onboarding only: which routed resources to entitle (default: pooled desktop and apps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<Include>>,
    /// Offboarding only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machines: Option<DedicatedMachines>,
    /// A runbook run: the runbook as it was when the run was asked for, and its parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runbook: Option<RunbookRun>,
    /// The reference of an onboarding's initial password in the engine's memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
}

impl WorkflowParams {
    /// The resources an onboarding entitles.
    pub fn included(&self) -> Vec<Include> {
        self.include
            .clone()
            .unwrap_or_else(|| vec![Include::PooledDesktop, Include::Apps])
    }
}

/// The parameters of a request, checked: unknown fields, a `resources` or `secret_ref` the
/// caller set, and fields of another workflow are refused with what is wrong.
pub fn parse_request(kind: WorkflowKind, raw: &Value) -> Result<WorkflowParams, String> {
    let action = kind.action();
    if kind == WorkflowKind::Runbook {
        // The runbook's own parameters, checked against it once the API has found it.
        return match raw {
            Value::Null | Value::Object(_) => Ok(WorkflowParams {
                runbook: Some(RunbookRun {
                    definition: None,
                    values: if raw.is_null() {
                        json!({})
                    } else {
                        raw.clone()
                    },
                }),
                ..WorkflowParams::default()
            }),
            _ => Err(format!(
                "params of {action} must be a JSON object of the runbook's parameters"
            )),
        };
    }
    let raw = match raw {
        Value::Null => Value::Object(Default::default()),
        Value::Object(_) => raw.clone(),
        _ => return Err(format!("params of {action} must be a JSON object")),
    };
    let params: WorkflowParams = serde_json::from_value(raw)
        .map_err(|e| format!("params of {action} are not valid: {e}"))?;
    if params.resources.is_some() {
        return Err(format!(
            "params.resources of {action} are chosen by the routing rules; a request cannot set them"
        ));
    }
    if params.runbook.is_some() {
        return Err(format!("params.runbook of {action} is set by the adapter"));
    }
    if params.secret_ref.is_some() {
        return Err(format!(
            "params.secret_ref of {action} is set by the adapter"
        ));
    }
    if let Some(requester) = &params.requester
        && requester.trim().is_empty()
    {
        return Err(format!("params.requester of {action} is empty"));
    }
    let onboard = kind == WorkflowKind::Onboard;
    if onboard != params.person.is_some() {
        return Err(if onboard {
            format!(
                "{action} needs params.person {{\"given_name\":…,\"surname\":…}} (the new person)"
            )
        } else {
            format!("params.person belongs to user.onboard, not {action}")
        });
    }
    if params.include.is_some() && !onboard {
        return Err(format!(
            "params.include belongs to user.onboard, not {action}"
        ));
    }
    if params.machines.is_some() && kind != WorkflowKind::Offboard {
        return Err(format!(
            "params.machines belongs to user.offboard, not {action}"
        ));
    }
    if let Some(person) = &params.person {
        for (name, value) in [
            ("given_name", &person.given_name),
            ("surname", &person.surname),
        ] {
            if value.trim().is_empty() {
                return Err(format!("params.person.{name} of {action} is empty"));
            }
        }
    }
    Ok(params)
}

/// The stored parameters of a workflow job, as its tasks read them.
pub fn stored(action: &str, params: &Value) -> Result<WorkflowParams, String> {
    serde_json::from_value(params.clone())
        .map_err(|e| format!("the stored parameters of {action} are not valid: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_cannot_choose_its_own_resources() {
        let err = parse_request(
            WorkflowKind::PooledDesktop,
            &json!({ "resources": {
                "rule": "x", "site": "London", "pooled_desktop": null,
                "persistent_desktop": null, "apps": [], "groups": []
            } }),
        )
        .expect_err("refused");
        assert!(err.contains("routing rules"), "{err}");
    }

    #[test]
    fn onboarding_needs_a_person_and_others_refuse_one() {
        let err = parse_request(WorkflowKind::Onboard, &json!({})).expect_err("refused");
        assert!(err.contains("params.person"), "{err}");
        let err = parse_request(
            WorkflowKind::Apps,
            &json!({ "person": { "given_name": "A", "surname": "B" } }),
        )
        .expect_err("refused");
        assert!(err.contains("belongs to user.onboard"), "{err}");
        let ok = parse_request(
            WorkflowKind::Onboard,
            &json!({ "person": { "given_name": "Ada", "surname": "Byron" } }),
        )
        .expect("valid");
        assert_eq!(ok.included(), vec![Include::PooledDesktop, Include::Apps]);
    }

    #[test]
    fn unknown_fields_and_empty_names_are_refused() {
        let err = parse_request(WorkflowKind::Offboard, &json!({ "machine": "delete" }))
            .expect_err("refused");
        assert!(err.contains("unknown field `machine`"), "{err}");
        let err = parse_request(
            WorkflowKind::Onboard,
            &json!({ "person": { "given_name": " ", "surname": "B" } }),
        )
        .expect_err("refused");
        assert!(err.contains("given_name"), "{err}");
        let ok =
            parse_request(WorkflowKind::Offboard, &json!({ "machines": "delete" })).expect("valid");
        assert_eq!(ok.machines, Some(DedicatedMachines::Delete));
    }
}
