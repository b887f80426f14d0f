//! Runbooks as the console reads them: `GET /api/v1/runbooks` (each runbook's parameters and
//! steps, for the `:runbooks` picker and its form). A run is an ordinary job
//! (`runbook.run`, see [`JobRequest`]), so it goes through [`ApiClient::create_job`]. The
//! console's own mirror of the adapter's JSON (it depends on the HTTP API only).

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ApiClient, ClientError, IdempotencyKey, JobRequest, Target, TicketLink};
use crate::model::Role;

/// The job action that runs a runbook.
pub const RUNBOOK_ACTION: &str = "runbook.run";
/// The `site` of a runbook run's one target (its `id` is the runbook's name).
pub const RUNBOOK_TARGET_SITE: &str = "runbook";

/// A parameter's type; a type of a newer adapter reads as `Unknown` (entered as text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    String,
    Int,
    Bool,
    Duration,
    Site,
    DeliveryGroup,
    User,
    #[serde(other)]
    Unknown,
}

impl ParamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamKind::String => "string",
            ParamKind::Int => "int",
            ParamKind::Bool => "bool",
            ParamKind::Duration => "duration",
            ParamKind::Site => "site",
            ParamKind::DeliveryGroup => "delivery_group",
            ParamKind::User => "user",
            ParamKind::Unknown => "text",
        }
    }
}

/// One parameter of a runbook.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunbookParam {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParamKind,
    #[serde(default)]
    pub required: bool,
    /// In its JSON form: `"4h"`, `3`, `true`, `"text"`.
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default)]
    pub description: String,
}

impl RunbookParam {
    /// The default as the form shows it (`4h`, `3`, `true`); empty when there is none.
    pub fn default_text(&self) -> String {
        match &self.default {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

/// One step of a runbook, as the picker lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RunbookStep {
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub when: Option<String>,
    #[serde(default)]
    pub wait: Option<String>,
}

/// One runbook of `GET /api/v1/runbooks`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunbookInfo {
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Who may run it.
    pub role: Role,
    #[serde(default)]
    pub params: Vec<RunbookParam>,
    #[serde(default)]
    pub steps: Vec<RunbookStep>,
}

#[derive(Debug, Deserialize)]
struct RunbookList {
    items: Vec<RunbookInfo>,
}

/// The job that runs runbook `name` with `params` (already typed: text, numbers, booleans),
/// linked to `ticket` when there is one. A fresh idempotency key each time: a refused run
/// created nothing, so the next try is a new request.
pub fn run_request(
    name: &str,
    params: Map<String, Value>,
    ticket: Option<TicketLink>,
) -> JobRequest {
    JobRequest {
        action: RUNBOOK_ACTION.to_owned(),
        targets: vec![Target {
            site: RUNBOOK_TARGET_SITE.to_owned(),
            id: name.to_owned(),
        }],
        ticket,
        params: Value::Object(params),
        idempotency_key: IdempotencyKey::generate(),
        secrets: Vec::new(),
    }
}

impl ApiClient {
    /// The runbooks the adapter loaded, with their parameters and steps.
    pub async fn runbooks(&self) -> Result<Vec<RunbookInfo>, ClientError> {
        let list: RunbookList = self.get(&["runbooks"], &[]).await?;
        Ok(list.items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_runbook_reads_with_typed_parameters_and_steps() {
        let list: RunbookList = serde_json::from_value(json!({ "items": [{
            "name": "reset-disconnected", "title": "Reset", "description": "d",
            "role": "helpdesk", "file": "reset-disconnected.toml",
            "params": [
                { "name": "site", "type": "site", "required": true, "default": null,
                  "description": "The site" },
                { "name": "older_than", "type": "duration", "required": false,
                  "default": "4h", "description": "" },
                { "name": "n", "type": "int", "required": false, "default": 3 },
                { "name": "x", "type": "colour", "required": false }
            ],
            "steps": [{ "name": "logoff", "title": "Log off", "action": "session.logoff",
                        "targets": "sessions", "site": "{{site}}", "when": null,
                        "on_failure": "stop", "wait": null }]
        }]}))
        .expect("a runbook list");
        let r = &list.items[0];
        assert_eq!(r.role, Role::Helpdesk);
        assert_eq!(r.params[0].kind, ParamKind::Site);
        assert!(r.params[0].required);
        assert_eq!(r.params[1].default_text(), "4h");
        assert_eq!(r.params[2].default_text(), "3");
        assert_eq!(r.params[3].kind, ParamKind::Unknown);
        assert_eq!(r.steps[0].title, "Log off");
    }

    #[test]
    fn a_run_is_a_runbook_job_on_the_runbook_target() {
        let mut params = Map::new();
        params.insert("site".into(), json!("London"));
        let a = run_request("reset-disconnected", params.clone(), None);
        let b = run_request("reset-disconnected", params, None);
        let body = a.body().expect("a body");
        assert_eq!(body["action"], "runbook.run");
        assert_eq!(
            body["targets"],
            json!([{ "site": "runbook", "id": "reset-disconnected" }])
        );
        assert_eq!(body["params"], json!({ "site": "London" }));
        assert_ne!(a.idempotency_key, b.idempotency_key);
    }
}
