//! The simulated CVAD sites over real HTTP with raw `reqwest`: wire names, errors, auth,
//! paging with failover, power transitions, jobs, connector outages and faults. Speed targets
//! are benchmarks (`benches/lab_sessions.rs`), not tests.

mod auth;
mod discovery;
mod errors;
mod faults;
mod helpers;
mod outage;
mod paging;
mod power;
mod provisioning;
mod sessions;
