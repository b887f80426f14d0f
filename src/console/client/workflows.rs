//! Workflows as the console calls them: `POST /api/v1/workflows/preview` (the routing decision
//! and every step a request would run, creating nothing), `GET /api/v1/routing/explain` for the
//! user detail pane, and the steps of a workflow task as job answers and `task` events carry
//! them. The console's own mirror of the adapter's JSON (it depends on the HTTP API only).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::work::JobRequest;
use super::{ApiClient, ClientError};

/// What routing knows of a user (the directory's facts).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct RoutingFacts {
    pub user: String,
    pub domain: String,
    pub location: String,
    pub department: String,
    pub ou: String,
    pub groups: Vec<String>,
}

/// A route's resources, as the adapter names them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct RouteInfo {
    pub rule: String,
    pub site: String,
    /// `{"delivery_group": …}` or `{"access_group": …}`; `null` when the rule gives none.
    pub pooled_desktop: Value,
    /// `{"delivery_group", "catalog", "naming"}`; `null` when the rule gives none.
    pub persistent_desktop: Value,
    pub apps: Vec<String>,
    pub groups: Vec<String>,
}

impl RouteInfo {
    /// `delivery group Office Desktop`, `access group CTX Users`, or `none`.
    pub fn pooled_text(&self) -> String {
        let field = |k: &str| self.pooled_desktop.get(k).and_then(Value::as_str);
        match (field("delivery_group"), field("access_group")) {
            (Some(g), _) => format!("delivery group {g}"),
            (None, Some(g)) => format!("access group {g}"),
            _ => "none".to_owned(),
        }
    }

    /// `Finance VDI (catalog Finance VDI MCS)` or `none`.
    pub fn persistent_text(&self) -> String {
        let field = |k: &str| self.persistent_desktop.get(k).and_then(Value::as_str);
        match (field("delivery_group"), field("catalog")) {
            (Some(g), Some(c)) => format!("{g} (catalog {c})"),
            (Some(g), None) => g.to_owned(),
            _ => "none".to_owned(),
        }
    }
}

/// One rule as checked against the user.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct RuleCheckInfo {
    pub rule: String,
    pub matched: bool,
    pub reasons: Vec<String>,
}

/// `GET /api/v1/routing/explain`, and the `routing` of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct RoutingExplanation {
    pub facts: RoutingFacts,
    /// `None`: no rule matched and there is no default.
    pub route: Option<RouteInfo>,
    pub checks: Vec<RuleCheckInfo>,
    /// Facts the directory left empty: rules on them cannot match.
    pub unknown: Vec<String>,
}

impl RoutingExplanation {
    /// The check that decided the route (the last one, when it matched).
    pub fn matched(&self) -> Option<&RuleCheckInfo> {
        self.checks.iter().rev().find(|c| c.matched)
    }
}

/// Where a workflow step stands; a state of a newer adapter reads as `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    Running,
    Done,
    Skipped,
    Failed,
    #[serde(other)]
    Unknown,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Running => "running",
            StepState::Done => "done",
            StepState::Skipped => "skipped",
            StepState::Failed => "failed",
            StepState::Unknown => "unknown",
        }
    }

    /// The sign the console puts before a step.
    pub fn sign(self) -> &'static str {
        match self {
            StepState::Pending => "·",
            StepState::Running => "▸",
            StepState::Done => "✓",
            StepState::Skipped => "–",
            StepState::Failed => "✗",
            StepState::Unknown => "?",
        }
    }
}

/// One step of a workflow task's plan (a job answer's `tasks[].steps`, a preview's `steps`,
/// a `task` event's `step`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StepInfo {
    /// From 0, in plan order.
    pub number: u32,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    pub state: StepState,
    /// What the step did, or why it failed.
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
}

/// A `task` event about one step of a workflow task.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StepEvent {
    pub job_id: Uuid,
    pub task_id: i64,
    pub step: StepInfo,
}

/// `POST /api/v1/workflows/preview`: what the request would do.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WorkflowPreview {
    pub action: String,
    /// `DOMAIN\sam` of the beneficiary.
    pub person: String,
    #[serde(default)]
    pub requester: Option<String>,
    /// Absent for offboarding, which is not routed.
    #[serde(default)]
    pub routing: Option<RoutingExplanation>,
    #[serde(default)]
    pub steps: Vec<StepInfo>,
}

impl ApiClient {
    /// The preview of a workflow job: the body is the one `POST /api/v1/jobs` would take. A
    /// request that cannot run is a [`ClientError`] whose message says why (the adapter's 422).
    pub async fn preview_workflow(
        &self,
        request: &JobRequest,
    ) -> Result<WorkflowPreview, ClientError> {
        let call = "POST /api/v1/workflows/preview";
        let body = request.body().map_err(|e| ClientError::Decode {
            call: call.to_owned(),
            detail: format!("the request cannot be written as JSON: {e}"),
        })?;
        Ok(self.post(&["workflows", "preview"], Some(&body)).await?.1)
    }

    /// Which routing rule sends `user` (`DOMAIN\sam`) where, and why.
    pub async fn routing_explain(&self, user: &str) -> Result<RoutingExplanation, ClientError> {
        self.get(&["routing", "explain"], &[("user", user.to_owned())])
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_preview_reads_with_its_route_and_steps() {
        let preview: WorkflowPreview = serde_json::from_value(json!({
            "action": "request.pooled_desktop", "person": "LAB\\ada",
            "routing": { "facts": { "user": "LAB\\ada", "location": "London" },
                "route": { "rule": "office-london", "site": "London",
                    "pooled_desktop": { "delivery_group": "London Pooled" },
                    "persistent_desktop": null, "apps": [], "groups": [] },
                "checks": [{ "rule": "office-london", "matched": true,
                    "reasons": ["location is \"London\", as the rule wants"] }],
                "unknown": ["department"] },
            "steps": [{ "number": 0, "kind": "cvad.entitle", "title": "Entitle", "state": "pending" },
                      { "number": 1, "kind": "x", "title": "Later", "state": "paused" }]
        }))
        .expect("a preview");
        let routing = preview.routing.expect("routing");
        let route = routing.route.as_ref().expect("route");
        assert_eq!(route.pooled_text(), "delivery group London Pooled");
        assert_eq!(route.persistent_text(), "none");
        assert_eq!(
            routing.matched().map(|c| c.rule.as_str()),
            Some("office-london")
        );
        assert_eq!(preview.steps[1].state, StepState::Unknown);
    }

    #[test]
    fn a_step_event_reads() {
        let event: StepEvent = serde_json::from_value(json!({
            "job_id": "6f9619ff-8b86-4011-b42d-00c04fc964ff", "task_id": 4,
            "step": { "number": 2, "kind": "k", "title": "t", "state": "failed",
                      "detail": "no free machine", "output": null,
                      "started_at": null, "ended_at": null }
        }))
        .expect("a step event");
        assert_eq!(event.step.state, StepState::Failed);
        assert_eq!(event.step.detail.as_deref(), Some("no free machine"));
    }

    #[test]
    fn the_stream_tells_step_events_from_task_events() {
        let step = super::super::events::decode(
            r#"{"id":7,"at":"2026-11-27T09:00:00Z","kind":"task","subject":"4",
               "payload":{"job_id":"6f9619ff-8b86-4011-b42d-00c04fc964ff","task_id":4,
               "step":{"number":0,"kind":"account.create","title":"Create account LAB\\ada",
                       "state":"running","detail":null}}}"#,
        )
        .expect("an event");
        assert!(
            matches!(&step.payload, super::super::EventPayload::Step(s) if s.task_id == 4
                && s.step.state == StepState::Running),
            "{step:?}"
        );
    }
}
