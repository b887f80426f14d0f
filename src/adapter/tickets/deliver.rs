//! The outbox delivery worker: takes queued ticket writes in order per ticket, re-reads the
//! ticket first (state and `sys_mod_count`), refuses a write that would overrule a change made
//! in ServiceNow meanwhile, and records each write delivered exactly once.
//!
//! Decisions:
//! - Conflict rule: a write that changes state or ownership is not sent when the ticket is no
//!   longer open, or when, since the adapter's previous write to it, someone changed what that
//!   write had set (its state, group or assignee). Journal-only writes always go: appending a
//!   note never overrules anyone. A refused write is abandoned and reported (event, job's
//!   ticket status, audit), never retried.
//! - Exactly once: a write whose earlier attempt failed without a clear answer may have
//!   reached ServiceNow; before sending it again, the ticket's journal is searched for its note.
//! - ServiceNow down or throttling: the write is retried with backoff; the ticket's later
//!   writes wait behind it, other tickets' writes go on.
//! - Replicas sharing a store: one delivers at a time, the holder of the `outbox` singleton
//!   lease, renewed while it delivers, so a ticket's writes go out in the order they were
//!   queued even across replicas. A holder that dies hands over when the lease expires;
//!   its claimed writes are delivered by the next holder once their own leases lapse (with
//!   the journal check above, so none goes twice).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use super::book::Book;
use super::instance::InstanceCtx;
use super::sync;
use super::write::{Assignee, Progress, TicketWrite};
use crate::adapter::replicas::{Outage, Singleton};
use crate::adapter::store::outbox::outbox_backoff;
use crate::adapter::store::{AuditOutcome, EventKind, NewAuditEntry, OutboxItem, Store, TicketRef};
use crate::model::{Ticket, TicketKind};
use crate::servicenow::{Error as SnError, TicketUpdate};

/// How the worker runs. Tests shorten the times.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    pub lease: Duration,
    /// The longest wait between two tries of one write.
    pub max_backoff: Duration,
    /// How often the outbox is looked at when nobody woke the worker.
    pub idle_poll: Duration,
    /// How long the `outbox` singleton lease lasts without renewal: how long the group waits
    /// before another replica delivers when the one delivering dies.
    pub singleton_ttl: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            lease: Duration::from_secs(120),
            max_backoff: Duration::from_secs(300),
            idle_poll: Duration::from_secs(1),
            singleton_ttl: Duration::from_secs(10),
        }
    }
}

/// The name of the delivery worker's singleton lease.
pub const OUTBOX_LEASE: &str = "outbox";

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        mod_count: u64,
    },
    /// Someone changed the ticket in ServiceNow; the write would overrule them.
    Conflict(String),
    /// A permanent refusal (403 business rule, unknown ticket or user…).
    Rejected(String),
    Retry(String),
}

pub struct Deliverer {
    pub store: Arc<dyn Store>,
    pub instances: BTreeMap<String, (Arc<InstanceCtx>, Arc<Book>)>,
    pub owner: String,
    pub options: DeliveryOptions,
}

impl Deliverer {
    /// Delivers every due write once; returns how many were claimed.
    pub async fn run_once(&self) -> usize {
        self.run_once_logged(&mut Outage::default()).await
    }

    async fn run_once_logged(&self, outage: &mut Outage) -> usize {
        let items = match self
            .store
            .claim_outbox(&self.owner, 32, self.options.lease)
            .await
        {
            Ok(items) => {
                outage.recovered("ticket outbox");
                items
            }
            Err(e) => {
                outage.failed("ticket outbox", &e);
                return 0;
            }
        };
        let n = items.len();
        futures::future::join_all(items.into_iter().map(|item| self.deliver(item))).await;
        n
    }

    /// Runs until `stop` fires, woken early by `wake` (a write was queued). Delivers only
    /// while this replica holds the group's `outbox` lease.
    pub async fn run(
        self: Arc<Self>,
        wake: Arc<tokio::sync::Notify>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let ttl = self.options.singleton_ttl;
        let mut lease = Singleton::new(Arc::clone(&self.store), OUTBOX_LEASE, &self.owner, ttl);
        let mut outage = Outage::default();
        loop {
            if lease.hold().await {
                // Renewed while the batch goes out: one slow ServiceNow call must not let
                // another replica start on the same tickets.
                let delivered = {
                    let batch = self.run_once_logged(&mut outage);
                    tokio::pin!(batch);
                    loop {
                        tokio::select! {
                            biased;
                            n = &mut batch => break n,
                            _ = tokio::time::sleep(ttl / 3) => {
                                // Lost only if the store fails for a whole ttl; the batch
                                // goes on either way (stopping mid-write could repeat it).
                                lease.hold().await;
                            }
                        }
                    }
                };
                if delivered > 0 {
                    continue;
                }
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(self.options.idle_poll) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        lease.release().await;
    }

    async fn deliver(&self, item: OutboxItem) {
        let outcome = self.attempt(&item).await;
        let store = &self.store;
        let recorded = match &outcome {
            Outcome::Delivered { mod_count } => {
                store
                    .mark_outbox_delivered(item.id, &self.owner, Some(*mod_count))
                    .await
            }
            Outcome::Retry(e) => {
                let wait = outbox_backoff(item.attempts).min(self.options.max_backoff);
                store
                    .mark_outbox_failed(item.id, &self.owner, e, Some(wait))
                    .await
            }
            Outcome::Conflict(e) => {
                let e = format!("conflict: {e}");
                store
                    .mark_outbox_failed(item.id, &self.owner, &e, None)
                    .await
            }
            Outcome::Rejected(e) => {
                store
                    .mark_outbox_failed(item.id, &self.owner, e, None)
                    .await
            }
        };
        if let Err(e) = recorded {
            // Lease lost: another worker took it over and records its own result.
            tracing::warn!(id = item.id, error = %e, "cannot record a ticket write's outcome");
            return;
        }
        self.report(&item, &outcome).await;
    }

    async fn attempt(&self, item: &OutboxItem) -> Outcome {
        let Some((ctx, _)) = self.instances.get(&item.instance) else {
            return Outcome::Rejected(format!(
                "ServiceNow instance {:?} is no longer configured",
                item.instance
            ));
        };
        let write: TicketWrite = match serde_json::from_value(item.payload.clone()) {
            Ok(w) => w,
            Err(e) => return Outcome::Rejected(format!("the stored write cannot be read: {e}")),
        };
        let Some(kind) = TicketKind::from_number(&item.ticket) else {
            return Outcome::Rejected(format!("{:?} is not a ticket number", item.ticket));
        };
        let current = match ctx.client.ticket_by_number(&item.ticket).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                return Outcome::Rejected(format!(
                    "ticket {} is not in ServiceNow instance {} (deleted, or hidden from the \
                     adapter's user)",
                    item.ticket, item.instance
                ));
            }
            Err(e) => return classify(&e),
        };
        if item.attempts > 0
            && let Some((element, text)) = write.journal_text()
        {
            match already_written(ctx, kind, &current, element, text).await {
                Ok(true) => {
                    return Outcome::Delivered {
                        mod_count: current.mod_count,
                    };
                }
                Ok(false) => {}
                Err(e) => return classify(&e),
            }
        }
        if write.changes_ownership_or_state()
            && let Some(conflict) = self.conflict(ctx, item, &current).await
        {
            return Outcome::Conflict(conflict);
        }
        let update = match self.update(ctx, kind, &write, &current).await {
            Ok(update) => update,
            Err(outcome) => return outcome,
        };
        match ctx
            .client
            .update_ticket(kind, &current.sys_id, &update)
            .await
        {
            Ok(after) => Outcome::Delivered {
                mod_count: after.mod_count,
            },
            Err(e) => classify(&e),
        }
    }

    /// Why a state or ownership change must not go through, if it must not.
    async fn conflict(
        &self,
        ctx: &InstanceCtx,
        item: &OutboxItem,
        current: &Ticket,
    ) -> Option<String> {
        if !current.state.is_open() {
            return Some(format!(
                "{} is {} in ServiceNow; the adapter does not reopen or re-resolve it",
                item.ticket,
                current.state.label()
            ));
        }
        let previous = self
            .store
            .last_delivered(&item.instance, &item.ticket)
            .await
            .ok()
            .flatten()?;
        if previous.delivered_mod_count == Some(current.mod_count) {
            return None;
        }
        // Changed since our last write: only a change to what that write set is a conflict.
        let before: TicketWrite = serde_json::from_value(previous.payload).ok()?;
        if let Some(progress) = before.progress {
            let set = progress.state(current.kind);
            if current.state != set {
                return Some(format!(
                    "{} was set to {} by the adapter and is {} now (changed in ServiceNow)",
                    item.ticket,
                    set.label(),
                    current.state.label()
                ));
            }
        }
        if let Some(group) = &before.assignment_group
            && let Ok(Some(id)) = ctx.group_sys_id(group).await
            && current.assignment_group.as_deref() != Some(id.as_str())
        {
            return Some(format!(
                "{} was moved to another assignment group in ServiceNow after the adapter \
                 assigned it to {group}",
                item.ticket
            ));
        }
        if before.assignee == Some(Assignee::Nobody) && current.assigned_to.is_some() {
            return Some(format!(
                "{} was picked up by someone in ServiceNow after the adapter handed it back to \
                 its group",
                item.ticket
            ));
        }
        None
    }

    async fn update(
        &self,
        ctx: &InstanceCtx,
        kind: TicketKind,
        write: &TicketWrite,
        current: &Ticket,
    ) -> Result<TicketUpdate, Outcome> {
        let mut update = TicketUpdate {
            state: write.progress.map(|p| p.state(kind)),
            work_notes: write.work_notes.clone(),
            comments: write.comments.clone(),
            close_notes: write.close_notes.clone(),
            ..TicketUpdate::default()
        };
        if write.progress == Some(Progress::Done) && kind == TicketKind::Incident {
            update.close_code = Some(
                write
                    .close_code
                    .clone()
                    .unwrap_or_else(|| ctx.config.resolve_close_code.clone()),
            );
            if update.close_notes.is_none() {
                update.close_notes = Some(format!("Resolved by {}", write.by));
            }
        }
        update.assigned_to = match &write.assignee {
            None => None,
            Some(Assignee::Nobody) => Some(String::new()),
            Some(Assignee::KeepOrAdapter) if current.assigned_to.is_some() => None,
            Some(Assignee::Adapter | Assignee::KeepOrAdapter) => {
                ctx.me().await.map_err(|e| classify(&e))?
            }
            Some(Assignee::User(who)) => match ctx.user_sys_id(who).await {
                Ok(Some(id)) => Some(id),
                Ok(None) => {
                    return Err(Outcome::Rejected(format!(
                        "no ServiceNow user {who:?} in instance {}",
                        ctx.name()
                    )));
                }
                Err(e) => return Err(classify(&e)),
            },
        };
        if let Some(group) = &write.assignment_group {
            match ctx.group_sys_id(group).await {
                Ok(Some(id)) => update.assignment_group = Some(id),
                Ok(None) => {
                    return Err(Outcome::Rejected(format!(
                        "no assignment group {group:?} in instance {}",
                        ctx.name()
                    )));
                }
                Err(e) => return Err(classify(&e)),
            }
        }
        Ok(update)
    }

    /// Tells people: a `ticket` event always; the job's ticket status and the audit log for
    /// writes that end without being delivered; the book gets the ticket as it is now.
    async fn report(&self, item: &OutboxItem, outcome: &Outcome) {
        let purpose = item
            .payload
            .get("purpose")
            .and_then(|p| p.as_str())
            .unwrap_or("write")
            .to_owned();
        let (result, error) = match outcome {
            Outcome::Delivered { .. } => ("delivered", None),
            Outcome::Conflict(e) => ("conflict", Some(e.clone())),
            Outcome::Rejected(e) => ("rejected", Some(e.clone())),
            Outcome::Retry(e) => ("retrying", Some(e.clone())),
        };
        let subject = format!("{}/{}", item.instance, item.ticket);
        let payload = json!({
            "change": "write",
            "write": { "id": item.id, "purpose": purpose, "result": result, "error": error,
                       "job_id": item.job_id },
        });
        if let Err(e) = self
            .store
            .append_event(EventKind::Ticket, &subject, payload)
            .await
        {
            tracing::warn!(error = %e, "cannot record a ticket write event");
        }
        if let Some(job) = item.job_id {
            let status = match outcome {
                Outcome::Delivered { .. } => format!("{purpose}: written to {}", item.ticket),
                Outcome::Conflict(e) => format!("{purpose}: not written (conflict): {e}"),
                Outcome::Rejected(e) => format!("{purpose}: not written: {e}"),
                Outcome::Retry(e) => format!("{purpose}: waiting for ServiceNow: {e}"),
            };
            self.set_status(job, &status).await;
        }
        if let Outcome::Conflict(e) | Outcome::Rejected(e) = outcome {
            tracing::warn!(ticket = %subject, %purpose, error = %e, "ticket write not delivered");
            let entry = NewAuditEntry {
                actor_id: None,
                actor_name: "deskbridge".to_owned(),
                action: format!("ticket.{}", purpose.replace(' ', "_")),
                targets: json!([subject]),
                ticket: Some(TicketRef {
                    instance: item.instance.clone(),
                    number: item.ticket.clone(),
                }),
                outcome: AuditOutcome::Failed,
                message: Some(e.clone()),
                request_id: item.job_id.map(|j| j.to_string()),
            };
            if let Err(e) = self.store.append_audit(entry).await {
                tracing::warn!(error = %e, "cannot audit a refused ticket write");
            }
        }
        if let (Outcome::Delivered { .. }, Some((ctx, book))) =
            (outcome, self.instances.get(&item.instance))
        {
            refresh_one(ctx, book, self.store.as_ref(), &item.ticket).await;
        }
    }

    async fn set_status(&self, job: Uuid, status: &str) {
        if let Err(e) = self.store.set_ticket_status(job, status).await {
            tracing::warn!(%job, error = %e, "cannot record a job's ticket status");
        }
    }
}

/// Re-reads one ticket into the book (after a write), publishing the change.
pub async fn refresh_one(ctx: &InstanceCtx, book: &Book, store: &dyn Store, number: &str) {
    let seen = match ctx.read_ticket(number).await {
        Ok(Some(record)) => {
            let row = match ctx.queue_of(&record).await {
                Some(queue) => sync::row(ctx, &record, &queue).ok(),
                None => None,
            };
            vec![(number.to_owned(), row)]
        }
        Ok(None) => vec![(number.to_owned(), None)],
        Err(e) => {
            tracing::debug!(%number, error = %e, "cannot re-read a ticket after a write");
            return;
        }
    };
    let changes = book.merge(seen);
    sync::publish(store, &changes).await;
}

async fn already_written(
    ctx: &InstanceCtx,
    kind: TicketKind,
    current: &Ticket,
    element: &str,
    text: &str,
) -> Result<bool, SnError> {
    let journal = ctx
        .client
        .journal(kind.table(), &current.sys_id, 50)
        .await?;
    Ok(journal
        .iter()
        .any(|e| e.element == element && e.value.trim() == text.trim()))
}

fn classify(e: &SnError) -> Outcome {
    if e.is_retryable() {
        Outcome::Retry(e.to_string())
    } else {
        Outcome::Rejected(e.to_string())
    }
}
