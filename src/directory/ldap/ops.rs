//! The [`Directory`] operations on AD: searches, password resets, unlock, enable/disable,
//! group membership and account creation, each on its own bound connection.

use std::collections::HashSet;

use async_trait::async_trait;
use ldap3::{Mod, Scope, dn_escape};

use super::LdapDirectory;
use super::attrs::{
    ACCOUNT_ATTRS, UAC_ACCOUNTDISABLE, UAC_NORMAL_ACCOUNT, account_from_entry, uac, unicode_pwd,
};
use super::codes::{
    self, RC_ATTRIBUTE_OR_VALUE_EXISTS, RC_ENTRY_ALREADY_EXISTS, RC_NO_SUCH_ATTRIBUTE,
    RC_UNWILLING_TO_PERFORM,
};
use super::connect::Session;
use super::search::{after_filter, find_filter, resolve_group, resolve_user, search};
use crate::directory::{Account, Directory, DirectoryError, NewAccount, ResetOptions};
use crate::secret::Secret;

/// One attribute value set, as ldap3 wants it.
fn values(value: impl Into<Vec<u8>>) -> HashSet<Vec<u8>> {
    HashSet::from([value.into()])
}

fn replace(attr: &str, value: impl Into<Vec<u8>>) -> Mod<Vec<u8>> {
    Mod::Replace(attr.as_bytes().to_vec(), values(value))
}

impl LdapDirectory {
    /// The DN of the account `user` names.
    pub(super) async fn user_dn(&self, user: &str) -> Result<String, DirectoryError> {
        let mut session = self.session().await?;
        let entry = resolve_user(&mut session, &self.base_dn, &self.domain, user, &["cn"]).await;
        session.close().await;
        Ok(entry?.dn)
    }

    /// Applies `mods` to the account `user` names. `secret` is scrubbed from any error.
    async fn modify_user(
        &self,
        user: &str,
        doing: &str,
        mods: Vec<Mod<Vec<u8>>>,
        secret: Option<&Secret>,
    ) -> Result<(), DirectoryError> {
        let mut session = self.session().await?;
        let outcome = async {
            let entry =
                resolve_user(&mut session, &self.base_dn, &self.domain, user, &["cn"]).await?;
            modify(&mut session, &entry.dn, mods, &format!("{doing} {user}")).await
        }
        .await;
        session.close().await;
        outcome.map_err(|e| match secret {
            Some(secret) => codes::scrub(e, secret.expose()),
            None => e,
        })
    }

    /// Adds or removes the account's DN in the group's `member`; the state already being the
    /// wanted one is success.
    async fn change_membership(
        &self,
        user: &str,
        group: &str,
        add: bool,
    ) -> Result<(), DirectoryError> {
        let mut session = self.session().await?;
        let outcome = async {
            let entry = resolve_user(
                &mut session,
                &self.base_dn,
                &self.domain,
                user,
                &["memberOf"],
            )
            .await?;
            let group_dn = resolve_group(&mut session, &self.base_dn, group).await?;
            let member = entry.dn.into_bytes();
            let (change, doing) = if add {
                (
                    Mod::Add(b"member".to_vec(), values(member)),
                    format!("adding {user} to {group}"),
                )
            } else {
                (
                    Mod::Delete(b"member".to_vec(), values(member)),
                    format!("removing {user} from {group}"),
                )
            };
            let result = session
                .ldap()
                .modify(&group_dn, vec![change])
                .await
                .map_err(|e| codes::ldap_error(e, &doing))?;
            match result.rc {
                0 => Ok(()),
                // Already a member: AD says entryAlreadyExists, others attributeOrValueExists.
                RC_ENTRY_ALREADY_EXISTS | RC_ATTRIBUTE_OR_VALUE_EXISTS if add => Ok(()),
                // Not a member: noSuchAttribute, or AD's unwillingToPerform for a value that is
                // not there. unwillingToPerform can mean other refusals too, so it counts as
                // success only when the account is indeed not a member.
                RC_NO_SUCH_ATTRIBUTE if !add => Ok(()),
                RC_UNWILLING_TO_PERFORM if !add => {
                    let still = is_member(&mut session, &group_dn, user, self).await?;
                    if still {
                        Err(codes::result_error(&result, &doing))
                    } else {
                        Ok(())
                    }
                }
                _ => Err(codes::result_error(&result, &doing)),
            }
        }
        .await;
        session.close().await;
        outcome
    }
}

/// Whether the account is listed in the group's `member`.
async fn is_member(
    session: &mut Session,
    group_dn: &str,
    user: &str,
    dir: &LdapDirectory,
) -> Result<bool, DirectoryError> {
    let entry = resolve_user(session, &dir.base_dn, &dir.domain, user, &["memberOf"]).await?;
    let groups = entry
        .attrs
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("memberOf"))
        .flat_map(|(_, dns)| dns.iter());
    Ok(groups
        .into_iter()
        .any(|dn| dn.eq_ignore_ascii_case(group_dn)))
}

async fn modify(
    session: &mut Session,
    dn: &str,
    mods: Vec<Mod<Vec<u8>>>,
    doing: &str,
) -> Result<(), DirectoryError> {
    let result = session
        .ldap()
        .modify(dn, mods)
        .await
        .map_err(|e| codes::ldap_error(e, doing))?;
    if result.rc == 0 {
        Ok(())
    } else {
        Err(codes::result_error(&result, doing))
    }
}

impl LdapDirectory {
    /// The accounts matching `filter` under the base DN, at most `limit` asked of the server,
    /// sorted by sAMAccountName (whatever order, or count, the server sent).
    async fn sorted_accounts(
        &self,
        filter: &str,
        limit: usize,
    ) -> Result<Vec<Account>, DirectoryError> {
        let mut session = self.session().await?;
        let found = search(
            &mut session,
            &self.base_dn,
            Scope::Subtree,
            filter,
            ACCOUNT_ATTRS,
            Some(limit),
            true,
        )
        .await
        .map_err(|e| super::search::base_dn_missing(e, &self.base_dn));
        session.close().await;
        let mut accounts: Vec<Account> = found?
            .iter()
            .map(|entry| account_from_entry(entry, &self.domain))
            .collect();
        accounts.sort_by_key(|a| a.sam_name.to_lowercase());
        Ok(accounts)
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    fn domain(&self) -> &str {
        &self.domain
    }

    async fn find(&self, text: &str, limit: usize) -> Result<Vec<Account>, DirectoryError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut accounts = self.sorted_accounts(&find_filter(text), limit).await?;
        accounts.truncate(limit);
        Ok(accounts)
    }

    /// Pages by name: the cursor is the last sAMAccountName of the previous page, and each
    /// page is a sorted, size-limited search for the names after it. Every page stands on its
    /// own connection (a paged-results cookie would not outlive the connection it came on).
    async fn accounts_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Account>, Option<String>), DirectoryError> {
        let limit = limit.max(1);
        let mut accounts = self.sorted_accounts(&after_filter(cursor), limit).await?;
        // A DC may send more than the size limit (Samba does for some binds): the page is
        // the first `limit` by name, and the next one starts after the last of them.
        let next = if accounts.len() >= limit {
            accounts.truncate(limit);
            accounts.last().map(|a| a.sam_name.clone())
        } else {
            None
        };
        Ok((accounts, next))
    }

    async fn account(&self, user: &str) -> Result<Account, DirectoryError> {
        let mut session = self.session().await?;
        let entry = resolve_user(
            &mut session,
            &self.base_dn,
            &self.domain,
            user,
            ACCOUNT_ATTRS,
        )
        .await;
        session.close().await;
        Ok(account_from_entry(&entry?, &self.domain))
    }

    async fn reset_password(
        &self,
        user: &str,
        password: &Secret,
        options: ResetOptions,
    ) -> Result<(), DirectoryError> {
        // The password first: setting it stamps pwdLastSet with now, which a following
        // pwdLastSet=0 in the same change then overrides.
        let mut mods = vec![replace("unicodePwd", unicode_pwd(password.expose()))];
        if options.must_change {
            mods.push(replace("pwdLastSet", "0"));
        }
        if options.unlock {
            mods.push(replace("lockoutTime", "0"));
        }
        self.modify_user(user, "resetting the password of", mods, Some(password))
            .await
    }

    async fn unlock(&self, user: &str) -> Result<(), DirectoryError> {
        self.modify_user(user, "unlocking", vec![replace("lockoutTime", "0")], None)
            .await
    }

    async fn set_enabled(&self, user: &str, enabled: bool) -> Result<(), DirectoryError> {
        let doing = if enabled { "enabling" } else { "disabling" };
        let mut session = self.session().await?;
        let outcome = async {
            let entry = resolve_user(
                &mut session,
                &self.base_dn,
                &self.domain,
                user,
                &["userAccountControl"],
            )
            .await?;
            let current = uac(&entry).ok_or_else(|| {
                DirectoryError::Other(format!(
                    "{doing} {user}: the account has no readable userAccountControl"
                ))
            })?;
            // Only ACCOUNTDISABLE changes; every other flag is kept as it is.
            let wanted = if enabled {
                current & !UAC_ACCOUNTDISABLE
            } else {
                current | UAC_ACCOUNTDISABLE
            };
            if wanted == current {
                return Ok(());
            }
            modify(
                &mut session,
                &entry.dn,
                vec![replace("userAccountControl", wanted.to_string())],
                &format!("{doing} {user}"),
            )
            .await
        }
        .await;
        session.close().await;
        outcome
    }

    async fn add_to_group(&self, user: &str, group: &str) -> Result<(), DirectoryError> {
        self.change_membership(user, group, true).await
    }

    async fn remove_from_group(&self, user: &str, group: &str) -> Result<(), DirectoryError> {
        self.change_membership(user, group, false).await
    }

    async fn create(&self, account: &NewAccount) -> Result<Account, DirectoryError> {
        let sam = account.sam_name.trim();
        if sam.is_empty() {
            return Err(DirectoryError::Other(
                "a new account needs a sAMAccountName".into(),
            ));
        }
        let ou = match account.ou.trim() {
            "" => self.default_ou.clone(),
            ou => ou.to_string(),
        };
        let cn = match account.display_name.trim() {
            "" => sam,
            name => name,
        };
        // Two people may share a name: the second gets the account name beside it, as
        // administrators write it by hand (`CN=Ada Lovelace (ada.lovelace2)`).
        let names = [
            format!("CN={},{ou}", dn_escape(cn)),
            format!("CN={},{ou}", dn_escape(format!("{cn} ({sam})"))),
        ];
        let mut attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = vec![(
            b"objectClass".to_vec(),
            ["top", "person", "organizationalPerson", "user"]
                .into_iter()
                .map(|c| c.as_bytes().to_vec())
                .collect(),
        )];
        let mut text = |name: &str, value: &str| {
            // AD refuses empty values; an empty field is simply not set.
            if !value.trim().is_empty() {
                attrs.push((name.as_bytes().to_vec(), values(value.trim())));
            }
        };
        text("sAMAccountName", sam);
        text("userPrincipalName", &account.upn);
        text("givenName", &account.given_name);
        text("sn", &account.surname);
        text("displayName", &account.display_name);
        text("mail", &account.mail);
        text("userAccountControl", &UAC_NORMAL_ACCOUNT.to_string());
        if account.must_change {
            text("pwdLastSet", "0");
        }
        attrs.push((
            b"unicodePwd".to_vec(),
            values(unicode_pwd(account.password.expose())),
        ));

        let mut session = self.session().await?;
        let outcome = async {
            let mut made = None;
            for dn in &names {
                let doing = format!("creating {dn}");
                let result = session
                    .ldap()
                    .add(dn, attrs.clone())
                    .await
                    .map_err(|e| codes::ldap_error(e, &doing))?;
                match result.rc {
                    0 => {
                        made = Some(dn);
                        break;
                    }
                    RC_ENTRY_ALREADY_EXISTS => continue,
                    _ => return Err(codes::result_error(&result, &doing)),
                }
            }
            let Some(dn) = made else {
                return Err(DirectoryError::Other(format!(
                    "creating {}: an object with that name already exists, and so does {}",
                    names[0], names[1]
                )));
            };
            let doing = format!("creating {dn}");
            let mut stored = search(
                &mut session,
                dn,
                Scope::Base,
                "(objectClass=user)",
                ACCOUNT_ATTRS,
                None,
                false,
            )
            .await?;
            match stored.pop() {
                Some(entry) => Ok(account_from_entry(&entry, &self.domain)),
                None => Err(DirectoryError::Other(format!(
                    "{doing}: the new account cannot be read back"
                ))),
            }
        }
        .await;
        session.close().await;
        outcome.map_err(|e| codes::scrub(e, account.password.expose()))
    }
}
