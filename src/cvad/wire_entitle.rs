//! The CVAD REST API's JSON shapes for entitlements: a delivery group's detail with its
//! `SimpleAccessPolicy`, an application group's detail, and the edit models that change who
//! is included. Shared by the client and the lab, like [`super::wire`].
//!
//! In the edit models a field left out (`None`) is left unchanged by the site; a list that is
//! given replaces the one held ("all desired users must be listed; to remove all users,
//! specify an empty array").

use super::wire::{DeliveryGroupResponse, IdentityUser, RefModel};
use serde::{Deserialize, Serialize};

/// `SimplifiedAccessPolicyResponseModel`, as `GET /DeliveryGroups/{nameOrId}` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimpleAccessPolicyResponse {
    #[serde(default)]
    pub allow_anonymous: bool,
    #[serde(default)]
    pub allow_hdx_access: bool,
    #[serde(default)]
    pub allow_rdp_access: bool,
    #[serde(default)]
    pub connect_via_net_scaler_gateway_allowed: bool,
    #[serde(default)]
    pub connect_not_via_net_scaler_gateway_allowed: bool,
    /// Whether `IncludedUsers` is consulted at all; off means every user the group's other
    /// rules admit may use it.
    #[serde(default)]
    pub included_user_filter_enabled: bool,
    #[serde(default)]
    pub included_users: Vec<IdentityUser>,
    #[serde(default)]
    pub excluded_user_filter_enabled: bool,
    #[serde(default)]
    pub excluded_users: Vec<IdentityUser>,
}

/// `DeliveryGroupDetailResponseModel`: the list model plus the access policy and a few
/// machine counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryGroupDetailResponse {
    #[serde(flatten)]
    pub group: DeliveryGroupResponse,
    #[serde(default)]
    pub simple_access_policy: Option<SimpleAccessPolicyResponse>,
    #[serde(default)]
    pub total_machines: u32,
    #[serde(default)]
    pub registered_machines: u32,
    #[serde(default)]
    pub off_machines: u32,
    #[serde(default)]
    pub machines_in_maintenance_mode: u32,
    #[serde(default)]
    pub unassigned_machines: Option<u32>,
}

/// The `SimpleAccessPolicy` of `EditDeliveryGroupRequestModel`; users are written as
/// `DOMAIN\sam`, UPN or SID.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimpleAccessPolicyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_anonymous: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_hdx_access: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_rdp_access: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_via_net_scaler_gateway_allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_not_via_net_scaler_gateway_allowed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_user_filter_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_users: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_user_filter_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded_users: Option<Vec<String>>,
}

/// `EditDeliveryGroupRequestModel` (the parts deskbridge changes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EditDeliveryGroupRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_maintenance_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simple_access_policy: Option<SimpleAccessPolicyRequest>,
}

/// `ApplicationGroupDetailResponseModel`. Note the response says `IncludedUsersFilterEnabled`
/// where the edit model says `IncludedUserFilterEnabled`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApplicationGroupDetailResponse {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default)]
    pub delivery_groups: Vec<RefModel>,
    #[serde(default)]
    pub application_count: u32,
    #[serde(default)]
    pub total_machines: u32,
    #[serde(default)]
    pub included_users_filter_enabled: bool,
    #[serde(default)]
    pub included_users: Vec<IdentityUser>,
}

/// `EditApplicationGroupRequestModel` (the parts deskbridge changes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EditApplicationGroupRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_user_filter_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_users: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_reads_the_list_fields_and_the_policy() {
        let wire: DeliveryGroupDetailResponse = serde_json::from_value(serde_json::json!({
            "Id": "dg1", "Name": "Desktops", "TotalDesktops": 4, "UnassignedMachines": 2,
            "SimpleAccessPolicy": {
                "IncludedUserFilterEnabled": true,
                "IncludedUsers": [{"SamName": "LAB\\ann", "PrincipalName": "ann@lab.example"}]
            }
        }))
        .expect("decodes");
        assert_eq!(wire.group.name, "Desktops");
        assert_eq!(wire.group.total_desktops, 4);
        assert_eq!(wire.unassigned_machines, Some(2));
        let policy = wire.simple_access_policy.expect("policy");
        assert!(policy.included_user_filter_enabled);
        assert_eq!(
            policy.included_users[0].sam_name.as_deref(),
            Some("LAB\\ann")
        );
    }

    #[test]
    fn edits_send_only_what_changes() {
        let edit = EditDeliveryGroupRequest {
            simple_access_policy: Some(SimpleAccessPolicyRequest {
                included_users: Some(vec!["LAB\\ann".into()]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&edit).expect("encodes"),
            serde_json::json!({"SimpleAccessPolicy": {"IncludedUsers": ["LAB\\ann"]}})
        );
        let app = EditApplicationGroupRequest {
            included_users: Some(Vec::new()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&app).expect("encodes"),
            serde_json::json!({"IncludedUsers": []})
        );
    }
}
