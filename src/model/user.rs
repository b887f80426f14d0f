//! Directory users, as the helpdesk sees them across ServiceNow, CVAD and Active Directory.

use serde::{Deserialize, Serialize};

/// One person. Every identifier is optional in practice; `sam_name` is the join key across systems.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct User {
    /// `sAMAccountName`, without domain.
    pub sam_name: String,
    pub domain: String,
    pub upn: String,
    pub display_name: String,
    pub mail: String,
    pub department: String,
    pub location: String,
    /// Distinguished name of the organisational unit holding the account.
    pub ou: String,
    pub title: String,
}

impl User {
    /// `DOMAIN\sam`, the form CVAD uses for user names.
    pub fn qualified_name(&self) -> String {
        format!("{}\\{}", self.domain, self.sam_name)
    }
}
