//! CVAD state enums with the Orchestration API's value names, and the derived summary state.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares a CVAD enum whose serde form is the variant name, with `Unknown` as the catch-all
/// so that a value added by a newer CVAD release never breaks decoding.
macro_rules! cvad_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
        pub enum $name {
            $($variant,)+
            #[default]
            #[serde(other)]
            Unknown,
        }

        impl $name {
            /// Every variant, `Unknown` first.
            pub const ALL: &'static [$name] = &[$name::Unknown, $($name::$variant),+];

            /// The wire name of the value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $name::Unknown => "Unknown",
                    $($name::$variant => stringify!($variant)),+
                }
            }

            /// Parses a wire name, ignoring ASCII case; `None` when no variant has that name.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

cvad_enum!(
    /// A machine's power state as the hypervisor reports it.
    PowerState { Unmanaged, Unavailable, Off, On, Suspended, TurningOn, TurningOff, Suspending, Resuming, NotSupported, VirtualMachineNotFound }
);
cvad_enum!(
    /// Whether the VDA on a machine is registered with a controller.
    RegistrationState { Unregistered, Initializing, Registered, AgentError }
);
cvad_enum!(
    /// The one-word state Studio and Director show; derived, never stored (see [`summarize`]).
    SummaryState { Off, Unregistered, Available, Disconnected, InUse, Preparing }
);
cvad_enum!(
    /// Why a machine is considered faulty, if it is.
    FaultState { None, FailedToStart, StuckOnBoot, Unregistered, MaxCapacity, VirtualMachineNotFound }
);
cvad_enum!(
    /// Why a machine is in maintenance mode.
    MaintenanceModeReason { None, Administrator, MaxFailedRegistrations }
);
cvad_enum!(
    /// A power action a machine's hosting connection supports.
    SupportedPowerAction { PowerOn, PowerOff, SuspendResume, Restart, Reset, Shutdown }
);
cvad_enum!(
    /// Static (assigned to a user) or random (pooled) allocation of desktops.
    AllocationType { Static, Random }
);
cvad_enum!(
    /// Single-session (VDI) or multi-session (server OS) machines.
    SessionSupport { SingleSession, MultiSession }
);
cvad_enum!(
    /// How a catalog's machines were created.
    ProvisioningType { Manual, MCS, MCSImport, PVS, PVSStreaming }
);
cvad_enum!(
    /// A session's connection state (the REST API's four values).
    SessionState { Connected, Active, Disconnected }
);
cvad_enum!(
    /// Whether a session runs a full desktop or published applications.
    SessionType { Desktop, Application }
);
cvad_enum!(
    /// The application state of a session.
    AppState { PreLogon, PreLaunched, Active, Desktop, Lingering, NoApps }
);

/// Derives a machine's summary state the way the broker does: power first, then registration,
/// then the state of its sessions. Kept as one function so the lab, the adapter and the console
/// can never disagree about what "Available" means.
pub fn summarize(
    power: PowerState,
    registration: RegistrationState,
    sessions: impl IntoIterator<Item = SessionState>,
) -> SummaryState {
    match power {
        PowerState::Off | PowerState::Suspended => return SummaryState::Off,
        PowerState::TurningOn | PowerState::Resuming => return SummaryState::Preparing,
        _ => {}
    }
    match registration {
        RegistrationState::Registered => {}
        RegistrationState::Initializing => return SummaryState::Preparing,
        _ => return SummaryState::Unregistered,
    }
    let mut disconnected = false;
    for state in sessions {
        match state {
            SessionState::Active | SessionState::Connected => return SummaryState::InUse,
            SessionState::Disconnected => disconnected = true,
            SessionState::Unknown => {}
        }
    }
    if disconnected {
        SummaryState::Disconnected
    } else {
        SummaryState::Available
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_decode_to_unknown() {
        let v: PowerState = serde_json::from_str("\"Hibernating\"").expect("decodes");
        assert_eq!(v, PowerState::Unknown);
        let v: PowerState = serde_json::from_str("\"TurningOn\"").expect("decodes");
        assert_eq!(v, PowerState::TurningOn);
    }

    #[test]
    fn parse_ignores_case() {
        assert_eq!(SummaryState::parse("inuse"), Some(SummaryState::InUse));
        assert_eq!(SummaryState::parse("nope"), None);
    }

    #[test]
    fn summary_follows_power_registration_and_sessions() {
        use RegistrationState as R;
        use SessionState as S;
        assert_eq!(
            summarize(PowerState::Off, R::Unregistered, []),
            SummaryState::Off
        );
        assert_eq!(
            summarize(PowerState::On, R::Unregistered, []),
            SummaryState::Unregistered
        );
        assert_eq!(
            summarize(PowerState::On, R::Registered, []),
            SummaryState::Available
        );
        assert_eq!(
            summarize(PowerState::On, R::Registered, [S::Disconnected]),
            SummaryState::Disconnected
        );
        assert_eq!(
            summarize(PowerState::On, R::Registered, [S::Disconnected, S::Active]),
            SummaryState::InUse
        );
        assert_eq!(
            summarize(PowerState::TurningOn, R::Unregistered, []),
            SummaryState::Preparing
        );
    }
}
