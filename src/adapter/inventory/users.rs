//! The users view: every user seen in any site's sessions or machine assignments, with their
//! names, how many sessions and assigned machines they have and where. Derived from the site
//! snapshots, with the account's state from the directories' cache ([`super::accounts`]) where
//! it knows the user.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::accounts::AccountState;
use super::query::{Filter, Key, Row};
use super::rows::user_is;
use super::snapshot::{Indexed, SiteData};

/// One user as the inventory knows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    /// `DOMAIN\user`, as CVAD names users.
    pub user_name: String,
    pub upn: String,
    pub display_name: String,
    pub sessions: u32,
    /// Machines assigned to the user (static desktops).
    pub machines: u32,
    /// Sites where the user has a session or an assigned machine, by name.
    pub sites: Vec<String>,
    /// The directory account's state; absent when no directory knows the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountState>,
}

/// Builds the view from each site's data, users ordered by name.
pub fn build<'a>(
    sites: impl IntoIterator<Item = (&'a str, &'a SiteData)>,
) -> Vec<Indexed<UserView>> {
    struct Acc {
        view: UserView,
        sites: BTreeSet<String>,
    }
    let mut users: HashMap<String, Acc> = HashMap::new();
    fn entry<'m>(users: &'m mut HashMap<String, Acc>, name: &str) -> &'m mut Acc {
        users.entry(name.to_lowercase()).or_insert_with(|| Acc {
            view: UserView {
                user_name: name.to_owned(),
                upn: String::new(),
                display_name: String::new(),
                sessions: 0,
                machines: 0,
                sites: Vec::new(),
                account: None,
            },
            sites: BTreeSet::new(),
        })
    }
    for (site, data) in sites {
        for session in data.sessions.iter().map(|r| &r.item) {
            if session.user_name.is_empty() {
                continue;
            }
            let acc = entry(&mut users, &session.user_name);
            acc.view.sessions += 1;
            if acc.view.upn.is_empty() {
                acc.view.upn.clone_from(&session.user_upn);
            }
            if acc.view.display_name.is_empty() {
                acc.view.display_name.clone_from(&session.user_display_name);
            }
            if !acc.sites.contains(site) {
                acc.sites.insert(site.to_owned());
            }
        }
        for machine in data.machines.iter().map(|r| &r.item) {
            for name in machine.assigned_users.iter().filter(|n| !n.is_empty()) {
                let acc = entry(&mut users, name);
                acc.view.machines += 1;
                if !acc.sites.contains(site) {
                    acc.sites.insert(site.to_owned());
                }
            }
        }
    }
    let mut out: Vec<Indexed<UserView>> = users
        .into_values()
        .map(|mut acc| {
            acc.view.sites = acc.sites.into_iter().collect();
            let v = &acc.view;
            let text = Indexed::new((), &[&v.user_name, &v.upn, &v.display_name]).text;
            Indexed {
                item: acc.view,
                text,
            }
        })
        .collect();
    out.sort_by(|a, b| a.item.user_name.cmp(&b.item.user_name));
    out
}

impl Row for UserView {
    const SITE_SCOPED: bool = false;
    const SORT_FIELDS: &'static [&'static str] =
        &["user_name", "upn", "display_name", "sessions", "machines"];
    const FILTERS: &'static [&'static str] = &["user", "locked", "disabled", "must_change"];

    fn id(&self) -> &str {
        &self.user_name
    }

    fn key(&self, field: usize) -> Key<'_> {
        match field {
            1 => Key::Str(&self.upn),
            2 => Key::Str(&self.display_name),
            3 => Key::Int(i64::from(self.sessions)),
            4 => Key::Int(i64::from(self.machines)),
            _ => Key::Str(&self.user_name),
        }
    }

    fn matches(&self, f: &Filter) -> bool {
        f.user
            .as_deref()
            .is_none_or(|u| user_is(&self.user_name, &self.upn, u))
            && f.site
                .as_deref()
                .is_none_or(|s| self.sites.iter().any(|x| x.eq_ignore_ascii_case(s)))
            && account_is(self.account, f.locked, |a| a.locked)
            && account_is(self.account, f.disabled, |a| a.disabled)
            && account_is(self.account, f.must_change, |a| a.must_change)
    }

    fn check_state(state: &str) -> Result<(), String> {
        Err(format!("state={state:?}: users have no state to filter by"))
    }
}

/// Whether an account state passes one boolean filter; an unknown account passes none.
fn account_is(
    account: Option<AccountState>,
    want: Option<bool>,
    field: fn(&AccountState) -> bool,
) -> bool {
    want.is_none_or(|want| account.is_some_and(|a| field(&a) == want))
}
