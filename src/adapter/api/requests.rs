//! Zero-touch fulfilment: `POST /api/v1/servicenow/{instance}/requests` `{"table","sys_id"}`
//! from a business rule or flow in ServiceNow, and the same path for queue tickets of
//! auto-fulfilled catalog items the poller finds. The adapter reads the request, its item and
//! variables, plans the job with [`crate::adapter::tickets::fulfil`], creates it linked to the
//! ticket (whose lifecycle then takes and resolves it), or, when a person must do it, says
//! why in one work note and hands the ticket to the failure group.
//!
//! The ticket a job is linked to is the request's open catalog task when it has one (closing
//! it cascades to the requested item in ServiceNow), else the requested item itself.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::body::{ApiPath, OptionalJson};
use super::error::{ApiError, AuditNote};
use super::guard::Caller;
use super::jobs::{CreateJob, TargetIn, TicketIn, submit};
use crate::adapter::inventory::SiteData;
use crate::adapter::store::{AuditOutcome, NewAuditEntry, Role, TicketRef};
use crate::adapter::tickets::fulfil::{self, CatalogRequest, Person};
use crate::adapter::tickets::instance::InstanceCtx;
use crate::adapter::tickets::row::QueueTicket;
use crate::adapter::tickets::write::{Assignee, TicketWrite};
use crate::model::TicketKind;
use crate::servicenow::{DisplayValue, Error as SnError, ListParams, Query, ReadOptions, Record};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    pub table: String,
    pub sys_id: String,
}

pub async fn fulfil(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(instance): ApiPath<String>,
    OptionalJson(body): OptionalJson<RequestBody>,
) -> Result<(StatusCode, Extension<AuditNote>, Json<Value>), ApiError> {
    let Some(body) = body else {
        return Err(ApiError::bad_request(
            "the body is empty; send {\"table\":\"sc_req_item\"|\"sc_task\",\"sys_id\":…}",
        ));
    };
    let (status, note, job) =
        fulfil_request(&state, &caller, &instance, &body.table, &body.sys_id).await?;
    Ok((status, note, job))
}

fn sn_error(instance: &str, what: &str, e: SnError) -> ApiError {
    if e.is_not_found() {
        ApiError::not_found(format!("{what} is not in ServiceNow instance {instance}"))
    } else {
        ApiError::unavailable(format!(
            "cannot read {what} from ServiceNow instance {instance}: {e}"
        ))
    }
}

/// The whole zero-touch path for one record. 202 with a new job, 200 with the job already
/// made for it, 422 when a person has to fulfil it (the ticket was told why).
pub async fn fulfil_request(
    state: &AppState,
    caller: &Caller,
    instance: &str,
    table: &str,
    sys_id: &str,
) -> Result<(StatusCode, Extension<AuditNote>, Json<Value>), ApiError> {
    let i = state
        .tickets
        .instance(instance)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    let ctx = &i.ctx;
    let kind = match TicketKind::from_table(table) {
        Some(k @ (TicketKind::RequestedItem | TicketKind::CatalogTask)) => k,
        Some(TicketKind::Incident) => {
            return Err(ApiError::bad_request(
                "incidents carry no catalog request; run an action on an incident with POST \
                 /api/v1/jobs and its ticket",
            ));
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "table {table:?}: send a requested item (sc_req_item) or catalog task (sc_task)"
            )));
        }
    };
    let what = format!("{table} {sys_id}");
    let record = read(ctx, kind, sys_id)
        .await
        .map_err(|e| sn_error(instance, &what, e))?;
    let (ritm_id, link) = match kind {
        TicketKind::CatalogTask => (
            record.value("request_item").unwrap_or_default().to_owned(),
            record.text("number"),
        ),
        _ => {
            let task = open_task(ctx, sys_id)
                .await
                .map_err(|e| sn_error(instance, &what, e))?;
            (
                sys_id.to_owned(),
                task.unwrap_or_else(|| record.text("number")),
            )
        }
    };
    let ticket = record.to_ticket().map_err(|e| {
        ApiError::unavailable(format!(
            "ServiceNow sent {what} in a form the adapter cannot read: {e}"
        ))
    })?;
    if !ticket.state.is_open() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "closed",
            format!(
                "{} is {}; there is nothing left to fulfil",
                ticket.number,
                ticket.state.label()
            ),
        ));
    }
    let existing = state
        .store
        .jobs_for_ticket(instance, &link)
        .await
        .map_err(ApiError::store)?;
    if let Some(job) = existing.first()
        && let Some(detail) = state.store.get_job(*job).await.map_err(ApiError::store)?
    {
        let view = super::jobs::job_view_of(state, detail).await?;
        return Ok((
            StatusCode::OK,
            Extension(AuditNote {
                message: Some(format!("{link} already has job {job}")),
                targets: None,
            }),
            Json(serde_json::to_value(view).unwrap_or_default()),
        ));
    }
    let ritm = read(ctx, TicketKind::RequestedItem, &ritm_id)
        .await
        .map_err(|e| sn_error(instance, &format!("requested item {ritm_id}"), e))?;
    let request = catalog_request(ctx, &ritm).await.map_err(|e| {
        sn_error(
            instance,
            &format!("the variables of {}", ritm.text("number")),
            e,
        )
    })?;
    // Masked variables (a new password, a security code) are read once and cleared at once,
    // whatever happens next: a refused request must not leave them in the record either.
    match ctx.client.clear_masked_variables(&ritm_id).await {
        Ok(cleared) if !cleared.is_empty() => {
            tracing::info!(%instance, ticket = %link, variables = ?cleared, "cleared masked variables after reading them");
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(%instance, ticket = %link, error = %e, "cannot clear the masked variables of a request; clear them by hand");
        }
    }
    let sites = snapshots(state);
    // The workflow items decide with the directory, the routing rules and the routed site.
    let site = |name: &str| state.inventory.client(name);
    let site_names: Vec<&str> = state.config.sites.iter().map(|s| s.name.as_str()).collect();
    let sources = fulfil::Sources {
        servicenow: &ctx.client,
        directories: &state.directories,
        directory_configs: &state.config.directories,
        routing: &state.config.routing,
        site: &site,
        today: chrono::Utc::now().date_naive(),
        runbooks: fulfil::RunbookSources {
            items: &ctx.config.runbooks,
            loaded: &state.runbooks,
            sites: &site_names,
        },
    };
    let context = fulfil::look_up(&request, &ritm_id, &sources).await;
    match fulfil::plan_with(&request, &sites, &context) {
        Ok(plan) => {
            let body = CreateJob {
                action: plan.action.to_owned(),
                targets: plan
                    .targets
                    .iter()
                    .map(|t| TargetIn {
                        site: t.site.clone(),
                        id: t.id.clone(),
                    })
                    .collect(),
                ticket: Some(TicketIn {
                    instance: instance.to_owned(),
                    number: link.clone(),
                }),
                // With the secrets, which the job's validation takes out again before storing.
                params: plan.request_params(),
                idempotency_key: None,
            };
            let (status, _, Json(view)) = submit(state, caller, &body).await?;
            let message = format!("{link}: {} ({})", plan.summary, request.item);
            Ok((
                status,
                Extension(AuditNote {
                    message: Some(message),
                    targets: None,
                }),
                Json(serde_json::to_value(view).unwrap_or_default()),
            ))
        }
        Err(refusal) => {
            let reason = refusal.to_string();
            let first = state
                .store
                .record_refusal(instance, &link, &reason)
                .await
                .map_err(ApiError::store)?;
            if first {
                let mut write = TicketWrite::new("not fulfilled automatically", &caller.name);
                write.work_notes = Some(format!(
                    "deskbridge did not fulfil this request automatically: {reason}"
                ));
                if let Some(group) = &ctx.config.failure_assignment_group {
                    write.assignment_group = Some(group.clone());
                    write.assignee = Some(Assignee::Nobody);
                }
                state
                    .tickets
                    .queue_write(instance, &link, &write)
                    .await
                    .map_err(|e| ApiError::unavailable(e.to_string()))?;
            }
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_automatable",
                format!("{link} ({}) needs a person: {reason}", request.item),
            ))
        }
    }
}

async fn read(ctx: &InstanceCtx, kind: TicketKind, sys_id: &str) -> Result<Record, SnError> {
    let read = ReadOptions::new()
        .fields(crate::servicenow::ticket_fields(kind))
        .display_value(DisplayValue::All)
        .exclude_reference_link(true);
    ctx.client.get(kind.table(), sys_id, &read).await
}

/// The number of the requested item's first open catalog task, if it has one.
async fn open_task(ctx: &InstanceCtx, ritm: &str) -> Result<Option<String>, SnError> {
    let params = ListParams::new()
        .query(
            Query::new()
                .eq("request_item", ritm)
                .eq("active", "true")
                .order_by("number")
                .build()?,
        )
        .fields(["number"])
        .page_size(1)
        .max_records(1)
        .no_count(true);
    let rows = ctx.client.list("sc_task", &params).await?;
    Ok(rows.first().map(|r| r.text("number")))
}

/// The item's name, its variables and the person it is for.
async fn catalog_request(ctx: &InstanceCtx, ritm: &Record) -> Result<CatalogRequest, SnError> {
    let item = ritm
        .display("cat_item")
        .or_else(|| ritm.value("cat_item"))
        .unwrap_or_default()
        .to_owned();
    let ritm_id = ritm.value("sys_id").unwrap_or_default();
    let variables = ctx
        .client
        .variables(ritm_id)
        .await?
        .into_iter()
        .map(|v| (v.variable.name, v.variable.value))
        .collect::<std::collections::BTreeMap<_, _>>();
    let person_id = variables
        .get("requested_for")
        .filter(|v| !v.is_empty())
        .cloned()
        .or_else(|| ritm.value("requested_for").map(str::to_owned));
    let requested_for = match person_id {
        Some(id) if !id.is_empty() => person(ctx, &id).await?,
        _ => None,
    };
    Ok(CatalogRequest {
        item,
        variables,
        requested_for,
    })
}

async fn person(ctx: &InstanceCtx, sys_id: &str) -> Result<Option<Person>, SnError> {
    let read = ReadOptions::new()
        .fields(["sys_id", "user_name", "email", "name"])
        .exclude_reference_link(true);
    match ctx.client.get("sys_user", sys_id, &read).await {
        Ok(r) => Ok(Some(Person {
            sys_id: sys_id.to_owned(),
            user_name: r.text("user_name"),
            email: r.text("email"),
            name: r.text("name"),
        })),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

fn snapshots(state: &AppState) -> Vec<(String, Arc<SiteData>)> {
    state
        .inventory
        .sites()
        .iter()
        .filter_map(|s| s.state().data.clone().map(|d| (s.name.clone(), d)))
        .collect()
}

/// The poller's side: fulfils the new queue tickets of auto-fulfilled catalog items, as the
/// adapter itself (role admin: the config's `auto_fulfil` is an administrator's decision).
pub async fn auto_fulfil(state: &AppState, instance: &str, tickets: &[Arc<QueueTicket>]) {
    let Ok(i) = state.tickets.instance(instance) else {
        return;
    };
    let caller = Caller {
        id: uuid::Uuid::nil(),
        name: "deskbridge (auto-fulfil)".to_owned(),
        role: Role::Admin,
        expires_at: None,
    };
    for t in tickets {
        let automatic = t.open
            && matches!(t.kind, TicketKind::RequestedItem | TicketKind::CatalogTask)
            && t.catalog_item.as_ref().is_some_and(|item| {
                i.ctx.config.is_auto_fulfilled(&item.name)
                    || i.ctx.config.is_auto_fulfilled(&item.sys_id)
            });
        if !automatic {
            continue;
        }
        let result = fulfil_request(state, &caller, instance, t.table, &t.sys_id).await;
        let (outcome, message) = match &result {
            Ok((status, note, _)) if *status == StatusCode::ACCEPTED => (
                AuditOutcome::Succeeded,
                note.0.message.clone().unwrap_or_default(),
            ),
            // Already has a job: nothing happened, nothing to record.
            Ok(_) => continue,
            Err(e) => (AuditOutcome::Failed, e.message.clone()),
        };
        let entry = NewAuditEntry {
            actor_id: None,
            actor_name: caller.name.clone(),
            action: "servicenow.auto_fulfil".to_owned(),
            targets: json!([{ "ticket": format!("{instance}/{}", t.number) }]),
            ticket: Some(TicketRef {
                instance: instance.to_owned(),
                number: t.number.clone(),
            }),
            outcome,
            message: Some(message),
            request_id: None,
        };
        if let Err(e) = state.store.append_audit(entry).await {
            tracing::warn!(error = %e, "cannot audit an automatic fulfilment");
        }
    }
}
