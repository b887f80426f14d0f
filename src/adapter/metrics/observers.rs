//! The metrics side of the observer hooks: CVAD and ServiceNow exchanges, task attempts.

use super::{Attempt, InstanceCall, Metrics, SiteCall};
use crate::adapter::engine::{AttemptObserver, AttemptRecord};
use crate::observe::{CallObserver, CallRecord};

/// Counts CVAD exchanges under `site`.
pub(super) struct Cvad(pub(super) Metrics);

/// Counts ServiceNow exchanges under `instance`.
pub(super) struct ServiceNow(pub(super) Metrics);

/// Times task attempts.
pub(super) struct Attempts(pub(super) Metrics);

impl CallObserver for Cvad {
    fn call_ended(&self, call: &CallRecord<'_>) {
        let f = self.0.families();
        let labels = SiteCall {
            site: call.target.to_owned(),
            outcome: call.outcome.class(),
        };
        f.cvad_calls.get_or_create(&labels).inc();
        f.cvad_latency
            .get_or_create(&labels)
            .observe(call.elapsed.as_secs_f64());
    }
}

impl CallObserver for ServiceNow {
    fn call_ended(&self, call: &CallRecord<'_>) {
        let f = self.0.families();
        let labels = InstanceCall {
            instance: call.target.to_owned(),
            outcome: call.outcome.class(),
        };
        f.servicenow_calls.get_or_create(&labels).inc();
        f.servicenow_latency
            .get_or_create(&labels)
            .observe(call.elapsed.as_secs_f64());
    }
}

impl AttemptObserver for Attempts {
    fn attempt_ended(&self, attempt: &AttemptRecord<'_>) {
        self.0
            .families()
            .attempts
            .get_or_create(&Attempt {
                action: attempt.action.to_owned(),
                outcome: attempt.end.as_str(),
            })
            .observe(attempt.elapsed.as_secs_f64());
    }
}
