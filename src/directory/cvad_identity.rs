//! The `cvad-identity` backend of [`Directory`]: accounts through a CVAD site's Identity API
//! (`/cvad/manage/Identity/Users`), for customers whose helpdesk may not reach AD directly.
//!
//! What maps to what:
//! - `find` is `GET /Identity/Users?domain=&contains=`; `account` is `GET /Identity/Users/{user}`;
//!   groups arrive as `GroupSids` and are named with one bulk `GET ?user=sid&user=sid...`
//!   (cached: a group's SID never changes).
//! - `reset_password`, `unlock`, `set_enabled` are `PATCH /Identity/Users/{user}`, after a `GET`
//!   that resolves the name and gives the `forest` / `domain` the PATCH requires. Only
//!   `NewPassword` is part of the real model; `Locked`, `Enabled` and `ChangePasswordAtLogon`
//!   are the lab's extensions (see `lab::cvad::api::identity`); a site that refuses them
//!   gives [`DirectoryError::Unsupported`].
//! - group changes are `PUT` / `DELETE /Identity/Users/{group}/members/{user}` (lab route).
//! - `create` is [`DirectoryError::Unsupported`]: the Identity API cannot create users.
//! - must-change shows as an expired password (`DaysUntilPasswordExpiry` 0), as in AD.
//! - `City` is the account's location (for routing rules); the model has no department, so
//!   that stays empty and routing explanations call it unknown.
//!
//! Errors: 404 → `NotFound`; a 400 carrying AD's password restriction (`0000052D`,
//! `0x800708C5`) → `PasswordRefused` with the rule; 403 → `Denied`; throttling, 503 and
//! unreachable connectors → `Unreachable`. Every message is scrubbed of the password.

use super::{Account, Directory, DirectoryError, NewAccount, ResetOptions, account_name};
use crate::cvad::wire_identity::{
    IdentityPasswordFormat, IdentityUpdateUserRequest, IdentityUserResponse,
};
use crate::cvad::{CvadClient, CvadError, IdentityQuery, IdentityText};
use crate::secret::Secret;
use async_trait::async_trait;
use chrono::{Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// Group SIDs named per bulk lookup (keeps the query string well under URL limits).
const GROUP_LOOKUP_BATCH: usize = 50;

/// A [`Directory`] over one CVAD site's Identity API.
pub struct CvadIdentityDirectory {
    client: CvadClient,
    domain: String,
    /// Group SID → common name.
    group_names: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for CvadIdentityDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CvadIdentityDirectory")
            .field("site", &self.client.site_name())
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// What a PATCH changes besides the password, for messages.
const EXTENSIONS: &str = "unlocking, enabling/disabling and must-change";

impl CvadIdentityDirectory {
    /// `domain` is the NetBIOS name of the domain the site's Identity service reaches (`LAB`).
    pub fn new(client: CvadClient, domain: impl Into<String>) -> Self {
        CvadIdentityDirectory {
            client,
            domain: domain.into(),
            group_names: Mutex::new(HashMap::new()),
        }
    }

    /// The user as the site has it; a group by that name is not an account.
    async fn lookup(&self, user: &str) -> Result<IdentityUserResponse, DirectoryError> {
        let name = user.trim();
        if name.is_empty() {
            return Err(DirectoryError::NotFound(String::new()));
        }
        let found = self
            .client
            .identity_user(name)
            .await
            .map_err(|e| map_error(e, user, None))?;
        if found.is_group == Some(true) {
            return Err(DirectoryError::NotFound(user.to_string()));
        }
        Ok(found)
    }

    /// Names every SID in `sids`, asking the site only for the ones not cached yet.
    async fn name_groups(&self, sids: &[&String]) -> Result<(), DirectoryError> {
        let missing: Vec<String> = {
            let known = self.group_names.lock().unwrap_or_else(|p| p.into_inner());
            let mut missing: Vec<String> = sids
                .iter()
                .filter(|sid| !known.contains_key(sid.as_str()))
                .map(|sid| sid.to_string())
                .collect();
            missing.sort();
            missing.dedup();
            missing
        };
        for batch in missing.chunks(GROUP_LOOKUP_BATCH) {
            let query = IdentityQuery {
                users: batch.to_vec(),
                ..IdentityQuery::default()
            };
            let found = self
                .client
                .identity_users(&query, batch.len())
                .await
                .map_err(|e| map_error(e, "groups", None))?;
            let mut known = self.group_names.lock().unwrap_or_else(|p| p.into_inner());
            for group in found {
                if let Some(sid) = group.sid {
                    let name = group
                        .common_name
                        .or(group.name)
                        .unwrap_or(group.display_name);
                    known.insert(sid, name);
                }
            }
        }
        Ok(())
    }

    /// Converts users, naming their groups.
    async fn accounts(
        &self,
        users: Vec<IdentityUserResponse>,
    ) -> Result<Vec<Account>, DirectoryError> {
        let sids: Vec<&String> = users
            .iter()
            .flat_map(|u| u.group_sids.iter().flatten())
            .collect();
        self.name_groups(&sids).await?;
        let known = self.group_names.lock().unwrap_or_else(|p| p.into_inner());
        Ok(users
            .into_iter()
            .map(|u| to_account(u, &self.domain, &known))
            .collect())
    }

    /// Resolves `user`, then PATCHes it with `update`.
    async fn patch(
        &self,
        user: &str,
        update: &IdentityUpdateUserRequest,
        password: Option<&Secret>,
    ) -> Result<(), DirectoryError> {
        let found = self.lookup(user).await?;
        let target = found
            .sam_name
            .clone()
            .or(found.principal_name.clone())
            .unwrap_or_else(|| user.to_string());
        let forest = found.forest.as_deref().unwrap_or(&self.domain);
        let domain = found.domain.as_deref().unwrap_or(&self.domain);
        let uses_extensions = update.locked.is_some()
            || update.enabled.is_some()
            || update.change_password_at_logon.is_some();
        match self
            .client
            .update_identity_user(&target, forest, domain, update)
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => Err(match map_error(err, user, password) {
                DirectoryError::Other(text) if uses_extensions && text.contains("invalidJson") => {
                    DirectoryError::Unsupported(format!(
                        "this site's Identity API does not accept {EXTENSIONS} ({text})"
                    ))
                }
                other => other,
            }),
        }
    }
}

/// `LAB\sam` → (`LAB`, `sam`).
fn split_sam(sam_name: &str) -> (Option<&str>, &str) {
    match sam_name.split_once('\\') {
        Some((domain, sam)) => (Some(domain), sam),
        None => (None, sam_name),
    }
}

fn to_account(u: IdentityUserResponse, domain: &str, groups: &HashMap<String, String>) -> Account {
    let qualified = u.sam_name.clone().unwrap_or_default();
    let (netbios, sam) = split_sam(&qualified);
    let sam_name = u
        .sam_account_name
        .clone()
        .unwrap_or_else(|| sam.to_string());
    let can_expire = u.password_can_expire == Some(true);
    let days = u.days_until_password_expiry;
    // The API gives whole days; count from midnight so one account reads the same all day.
    let midnight = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(Utc::now);
    let mut names: Vec<String> = u
        .group_sids
        .iter()
        .flatten()
        .filter_map(|sid| groups.get(sid).cloned())
        .collect();
    names.sort_by_key(|n| n.to_lowercase());
    Account {
        sam_name,
        domain: netbios.unwrap_or(domain).to_string(),
        upn: u.principal_name.unwrap_or_default(),
        display_name: u.display_name,
        mail: u.mail.unwrap_or_default(),
        dn: u.distinguished_name.unwrap_or_default(),
        locked: u.locked == Some(true),
        disabled: u.enabled == Some(false),
        must_change: can_expire && days.is_some_and(|d| d <= 0),
        password_expires: days
            .filter(|_| can_expire)
            .map(|d| midnight + Duration::days(d.max(0))),
        groups: names,
        // The Identity API has `City` but no department (IdentityUserResponseModel).
        department: String::new(),
        location: u.city.map(|c| c.trim().to_string()).unwrap_or_default(),
    }
}

/// Replaces every occurrence of the password in `text`.
fn scrub(text: &str, password: Option<&Secret>) -> String {
    match password.map(Secret::expose).filter(|p| !p.is_empty()) {
        Some(p) => text.replace(p, "***"),
        None => text.to_string(),
    }
}

/// Puts a CVAD error into the directory's words, never with the password in it.
fn map_error(err: CvadError, subject: &str, password: Option<&Secret>) -> DirectoryError {
    let text = scrub(&err.to_string(), password);
    if let CvadError::Api {
        status,
        detail,
        parameters,
        ..
    } = &err
    {
        let detail = scrub(detail, password);
        let param = |name: &str| {
            parameters
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        match status {
            404 => return DirectoryError::NotFound(param("id").unwrap_or_else(|| subject.into())),
            403 => return DirectoryError::Denied(detail),
            501 => return DirectoryError::Unsupported(detail),
            400 if is_password_restriction(&detail) => {
                let rule = detail
                    .split_once("check_password_restrictions: ")
                    .map_or(detail.as_str(), |(_, rule)| rule);
                return DirectoryError::PasswordRefused(rule.to_string());
            }
            _ => {}
        }
    }
    match err {
        CvadError::Auth { .. } => DirectoryError::Denied(text),
        CvadError::Config { .. } => DirectoryError::Config(text),
        err if err.is_retryable() => DirectoryError::Unreachable(text),
        _ => DirectoryError::Other(text),
    }
}

/// AD's password-restriction refusal, as AD, Samba or a .NET service words it.
fn is_password_restriction(detail: &str) -> bool {
    ["0000052D", "0x800708C5", "check_password_restrictions"]
        .iter()
        .any(|marker| detail.contains(marker))
}

#[async_trait]
impl Directory for CvadIdentityDirectory {
    fn domain(&self) -> &str {
        &self.domain
    }

    async fn find(&self, text: &str, limit: usize) -> Result<Vec<Account>, DirectoryError> {
        let text = text.trim();
        if limit == 0 {
            return Ok(Vec::new());
        }
        let query = IdentityQuery {
            domain: Some(self.domain.clone()),
            text: (!text.is_empty()).then(|| IdentityText::Contains(text.to_string())),
            ..IdentityQuery::default()
        };
        let mut users = self
            .client
            .identity_users(&query, limit)
            .await
            .map_err(|e| map_error(e, text, None))?;
        users.retain(|u| u.is_group != Some(true));
        let mut accounts = self.accounts(users).await?;
        accounts.sort_by_key(|a| a.sam_name.to_lowercase());
        Ok(accounts)
    }

    async fn account(&self, user: &str) -> Result<Account, DirectoryError> {
        let found = self.lookup(user).await?;
        let mut accounts = self.accounts(vec![found]).await?;
        accounts
            .pop()
            .ok_or_else(|| DirectoryError::NotFound(user.to_string()))
    }

    /// The API's own paging: the cursor is the site's continuation token. Groups share the
    /// route with users and are dropped, so a page may hold fewer than `limit` accounts.
    async fn accounts_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Account>, Option<String>), DirectoryError> {
        let query = IdentityQuery {
            domain: Some(self.domain.clone()),
            ..IdentityQuery::default()
        };
        let limit = u32::try_from(limit.max(1)).unwrap_or(u32::MAX);
        let mut page = self
            .client
            .identity_users_page(&query, limit, cursor)
            .await
            .map_err(|e| map_error(e, "the account list", None))?;
        page.items.retain(|u| u.is_group != Some(true));
        let accounts = self.accounts(page.items).await?;
        Ok((accounts, page.continuation_token))
    }

    async fn reset_password(
        &self,
        user: &str,
        password: &Secret,
        options: ResetOptions,
    ) -> Result<(), DirectoryError> {
        let update = IdentityUpdateUserRequest {
            new_password: Some(password.clone()),
            account_password_format: Some(IdentityPasswordFormat::PlainText),
            change_password_at_logon: Some(options.must_change),
            locked: options.unlock.then_some(false),
            ..IdentityUpdateUserRequest::default()
        };
        self.patch(user, &update, Some(password)).await
    }

    async fn unlock(&self, user: &str) -> Result<(), DirectoryError> {
        let update = IdentityUpdateUserRequest {
            locked: Some(false),
            ..IdentityUpdateUserRequest::default()
        };
        self.patch(user, &update, None).await
    }

    async fn set_enabled(&self, user: &str, enabled: bool) -> Result<(), DirectoryError> {
        let update = IdentityUpdateUserRequest {
            enabled: Some(enabled),
            ..IdentityUpdateUserRequest::default()
        };
        self.patch(user, &update, None).await
    }

    async fn add_to_group(&self, user: &str, group: &str) -> Result<(), DirectoryError> {
        self.membership(user, group, true).await
    }

    async fn remove_from_group(&self, user: &str, group: &str) -> Result<(), DirectoryError> {
        self.membership(user, group, false).await
    }

    async fn create(&self, account: &NewAccount) -> Result<Account, DirectoryError> {
        Err(DirectoryError::Unsupported(format!(
            "the CVAD Identity API cannot create user accounts ({}); configure the ldap \
             backend for onboarding",
            account.sam_name
        )))
    }
}

impl CvadIdentityDirectory {
    async fn membership(
        &self,
        user: &str,
        group: &str,
        member: bool,
    ) -> Result<(), DirectoryError> {
        let found = self.lookup(user).await?;
        let target = found
            .sam_name
            .unwrap_or_else(|| account_name(user).to_string());
        self.client
            .set_identity_group_member(group.trim(), &target, member)
            .await
            .map_err(|e| map_error(e, group, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, detail: &str) -> CvadError {
        CvadError::Api {
            site: "London".into(),
            status,
            error_type: "common/invalidOperation".into(),
            detail: detail.into(),
            parameters: vec![("id".into(), "bob".into())],
            transaction_id: String::new(),
        }
    }

    #[test]
    fn password_refusals_keep_the_rule_and_drop_the_password() {
        let secret = Secret::new("Weak1pw");
        let err = api(
            400,
            "The password does not meet ... (0x800708C5) 0000052D: Constraint violation - \
             check_password_restrictions: the password is too short (Weak1pw)",
        );
        match map_error(err, "bob", Some(&secret)) {
            DirectoryError::PasswordRefused(rule) => {
                assert!(rule.starts_with("the password is too short"), "{rule}");
                assert!(!rule.contains("Weak1pw"), "{rule}");
            }
            other => panic!("expected PasswordRefused, got {other:?}"),
        }
    }

    #[test]
    fn statuses_map_to_what_an_operator_can_act_on() {
        assert_eq!(
            map_error(api(404, "User 'bob' was not found"), "LAB\\bob", None),
            DirectoryError::NotFound("bob".into())
        );
        assert!(matches!(
            map_error(api(403, "Access is denied"), "bob", None),
            DirectoryError::Denied(_)
        ));
        let busy = map_error(
            api(503, "The service is temporarily unavailable"),
            "bob",
            None,
        );
        assert!(busy.is_retryable(), "{busy:?}");
        assert!(matches!(
            map_error(api(400, "Locked can only be false"), "bob", None),
            DirectoryError::Other(_)
        ));
    }
}
