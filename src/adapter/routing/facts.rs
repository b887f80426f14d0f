//! A user's routing facts, read from the directory that serves the user's domain.

use super::UserFacts;
use crate::directory::{Directories, DirectoryError};

/// Looks `user` (`DOMAIN\sam`, a UPN or a sAMAccountName) up and returns what routing needs.
/// A name without a domain is looked for in each directory in turn when there are several.
pub async fn facts(directories: &Directories, user: &str) -> Result<UserFacts, DirectoryError> {
    let user = user.trim();
    if user.is_empty() {
        return Err(DirectoryError::NotFound(String::new()));
    }
    if let Some(directory) = directories.for_user(user) {
        let account = directory.account(user).await?;
        return Ok(UserFacts::from_account(&account));
    }
    if !user.contains('\\') {
        for directory in directories.iter() {
            match directory.account(user).await {
                Ok(account) => return Ok(UserFacts::from_account(&account)),
                Err(DirectoryError::NotFound(_)) => continue,
                Err(other) => return Err(other),
            }
        }
    }
    Err(DirectoryError::NotFound(user.to_string()))
}

/// Why `user` cannot be looked up at all, when its domain has no directory: a message naming
/// the configured domains. `None` when a directory may know the user.
pub fn unknown_domain(directories: &Directories, user: &str) -> Option<String> {
    let known = || {
        let domains = directories.domains();
        if domains.is_empty() {
            "none (add [[directories]] to adapter.toml)".to_string()
        } else {
            domains.join(", ")
        }
    };
    match user.trim().split_once('\\') {
        Some((domain, _)) if directories.get(domain).is_none() => Some(format!(
            "no directory serves domain {domain:?}, so {user:?} cannot be looked up; \
             configured: {}",
            known()
        )),
        None if directories.is_empty() => Some(format!(
            "no directory is configured, so {user:?} cannot be looked up; configured: {}",
            known()
        )),
        _ => None,
    }
}

/// The message for a user no directory knows: which directories were asked.
pub fn not_found(directories: &Directories, user: &str) -> String {
    let user = user.trim();
    match user.split_once('\\') {
        Some((domain, _)) => format!(
            "no account {user} in the directory of domain {}",
            domain.to_uppercase()
        ),
        None => format!(
            "no account {user} in the directories of {}; give it as DOMAIN\\sam or a UPN",
            directories.domains().join(", ")
        ),
    }
}
