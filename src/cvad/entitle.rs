//! Who may use a delivery group or an application group: reading the included users and adding
//! or removing one user.
//!
//! The site's edit models replace the whole list, so a change is a read-modify-write: read the
//! group, change the list, `PATCH` it back. Adding a user already included, or removing one
//! who is not, sends nothing. When a group's included-users filter is off the list is not
//! consulted and everyone the site otherwise admits may use the group; adding someone to it
//! then sends nothing either ([`EntitlementChange::FilterOff`]) rather than narrowing the
//! group to that one person.
//!
//! Two callers changing the same group at once can lose one change (the API has no
//! concurrency token for this); a caller that must be sure reads the list again.

use super::client::{CvadClient, JobRef};
use super::error::CvadError;
use super::transport::ApiRequest;
use super::wire::IdentityUser;
use super::wire_entitle::{
    ApplicationGroupDetailResponse, DeliveryGroupDetailResponse, EditApplicationGroupRequest,
    EditDeliveryGroupRequest, SimpleAccessPolicyRequest, SimpleAccessPolicyResponse,
};
use reqwest::Method;

/// The included users of a delivery group or application group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entitlement {
    /// Whether the list is consulted; `false` means the group is open to everyone the site
    /// otherwise admits.
    pub filter_enabled: bool,
    /// Each included user or group, `DOMAIN\sam` where the site gives it, else UPN or SID.
    pub users: Vec<String>,
    identities: Vec<IdentityUser>,
}

impl Entitlement {
    fn new(filter_enabled: bool, identities: Vec<IdentityUser>) -> Self {
        Entitlement {
            filter_enabled,
            users: identities.iter().filter_map(write_name).collect(),
            identities,
        }
    }

    /// Whether `user` (`DOMAIN\sam`, bare `sam`, UPN or SID, any case) is on the list.
    pub fn includes(&self, user: &str) -> bool {
        self.identities.iter().any(|id| identity_is(id, user))
    }

    /// The list with `user` added or removed, as names the site accepts; `None` when it
    /// already is as asked.
    fn with(&self, user: &str, included: bool) -> Option<Vec<String>> {
        if self.includes(user) == included {
            return None;
        }
        let mut names: Vec<String> = self
            .identities
            .iter()
            .filter(|id| included || !identity_is(id, user))
            .filter_map(write_name)
            .collect();
        if included {
            names.push(user.trim().to_string());
        }
        Some(names)
    }
}

/// What an add or remove did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntitlementChange {
    /// One `PATCH` changed the list.
    Changed,
    /// The user already was (add) or was not (remove) on the list: nothing was sent.
    AlreadySo,
    /// The group's filter is off, so the list decides nothing: nothing was sent. The user
    /// keeps whatever access the group's other rules give.
    FilterOff,
}

/// The name to write an identity back with: `DOMAIN\sam`, else UPN, else SID.
fn write_name(id: &IdentityUser) -> Option<String> {
    fn nonempty(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    match (nonempty(&id.sam_name), nonempty(&id.domain)) {
        (Some(sam), _) if sam.contains('\\') => Some(sam.to_string()),
        (Some(sam), Some(domain)) => Some(format!("{domain}\\{sam}")),
        (Some(sam), None) => Some(sam.to_string()),
        (None, _) => nonempty(&id.principal_name)
            .or_else(|| nonempty(&id.sid))
            .map(str::to_string),
    }
}

/// Whether an identity is the user a caller named.
fn identity_is(id: &IdentityUser, user: &str) -> bool {
    let user = user.trim();
    if user.is_empty() {
        return false;
    }
    let same = |v: &Option<String>| v.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(user));
    if same(&id.principal_name) || same(&id.sid) {
        return true;
    }
    let Some(name) = write_name(id).filter(|n| !n.contains('@')) else {
        return false;
    };
    let sam_of = |n: &str| n.rsplit_once('\\').map_or(n, |(_, sam)| sam).to_string();
    match (name.contains('\\'), user.contains('\\')) {
        (true, true) | (false, false) => name.eq_ignore_ascii_case(user),
        // One side without a domain: compare the account names.
        _ => !user.contains('@') && sam_of(&name).eq_ignore_ascii_case(&sam_of(user)),
    }
}

/// The edit that sets a delivery group's included users, echoing the policy's other switches
/// so a site that resets what is left out changes nothing else.
fn group_edit(
    policy: Option<&SimpleAccessPolicyResponse>,
    users: Vec<String>,
) -> EditDeliveryGroupRequest {
    let mut request = SimpleAccessPolicyRequest {
        included_user_filter_enabled: Some(true),
        included_users: Some(users),
        ..Default::default()
    };
    if let Some(p) = policy {
        request.allow_anonymous = Some(p.allow_anonymous);
        request.allow_hdx_access = Some(p.allow_hdx_access);
        request.allow_rdp_access = Some(p.allow_rdp_access);
        request.connect_via_net_scaler_gateway_allowed =
            Some(p.connect_via_net_scaler_gateway_allowed);
        request.connect_not_via_net_scaler_gateway_allowed =
            Some(p.connect_not_via_net_scaler_gateway_allowed);
        request.excluded_user_filter_enabled = Some(p.excluded_user_filter_enabled);
        request.excluded_users = Some(p.excluded_users.iter().filter_map(write_name).collect());
    }
    EditDeliveryGroupRequest {
        simple_access_policy: Some(request),
        ..Default::default()
    }
}

/// What one add or remove must send, if anything.
enum Plan<T> {
    Send(T),
    Nothing(EntitlementChange),
}

fn plan_change(entitlement: &Entitlement, user: &str, included: bool) -> Plan<Vec<String>> {
    if included && !entitlement.filter_enabled && !entitlement.includes(user) {
        return Plan::Nothing(EntitlementChange::FilterOff);
    }
    match entitlement.with(user, included) {
        Some(users) => Plan::Send(users),
        None if !entitlement.filter_enabled => Plan::Nothing(EntitlementChange::FilterOff),
        None => Plan::Nothing(EntitlementChange::AlreadySo),
    }
}

impl CvadClient {
    fn check_user(&self, user: &str) -> Result<(), CvadError> {
        if user.trim().is_empty() {
            return Err(CvadError::Config {
                site: self.site_name().to_string(),
                detail: "a user name (DOMAIN\\user, UPN or SID) is required".into(),
            });
        }
        Ok(())
    }

    async fn group_detail(&self, group: &str) -> Result<DeliveryGroupDetailResponse, CvadError> {
        self.get_json(&["DeliveryGroups", group]).await
    }

    /// `GET /DeliveryGroups/{nameOrId}`: the group's `SimpleAccessPolicy` included users.
    pub async fn delivery_group_entitlement(&self, group: &str) -> Result<Entitlement, CvadError> {
        let policy = self.group_detail(group).await?.simple_access_policy;
        let policy = policy.unwrap_or_default();
        Ok(Entitlement::new(
            policy.included_user_filter_enabled,
            policy.included_users,
        ))
    }

    /// `PATCH /DeliveryGroups/{nameOrId}` with an `EditDeliveryGroupRequestModel`.
    pub async fn update_delivery_group(
        &self,
        group: &str,
        edit: &EditDeliveryGroupRequest,
    ) -> Result<(), CvadError> {
        let request = self.with_body(
            ApiRequest::new(Method::PATCH, &["DeliveryGroups", group]),
            edit,
        )?;
        self.call(request).await.map(|_| ())
    }

    /// [`Self::update_delivery_group`] as a job (`UpdateDeliveryGroup`).
    pub async fn update_delivery_group_async(
        &self,
        group: &str,
        edit: &EditDeliveryGroupRequest,
    ) -> Result<JobRef, CvadError> {
        let request = self.with_body(
            ApiRequest::new(Method::PATCH, &["DeliveryGroups", group]),
            edit,
        )?;
        self.start_job(request).await
    }

    async fn plan_group(
        &self,
        group: &str,
        user: &str,
        included: bool,
    ) -> Result<Plan<EditDeliveryGroupRequest>, CvadError> {
        self.check_user(user)?;
        let policy = self.group_detail(group).await?.simple_access_policy;
        let current = policy.clone().unwrap_or_default();
        let entitlement =
            Entitlement::new(current.included_user_filter_enabled, current.included_users);
        Ok(match plan_change(&entitlement, user, included) {
            Plan::Send(users) => Plan::Send(group_edit(policy.as_ref(), users)),
            Plan::Nothing(outcome) => Plan::Nothing(outcome),
        })
    }

    /// Adds (`included`) or removes one user of a delivery group's included users, waiting for
    /// the site. Nothing is sent when the list already is as asked.
    pub async fn set_delivery_group_user(
        &self,
        group: &str,
        user: &str,
        included: bool,
    ) -> Result<EntitlementChange, CvadError> {
        match self.plan_group(group, user, included).await? {
            Plan::Send(edit) => {
                self.update_delivery_group(group, &edit).await?;
                Ok(EntitlementChange::Changed)
            }
            Plan::Nothing(outcome) => Ok(outcome),
        }
    }

    /// [`Self::set_delivery_group_user`] as a job (`UpdateDeliveryGroup`); `Ok(Err(outcome))`
    /// when nothing had to be sent.
    pub async fn set_delivery_group_user_async(
        &self,
        group: &str,
        user: &str,
        included: bool,
    ) -> Result<Result<JobRef, EntitlementChange>, CvadError> {
        match self.plan_group(group, user, included).await? {
            Plan::Send(edit) => Ok(Ok(self.update_delivery_group_async(group, &edit).await?)),
            Plan::Nothing(outcome) => Ok(Err(outcome)),
        }
    }

    /// `GET /ApplicationGroups/{nameOrId}`: the group's included users.
    pub async fn application_group_entitlement(
        &self,
        group: &str,
    ) -> Result<Entitlement, CvadError> {
        let detail: ApplicationGroupDetailResponse =
            self.get_json(&["ApplicationGroups", group]).await?;
        Ok(Entitlement::new(
            detail.included_users_filter_enabled,
            detail.included_users,
        ))
    }

    /// `PATCH /ApplicationGroups/{nameOrId}` with an `EditApplicationGroupRequestModel`.
    pub async fn update_application_group(
        &self,
        group: &str,
        edit: &EditApplicationGroupRequest,
    ) -> Result<(), CvadError> {
        let request = self.with_body(
            ApiRequest::new(Method::PATCH, &["ApplicationGroups", group]),
            edit,
        )?;
        self.call(request).await.map(|_| ())
    }

    /// [`Self::update_application_group`] as a job (`UpdateApplicationGroup`).
    pub async fn update_application_group_async(
        &self,
        group: &str,
        edit: &EditApplicationGroupRequest,
    ) -> Result<JobRef, CvadError> {
        let request = self.with_body(
            ApiRequest::new(Method::PATCH, &["ApplicationGroups", group]),
            edit,
        )?;
        self.start_job(request).await
    }

    async fn plan_app_group(
        &self,
        group: &str,
        user: &str,
        included: bool,
    ) -> Result<Plan<EditApplicationGroupRequest>, CvadError> {
        self.check_user(user)?;
        let entitlement = self.application_group_entitlement(group).await?;
        Ok(match plan_change(&entitlement, user, included) {
            Plan::Send(users) => Plan::Send(EditApplicationGroupRequest {
                included_user_filter_enabled: Some(true),
                included_users: Some(users),
            }),
            Plan::Nothing(outcome) => Plan::Nothing(outcome),
        })
    }

    /// Adds (`included`) or removes one user of an application group's included users,
    /// waiting for the site. Nothing is sent when the list already is as asked.
    pub async fn set_application_group_user(
        &self,
        group: &str,
        user: &str,
        included: bool,
    ) -> Result<EntitlementChange, CvadError> {
        match self.plan_app_group(group, user, included).await? {
            Plan::Send(edit) => {
                self.update_application_group(group, &edit).await?;
                Ok(EntitlementChange::Changed)
            }
            Plan::Nothing(outcome) => Ok(outcome),
        }
    }

    /// [`Self::set_application_group_user`] as a job (`UpdateApplicationGroup`);
    /// `Ok(Err(outcome))` when nothing had to be sent.
    pub async fn set_application_group_user_async(
        &self,
        group: &str,
        user: &str,
        included: bool,
    ) -> Result<Result<JobRef, EntitlementChange>, CvadError> {
        match self.plan_app_group(group, user, included).await? {
            Plan::Send(edit) => Ok(Ok(self
                .update_application_group_async(group, &edit)
                .await?)),
            Plan::Nothing(outcome) => Ok(Err(outcome)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(sam: &str, upn: &str) -> IdentityUser {
        IdentityUser {
            sam_name: Some(sam.into()),
            principal_name: Some(upn.into()),
            sid: Some(format!("S-1-5-21-1-{}", sam.len())),
            ..Default::default()
        }
    }

    fn list() -> Entitlement {
        Entitlement::new(
            true,
            vec![
                id("LAB\\ann", "ann@lab.example"),
                id("LAB\\bob", "bob@lab.example"),
            ],
        )
    }

    #[test]
    fn users_match_by_any_name_they_go_by() {
        let e = list();
        for name in [
            "LAB\\ann",
            "lab\\ANN",
            "ann",
            "ann@lab.example",
            "S-1-5-21-1-7",
        ] {
            assert!(e.includes(name), "{name}");
        }
        for name in ["OTHER\\ann", "anne", "", "carol@lab.example"] {
            assert!(!e.includes(name), "{name}");
        }
        assert_eq!(e.users, vec!["LAB\\ann", "LAB\\bob"]);
    }

    #[test]
    fn changes_are_planned_only_when_needed() {
        let e = list();
        assert!(matches!(
            plan_change(&e, "ann", true),
            Plan::Nothing(EntitlementChange::AlreadySo)
        ));
        assert!(matches!(
            plan_change(&e, "LAB\\carol", false),
            Plan::Nothing(EntitlementChange::AlreadySo)
        ));
        match plan_change(&e, "LAB\\carol", true) {
            Plan::Send(users) => assert_eq!(users, vec!["LAB\\ann", "LAB\\bob", "LAB\\carol"]),
            Plan::Nothing(other) => panic!("{other:?}"),
        }
        match plan_change(&e, "bob@lab.example", false) {
            Plan::Send(users) => assert_eq!(users, vec!["LAB\\ann"]),
            Plan::Nothing(other) => panic!("{other:?}"),
        }
        let open = Entitlement::new(false, vec![id("LAB\\ann", "ann@lab.example")]);
        assert!(matches!(
            plan_change(&open, "LAB\\carol", true),
            Plan::Nothing(EntitlementChange::FilterOff)
        ));
        assert!(matches!(
            plan_change(&open, "LAB\\ann", false),
            Plan::Send(_)
        ));
    }

    #[test]
    fn an_edit_keeps_the_other_switches() {
        let policy = SimpleAccessPolicyResponse {
            allow_hdx_access: true,
            allow_rdp_access: true,
            included_user_filter_enabled: true,
            ..Default::default()
        };
        let edit = group_edit(Some(&policy), vec!["LAB\\ann".into()]);
        let sent = edit.simple_access_policy.expect("policy");
        assert_eq!(sent.allow_rdp_access, Some(true));
        assert_eq!(sent.included_user_filter_enabled, Some(true));
        assert_eq!(sent.included_users, Some(vec!["LAB\\ann".to_string()]));
        assert_eq!(sent.excluded_users, Some(Vec::new()));
    }
}
