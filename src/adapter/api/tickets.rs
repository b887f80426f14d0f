//! The ticket endpoints: one queue across instances (`GET /api/v1/tickets`, filtered, sorted,
//! cursor-paged from the synced books), a ticket's detail read live from ServiceNow with its
//! catalog variables, journal and jobs, and the operator's writes (take, note, resolve),
//! which go through the outbox like every ticket write and are awaited briefly.

mod openapi;

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::body::{ApiPath, ApiQuery, OptionalJson};
use super::error::{ApiError, AuditNote};
use super::guard::Caller;
use super::inventory::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::adapter::inventory::{Cursor, Filter, Row, Sort, page};
use crate::adapter::store::OutboxItem;
use crate::adapter::tickets::book::SyncStatus;
use crate::adapter::tickets::instance::VariableView;
use crate::adapter::tickets::row::QueueTicket;
use crate::adapter::tickets::sync;
use crate::adapter::tickets::write::{Assignee, Progress, TicketWrite};
use crate::adapter::tickets::{Instance, TicketError, Tickets};
use crate::model::{JournalEntry, TicketKind};

pub use openapi::document;

/// How long a write call waits for ServiceNow before answering 202 (queued).
pub const WRITE_PATIENCE: Duration = Duration::from_secs(5);
/// Longest note or resolution text accepted (ServiceNow journal fields hold far more; this
/// catches a pasted log file).
pub const MAX_TEXT: usize = 32 * 1024;

fn ticket_error(e: TicketError) -> ApiError {
    match e {
        TicketError::UnknownInstance(_) | TicketError::BadNumber(_) => {
            ApiError::not_found(e.to_string())
        }
        TicketError::Broken { .. } => ApiError::unavailable(e.to_string()),
        TicketError::Store(e) => ApiError::store(e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    pub instance: Option<String>,
    pub queue: Option<String>,
    pub kind: Option<String>,
    pub group: Option<String>,
    /// A login, e-mail, sys_id or name; `me` (the adapter's ServiceNow user); `none`.
    pub assigned_to: Option<String>,
    pub state: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<String>,
}

#[derive(Serialize)]
pub struct QueuePage<'a> {
    pub items: Vec<&'a QueueTicket>,
    pub next_cursor: Option<String>,
    pub total: usize,
    /// Per instance: when its queue was last synced and why the last poll failed, if it did.
    pub sync: serde_json::Map<String, Value>,
}

const KINDS: &[&str] = &[
    "incident",
    "sc_req_item",
    "sc_task",
    "requested_item",
    "catalog_task",
];

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<QueueParams>,
) -> Result<Json<Value>, ApiError> {
    let tickets = &state.tickets;
    let given = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let limit = match given(params.limit) {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=MAX_LIMIT) => n,
            _ => {
                return Err(ApiError::bad_request(format!(
                    "limit={text:?} is not a page size; use a whole number from 1 to {MAX_LIMIT}"
                )));
            }
        },
    };
    let instance = given(params.instance);
    let chosen: Vec<&Instance> = match &instance {
        Some(name) => vec![
            tickets
                .instance(name)
                .map_err(|e| ApiError::bad_request(format!("instance={name:?}: {e}")))?,
        ],
        None => tickets.instances().collect(),
    };
    let kind = given(params.kind).map(|k| k.to_lowercase());
    if let Some(k) = &kind
        && !KINDS.contains(&k.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "kind={k:?} is not a queue table; use incident, sc_req_item or sc_task"
        )));
    }
    let mut user = given(params.assigned_to).map(|u| u.to_lowercase());
    if user.as_deref() == Some("me") {
        let [only] = chosen.as_slice() else {
            return Err(ApiError::bad_request(
                "assigned_to=me needs instance=…: the adapter signs in as a different user on \
                 each instance",
            ));
        };
        let me = only.ctx.me().await.map_err(|e| {
            ApiError::unavailable(format!("cannot look up the adapter's ServiceNow user: {e}"))
        })?;
        user = Some(me.ok_or_else(|| {
            ApiError::bad_request(format!(
                "instance {} signs in with client credentials, which name no user; filter by \
                 assigned_to=<login> instead",
                only.ctx.name()
            ))
        })?);
    }
    let filter = Filter {
        site: None,
        group: given(params.group).map(|g| g.to_lowercase()),
        user,
        state: given(params.state).map(|s| s.to_lowercase()),
        q: given(params.q).map(|q| q.to_lowercase()),
        kind: kind.map(|k| match k.as_str() {
            "requested_item" => "sc_req_item".to_owned(),
            "catalog_task" => "sc_task".to_owned(),
            _ => k,
        }),
        queue: given(params.queue).map(|q| q.to_lowercase()),
        ..Filter::default()
    };
    if let Some(s) = &filter.state {
        QueueTicket::check_state(s).map_err(ApiError::bad_request)?;
    }
    let sort = Sort::parse::<QueueTicket>(params.sort.as_deref()).map_err(ApiError::bad_request)?;
    let cursor = given(params.cursor)
        .map(|c| Cursor::decode::<QueueTicket>(&c, sort))
        .transpose()
        .map_err(ApiError::bad_request)?;
    let books: Vec<_> = chosen
        .iter()
        .map(|i| (i.ctx.name().to_owned(), i.book.rows(), i.book.status()))
        .collect();
    let found = page(
        books
            .iter()
            .map(|(name, rows, _)| (name.as_str(), rows.as_slice())),
        &filter,
        sort,
        cursor.as_ref(),
        limit,
    );
    let sync = books
        .iter()
        .map(|(name, _, status)| (name.clone(), sync_json(status)))
        .collect();
    let body = QueuePage {
        items: found.items.into_iter().map(|(_, t)| t).collect(),
        next_cursor: found.next_cursor,
        total: found.total,
        sync,
    };
    Ok(Json(serde_json::to_value(body).unwrap_or_default()))
}

fn sync_json(status: &SyncStatus) -> Value {
    serde_json::to_value(status).unwrap_or_default()
}

#[derive(Serialize)]
pub struct TicketDetail {
    pub ticket: QueueTicket,
    /// False when ServiceNow could not be reached and this is the last synced copy.
    pub live: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub variables: Vec<VariableView>,
    pub journal: Vec<JournalEntry>,
    /// Jobs linked to the ticket, newest first.
    pub jobs: Vec<uuid::Uuid>,
}

pub async fn get(
    State(state): State<AppState>,
    ApiPath((instance, number)): ApiPath<(String, String)>,
) -> Result<Json<TicketDetail>, ApiError> {
    let i = state.tickets.instance(&instance).map_err(ticket_error)?;
    let kind = TicketKind::from_number(&number)
        .ok_or_else(|| ticket_error(TicketError::BadNumber(number.clone())))?;
    let jobs = state
        .store
        .jobs_for_ticket(&instance, &number)
        .await
        .map_err(ApiError::store)?;
    let record = match i.ctx.read_ticket(&number).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return Err(ApiError::not_found(format!(
                "ticket {number} is not in ServiceNow instance {instance}"
            )));
        }
        Err(e) => {
            // ServiceNow is away: the synced copy is better than nothing, and says so.
            let Some(cached) = i.book.get(&number) else {
                return Err(ApiError::unavailable(format!(
                    "cannot read {number} from ServiceNow instance {instance}: {e}"
                )));
            };
            return Ok(Json(TicketDetail {
                ticket: cached.as_ref().clone(),
                live: false,
                error: Some(e.to_string()),
                variables: Vec::new(),
                journal: Vec::new(),
                jobs,
            }));
        }
    };
    let queue = i.ctx.queue_of(&record).await.unwrap_or_default();
    let ticket = sync::row(&i.ctx, &record, &queue).map_err(|e| {
        ApiError::unavailable(format!(
            "ServiceNow sent {number} in a form the adapter cannot read: {e}"
        ))
    })?;
    let ritm = match kind {
        TicketKind::RequestedItem => Some(ticket.sys_id.clone()),
        TicketKind::CatalogTask => ticket.parent.as_ref().map(|p| p.sys_id.clone()),
        _ => None,
    };
    let unavailable = |what: &str, e: crate::servicenow::Error| {
        ApiError::unavailable(format!("cannot read the {what} of {number}: {e}"))
    };
    let variables = match ritm {
        Some(ritm) => i
            .ctx
            .variables(&ritm)
            .await
            .map_err(|e| unavailable("variables", e))?,
        None => Vec::new(),
    };
    let journal = i
        .ctx
        .client
        .journal(kind.table(), &ticket.sys_id, 50)
        .await
        .map_err(|e| unavailable("journal", e))?;
    Ok(Json(TicketDetail {
        ticket,
        live: true,
        error: None,
        variables,
        journal,
        jobs,
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakeBody {
    /// A login, e-mail or sys_id; the adapter's own ServiceNow user when left out.
    pub assigned_to: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub text: String,
    /// `work_notes` (internal, the default) or `comments` (the requester sees it).
    pub visibility: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// Incidents only; the instance's configured close code when left out.
    pub close_code: Option<String>,
    pub close_notes: String,
}

type WriteAnswer = (StatusCode, Extension<AuditNote>, Json<Value>);

fn check_text(name: &str, text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(format!(
            "{name} is empty; write what was done"
        )));
    }
    if text.len() > MAX_TEXT {
        return Err(ApiError::bad_request(format!(
            "{name} is {} bytes; at most {MAX_TEXT} are accepted",
            text.len()
        )));
    }
    Ok(())
}

pub async fn take(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((instance, number)): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<TakeBody>,
) -> Result<WriteAnswer, ApiError> {
    let body = body.unwrap_or_default();
    let mut write = TicketWrite::new("take", &caller.name);
    write.progress = Some(Progress::Working);
    write.assignee = Some(match body.assigned_to.map(|a| a.trim().to_owned()) {
        Some(who) if !who.is_empty() => Assignee::User(who),
        _ => Assignee::Adapter,
    });
    if let Some(note) = body.note {
        check_text("note", &note)?;
        write.work_notes = Some(note);
    }
    queue_and_wait(&state.tickets, &instance, &number, write).await
}

pub async fn note(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((instance, number)): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<NoteBody>,
) -> Result<WriteAnswer, ApiError> {
    let Some(body) = body else {
        return Err(ApiError::bad_request(
            "the body is empty; send {\"text\":…, \"visibility\":\"work_notes\"|\"comments\"}",
        ));
    };
    check_text("text", &body.text)?;
    let mut write = TicketWrite::new("note", &caller.name);
    match body.visibility.as_deref().unwrap_or("work_notes") {
        "work_notes" => write.work_notes = Some(body.text),
        "comments" => write.comments = Some(body.text),
        other => {
            return Err(ApiError::bad_request(format!(
                "visibility={other:?}: use \"work_notes\" (internal) or \"comments\" (the \
                 requester sees it)"
            )));
        }
    }
    queue_and_wait(&state.tickets, &instance, &number, write).await
}

pub async fn resolve(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((instance, number)): ApiPath<(String, String)>,
    OptionalJson(body): OptionalJson<ResolveBody>,
) -> Result<WriteAnswer, ApiError> {
    let Some(body) = body else {
        return Err(ApiError::bad_request(
            "the body is empty; send {\"close_notes\":…, \"close_code\":…}",
        ));
    };
    check_text("close_notes", &body.close_notes)?;
    let mut write = TicketWrite::new("resolve", &caller.name);
    write.progress = Some(Progress::Done);
    write.close_notes = Some(body.close_notes);
    if let Some(code) = body.close_code.filter(|c| !c.trim().is_empty()) {
        if TicketKind::from_number(&number) != Some(TicketKind::Incident) {
            return Err(ApiError::bad_request(
                "close_code applies to incidents only; catalog tasks and requested items close \
                 with close_notes",
            ));
        }
        write.close_code = Some(code);
    }
    queue_and_wait(&state.tickets, &instance, &number, write).await
}

/// Queues the write, waits up to [`WRITE_PATIENCE`], and answers with what happened:
/// 200 delivered, 202 still queued (ServiceNow slow or away; it will be delivered), 409 a
/// conflict with a change made in ServiceNow, 422 refused by ServiceNow.
async fn queue_and_wait(
    tickets: &Tickets,
    instance: &str,
    number: &str,
    write: TicketWrite,
) -> Result<WriteAnswer, ApiError> {
    let queued = tickets
        .queue_write(instance, number, &write)
        .await
        .map_err(ticket_error)?;
    let item = tickets
        .wait_write(queued.id, WRITE_PATIENCE)
        .await
        .map_err(ticket_error)?;
    let note = |m: String| {
        Extension(AuditNote {
            message: Some(m),
            targets: None,
        })
    };
    if item.delivered_at.is_some() {
        let ticket = tickets
            .instance(instance)
            .ok()
            .and_then(|i| i.book.get(number))
            .map(|t| serde_json::to_value(t.as_ref()).unwrap_or_default());
        return Ok((
            StatusCode::OK,
            note(format!("{} delivered to {number}", write.purpose)),
            Json(json!({ "write": write_json(&item, "delivered"), "ticket": ticket })),
        ));
    }
    if let Some(error) = item.abandoned_at.and(item.last_error.clone()) {
        let (status, code) = if error.starts_with("conflict:") {
            (StatusCode::CONFLICT, "conflict")
        } else {
            (StatusCode::UNPROCESSABLE_ENTITY, "rejected")
        };
        return Err(ApiError::new(
            status,
            code,
            format!("{} of {number} was not written: {error}", write.purpose),
        ));
    }
    Ok((
        StatusCode::ACCEPTED,
        note(format!("{} queued for {number}", write.purpose)),
        Json(json!({ "write": write_json(&item, "queued") })),
    ))
}

fn write_json(item: &OutboxItem, status: &str) -> Value {
    json!({
        "id": item.id,
        "status": status,
        "attempts": item.attempts,
        "last_error": item.last_error,
        "next_attempt_at": item.next_attempt_at,
    })
}
