//! The lab's Active Directory domain `LAB`, in memory: one shared directory per lab, served by
//! every CVAD site's Identity API (`/cvad/manage/Identity/...`) and driven by the control
//! routes under `/_lab/directory` (bad logons, logon checks).
//!
//! Layout: `state` (records and seeding), `policy` (password and lockout rules), `control`
//! (the `/_lab/directory` routes). This module holds the operations both sides use, with AD's
//! semantics: an admin reset skips the history and sets `pwdLastSet` to now (or to 0 when the
//! user must change it); a reset does not unlock; lockout lasts until an administrator unlocks;
//! accounts protected by AdminSDHolder (Domain Admins) refuse the helpdesk's changes.

mod control;
pub mod policy;
pub mod state;

pub use control::router as control_router;
pub use policy::Policy;

use crate::lab::{LabContext, SimClock};
use crate::secret::Secret;
use state::DirState;
use std::sync::{Mutex, MutexGuard};

/// The lab's directory.
pub struct LabDirectory {
    clock: SimClock,
    policy: Policy,
    state: Mutex<DirState>,
}

impl std::fmt::Debug for LabDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabDirectory")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Why the directory refused an operation, before it is put into an API's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotFound {
        entity: &'static str,
        name: String,
    },
    /// The caller's delegation does not cover the object (AD `E_ACCESSDENIED`).
    Denied(String),
    /// The password policy refused the new password (`0000052D ...`).
    Constraint(String),
    /// A self-service change named the wrong current password.
    WrongPassword,
    /// Well formed but meaningless (for example asking to lock an account).
    Invalid(String),
}

/// What an update asks for; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub new_password: Option<Secret>,
    /// Present for a self-service change; absent for an administrator's reset.
    pub old_password: Option<Secret>,
    pub enabled: Option<bool>,
    /// Clear a lockout.
    pub unlock: bool,
    /// `Some(true)`: must change at next logon; `Some(false)`: clear that.
    pub change_at_logon: Option<bool>,
}

/// The outcome of a logon attempt, with AD's bind sub-code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logon {
    Accepted,
    BadPassword,
    Locked,
    Disabled,
    MustChange,
    Expired,
    NoSuchUser,
}

impl Logon {
    pub fn code(self) -> &'static str {
        match self {
            Logon::Accepted => "0",
            Logon::BadPassword | Logon::NoSuchUser => "52e",
            Logon::Locked => "775",
            Logon::Disabled => "533",
            Logon::MustChange => "773",
            Logon::Expired => "532",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Logon::Accepted => "accepted",
            Logon::BadPassword => "bad_password",
            Logon::Locked => "locked",
            Logon::Disabled => "disabled",
            Logon::MustChange => "must_change",
            Logon::Expired => "expired",
            Logon::NoSuchUser => "no_such_user",
        }
    }
}

impl LabDirectory {
    /// Seeds the directory from the lab's people.
    pub fn seed(ctx: &LabContext) -> LabDirectory {
        let policy = Policy::default();
        LabDirectory {
            clock: ctx.clock.clone(),
            policy,
            state: Mutex::new(state::seed(ctx, &policy)),
        }
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    pub fn lock(&self) -> MutexGuard<'_, DirState> {
        // Records stay individually consistent if a holder panicked; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `change` to the account `user` all at once, or refuses it without changing
    /// anything. Returns the account's index.
    pub fn update(&self, user: &str, change: &Change) -> Result<usize, Refusal> {
        let now = self.clock.now();
        let policy = self.policy;
        let mut state = self.lock();
        let i = state.account(user).ok_or_else(|| not_found("User", user))?;
        let account = &mut state.accounts[i];
        if account.protected && change.old_password.is_none() {
            return Err(Refusal::Denied(format!(
                "Access is denied. (Exception from HRESULT: 0x80070005 (E_ACCESSDENIED)): \
                 {} is a protected account (Domain Admins)",
                account.qualified()
            )));
        }
        if let Some(old) = &change.old_password {
            if change.new_password.is_none() {
                return Err(Refusal::Invalid(
                    "OldPassword is only meaningful with NewPassword".into(),
                ));
            }
            if old != &account.password {
                // A wrong current password counts as a bad password, as in AD.
                record_bad_logon(account, &policy, now);
                return Err(Refusal::WrongPassword);
            }
        }
        if let Some(new) = &change.new_password {
            policy
                .check(new.expose(), &account.sam, &account.display_name)
                .map_err(Refusal::Constraint)?;
            let self_service = change.old_password.is_some();
            if self_service
                && (new == &account.password
                    || account
                        .history
                        .iter()
                        .rev()
                        .take(policy.history)
                        .any(|h| h == new))
            {
                return Err(Refusal::Constraint(Policy::history_refusal()));
            }
            let old = std::mem::replace(&mut account.password, new.clone());
            if self_service {
                account.history.push(old);
            }
            account.password_set = Some(now);
        }
        match change.change_at_logon {
            Some(true) => account.password_set = None,
            Some(false) if account.password_set.is_none() => account.password_set = Some(now),
            _ => {}
        }
        if let Some(enabled) = change.enabled {
            account.enabled = enabled;
        }
        if change.unlock {
            account.locked_at = None;
            account.bad_logons = 0;
        }
        Ok(i)
    }

    /// Adds `user` to or removes it from `group`; doing what is already so is success.
    pub fn set_membership(&self, group: &str, user: &str, member: bool) -> Result<(), Refusal> {
        let mut state = self.lock();
        let g = state
            .group(group)
            .ok_or_else(|| not_found("Group", group))?;
        let i = state.account(user).ok_or_else(|| not_found("User", user))?;
        if state.groups[g].protected || state.accounts[i].protected {
            return Err(Refusal::Denied(format!(
                "Access is denied. (Exception from HRESULT: 0x80070005 (E_ACCESSDENIED)): \
                 membership of {} is managed by the domain administrators",
                state.groups[g].name
            )));
        }
        let groups = &mut state.accounts[i].groups;
        if member {
            groups.insert(g);
        } else {
            groups.remove(&g);
        }
        Ok(())
    }

    /// One interactive logon attempt, counted the way a domain controller counts it.
    pub fn logon(&self, user: &str, password: &Secret) -> Logon {
        let now = self.clock.now();
        let policy = self.policy;
        let mut state = self.lock();
        let Some(i) = state.account(user) else {
            return Logon::NoSuchUser;
        };
        let account = &mut state.accounts[i];
        if account.locked_at.is_some() {
            return Logon::Locked;
        }
        if password != &account.password {
            record_bad_logon(account, &policy, now);
            return Logon::BadPassword;
        }
        account.bad_logons = 0;
        if !account.enabled {
            return Logon::Disabled;
        }
        match account.password_expires(&policy) {
            _ if account.password_set.is_none() => Logon::MustChange,
            Some(expires) if expires <= now => Logon::Expired,
            _ => Logon::Accepted,
        }
    }
}

fn not_found(entity: &'static str, name: &str) -> Refusal {
    Refusal::NotFound {
        entity,
        name: name.to_string(),
    }
}

fn record_bad_logon(
    account: &mut state::AccountRec,
    policy: &Policy,
    now: chrono::DateTime<chrono::Utc>,
) {
    account.bad_logons += 1;
    if policy.lockout_threshold > 0 && account.bad_logons >= policy.lockout_threshold {
        account.locked_at.get_or_insert(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> LabDirectory {
        let (state, clock) = state::test_state();
        LabDirectory {
            clock,
            policy: Policy::default(),
            state: Mutex::new(state),
        }
    }

    /// A person's account in good standing.
    fn healthy(dir: &LabDirectory) -> String {
        let state = dir.lock();
        let a = state.accounts.iter().find(|a| {
            !a.protected && a.enabled && a.locked_at.is_none() && a.password_set.is_some()
        });
        a.expect("a healthy account").sam.clone()
    }

    fn reset(dir: &LabDirectory, user: &str, password: &str) -> Result<usize, Refusal> {
        let change = Change {
            new_password: Some(Secret::new(password)),
            ..Change::default()
        };
        dir.update(user, &change)
    }

    #[test]
    fn a_reset_takes_effect_and_the_old_password_stops_working() {
        let dir = directory();
        let user = healthy(&dir);
        reset(&dir, &user, "First#Pass2027").expect("reset");
        reset(&dir, &user, "Second#Pass2027").expect("second reset");
        assert_eq!(dir.logon(&user, &"Second#Pass2027".into()), Logon::Accepted);
        assert_eq!(
            dir.logon(&user, &"First#Pass2027".into()),
            Logon::BadPassword
        );
    }

    #[test]
    fn a_weak_password_changes_nothing() {
        let dir = directory();
        let user = healthy(&dir);
        reset(&dir, &user, "Known#Pass2027").expect("reset");
        let err = reset(&dir, &user, "short").expect_err("weak");
        assert!(matches!(&err, Refusal::Constraint(text) if text.contains("too short")));
        assert_eq!(dir.logon(&user, &"Known#Pass2027".into()), Logon::Accepted);
    }

    #[test]
    fn bad_logons_lock_at_the_threshold_until_an_admin_unlocks() {
        let dir = directory();
        let user = healthy(&dir);
        reset(&dir, &user, "Known#Pass2027").expect("reset");
        let threshold = dir.policy().lockout_threshold;
        for _ in 0..threshold - 1 {
            assert_eq!(dir.logon(&user, &"wrong".into()), Logon::BadPassword);
        }
        assert_eq!(dir.logon(&user, &"Known#Pass2027".into()), Logon::Accepted);
        for _ in 0..threshold {
            dir.logon(&user, &"wrong".into());
        }
        // Locked: even the right password is refused, and a reset alone does not unlock.
        assert_eq!(dir.logon(&user, &"Known#Pass2027".into()), Logon::Locked);
        reset(&dir, &user, "Other#Pass2027").expect("reset");
        assert_eq!(dir.logon(&user, &"Other#Pass2027".into()), Logon::Locked);
        let unlock = Change {
            unlock: true,
            ..Change::default()
        };
        dir.update(&user, &unlock).expect("unlock");
        assert_eq!(dir.logon(&user, &"Other#Pass2027".into()), Logon::Accepted);
    }

    #[test]
    fn must_change_disable_and_protection_behave_like_ad() {
        let dir = directory();
        let user = healthy(&dir);
        let change = Change {
            new_password: Some("Known#Pass2027".into()),
            change_at_logon: Some(true),
            ..Change::default()
        };
        dir.update(&user, &change).expect("reset");
        assert_eq!(
            dir.logon(&user, &"Known#Pass2027".into()),
            Logon::MustChange
        );
        let disable = Change {
            enabled: Some(false),
            change_at_logon: Some(false),
            ..Change::default()
        };
        dir.update(&user, &disable).expect("disable");
        assert_eq!(dir.logon(&user, &"Known#Pass2027".into()), Logon::Disabled);
        let err = reset(&dir, "administrator", "Admin#Pass2027").expect_err("protected");
        assert!(matches!(err, Refusal::Denied(_)));
    }

    #[test]
    fn self_service_changes_need_the_current_password_and_respect_history() {
        let dir = directory();
        let user = healthy(&dir);
        reset(&dir, &user, "Known#Pass2027").expect("reset");
        let change = |old: &str, new: &str| Change {
            old_password: Some(old.into()),
            new_password: Some(new.into()),
            ..Change::default()
        };
        let err = dir.update(&user, &change("wrong", "Next#Pass2027"));
        assert_eq!(err, Err(Refusal::WrongPassword));
        dir.update(&user, &change("Known#Pass2027", "Next#Pass2027"))
            .expect("change");
        let err = dir
            .update(&user, &change("Next#Pass2027", "Known#Pass2027"))
            .expect_err("in history");
        assert!(matches!(err, Refusal::Constraint(text) if text.contains("history")));
    }

    #[test]
    fn membership_changes_are_idempotent() {
        let dir = directory();
        let user = healthy(&dir);
        for _ in 0..2 {
            dir.set_membership("VPN Users", &user, true).expect("add");
        }
        let g = dir.lock().group("VPN Users").expect("group");
        let i = dir.lock().account(&user).expect("account");
        assert!(dir.lock().accounts[i].groups.contains(&g));
        for _ in 0..2 {
            dir.set_membership("vpn users", &user, false)
                .expect("remove");
        }
        assert!(!dir.lock().accounts[i].groups.contains(&g));
        let err = dir.set_membership("No Such Group", &user, true);
        assert!(matches!(
            err,
            Err(Refusal::NotFound {
                entity: "Group",
                ..
            })
        ));
    }
}
