//! Delivery groups, machine catalogs, applications and application groups.

use super::enums::{AllocationType, ProvisioningType, SessionSupport};
use super::machine::Ref;
use serde::{Deserialize, Serialize};

/// What a delivery group publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum DeliveryKind {
    DesktopsOnly,
    DesktopsAndApps,
    AppsOnly,
    #[default]
    #[serde(other)]
    Unknown,
}

/// The machine counters a delivery group reports; derived from its machines, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryGroupCounters {
    pub total_desktops: u32,
    pub available: u32,
    pub in_use: u32,
    pub disconnected: u32,
    pub unregistered: u32,
    pub faulted: u32,
    pub sessions: u32,
}

/// A delivery group: machines published to users as desktops and/or applications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub in_maintenance_mode: bool,
    pub session_support: SessionSupport,
    pub delivery_type: DeliveryKind,
    pub allocation_type: AllocationType,
    pub counters: DeliveryGroupCounters,
    pub total_applications: u32,
}

/// A machine catalog: a set of machines created the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineCatalog {
    pub id: String,
    pub name: String,
    pub allocation_type: AllocationType,
    pub provisioning_type: ProvisioningType,
    pub session_support: SessionSupport,
    pub zone: Option<Ref>,
    pub total_count: u32,
    pub available_count: u32,
    pub assigned_count: u32,
    pub naming_scheme: Option<String>,
}

/// A published application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub published_name: String,
    pub enabled: bool,
    pub delivery_groups: Vec<Ref>,
    pub application_groups: Vec<Ref>,
}

/// An application group: applications entitled to users together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppGroup {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub delivery_groups: Vec<Ref>,
    pub included_users: Vec<String>,
    pub total_applications: u32,
}
