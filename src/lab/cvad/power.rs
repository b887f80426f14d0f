//! The power state machine's entry points: which `$start/$shutdown/$reboot/$suspend/$resume`
//! a machine accepts in its current state, and the first transition each one makes (the rest
//! follows on the timeline).

use super::error::{ApiError, ApiResult};
use super::state::{MachineRec, SiteState};
use super::timeline::{
    self, Event, POWER_OFF_SECS, POWER_ON_SECS, PowerStep, REGISTER_SECS, SUSPEND_SECS,
};
use crate::model::{FaultState, PowerAction, PowerState};
use chrono::{DateTime, Duration, Utc};

fn refuse(machine: &MachineRec, action: PowerAction) -> ApiError {
    ApiError::invalid_operation(format!(
        "Cannot {} machine {} while its power state is {}",
        &action.verb()[1..],
        machine.qualified_name(),
        machine.power
    ))
    .param("powerState", machine.power.as_str())
}

pub fn power(
    state: &mut SiteState,
    index: usize,
    action: PowerAction,
    force: bool,
    now: DateTime<Utc>,
) -> ApiResult<i64> {
    let machine = state
        .machines
        .get(index)
        .ok_or_else(|| ApiError::not_found("Machine", &index.to_string()))?;
    let required = action.requires(force);
    if !state.supported_actions(machine).contains(&required) {
        return Err(ApiError::invalid_operation(format!(
            "Power action {required} is not supported by machine {}",
            machine.qualified_name()
        ))
        .param("supportedPowerAction", required.as_str()));
    }
    let allowed = match action {
        PowerAction::Start => machine.power == PowerState::Off,
        PowerAction::Shutdown | PowerAction::Reboot | PowerAction::Suspend => {
            machine.power == PowerState::On
        }
        PowerAction::Resume => machine.power == PowerState::Suspended,
    };
    if !allowed {
        return Err(refuse(machine, action));
    }
    let sessions = machine.sessions.clone();
    let stuck = matches!(
        machine.fault,
        FaultState::FailedToStart | FaultState::StuckOnBoot | FaultState::Unregistered
    );
    let (new_power, step, step_secs, total) = match action {
        PowerAction::Start => (
            PowerState::TurningOn,
            PowerStep::PoweredOn,
            POWER_ON_SECS,
            POWER_ON_SECS + if stuck { 0 } else { REGISTER_SECS },
        ),
        PowerAction::Shutdown => (
            PowerState::TurningOff,
            PowerStep::PoweredOff,
            POWER_OFF_SECS,
            POWER_OFF_SECS,
        ),
        PowerAction::Reboot => (
            PowerState::TurningOff,
            PowerStep::RebootOff,
            POWER_OFF_SECS,
            POWER_OFF_SECS + POWER_ON_SECS + if stuck { 0 } else { REGISTER_SECS },
        ),
        PowerAction::Suspend => (
            PowerState::Suspending,
            PowerStep::Suspended,
            SUSPEND_SECS,
            SUSPEND_SECS,
        ),
        PowerAction::Resume => (
            PowerState::Resuming,
            PowerStep::Resumed,
            SUSPEND_SECS,
            SUSPEND_SECS + if stuck { 0 } else { REGISTER_SECS },
        ),
    };
    let reason = match (action, force) {
        (PowerAction::Reboot, _) => Some("DesktopRestart"),
        (PowerAction::Shutdown, false) => Some("AgentShutdown"),
        (PowerAction::Shutdown, true) => Some("PowerOff"),
        (PowerAction::Suspend, _) => Some("AgentSuspended"),
        _ => None,
    };
    if let Some(reason) = reason {
        timeline::deregister(state, index, reason, now);
        // Sessions end with the machine: a forced action drops them, a graceful one logs
        // them off first (the logoff finishes before the machine is off).
        if action != PowerAction::Suspend {
            for key in sessions {
                if force {
                    state.remove_session(key);
                } else {
                    timeline::begin_logoff(state, key, now);
                }
            }
        }
    }
    let generation = match state.machines.get_mut(index) {
        Some(machine) => {
            machine.generation += 1;
            machine.power = new_power;
            machine.power_action_pending = true;
            machine.generation
        }
        None => return Err(ApiError::not_found("Machine", &index.to_string())),
    };
    state.timeline.schedule(
        now + Duration::seconds(step_secs),
        Event::Machine {
            machine: index,
            generation,
            step,
        },
    );
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::cvad::seed::test_site;
    use crate::lab::cvad::timeline::advance;
    use crate::model::{RegistrationState, SummaryState};

    fn find(state: &SiteState, test: impl Fn(&SiteState, &MachineRec) -> bool) -> usize {
        state
            .machines
            .iter()
            .position(|m| test(state, m))
            .expect("a matching machine")
    }

    fn healthy_managed(state: &SiteState, m: &MachineRec) -> bool {
        m.fault == FaultState::None && !state.supported_actions(m).is_empty()
    }

    #[test]
    fn start_turns_on_then_registers() {
        let (mut state, clock) = test_site();
        let t0 = clock.now();
        let m = find(&state, |s, m| {
            healthy_managed(s, m) && m.power == PowerState::Off
        });
        let total = power(&mut state, m, PowerAction::Start, false, t0).expect("start");
        assert_eq!(total, POWER_ON_SECS + REGISTER_SECS);
        assert_eq!(state.machines[m].power, PowerState::TurningOn);
        assert_eq!(state.summary(&state.machines[m]), SummaryState::Preparing);
        advance(&mut state, t0 + Duration::seconds(POWER_ON_SECS));
        assert_eq!(state.machines[m].power, PowerState::On);
        assert_eq!(
            state.machines[m].registration,
            RegistrationState::Initializing
        );
        advance(&mut state, t0 + Duration::seconds(total));
        assert_eq!(
            state.machines[m].registration,
            RegistrationState::Registered
        );
        assert!(!state.machines[m].power_action_pending);
        assert_eq!(state.summary(&state.machines[m]), SummaryState::Available);
    }

    #[test]
    fn graceful_shutdown_logs_sessions_off_first_and_force_drops_them() {
        let (mut state, clock) = test_site();
        let t0 = clock.now();
        let busy = |s: &SiteState, m: &MachineRec| {
            healthy_managed(s, m) && !m.sessions.is_empty() && m.power == PowerState::On
        };
        let m = find(&state, busy);
        let key = state.machines[m].sessions[0];
        power(&mut state, m, PowerAction::Shutdown, false, t0).expect("shutdown");
        assert!(state.sessions[&key].logoff_in_progress);
        assert_eq!(state.machines[m].power, PowerState::TurningOff);
        assert_eq!(
            state.machines[m].last_deregistration_reason,
            Some("AgentShutdown")
        );
        advance(&mut state, t0 + Duration::seconds(POWER_OFF_SECS));
        assert!(!state.sessions.contains_key(&key));
        assert_eq!(state.machines[m].power, PowerState::Off);

        let other = find(&state, busy);
        let keys = state.machines[other].sessions.clone();
        power(&mut state, other, PowerAction::Shutdown, true, t0).expect("forced shutdown");
        assert!(keys.iter().all(|k| !state.sessions.contains_key(k)));
        assert!(state.machines[other].sessions.is_empty());
    }

    #[test]
    fn reboot_deregisters_and_comes_back() {
        let (mut state, clock) = test_site();
        let t0 = clock.now();
        let m = find(&state, |s, m| {
            healthy_managed(s, m)
                && m.power == PowerState::On
                && m.registration == RegistrationState::Registered
        });
        let total = power(&mut state, m, PowerAction::Reboot, false, t0).expect("reboot");
        assert_eq!(
            state.machines[m].registration,
            RegistrationState::Unregistered
        );
        assert_eq!(
            state.machines[m].last_deregistration_reason,
            Some("DesktopRestart")
        );
        advance(&mut state, t0 + Duration::seconds(POWER_OFF_SECS));
        assert_eq!(state.machines[m].power, PowerState::TurningOn);
        advance(&mut state, t0 + Duration::seconds(total));
        assert_eq!(state.machines[m].power, PowerState::On);
        assert_eq!(
            state.machines[m].registration,
            RegistrationState::Registered
        );
    }

    #[test]
    fn nonsense_and_unsupported_actions_are_refused() {
        let (mut state, clock) = test_site();
        let t0 = clock.now();
        let on = find(&state, |s, m| {
            healthy_managed(s, m) && m.power == PowerState::On
        });
        assert!(power(&mut state, on, PowerAction::Start, false, t0).is_err());
        assert!(power(&mut state, on, PowerAction::Resume, false, t0).is_err());
        let unmanaged = find(&state, |_, m| m.power == PowerState::Unmanaged);
        let err =
            power(&mut state, unmanaged, PowerAction::Reboot, false, t0).expect_err("unmanaged");
        assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_machine_that_fails_to_start_falls_back_off() {
        let (mut state, clock) = test_site();
        let t0 = clock.now();
        let Some(m) = state
            .machines
            .iter()
            .position(|m| m.fault == FaultState::FailedToStart && m.power == PowerState::Off)
        else {
            // The seed drew no such machine; make one.
            let m = find(&state, |s, m| {
                healthy_managed(s, m) && m.power == PowerState::Off
            });
            state.machines[m].fault = FaultState::FailedToStart;
            power(&mut state, m, PowerAction::Start, false, t0).expect("start");
            advance(&mut state, t0 + Duration::seconds(POWER_ON_SECS));
            assert_eq!(state.machines[m].power, PowerState::Off);
            return;
        };
        power(&mut state, m, PowerAction::Start, false, t0).expect("start");
        advance(
            &mut state,
            t0 + Duration::seconds(POWER_ON_SECS + REGISTER_SECS),
        );
        assert_eq!(state.machines[m].power, PowerState::Off);
        assert_eq!(
            state.machines[m].registration,
            RegistrationState::Unregistered
        );
    }

    #[test]
    fn a_superseded_transition_is_ignored() {
        let (mut state, clock) = test_site();
        let t0 = clock.now();
        let m = find(&state, |s, m| {
            healthy_managed(s, m) && m.power == PowerState::On && m.sessions.is_empty()
        });
        power(&mut state, m, PowerAction::Suspend, false, t0).expect("suspend");
        advance(&mut state, t0 + Duration::seconds(SUSPEND_SECS));
        power(
            &mut state,
            m,
            PowerAction::Resume,
            false,
            t0 + Duration::seconds(SUSPEND_SECS),
        )
        .expect("resume");
        // A forced shutdown right after resuming overrides the resume's pending steps.
        advance(&mut state, t0 + Duration::seconds(SUSPEND_SECS * 2));
        power(
            &mut state,
            m,
            PowerAction::Shutdown,
            true,
            t0 + Duration::seconds(SUSPEND_SECS * 2),
        )
        .expect("shutdown");
        advance(&mut state, t0 + Duration::seconds(60));
        assert_eq!(state.machines[m].power, PowerState::Off);
        assert_eq!(
            state.machines[m].registration,
            RegistrationState::Unregistered
        );
    }
}
