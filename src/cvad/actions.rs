//! Changing the site: power, maintenance and assignment, session control, delivery-group
//! membership and MCS provisioning.
//!
//! Each action has a synchronous form (waits for the site's answer) and, where the site may take
//! long, an `_async` form that returns the [`JobRef`] to follow with
//! [`CvadClient::wait_job`].
//!
//! Which actions may be sent again after a failure that left their fate unknown (see
//! [`super::transport`]): those that set a state (power, maintenance, hide, disconnect,
//! logoff) may; those that create something or that a person would notice twice (add machines,
//! send a message) may not.

use super::client::{CvadClient, JobRef};
use super::convert;
use super::error::CvadError;
use super::path::machine_path_name;
use super::transport::ApiRequest;
use super::wire::{
    AddCatalogMachineRequest, DeliveryGroupAddMachinesRequest, MachineResponse, SendMessageRequest,
    UpdateMachineRequest,
};
use crate::model::{Machine, PowerAction};
use crate::secret::Secret;
use base64::Engine as _;
use reqwest::Method;
use reqwest::header::{HeaderName, HeaderValue};

/// The style of a message box sent to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStyle {
    Critical,
    Question,
    Exclamation,
    Information,
}

impl MessageStyle {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStyle::Critical => "Critical",
            MessageStyle::Question => "Question",
            MessageStyle::Exclamation => "Exclamation",
            MessageStyle::Information => "Information",
        }
    }
}

/// An Active Directory account allowed to create machine accounts, sent as
/// `X-AdminCredential: Basic base64(user:password)`.
#[derive(Debug, Clone)]
pub struct AdminCredential {
    /// `DOMAIN\user` or a UPN.
    pub username: String,
    pub password: Secret,
}

impl AdminCredential {
    fn header(&self) -> Option<(HeaderName, HeaderValue)> {
        let raw = format!("{}:{}", self.username, self.password.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
        value.set_sensitive(true);
        Some((HeaderName::from_static("x-admincredential"), value))
    }
}

fn machine_request(method: Method, machine: &str, action: Option<&str>) -> ApiRequest {
    let name = machine_path_name(machine);
    let mut segments = vec!["Machines", name.as_str()];
    segments.extend(action);
    ApiRequest::new(method, &segments)
}

fn power_request(machine: &str, action: PowerAction, force: bool) -> ApiRequest {
    let mut request = machine_request(Method::POST, machine, Some(action.verb()));
    // Asking for a power state twice leaves it the same.
    request.replayable = true;
    if force && action.accepts_force() {
        request = request.query("force", "true");
    }
    request
}

/// A state-setting action (idempotent, so safe to resend).
fn replayable(mut request: ApiRequest) -> ApiRequest {
    request.replayable = true;
    request
}

impl CvadClient {
    /// Runs a call and ignores its body.
    async fn act(&self, request: ApiRequest) -> Result<(), CvadError> {
        self.call(request).await.map(|_| ())
    }

    /// `POST /Machines/{m}/$start|$shutdown|$reboot|$suspend|$resume`, waiting for the site;
    /// `force` turns shutdown into power-off and reboot into reset (ignored for the others).
    /// Returns the machine as the site describes it afterwards.
    pub async fn power(
        &self,
        machine: &str,
        action: PowerAction,
        force: bool,
    ) -> Result<Machine, CvadError> {
        let request = power_request(machine, action, force).query("detailResponseRequired", "true");
        let what = request.describe();
        let response = self.call(request).await?;
        if response.raw.body.iter().all(u8::is_ascii_whitespace) {
            // Some versions answer 204; read the machine instead.
            return self.machine(machine).await;
        }
        let wire: MachineResponse = self.decode(&what, &response)?;
        Ok(convert::machine(wire))
    }

    /// The power action as a job (`StartMachines`, `ShutDownMachines`, …).
    pub async fn power_async(
        &self,
        machine: &str,
        action: PowerAction,
        force: bool,
    ) -> Result<JobRef, CvadError> {
        self.start_job(power_request(machine, action, force)).await
    }

    /// `PATCH /Machines/{m}`: maintenance mode, assigned users, published name.
    pub async fn update_machine(
        &self,
        machine: &str,
        update: &UpdateMachineRequest,
    ) -> Result<(), CvadError> {
        let request = self.with_body(machine_request(Method::PATCH, machine, None), update)?;
        self.act(request).await
    }

    /// [`Self::update_machine`] as a job (`UpdateMachineCatalogMachine`).
    pub async fn update_machine_async(
        &self,
        machine: &str,
        update: &UpdateMachineRequest,
    ) -> Result<JobRef, CvadError> {
        let request = self.with_body(machine_request(Method::PATCH, machine, None), update)?;
        self.start_job(request).await
    }

    /// Turns maintenance mode on or off.
    pub async fn set_maintenance_mode(&self, machine: &str, on: bool) -> Result<(), CvadError> {
        let update = UpdateMachineRequest {
            in_maintenance_mode: Some(on),
            ..Default::default()
        };
        self.update_machine(machine, &update).await
    }

    /// `POST /Machines/{m}/$logoff`: logs off every session on the machine.
    pub async fn logoff_machine_sessions(&self, machine: &str) -> Result<(), CvadError> {
        self.act(replayable(machine_request(
            Method::POST,
            machine,
            Some("$logoff"),
        )))
        .await
    }

    pub async fn logoff_machine_sessions_async(&self, machine: &str) -> Result<JobRef, CvadError> {
        self.start_job(replayable(machine_request(
            Method::POST,
            machine,
            Some("$logoff"),
        )))
        .await
    }

    /// `POST /Machines/{m}/$disconnect`: disconnects every session on the machine.
    pub async fn disconnect_machine_sessions(&self, machine: &str) -> Result<(), CvadError> {
        self.act(replayable(machine_request(
            Method::POST,
            machine,
            Some("$disconnect"),
        )))
        .await
    }

    pub async fn disconnect_machine_sessions_async(
        &self,
        machine: &str,
    ) -> Result<JobRef, CvadError> {
        self.start_job(replayable(machine_request(
            Method::POST,
            machine,
            Some("$disconnect"),
        )))
        .await
    }

    /// `POST /Sessions/{id}/$logoff` (what the ITSM world calls "reset session").
    pub async fn logoff(&self, session: &str) -> Result<(), CvadError> {
        self.act(replayable(ApiRequest::new(
            Method::POST,
            &["Sessions", session, "$logoff"],
        )))
        .await
    }

    pub async fn logoff_async(&self, session: &str) -> Result<JobRef, CvadError> {
        self.start_job(replayable(ApiRequest::new(
            Method::POST,
            &["Sessions", session, "$logoff"],
        )))
        .await
    }

    /// `POST /Sessions/{id}/$disconnect`.
    pub async fn disconnect(&self, session: &str) -> Result<(), CvadError> {
        self.act(replayable(ApiRequest::new(
            Method::POST,
            &["Sessions", session, "$disconnect"],
        )))
        .await
    }

    pub async fn disconnect_async(&self, session: &str) -> Result<JobRef, CvadError> {
        self.start_job(replayable(ApiRequest::new(
            Method::POST,
            &["Sessions", session, "$disconnect"],
        )))
        .await
    }

    /// `POST /Sessions/{id}/$sendMessage`. Not resent after an unclear failure: the user would
    /// read it twice.
    pub async fn send_message(
        &self,
        session: &str,
        style: MessageStyle,
        title: &str,
        text: &str,
    ) -> Result<(), CvadError> {
        let body = SendMessageRequest {
            style: style.as_str().to_string(),
            title: title.to_string(),
            text: text.to_string(),
        };
        let request = ApiRequest::new(Method::POST, &["Sessions", session, "$sendMessage"]);
        self.act(self.with_body(request, &body)?).await
    }

    /// `POST /Sessions/{id}/$hide`: the session will not be reconnected to.
    pub async fn hide_session(&self, session: &str) -> Result<(), CvadError> {
        self.act(replayable(ApiRequest::new(
            Method::POST,
            &["Sessions", session, "$hide"],
        )))
        .await
    }

    /// `POST /Sessions/{id}/$unhide`.
    pub async fn unhide_session(&self, session: &str) -> Result<(), CvadError> {
        self.act(replayable(ApiRequest::new(
            Method::POST,
            &["Sessions", session, "$unhide"],
        )))
        .await
    }

    /// `POST /DeliveryGroups/{id}/Machines`: adds machines from a catalog (and optionally
    /// assigns them to users), waiting for the site.
    pub async fn add_machines_to_delivery_group(
        &self,
        delivery_group: &str,
        request: &DeliveryGroupAddMachinesRequest,
    ) -> Result<(), CvadError> {
        let call = ApiRequest::new(
            Method::POST,
            &["DeliveryGroups", delivery_group, "Machines"],
        );
        self.act(self.with_body(call, request)?).await
    }

    /// [`Self::add_machines_to_delivery_group`] as a job (`AddDeliveryGroupMachines`).
    pub async fn add_machines_to_delivery_group_async(
        &self,
        delivery_group: &str,
        request: &DeliveryGroupAddMachinesRequest,
    ) -> Result<JobRef, CvadError> {
        let call = ApiRequest::new(
            Method::POST,
            &["DeliveryGroups", delivery_group, "Machines"],
        );
        self.start_job(self.with_body(call, request)?).await
    }

    /// `DELETE /DeliveryGroups/{id}/Machines/{machine}`.
    pub async fn remove_machine_from_delivery_group(
        &self,
        delivery_group: &str,
        machine: &str,
    ) -> Result<(), CvadError> {
        let name = machine_path_name(machine);
        let call = ApiRequest::new(
            Method::DELETE,
            &["DeliveryGroups", delivery_group, "Machines", &name],
        );
        self.act(call).await
    }

    /// [`Self::remove_machine_from_delivery_group`] as a job (`RemoveDeliveryGroupMachines`).
    pub async fn remove_machine_from_delivery_group_async(
        &self,
        delivery_group: &str,
        machine: &str,
    ) -> Result<JobRef, CvadError> {
        let name = machine_path_name(machine);
        let call = ApiRequest::new(
            Method::DELETE,
            &["DeliveryGroups", delivery_group, "Machines", &name],
        );
        self.start_job(call).await
    }

    /// `POST /MachineCatalogs/{id}/Machines?async=true`: provisions one machine (MCS) with
    /// the AD account given by the request's creation rules or available account. Always a job
    /// (`AddMachineCatalogMachine`): provisioning takes minutes.
    pub async fn add_catalog_machine(
        &self,
        catalog: &str,
        request: &AddCatalogMachineRequest,
        admin: &AdminCredential,
    ) -> Result<JobRef, CvadError> {
        let mut call = self.with_body(
            ApiRequest::new(Method::POST, &["MachineCatalogs", catalog, "Machines"]),
            request,
        )?;
        match admin.header() {
            Some(header) => call.headers.push(header),
            None => {
                return Err(CvadError::Config {
                    site: self.site_name().to_string(),
                    detail: "the admin credential contains characters an HTTP header cannot carry"
                        .into(),
                });
            }
        }
        self.start_job(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_credential_header_is_basic_and_sensitive() {
        let admin = AdminCredential {
            username: "LAB\\svc".into(),
            password: Secret::new("p@ss"),
        };
        let (name, value) = admin.header().expect("valid header");
        assert_eq!(name.as_str(), "x-admincredential");
        assert!(value.is_sensitive());
        assert_eq!(value.to_str().expect("ascii"), "Basic TEFCXHN2YzpwQHNz");
        assert!(!format!("{admin:?}").contains("p@ss"));
    }

    #[test]
    fn power_requests_use_the_pipe_form_and_force_only_where_it_exists() {
        let reboot = power_request("LAB\\VDI-001", PowerAction::Reboot, true);
        assert_eq!(reboot.segments, vec!["Machines", "LAB|VDI-001", "$reboot"]);
        assert_eq!(
            reboot.query,
            vec![("force".to_string(), "true".to_string())]
        );
        assert!(reboot.replayable);
        let start = power_request("LAB\\VDI-001", PowerAction::Start, true);
        assert!(start.query.is_empty());
    }
}
