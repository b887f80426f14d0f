//! What an API client may do. Shared by the adapter (which enforces it) and the console (which
//! hides what the operator's role cannot run).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read everything, change nothing.
    Viewer,
    /// Session logoff/disconnect/message, ticket work, password reset and unlock.
    Helpdesk,
    /// Everything: power, maintenance, provisioning, offboarding, site enable/disable.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Helpdesk, Role::Admin];

    /// True when this role may do what `required` may.
    pub fn allows(self, required: Role) -> bool {
        self >= required
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Helpdesk => "helpdesk",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|role| role.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_include_the_ones_before_them() {
        assert!(Role::Admin.allows(Role::Helpdesk));
        assert!(Role::Helpdesk.allows(Role::Viewer));
        assert!(!Role::Viewer.allows(Role::Helpdesk));
        assert!(!Role::Helpdesk.allows(Role::Admin));
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
