//! Inventory changes: maintenance mode and user assignment, machines created in a catalog,
//! machines added to and removed from delivery groups.

use super::error::{ApiError, ApiResult};
use super::state::{MachineRec, SiteState};
use crate::model::{AllocationType, FaultState, PowerState, RegistrationState};

pub fn update_machine(
    state: &mut SiteState,
    index: usize,
    maintenance: Option<bool>,
    assigned: Option<&[usize]>,
) -> ApiResult<()> {
    let allocation = state
        .machines
        .get(index)
        .and_then(|m| state.catalogs.get(m.catalog))
        .map(|c| c.allocation);
    let machine = state
        .machines
        .get_mut(index)
        .ok_or_else(|| ApiError::not_found("Machine", &index.to_string()))?;
    if let Some(users) = assigned {
        if allocation != Some(AllocationType::Static) && !users.is_empty() {
            return Err(ApiError::invalid_operation(format!(
                "Machine {} is in a random (pooled) catalog; users cannot be assigned",
                machine.qualified_name()
            )));
        }
        machine.assigned = users.to_vec();
    }
    if let Some(on) = maintenance {
        machine.in_maintenance = on;
    }
    Ok(())
}

/// Creates a machine in a catalog: powered off, unregistered, in no delivery group.
pub fn create_machine(
    state: &mut SiteState,
    catalog: usize,
    name: &str,
    assigned: &[usize],
    maintenance: bool,
) -> ApiResult<usize> {
    let zone = state
        .catalogs
        .get(catalog)
        .map(|c| c.zone)
        .ok_or_else(|| ApiError::not_found("MachineCatalog", &catalog.to_string()))?;
    if state.find_machine(name).is_some() {
        return Err(ApiError::invalid_operation(format!(
            "A machine named {name} already exists"
        )));
    }
    let id = state.new_guid();
    let index = state.machines.len();
    state.machines.push(MachineRec {
        in_maintenance: maintenance,
        assigned: assigned.to_vec(),
        ..new_machine(id, name.to_string(), catalog, zone, index)
    });
    state.index_machine(index);
    Ok(index)
}

/// The record of a machine added at `index`: powered off, unregistered, idle, in no group.
pub fn new_machine(
    id: String,
    name: String,
    catalog: usize,
    zone: usize,
    index: usize,
) -> MachineRec {
    MachineRec {
        id,
        name,
        sid: format!("S-1-5-21-3623811015-3361044348-30300820-{}", 20_000 + index),
        catalog,
        group: None,
        zone,
        power: PowerState::Off,
        registration: RegistrationState::Unregistered,
        fault: FaultState::None,
        in_maintenance: false,
        assigned: Vec::new(),
        sessions: Vec::new(),
        generation: 0,
        power_action_pending: false,
        last_deregistration_reason: None,
        last_deregistration_time: None,
        removed: false,
        last_connection: None,
        ip: format!(
            "10.{}.{}.{}",
            100 + zone,
            (index / 250) % 250,
            index % 250 + 1
        ),
    }
}

pub fn add_group_machines(
    state: &mut SiteState,
    group: usize,
    catalog: usize,
    count: u32,
    assignments: &[(usize, Vec<usize>)],
) -> ApiResult<()> {
    let (group_support, catalog_support) =
        match (state.groups.get(group), state.catalogs.get(catalog)) {
            (Some(g), Some(c)) => (g.session_support, c.session_support),
            _ => return Err(ApiError::not_found("DeliveryGroup", &group.to_string())),
        };
    if group_support != catalog_support {
        return Err(ApiError::invalid_operation(format!(
            "The catalog's machines are {catalog_support}, the delivery group takes {group_support}"
        )));
    }
    let mut chosen: Vec<usize> = Vec::new();
    for (machine, _) in assignments {
        let ok = state
            .machines
            .get(*machine)
            .is_some_and(|m| m.catalog == catalog && m.group.is_none() && !m.removed);
        if !ok {
            return Err(ApiError::invalid_operation(
                "Machines named in AssignMachinesToUsers must be unassigned machines of the catalog",
            ));
        }
        if !chosen.contains(machine) {
            chosen.push(*machine);
        }
    }
    let wanted = (count as usize).max(chosen.len());
    for (index, machine) in state.machines.iter().enumerate() {
        if chosen.len() >= wanted {
            break;
        }
        if machine.catalog == catalog
            && machine.group.is_none()
            && !machine.removed
            && !chosen.contains(&index)
        {
            chosen.push(index);
        }
    }
    if chosen.len() < wanted {
        return Err(ApiError::invalid_operation(format!(
            "The catalog has {} unassigned machines, {wanted} were requested",
            chosen.len()
        ))
        .param("name", "Count"));
    }
    for index in &chosen {
        if let Some(machine) = state.machines.get_mut(*index) {
            machine.group = Some(group);
        }
    }
    for (machine, users) in assignments {
        if let Some(m) = state.machines.get_mut(*machine) {
            m.assigned = users.clone();
        }
    }
    Ok(())
}

pub fn remove_group_machine(state: &mut SiteState, group: usize, index: usize) -> ApiResult<()> {
    let machine = state
        .machines
        .get_mut(index)
        .ok_or_else(|| ApiError::not_found("Machine", &index.to_string()))?;
    if machine.group != Some(group) {
        return Err(ApiError::not_found("Machine", &machine.id));
    }
    if !machine.sessions.is_empty() {
        return Err(ApiError::invalid_operation(format!(
            "Machine {} has sessions; log them off first",
            machine.qualified_name()
        )));
    }
    machine.group = None;
    Ok(())
}

/// Deletes a machine from the site (`DELETE /MachineCatalogs/{c}/Machines/{m}` or
/// `DELETE /Machines/{m}`). Refused, as the site refuses it, while the machine is in a
/// delivery group or has sessions; `catalog` (when the call names one) must be its catalog.
pub fn delete_machine(
    state: &mut SiteState,
    index: usize,
    catalog: Option<usize>,
) -> ApiResult<()> {
    let machine = state
        .machines
        .get(index)
        .filter(|m| !m.removed)
        .ok_or_else(|| ApiError::not_found("Machine", &index.to_string()))?;
    let name = machine.qualified_name();
    if let Some(c) = catalog
        && machine.catalog != c
    {
        let catalog_name = state.catalogs.get(c).map(|c| c.name.as_str()).unwrap_or("");
        return Err(ApiError::not_found("Machine", &name).param("machineCatalog", catalog_name));
    }
    if let Some(group) = machine.group.and_then(|g| state.groups.get(g)) {
        return Err(ApiError::invalid_operation(format!(
            "Machine {name} cannot be deleted because it is in delivery group {}; remove it \
             from the delivery group first",
            group.name
        ))
        .param("deliveryGroup", group.name.clone()));
    }
    if !machine.sessions.is_empty() {
        return Err(ApiError::invalid_operation(format!(
            "Machine {name} cannot be deleted because it has {} session(s); log them off first",
            machine.sessions.len()
        )));
    }
    state.unindex_machine(index);
    if let Some(m) = state.machines.get_mut(index) {
        m.removed = true;
        m.assigned.clear();
        m.in_maintenance = false;
        // Pending power steps of the deleted VM must not bring it back to life.
        m.generation += 1;
        m.power = PowerState::Off;
        m.registration = RegistrationState::Unregistered;
        m.power_action_pending = false;
    }
    Ok(())
}
