//! `POST /api/v1/power/idle`: power off idle machines of delivery groups (see
//! [`crate::adapter::idle`]). A dry run (viewer and up) answers which machines would be shut
//! down and why every other machine of the groups would not; a real run (admin) creates one
//! `machine.shutdown` job over the machines that qualify at that moment, through
//! [`super::jobs::submit`] like `POST /api/v1/jobs`.
//!
//! Both refresh the sites first, so the answer is about the machines as they are now; a real
//! run therefore never acts on what a preview saw minutes ago: a machine that got a session
//! since is skipped.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::body::OptionalJson;
use super::error::{ApiError, AuditNote};
use super::guard::Caller;
use super::jobs::{CreateJob, JobView, TargetIn, TicketIn, submit};
use crate::adapter::idle::{Candidate, Rule, SelectError, SiteView, Skipped, select};
use crate::adapter::store::Role;

/// Largest `idle_minutes` accepted: a year.
pub const MAX_IDLE_MINUTES: u32 = 525_600;
/// Most delivery groups one request names.
const MAX_GROUPS: usize = 100;

/// The body of `POST /api/v1/power/idle`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdleRequest {
    pub delivery_groups: Vec<String>,
    #[serde(default)]
    pub site: Option<String>,
    pub idle_minutes: u32,
    pub dry_run: bool,
    #[serde(default)]
    pub include_unregistered: bool,
    #[serde(default)]
    pub ticket: Option<TicketIn>,
}

/// The answer: what was (or would be) shut down, what was skipped and why, and the job.
#[derive(Debug, Serialize)]
pub struct IdleAnswer {
    pub dry_run: bool,
    pub idle_minutes: u32,
    pub site: Option<String>,
    /// `site/group` of every group matched.
    pub delivery_groups: Vec<String>,
    pub checked_at: DateTime<Utc>,
    pub candidates: Vec<Candidate>,
    pub skipped: Vec<Skipped>,
    /// The shutdown job of a real run; `None` for a dry run or when nothing qualified.
    pub job: Option<JobView>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message)
}

pub async fn power_off_idle(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    OptionalJson(body): OptionalJson<IdleRequest>,
) -> Result<(StatusCode, Extension<AuditNote>, Json<IdleAnswer>), ApiError> {
    let Some(body) = body else {
        return Err(ApiError::bad_request(
            "the body is empty; send {\"delivery_groups\":[…],\"idle_minutes\":N,\"dry_run\":true}",
        ));
    };
    let (status, note, answer) = apply(&state, &caller, &body).await?;
    Ok((status, Extension(note), Json(answer)))
}

/// Checks the request, refreshes the sites, selects, and for a real run creates the job.
/// Shared by the endpoint and the scheduler.
pub async fn apply(
    state: &AppState,
    caller: &Caller,
    body: &IdleRequest,
) -> Result<(StatusCode, AuditNote, IdleAnswer), ApiError> {
    if !body.dry_run && !caller.role.allows(Role::Admin) {
        return Err(ApiError::forbidden(format!(
            "shutting machines down needs role admin; client '{}' has {} (a dry run, \
             \"dry_run\": true, only previews)",
            caller.name, caller.role
        )));
    }
    let rule = rule_of(body)?;
    if let Some(ticket) = &body.ticket
        && !state
            .config
            .servicenow
            .iter()
            .any(|i| i.name == ticket.instance)
    {
        return Err(invalid(format!(
            "ticket.instance {:?} is not a configured ServiceNow instance",
            ticket.instance
        )));
    }
    let stale = refresh(state, rule.site.as_deref()).await;
    let states = state.inventory.states();
    let views: Vec<SiteView<'_>> = states
        .iter()
        .map(|(name, s)| SiteView {
            name,
            data: s.data.as_deref(),
            stale: stale
                .iter()
                .find(|(site, _)| site == name)
                .map(|(_, why)| why.clone()),
        })
        .collect();
    let now = Utc::now();
    let selection = select(&views, &rule, now).map_err(|e| match e {
        SelectError::UnknownSite { .. } | SelectError::UnknownGroups { .. } => {
            invalid(e.to_string())
        }
        SelectError::NoGroups => invalid(e.to_string()),
    })?;
    drop(views);
    let mut answer = IdleAnswer {
        dry_run: body.dry_run,
        idle_minutes: body.idle_minutes,
        site: body.site.clone(),
        delivery_groups: selection.groups,
        checked_at: now,
        candidates: selection.candidates,
        skipped: selection.skipped,
        job: None,
    };
    let summary = format!(
        "{} of {} machine(s) in {} idle more than {} min",
        answer.candidates.len(),
        answer.candidates.len() + answer.skipped.len(),
        answer.delivery_groups.join(", "),
        body.idle_minutes
    );
    if body.dry_run || answer.candidates.is_empty() {
        let message = if body.dry_run {
            format!("dry run: {summary} would be shut down")
        } else {
            format!("nothing to shut down: {summary}")
        };
        let note = AuditNote {
            message: Some(message),
            targets: Some(json!(answer.delivery_groups)),
        };
        return Ok((StatusCode::OK, note, answer));
    }
    let create = CreateJob {
        action: "machine.shutdown".to_owned(),
        targets: answer
            .candidates
            .iter()
            .map(|c| TargetIn {
                site: c.site.clone(),
                id: c.id.clone(),
            })
            .collect(),
        ticket: body.ticket.as_ref().map(|t| TicketIn {
            instance: t.instance.clone(),
            number: t.number.clone(),
        }),
        params: json!({ "force": false, "if_idle": true }),
        idempotency_key: None,
    };
    let (status, Extension(note), Json(job)) = submit(state, caller, &create).await?;
    let note = AuditNote {
        message: Some(format!(
            "power off idle: {summary}; {}",
            note.message.unwrap_or_default()
        )),
        targets: note.targets,
    };
    answer.job = Some(job);
    Ok((status, note, answer))
}

fn rule_of(body: &IdleRequest) -> Result<Rule, ApiError> {
    if body.delivery_groups.is_empty() {
        return Err(invalid(
            "delivery_groups is empty; name at least one delivery group",
        ));
    }
    if body.delivery_groups.len() > MAX_GROUPS {
        return Err(invalid(format!(
            "delivery_groups names {} groups; at most {MAX_GROUPS}",
            body.delivery_groups.len()
        )));
    }
    if let Some(i) = body
        .delivery_groups
        .iter()
        .position(|g| g.trim().is_empty())
    {
        return Err(invalid(format!("delivery_groups[{i}] is empty")));
    }
    if body.idle_minutes == 0 || body.idle_minutes > MAX_IDLE_MINUTES {
        return Err(invalid(format!(
            "idle_minutes must be between 1 and {MAX_IDLE_MINUTES}; got {}",
            body.idle_minutes
        )));
    }
    if body.site.as_deref().is_some_and(|s| s.trim().is_empty()) {
        return Err(invalid("site is empty; leave it out for every site"));
    }
    Ok(Rule {
        delivery_groups: body.delivery_groups.clone(),
        site: body.site.clone(),
        idle_minutes: body.idle_minutes,
        include_unregistered: body.include_unregistered,
    })
}

/// Refreshes the sites in scope (all, or the one named) at once; answers the sites whose
/// refresh failed, with why, so that nothing is decided on their older data.
async fn refresh(state: &AppState, site: Option<&str>) -> Vec<(String, String)> {
    let names: Vec<String> = state
        .inventory
        .sites()
        .iter()
        .filter(|s| site.is_none_or(|want| s.name.eq_ignore_ascii_case(want)))
        .map(|s| s.name.clone())
        .collect();
    let refreshes = names.iter().map(|name| state.inventory.refresh_now(name));
    let reports = futures::future::join_all(refreshes).await;
    names
        .into_iter()
        .zip(reports)
        .filter_map(|(name, report)| match report {
            Ok(r) if r.ok => None,
            Ok(r) => Some((name, r.error.unwrap_or_else(|| "refresh failed".into()))),
            Err(e) => Some((name, e.to_string())),
        })
        .collect()
}

/// The OpenAPI parts of the endpoint.
pub fn openapi(
    op: &mut serde_json::Map<String, Value>,
    responses: &mut serde_json::Map<String, Value>,
) {
    let error = |d: &str| {
        json!({ "description": d, "content": { "application/json": {
            "schema": { "$ref": "#/components/schemas/Error" } } } })
    };
    let machine = json!({ "type": "object", "properties": {
        "site": {"type":"string"}, "id": {"type":"string"}, "name": {"type":"string"},
        "delivery_group": {"type":"string"} } });
    let candidate = json!({ "allOf": [machine, { "type": "object", "properties": {
        "last_connection_time": {"type":"string","format":"date-time","nullable":true},
        "idle_minutes": {"type":"integer"}, "reason": {"type":"string"} } }] });
    let skipped = json!({ "allOf": [machine, { "type": "object", "properties": {
        "code": {"type":"string","enum":["stale_data","power_action_pending","not_powered_on",
            "maintenance","logon_in_progress","session","not_power_managed","unregistered",
            "no_connection_recorded","not_idle_long_enough"]},
        "reason": {"type":"string"} } }] });
    let answer = json!({ "type": "object", "properties": {
        "dry_run": {"type":"boolean"}, "idle_minutes": {"type":"integer"},
        "site": {"type":"string","nullable":true},
        "delivery_groups": {"type":"array","items":{"type":"string"},"description":"site/group matched"},
        "checked_at": {"type":"string","format":"date-time"},
        "candidates": {"type":"array","items": candidate},
        "skipped": {"type":"array","items": skipped},
        "job": {"type":"object","nullable":true,
            "description":"The machine.shutdown job (as GET /api/v1/jobs/{id} shows it)"} } });
    op.insert("requestBody".into(), json!({
        "required": true,
        "content": { "application/json": { "schema": {
            "type": "object", "additionalProperties": false,
            "required": ["delivery_groups", "idle_minutes", "dry_run"],
            "properties": {
                "delivery_groups": {"type":"array","items":{"type":"string"},
                    "description":"Delivery group names or ids (any case)"},
                "site": {"type":"string","description":"Only this site; all sites when absent"},
                "idle_minutes": {"type":"integer","minimum":1,"maximum":MAX_IDLE_MINUTES,
                    "description":"Shut down machines whose last connection is more than this long ago"},
                "dry_run": {"type":"boolean","description":"true: preview only (viewer and up); false: create the job (admin)"},
                "include_unregistered": {"type":"boolean","default":false,
                    "description":"Also machines whose VDA is not registered"},
                "ticket": {"type":"object","properties":{"instance":{"type":"string"},"number":{"type":"string"}}}
            } } } }
    }));
    op.insert(
        "description".into(),
        json!(
            "Needs a bearer token of a client with role viewer or higher; a real run \
               (dry_run false) needs admin. The sites are refreshed first; a real run selects \
               again on that fresh data, so a machine that got a session since a preview is \
               skipped."
        ),
    );
    responses.insert("200".into(), json!({ "description":
        "A dry run, or a real run with nothing to shut down (job null), or a repeated request's existing job",
        "content": { "application/json": { "schema": answer.clone() } } }));
    responses.insert(
        "202".into(),
        json!({ "description": "The shutdown job was created",
        "content": { "application/json": { "schema": answer } } }),
    );
    responses.insert(
        "400".into(),
        error("An empty body, malformed JSON, a missing or unknown field"),
    );
    responses.insert("413".into(), error("Body larger than 1 MiB"));
    responses.insert("415".into(), error("Body that is not application/json"));
    responses.insert(
        "403".into(),
        error("The client's role is too low (a real run needs admin)"),
    );
    responses.insert(
        "422".into(),
        error("An unknown delivery group or site (named), or a bad idle_minutes"),
    );
}
