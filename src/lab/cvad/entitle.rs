//! Entitlement edits: a delivery group's `SimpleAccessPolicy` (and the group settings the same
//! `PATCH` carries) and an application group's included users. A list given replaces the one
//! held, as the real edit models say ("all desired users must be listed"); a field left out
//! is left unchanged.

use super::error::{ApiError, ApiResult};
use super::state::SiteState;

/// What one `PATCH /DeliveryGroups/{id}` changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupEdit {
    pub included_users: Option<Vec<usize>>,
    pub included_filter: Option<bool>,
    pub in_maintenance: Option<bool>,
    pub enabled: Option<bool>,
    pub description: Option<String>,
}

/// What one `PATCH /ApplicationGroups/{id}` changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppGroupEdit {
    pub included_users: Option<Vec<usize>>,
    pub included_filter: Option<bool>,
}

/// People in the order given, each once.
fn distinct(users: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(users.len());
    for user in users {
        if !out.contains(user) {
            out.push(*user);
        }
    }
    out
}

pub fn update_group(state: &mut SiteState, index: usize, edit: &GroupEdit) -> ApiResult<()> {
    let group = state
        .groups
        .get_mut(index)
        .ok_or_else(|| ApiError::not_found("DeliveryGroup", &index.to_string()))?;
    if let Some(users) = &edit.included_users {
        group.included_users = distinct(users);
    }
    if let Some(on) = edit.included_filter {
        group.included_filter = on;
    }
    if let Some(on) = edit.in_maintenance {
        group.in_maintenance = on;
    }
    if let Some(on) = edit.enabled {
        group.enabled = on;
    }
    if let Some(text) = &edit.description {
        group.description = text.clone();
    }
    Ok(())
}

pub fn update_app_group(state: &mut SiteState, index: usize, edit: &AppGroupEdit) -> ApiResult<()> {
    let group = state
        .app_groups
        .get_mut(index)
        .ok_or_else(|| ApiError::not_found("ApplicationGroup", &index.to_string()))?;
    if let Some(users) = &edit.included_users {
        group.users = distinct(users);
    }
    if let Some(on) = edit.included_filter {
        group.included_filter = on;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::cvad::seed::test_site;

    #[test]
    fn a_given_list_replaces_and_a_missing_one_keeps() {
        let (mut state, _) = test_site();
        let before = state.groups[0].clone();
        update_group(
            &mut state,
            0,
            &GroupEdit {
                in_maintenance: Some(true),
                ..Default::default()
            },
        )
        .expect("edit");
        assert_eq!(state.groups[0].included_users, before.included_users);
        assert!(state.groups[0].in_maintenance);
        update_group(
            &mut state,
            0,
            &GroupEdit {
                included_users: Some(vec![7, 3, 7]),
                ..Default::default()
            },
        )
        .expect("edit");
        assert_eq!(state.groups[0].included_users, vec![7, 3]);
        update_app_group(
            &mut state,
            1,
            &AppGroupEdit {
                included_users: Some(Vec::new()),
                included_filter: Some(false),
            },
        )
        .expect("edit");
        assert!(state.app_groups[1].users.is_empty());
        assert!(!state.app_groups[1].included_filter);
        assert!(update_app_group(&mut state, 99, &AppGroupEdit::default()).is_err());
    }

    #[test]
    fn users_are_named_as_the_api_shows_them() {
        let (state, _) = test_site();
        let person = &state.people[42];
        let shown = crate::lab::cvad::render::identity(person);
        for name in [
            shown.sam_name.clone().expect("sam"),
            shown.principal_name.clone().expect("upn"),
            shown.sid.clone().expect("sid"),
            person.sam.to_uppercase(),
        ] {
            assert_eq!(state.find_person(&name), Some(42), "{name}");
        }
        let past_the_end = format!(
            "{}{}",
            crate::lab::cvad::state::USER_SID_PREFIX,
            crate::lab::cvad::state::USER_RID_BASE + state.people.len()
        );
        assert_eq!(state.find_person(&past_the_end), None);
        assert_eq!(state.find_person("LAB\\nobody-here"), None);
    }
}
