//! The account-state cache: for every configured directory, each account's locked, disabled,
//! must-change and password-expiry state, so the users list can show and filter by them
//! without asking the directory per user. Refreshed whole at start and then every
//! [`DEFAULT_ACCOUNT_REFRESH`] (paging through [`Directory::accounts_page`]), and one account
//! at a time whenever the adapter reads that account ([`AccountStates::record`]).
//!
//! A failed refresh keeps the domain's previous states and is logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;

use crate::directory::{Account, Directory, DirectoryError};

/// How often each directory's account states are read again.
pub const DEFAULT_ACCOUNT_REFRESH: Duration = Duration::from_secs(10 * 60);

/// Accounts asked for per page of a refresh (AD answers at most 1,000 per search).
pub const REFRESH_PAGE: usize = 500;

/// A refresh stops after this many pages: a directory whose cursor never ends would
/// otherwise keep it busy forever.
const MAX_PAGES: usize = 10_000;

/// What the users list shows of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AccountState {
    pub locked: bool,
    pub disabled: bool,
    pub must_change: bool,
    /// When the password expires; null when it never does or is unknown.
    pub password_expires: Option<DateTime<Utc>>,
}

impl From<&Account> for AccountState {
    fn from(a: &Account) -> Self {
        AccountState {
            locked: a.locked,
            disabled: a.disabled,
            must_change: a.must_change,
            password_expires: a.password_expires,
        }
    }
}

/// Account states by upper-case domain, then lower-case sAMAccountName. Cheap to share.
#[derive(Debug, Default)]
pub struct AccountStates {
    domains: Mutex<HashMap<String, HashMap<String, AccountState>>>,
    /// Bumped by every change, so views built from the states know when to rebuild.
    generation: AtomicU64,
}

impl AccountStates {
    /// A change counter: equal values mean the same states.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The state of `DOMAIN\sam` (any case), if its directory listed it or it was read.
    pub fn get(&self, user_name: &str) -> Option<AccountState> {
        self.with(|state_of| state_of(user_name))
    }

    /// Calls `f` with a lookup of many users at once (one lock for a whole view).
    pub fn with<T>(&self, f: impl FnOnce(&dyn Fn(&str) -> Option<AccountState>) -> T) -> T {
        let domains = lock(&self.domains);
        let lookup = |user_name: &str| {
            let (domain, sam) = user_name.split_once('\\')?;
            domains
                .get(&domain.trim().to_uppercase())?
                .get(&sam.trim().to_lowercase())
                .copied()
        };
        f(&lookup)
    }

    /// Records one account as just read from its directory.
    pub fn record(&self, account: &Account) {
        if account.domain.trim().is_empty() || account.sam_name.trim().is_empty() {
            return;
        }
        let state = AccountState::from(account);
        let mut domains = lock(&self.domains);
        let known = domains
            .entry(account.domain.trim().to_uppercase())
            .or_default();
        if known.insert(account.sam_name.trim().to_lowercase(), state) != Some(state) {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Replaces the states of `domain` with every account its directory lists now. On an
    /// error the previous states stay as they were.
    pub async fn refresh(&self, directory: &dyn Directory) -> Result<usize, DirectoryError> {
        let mut fresh: HashMap<String, AccountState> = HashMap::new();
        let mut cursor: Option<String> = None;
        let mut complete = false;
        for _ in 0..MAX_PAGES {
            let (accounts, next) = directory
                .accounts_page(cursor.as_deref(), REFRESH_PAGE)
                .await?;
            for account in &accounts {
                fresh.insert(
                    account.sam_name.trim().to_lowercase(),
                    AccountState::from(account),
                );
            }
            match next {
                // A cursor that does not move would list the same page again.
                Some(next) if cursor.as_deref() != Some(next.as_str()) => cursor = Some(next),
                Some(_) => {
                    return Err(DirectoryError::Other(format!(
                        "directory {} returned the same page cursor twice; the account \
                         list stops there",
                        directory.domain()
                    )));
                }
                None => {
                    complete = true;
                    break;
                }
            }
        }
        if !complete {
            // Half a directory would show the other half's locked users as unknown.
            return Err(DirectoryError::Other(format!(
                "directory {} has more than {MAX_PAGES} pages of accounts; the \
                 previous states are kept",
                directory.domain()
            )));
        }
        let count = fresh.len();
        lock(&self.domains).insert(directory.domain().trim().to_uppercase(), fresh);
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(count)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each write replaces whole values, so a panicked holder leaves consistent data.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The background loop of one directory: refresh now, then every `interval`, until `stop`.
pub async fn refresher(
    states: Arc<AccountStates>,
    directory: Arc<dyn Directory>,
    mut stop: watch::Receiver<bool>,
    interval: Duration,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        tokio::select! {
            result = states.refresh(directory.as_ref()) => match result {
                Ok(count) => tracing::debug!(domain = %directory.domain(), count, "account states refreshed"),
                Err(error) => tracing::warn!(
                    domain = %directory.domain(), %error,
                    "account state refresh failed; keeping the previous states"
                ),
            },
            _ = stop.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(domain: &str, sam: &str, locked: bool) -> Account {
        Account {
            sam_name: sam.into(),
            domain: domain.into(),
            locked,
            ..Account::default()
        }
    }

    #[test]
    fn states_are_found_by_domain_and_name_in_any_case() {
        let states = AccountStates::default();
        let before = states.generation();
        states.record(&account("LAB", "Alice.Smith", true));
        assert_ne!(states.generation(), before);
        let found = states.get("lab\\alice.smith").expect("recorded");
        assert!(found.locked);
        assert!(states.get("CORP\\alice.smith").is_none());
        assert!(states.get("alice.smith").is_none(), "no domain, no match");
        let same = states.generation();
        states.record(&account("LAB", "alice.smith", true));
        assert_eq!(states.generation(), same, "an unchanged state is no change");
        states.record(&account("LAB", "alice.smith", false));
        assert_eq!(
            states.with(|f| f("LAB\\ALICE.SMITH")).map(|s| s.locked),
            Some(false)
        );
    }
}
