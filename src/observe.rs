//! The hook through which the CVAD and ServiceNow clients report every HTTP exchange they make,
//! so the adapter can count them (`/metrics`) while the clients stay free of any metrics crate.

use std::time::Duration;

/// Told about each HTTP exchange a client makes. Install one with
/// [`crate::cvad::CvadConfig::with_observer`] or
/// [`crate::servicenow::ServiceNowConfig::with_observer`].
pub trait CallObserver: Send + Sync {
    /// Called once per exchange, after its answer (or failure) is known. It runs on the
    /// request path, so it must be quick and must not block.
    fn call_ended(&self, call: &CallRecord<'_>);
}

// Configs that hold an observer derive `Debug`; an observer has nothing worth printing.
impl std::fmt::Debug for dyn CallObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallObserver")
    }
}

/// One HTTP exchange as the observer sees it. It carries no URL, header or body, so no
/// credential can reach an observer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRecord<'a> {
    /// The site (CVAD) or instance (ServiceNow) name, as configured.
    pub target: &'a str,
    /// The HTTP method (`GET`, `POST`, …).
    pub method: &'a str,
    pub outcome: CallOutcome,
    /// From sending the request to reading the whole answer (or giving up).
    pub elapsed: Duration,
}

/// How an exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// An answer with this status.
    Status(u16),
    /// No (complete) answer within the client's timeout.
    Timeout,
    /// No connection could be made.
    Unreachable,
    /// The connection broke after it was made (reset, truncated body).
    Failed,
}

impl CallOutcome {
    /// The label used for counting: `2xx`…`5xx` for answers, else `timeout`, `unreachable` or
    /// `error`. Few values on purpose: one time series per value and target.
    pub fn class(self) -> &'static str {
        match self {
            CallOutcome::Status(100..=199) => "1xx",
            CallOutcome::Status(200..=299) => "2xx",
            CallOutcome::Status(300..=399) => "3xx",
            CallOutcome::Status(400..=499) => "4xx",
            CallOutcome::Status(500..=599) => "5xx",
            CallOutcome::Status(_) | CallOutcome::Failed => "error",
            CallOutcome::Timeout => "timeout",
            CallOutcome::Unreachable => "unreachable",
        }
    }

    /// The outcome of a failed `reqwest` exchange.
    pub fn of_error(err: &reqwest::Error) -> CallOutcome {
        if err.is_timeout() {
            CallOutcome::Timeout
        } else if err.is_connect() {
            CallOutcome::Unreachable
        } else {
            CallOutcome::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_fall_into_their_class() {
        assert_eq!(CallOutcome::Status(204).class(), "2xx");
        assert_eq!(CallOutcome::Status(404).class(), "4xx");
        assert_eq!(CallOutcome::Status(503).class(), "5xx");
        assert_eq!(CallOutcome::Status(999).class(), "error");
        assert_eq!(CallOutcome::Timeout.class(), "timeout");
        assert_eq!(CallOutcome::Unreachable.class(), "unreachable");
    }
}
