//! Zero-touch recipes: which job fulfils a catalog request, from its item and variables.
//!
//! [`plan`] is a pure function over what the caller read from ServiceNow (the item's name, its
//! variables, the requested-for person) and the inventory's site snapshots: it does no I/O, so
//! the inbound endpoint and the poller share it, and every decision is testable. It either
//! returns the job to create ([`Plan`]) or says, in a sentence for a work note, why a person
//! has to fulfil the request ([`NotAutomatable`]). docs/fulfilment.md is the operator's view.
//!
//! Plans are made against the inventory as last refreshed: callers should refresh the sites
//! first, since a session that started seconds ago is otherwise not found. The workflow items
//! (desktop, applications, unlock, onboarding, separation) decide with the directory and the
//! routing rules instead: the caller gathers those with [`look_up`] and plans with
//! [`plan_with`]. Items an administrator maps to runbooks (`[servicenow.runbooks]`) are found
//! by [`look_up`] too and planned as a `runbook.run` job (`runbook.rs`).

mod context;
mod lookup;
mod matching;
mod onboard;
mod password;
mod power;
mod recipes;
mod runbook;
#[cfg(test)]
mod tests;
mod workflows;

pub use context::{Context, Key, Subject};
pub use lookup::{Sources, look_up};
pub use runbook::{Mapped, RunbookSources, check_runbook_items};

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use crate::adapter::inventory::SiteData;
use crate::secret::Secret;

/// The requester as ServiceNow knows them (`sys_user`), resolved by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person {
    pub sys_id: String,
    /// `user_name`: the AD sAMAccountName where ServiceNow imports users from AD.
    pub user_name: String,
    pub email: String,
    /// Display name.
    pub name: String,
}

/// What the caller read: the catalog item's name, its variables (name → value as ServiceNow
/// stores it) and the person the `requested_for` variable (or, without one, the requested
/// item's `requested_for` field) points to.
///
/// `Debug` hides the values of the variables a recipe treats as secrets (the masked
/// `security_code` and `new_password`, and any variable named like a password).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct CatalogRequest {
    pub item: String,
    pub variables: BTreeMap<String, String>,
    pub requested_for: Option<Person>,
}

impl fmt::Debug for CatalogRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let variables: BTreeMap<&str, &str> = self
            .variables
            .iter()
            .map(|(k, v)| {
                let secret = password::MASKED_VARIABLES.contains(&k.as_str())
                    || k.to_ascii_lowercase().contains("password");
                (k.as_str(), if secret { "***" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("CatalogRequest")
            .field("item", &self.item)
            .field("variables", &variables)
            .field("requested_for", &self.requested_for)
            .finish()
    }
}

/// One target of the planned job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTarget {
    pub site: String,
    /// The session or machine id, as the job API takes it.
    pub id: String,
    /// What a person recognises: `LAB\sam: Desktop London Pooled Desktops on VDI-LON-0004`.
    pub display: String,
}

/// The job that fulfils a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// An action of the registry (`crate::adapter::engine::actions`).
    pub action: &'static str,
    pub targets: Vec<PlanTarget>,
    /// The parameters as the job API stores them (defaults filled in).
    pub params: Value,
    /// One line for the work note: what will be done to what.
    pub summary: String,
    /// Secret parameters (a security code, a new password) by their place in the job
    /// request's params (`verification.code`, `password`). Never part of [`Plan::params`]:
    /// those are stored, logged and quoted in work notes. See [`Plan::request_params`].
    pub secret_params: Vec<(String, Secret)>,
    /// Masked variables the request carried, which the caller must clear in ServiceNow once
    /// it has read them (whether or not the job then runs).
    pub clear_variables: Vec<String>,
}

impl Plan {
    /// The params for the job request, secrets included: give them to the engine only, which
    /// takes the secrets out before it stores anything
    /// (`crate::adapter::engine::account_params::take_secrets`). Never log or store this value.
    pub fn request_params(&self) -> Value {
        let mut params = self.params.clone();
        for (path, secret) in &self.secret_params {
            let mut node = &mut params;
            let mut parts = path.split('.').peekable();
            while let Some(part) = parts.next() {
                let Value::Object(map) = node else { break };
                if parts.peek().is_none() {
                    map.insert(part.to_owned(), Value::String(secret.expose().to_owned()));
                    break;
                }
                node = map
                    .entry(part.to_owned())
                    .or_insert_with(|| Value::Object(Default::default()));
            }
        }
        params
    }
}

/// Why a request is left to a person. `Display` is a sentence for an operator's work note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAutomatable {
    /// Not a catalog item deskbridge knows.
    UnknownItem { item: String },
    /// A standard Citrix item deskbridge cannot fulfil yet, or a request that cannot be
    /// fulfilled before a date (`why` says from when).
    NotYet { item: String, why: String },
    /// The request asks for a person by its nature (a problem report).
    NeedsPerson { why: String },
    MissingVariable {
        item: &'static str,
        name: &'static str,
    },
    InvalidValue {
        name: &'static str,
        value: String,
        why: String,
    },
    /// Nothing in the inventory matches; `what` says what was looked for and what exists.
    NothingFound { what: String },
    /// Doing it would be ambiguous or could hurt other users.
    Unsafe { why: String },
}

/// Longest variable value quoted back in a message: notes stay one readable line.
const QUOTE_MAX: usize = 80;

fn quote(value: &str) -> String {
    let value = value.trim();
    if value.chars().count() <= QUOTE_MAX {
        format!("{value:?}")
    } else {
        let cut: String = value.chars().take(QUOTE_MAX).collect();
        format!("{cut:?}…")
    }
}

impl fmt::Display for NotAutomatable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAutomatable::UnknownItem { item } => write!(
                f,
                "deskbridge has no recipe for the catalog item {}; it fulfils only: {}. \
                 Fulfil this request by hand.",
                quote(item),
                RECIPES.join(", ")
            ),
            NotAutomatable::NotYet { item, why } => write!(
                f,
                "deskbridge does not fulfil {} automatically yet: {why}.",
                quote(item)
            ),
            NotAutomatable::NeedsPerson { why } => write!(f, "A person needs to look: {why}."),
            NotAutomatable::MissingVariable { item, name } => write!(
                f,
                "The request has no value for the variable {name:?}, which {item:?} needs; \
                 fill it in or fulfil the request by hand."
            ),
            NotAutomatable::InvalidValue { name, value, why } => {
                write!(f, "The variable {name:?} is {}: {why}.", quote(value))
            }
            NotAutomatable::NothingFound { what } => write!(f, "Nothing to act on: {what}."),
            NotAutomatable::Unsafe { why } => write!(
                f,
                "Not done automatically because it could hurt other work: {why}. A person \
                 should decide."
            ),
        }
    }
}

impl std::error::Error for NotAutomatable {}

pub(crate) const RESET_SESSION: &str = "Reset a session";
pub(crate) const RESET_OTHER: &str = "Reset a session for other users";
pub(crate) const POWER: &str = "Power manage VDI desktops";
pub(crate) const TROUBLESHOOT: &str = "Troubleshoot and report app and desktop failures";
pub(crate) const RESET_PASSWORD: &str = "Reset my password";
pub(crate) const REQUEST_DESKTOP: &str = "Request a desktop";
pub(crate) const REQUEST_APPS: &str = "Request applications";
pub(crate) const UNLOCK: &str = "Unlock my account";
pub(crate) const ONBOARD: &str = "New hire onboarding";
pub(crate) const SEPARATION: &str = "Process employee separation";

const RECIPES: &[&str] = &[
    RESET_SESSION,
    RESET_OTHER,
    POWER,
    TROUBLESHOOT,
    RESET_PASSWORD,
    REQUEST_DESKTOP,
    REQUEST_APPS,
    UNLOCK,
    ONBOARD,
    SEPARATION,
];

/// Standard Citrix items deskbridge cannot fulfil yet, and what they need that it does not
/// have. Every item of the Citrix ITSM catalog has a recipe today.
const NOT_YET: &[(&str, &str)] = &[];

/// The catalog items deskbridge fulfils automatically today (for config checks and docs).
pub fn recipe_names() -> &'static [&'static str] {
    RECIPES
}

/// The recipe for `item` (a catalog item name, any case and spacing), if there is one.
pub fn recipe_for(item: &str) -> Option<&'static str> {
    let wanted = matching::norm(item);
    RECIPES
        .iter()
        .copied()
        .find(|r| matching::norm(r) == wanted)
}

/// The job that fulfils `request`, found in `sites` (site name and its latest snapshot), or
/// why a person has to fulfil it.
pub fn plan(
    request: &CatalogRequest,
    sites: &[(String, Arc<SiteData>)],
) -> Result<Plan, NotAutomatable> {
    let Some(item) = recipe_for(&request.item) else {
        let wanted = matching::norm(&request.item);
        return Err(
            match NOT_YET
                .iter()
                .find(|(name, _)| matching::norm(name) == wanted)
            {
                Some((name, why)) => NotAutomatable::NotYet {
                    item: (*name).to_owned(),
                    why: format!("{why}; fulfil it by hand"),
                },
                None => NotAutomatable::UnknownItem {
                    item: request.item.trim().to_owned(),
                },
            },
        );
    };
    let sites: Vec<(&str, &SiteData)> = sites.iter().map(|(n, d)| (n.as_str(), &**d)).collect();
    let vars = Vars {
        item,
        map: &request.variables,
    };
    if workflows::is_workflow(item) {
        return workflows::plan(item, &vars, request, &Context::default());
    }
    recipes::run(item, &vars, request.requested_for.as_ref(), &sites)
}

/// [`plan`], knowing the NetBIOS names of the directories the adapter is configured with: a
/// password reset for a bare user name (or a UPN) then finds its domain among them.
pub fn plan_in(
    request: &CatalogRequest,
    sites: &[(String, Arc<SiteData>)],
    domains: &[String],
) -> Result<Plan, NotAutomatable> {
    plan_with(
        request,
        sites,
        &Context {
            domains: domains.to_vec(),
            ..Context::default()
        },
    )
}

/// [`plan_in`] with everything the workflow items (desktop, applications, unlock, onboarding,
/// separation) decide with: the caller gathers it with [`look_up`] first, since those recipes
/// need the directory, the routing rules and the routed site, and stay pure themselves.
pub fn plan_with(
    request: &CatalogRequest,
    sites: &[(String, Arc<SiteData>)],
    context: &Context,
) -> Result<Plan, NotAutomatable> {
    if let Some(mapped) = context.runbook.as_ref().filter(|m| m.maps(&request.item)) {
        return runbook::plan(request, mapped);
    }
    match recipe_for(&request.item) {
        Some(RESET_PASSWORD) => {
            let vars = Vars {
                item: RESET_PASSWORD,
                map: &request.variables,
            };
            password::reset_password(&vars, request.requested_for.as_ref(), &context.domains)
        }
        Some(item) if workflows::is_workflow(item) => {
            let vars = Vars {
                item,
                map: &request.variables,
            };
            workflows::plan(item, &vars, request, context)
        }
        _ => plan(request, sites),
    }
}

/// The request's variables, looked up by name for one item.
struct Vars<'a> {
    item: &'static str,
    map: &'a BTreeMap<String, String>,
}

impl Vars<'_> {
    /// The trimmed value of `name`; `None` when absent or blank. Names are matched exactly
    /// first, then ignoring case, as ServiceNow admins sometimes rename variables' case.
    fn get(&self, name: &'static str) -> Option<&str> {
        self.map
            .get(name)
            .or_else(|| {
                self.map
                    .iter()
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            })
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<&str, NotAutomatable> {
        self.get(name).ok_or(NotAutomatable::MissingVariable {
            item: self.item,
            name,
        })
    }
}
