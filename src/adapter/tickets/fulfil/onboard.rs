//! "New hire onboarding" (`user.onboard`) and "Process employee separation"
//! (`user.offboard`): the new account's name from the first and last name, its routing from
//! the office and department, the manager as the requester; the leaver from their UPN or the
//! `requested_for` user, and what happens to their desktop from the deprovisioning choice.
//!
//! Dates wait: the job engine cannot schedule a job for later, so an onboarding that starts
//! in the future, and a separation before the day after the last working day, are left with a
//! note saying from when they can be fulfilled.

use serde_json::{Value, json};

use super::context::{Context, Key, date, key_of, person_of};
use super::recipes::compact;
use super::workflows::{
    asked_by, beneficiary, check_apps, desktop_kind, named_apps, requested_for, requester,
    requester_params, route_of, target,
};
use super::{CatalogRequest, NotAutomatable, ONBOARD, Plan, SEPARATION, Vars, quote};
use crate::adapter::routing::UserFacts;
use crate::adapter::workflows::params::Include;

/// The masked variable of the onboarding item: never read into a plan, cleared by the caller.
const INITIAL_PASSWORD: &str = "initial_password";

/// Longest sAMAccountName AD accepts.
const SAM_MAX: usize = 20;

/// Lower-case ASCII login part, as the lab's people are named: accents folded, apostrophes,
/// hyphens and spaces dropped.
pub(super) fn ascii_login(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' | 'À' | 'Â' | 'Ä' | 'Å' => {
                out.push('a')
            }
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => out.push('e'),
            'í' | 'ì' | 'î' | 'ï' | 'Í' | 'Î' => out.push('i'),
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ó' | 'Ö' | 'Ø' => out.push('o'),
            'ú' | 'ù' | 'û' | 'ü' | 'Ú' | 'Ü' => out.push('u'),
            'ñ' | 'Ñ' => out.push('n'),
            'ç' | 'Ç' => out.push('c'),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ => {}
        }
    }
    out
}

/// `first.last`, cut to the 20 characters an account name may have.
pub(super) fn new_account_name(first: &str, last: &str) -> Result<String, NotAutomatable> {
    let (first_ascii, last_ascii) = (ascii_login(first), ascii_login(last));
    if first_ascii.is_empty() || last_ascii.is_empty() {
        let (name, value) = if first_ascii.is_empty() {
            ("first_name", first)
        } else {
            ("last_name", last)
        };
        return Err(NotAutomatable::InvalidValue {
            name,
            value: value.to_owned(),
            why: "it has no letter an account name can be made of; choose the account name \
                  and create it by hand"
                .to_owned(),
        });
    }
    Ok(format!("{first_ascii}.{last_ascii}")
        .chars()
        .take(SAM_MAX)
        .collect::<String>()
        .trim_end_matches('.')
        .to_owned())
}

/// The new hire's account in the manager's domain (the only directory's without a manager),
/// with the facts routing decides by.
pub(super) fn new_hire_key(
    vars: &Vars<'_>,
    _request: &CatalogRequest,
    ctx: &Context,
) -> Result<Key, NotAutomatable> {
    if vars.get(INITIAL_PASSWORD).is_some() {
        // The value is a secret: the refusal says what is wrong, never what it is.
        return Err(NotAutomatable::InvalidValue {
            name: INITIAL_PASSWORD,
            value: "(masked)".to_owned(),
            why: "deskbridge generates the initial password itself and never takes one from \
                  a catalog request (the variable has been cleared in ServiceNow); order \
                  again with it empty, or create the account by hand"
                .to_owned(),
        });
    }
    let first = vars.required("first_name")?;
    let last = vars.required("last_name")?;
    let sam = new_account_name(first, last)?;
    if let (Some(start), Some(today)) = (date("start_date", vars.get("start_date"))?, ctx.today)
        && start > today
    {
        return Err(NotAutomatable::NotYet {
            item: ONBOARD.to_owned(),
            why: format!(
                "the new hire starts on {start}, in the future, and deskbridge's job engine \
                 cannot schedule a job for later; fulfil on or after {start} (ask again then: \
                 any update of the request, or a call of the requests endpoint, makes \
                 deskbridge try again)"
            ),
        });
    }
    let manager = manager(vars, ctx);
    let domain = match (manager, ctx.domains.as_slice()) {
        (Some(m), _) => key_of(m, &ctx.domains, "manager")?.domain,
        (None, [only]) => only.clone(),
        (None, []) => {
            return Err(NotAutomatable::NeedsPerson {
                why: "deskbridge has no directory configured to create the account in".into(),
            });
        }
        (None, many) => {
            return Err(NotAutomatable::NeedsPerson {
                why: format!(
                    "without a manager deskbridge cannot tell which directory ({}) the new \
                     account belongs in",
                    many.join(", ")
                ),
            });
        }
    };
    if !ctx
        .can_create
        .iter()
        .any(|d| d.eq_ignore_ascii_case(&domain))
    {
        return Err(NotAutomatable::NeedsPerson {
            why: format!(
                "the directory of {domain} cannot create accounts (the CVAD Identity API has \
                 no such call; an ldap directory can), so create {domain}\\{sam} by hand"
            ),
        });
    }
    let mut key = Key::new(domain.clone(), sam.clone());
    key.new_person = Some(UserFacts {
        user: format!("{domain}\\{sam}"),
        domain,
        location: vars.get("office").unwrap_or_default().to_owned(),
        department: vars.get("department").unwrap_or_default().to_owned(),
        ou: String::new(),
        groups: Vec::new(),
    });
    key.route = true;
    key.apps = vars.get("applications").is_some();
    key.desktop = vars.get("delivery_group").map(str::to_owned);
    Ok(key)
}

/// The hiring manager, when the request names one ServiceNow user the caller read.
fn manager<'a>(vars: &Vars<'_>, ctx: &'a Context) -> Option<&'a super::Person> {
    person_of(ctx, None, "manager", vars.get("manager")?)
}

pub(super) fn onboarding(
    vars: &Vars<'_>,
    ctx: &Context,
    key: &Key,
) -> Result<Plan, NotAutomatable> {
    let subject = ctx.subject(key)?;
    let person = key.qualified();
    if let Some(account) = &subject.account {
        return Err(NotAutomatable::Unsafe {
            why: format!(
                "an account {person} already exists ({}); onboarding creates a new account, \
                 so a person must choose a name for this one",
                if account.display_name.trim().is_empty() {
                    account.upn.as_str()
                } else {
                    account.display_name.as_str()
                }
            ),
        });
    }
    let route = route_of(subject, &person)?;
    let mut include = Vec::new();
    if key.desktop.is_some() {
        include.push(desktop_kind(
            key.desktop.as_deref(),
            route,
            subject,
            &person,
        )?);
    }
    let apps = vars.get("applications").map(named_apps).unwrap_or_default();
    if !apps.is_empty() {
        check_apps(&apps, route, subject, &person)?;
        include.push(Include::Apps);
    }
    let first = vars.required("first_name")?;
    let last = vars.required("last_name")?;
    let department = vars.get("department").unwrap_or_default();
    let office = vars.get("office").unwrap_or_default();
    let requester = manager(vars, ctx).map(|m| ctx.qualified(m));
    let mut params = requester_params(requester.as_deref());
    params.insert(
        "person".into(),
        json!({
            "given_name": first,
            "surname": last,
            "display_name": format!("{first} {last}"),
            "department": department,
            "location": office,
        }),
    );
    params.insert("include".into(), json!(include));
    let gives: Vec<&str> = include
        .iter()
        .map(|i| match i {
            Include::PooledDesktop => "the pooled desktop",
            Include::PersistentDesktop => "a persistent desktop",
            Include::Apps => "the routed applications",
        })
        .collect();
    let about: Vec<&str> = [department, office]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let about = if about.is_empty() {
        String::new()
    } else {
        format!(" ({})", about.join(", "))
    };
    let start = date("start_date", vars.get("start_date"))?
        .map(|d| format!(", starting {d}"))
        .unwrap_or_default();
    Ok(Plan {
        action: "user.onboard",
        targets: vec![target(&key.domain, &key.user)],
        params: Value::Object(params),
        summary: format!(
            "Create the account {person} for {first} {last}{}{start}, add the groups of \
             routing rule {:?} and give {} at site {}{}; the initial password is generated \
             and shown once to the caller, never written to the ticket",
            about,
            route.rule,
            if gives.is_empty() {
                "no desktop or applications".to_owned()
            } else {
                gives.join(" and ")
            },
            route.site,
            asked_by(requester.as_deref())
        ),
        secret_params: Vec::new(),
        clear_variables: Vec::new(),
    })
}

/// The leaver: the account of `departing_user_upn`, else of the `requested_for` user.
pub(super) fn leaver_key(
    vars: &Vars<'_>,
    request: &CatalogRequest,
    ctx: &Context,
) -> Result<Key, NotAutomatable> {
    let Some(upn) = vars.get("departing_user_upn") else {
        return beneficiary(vars, request, ctx);
    };
    let ats = upn.matches('@').count();
    if upn.chars().any(char::is_whitespace) || ats > 1 || upn.starts_with('@') || upn.ends_with('@')
    {
        return Err(NotAutomatable::InvalidValue {
            name: "departing_user_upn",
            value: upn.to_owned(),
            why: "expected one user's UPN, such as sam@lab.example".to_owned(),
        });
    }
    let person = super::Person {
        user_name: upn.to_owned(),
        name: upn.to_owned(),
        ..Default::default()
    };
    key_of(&person, &ctx.domains, "departing_user_upn")
}

pub(super) fn separation(
    vars: &Vars<'_>,
    request: &CatalogRequest,
    ctx: &Context,
    key: &Key,
) -> Result<Plan, NotAutomatable> {
    let choice = vars.required("deprovisioning_type")?;
    let machines = match compact(choice).as_str() {
        "deletedesktop" | "delete" | "deletedesktops" => "delete",
        "keepdesktopbutremoveuserassignment"
        | "removeuserassignment"
        | "unassign"
        | "keepdesktop" => "unassign",
        _ => {
            return Err(NotAutomatable::InvalidValue {
                name: "deprovisioning_type",
                value: choice.to_owned(),
                why: "expected \"Delete desktop\" or \"Keep desktop but remove user assignment\""
                    .to_owned(),
            });
        }
    };
    if let (Some(last), Some(today)) = (date("last_day", vars.get("last_day"))?, ctx.today)
        && last >= today
    {
        let after = last.succ_opt().unwrap_or(last);
        return Err(NotAutomatable::NotYet {
            item: SEPARATION.to_owned(),
            why: format!(
                "the last working day is {last}: disabling the account before it ends would \
                 stop their work, and deskbridge's job engine cannot schedule a job for later; \
                 fulfil on or after {after}"
            ),
        });
    }
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
    // Both the UPN and the reference name the leaver: when they name two people, disabling
    // either could be the wrong one.
    if vars.get("departing_user_upn").is_some()
        && let Ok(p) = requested_for(vars, request)
    {
        let same = |a: &str, b: &str| !a.trim().is_empty() && a.trim().eq_ignore_ascii_case(b);
        let user = p.user_name.trim();
        let user = user.rsplit_once('\\').map_or(user, |(_, sam)| sam);
        let known = !user.is_empty() || !p.email.trim().is_empty();
        let matches = same(user, &account.sam_name)
            || same(user, &account.upn)
            || same(&p.email, &account.upn)
            || same(&p.email, &account.mail);
        if known && !matches {
            return Err(NotAutomatable::Unsafe {
                why: format!(
                    "departing_user_upn names {person}, but requested_for is {} ({}); \
                     disabling the wrong person's account is worse than not acting",
                    p.name.trim(),
                    quote(if user.is_empty() { &p.email } else { user })
                ),
            });
        }
    }
    // A disabled leaver is still offboarded: the steps check before acting.
    let requester = requester(request, ctx, &person);
    let mut params = requester_params(requester.as_deref());
    params.insert("machines".into(), Value::String(machines.to_owned()));
    Ok(Plan {
        action: "user.offboard",
        targets: vec![target(&account.domain, &account.sam_name)],
        params: Value::Object(params),
        summary: format!(
            "Offboard {person}: log off their sessions, remove their desktop and application \
             entitlements, disable the account and {} their dedicated machines{}",
            if machines == "delete" {
                "delete"
            } else {
                "unassign (keep)"
            },
            asked_by(requester.as_deref())
        ),
        secret_params: Vec::new(),
        clear_variables: Vec::new(),
    })
}
