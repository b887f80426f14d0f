//! The adapter's live events applied to the console: jobs and tasks update the jobs pane and
//! flash when a job ends; inventory, site and ticket changes reload the views they touch
//! (one reload per view at a time, however many events arrive); the link state drives the
//! header.

use super::{App, Effect, Level, Link, LoadStatus};
use crate::console::client::{EventPayload, JobState, ServerEvent, StreamEvent};
use crate::console::keymap::View;

impl App {
    pub(crate) fn stream(&mut self, event: StreamEvent) -> Vec<Effect> {
        self.dirty = true;
        match event {
            StreamEvent::Connected { reconnected, .. } => {
                let was_away = matches!(self.link, Link::Away { .. });
                self.link = Link::Live;
                // Without an answer to "who am I" (the adapter was away at start) the console
                // offers only what a viewer may do; ask again now that it answers.
                let mut effects: Vec<Effect> = self
                    .me
                    .is_none()
                    .then_some(Effect::Whoami)
                    .into_iter()
                    .collect();
                if reconnected || was_away {
                    self.say(Level::Success, "adapter back: live again");
                    // Answers that failed while away are worth asking again.
                    effects.extend(self.reload_loaded(|_| true));
                }
                effects
            }
            StreamEvent::Reconnecting {
                retry_at, reason, ..
            } => {
                let since = match &self.link {
                    Link::Away { since, .. } => *since,
                    _ => self.now,
                };
                if !matches!(self.link, Link::Away { .. }) {
                    self.log.push(format!("adapter unreachable: {reason}"));
                }
                self.link = Link::Away {
                    since,
                    retry_at,
                    reason,
                };
                Vec::new()
            }
            StreamEvent::Reset { reason } => {
                self.say(
                    Level::Warn,
                    format!("events were missed ({reason}); reloading"),
                );
                self.reload_loaded(|_| true)
            }
            StreamEvent::Event(event) => self.server_event(event),
        }
    }

    fn server_event(&mut self, event: ServerEvent) -> Vec<Effect> {
        match event.payload {
            EventPayload::Job(job) => {
                let ended = self.jobs.apply_job(&job, event.at);
                let mut effects = self.reload_loaded(|v| v == View::Jobs);
                if let Some(ended) = ended {
                    let level = match ended.state {
                        JobState::Succeeded => Level::Success,
                        JobState::Failed => Level::Error,
                        _ => Level::Warn,
                    };
                    let more = if ended.state == JobState::Succeeded {
                        ""
                    } else {
                        " — w for details"
                    };
                    self.say(level, format!("{}{more}", ended.text));
                    if matches!(&self.job, Some(Ok(j)) if j.id == ended.id) {
                        effects.push(Effect::LoadJob(ended.id));
                    }
                    if job.action.starts_with("account.") {
                        effects.extend(self.accounts_changed());
                    }
                }
                effects
            }
            EventPayload::Task(task) => {
                self.jobs.apply_task(&task);
                Vec::new()
            }
            EventPayload::Inventory(inv) => {
                self.trend(&inv.site, inv.counts.sessions);
                let site = inv.site;
                self.reload_loaded(|v| {
                    matches!(
                        v,
                        View::Sessions | View::Machines | View::Groups | View::Sites | View::Users
                    )
                })
                .into_iter()
                .filter(|e| match e {
                    Effect::Load {
                        scope: Some(scope), ..
                    } => *scope == site,
                    _ => true,
                })
                .collect()
            }
            EventPayload::Site(_) => self.reload_loaded(|v| v == View::Sites),
            EventPayload::Ticket(ticket) => {
                if let Some(report) = &ticket.write
                    && report.result != "delivered"
                    && report.result != "retrying"
                {
                    let what = ticket
                        .ticket
                        .as_ref()
                        .map_or(event.subject.as_str(), |t| t.number.as_str());
                    let why = report.error.as_deref().unwrap_or(&report.result);
                    self.say(
                        Level::Error,
                        format!("{what}: {} not written: {why}", report.purpose),
                    );
                }
                let mut effects = self.reload_loaded(|v| v == View::Tickets);
                if let Some((link, _)) = &self.ticket
                    && ticket
                        .ticket
                        .as_ref()
                        .is_some_and(|t| t.number == link.number && t.instance == link.instance)
                {
                    effects.push(Effect::LoadTicket(link.clone()));
                }
                effects
            }
            EventPayload::Step(step) => {
                self.apply_step(&step);
                Vec::new()
            }
            EventPayload::Other { .. } => Vec::new(),
        }
    }

    /// Reloads the shown view if it has loaded once and `which` selects it; other such views
    /// are marked stale and reload when next shown. A view loading now reloads when that load
    /// ends.
    pub(crate) fn reload_loaded(&mut self, which: impl Fn(View) -> bool) -> Vec<Effect> {
        let shown = self.view;
        let mut reload = false;
        for table in self.tables.values_mut() {
            let loaded = table.loaded_at.is_some() || matches!(table.status, LoadStatus::Failed(_));
            if which(table.view) && loaded {
                if table.view == shown {
                    reload = true;
                } else {
                    table.stale = true;
                }
            }
        }
        if reload {
            self.load(shown).into_iter().collect()
        } else {
            Vec::new()
        }
    }
}
