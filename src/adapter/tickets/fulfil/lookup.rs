//! The lookups a workflow recipe decides with, made before planning: who opened the request
//! and who the manager is (ServiceNow), the account the request is about (the directory of
//! its domain), where the routing rules send the person, and which applications the routed
//! application groups publish (the routed site). A lookup that fails is kept as an error in
//! the [`Context`], and the plan is refused with it rather than guessed.

use chrono::NaiveDate;

use super::context::{Context, Key, Subject};
use super::matching::norm;
use super::workflows::{is_workflow, key_for};
use super::{CatalogRequest, Person, Vars, recipe_for};
use crate::adapter::routing::{self, PooledDesktop, UserFacts};
use crate::config::RoutingConfig;
use crate::cvad::CvadClient;
use crate::directory::{Directories, DirectoryBackend, DirectoryConfig, DirectoryError};
use crate::servicenow::{ReadOptions, ServiceNowClient};

/// Where the lookups go.
pub struct Sources<'a> {
    pub servicenow: &'a ServiceNowClient,
    pub directories: &'a Directories,
    /// The configured directories, to tell which can create accounts.
    pub directory_configs: &'a [DirectoryConfig],
    pub routing: &'a RoutingConfig,
    /// The CVAD client of a site, by name.
    pub site: &'a (dyn Fn(&str) -> Option<CvadClient> + Send + Sync),
    pub today: NaiveDate,
    /// The instance's catalog items mapped to runbooks, and the loaded runbooks.
    pub runbooks: super::RunbookSources<'a>,
}

/// What [`super::plan_with`] needs for `request`, read from the requested item `ritm`
/// (sys_id) and the sources. For an item that is not a workflow, only the directories.
pub async fn look_up(request: &CatalogRequest, ritm: &str, sources: &Sources<'_>) -> Context {
    let mut ctx = Context {
        domains: sources.directories.domains(),
        can_create: sources
            .directory_configs
            .iter()
            .filter(|c| matches!(c.backend, DirectoryBackend::Ldap(_)))
            .map(|c| c.domain.clone())
            .collect(),
        today: Some(sources.today),
        ..Context::default()
    };
    if let Some(mapped) =
        super::runbook::look_up(request, ritm, &sources.runbooks, sources.servicenow).await
    {
        ctx.runbook = Some(mapped);
        return ctx;
    }
    let Some(item) = recipe_for(&request.item).filter(|i| is_workflow(i)) else {
        return ctx;
    };
    if let Some(id) = opened_by(sources.servicenow, ritm).await {
        if let Some(person) = person(sources.servicenow, &id).await {
            ctx.people.insert(id.clone(), person);
        }
        ctx.opened_by = Some(id);
    }
    let vars = Vars {
        item,
        map: &request.variables,
    };
    if let Some(id) = vars.get("manager").filter(|id| is_sys_id(id))
        && let Some(person) = person(sources.servicenow, id).await
    {
        ctx.people.insert(id.to_owned(), person);
    }
    // A refusal here is made again, the same way, when planning.
    if let Ok(key) = key_for(item, &vars, request, &ctx) {
        ctx.subject = Some(subject(&key, sources).await);
    }
    ctx
}

fn is_sys_id(value: &str) -> bool {
    value.len() == 32 && value.chars().all(|c| c.is_ascii_hexdigit())
}

/// The requested item's `opened_by` (who placed the order).
async fn opened_by(sn: &ServiceNowClient, ritm: &str) -> Option<String> {
    let read = ReadOptions::new()
        .fields(["opened_by"])
        .exclude_reference_link(true);
    match sn.get("sc_req_item", ritm, &read).await {
        Ok(record) => record
            .value("opened_by")
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
        Err(e) => {
            tracing::warn!(ritm, error = %e, "cannot read who opened a request; no requester is recorded");
            None
        }
    }
}

async fn person(sn: &ServiceNowClient, sys_id: &str) -> Option<Person> {
    let read = ReadOptions::new()
        .fields(["sys_id", "user_name", "email", "name"])
        .exclude_reference_link(true);
    match sn.get("sys_user", sys_id, &read).await {
        Ok(r) => Some(Person {
            sys_id: sys_id.to_owned(),
            user_name: r.text("user_name"),
            email: r.text("email"),
            name: r.text("name"),
        }),
        Err(e) => {
            if !e.is_not_found() {
                tracing::warn!(sys_id, error = %e, "cannot read a ServiceNow user a request names");
            }
            None
        }
    }
}

/// The account of `key`, its route, and what the route's resources hold.
async fn subject(key: &Key, sources: &Sources<'_>) -> Subject {
    let mut s = Subject {
        domain: key.domain.clone(),
        user: key.user.clone(),
        ..Subject::default()
    };
    let Some(directory) = sources.directories.get(&key.domain) else {
        s.error = Some(format!("no directory serves domain {}", key.domain));
        return s;
    };
    match directory.account(&key.user).await {
        Ok(account) => s.account = Some(account),
        Err(DirectoryError::NotFound(_)) => {}
        Err(e) => {
            s.error = Some(format!(
                "the directory of {} did not answer: {e}",
                key.domain
            ));
            return s;
        }
    }
    if !key.route {
        return s;
    }
    let facts = match (&key.new_person, &s.account) {
        (Some(facts), _) => facts.clone(),
        (None, Some(account)) => UserFacts::from_account(account),
        (None, None) => return s,
    };
    let explanation = routing::explain(sources.routing, facts);
    let Some(route) = explanation.route else {
        s.no_route = explanation
            .checks
            .iter()
            .map(|c| format!("{}: {}", c.rule, c.reasons.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        return s;
    };
    s.route = Some(route.clone());
    let Some(client) = (sources.site)(&route.site) else {
        s.error = Some(format!(
            "routing rule {:?} names site {:?}, which this adapter does not have",
            route.rule, route.site
        ));
        return s;
    };
    if key.apps && !route.apps.is_empty() {
        match client.applications().await {
            Ok(apps) => {
                let routed: Vec<String> = route.apps.iter().map(|a| norm(a)).collect();
                s.routed_apps = Some(
                    apps.into_iter()
                        .filter(|a| {
                            a.application_groups
                                .iter()
                                .any(|g| routed.contains(&norm(&g.name)))
                        })
                        .flat_map(|a| [a.name, a.published_name])
                        .filter(|n| !n.trim().is_empty())
                        .collect(),
                );
            }
            Err(e) => {
                s.error = Some(format!(
                    "cannot read the applications of site {}: {e}",
                    route.site
                ));
                return s;
            }
        }
    }
    // A pooled desktop given through an AD group: the delivery group the request names is
    // the routed one when it admits that group.
    if let (Some(chosen), Some(PooledDesktop::AccessGroup(group))) =
        (&key.desktop, &route.pooled_desktop)
        && norm(chosen) != norm(group)
        && route
            .persistent_desktop
            .as_ref()
            .is_none_or(|p| norm(&p.delivery_group) != norm(chosen))
    {
        match client.delivery_group_entitlement(chosen.trim()).await {
            Ok(entitlement) => {
                let qualified = format!("{}\\{group}", key.domain);
                s.admits = Some(entitlement.includes(&qualified) || entitlement.includes(group));
            }
            Err(e) if e.is_not_found() => s.admits = Some(false),
            Err(e) => {
                s.error = Some(format!(
                    "cannot read who may use the delivery group {chosen:?} at site {}: {e}",
                    route.site
                ));
            }
        }
    }
    s
}
