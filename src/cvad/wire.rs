//! The CVAD REST API's JSON shapes (PascalCase resource models, lower-case error bodies).
//!
//! These are the wire format, shared by the client (which decodes them) and the lab (which
//! serves them). Field names follow the Orchestration API's models exactly; conversion into
//! [`crate::model`] types happens in [`super::convert`].

use crate::model::{
    AllocationType, AppState, FaultState, MaintenanceModeReason, PowerState, ProvisioningType,
    RegistrationState, SessionState, SessionSupport, SessionType, SummaryState,
    SupportedPowerAction,
};
use serde::{Deserialize, Serialize};

/// Token response of the Citrix Cloud trust service (`/cctrustoauth2/{customer}/tokens/clients`).
/// `expires_in` is a string of seconds on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloudTokenResponse {
    pub token_type: String,
    pub access_token: String,
    pub expires_in: String,
}

/// OAuth error body of the trust service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CloudTokenError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// Token response of an on-prem Delivery Controller (`/citrix/orchestration/api/tokens`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OnPremTokenResponse {
    pub token: String,
    #[serde(default)]
    pub principal: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub customer_id: Option<String>,
    /// RFC 3339 expiry time.
    pub expires_at: String,
}

/// A page of a collection. `TotalItems` is only returned by `$search`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Collection<T> {
    pub items: Vec<T>,
    #[serde(default)]
    pub continuation_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_items: Option<u64>,
}

/// The error body: lower-case keys, unlike every resource model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub parameters: Vec<ErrorParameter>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorParameter {
    pub name: String,
    pub value: String,
}

impl ErrorBody {
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }
}

/// `{Id, Name}` reference embedded in other models.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RefModel {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// `GET /me`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MeResponse {
    pub user_id: String,
    pub display_name: String,
    #[serde(default)]
    pub expiry_time: Option<String>,
    #[serde(default)]
    pub customers: Vec<MyCustomer>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MyCustomer {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub sites: Vec<RefModel>,
}

/// `GET /Sites/{nameOrId}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SiteDetail {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub primary_zone: Option<RefModel>,
    #[serde(default)]
    pub product_edition: Option<String>,
    #[serde(default)]
    pub product_version: Option<String>,
    #[serde(default)]
    pub licensing_model: Option<String>,
    #[serde(default)]
    pub licensed_sessions_active: Option<u32>,
}

/// `GET /Zones` item. Connectors are listed by the lab's extension field `Connectors`; the real
/// API reports health through `IsHealthy` only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ZoneResponse {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub is_primary: bool,
    #[serde(default)]
    pub is_healthy: bool,
    #[serde(default)]
    pub last_state_change_time_in_utc: Option<String>,
    #[serde(default)]
    pub resource_location: Option<RefModel>,
}

/// `GET /Machines` item (the fields deskbridge uses).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachineResponse {
    pub id: String,
    /// `DOMAIN\NAME`.
    pub name: String,
    #[serde(default)]
    pub dns_name: String,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub machine_catalog: Option<RefModel>,
    #[serde(default)]
    pub delivery_group: Option<RefModel>,
    #[serde(default)]
    pub zone: Option<RefModel>,
    #[serde(default)]
    pub agent_version: Option<String>,
    #[serde(default)]
    pub allocation_type: AllocationType,
    #[serde(default)]
    pub assigned_users: Vec<IdentityUser>,
    #[serde(default)]
    pub associated_users: Vec<IdentityUser>,
    #[serde(default)]
    pub is_assigned: bool,
    #[serde(default)]
    pub in_maintenance_mode: bool,
    #[serde(default)]
    pub maintenance_mode_reason: MaintenanceModeReason,
    #[serde(default, rename = "IPAddress")]
    pub ip_address: Option<String>,
    #[serde(default, rename = "OSType")]
    pub os_type: Option<String>,
    #[serde(default)]
    pub power_state: PowerState,
    #[serde(default)]
    pub power_action_pending: bool,
    #[serde(default)]
    pub supported_power_actions: Vec<SupportedPowerAction>,
    #[serde(default)]
    pub registration_state: RegistrationState,
    #[serde(default)]
    pub last_deregistration_reason: Option<String>,
    #[serde(default)]
    pub last_deregistration_time: Option<String>,
    #[serde(default)]
    pub fault_state: FaultState,
    #[serde(default)]
    pub summary_state: SummaryState,
    #[serde(default)]
    pub session_count: u32,
    #[serde(default)]
    pub session_support: SessionSupport,
    #[serde(default)]
    pub load_index: Option<u32>,
    #[serde(default)]
    pub provisioning_type: ProvisioningType,
    #[serde(default)]
    pub last_connection_time: Option<String>,
    #[serde(default)]
    pub formatted_last_connection_time: Option<String>,
}

/// `IdentityUserResponseModel`, the user as CVAD embeds it in sessions and machines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityUser {
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub sam_name: Option<String>,
    #[serde(default)]
    pub principal_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
}

/// `GET /Sessions` item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionResponse {
    pub id: String,
    #[serde(default)]
    pub user: Option<IdentityUser>,
    #[serde(default)]
    pub machine: Option<SessionMachine>,
    #[serde(default)]
    pub state: SessionState,
    #[serde(default)]
    pub session_type: SessionType,
    #[serde(default)]
    pub app_state: AppState,
    #[serde(default)]
    pub applications_in_use: Vec<RefModel>,
    #[serde(default)]
    pub client: Option<SessionClient>,
    #[serde(default)]
    pub connection: Option<SessionConnection>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub formatted_start_time: Option<String>,
    #[serde(default)]
    pub state_change_time: Option<String>,
    #[serde(default)]
    pub formatted_state_change_time: Option<String>,
    #[serde(default)]
    pub logon_in_progress: bool,
    #[serde(default)]
    pub logoff_in_progress: bool,
    #[serde(default)]
    pub is_hidden: bool,
}

/// The machine embedded in a session (a subset of the machine model).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionMachine {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub dns_name: String,
    #[serde(default)]
    pub delivery_group: Option<RefModel>,
    #[serde(default)]
    pub machine_catalog: Option<RefModel>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionClient {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, rename = "IPAddress")]
    pub ip_address: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionConnection {
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub connection_mode: Option<String>,
}

/// `GET /DeliveryGroups` item; the counters are derived from the machines by the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryGroupResponse {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub in_maintenance_mode: bool,
    #[serde(default)]
    pub session_support: SessionSupport,
    #[serde(default)]
    pub delivery_type: crate::model::DeliveryKind,
    #[serde(default)]
    pub sharing_kind: Option<String>,
    #[serde(default)]
    pub total_desktops: u32,
    #[serde(default)]
    pub desktops_available: u32,
    #[serde(default)]
    pub desktops_in_use: u32,
    #[serde(default)]
    pub desktops_disconnected: u32,
    #[serde(default)]
    pub desktops_faulted: u32,
    #[serde(default)]
    pub desktops_unregistered: u32,
    #[serde(default)]
    pub session_count: u32,
    #[serde(default)]
    pub total_applications: u32,
    #[serde(default)]
    pub is_power_managed: bool,
}

/// `GET /MachineCatalogs` item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachineCatalogResponse {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub allocation_type: AllocationType,
    #[serde(default)]
    pub provisioning_type: ProvisioningType,
    #[serde(default)]
    pub session_support: SessionSupport,
    #[serde(default)]
    pub zone: Option<RefModel>,
    #[serde(default)]
    pub total_count: u32,
    #[serde(default)]
    pub available_count: u32,
    #[serde(default)]
    pub used_count: u32,
    #[serde(default)]
    pub assigned_count: u32,
    #[serde(default)]
    pub unassigned_count: u32,
    #[serde(default)]
    pub is_power_managed: bool,
    #[serde(default)]
    pub provisioning_progress: Option<ProvisioningProgress>,
    #[serde(default)]
    pub provisioning_scheme: Option<ProvisioningSchemeSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisioningProgress {
    pub is_running: bool,
    #[serde(default)]
    pub progress: Option<u32>,
    #[serde(default)]
    pub progress_message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProvisioningSchemeSummary {
    #[serde(default)]
    pub naming_scheme: Option<String>,
    #[serde(default, rename = "OU")]
    pub ou: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
}

/// `GET /Applications` item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationResponse {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub published_name: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub delivery_groups: Vec<RefModel>,
    #[serde(default)]
    pub application_groups: Vec<RefModel>,
}

/// `GET /ApplicationGroups` item.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationGroupResponse {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub delivery_groups: Vec<RefModel>,
    #[serde(default)]
    pub included_users: Vec<IdentityUser>,
    #[serde(default)]
    pub total_applications: u32,
}

/// The status of an asynchronous job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum JobStatus {
    NotStarted,
    InProgress,
    Complete,
    CompleteWithWarning,
    Failed,
    Canceled,
    NonTerminatingError,
    #[default]
    #[serde(other)]
    Unknown,
}

impl JobStatus {
    /// Whether the job has stopped for good.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Complete
                | JobStatus::CompleteWithWarning
                | JobStatus::Failed
                | JobStatus::Canceled
        )
    }
}

/// `GET /Jobs/{id}` (`JobResponseModel`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobResponse {
    pub id: String,
    #[serde(rename = "Type")]
    pub job_type: String,
    #[serde(default)]
    pub overall_progress_percent: Option<u32>,
    #[serde(default)]
    pub is_cancellable: bool,
    #[serde(default)]
    pub parameters: Vec<NameValue>,
    #[serde(default)]
    pub sub_jobs: Vec<JobResponse>,
    #[serde(default)]
    pub status: JobStatus,
    #[serde(default)]
    pub result_location: Option<String>,
    #[serde(default)]
    pub error_string: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_parameters: Vec<NameValue>,
    #[serde(default)]
    pub creation_time: Option<String>,
    #[serde(default)]
    pub formatted_creation_time: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub formatted_start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
    #[serde(default)]
    pub formatted_end_time: Option<String>,
}

/// A `JobResponseModel` read for its state only: the fields left out (parameters, sub-jobs,
/// errors, times) are skipped by the decoder instead of allocated, which matters in a listing
/// of thousands of jobs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobStateResponse {
    pub id: String,
    #[serde(rename = "Type")]
    pub job_type: String,
    #[serde(default)]
    pub overall_progress_percent: Option<u32>,
    #[serde(default)]
    pub is_cancellable: bool,
    #[serde(default)]
    pub status: JobStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

/// `MachineAndSessionSearchRequestModel`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_search_string: Option<String>,
    #[serde(default)]
    pub search_filters: Vec<SearchFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_filter_groups_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_criteria: Option<SortCriteria>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SearchFilter {
    pub property: String,
    pub value: String,
    pub operator: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SortCriteria {
    pub property: String,
    /// `Ascending` or `Descending`.
    pub sort_direction: String,
}

/// `SendMessageRequestModel`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageRequest {
    /// Critical, Question, Exclamation or Information.
    pub style: String,
    pub title: String,
    pub text: String,
}

/// `UpdateMachineRequestModel`; `None` leaves a field unchanged.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateMachineRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_maintenance_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_users: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_name: Option<String>,
}

/// `AddMachineToMachineCatalogDetailRequestModel` (the parts MCS provisioning uses).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddCatalogMachineRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assigned_users: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_maintenance_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_account_creation_rules: Option<MachineAccountCreationRules>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_available_machine_account: Option<AvailableMachineAccount>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MachineAccountCreationRules {
    pub naming_scheme: String,
    /// None, Numeric, Alphabetic or Unicode.
    pub naming_scheme_type: String,
    pub domain: String,
    #[serde(rename = "OU", default)]
    pub ou: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_value: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AvailableMachineAccount {
    #[serde(rename = "ADAccountName")]
    pub ad_account_name: String,
    #[serde(default)]
    pub reset_password: bool,
}

/// `DeliveryGroupAddMachinesRequestModel`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryGroupAddMachinesRequest {
    pub machine_catalog: String,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assign_machines_to_users: Vec<AssignMachineToUsers>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AssignMachineToUsers {
    pub machine: String,
    #[serde(default)]
    pub users: Vec<String>,
}
