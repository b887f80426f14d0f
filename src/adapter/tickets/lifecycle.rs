//! The job ↔ ticket lifecycle: when a ticket-linked job starts, its ticket is taken (In
//! Progress, a work note naming the job and its targets); when it succeeds the ticket is
//! resolved with notes saying what was done; when it fails (even partly) the ticket stays
//! open with the errors in a work note and goes to the configured failure group; a
//! cancelled job leaves a note. Never resolved on partial failure.
//!
//! The worker compares each linked job's state with what its ticket was told
//! ([`TicketPhase`]) and queues the missing writes in the outbox in the same store
//! transaction that records the new phase: a crash loses no write and queues none twice, and
//! replicas sharing a store cannot both queue them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::instance::InstanceCtx;
use super::write::{Assignee, Progress, TicketWrite};
use crate::adapter::replicas::Outage;
use crate::adapter::store::{
    JobDetail, JobState, NewOutboxItem, Store, TaskState, TicketLag, TicketPhase,
};
use crate::model::TicketKind;

/// Targets listed by name in a note; the rest are counted.
const LISTED: usize = 20;

pub struct Lifecycle {
    pub store: Arc<dyn Store>,
    pub instances: BTreeMap<String, Arc<InstanceCtx>>,
    /// Woken when writes were queued.
    pub delivery: Arc<tokio::sync::Notify>,
}

impl Lifecycle {
    /// Queues the writes of every lagging job once; returns how many jobs advanced.
    pub async fn run_once(&self) -> usize {
        self.run_once_logged(&mut Outage::default()).await
    }

    async fn run_once_logged(&self, outage: &mut Outage) -> usize {
        let lags = match self.store.ticket_lags(100).await {
            Ok(lags) => {
                outage.recovered("ticket lifecycle");
                lags
            }
            Err(e) => {
                outage.failed("ticket lifecycle", &e);
                return 0;
            }
        };
        let mut advanced = 0;
        for lag in lags {
            match self.advance(&lag).await {
                Ok(true) => advanced += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(job = %lag.job.id, error = %e, "cannot queue the ticket's writes")
                }
            }
        }
        if advanced > 0 {
            self.delivery.notify_one();
        }
        advanced
    }

    pub async fn run(
        self: Arc<Self>,
        every: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        // Every replica runs this: see the module docs for why two never queue a write twice.
        let mut outage = Outage::default();
        loop {
            self.run_once_logged(&mut outage).await;
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    async fn advance(&self, lag: &TicketLag) -> Result<bool, crate::adapter::store::StoreError> {
        let Some(ticket) = &lag.job.ticket else {
            return Ok(false);
        };
        let wanted = TicketPhase::wanted(lag.job.state, lag.reported);
        let writes = match (
            self.instances.get(&ticket.instance),
            TicketKind::from_number(&ticket.number),
        ) {
            (Some(ctx), Some(kind)) => {
                let detail = self.store.get_job(lag.job.id).await?;
                match detail {
                    Some(detail) => plan(ctx, kind, &detail, lag.reported, wanted),
                    None => Vec::new(),
                }
            }
            // The instance left the config, or the number is not a ticket's: nothing can be
            // written; the phase still advances so the job stops being looked at.
            _ => Vec::new(),
        };
        let items = writes
            .into_iter()
            .map(|w| NewOutboxItem {
                instance: ticket.instance.clone(),
                table: TicketKind::from_number(&ticket.number)
                    .map_or("incident", TicketKind::table)
                    .to_owned(),
                ticket: ticket.number.clone(),
                job_id: Some(lag.job.id),
                payload: w.to_payload(),
            })
            .collect();
        self.store
            .advance_ticket_phase(lag.job.id, lag.reported, wanted, items)
            .await
    }
}

/// The writes that take a ticket from `reported` to `wanted` for this job.
pub fn plan(
    ctx: &InstanceCtx,
    kind: TicketKind,
    detail: &JobDetail,
    reported: TicketPhase,
    wanted: TicketPhase,
) -> Vec<TicketWrite> {
    let job = &detail.job;
    let mut writes = Vec::new();
    let is_final = !matches!(wanted, TicketPhase::None | TicketPhase::Started);
    let was_final = !matches!(reported, TicketPhase::None | TicketPhase::Started);
    // A job cancelled before it started never worked the ticket: it gets the note only.
    let ran = !matches!(wanted, TicketPhase::None | TicketPhase::Cancelled)
        || job.progress.succeeded + job.progress.failed > 0;
    if reported == TicketPhase::None && ran {
        let mut take = TicketWrite::new("job started", "deskbridge");
        take.progress = Some(Progress::Working);
        take.assignee = Some(Assignee::KeepOrAdapter);
        take.work_notes = Some(format!(
            "deskbridge job {} started: {} on {} (requested by {}).\n{}",
            job.id,
            job.action,
            count(job.progress.total, "target"),
            job.requested_by,
            list(detail, |_| true)
        ));
        writes.push(take);
    } else if was_final && wanted == TicketPhase::Started {
        let mut note = TicketWrite::new("job retried", "deskbridge");
        note.work_notes = Some(format!(
            "deskbridge job {} is running again for the targets that failed.",
            job.id
        ));
        writes.push(note);
    }
    if !is_final {
        return writes;
    }
    let p = &job.progress;
    match job.state {
        JobState::Succeeded => {
            let mut done = TicketWrite::new("resolve", "deskbridge");
            done.progress = Some(Progress::Done);
            let text = format!(
                "deskbridge job {}: {} succeeded on {}.\n{}",
                job.id,
                job.action,
                count(p.succeeded, "target"),
                list(detail, |t| t.state == TaskState::Succeeded)
            );
            if kind == TicketKind::Incident {
                done.close_code = Some(ctx.config.resolve_close_code.clone());
            }
            done.close_notes = Some(text);
            writes.push(done);
        }
        JobState::Failed | JobState::PartiallyFailed => {
            let mut fail = TicketWrite::new("job failed", "deskbridge");
            fail.work_notes = Some(format!(
                "deskbridge job {}: {} failed on {} of {} ({} succeeded). The ticket stays open{}.\n{}",
                job.id,
                job.action,
                p.failed,
                count(p.total, "target"),
                p.succeeded,
                match &ctx.config.failure_assignment_group {
                    Some(g) => format!(" and goes to {g}"),
                    None => String::new(),
                },
                list(detail, |t| t.state == TaskState::Failed)
            ));
            if let Some(group) = &ctx.config.failure_assignment_group {
                fail.assignment_group = Some(group.clone());
                fail.assignee = Some(Assignee::Nobody);
            }
            writes.push(fail);
        }
        JobState::Cancelled => {
            let mut note = TicketWrite::new("job cancelled", "deskbridge");
            note.work_notes = Some(format!(
                "deskbridge job {} was cancelled: {} done, {} not run, {} failed. The ticket \
                 stays open.",
                job.id, p.succeeded, p.cancelled, p.failed
            ));
            writes.push(note);
        }
        JobState::Queued | JobState::Running => {}
    }
    writes
}

fn count(n: u32, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// One line per task (up to [`LISTED`]): site, target and what happened.
fn list(detail: &JobDetail, pick: impl Fn(&crate::adapter::store::Task) -> bool) -> String {
    let picked: Vec<_> = detail.tasks.iter().filter(|t| pick(t)).collect();
    let mut lines: Vec<String> = picked
        .iter()
        .take(LISTED)
        .map(|t| {
            let what = t
                .error
                .as_deref()
                .or(t.result.as_deref())
                .unwrap_or(t.state.as_str());
            format!("- {} on {}: {what}", t.display_name, t.site)
        })
        .collect();
    if picked.len() > LISTED {
        lines.push(format!("… and {} more", picked.len() - LISTED));
    }
    lines.join("\n")
}
