//! The users view's directory accounts: the account under the cursor is read once (cached by
//! login; the runner sends only the last of a burst of cursor moves) and its flags fill that
//! row's locked / disabled / must-change / expiry cells, so 100,000 users never mean 100,000
//! requests. What is known survives reloads; an account job's end forgets it.

use super::msg::Failure;
use super::{App, Effect, Row, RowRef, Tone, convert};
use crate::console::client::AccountInfo;
use crate::console::keymap::View;

/// A directory account as far as the console knows it.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountSlot {
    Loading,
    Loaded(Box<AccountInfo>),
    Failed(String),
}

impl App {
    /// Reads the account under the cursor of the users view, unless known or on its way.
    pub(crate) fn follow_account(&mut self) -> Vec<Effect> {
        if self.view != View::Users || self.link != super::Link::Live {
            return Vec::new();
        }
        let Some(RowRef::User { login, .. }) = self.table().current().map(|r| r.target.clone())
        else {
            return Vec::new();
        };
        let Some((domain, sam)) = super::account::split_login(&login) else {
            return Vec::new();
        };
        if self.accounts.contains_key(&login) {
            return Vec::new();
        }
        let effect = Effect::LoadAccount {
            domain: domain.to_owned(),
            user: sam.to_owned(),
        };
        // The runner sends only the latest of a burst of cursor moves (holding `j`): any
        // earlier read still marked loading may never be sent, so it is forgotten here.
        self.accounts
            .retain(|_, slot| !matches!(slot, AccountSlot::Loading));
        self.accounts.insert(login, AccountSlot::Loading);
        vec![effect]
    }

    pub(crate) fn account_loaded(
        &mut self,
        login: String,
        result: Result<Box<AccountInfo>, Failure>,
    ) -> Vec<Effect> {
        self.dirty = true;
        match result {
            Ok(account) => {
                fill_row(&mut self.tables, &login, &account);
                self.accounts.insert(login, AccountSlot::Loaded(account));
            }
            Err(f) => {
                self.accounts.insert(login, AccountSlot::Failed(f.message));
            }
        }
        Vec::new()
    }

    /// After the users view reloads: the flags known so far go back into its rows.
    pub(crate) fn apply_accounts(&mut self) {
        let Some(users) = self.tables.get_mut(&View::Users) else {
            return;
        };
        if self.accounts.is_empty() {
            return;
        }
        for row in &mut users.rows {
            if let RowRef::User { login, .. } = &row.target
                && let Some(AccountSlot::Loaded(a)) = self.accounts.get(login)
            {
                *row = with_account(row, a);
            }
        }
    }

    /// An account job ended: what was read is out of date.
    pub(crate) fn accounts_changed(&mut self) -> Vec<Effect> {
        self.accounts.clear();
        self.follow_account()
    }
}

/// Puts `account`'s flags into its row of the users view (no other request, no re-sort).
fn fill_row(
    tables: &mut std::collections::BTreeMap<View, super::Table>,
    login: &str,
    account: &AccountInfo,
) {
    let Some(users) = tables.get_mut(&View::Users) else {
        return;
    };
    let found = users.rows.iter().position(
        |r| matches!(&r.target, RowRef::User { login: l, .. } if l.eq_ignore_ascii_case(login)),
    );
    if let Some(i) = found {
        users.rows[i] = with_account(&users.rows[i], account);
    }
}

/// A users-view row with the account columns filled and its tone from the flags.
pub fn with_account(row: &Row, a: &AccountInfo) -> Row {
    let columns = convert::columns(View::Users);
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let cells: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| match c.name {
            "locked" => yes_no(a.locked),
            "disabled" => yes_no(a.disabled),
            "must_change" => yes_no(a.must_change),
            "expires" => a
                .password_expires
                .map_or_else(|| "never".to_owned(), |t| convert::time(Some(t))),
            "mail" => a.mail.clone(),
            "groups" => a.groups.join(", "),
            _ => row.cell(i).to_owned(),
        })
        .collect();
    let tone = if a.disabled {
        Tone::Muted
    } else if a.locked {
        Tone::Warn
    } else {
        Tone::Plain
    };
    Row::new(row.target.clone(), cells, tone)
}
