//! The recipes of the catalog items that run workflows: "Request a desktop"
//! (`request.pooled_desktop` or `request.persistent_desktop`), "Request applications"
//! (`request.apps`) and "Unlock my account" (`account.unlock`); onboarding and separation are
//! in [`super::onboard`]. The person is the `requested_for` user's directory account; the
//! resources are the routing rules' (src/adapter/routing), never the request's: a request that
//! names something its route does not give is left to a person.
//!
//! Each recipe runs twice over the same variables: [`key_for`] says which account to look up
//! (the caller does, [`super::lookup`]), then [`plan`] decides with what was found.

use serde_json::{Map, Value, json};

use super::context::{Context, Key, Subject, key_of, person_of};
use super::matching::{list, norm};
use super::{
    CatalogRequest, NotAutomatable, ONBOARD, Person, Plan, PlanTarget, REQUEST_APPS,
    REQUEST_DESKTOP, SEPARATION, UNLOCK, Vars, quote,
};
use crate::adapter::routing::{PooledDesktop, Route};
use crate::adapter::workflows::params::Include;

/// Whether `item` (a recipe name) is one of the workflow items.
pub(super) fn is_workflow(item: &str) -> bool {
    [REQUEST_DESKTOP, REQUEST_APPS, UNLOCK, ONBOARD, SEPARATION].contains(&item)
}

/// The account `item`'s request is about, and what its recipe decides with.
pub(super) fn key_for(
    item: &'static str,
    vars: &Vars<'_>,
    request: &CatalogRequest,
    ctx: &Context,
) -> Result<Key, NotAutomatable> {
    match item {
        REQUEST_DESKTOP => {
            let mut key = beneficiary(vars, request, ctx)?;
            key.route = true;
            key.desktop = vars.get("delivery_group").map(str::to_owned);
            Ok(key)
        }
        REQUEST_APPS => {
            let mut key = beneficiary(vars, request, ctx)?;
            key.route = true;
            key.apps = true;
            Ok(key)
        }
        UNLOCK => beneficiary(vars, request, ctx),
        SEPARATION => super::onboard::leaver_key(vars, request, ctx),
        _ => super::onboard::new_hire_key(vars, request, ctx),
    }
}

/// The job for a workflow item's request, with what the caller looked up in `ctx`.
pub(super) fn plan(
    item: &'static str,
    vars: &Vars<'_>,
    request: &CatalogRequest,
    ctx: &Context,
) -> Result<Plan, NotAutomatable> {
    let key = key_for(item, vars, request, ctx)?;
    match item {
        REQUEST_DESKTOP => desktop(request, ctx, &key),
        REQUEST_APPS => apps(vars, request, ctx, &key),
        UNLOCK => unlock(request, ctx, &key),
        SEPARATION => super::onboard::separation(vars, request, ctx, &key),
        _ => super::onboard::onboarding(vars, ctx, &key),
    }
}

/// The `requested_for` user's account. A reference variable holds a sys_id; if the caller
/// resolved someone else (the requested item's field rather than the variable), acting would
/// change the wrong person's access.
pub(super) fn beneficiary(
    vars: &Vars<'_>,
    request: &CatalogRequest,
    ctx: &Context,
) -> Result<Key, NotAutomatable> {
    let person = requested_for(vars, request)?;
    key_of(person, &ctx.domains, "requested_for")
}

pub(super) fn requested_for<'a>(
    vars: &Vars<'_>,
    request: &'a CatalogRequest,
) -> Result<&'a Person, NotAutomatable> {
    let Some(person) = request.requested_for.as_ref() else {
        return Err(NotAutomatable::MissingVariable {
            item: vars.item,
            name: "requested_for",
        });
    };
    if let Some(id) = vars.get("requested_for")
        && id.len() == 32
        && id.chars().all(|c| c.is_ascii_hexdigit())
        && !person.sys_id.is_empty()
        && !id.eq_ignore_ascii_case(&person.sys_id)
    {
        return Err(NotAutomatable::Unsafe {
            why: format!(
                "the variable requested_for is the ServiceNow user {id}, but the person looked \
                 up is {} ({}); changing the wrong person's access is worse than not acting",
                person.name, person.sys_id
            ),
        });
    }
    Ok(person)
}

/// Who asked, when it is not the person the request is for: the requested item's
/// `opened_by`, as `DOMAIN\user`.
pub(super) fn requester(request: &CatalogRequest, ctx: &Context, person: &str) -> Option<String> {
    let id = ctx.opened_by.as_deref()?;
    if request
        .requested_for
        .as_ref()
        .is_some_and(|p| p.sys_id.eq_ignore_ascii_case(id))
    {
        return None;
    }
    let who = ctx.qualified(person_of(ctx, None, "opened_by", id)?);
    (!who.is_empty() && !who.eq_ignore_ascii_case(person)).then_some(who)
}

/// The account found for `key`, which must exist and be enabled.
pub(super) fn existing<'a>(
    subject: &'a Subject,
    key: &Key,
) -> Result<&'a crate::directory::Account, NotAutomatable> {
    let account = subject
        .account
        .as_ref()
        .ok_or_else(|| NotAutomatable::NothingFound {
            what: format!(
                "the directory of {} has no account {}",
                key.domain, key.user
            ),
        })?;
    if account.disabled {
        return Err(NotAutomatable::NeedsPerson {
            why: format!(
                "the account {} is disabled; resources for a disabled account are a person's \
                 decision",
                account.qualified_name()
            ),
        });
    }
    Ok(account)
}

/// The route found for `subject`, or why there is none.
pub(super) fn route_of<'a>(
    subject: &'a Subject,
    person: &str,
) -> Result<&'a Route, NotAutomatable> {
    subject
        .route
        .as_ref()
        .ok_or_else(|| NotAutomatable::NeedsPerson {
            why: format!(
                "no routing rule gives {person} any resources and there is no default rule ({})",
                if subject.no_route.is_empty() {
                    "no rules are configured"
                } else {
                    subject.no_route.as_str()
                }
            ),
        })
}

/// What the route offers as desktops, for a sentence.
fn offers(route: &Route) -> String {
    let mut offered = Vec::new();
    match &route.pooled_desktop {
        Some(PooledDesktop::DeliveryGroup(g)) => offered.push(format!("the pooled desktop {g:?}")),
        Some(PooledDesktop::AccessGroup(g)) => {
            offered.push(format!("the pooled desktop of the AD group {g:?}"));
        }
        None => {}
    }
    if let Some(p) = &route.persistent_desktop {
        offered.push(format!("the persistent desktop {:?}", p.delivery_group));
    }
    if offered.is_empty() {
        "no desktop".to_owned()
    } else {
        offered.join(" and ")
    }
}

/// Pooled or persistent, by the delivery group the request names: the route's persistent
/// group is persistent, its pooled one pooled; without a name, the pooled desktop.
pub(super) fn desktop_kind(
    chosen: Option<&str>,
    route: &Route,
    subject: &Subject,
    person: &str,
) -> Result<Include, NotAutomatable> {
    let persistent = route.persistent_desktop.as_ref();
    let Some(chosen) = chosen else {
        return match (&route.pooled_desktop, persistent) {
            (Some(_), _) => Ok(Include::PooledDesktop),
            (None, Some(_)) => Ok(Include::PersistentDesktop),
            (None, None) => Err(NotAutomatable::NeedsPerson {
                why: format!(
                    "routing rule {:?} gives {person} no desktop at site {}",
                    route.rule, route.site
                ),
            }),
        };
    };
    let wanted = norm(chosen);
    if persistent.is_some_and(|p| norm(&p.delivery_group) == wanted) {
        return Ok(Include::PersistentDesktop);
    }
    let pooled = match &route.pooled_desktop {
        Some(PooledDesktop::DeliveryGroup(g)) => norm(g) == wanted,
        Some(PooledDesktop::AccessGroup(g)) => norm(g) == wanted || subject.admits == Some(true),
        None => false,
    };
    if pooled {
        return Ok(Include::PooledDesktop);
    }
    Err(NotAutomatable::InvalidValue {
        name: "delivery_group",
        value: chosen.to_owned(),
        why: format!(
            "routing rule {:?} gives {person} {} at site {}, and routing decides which \
             desktops a person gets (a request cannot pick another site's or office's group); \
             a person should decide",
            route.rule,
            offers(route),
            route.site
        ),
    })
}

fn desktop_title(kind: Include, route: &Route) -> String {
    match (kind, &route.pooled_desktop, &route.persistent_desktop) {
        (Include::PersistentDesktop, _, Some(p)) => format!(
            "a persistent desktop of {:?} (from catalog {:?})",
            p.delivery_group, p.catalog
        ),
        (_, Some(PooledDesktop::DeliveryGroup(g)), _) => format!("the pooled desktop {g:?}"),
        (_, Some(PooledDesktop::AccessGroup(g)), _) => {
            format!("the pooled desktop through the AD group {g:?}")
        }
        _ => "a desktop".to_owned(),
    }
}

/// The applications a request names: a list collector's comma-separated values, or one a
/// line; each once.
pub(super) fn named_apps(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in value.split([',', '\n', ';']).map(str::trim) {
        if !name.is_empty() && !out.iter().any(|n| norm(n) == norm(name)) {
            out.push(name.to_owned());
        }
    }
    out
}

/// Checks that every application `named` is in the route's application groups.
pub(super) fn check_apps(
    named: &[String],
    route: &Route,
    subject: &Subject,
    person: &str,
) -> Result<(), NotAutomatable> {
    if route.apps.is_empty() {
        return Err(NotAutomatable::NeedsPerson {
            why: format!(
                "routing rule {:?} gives {person} no application groups at site {}",
                route.rule, route.site
            ),
        });
    }
    let Some(routed) = &subject.routed_apps else {
        return Err(NotAutomatable::NeedsPerson {
            why: format!(
                "deskbridge did not read which applications the application groups {} at \
                 site {} publish",
                route.apps.join(", "),
                route.site
            ),
        });
    };
    let missing: Vec<String> = named
        .iter()
        .filter(|n| !routed.iter().any(|r| norm(r) == norm(n)))
        .map(|n| quote(n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(NotAutomatable::NeedsPerson {
        why: format!(
            "{} {} not in the application groups routing gives {person} ({} at site {}, rule \
             {:?}); granting other applications is a person's decision",
            list(&missing, 5),
            if missing.len() == 1 { "is" } else { "are" },
            route.apps.join(", "),
            route.site,
            route.rule
        ),
    })
}

/// `{"requester": …}` when someone else asked, else `{}`.
pub(super) fn requester_params(requester: Option<&str>) -> Map<String, Value> {
    let mut params = Map::new();
    if let Some(r) = requester {
        params.insert("requester".into(), Value::String(r.to_owned()));
    }
    params
}

pub(super) fn asked_by(requester: Option<&str>) -> String {
    requester
        .map(|r| format!(", asked by {r}"))
        .unwrap_or_default()
}

pub(super) fn target(domain: &str, sam: &str) -> PlanTarget {
    PlanTarget {
        site: domain.to_owned(),
        id: sam.to_owned(),
        display: format!("{domain}\\{sam}"),
    }
}

fn desktop(request: &CatalogRequest, ctx: &Context, key: &Key) -> Result<Plan, NotAutomatable> {
    let subject = ctx.subject(key)?;
    let account = existing(subject, key)?;
    let person = account.qualified_name();
    let route = route_of(subject, &person)?;
    let kind = desktop_kind(key.desktop.as_deref(), route, subject, &person)?;
    let requester = requester(request, ctx, &person);
    let action = match kind {
        Include::PersistentDesktop => "request.persistent_desktop",
        _ => "request.pooled_desktop",
    };
    Ok(Plan {
        action,
        targets: vec![target(&account.domain, &account.sam_name)],
        params: Value::Object(requester_params(requester.as_deref())),
        summary: format!(
            "Give {person} {} at site {} (routing rule {:?}){}",
            desktop_title(kind, route),
            route.site,
            route.rule,
            asked_by(requester.as_deref())
        ),
        secret_params: Vec::new(),
        clear_variables: Vec::new(),
    })
}

fn apps(
    vars: &Vars<'_>,
    request: &CatalogRequest,
    ctx: &Context,
    key: &Key,
) -> Result<Plan, NotAutomatable> {
    let named = named_apps(vars.required("applications")?);
    let subject = ctx.subject(key)?;
    let account = existing(subject, key)?;
    let person = account.qualified_name();
    let route = route_of(subject, &person)?;
    check_apps(&named, route, subject, &person)?;
    let requester = requester(request, ctx, &person);
    let quoted: Vec<String> = named.iter().map(|n| quote(n)).collect();
    Ok(Plan {
        action: "request.apps",
        targets: vec![target(&account.domain, &account.sam_name)],
        params: Value::Object(requester_params(requester.as_deref())),
        summary: format!(
            "Entitle {person} to the application groups {} at site {} (routing rule {:?}), \
             which publish {}{}",
            route.apps.join(", "),
            route.site,
            route.rule,
            list(&quoted, 5),
            asked_by(requester.as_deref())
        ),
        secret_params: Vec::new(),
        clear_variables: Vec::new(),
    })
}

fn unlock(request: &CatalogRequest, ctx: &Context, key: &Key) -> Result<Plan, NotAutomatable> {
    let subject = ctx.subject(key)?;
    let account = subject
        .account
        .as_ref()
        .ok_or_else(|| NotAutomatable::NothingFound {
            what: format!(
                "the directory of {} has no account {}",
                key.domain, key.user
            ),
        })?;
    let person = account.qualified_name();
    let requester = requester(request, ctx, &person);
    let state = if account.locked {
        ""
    } else {
        " (it is not locked out now, so this changes nothing)"
    };
    Ok(Plan {
        action: "account.unlock",
        targets: vec![target(&account.domain, &account.sam_name)],
        params: json!({}),
        summary: format!(
            "Unlock the account {person}{state}{}",
            asked_by(requester.as_deref())
        ),
        secret_params: Vec::new(),
        clear_variables: Vec::new(),
    })
}
