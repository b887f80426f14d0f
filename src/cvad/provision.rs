//! Machines for users: assigning a static machine, provisioning one through MCS (and learning
//! which machine the job made), and deleting a machine from its catalog.
//!
//! Membership of delivery groups (`POST /DeliveryGroups/{g}/Machines`, `DELETE
//! /DeliveryGroups/{g}/Machines/{m}`) is in [`super::actions`].

use super::actions::AdminCredential;
use super::client::{CvadClient, JobRef};
use super::error::CvadError;
use super::jobs::Job;
use super::path::machine_path_name;
use super::transport::ApiRequest;
use super::wire::{AddCatalogMachineRequest, MachineAccountCreationRules, UpdateMachineRequest};
use crate::model::Machine;
use reqwest::Method;

/// What happens to the VM and its AD account when a machine is deleted (the API's
/// `deleteVm`, `purgeDBOnly` and `deleteAccount`); `None` leaves the site's default (delete
/// the VM, leave the account).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteMachineOptions {
    pub delete_vm: Option<bool>,
    /// Forget the machine without asking the hypervisor (when it cannot be reached).
    pub purge_db_only: Option<bool>,
    /// `Leave`, `None`, `Disable` or `Delete`.
    pub delete_account: Option<String>,
}

impl DeleteMachineOptions {
    fn apply(&self, mut request: ApiRequest) -> ApiRequest {
        if let Some(v) = self.delete_vm {
            request = request.query("deleteVm", v.to_string());
        }
        if let Some(v) = self.purge_db_only {
            request = request.query("purgeDBOnly", v.to_string());
        }
        if let Some(v) = &self.delete_account {
            request = request.query("deleteAccount", v.clone());
        }
        request
    }
}

/// The short name in `DOMAIN\NAME`, `DOMAIN|NAME` or `NAME`.
fn short(name: &str) -> &str {
    name.rsplit(['\\', '|']).next().unwrap_or(name)
}

/// The machine a finished `AddMachineCatalogMachine` job names: the `MachineName` of its
/// `request` parameter (the request as the site resolved it).
fn requested_machine_name(job: &Job) -> Option<String> {
    let request = job.parameter("request")?;
    let items: serde_json::Value = serde_json::from_str(request).ok()?;
    let first = match &items {
        serde_json::Value::Array(list) => list.first()?,
        other => other,
    };
    first
        .get("MachineName")?
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// The machine id in a `ResultLocation` ending `/Machines/{id}`.
fn machine_in_location(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next().unwrap_or(location);
    let (before, id) = path.trim_end_matches('/').rsplit_once('/')?;
    before
        .to_ascii_lowercase()
        .ends_with("/machines")
        .then(|| id.to_string())
        .filter(|id| !id.is_empty())
}

impl CvadClient {
    /// `PATCH /Machines/{m}` with `AssignedUsers`: the users a static machine belongs to; an
    /// empty list unassigns it.
    pub async fn set_machine_users(
        &self,
        machine: &str,
        users: &[String],
    ) -> Result<(), CvadError> {
        let update = UpdateMachineRequest {
            assigned_users: Some(users.to_vec()),
            ..Default::default()
        };
        self.update_machine(machine, &update).await
    }

    /// [`Self::set_machine_users`] as a job (`UpdateMachineCatalogMachine`).
    pub async fn set_machine_users_async(
        &self,
        machine: &str,
        users: &[String],
    ) -> Result<JobRef, CvadError> {
        let update = UpdateMachineRequest {
            assigned_users: Some(users.to_vec()),
            ..Default::default()
        };
        self.update_machine_async(machine, &update).await
    }

    /// Assigns a static machine to `user` as well as to whoever has it already; `false` (and
    /// nothing sent) when it already is.
    pub async fn assign_machine(&self, machine: &str, user: &str) -> Result<bool, CvadError> {
        let current = self.machine(machine).await?;
        if current.assigned_users.iter().any(|u| {
            u.eq_ignore_ascii_case(user.trim()) || short(u).eq_ignore_ascii_case(user.trim())
        }) {
            return Ok(false);
        }
        let mut users = current.assigned_users;
        users.push(user.trim().to_string());
        self.set_machine_users(machine, &users).await?;
        Ok(true)
    }

    /// Takes every user off a machine; `false` (and nothing sent) when it had none.
    pub async fn unassign_machine(&self, machine: &str) -> Result<bool, CvadError> {
        if self.machine(machine).await?.assigned_users.is_empty() {
            return Ok(false);
        }
        self.set_machine_users(machine, &[]).await?;
        Ok(true)
    }

    /// Starts MCS provisioning of one machine in `catalog`, named by `naming_scheme` (`#` for
    /// each digit: `VDI-####`) in AD `domain` (and `ou`), assigned to `users` (may be empty).
    /// The job is `AddMachineCatalogMachine`; once it completes,
    /// [`Self::provisioned_machine`] says which machine it made.
    pub async fn provision_machine(
        &self,
        catalog: &str,
        naming_scheme: &str,
        domain: &str,
        ou: Option<&str>,
        users: &[String],
        admin: &AdminCredential,
    ) -> Result<JobRef, CvadError> {
        let request = AddCatalogMachineRequest {
            assigned_users: users.to_vec(),
            machine_account_creation_rules: Some(MachineAccountCreationRules {
                naming_scheme: naming_scheme.to_string(),
                naming_scheme_type: "Numeric".to_string(),
                domain: domain.to_string(),
                ou: ou.map(str::to_string),
                next_value: None,
            }),
            ..Default::default()
        };
        self.add_catalog_machine(catalog, &request, admin).await
    }

    /// The machine a finished provisioning job made: the machine its `ResultLocation` points
    /// to, else the one its `request` parameter names. An error when the job did not complete
    /// or names no machine.
    pub async fn provisioned_machine(&self, job: &Job) -> Result<Machine, CvadError> {
        let unnamed = |detail: String| CvadError::Decode {
            site: self.site_name().to_string(),
            what: format!("job {} {}", job.job_type, job.id),
            detail,
        };
        if !job.succeeded() {
            return Err(unnamed(format!(
                "the job has not completed (status {:?})",
                job.status
            )));
        }
        if let Some(id) = job.result_location.as_deref().and_then(machine_in_location) {
            return self.machine(&id).await;
        }
        match requested_machine_name(job) {
            Some(name) => self.machine(&name).await,
            None => Err(unnamed(
                "it names no machine (no machine ResultLocation, no MachineName in its request)"
                    .to_string(),
            )),
        }
    }

    fn catalog_machine_request(
        &self,
        catalog: &str,
        machine: &str,
        options: &DeleteMachineOptions,
    ) -> ApiRequest {
        let name = machine_path_name(machine);
        options.apply(ApiRequest::new(
            Method::DELETE,
            &["MachineCatalogs", catalog, "Machines", &name],
        ))
    }

    /// `DELETE /MachineCatalogs/{c}/Machines/{m}`: deletes the machine from the site. The site
    /// refuses while the machine is in a delivery group or has sessions.
    pub async fn delete_catalog_machine(
        &self,
        catalog: &str,
        machine: &str,
        options: &DeleteMachineOptions,
    ) -> Result<(), CvadError> {
        let request = self.catalog_machine_request(catalog, machine, options);
        self.call(request).await.map(|_| ())
    }

    /// [`Self::delete_catalog_machine`] as a job (`DeleteMachine`).
    pub async fn delete_catalog_machine_async(
        &self,
        catalog: &str,
        machine: &str,
        options: &DeleteMachineOptions,
    ) -> Result<JobRef, CvadError> {
        let request = self.catalog_machine_request(catalog, machine, options);
        self.start_job(request).await
    }

    /// `DELETE /Machines/{m}?async=true` (`DeleteMachine`), for a machine whose catalog the
    /// caller does not know.
    pub async fn delete_machine_async(
        &self,
        machine: &str,
        options: &DeleteMachineOptions,
    ) -> Result<JobRef, CvadError> {
        let name = machine_path_name(machine);
        let request = options.apply(ApiRequest::new(Method::DELETE, &["Machines", &name]));
        self.start_job(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cvad::wire::JobStatus;

    fn job(parameters: Vec<(String, String)>, location: Option<&str>) -> Job {
        Job {
            id: "j".into(),
            job_type: "AddMachineCatalogMachine".into(),
            status: JobStatus::Complete,
            progress: Some(100),
            is_cancellable: false,
            parameters,
            sub_jobs: Vec::new(),
            error_string: None,
            error_code: None,
            error_parameters: Vec::new(),
            result_location: location.map(str::to_string),
            created: None,
            started: None,
            ended: None,
        }
    }

    #[test]
    fn the_new_machine_is_read_from_the_job() {
        let j = job(
            vec![
                ("NameOrId".into(), "LDN Win11 Persistent".into()),
                (
                    "request".into(),
                    r#"[{"MachineName":"LAB\\VDS-LDN-0042"}]"#.into(),
                ),
            ],
            None,
        );
        assert_eq!(
            requested_machine_name(&j).as_deref(),
            Some("LAB\\VDS-LDN-0042")
        );
        assert_eq!(requested_machine_name(&job(Vec::new(), None)), None);
        let bad = job(vec![("request".into(), "not json".into())], None);
        assert_eq!(requested_machine_name(&bad), None);
        assert_eq!(
            machine_in_location("https://h/cvad/manage/Machines/abc-1").as_deref(),
            Some("abc-1")
        );
        assert_eq!(
            machine_in_location("https://h/cvad/manage/MachineCatalogs/c1"),
            None
        );
    }

    #[test]
    fn delete_options_become_the_api_query() {
        let options = DeleteMachineOptions {
            delete_vm: Some(true),
            purge_db_only: None,
            delete_account: Some("Delete".into()),
        };
        let request = options.apply(ApiRequest::new(Method::DELETE, &["Machines", "LAB|X"]));
        assert_eq!(
            request.query,
            vec![
                ("deleteVm".to_string(), "true".to_string()),
                ("deleteAccount".to_string(), "Delete".to_string())
            ]
        );
    }
}
