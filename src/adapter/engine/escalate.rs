//! `session.logoff` with `escalate_after`: once the site accepted the logoff, the task follows
//! the session until it is gone. A session still there when `escalate_after` has passed (since
//! the attempt began) has a stuck logoff: on a single-session machine, only that user is on
//! it, so the machine is restarted with force (what `machine.restart` with `force` does) and
//! that job is followed; on a multi-session machine a restart would end other users'
//! sessions, so the task fails and says so instead.
//!
//! The restart's site job id is not stored on the task (the stored id stays the logoff's): a
//! resumed task follows the logoff job again, then the session, and a machine found with a
//! power action already pending is not restarted a second time.

use std::time::Duration;

use tokio::time::Instant;

use super::actions::duration_text;
use super::run::{Outcome, TaskRun, classify};
use crate::model::{PowerAction, PowerState, Session, SessionSupport};

impl TaskRun<'_> {
    /// Follows the session after its logoff was accepted (`done` says how) until it is gone,
    /// escalating at `deadline` if it is not.
    pub(super) async fn settle(&self, deadline: Instant, after: Duration, done: String) -> Outcome {
        self.slot.release();
        let every = self.env.options.poll_interval;
        let give_up = deadline + self.env.options.job_timeout;
        loop {
            let read = {
                let _call = self.site.pace().await;
                self.client().session(self.target).await
            };
            match read {
                Err(e) if e.is_not_found() => {
                    return Outcome::Done(format!("logged off ({done})"));
                }
                Err(e) if e.is_retryable() => {
                    tracing::debug!(session = self.target, error = %e, "session read failed; reading again");
                }
                Err(e) => {
                    return Outcome::Failed(format!(
                        "the logoff was accepted ({done}), but the session could not be \
                         followed: {e}"
                    ));
                }
                Ok(session) if Instant::now() >= deadline => {
                    return self.escalate(&session, after).await;
                }
                Ok(_) => {}
            }
            let now = Instant::now();
            if now >= give_up {
                return Outcome::Failed(format!(
                    "logoff did not finish in {}, and the session could not be read since",
                    duration_text(after)
                ));
            }
            // Wake at the deadline itself rather than up to a poll interval after it.
            let next = if now < deadline {
                (now + every).min(deadline)
            } else {
                now + every
            };
            tokio::time::sleep_until(next).await;
        }
    }

    async fn escalate(&self, session: &Session, after: Duration) -> Outcome {
        let waited = format!("logoff did not finish in {}", duration_text(after));
        let machine = {
            let _call = self.site.pace().await;
            self.client().machine(&session.machine.id).await
        };
        let machine = match machine {
            Ok(machine) => machine,
            Err(e) if e.is_not_found() => {
                return Outcome::Failed(format!(
                    "{waited}; its machine {} no longer exists at site {}",
                    session.machine.name, self.site.name
                ));
            }
            Err(e) => return with_context(classify(&e), &waited, "reading its machine failed"),
        };
        let name = if machine.name.is_empty() {
            machine.id.clone()
        } else {
            machine.name.clone()
        };
        if machine.session_support != SessionSupport::SingleSession {
            return Outcome::Failed(format!(
                "{waited}; machine {name} was not restarted: it is a multi-session machine \
                 ({} sessions on it), and a restart would end other users' sessions",
                machine.session_count
            ));
        }
        if machine.power_action_pending
            || matches!(
                machine.power_state,
                PowerState::TurningOff | PowerState::TurningOn
            )
        {
            // An interrupted attempt's restart, or someone else's power action: wait for it
            // rather than restart twice; the next attempt looks again.
            return Outcome::Retry(format!(
                "{waited}; machine {name} already has a power action under way; looking again"
            ));
        }
        let started = {
            let _call = self.site.pace().await;
            self.client()
                .power_async(&machine.id, PowerAction::Reboot, true)
                .await
        };
        let job = match started {
            Ok(job) => job,
            Err(e) => {
                return with_context(classify(&e), &waited, &format!("restarting {name} failed"));
            }
        };
        match self.follow(&job.id, PowerAction::Reboot.job_type()).await {
            Outcome::Done(_) => Outcome::Done(format!(
                "{waited}; restarted machine {name} with force (CVAD job {} completed)",
                job.id
            )),
            other => with_context(other, &waited, &format!("the forced restart of {name}")),
        }
    }
}

/// Prefixes a failure or retry with what was being done, so the task's error tells the story.
fn with_context(outcome: Outcome, waited: &str, doing: &str) -> Outcome {
    match outcome {
        Outcome::Failed(e) => Outcome::Failed(format!("{waited}; {doing}: {e}")),
        Outcome::Retry(e) => Outcome::Retry(format!("{waited}; {doing}: {e}")),
        other => other,
    }
}
