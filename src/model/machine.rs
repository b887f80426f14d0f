//! Machines (VDAs) and the power actions that can be asked of them.

use super::enums::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A reference to another object by id and display name, as CVAD embeds them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Ref {
    pub id: String,
    pub name: String,
}

/// One machine of a site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub id: String,
    /// `DOMAIN\NAME`.
    pub name: String,
    pub dns_name: String,
    pub catalog: Option<Ref>,
    pub delivery_group: Option<Ref>,
    pub zone: Option<Ref>,
    pub allocation_type: AllocationType,
    pub session_support: SessionSupport,
    pub provisioning_type: ProvisioningType,
    /// `DOMAIN\user` names of the users a static machine is assigned to.
    pub assigned_users: Vec<String>,
    pub in_maintenance_mode: bool,
    pub maintenance_mode_reason: MaintenanceModeReason,
    pub power_state: PowerState,
    pub power_action_pending: bool,
    pub registration_state: RegistrationState,
    pub fault_state: FaultState,
    pub summary_state: SummaryState,
    pub session_count: u32,
    pub supported_power_actions: Vec<SupportedPowerAction>,
    pub last_deregistration_reason: Option<String>,
    pub os_type: String,
    pub ip_address: Option<String>,
    pub load_index: Option<u32>,
    /// `LastConnectionTime`: the last time a user connected to (or, as the lab reports it,
    /// ended) a session on the machine; `None` when no connection is recorded. What power-off
    /// of idle machines measures idleness from (src/adapter/idle).
    #[serde(default)]
    pub last_connection_time: Option<DateTime<Utc>>,
}

impl Machine {
    /// The `DOMAIN|NAME` form CVAD wants in URL paths.
    pub fn path_name(&self) -> String {
        self.name.replace('\\', "|")
    }
}

/// A power action as the REST API names it: `$start`, `$shutdown`, `$reboot`, `$suspend`, `$resume`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerAction {
    Start,
    Shutdown,
    Reboot,
    Suspend,
    Resume,
}

impl PowerAction {
    pub const ALL: [PowerAction; 5] = [
        PowerAction::Start,
        PowerAction::Shutdown,
        PowerAction::Reboot,
        PowerAction::Suspend,
        PowerAction::Resume,
    ];

    /// The `$action` path segment.
    pub fn verb(self) -> &'static str {
        match self {
            PowerAction::Start => "$start",
            PowerAction::Shutdown => "$shutdown",
            PowerAction::Reboot => "$reboot",
            PowerAction::Suspend => "$suspend",
            PowerAction::Resume => "$resume",
        }
    }

    /// The CVAD job type a call with `async=true` creates.
    pub fn job_type(self) -> &'static str {
        match self {
            PowerAction::Start => "StartMachines",
            PowerAction::Shutdown => "ShutDownMachines",
            PowerAction::Reboot => "RebootMachines",
            PowerAction::Suspend => "SuspendMachines",
            PowerAction::Resume => "ResumeMachines",
        }
    }

    /// Whether the action accepts `force` (only shutdown and reboot do).
    pub fn accepts_force(self) -> bool {
        matches!(self, PowerAction::Shutdown | PowerAction::Reboot)
    }

    /// The supported-power-action a hosting connection must offer for this action.
    pub fn requires(self, force: bool) -> SupportedPowerAction {
        match (self, force) {
            (PowerAction::Start, _) => SupportedPowerAction::PowerOn,
            (PowerAction::Shutdown, false) => SupportedPowerAction::Shutdown,
            (PowerAction::Shutdown, true) => SupportedPowerAction::PowerOff,
            (PowerAction::Reboot, false) => SupportedPowerAction::Restart,
            (PowerAction::Reboot, true) => SupportedPowerAction::Reset,
            (PowerAction::Suspend | PowerAction::Resume, _) => SupportedPowerAction::SuspendResume,
        }
    }

    /// Parses `start`, `$start`, `shutdown`… as typed by a person or found in a URL.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim_start_matches('$');
        Self::ALL
            .into_iter()
            .find(|a| a.verb()[1..].eq_ignore_ascii_case(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_action_names_round_trip() {
        for action in PowerAction::ALL {
            assert_eq!(PowerAction::parse(action.verb()), Some(action));
        }
        assert_eq!(PowerAction::parse("REBOOT"), Some(PowerAction::Reboot));
        assert_eq!(PowerAction::parse("explode"), None);
    }
}
