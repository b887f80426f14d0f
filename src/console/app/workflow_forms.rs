//! The workflow forms' fields, the job each form stands for, and the lines its preview shows:
//! pure functions of the form, so what the dialog previews is what is sent.

use serde_json::{Value, json};

use super::account::split_login;
use super::workflows::{Flow, PreviewSlot, WorkflowForm};
use crate::console::client::{
    IdempotencyKey, JobRequest, RoutingExplanation, Target, WorkflowPreview,
};
use crate::console::widgets::workflow_dialog::{Field, FieldId as F, FormState, Tone};

/// The request types: (action, label); the persistent desktop only for an admin.
pub(super) fn request_types(admin: bool) -> Vec<(&'static str, &'static str)> {
    let mut types = vec![("request.pooled_desktop", "pooled desktop")];
    if admin {
        types.push(("request.persistent_desktop", "persistent desktop"));
    }
    types.push(("request.apps", "applications"));
    types
}

pub(super) fn request_fields(admin: bool, beneficiary: &str, requester: &str) -> FormState {
    FormState::new(
        vec![
            Field::choice(F::Type, "Request", request_types(admin)),
            Field::text(F::Beneficiary, "For (person)", beneficiary),
            Field::text(F::Requester, "Requested by", requester),
        ],
        None,
    )
}

pub(super) fn onboard_fields(domain: &str) -> FormState {
    let account = if domain.is_empty() {
        String::new()
    } else {
        format!("{domain}\\")
    };
    FormState::new(
        vec![
            Field::text(F::GivenName, "Given name", ""),
            Field::text(F::Surname, "Surname", ""),
            Field::text(F::Account, "Account", &account),
            Field::text(F::Department, "Department", ""),
            Field::text(F::Location, "Location", ""),
            Field::text(F::Ou, "OU (optional)", ""),
            Field::text(F::Groups, "Extra groups", ""),
            Field::check(F::IncludePooled, "Pooled desktop", true),
            Field::check(F::IncludePersistent, "Persistent VDI", false),
            Field::check(F::IncludeApps, "Applications", true),
        ],
        None,
    )
}

pub(super) fn offboard_fields(sam: &str) -> FormState {
    FormState::new(
        vec![Field::choice(
            F::Machines,
            "Machines",
            vec![
                ("unassign", "unassign (keep the machine)"),
                ("delete", "delete"),
            ],
        )],
        Some(sam.to_owned()),
    )
}

/// `first.last` in lower-case ASCII: accents dropped, other characters left out.
pub fn suggest_account(given: &str, surname: &str) -> String {
    let part = |s: &str| -> String {
        s.chars()
            .flat_map(fold)
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let (g, s) = (part(given), part(surname));
    match (g.is_empty(), s.is_empty()) {
        (false, false) => format!("{g}.{s}"),
        (false, true) => g,
        (true, false) => s,
        (true, true) => String::new(),
    }
}

/// A letter without its accent (`é` → `e`, `ß` → `ss`); anything else as it is.
fn fold(c: char) -> Vec<char> {
    let plain = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => return vec!['s', 's'],
        'æ' | 'Æ' => return vec!['a', 'e'],
        other => other,
    };
    vec![plain]
}

/// The job a form stands for, without its ticket and key: `(action, target, params)`; or why
/// it cannot be sent yet.
pub(super) fn job_of(w: &WorkflowForm) -> Result<(String, Target, Value), String> {
    let f = &w.form;
    let person = |text: &str, what: &str| -> Result<Target, String> {
        match split_login(text.trim()) {
            Some((domain, sam)) if !sam.contains(char::is_whitespace) => Ok(Target {
                site: domain.to_owned(),
                id: sam.to_owned(),
            }),
            _ => Err(format!("{what}: give the account as DOMAIN\\name")),
        }
    };
    match w.flow {
        Flow::Request => {
            let action = f.choice(F::Type).unwrap_or("request.pooled_desktop");
            let target = person(f.text(F::Beneficiary), "for")?;
            let requester = f.text(F::Requester);
            let params = if requester.is_empty() {
                json!(null)
            } else {
                let r = person(requester, "requested by")?;
                json!({ "requester": format!("{}\\{}", r.site, r.id) })
            };
            Ok((action.to_owned(), target, params))
        }
        Flow::Onboard => {
            let (given, surname) = (f.text(F::GivenName), f.text(F::Surname));
            let mut missing = Vec::new();
            if given.is_empty() {
                missing.push("given name");
            }
            if surname.is_empty() {
                missing.push("surname");
            }
            if !missing.is_empty() {
                return Err(format!("fill in the {}", missing.join(" and ")));
            }
            let target = person(f.text(F::Account), "account")?;
            let mut person = json!({ "given_name": given, "surname": surname });
            for (id, key) in [
                (F::Department, "department"),
                (F::Location, "location"),
                (F::Ou, "ou"),
            ] {
                if !f.text(id).is_empty() {
                    person[key] = json!(f.text(id));
                }
            }
            let groups: Vec<&str> = f
                .text(F::Groups)
                .split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .collect();
            if !groups.is_empty() {
                person["groups"] = json!(groups);
            }
            let include: Vec<&str> = [
                (F::IncludePooled, "pooled_desktop"),
                (F::IncludePersistent, "persistent_desktop"),
                (F::IncludeApps, "apps"),
            ]
            .into_iter()
            .filter(|(id, _)| f.checked(*id))
            .map(|(_, name)| name)
            .collect();
            Ok((
                "user.onboard".to_owned(),
                target,
                json!({ "person": person, "include": include }),
            ))
        }
        Flow::Offboard => {
            let target = w.target.clone().ok_or("no person")?;
            let machines = f.choice(F::Machines).unwrap_or("unassign");
            Ok((
                "user.offboard".to_owned(),
                target,
                json!({ "machines": machines }),
            ))
        }
    }
}

/// What a preview is keyed by: the job without its ticket and key.
pub(super) fn body_key(job: &(String, Target, Value)) -> Value {
    json!({ "action": job.0, "target": [job.1.site, job.1.id], "params": job.2 })
}

/// The job request of `job`, linked to `ticket`, with a fresh idempotency key.
pub(super) fn request(
    job: (String, Target, Value),
    ticket: Option<crate::console::client::TicketLink>,
) -> JobRequest {
    JobRequest {
        action: job.0,
        targets: vec![job.1],
        ticket,
        params: job.2,
        idempotency_key: IdempotencyKey::generate(),
        secrets: Vec::new(),
    }
}

/// The routing explanation as lines: the route and the rule with why it matched, the rules
/// before it that did not, and the facts the directory does not give.
pub fn routing_lines(r: &RoutingExplanation) -> Vec<(String, Tone)> {
    let mut out = Vec::new();
    match &r.route {
        Some(route) => {
            out.push((
                format!("Routed to site {} by rule {}", route.site, route.rule),
                Tone::Ok,
            ));
            if let Some(check) = r.matched() {
                for reason in &check.reasons {
                    out.push((format!("  because {reason}"), Tone::Body));
                }
            }
            let passed = r.checks.iter().filter(|c| !c.matched).count();
            if passed > 0 {
                out.push((
                    format!("  {passed} rule(s) before it did not match"),
                    Tone::Muted,
                ));
            }
            out.push((
                format!(
                    "  pooled desktop: {} · persistent: {}",
                    route.pooled_text(),
                    route.persistent_text()
                ),
                Tone::Body,
            ));
            let list = |v: &[String]| {
                if v.is_empty() {
                    "none".to_owned()
                } else {
                    v.join(", ")
                }
            };
            out.push((
                format!(
                    "  apps: {} · groups: {}",
                    list(&route.apps),
                    list(&route.groups)
                ),
                Tone::Body,
            ));
        }
        None => out.push((
            "No route: no rule matches and there is no default".into(),
            Tone::Bad,
        )),
    }
    if !r.unknown.is_empty() {
        out.push((
            format!(
                "  unknown to the directory: {} (rules on them cannot match)",
                r.unknown.join(", ")
            ),
            Tone::Muted,
        ));
    }
    out
}

fn preview_lines(p: &WorkflowPreview) -> Vec<(String, Tone)> {
    let mut out = Vec::new();
    if let Some(routing) = &p.routing {
        out.extend(routing_lines(routing));
    }
    if let Some(requester) = &p.requester {
        out.push((format!("On behalf of {requester}"), Tone::Body));
    }
    out.push((format!("Steps for {}:", p.person), Tone::Heading));
    for step in &p.steps {
        out.push((format!("  {}. {}", step.number + 1, step.title), Tone::Body));
    }
    out
}

/// What the dialog shows under the fields.
pub(super) fn shown(w: &WorkflowForm) -> Vec<(String, Tone)> {
    let mut out = Vec::new();
    let current = job_of(w).ok().map(|j| body_key(&j));
    let stale = matches!(w.preview, PreviewSlot::Ready(_) | PreviewSlot::Refused(_))
        && current.is_some()
        && current != w.previewed;
    if w.due.is_some() || stale {
        out.push(("updating the preview…".to_owned(), Tone::Muted));
    }
    match &w.preview {
        PreviewSlot::Loading => {
            out.push(("asking the adapter for the preview…".into(), Tone::Muted))
        }
        PreviewSlot::Invalid(why) => out.push((format!("No preview yet: {why}"), Tone::Muted)),
        PreviewSlot::Refused(why) => {
            out.push(("The adapter would refuse this request:".into(), Tone::Bad));
            out.push((format!("  {why}"), Tone::Bad));
        }
        PreviewSlot::Ready(p) => out.extend(preview_lines(p)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_suggested_in_plain_lower_case() {
        assert_eq!(suggest_account("Ada", "Lovelace"), "ada.lovelace");
        assert_eq!(suggest_account(" José ", "Núñez"), "jose.nunez");
        assert_eq!(suggest_account("Jean Paul", "O'Brien"), "jeanpaul.obrien");
        assert_eq!(
            suggest_account("Anne-Marie", "Straße"),
            "anne-marie.strasse"
        );
        assert_eq!(suggest_account("", "Smith"), "smith");
        assert_eq!(suggest_account("", ""), "");
    }
}
