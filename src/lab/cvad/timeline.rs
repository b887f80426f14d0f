//! Deadlines on the simulated clock: power transitions, logons and logoffs finishing, job steps.
//!
//! Nothing sleeps per object. Actions push an event with its due time; every request (and a
//! light background ticker) calls [`advance`], which applies every event that is due, in order.

use super::jobs;
use super::state::{SiteState, Stamp};
use crate::model::{AppState, FaultState, PowerState, RegistrationState, SessionState};
use chrono::{DateTime, Duration, Utc};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// How long each phase takes on the simulated clock.
pub const POWER_ON_SECS: i64 = 4;
pub const REGISTER_SECS: i64 = 3;
pub const POWER_OFF_SECS: i64 = 4;
pub const SUSPEND_SECS: i64 = 4;
pub const LOGOFF_SECS: i64 = 2;
pub const LOGON_SECS: i64 = 5;

/// A step a machine reaches at a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PowerStep {
    /// TurningOn -> On + Initializing (or a failure for faulty machines).
    PoweredOn,
    /// Initializing -> Registered.
    Registered,
    /// TurningOff -> Off.
    PoweredOff,
    /// TurningOff during a reboot -> TurningOn.
    RebootOff,
    /// Suspending -> Suspended.
    Suspended,
    /// Resuming -> On + Initializing.
    Resumed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    Machine {
        machine: usize,
        generation: u64,
        step: PowerStep,
    },
    /// A logoff in progress finishes: the session disappears.
    LogoffDone { session: u64 },
    /// A logon in progress finishes: the session becomes active.
    LogonDone { session: u64 },
    /// A job reaches its next step.
    Job { job: u64 },
}

/// Events ordered by due time, then by insertion.
#[derive(Debug, Default)]
pub struct Timeline {
    heap: BinaryHeap<Reverse<(DateTime<Utc>, u64, Event)>>,
    seq: u64,
}

impl Timeline {
    pub fn schedule(&mut self, at: DateTime<Utc>, event: Event) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, event)));
    }

    fn pop_due(&mut self, now: DateTime<Utc>) -> Option<(DateTime<Utc>, Event)> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => {
                self.heap.pop().map(|Reverse((at, _, event))| (at, event))
            }
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

/// Applies every event due by `now`. Each event runs at its own due time so chains (power on,
/// then register) land on the same times whether the clock crawled or jumped.
pub fn advance(state: &mut SiteState, now: DateTime<Utc>) {
    while let Some((at, event)) = state.timeline.pop_due(now) {
        match event {
            Event::Machine {
                machine,
                generation,
                step,
            } => machine_step(state, machine, generation, step, at),
            Event::LogoffDone { session } => {
                if !state.hung_logoffs.contains(&session)
                    && let Some(gone) = state.remove_session(session)
                {
                    state.note_connection(gone.machine, at);
                }
            }
            Event::LogonDone { session } => {
                if let Some(s) = state.sessions.get_mut(&session) {
                    s.logon_in_progress = false;
                    if s.state == SessionState::Connected {
                        s.state = SessionState::Active;
                        s.state_change = Stamp::new(at);
                    }
                    if s.app_state == AppState::PreLogon {
                        s.app_state = if s.apps.is_empty() {
                            AppState::Desktop
                        } else {
                            AppState::Active
                        };
                    }
                }
            }
            Event::Job { job } => jobs::step(state, job, at),
        }
    }
    jobs::purge_expired(state, now);
    state.last_tick = now;
}

fn machine_step(
    state: &mut SiteState,
    index: usize,
    generation: u64,
    step: PowerStep,
    at: DateTime<Utc>,
) {
    let Some(machine) = state.machines.get_mut(index) else {
        return;
    };
    if machine.generation != generation {
        // A later power action superseded this one.
        return;
    }
    let mut next = None;
    match step {
        PowerStep::PoweredOn | PowerStep::Resumed => match machine.fault {
            FaultState::FailedToStart => {
                machine.power = PowerState::Off;
                machine.power_action_pending = false;
            }
            FaultState::StuckOnBoot | FaultState::Unregistered => {
                // Powered on, but the VDA never registers.
                machine.power = PowerState::On;
                machine.registration = RegistrationState::Unregistered;
                machine.power_action_pending = false;
            }
            _ => {
                machine.power = PowerState::On;
                machine.registration = RegistrationState::Initializing;
                next = Some((REGISTER_SECS, PowerStep::Registered));
            }
        },
        PowerStep::Registered => {
            machine.registration = RegistrationState::Registered;
            machine.power_action_pending = false;
        }
        PowerStep::PoweredOff => {
            machine.power = PowerState::Off;
            machine.registration = RegistrationState::Unregistered;
            machine.power_action_pending = false;
        }
        PowerStep::RebootOff => {
            machine.power = PowerState::TurningOn;
            next = Some((POWER_ON_SECS, PowerStep::PoweredOn));
        }
        PowerStep::Suspended => {
            machine.power = PowerState::Suspended;
            machine.power_action_pending = false;
        }
    }
    if let Some((secs, step)) = next {
        state.timeline.schedule(
            at + Duration::seconds(secs),
            Event::Machine {
                machine: index,
                generation,
                step,
            },
        );
    }
}

/// Marks a machine deregistered for `reason` (a `DeregistrationReason` value).
pub fn deregister(state: &mut SiteState, index: usize, reason: &'static str, at: DateTime<Utc>) {
    if let Some(machine) = state.machines.get_mut(index) {
        if machine.registration != RegistrationState::Unregistered {
            machine.last_deregistration_reason = Some(reason);
            machine.last_deregistration_time = Some(at);
        }
        machine.registration = RegistrationState::Unregistered;
    }
}

/// Starts a logoff: the session shows `LogoffInProgress` and goes away `LOGOFF_SECS` later.
pub fn begin_logoff(state: &mut SiteState, key: u64, at: DateTime<Utc>) -> bool {
    let Some(session) = state.sessions.get_mut(&key) else {
        return false;
    };
    if session.logoff_in_progress {
        return true;
    }
    session.logoff_in_progress = true;
    session.app_state = AppState::Lingering;
    state.timeline.schedule(
        at + Duration::seconds(LOGOFF_SECS),
        Event::LogoffDone { session: key },
    );
    true
}
