//! Domain types shared by every layer: sites, machines, sessions, users, tickets. No I/O here.
//!
//! Enum variants carry the real products' names (CVAD's PascalCase values, ServiceNow's numeric
//! state codes) so that the edges convert without lookup tables, while the structs use Rust names.

mod catalog;
mod enums;
mod machine;
mod role;
mod session;
mod site;
mod ticket;
mod user;

pub use catalog::{
    AppGroup, Application, DeliveryGroup, DeliveryGroupCounters, DeliveryKind, MachineCatalog,
};
pub use enums::{
    AllocationType, AppState, FaultState, MaintenanceModeReason, PowerState, ProvisioningType,
    RegistrationState, SessionState, SessionSupport, SessionType, SummaryState,
    SupportedPowerAction, summarize,
};
pub use machine::{Machine, PowerAction, Ref};
pub use role::Role;
pub use session::Session;
pub use site::{Connector, ConnectorHealth, Site, SiteKind, Zone};
pub use ticket::{
    CatalogVariable, IncidentState, JournalEntry, Priority, TaskState, Ticket, TicketKind,
    TicketState,
};
pub use user::User;
