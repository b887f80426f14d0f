//! Multi-step workflows: desktop and app requests, onboarding and offboarding. Each is a job
//! whose one task per person runs a plan of steps ([`plan`]) in the engine's `workflow` lane
//! ([`crate::adapter::engine::workflow`]); every step's state is stored as it moves
//! ([`crate::adapter::store::StepStore`]), so a failure lists the steps done, leaves the
//! ticket open, and "retry" continues from the failed step without repeating a done one.
//!
//! - [`params`]: what a request names (the beneficiary is the job's target, the requester may
//!   be someone else) and the resources routing chose for the beneficiary, stored with the job
//!   so the plan the preview showed is the plan that runs.
//! - [`plan`]: the steps of each workflow, a pure function of the stored parameters.
//! - [`steps`]: what each step does at a site or directory, checking before acting.
//!
//! A runbook run ([`crate::adapter::runbooks`]) is a workflow too: its task is the runbook,
//! each runbook step one workflow step that selects its targets live and runs them as a child
//! job through the adapter's own job submission.

pub mod params;
pub mod plan;
pub mod steps;

use serde::{Deserialize, Serialize};

/// The lane workflow tasks run in (the tasks' `site` column): a workflow spans sites and a
/// directory, and each of its CVAD calls still takes a slot of the site it calls.
pub const LANE: &str = "workflow";

/// The `site` of a runbook run's target (`{"site": "runbook", "id": NAME}`).
pub const RUNBOOK_SITE: &str = "runbook";

/// The workflows, by the action names jobs use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkflowKind {
    /// Entitle the user to the routed pooled (shared) desktop.
    PooledDesktop,
    /// Assign a free machine of the routed static group, provisioning one if none is free.
    PersistentDesktop,
    /// Entitle the user to the routed application groups.
    Apps,
    /// Create the account, add its groups, entitle its routed resources.
    Onboard,
    /// Log off, remove entitlements, disable the account, release dedicated machines.
    Offboard,
    /// An administrator's runbook ([`crate::adapter::runbooks`]): each step one child job.
    Runbook,
}

impl WorkflowKind {
    pub const ALL: [WorkflowKind; 6] = [
        WorkflowKind::PooledDesktop,
        WorkflowKind::PersistentDesktop,
        WorkflowKind::Apps,
        WorkflowKind::Onboard,
        WorkflowKind::Offboard,
        WorkflowKind::Runbook,
    ];

    /// The job action that runs it.
    pub fn action(self) -> &'static str {
        match self {
            WorkflowKind::PooledDesktop => "request.pooled_desktop",
            WorkflowKind::PersistentDesktop => "request.persistent_desktop",
            WorkflowKind::Apps => "request.apps",
            WorkflowKind::Onboard => "user.onboard",
            WorkflowKind::Offboard => "user.offboard",
            WorkflowKind::Runbook => "runbook.run",
        }
    }

    pub fn from_action(action: &str) -> Option<WorkflowKind> {
        WorkflowKind::ALL.into_iter().find(|k| k.action() == action)
    }

    /// Whether the beneficiary's resources come from the routing rules.
    pub fn is_routed(self) -> bool {
        !matches!(self, WorkflowKind::Offboard | WorkflowKind::Runbook)
    }
}
