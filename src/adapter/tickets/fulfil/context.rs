//! What the workflow recipes (desktop, applications, unlock, onboarding, separation) know
//! beyond the request: the directories, today's date, the people the request names, and what
//! the directory and the routing rules say about the account it is about. The caller looks
//! these up first ([`super::lookup`]), so the recipes stay pure and testable.
//!
//! A ServiceNow user is an account `DOMAIN\sam` by their `user_name` (`DOMAIN\sam`, a UPN or a
//! bare `sam`) and, with several directories, by the domain of their email address.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{NotAutomatable, Person, quote};
use crate::adapter::routing::{Route, UserFacts};
use crate::directory::Account;

/// Everything a workflow recipe needs that is not in the request. [`Context::default`] knows
/// nothing: a workflow item planned with it is refused with a clear reason.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// NetBIOS names of the configured directories.
    pub domains: Vec<String>,
    /// The domains whose directory can create accounts (LDAP; the CVAD Identity API cannot).
    pub can_create: Vec<String>,
    /// Today (UTC): an onboarding that starts later, or a separation before the last day,
    /// waits. `None`: dates are not checked.
    pub today: Option<NaiveDate>,
    /// The ServiceNow users the request refers to (its `opened_by`, a `manager`), by sys_id.
    pub people: BTreeMap<String, Person>,
    /// The requested item's `opened_by` (a sys_id): who asked.
    pub opened_by: Option<String>,
    /// What the directory and routing said about the account the request is about.
    pub subject: Option<Subject>,
    /// The runbook the request's catalog item is mapped to (`[servicenow.runbooks]`).
    pub runbook: Option<super::Mapped>,
}

/// The account a workflow request is about, as looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// The domain and the name it was looked up by (a `sam` or a UPN): [`Key`]'s.
    pub domain: String,
    pub user: String,
    /// The account as the directory has it; `None`: the directory has no such account.
    pub account: Option<Account>,
    /// Where routing sends the person; `None` when nothing matched (see `no_route`).
    pub route: Option<Route>,
    /// Why no rule matched, rule by rule, when `route` is `None`.
    pub no_route: String,
    /// The applications (names and published names) of the route's application groups at
    /// the route's site, when the request names applications.
    pub routed_apps: Option<Vec<String>>,
    /// When the route gives the pooled desktop through an AD group: whether the delivery
    /// group the request names admits that group.
    pub admits: Option<bool>,
    /// A lookup that could not be made (directory or site unreachable): the request waits
    /// for a person rather than guessing.
    pub error: Option<String>,
}

/// What to look up for a request: the account, and what else its recipe decides with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub domain: String,
    /// A `sam` or a UPN, as the directory looks it up.
    pub user: String,
    /// An onboarding's new person: routing goes by what the request says of them.
    pub new_person: Option<UserFacts>,
    /// Whether the recipe needs the route.
    pub route: bool,
    /// Whether it needs the applications of the route's application groups.
    pub apps: bool,
    /// A delivery group the request names, to check against a route's access group.
    pub desktop: Option<String>,
}

impl Key {
    pub(super) fn new(domain: String, user: String) -> Key {
        Key {
            domain,
            user,
            new_person: None,
            route: false,
            apps: false,
            desktop: None,
        }
    }

    /// `DOMAIN\user`.
    pub fn qualified(&self) -> String {
        format!("{}\\{}", self.domain, self.user)
    }
}

impl Context {
    /// The lookup made for `key`; a refusal when there is none, or it failed.
    pub(super) fn subject(&self, key: &Key) -> Result<&Subject, NotAutomatable> {
        let subject = self
            .subject
            .as_ref()
            .filter(|s| {
                s.domain.eq_ignore_ascii_case(&key.domain) && s.user.eq_ignore_ascii_case(&key.user)
            })
            .ok_or_else(|| NotAutomatable::NeedsPerson {
                why: format!(
                    "deskbridge did not look {} up in the directory, so it cannot tell what \
                     to do",
                    key.qualified()
                ),
            })?;
        if let Some(error) = &subject.error {
            return Err(NotAutomatable::NeedsPerson {
                why: format!("deskbridge could not check {}: {error}", key.qualified()),
            });
        }
        Ok(subject)
    }

    /// `DOMAIN\sam` of a ServiceNow user, for a job's `requester`; their user name, email or
    /// name when no directory can be told.
    pub(super) fn qualified(&self, person: &Person) -> String {
        match key_of(person, &self.domains, "requester") {
            Ok(key) if !key.user.contains('@') => key.qualified(),
            Ok(key) => key.user,
            Err(_) => [&person.user_name, &person.email, &person.name]
                .into_iter()
                .map(|s| s.trim())
                .find(|s| !s.is_empty())
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

fn known(domains: &[String], domain: &str) -> Option<String> {
    domains
        .iter()
        .find(|d| d.eq_ignore_ascii_case(domain.trim()))
        .cloned()
}

/// The domain whose DNS name starts with a UPN's suffix (`lab.example` → `LAB`); the only
/// directory when there is one.
fn by_suffix(domains: &[String], upn: &str) -> Option<String> {
    let (_, suffix) = upn.split_once('@')?;
    let label = suffix.split('.').next().unwrap_or_default();
    known(domains, label).or_else(|| match domains {
        [only] => Some(only.clone()),
        _ => None,
    })
}

/// See [`Context::key_of`]: `DOMAIN\sam` names its domain; a UPN its suffix; a bare `sam` the
/// only directory, or with several the one the email's domain names.
pub(super) fn key_of(
    person: &Person,
    domains: &[String],
    variable: &'static str,
) -> Result<Key, NotAutomatable> {
    let who = if person.name.trim().is_empty() {
        person.sys_id.clone()
    } else {
        person.name.trim().to_owned()
    };
    let invalid = |why: String| NotAutomatable::InvalidValue {
        name: variable,
        value: who.clone(),
        why,
    };
    if domains.is_empty() {
        return Err(invalid(
            "deskbridge has no directory configured, so the account cannot be looked up; \
             add [[directories]] to adapter.toml"
                .to_owned(),
        ));
    }
    let user = person.user_name.trim();
    let email = person.email.trim();
    if let Some((domain, sam)) = user.split_once('\\') {
        let domain = known(domains, domain).ok_or_else(|| {
            invalid(format!(
                "their user name {} names a domain deskbridge has no directory for (it has {})",
                quote(user),
                domains.join(", ")
            ))
        })?;
        return Ok(Key::new(domain, sam.trim().to_owned()));
    }
    if user.contains('@') {
        let domain = by_suffix(domains, user).ok_or_else(|| {
            invalid(format!(
                "their user name {} matches none of deskbridge's directories ({})",
                quote(user),
                domains.join(", ")
            ))
        })?;
        return Ok(Key::new(domain, user.to_owned()));
    }
    if !user.is_empty() {
        let domain = match domains {
            [only] => Some(only.clone()),
            _ => email
                .split_once('@')
                .and_then(|(_, s)| known(domains, s.split('.').next().unwrap_or_default())),
        };
        let domain = domain.ok_or_else(|| {
            invalid(format!(
                "their user name {} has no domain and their email does not say which of \
                 deskbridge's directories ({}) they are in; make the ServiceNow user name \
                 DOMAIN\\user",
                quote(user),
                domains.join(", ")
            ))
        })?;
        return Ok(Key::new(domain, user.to_owned()));
    }
    if email.contains('@') {
        let domain = by_suffix(domains, email).ok_or_else(|| {
            invalid(format!(
                "they have no user name, and their email {} matches none of deskbridge's \
                 directories ({})",
                quote(email),
                domains.join(", ")
            ))
        })?;
        return Ok(Key::new(domain, email.to_owned()));
    }
    Err(invalid(
        "this ServiceNow user has neither a user name nor an email, so their account cannot \
         be found"
            .to_owned(),
    ))
}

/// The person a reference variable holding `sys_id` names, as the caller read them; the
/// request's `requested_for` person for that variable when the ids agree.
pub(super) fn person_of<'a>(
    ctx: &'a Context,
    requested_for: Option<&'a Person>,
    variable: &'static str,
    sys_id: &str,
) -> Option<&'a Person> {
    if let Some(p) = requested_for
        && variable == "requested_for"
        && (p.sys_id.is_empty() || p.sys_id.eq_ignore_ascii_case(sys_id))
    {
        return Some(p);
    }
    ctx.people.get(sys_id.trim())
}

/// A date variable (`2026-12-01`, or with a time after it, as ServiceNow shows date-times).
pub(super) fn date(
    name: &'static str,
    value: Option<&str>,
) -> Result<Option<NaiveDate>, NotAutomatable> {
    let Some(value) = value else {
        return Ok(None);
    };
    let day = value.trim().get(..10).unwrap_or(value.trim());
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| NotAutomatable::InvalidValue {
            name,
            value: value.to_owned(),
            why: "expected a date such as 2026-12-01".to_owned(),
        })
}
