//! Running one task at its site: look at the target first, act only if the action has not
//! happened yet, follow the site's asynchronous job into the task's percent, and say how the
//! attempt ended. The caller ([`super::worker`]) hands the outcome to the engine's writer
//! ([`super::record`]).
//!
//! The check-first rule is what makes a resumed task safe: a worker that died after the site
//! accepted the action left the target logging off, powering on or in maintenance, and the
//! next worker sees that and records the task done instead of acting again. A logoff's first
//! attempt skips the look: every answer the site can give it is safe to act on (a session
//! already logging off accepts the logoff again, a gone one answers 404, which is success),
//! so the look would only double the calls of a bulk logoff. Retries and resumed attempts,
//! which may follow an action that already happened, always look first.
//!
//! A logoff with `escalate_after` then follows the session itself ([`super::escalate`]).

use std::sync::Arc;

use tokio::time::Instant;

use super::actions::Operation;
use super::follow::{JobWatch, Polled};
use super::worker::{SiteCtx, TaskEnv, TaskSlot};
use crate::cvad::wire::UpdateMachineRequest;
use crate::cvad::{CvadError, JobRef, job_failure_hint, job_types};
use crate::model::{PowerAction, PowerState, SessionState};

/// Account actions run at a directory ([`super::accounts`]); the API never files them under
/// a site, so this only shows for a task edited by hand.
const NOT_A_SITE_ACTION: &str = "account actions run at a directory, not at a CVAD site";

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The target is as asked; the text says how we know.
    Done(String),
    /// Permanent: retrying cannot help.
    Failed(String),
    /// Transient: try again after a backoff.
    Retry(String),
    /// The job was cancelled and the site's job was cancelled with it.
    Cancelled(String),
    /// Another worker holds the task now (our lease expired); leave it alone.
    LeaseLost,
}

/// What the look at the target found.
enum Check {
    Done(String),
    Act,
    End(Outcome),
}

/// A CVAD error as an outcome: transient ones (429, 503, unreachable connectors, outages)
/// are retried, everything else fails the task with the site's words.
pub(super) fn classify(err: &CvadError) -> Outcome {
    if err.is_retryable() {
        Outcome::Retry(err.to_string())
    } else {
        Outcome::Failed(err.to_string())
    }
}

/// One task's run at one site.
pub struct TaskRun<'a> {
    pub env: &'a TaskEnv,
    pub site: &'a Arc<SiteCtx>,
    /// Given back while the task only waits.
    pub slot: &'a TaskSlot,
    pub task_id: i64,
    pub target: &'a str,
    pub op: &'a Operation,
    /// The previous attempt never ended: its worker died, maybe after acting.
    pub interrupted: bool,
    /// An earlier attempt exists (or stored a site job): the action may have happened.
    pub resumed: bool,
    /// The site's job id an earlier attempt stored.
    pub external_job_id: Option<&'a str>,
}

impl TaskRun<'_> {
    pub async fn run(&self) -> Outcome {
        let started = Instant::now();
        let outcome = self.run_action().await;
        match (self.op, outcome) {
            (
                Operation::Logoff {
                    escalate_after: Some(after),
                },
                Outcome::Done(why),
            ) => self.settle(started + *after, *after, why).await,
            (_, outcome) => outcome,
        }
    }

    async fn run_action(&self) -> Outcome {
        if self.interrupted
            && let Some(job) = self.external_job_id
        {
            // The action was accepted before the crash: its job says how it went.
            return self.follow(job, self.job_kind()).await;
        }
        if !self.resumed && self.is_logoff() {
            return self.act().await;
        }
        match self.check().await {
            Check::Done(why) => Outcome::Done(why),
            Check::End(outcome) => outcome,
            Check::Act => self.act().await,
        }
    }

    pub(super) fn is_logoff(&self) -> bool {
        matches!(self.op, Operation::Logoff { .. })
    }

    /// What kind of site job the action starts, for the poller's estimates of when jobs end
    /// ([`super::job_eta`]).
    pub(super) fn job_kind(&self) -> &'static str {
        match self.op {
            Operation::Logoff { .. } => job_types::LOGOFF_SESSIONS,
            Operation::Disconnect => job_types::DISCONNECT_SESSIONS,
            Operation::Power { action, .. } => action.job_type(),
            Operation::Maintenance { .. } => job_types::UPDATE_MACHINE,
            Operation::Message { .. } | Operation::Account(_) | Operation::Workflow { .. } => {
                "other"
            }
        }
    }

    pub(super) fn client(&self) -> &crate::cvad::CvadClient {
        &self.site.client
    }

    async fn check(&self) -> Check {
        match self.op {
            Operation::Account(_) | Operation::Workflow { .. } => {
                Check::End(Outcome::Failed(NOT_A_SITE_ACTION.into()))
            }
            Operation::Logoff { .. } | Operation::Disconnect | Operation::Message { .. } => {
                let session = {
                    let _call = self.site.pace().await;
                    self.client().session(self.target).await
                };
                let session = match session {
                    Ok(session) => session,
                    Err(e) if e.is_not_found() && self.is_logoff() => {
                        return Check::Done("the session is gone: already logged off".into());
                    }
                    Err(e) if e.is_not_found() => {
                        return Check::End(Outcome::Failed(format!(
                            "session {} does not exist at site {}",
                            self.target, self.site.name
                        )));
                    }
                    Err(e) => return Check::End(classify(&e)),
                };
                match self.op {
                    Operation::Logoff { .. } if session.logoff_in_progress => {
                        Check::Done("the session is already logging off".into())
                    }
                    Operation::Disconnect if session.logoff_in_progress => {
                        Check::Done("the session is logging off; nothing to disconnect".into())
                    }
                    Operation::Disconnect if session.state == SessionState::Disconnected => {
                        Check::Done("the session is already disconnected".into())
                    }
                    Operation::Message { .. } if self.interrupted => {
                        // A message leaves no trace on the session; sending it again could show
                        // it twice, so a person decides (retrying the job sends it).
                        Check::End(Outcome::Failed(
                            "an earlier attempt was interrupted after it may have shown the \
                             message; not sent again so the user does not read it twice (retry \
                             the job to send it)"
                                .into(),
                        ))
                    }
                    Operation::Message { .. } if session.state == SessionState::Disconnected => {
                        Check::End(Outcome::Failed(
                            "the session is disconnected; a message cannot be shown".into(),
                        ))
                    }
                    _ => Check::Act,
                }
            }
            Operation::Power { .. } | Operation::Maintenance { .. } => {
                let machine = {
                    let _call = self.site.pace().await;
                    self.client().machine(self.target).await
                };
                let machine = match machine {
                    Ok(machine) => machine,
                    Err(e) if e.is_not_found() => {
                        return Check::End(Outcome::Failed(format!(
                            "machine {} does not exist at site {}",
                            self.target, self.site.name
                        )));
                    }
                    Err(e) => return Check::End(classify(&e)),
                };
                let power = machine.power_state;
                match self.op {
                    Operation::Maintenance { on } if machine.in_maintenance_mode == *on => {
                        Check::Done(format!(
                            "maintenance mode is already {}",
                            if *on { "on" } else { "off" }
                        ))
                    }
                    Operation::Power {
                        action: PowerAction::Start,
                        ..
                    } if matches!(power, PowerState::On | PowerState::TurningOn) => {
                        Check::Done(format!("the machine is already {power}"))
                    }
                    Operation::Power {
                        action: PowerAction::Shutdown,
                        ..
                    } if matches!(power, PowerState::Off | PowerState::TurningOff) => {
                        Check::Done(format!("the machine is already {power}"))
                    }
                    // Idle power-off chose the machine moments ago; a logon since then wins.
                    Operation::Power {
                        action: PowerAction::Shutdown,
                        if_idle: true,
                        ..
                    } if machine.session_count > 0 => Check::Done(format!(
                        "left on: it has {} session(s) now, and this job shuts down idle \
                         machines only",
                        machine.session_count
                    )),
                    Operation::Power {
                        action: PowerAction::Reboot,
                        ..
                    } if self.interrupted => self.check_interrupted_restart(&machine).await,
                    _ => Check::Act,
                }
            }
        }
    }

    /// A restart leaves no lasting state, so an interrupted one is looked up among the site's
    /// jobs (the worker may have died between the site's 202 and storing the job id), and a
    /// machine still cycling counts as restarted.
    async fn check_interrupted_restart(&self, machine: &crate::model::Machine) -> Check {
        if machine.power_action_pending
            || matches!(
                machine.power_state,
                PowerState::TurningOff | PowerState::TurningOn
            )
        {
            return Check::Done("a restart was already under way".into());
        }
        let jobs = {
            let _call = self.site.pace().await;
            self.client().jobs().await
        };
        let jobs = match jobs {
            Ok(jobs) => jobs,
            Err(e) => return Check::End(classify(&e)),
        };
        let names = [
            machine.id.as_str(),
            machine.name.as_str(),
            &machine.path_name(),
        ];
        let found = jobs.iter().find(|j| {
            j.job_type == PowerAction::Reboot.job_type()
                && j.parameters
                    .iter()
                    .any(|(_, v)| names.iter().any(|n| n.eq_ignore_ascii_case(v)))
        });
        match found {
            Some(job) if job.succeeded() => Check::Done(format!(
                "the interrupted attempt's restart (CVAD job {}) completed",
                job.id
            )),
            Some(job) if !job.is_terminal() => {
                Check::End(self.follow(&job.id, self.job_kind()).await)
            }
            _ => Check::Act,
        }
    }

    async fn act(&self) -> Outcome {
        let call = self.site.pace().await;
        let client = self.client();
        let started: Result<JobRef, CvadError> = match self.op {
            Operation::Account(_) | Operation::Workflow { .. } => {
                return Outcome::Failed(NOT_A_SITE_ACTION.into());
            }
            Operation::Logoff { .. } => client.logoff_async(self.target).await,
            Operation::Disconnect => client.disconnect_async(self.target).await,
            Operation::Message { title, text, style } => {
                // The API has no asynchronous form of sendMessage.
                return match client.send_message(self.target, *style, title, text).await {
                    Ok(()) => Outcome::Done("message shown".into()),
                    Err(e) => classify(&e),
                };
            }
            Operation::Power { action, force, .. } => {
                client.power_async(self.target, *action, *force).await
            }
            Operation::Maintenance { on } => {
                let update = UpdateMachineRequest {
                    in_maintenance_mode: Some(*on),
                    ..Default::default()
                };
                client.update_machine_async(self.target, &update).await
            }
        };
        drop(call);
        match started {
            Ok(job) => {
                // A logoff's id goes with the outcome; the others' is stored before following
                // (see `TaskEnv::accepted` for why).
                if !self.env.accepted(&job.id, !self.is_logoff()).await {
                    return Outcome::LeaseLost;
                }
                self.follow(&job.id, self.job_kind()).await
            }
            Err(e) if e.is_not_found() && self.is_logoff() => {
                Outcome::Done("the session was already gone".into())
            }
            Err(e) => classify(&e),
        }
    }

    /// Follows the site's job to its end (read by the site's poller, [`JobWatch`]), copying
    /// its progress into the task and cancelling it at the site if the job is cancelled
    /// meanwhile and the site allows it. Waiting holds no task slot: the next task acts.
    pub(super) async fn follow(&self, job_id: &str, kind: &str) -> Outcome {
        self.slot.release();
        let deadline = Instant::now() + self.env.options.job_timeout;
        let every = self.env.options.poll_interval;
        let mut updates = JobWatch::subscribe(self.site, job_id, kind, every);
        let mut last_percent: Option<u8> = None;
        let mut cancel_sent = false;
        loop {
            match tokio::time::timeout_at(deadline, updates.changed()).await {
                Ok(Ok(())) => {}
                // The sender lives as long as anyone waits; this cannot happen, but if it did
                // the next attempt would look at the target again.
                Ok(Err(_)) => {
                    return Outcome::Retry(format!(
                        "lost track of CVAD job {job_id} at site {}; checking the target again",
                        self.site.name
                    ));
                }
                Err(_) => {
                    return Outcome::Failed(format!(
                        "CVAD job {job_id} at site {} did not finish within {} s; it may still \
                         finish there",
                        self.site.name,
                        self.env.options.job_timeout.as_secs()
                    ));
                }
            }
            let polled = updates.borrow_and_update().clone();
            let job = match polled {
                None => continue,
                Some(Polled::Gone) => {
                    return Outcome::Retry(format!(
                        "site {} no longer knows its job {job_id}; checking the target again",
                        self.site.name
                    ));
                }
                Some(Polled::Failed(e)) => return Outcome::Failed(e),
                Some(Polled::Job(job)) => job,
            };
            let percent = job
                .progress
                .map(|p| p.min(100) as u8)
                .unwrap_or(if job.is_terminal() { 100 } else { 0 });
            if last_percent != Some(percent) && !job.is_terminal() {
                last_percent = Some(percent);
                self.env.progress(percent);
            }
            if job.is_terminal() {
                return self.finished(&job).await;
            }
            if !cancel_sent && job.is_cancellable && self.env.cancel_requested().await {
                let _call = self.site.pace().await;
                if self.client().cancel_job(job_id).await.is_ok() {
                    cancel_sent = true;
                }
            }
        }
    }

    async fn finished(&self, job: &crate::cvad::Job) -> Outcome {
        if job.succeeded() {
            return Outcome::Done(format!("CVAD job {} {} completed", job.job_type, job.id));
        }
        if job.status == crate::cvad::JobStatus::Canceled && self.env.cancel_requested().await {
            return Outcome::Cancelled(format!(
                "cancelled: CVAD job {} was cancelled at the site",
                job.id
            ));
        }
        let message = job
            .failure_message()
            .unwrap_or_else(|| "the site gave no reason".into());
        let text = format!(
            "CVAD job {} {} at site {} failed: {message}",
            job.job_type, job.id, self.site.name
        );
        if self.is_logoff() {
            // A session that ended by itself meanwhile makes the logoff job fail; that is done.
            let session = {
                let _call = self.site.pace().await;
                self.client().session(self.target).await
            };
            if let Err(e) = session
                && e.is_not_found()
            {
                return Outcome::Done("the session is gone: already logged off".into());
            }
        }
        let transient = job_failure_hint(&message).is_some()
            || job
                .error_string
                .as_deref()
                .and_then(job_failure_hint)
                .is_some();
        if transient {
            Outcome::Retry(text)
        } else {
            Outcome::Failed(text)
        }
    }
}
