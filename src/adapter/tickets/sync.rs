//! The queue poller of one instance: a full read of every queue first and every
//! [`FULL_EVERY`] polls (tickets moved out of a queue's groups are only seen that way), and
//! `sys_updated_on` deltas in between. Changes become `ticket` events.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::book::{Book, Changes};
use super::instance::InstanceCtx;
use super::row::QueueTicket;
use crate::adapter::replicas::Singleton;
use crate::adapter::store::{EventKind, Store};
use crate::servicenow::{Error as SnError, Record};

/// Every how many polls the whole queue is read again.
pub const FULL_EVERY: u64 = 10;

/// What one poll did.
#[derive(Debug)]
pub struct PollReport {
    pub full: bool,
    pub changes: Changes,
}

/// Polls every queue of the instance once and merges the result into `book`.
pub async fn poll(ctx: &InstanceCtx, book: &Book, full: bool) -> Result<PollReport, SnError> {
    let since = if full { None } else { book.watermark() };
    let full = since.is_none();
    let queues = ctx.queues().await?;
    let mut seen: Vec<(String, Option<QueueTicket>)> = Vec::new();
    let mut newest: Option<DateTime<Utc>> = None;
    for queue in &queues {
        for kind in &queue.tables {
            for record in ctx.list_queue(queue, *kind, since).await? {
                match row(ctx, &record, &queue.name) {
                    Ok(t) => {
                        newest = newest.max(t.updated_at);
                        seen.push((t.number.clone(), Some(t)));
                    }
                    Err(e) => {
                        tracing::warn!(instance = %ctx.name(), error = %e, "skipping a ticket ServiceNow sent that cannot be read");
                    }
                }
            }
        }
    }
    let changes = if full {
        book.replace(seen.into_iter().filter_map(|(_, t)| t).collect())
    } else {
        book.merge(seen)
    };
    book.advance_watermark(newest);
    Ok(PollReport { full, changes })
}

pub fn row(ctx: &InstanceCtx, record: &Record, queue: &str) -> Result<QueueTicket, SnError> {
    QueueTicket::from_record(record, queue, &ctx.config.url)
}

/// Records the changes as `ticket` events (subject `instance/number`).
pub async fn publish(store: &dyn Store, changes: &Changes) {
    let all = [
        ("added", &changes.added),
        ("updated", &changes.updated),
        ("removed", &changes.removed),
    ];
    for (change, tickets) in all {
        for t in tickets.iter() {
            let subject = format!("{}/{}", t.instance, t.number);
            let payload = json!({ "change": change, "ticket": t.as_ref() });
            if let Err(e) = store
                .append_event(EventKind::Ticket, &subject, payload)
                .await
            {
                tracing::warn!(error = %e, %subject, "cannot record a ticket event");
            }
        }
    }
}

/// How long the publisher's lease of an instance lasts: three polls (it is renewed at
/// every poll, which may be slow), and never less than ten seconds.
pub fn publisher_ttl(interval: Duration) -> Duration {
    (interval * 3).max(Duration::from_secs(10))
}

/// Runs polls every `interval` (with up to 20 % jitter) until `stop` fires; `on_changes` sees
/// each poll's changes (auto-fulfilment looks there for new catalog tickets).
///
/// Every replica polls into its own book; only the holder of `lease` (one replica of the
/// group) publishes the changes and calls `on_changes`. A replica that takes the lease over
/// hands `on_changes` every ticket of its book once as added, so a request that arrived
/// while the lease moved is not missed (fulfilment skips tickets that already have a job).
pub async fn run(
    ctx: Arc<InstanceCtx>,
    book: Arc<Book>,
    store: Arc<dyn Store>,
    (interval, mut lease): (Duration, Singleton),
    mut stop: tokio::sync::watch::Receiver<bool>,
    on_changes: impl Fn(Changes) + Send + Sync + 'static,
) {
    let mut count: u64 = 0;
    loop {
        let full = count.is_multiple_of(FULL_EVERY);
        match poll(&ctx, &book, full).await {
            Ok(report) => {
                count += 1;
                let was_held = lease.is_held();
                if lease.hold().await {
                    publish(store.as_ref(), &report.changes).await;
                    if !was_held && count > 1 {
                        // Taken over: everything once (the first poll already reports all).
                        on_changes(Changes {
                            added: book.all(),
                            ..Changes::default()
                        });
                    } else if !report.changes.is_empty() {
                        on_changes(report.changes);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(instance = %ctx.name(), error = %e, "ticket poll failed; keeping the last known queue");
                book.set_error(Some(e.to_string()));
            }
        }
        let jitter = rand::random::<f64>() * 0.2;
        let wait = interval.mul_f64(1.0 + jitter);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
    }
    lease.release().await;
}
