//! Directory accounts: one interface over Active Directory (LDAPS or StartTLS, [`ldap`]) and
//! the CVAD Identity API ([`cvad_identity`]), so password resets, unlocks and account changes
//! run the same way whichever backend a domain is configured with.
//!
//! New passwords travel as [`Secret`]s: nothing in this module formats one, and errors carry
//! the directory's words about *why* a password was refused, never the password itself.

pub mod cvad_identity;
pub mod error;
pub mod ldap;
pub mod registry;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use error::DirectoryError;
pub use registry::{Directories, DirectoryBackend, DirectoryConfig};

use crate::secret::Secret;

/// One account as the helpdesk sees it, with the states that decide what it can do next.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Account {
    /// `sAMAccountName`, without the domain.
    pub sam_name: String,
    /// NetBIOS domain name (`LAB`).
    pub domain: String,
    pub upn: String,
    pub display_name: String,
    pub mail: String,
    /// The distinguished name, where the backend has one (LDAP); empty otherwise.
    pub dn: String,
    /// Locked out after too many bad passwords.
    pub locked: bool,
    /// `ACCOUNTDISABLE` is set.
    pub disabled: bool,
    /// The user must choose a new password at the next logon (`pwdLastSet = 0`).
    pub must_change: bool,
    /// When the current password expires; `None` when it never does (or is unknown).
    pub password_expires: Option<DateTime<Utc>>,
    /// Common names of the groups the account is a direct member of.
    pub groups: Vec<String>,
    /// AD `department`; empty when the directory gives none (the CVAD Identity API has no
    /// such field).
    #[serde(default)]
    pub department: String,
    /// Where the user works: AD `l` (city), else `physicalDeliveryOfficeName`; the Identity
    /// API's `City`. Empty when unknown.
    #[serde(default)]
    pub location: String,
}

impl Account {
    /// `DOMAIN\sam`, the form CVAD uses.
    pub fn qualified_name(&self) -> String {
        format!("{}\\{}", self.domain, self.sam_name)
    }

    /// The DN of the OU (or container) the account is in: its DN without the first RDN;
    /// empty when the backend gives no DN.
    pub fn ou(&self) -> String {
        parent_dn(&self.dn)
    }
}

/// What an `account.password_reset` changes besides the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResetOptions {
    /// Make the user choose a new password at the next logon.
    pub must_change: bool,
    /// Clear a lockout in the same change.
    pub unlock: bool,
}

/// A new account (onboarding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub sam_name: String,
    pub given_name: String,
    pub surname: String,
    pub display_name: String,
    pub upn: String,
    pub mail: String,
    /// Distinguished name of the OU to create the account in; empty for the backend's default.
    pub ou: String,
    pub password: Secret,
    pub must_change: bool,
}

/// A directory of accounts. `user` arguments accept a `sAMAccountName`, a `DOMAIN\sam` or a
/// UPN; backends resolve them to one account or answer [`DirectoryError::NotFound`].
#[async_trait]
pub trait Directory: Send + Sync {
    /// The NetBIOS domain this directory serves (`LAB`).
    fn domain(&self) -> &str;

    /// Accounts whose sAMAccountName, UPN, mail or display name contains `text`
    /// (case-insensitive), at most `limit` of them, ordered by sAMAccountName.
    async fn find(&self, text: &str, limit: usize) -> Result<Vec<Account>, DirectoryError>;

    /// One account with its current state.
    async fn account(&self, user: &str) -> Result<Account, DirectoryError>;

    /// One page of the whole directory's accounts, ordered by the backend: at most `limit`
    /// accounts after `cursor` (a value an earlier page returned; `None` for the first page),
    /// and the cursor of the next page, `None` after the last one. The default is one page
    /// of [`Directory::find`] with no text, for backends that cannot page.
    async fn accounts_page(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Account>, Option<String>), DirectoryError> {
        if cursor.is_some() {
            return Ok((Vec::new(), None));
        }
        Ok((self.find("", limit).await?, None))
    }

    /// Sets a new password as an administrator (no old password needed).
    async fn reset_password(
        &self,
        user: &str,
        password: &Secret,
        options: ResetOptions,
    ) -> Result<(), DirectoryError>;

    /// Clears a lockout.
    async fn unlock(&self, user: &str) -> Result<(), DirectoryError>;

    /// Enables or disables the account.
    async fn set_enabled(&self, user: &str, enabled: bool) -> Result<(), DirectoryError>;

    /// Adds the account to a group (by common name or DN); already a member is success.
    async fn add_to_group(&self, user: &str, group: &str) -> Result<(), DirectoryError>;

    /// Removes the account from a group; not a member is success.
    async fn remove_from_group(&self, user: &str, group: &str) -> Result<(), DirectoryError>;

    /// Creates an account and returns it as stored.
    async fn create(&self, account: &NewAccount) -> Result<Account, DirectoryError>;
}

/// A DN without its first RDN (`CN=Doe\, Jane,OU=Staff,DC=corp` → `OU=Staff,DC=corp`); an
/// escaped comma inside a value does not end the RDN. Empty for an empty or one-RDN DN.
pub fn parent_dn(dn: &str) -> String {
    let mut escaped = false;
    for (i, c) in dn.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => return dn[i + 1..].trim().to_string(),
            _ => {}
        }
    }
    String::new()
}

/// The part of `user` a directory looks up: `DOMAIN\sam` → `sam`; a UPN or plain name as is.
pub fn account_name(user: &str) -> &str {
    user.rsplit_once('\\').map_or(user, |(_, sam)| sam).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ou_is_the_dn_without_its_first_rdn() {
        let account = Account {
            dn: "CN=Doe\\, Jane,OU=Finance,OU=London,DC=lab,DC=example".into(),
            ..Account::default()
        };
        assert_eq!(account.ou(), "OU=Finance,OU=London,DC=lab,DC=example");
        assert_eq!(parent_dn("CN=Users, DC=lab"), "DC=lab");
        assert_eq!(parent_dn("DC=lab"), "");
        assert_eq!(Account::default().ou(), "");
    }

    #[test]
    fn account_names_drop_the_domain() {
        assert_eq!(account_name("LAB\\alice.smith"), "alice.smith");
        assert_eq!(
            account_name("alice.smith@lab.example"),
            "alice.smith@lab.example"
        );
        assert_eq!(account_name(" bob "), "bob");
    }
}
