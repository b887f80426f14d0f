//! The checking pass over one parsed file: the runbook's own keys and its `[[params]]`, then
//! each step ([`super::check_step`]), conditions against the steps before them, and the
//! runbook's role against the strongest action it runs. Every problem is recorded.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use toml::Spanned;

use super::bind::check_value;
use super::check_step;
use super::condition;
use super::load::FileCtx;
use super::model::{ParamDef, ParamType, Runbook};
use super::raw::{RawParam, RawRunbook};
use crate::adapter::store::Role;

/// Most steps and parameters in one runbook: a runbook is read by a person before it runs.
const MAX_STEPS: usize = 50;
const MAX_PARAMS: usize = 30;

/// `[a-z0-9-]`, not empty, not starting with `-`: runbook and step names, which appear in
/// URLs and conditions.
pub(super) fn is_slug(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `[a-z][a-z0-9_]*`: parameter names, which appear in `{{name}}` and `params.NAME`.
fn is_param_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

pub(super) fn runbook(
    raw: &RawRunbook,
    stem: &str,
    path: &Path,
    ctx: &mut FileCtx<'_>,
) -> Option<Runbook> {
    let before = ctx.errors.len();
    if !is_slug(stem) {
        ctx.error(
            None,
            None,
            format!(
                "the file name {stem:?} is not a runbook name; use lower-case letters, digits and \
                 `-` (e.g. drain-and-reboot.toml)"
            ),
        );
    }
    let name = match &raw.name {
        None => {
            ctx.error(
                None,
                None,
                format!("name: this key is required; add `name = \"{stem}\"` (the file's name)"),
            );
            String::new()
        }
        Some(name) if name.get_ref() != stem => {
            ctx.error(
                Some(name.span()),
                None,
                format!(
                    "name is {:?} but the file is {stem}.toml; a runbook's name must equal its \
                     file name",
                    name.get_ref()
                ),
            );
            String::new()
        }
        Some(name) => name.get_ref().clone(),
    };
    let title = raw
        .title
        .as_ref()
        .map_or_else(|| name.clone(), |t| t.get_ref().trim().to_owned());
    let description = raw
        .description
        .as_ref()
        .map_or_else(String::new, |d| d.get_ref().trim().to_owned());
    let role = match &raw.role {
        None => Role::Admin,
        Some(r) => Role::parse(r.get_ref()).unwrap_or_else(|| {
            ctx.error(
                Some(r.span()),
                None,
                format!("role is {:?}; use viewer, helpdesk or admin", r.get_ref()),
            );
            Role::Admin
        }),
    };

    let params = params(&raw.params, ctx);

    if raw.steps.is_empty() {
        ctx.error(
            None,
            None,
            "the runbook has no steps; add at least one `[[steps]]` table",
        );
    }
    if raw.steps.len() > MAX_STEPS {
        ctx.error(
            Some(raw.steps[MAX_STEPS].span()),
            None,
            format!(
                "the runbook has {} steps; at most {MAX_STEPS} are allowed",
                raw.steps.len()
            ),
        );
    }
    let names: Vec<String> = raw
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| check_step::label(s.get_ref(), i))
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, step) in raw.steps.iter().enumerate() {
        if let Some(n) = &step.get_ref().name
            && let Some(first) = seen.insert(n.get_ref().as_str(), i)
        {
            ctx.error(
                Some(n.span()),
                Some(&names[i]),
                format!(
                    "step {:?} is already defined (step {}); step names must be unique",
                    n.get_ref(),
                    first + 1
                ),
            );
        }
    }
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut steps = Vec::new();
    for (i, raw_step) in raw.steps.iter().enumerate() {
        let checked = check_step::step(raw_step, &names[i], &params, ctx);
        if let Some((when, span)) = &checked.when
            && let Err(e) = condition::check(when, &params, &name_refs, i)
        {
            ctx.error(Some(span.clone()), Some(&names[i]), format!("when: {e}"));
        }
        if let Some((needs, why, span)) = &checked.needs
            && !role.allows(*needs)
        {
            ctx.error(
                Some(span.clone()),
                Some(&names[i]),
                format!(
                    "{why}, but the runbook's role is {role} (who may run it; never lower than \
                     what its steps do): set `role = \"{needs}\"`"
                ),
            );
        }
        steps.extend(checked.step);
    }
    (ctx.errors.len() == before).then(|| Runbook {
        name,
        title,
        description,
        role,
        params,
        steps,
        file: path.to_path_buf(),
    })
}

fn params(raw: &[Spanned<RawParam>], ctx: &mut FileCtx<'_>) -> Vec<ParamDef> {
    if raw.len() > MAX_PARAMS {
        ctx.error(
            Some(raw[MAX_PARAMS].span()),
            None,
            format!(
                "the runbook has {} parameters; at most {MAX_PARAMS} are allowed",
                raw.len()
            ),
        );
    }
    let mut out: Vec<ParamDef> = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let p = entry.get_ref();
        let at = format!("params[{i}]");
        let Some(name) = &p.name else {
            ctx.error(
                Some(entry.span()),
                None,
                format!("{at}.name: this key is required; add `name = \"...\"`"),
            );
            continue;
        };
        let name_text = name.get_ref().clone();
        if !is_param_name(&name_text) {
            ctx.error(
                Some(name.span()),
                None,
                format!(
                    "parameter {name_text:?}: a name is lower-case letters, digits and `_`, \
                     starting with a letter"
                ),
            );
            continue;
        }
        if out.iter().any(|d| d.name == name_text) {
            ctx.error(
                Some(name.span()),
                None,
                format!("parameter {name_text:?} is already defined; names must be unique"),
            );
            continue;
        }
        let kind = match &p.kind {
            None => {
                ctx.error(
                    Some(entry.span()),
                    None,
                    format!(
                        "parameter {name_text:?}: type is required; use one of {}",
                        type_names()
                    ),
                );
                continue;
            }
            Some(k) => match ParamType::parse(k.get_ref()) {
                Some(kind) => kind,
                None => {
                    ctx.error(
                        Some(k.span()),
                        None,
                        format!(
                            "parameter {name_text:?}: unknown type {:?}; use one of {}",
                            k.get_ref(),
                            type_names()
                        ),
                    );
                    continue;
                }
            },
        };
        let required = p.required.as_ref().is_some_and(|r| *r.get_ref());
        let mut def = ParamDef {
            name: name_text.clone(),
            kind,
            required,
            default: None,
            description: p
                .description
                .as_ref()
                .map_or_else(String::new, |d| d.get_ref().trim().to_owned()),
        };
        if let Some(default) = &p.default {
            if required {
                ctx.error(
                    Some(default.span()),
                    None,
                    format!(
                        "parameter {name_text:?} is required and has a default; a default \
                         makes it optional, so remove one of them"
                    ),
                );
                continue;
            }
            let json = serde_json::to_value(default.get_ref()).unwrap_or(Value::Null);
            match check_value(&def, &json, ctx.sites) {
                Ok(v) => def.default = Some(v.to_json()),
                Err(e) => {
                    ctx.error(
                        Some(default.span()),
                        None,
                        format!("the default of parameter {name_text:?} is wrong: {e}"),
                    );
                    continue;
                }
            }
        }
        out.push(def);
    }
    out
}

fn type_names() -> String {
    let names: Vec<&str> = ParamType::ALL.iter().map(|t| t.as_str()).collect();
    names.join(", ")
}
