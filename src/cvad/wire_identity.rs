//! Wire models of the Orchestration API's Identity routes (`/Identity/Users`), named as the
//! real `IdentityUserResponseModel`, `IdentityUpdateUserRequestModel` and
//! `IdentityValidateUserRequestModel`, shared by the client and the lab.
//!
//! Passwords are [`Secret`]s: they serialize onto the wire but never show in `Debug`.
//!
//! Lab extensions (marked below) cover what the helpdesk needs and the real update model does
//! not offer (enable/disable, unlock, must-change); they reuse the names the response model
//! and AD's own tools (`Set-ADUser -ChangePasswordAtLogon`) use. A real site ignores or refuses
//! them, which the directory backend reports as such.

use crate::secret::Secret;
use serde::{Deserialize, Serialize, Serializer};

/// `IdentityUserResponseModel` (a user or a group).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IdentityUserResponse {
    /// DNS name of the object's domain (`lab.example`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinguished_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory_server: Option<String>,
    pub display_name: String,
    /// `DOMAIN\sam`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sam_name: Option<String>,
    /// `sam` without the domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sam_account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_sids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_can_expire: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_until_password_expiry: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_built_in: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_group: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    /// Bit field of the properties the answer carries.
    pub properties_fetched: i32,
}

/// `IdentityPasswordFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum IdentityPasswordFormat {
    Unknown,
    #[default]
    PlainText,
    Base64,
}

fn expose<S: Serializer>(secret: &Option<Secret>, serializer: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_some(secret.expose()),
        None => serializer.serialize_none(),
    }
}

/// `IdentityUpdateUserRequestModel` plus the lab's extensions. An absent `OldPassword` with a
/// `NewPassword` is an administrator's reset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IdentityUpdateUserRequest {
    #[serde(
        default,
        serialize_with = "expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub old_password: Option<Secret>,
    #[serde(
        default,
        serialize_with = "expose",
        skip_serializing_if = "Option::is_none"
    )]
    pub new_password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_password_format: Option<IdentityPasswordFormat>,
    /// Lab extension, the response model's `Enabled`: enable or disable the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Lab extension, the response model's `Locked`: only `false` (unlock) is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    /// Lab extension (`Set-ADUser -ChangePasswordAtLogon`): must change at next logon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_password_at_logon: Option<bool>,
}

/// `IdentityValidateUserRequestModel` (`POST /Identity/Users/$validate`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IdentityValidateUserRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    pub user_name: String,
    #[serde(serialize_with = "expose_required")]
    pub password: Secret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_format: Option<IdentityPasswordFormat>,
}

fn expose_required<S: Serializer>(secret: &Secret, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_requests_carry_the_password_on_the_wire_only() {
        let request = IdentityUpdateUserRequest {
            new_password: Some(Secret::new("Sekr1t#Value")),
            account_password_format: Some(IdentityPasswordFormat::PlainText),
            locked: Some(false),
            ..Default::default()
        };
        let json = serde_json::to_value(&request).expect("serializes");
        assert_eq!(json["NewPassword"], "Sekr1t#Value");
        assert_eq!(json["AccountPasswordFormat"], "PlainText");
        assert_eq!(json["Locked"], false);
        assert!(json.get("OldPassword").is_none());
        assert!(!format!("{request:?}").contains("Sekr1t"));
        let back: IdentityUpdateUserRequest = serde_json::from_value(json).expect("parses");
        assert_eq!(back, request);
    }
}
