//! The steps of each workflow: a pure function of the job's stored parameters, so the preview
//! an operator confirmed is what runs, and a resumed task finds the same plan it started.

use serde::{Deserialize, Serialize};

use super::WorkflowKind;
use super::params::{DedicatedMachines, Include, PooledDesktop, Resources, WorkflowParams};

/// One step. Steps that need a machine take it from an earlier step's output (`machine`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Step {
    #[serde(rename = "account.create")]
    AccountCreate,
    #[serde(rename = "account.group_add")]
    GroupAdd { group: String },
    #[serde(rename = "account.disable")]
    AccountDisable,
    #[serde(rename = "cvad.entitle_delivery_group")]
    EntitleDeliveryGroup {
        site: String,
        delivery_group: String,
    },
    #[serde(rename = "cvad.entitle_application_group")]
    EntitleApplicationGroup {
        site: String,
        application_group: String,
    },
    /// Find a machine of the static group already assigned to the user, or a free one.
    #[serde(rename = "cvad.pick_machine")]
    PickMachine {
        site: String,
        delivery_group: String,
    },
    /// Create a machine through MCS when the pick found none.
    #[serde(rename = "cvad.provision_machine")]
    ProvisionMachine {
        site: String,
        catalog: String,
        naming: Option<String>,
    },
    #[serde(rename = "cvad.add_to_delivery_group")]
    AddToDeliveryGroup {
        site: String,
        delivery_group: String,
    },
    #[serde(rename = "cvad.assign_machine")]
    AssignMachine { site: String },
    #[serde(rename = "cvad.power_on")]
    PowerOn { site: String },
    #[serde(rename = "cvad.wait_registered")]
    WaitRegistered { site: String },
    /// Every session of the user at every site.
    #[serde(rename = "cvad.logoff_sessions")]
    LogoffSessions,
    /// Every delivery group and application group that lists the user, at every site.
    #[serde(rename = "cvad.remove_entitlements")]
    RemoveEntitlements,
    /// Every machine assigned to the user, at every site.
    #[serde(rename = "cvad.release_machines")]
    ReleaseMachines { delete: bool },
    /// Step `index` of the run's runbook: its targets selected live, run as one child job.
    #[serde(rename = "runbook.step")]
    Runbook {
        index: usize,
        name: String,
        title: String,
    },
}

impl Step {
    /// The kind as stored with the step (`account.create`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Step::AccountCreate => "account.create",
            Step::GroupAdd { .. } => "account.group_add",
            Step::AccountDisable => "account.disable",
            Step::EntitleDeliveryGroup { .. } => "cvad.entitle_delivery_group",
            Step::EntitleApplicationGroup { .. } => "cvad.entitle_application_group",
            Step::PickMachine { .. } => "cvad.pick_machine",
            Step::ProvisionMachine { .. } => "cvad.provision_machine",
            Step::AddToDeliveryGroup { .. } => "cvad.add_to_delivery_group",
            Step::AssignMachine { .. } => "cvad.assign_machine",
            Step::PowerOn { .. } => "cvad.power_on",
            Step::WaitRegistered { .. } => "cvad.wait_registered",
            Step::LogoffSessions => "cvad.logoff_sessions",
            Step::RemoveEntitlements => "cvad.remove_entitlements",
            Step::ReleaseMachines { .. } => "cvad.release_machines",
            Step::Runbook { .. } => "runbook.step",
        }
    }

    /// What the step does, for a person, about `user` (`DOMAIN\sam`).
    pub fn title(&self, user: &str) -> String {
        match self {
            Step::AccountCreate => format!("Create account {user}"),
            Step::GroupAdd { group } => format!("Add {user} to group {group}"),
            Step::AccountDisable => format!("Disable account {user}"),
            Step::EntitleDeliveryGroup {
                site,
                delivery_group,
            } => format!("Entitle {user} to delivery group {delivery_group} at {site}"),
            Step::EntitleApplicationGroup {
                site,
                application_group,
            } => format!("Entitle {user} to application group {application_group} at {site}"),
            Step::PickMachine {
                site,
                delivery_group,
            } => format!("Find a free machine in {delivery_group} at {site}"),
            Step::ProvisionMachine { site, catalog, .. } => {
                format!("Provision a machine in catalog {catalog} at {site} if none was free")
            }
            Step::AddToDeliveryGroup {
                site,
                delivery_group,
            } => format!("Add the machine to delivery group {delivery_group} at {site}"),
            Step::AssignMachine { site } => format!("Assign the machine to {user} at {site}"),
            Step::PowerOn { site } => format!("Power the machine on at {site}"),
            Step::WaitRegistered { site } => {
                format!("Wait until the machine is registered at {site}")
            }
            Step::LogoffSessions => format!("Log off every session of {user}"),
            Step::RemoveEntitlements => {
                format!("Remove {user} from delivery groups and application groups")
            }
            Step::ReleaseMachines { delete: true } => {
                format!("Delete the machines dedicated to {user}")
            }
            Step::ReleaseMachines { delete: false } => {
                format!("Remove {user}'s machine assignments (machines kept)")
            }
            Step::Runbook { name, title, .. } => format!("{name}: {title}"),
        }
    }
}

fn routed(kind: WorkflowKind, params: &WorkflowParams) -> Result<&Resources, String> {
    params.resources.as_ref().ok_or_else(|| {
        format!(
            "{} has no routed resources (no routing rule matched the user, and there is no default rule)",
            kind.action()
        )
    })
}

fn pooled(resources: &Resources) -> Result<Step, String> {
    match &resources.pooled_desktop {
        Some(PooledDesktop::DeliveryGroup(group)) => Ok(Step::EntitleDeliveryGroup {
            site: resources.site.clone(),
            delivery_group: group.clone(),
        }),
        Some(PooledDesktop::AccessGroup(group)) => Ok(Step::GroupAdd {
            group: group.clone(),
        }),
        None => Err(format!(
            "routing rule {:?} gives no pooled desktop",
            resources.rule
        )),
    }
}

fn persistent(resources: &Resources) -> Result<Vec<Step>, String> {
    let Some(desktop) = &resources.persistent_desktop else {
        return Err(format!(
            "routing rule {:?} gives no persistent desktop",
            resources.rule
        ));
    };
    let site = resources.site.clone();
    Ok(vec![
        Step::PickMachine {
            site: site.clone(),
            delivery_group: desktop.delivery_group.clone(),
        },
        Step::ProvisionMachine {
            site: site.clone(),
            catalog: desktop.catalog.clone(),
            naming: desktop.naming.clone(),
        },
        Step::AddToDeliveryGroup {
            site: site.clone(),
            delivery_group: desktop.delivery_group.clone(),
        },
        Step::AssignMachine { site: site.clone() },
        Step::PowerOn { site: site.clone() },
        Step::WaitRegistered { site },
    ])
}

fn apps(resources: &Resources) -> Result<Vec<Step>, String> {
    if resources.apps.is_empty() {
        return Err(format!(
            "routing rule {:?} gives no application groups",
            resources.rule
        ));
    }
    Ok(resources
        .apps
        .iter()
        .map(|group| Step::EntitleApplicationGroup {
            site: resources.site.clone(),
            application_group: group.clone(),
        })
        .collect())
}

/// The steps of `kind` with these parameters, or why it cannot run (a route without the
/// resource asked for).
pub fn plan(kind: WorkflowKind, params: &WorkflowParams) -> Result<Vec<Step>, String> {
    match kind {
        WorkflowKind::PooledDesktop => Ok(vec![pooled(routed(kind, params)?)?]),
        WorkflowKind::PersistentDesktop => persistent(routed(kind, params)?),
        WorkflowKind::Apps => apps(routed(kind, params)?),
        WorkflowKind::Onboard => {
            let resources = routed(kind, params)?;
            let mut steps = vec![Step::AccountCreate];
            let extra = params.person.iter().flat_map(|p| p.groups.iter());
            let mut groups: Vec<&String> = Vec::new();
            for group in resources.groups.iter().chain(extra) {
                if !groups.iter().any(|g| g.eq_ignore_ascii_case(group)) {
                    groups.push(group);
                }
            }
            steps.extend(groups.into_iter().map(|group| Step::GroupAdd {
                group: group.clone(),
            }));
            for include in params.included() {
                match include {
                    // A pooled desktop granted through a group the route also lists is one
                    // group change, not two.
                    Include::PooledDesktop => match pooled(resources)? {
                        Step::GroupAdd { group }
                            if steps.iter().any(|s| {
                                matches!(s, Step::GroupAdd { group: g } if g.eq_ignore_ascii_case(&group))
                            }) => {}
                        step => steps.push(step),
                    },
                    Include::PersistentDesktop => steps.extend(persistent(resources)?),
                    Include::Apps => steps.extend(apps(resources)?),
                }
            }
            Ok(steps)
        }
        WorkflowKind::Runbook => {
            let run = params
                .runbook
                .as_ref()
                .and_then(|r| r.definition.as_ref())
                .ok_or_else(|| "runbook.run names no runbook".to_owned())?;
            Ok(run
                .steps
                .iter()
                .enumerate()
                .map(|(index, step)| Step::Runbook {
                    index,
                    name: step.name.clone(),
                    title: step.title.clone(),
                })
                .collect())
        }
        WorkflowKind::Offboard => Ok(vec![
            Step::LogoffSessions,
            Step::RemoveEntitlements,
            Step::AccountDisable,
            Step::ReleaseMachines {
                delete: params.machines.unwrap_or_default() == DedicatedMachines::Delete,
            },
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::workflows::params::{NewPerson, PersistentDesktop};

    fn resources() -> Resources {
        Resources {
            rule: "london".into(),
            site: "London".into(),
            pooled_desktop: Some(PooledDesktop::DeliveryGroup("Office".into())),
            persistent_desktop: Some(PersistentDesktop {
                delivery_group: "Dev VDI".into(),
                catalog: "Dev MCS".into(),
                naming: None,
            }),
            apps: vec!["Office Apps".into()],
            groups: vec!["Staff".into()],
        }
    }

    #[test]
    fn onboarding_creates_then_groups_then_entitles_without_repeating_a_group() {
        let params = WorkflowParams {
            resources: Some(resources()),
            person: Some(NewPerson {
                given_name: "Ada".into(),
                surname: "Byron".into(),
                groups: vec!["staff".into(), "Finance".into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        let kinds: Vec<&str> = plan(WorkflowKind::Onboard, &params)
            .expect("plan")
            .iter()
            .map(Step::kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "account.create",
                "account.group_add",
                "account.group_add",
                "cvad.entitle_delivery_group",
                "cvad.entitle_application_group"
            ]
        );
    }

    #[test]
    fn a_pooled_desktop_through_a_routed_group_is_one_group_change() {
        let mut r = resources();
        r.pooled_desktop = Some(PooledDesktop::AccessGroup("STAFF".into()));
        let params = WorkflowParams {
            resources: Some(r),
            person: Some(NewPerson {
                given_name: "Ada".into(),
                surname: "Byron".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let steps = plan(WorkflowKind::Onboard, &params).expect("plan");
        let adds = steps
            .iter()
            .filter(|s| matches!(s, Step::GroupAdd { .. }))
            .count();
        assert_eq!(adds, 1, "{steps:?}");
    }

    #[test]
    fn a_persistent_desktop_picks_then_provisions_then_waits_for_registration() {
        let params = WorkflowParams {
            resources: Some(resources()),
            ..Default::default()
        };
        let steps = plan(WorkflowKind::PersistentDesktop, &params).expect("plan");
        assert_eq!(steps.first().map(Step::kind), Some("cvad.pick_machine"));
        assert_eq!(steps.last().map(Step::kind), Some("cvad.wait_registered"));
        assert_eq!(steps.len(), 6);
    }

    #[test]
    fn a_route_without_the_resource_asked_for_cannot_be_planned() {
        let mut r = resources();
        r.apps.clear();
        let params = WorkflowParams {
            resources: Some(r),
            ..Default::default()
        };
        let err = plan(WorkflowKind::Apps, &params).expect_err("no apps");
        assert!(err.contains("no application groups"), "{err}");
        let err =
            plan(WorkflowKind::PooledDesktop, &WorkflowParams::default()).expect_err("no route");
        assert!(err.contains("no routed resources"), "{err}");
    }

    #[test]
    fn offboarding_keeps_machines_unless_asked_to_delete_them() {
        let steps = plan(WorkflowKind::Offboard, &WorkflowParams::default()).expect("plan");
        assert_eq!(steps.last(), Some(&Step::ReleaseMachines { delete: false }));
        assert_eq!(steps.first(), Some(&Step::LogoffSessions));
    }
}
