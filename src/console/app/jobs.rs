//! The jobs the console follows live: fed by job and task events over SSE (never polled),
//! drawn in the jobs pane, and the source of the flash when a job ends.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::console::client::{
    JobEvent, JobInfo, JobProgress, JobState, TaskEvent, TaskState, TicketLink,
};

/// How many finished jobs the pane keeps; running ones are always kept.
const KEEP_FINISHED: usize = 50;

/// One job as the pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveJob {
    pub id: Uuid,
    pub action: String,
    pub state: JobState,
    pub progress: JobProgress,
    pub ticket: Option<TicketLink>,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Targets that failed, with the reason, as task events said (`Enter` shows them all).
    pub failures: BTreeMap<String, String>,
}

impl LiveJob {
    pub fn elapsed(&self, now: DateTime<Utc>) -> chrono::Duration {
        self.ended_at.unwrap_or(now) - self.started_at
    }

    /// "Reset 47/50 sessions, 3 failed".
    pub fn summary(&self) -> String {
        let (verb, noun) = wording(&self.action);
        let p = &self.progress;
        let mut text = format!("{verb} {}/{} {noun}", p.succeeded, p.total);
        match self.state {
            JobState::Cancelled => text.push_str(", cancelled"),
            _ if p.failed > 0 => text.push_str(&format!(", {} failed", p.failed)),
            _ => {}
        }
        text
    }
}

/// The verb and the noun an action's flash uses.
fn wording(action: &str) -> (&'static str, &'static str) {
    match action {
        "session.logoff" => ("Reset", "sessions"),
        "user.logoff" => ("Logged off", "sessions"),
        "session.disconnect" => ("Disconnected", "sessions"),
        "session.message" => ("Messaged", "sessions"),
        "machine.start" => ("Started", "machines"),
        "machine.shutdown" => ("Shut down", "machines"),
        "machine.restart" => ("Restarted", "machines"),
        "machine.maintenance" => ("Maintenance set on", "machines"),
        "site.enable" => ("Enabled", "sites"),
        "site.disable" => ("Disabled", "sites"),
        _ => ("Done", "targets"),
    }
}

/// What a job's end tells the operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub id: Uuid,
    pub text: String,
    pub state: JobState,
}

#[derive(Debug, Clone, Default)]
pub struct Jobs {
    /// Newest first.
    pub items: Vec<LiveJob>,
}

impl Jobs {
    pub fn get(&self, id: Uuid) -> Option<&LiveJob> {
        self.items.iter().find(|j| j.id == id)
    }

    fn entry(&mut self, id: Uuid, action: &str, at: DateTime<Utc>) -> &mut LiveJob {
        let position = match self.items.iter().position(|j| j.id == id) {
            Some(p) => p,
            None => {
                self.items.insert(
                    0,
                    LiveJob {
                        id,
                        action: action.to_owned(),
                        state: JobState::Queued,
                        progress: JobProgress::default(),
                        ticket: None,
                        started_at: at,
                        ended_at: None,
                        failures: BTreeMap::new(),
                    },
                );
                0
            }
        };
        &mut self.items[position]
    }

    /// A job this console submitted, or one read from the adapter.
    pub fn track(&mut self, job: &JobInfo) -> Option<Ended> {
        let live = self.entry(job.id, &job.action, job.created_at);
        live.started_at = job.created_at;
        live.ticket.clone_from(&job.ticket);
        Self::update(live, job.state, job.progress, job.updated_at)
    }

    /// A job event; returns what to flash when it is the job's end.
    pub fn apply_job(&mut self, event: &JobEvent, at: DateTime<Utc>) -> Option<Ended> {
        let live = self.entry(event.job_id, &event.action, at);
        live.ticket.clone_from(&event.ticket);
        let ended = Self::update(live, event.state, event.progress, at);
        self.prune();
        ended
    }

    fn update(
        live: &mut LiveJob,
        state: JobState,
        progress: JobProgress,
        at: DateTime<Utc>,
    ) -> Option<Ended> {
        let was_running = !live.state.is_terminal() || live.ended_at.is_none();
        live.state = state;
        live.progress = progress;
        if state.is_terminal() {
            if live.ended_at.is_none() {
                live.ended_at = Some(at);
            }
            if was_running {
                return Some(Ended {
                    id: live.id,
                    text: live.summary(),
                    state,
                });
            }
        } else {
            // Retried: running again.
            live.ended_at = None;
        }
        None
    }

    /// A task event: keeps each failed target's reason for the pane.
    pub fn apply_task(&mut self, event: &TaskEvent) {
        let Some(live) = self.items.iter_mut().find(|j| j.id == event.job_id) else {
            return;
        };
        let key = format!("{}/{}", event.site, event.target_id);
        if event.state == TaskState::Failed {
            live.failures
                .insert(key, event.error.clone().unwrap_or_default());
        } else {
            live.failures.remove(&key);
        }
    }

    pub fn running(&self) -> usize {
        self.items.iter().filter(|j| !j.state.is_terminal()).count()
    }

    fn prune(&mut self) {
        let mut finished = 0;
        self.items.retain(|j| {
            if j.state.is_terminal() {
                finished += 1;
                finished <= KEEP_FINISHED
            } else {
                true
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: Uuid, state: JobState, succeeded: u32, failed: u32) -> JobEvent {
        JobEvent {
            job_id: id,
            action: "session.logoff".into(),
            state,
            progress: JobProgress {
                total: 50,
                succeeded,
                failed,
                running: 50 - succeeded - failed,
                ..JobProgress::default()
            },
            ticket: None,
        }
    }

    #[test]
    fn a_job_end_is_flashed_once_with_its_counts() {
        let mut jobs = Jobs::default();
        let id = Uuid::new_v4();
        let now = Utc::now();
        assert_eq!(
            jobs.apply_job(&event(id, JobState::Running, 10, 0), now),
            None
        );
        let ended = jobs.apply_job(&event(id, JobState::PartiallyFailed, 47, 3), now);
        assert_eq!(
            ended.map(|e| e.text),
            Some("Reset 47/50 sessions, 3 failed".to_owned())
        );
        assert_eq!(
            jobs.apply_job(&event(id, JobState::PartiallyFailed, 47, 3), now),
            None
        );
        assert_eq!(jobs.running(), 0);
        // A retry makes it run again and end again.
        assert_eq!(
            jobs.apply_job(&event(id, JobState::Running, 47, 0), now),
            None
        );
        assert!(
            jobs.apply_job(&event(id, JobState::Succeeded, 50, 0), now)
                .is_some()
        );
    }

    #[test]
    fn failed_targets_are_kept_until_they_succeed() {
        let mut jobs = Jobs::default();
        let id = Uuid::new_v4();
        jobs.apply_job(&event(id, JobState::Running, 0, 0), Utc::now());
        let mut task = TaskEvent {
            job_id: id,
            task_id: 1,
            site: "London".into(),
            target_id: "s1".into(),
            state: TaskState::Failed,
            percent: 0,
            attempts: 3,
            result: None,
            error: Some("503 connector down".into()),
            external_job_id: None,
        };
        jobs.apply_task(&task);
        assert_eq!(
            jobs.items[0].failures.get("London/s1").map(String::as_str),
            Some("503 connector down")
        );
        task.state = TaskState::Succeeded;
        jobs.apply_task(&task);
        assert!(jobs.items[0].failures.is_empty());
    }
}
