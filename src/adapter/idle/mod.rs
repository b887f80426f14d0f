//! Power off idle resources: machines of chosen delivery groups that are powered on, have no
//! session at all (none in any state, no logon in progress), are not in maintenance, have no
//! power action pending and have had no connection for longer than N minutes are shut down.
//!
//! - [`select`]: the rule applied to inventory snapshots, with a reason for every machine of
//!   the groups (why it would be shut down, or why not). Idleness is measured from the
//!   machine's `LastConnectionTime` (CVAD's own record; the lab moves it when sessions start
//!   and end) together with `SessionCount` and the site's session list. The inventory keeps
//!   no history of its own (each refresh replaces the site's data), so nothing else is used;
//!   a machine with no recorded connection is skipped, since how long it has been idle is not
//!   known.
//! - `POST /api/v1/power/idle` ([`crate::adapter::api::idle`]): a dry run previews, a real run
//!   (admin) refreshes the sites, selects again on that fresh data and creates one
//!   `machine.shutdown` job over the machines that still qualify, through the same path as
//!   `POST /api/v1/jobs`.
//! - [`schedule`]: `[[idle_power_off]]` rules of adapter.toml run every `every` by
//!   `deskbridge serve`, as the internal client `scheduler`.
//!
//! A machine that gets a session between the preview and the run is not shut down: the run
//! decides again on data read at that moment. Between the job's creation and its task acting
//! (normally well under a second) the task only checks that the machine is not already off;
//! a logon that starts in that window would be ended by the graceful shutdown. docs/idle.md
//! says so.

pub mod schedule;
pub mod select;

pub use schedule::{Scheduler, start_schedules};
pub use select::{Candidate, Rule, SelectError, Selection, SiteView, SkipCode, Skipped, select};
