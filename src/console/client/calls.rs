//! The log of API calls behind the console's `@` view: method, path, status or error, latency
//! and time of the last calls, in a bounded ring. Writers hold the lock for one push and the
//! view copies a snapshot, so reading it never waits on the network.
//!
//! Only what the client chooses to record goes in: no headers, no bodies, so no token and no
//! secret can reach it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How many calls the console keeps by default.
pub const DEFAULT_CAPACITY: usize = 500;

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// The adapter answered with this HTTP status.
    Status(u16),
    /// No answer: the reason (unreachable, timeout).
    Failed(String),
}

/// One HTTP call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecord {
    /// Increases by one per call, so a view can tell what is new.
    pub seq: u64,
    /// When the call started.
    pub at: DateTime<Utc>,
    pub method: &'static str,
    /// Path and query, without the adapter's address.
    pub path: String,
    pub outcome: CallOutcome,
    /// Until the whole answer was read (until the headers for the event stream).
    pub latency: Duration,
}

impl CallRecord {
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            CallOutcome::Status(s) => Some(s),
            CallOutcome::Failed(_) => None,
        }
    }
}

#[derive(Debug)]
struct Ring {
    entries: VecDeque<CallRecord>,
    capacity: usize,
    next_seq: u64,
}

/// Shared by every clone of the client and its event stream.
#[derive(Debug, Clone)]
pub struct CallLog {
    ring: Arc<Mutex<Ring>>,
}

impl Default for CallLog {
    fn default() -> Self {
        CallLog::new(DEFAULT_CAPACITY)
    }
}

impl CallLog {
    pub fn new(capacity: usize) -> CallLog {
        let capacity = capacity.max(1);
        CallLog {
            ring: Arc::new(Mutex::new(Ring {
                entries: VecDeque::with_capacity(capacity),
                capacity,
                next_seq: 1,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // A panic while pushing leaves a valid ring; the log is worth more than the poison.
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record(
        &self,
        at: DateTime<Utc>,
        method: &'static str,
        path: String,
        outcome: CallOutcome,
        latency: Duration,
    ) {
        let mut ring = self.lock();
        let seq = ring.next_seq;
        ring.next_seq += 1;
        if ring.entries.len() == ring.capacity {
            ring.entries.pop_front();
        }
        ring.entries.push_back(CallRecord {
            seq,
            at,
            method,
            path,
            outcome,
            latency,
        });
    }

    /// Every kept call, oldest first.
    pub fn snapshot(&self) -> Vec<CallRecord> {
        self.lock().entries.iter().cloned().collect()
    }

    /// The calls after `seq`, oldest first: what a view that saw `seq` has not shown yet.
    pub fn since(&self, seq: u64) -> Vec<CallRecord> {
        self.lock()
            .entries
            .iter()
            .filter(|c| c.seq > seq)
            .cloned()
            .collect()
    }

    /// The sequence number of the latest call (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.lock().next_seq - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_latest_calls() {
        let log = CallLog::new(3);
        for i in 0..5 {
            log.record(
                Utc::now(),
                "GET",
                format!("/api/v1/jobs/{i}"),
                CallOutcome::Status(200),
                Duration::from_millis(i),
            );
        }
        let kept: Vec<String> = log.snapshot().into_iter().map(|c| c.path).collect();
        assert_eq!(kept, ["/api/v1/jobs/2", "/api/v1/jobs/3", "/api/v1/jobs/4"]);
        assert_eq!(log.last_seq(), 5);
        assert_eq!(log.since(4).len(), 1);
    }
}
