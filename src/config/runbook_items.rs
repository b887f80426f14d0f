//! `[servicenow.runbooks]`: catalog items fulfilled by a runbook (docs/fulfilment.md), checked
//! key by key so that every bad mapping is reported at its own line.
//!
//! ```toml
//! [servicenow.runbooks]
//! "Reset stale Citrix sessions" = "reset-disconnected"
//! "Free up London" = { runbook = "reset-disconnected", variables = { hours = "older_than" } }
//! ```
//!
//! Here the names are checked and each runbook's file is looked for in the runbooks folder;
//! whether the runbook has the renamed parameters is checked once the runbooks are loaded
//! (`crate::adapter::tickets::fulfil::check_runbook_items`, when `serve` starts).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;

use super::check::Ctx;
use super::raw::{RawConfig, RawInstance};
use super::types::{RunbookItem, norm_item};
use crate::adapter::tickets::fulfil::recipe_for;

/// The mappings of one instance; `None` when any is wrong (the errors are recorded).
pub(super) fn check_items(
    raw: &RawInstance,
    prefix: &str,
    ctx: &mut Ctx<'_>,
) -> Option<Vec<RunbookItem>> {
    let Some(table) = &raw.runbooks else {
        return Some(Vec::new());
    };
    let mut out: Vec<RunbookItem> = Vec::new();
    let mut ok = true;
    for (item, value) in table.get_ref() {
        let key = format!("{prefix}.runbooks.{:?}", item.get_ref());
        let name = item.get_ref().trim();
        if name.is_empty() {
            ctx.c
                .error(item.span(), &key, "the catalog item's name is empty");
            ok = false;
            continue;
        }
        if let Some(first) = out.iter().find(|r| norm_item(&r.item) == norm_item(name)) {
            ctx.c.error(
                item.span(),
                &key,
                format!(
                    "catalog item {name:?} is mapped twice (also as {:?}); item names are \
                     compared ignoring case and spaces, so keep one",
                    first.item
                ),
            );
            ok = false;
            continue;
        }
        if let Some(recipe) = recipe_for(name) {
            ctx.c.error(
                item.span(),
                &key,
                format!(
                    "{recipe:?} is a built-in item that deskbridge fulfils with its own recipe; \
                     an item is fulfilled by a recipe or by a runbook, not both: map a catalog \
                     item of your own to the runbook"
                ),
            );
            ok = false;
            continue;
        }
        let Some((runbook, variables)) = target(value, &key, ctx) else {
            ok = false;
            continue;
        };
        let origin = ctx
            .c
            .diagnostic(Some(item.span()), Some(key), "")
            .to_string();
        out.push(RunbookItem {
            item: name.to_owned(),
            runbook,
            variables,
            origin: origin.trim_end_matches(": ").to_owned(),
        });
    }
    ok.then_some(out)
}

/// A mapping's value: the runbook's name, and the variable renames.
fn target(
    value: &Spanned<toml::Value>,
    key: &str,
    ctx: &mut Ctx<'_>,
) -> Option<(String, BTreeMap<String, String>)> {
    let span = value.span();
    let how = "write `\"ITEM\" = \"RUNBOOK\"` or `\"ITEM\" = { runbook = \"RUNBOOK\", variables = \
               { VARIABLE = \"PARAMETER\" } }`";
    let table = match value.get_ref() {
        toml::Value::String(name) => {
            return runbook_name(name, span, key, ctx).map(|n| (n, BTreeMap::new()));
        }
        toml::Value::Table(table) => table,
        other => {
            ctx.c.error(
                span,
                key,
                format!("is a {}, not a runbook; {how}", other.type_str()),
            );
            return None;
        }
    };
    let mut ok = true;
    for unknown in table
        .keys()
        .filter(|k| !matches!(k.as_str(), "runbook" | "variables"))
    {
        ctx.c.error(
            span.clone(),
            &format!("{key}.{unknown}"),
            "unknown key; a mapping has `runbook` and, optionally, `variables`",
        );
        ok = false;
    }
    let runbook = match table.get("runbook") {
        Some(toml::Value::String(name)) => runbook_name(name, span.clone(), key, ctx),
        Some(other) => {
            ctx.c.error(
                span.clone(),
                &format!("{key}.runbook"),
                format!(
                    "is a {}; give the runbook's name as a string",
                    other.type_str()
                ),
            );
            None
        }
        None => {
            ctx.c.error(
                span.clone(),
                &format!("{key}.runbook"),
                format!("this key is required; {how}"),
            );
            None
        }
    };
    let mut variables = BTreeMap::new();
    match table.get("variables") {
        None => {}
        Some(toml::Value::Table(renames)) => {
            let mut targets: BTreeMap<&str, &str> = BTreeMap::new();
            for (variable, param) in renames {
                let at = format!("{key}.variables.{variable:?}");
                let Some(param) = param.as_str().map(str::trim) else {
                    ctx.c.error(
                        span.clone(),
                        &at,
                        "give the runbook parameter's name as a string",
                    );
                    ok = false;
                    continue;
                };
                if variable.trim().is_empty() {
                    ctx.c
                        .error(span.clone(), &at, "the variable's name is empty");
                    ok = false;
                } else if !is_param_name(param) {
                    ctx.c.error(
                        span.clone(),
                        &at,
                        format!(
                            "{param:?} is not a parameter name (lower-case letters, digits and \
                             `_`, starting with a letter)"
                        ),
                    );
                    ok = false;
                } else if let Some(other) = targets.insert(param, variable) {
                    ctx.c.error(
                        span.clone(),
                        &at,
                        format!(
                            "the variables {other:?} and {variable:?} both give parameter \
                             {param:?}; keep one"
                        ),
                    );
                    ok = false;
                } else {
                    variables.insert(variable.trim().to_owned(), param.to_owned());
                }
            }
        }
        Some(other) => {
            ctx.c.error(
                span.clone(),
                &format!("{key}.variables"),
                format!(
                    "is a {}; write `variables = {{ VARIABLE = \"PARAMETER\" }}`",
                    other.type_str()
                ),
            );
            ok = false;
        }
    }
    Some((runbook?, variables)).filter(|_| ok)
}

fn runbook_name(name: &str, span: Range<usize>, key: &str, ctx: &mut Ctx<'_>) -> Option<String> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        ctx.c.error(
            span,
            key,
            format!(
                "{name:?} is not a runbook name (lower-case letters, digits and `-`, as its \
                 file NAME.toml)"
            ),
        );
        return None;
    }
    Some(name.to_owned())
}

fn is_param_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Every mapped runbook must have its file in the runbooks folder. `dir`: `None` when the
/// folder setting itself is wrong (already reported), `Some(None)` when there is no folder.
pub(super) fn check_files(raw: &RawConfig, dir: Option<&Option<PathBuf>>, ctx: &mut Ctx<'_>) {
    let Some(dir) = dir else { return };
    for (i, instance) in raw.servicenow.iter().enumerate() {
        let Some(table) = &instance.get_ref().runbooks else {
            continue;
        };
        for (item, value) in table.get_ref() {
            let name = match value.get_ref() {
                toml::Value::String(name) => name.as_str(),
                toml::Value::Table(t) => match t.get("runbook").and_then(toml::Value::as_str) {
                    Some(name) => name,
                    None => continue,
                },
                _ => continue,
            };
            let key = format!("servicenow[{i}].runbooks.{:?}", item.get_ref());
            match dir {
                None => ctx.c.error(
                    value.span(),
                    &key,
                    format!(
                        "maps to runbook {name:?}, but there is no runbooks folder; set \
                         `runbooks_dir` or create `runbooks` beside this file (docs/runbooks.md)"
                    ),
                ),
                Some(dir) if !dir.join(format!("{name}.toml")).is_file() => ctx.c.error(
                    value.span(),
                    &key,
                    format!(
                        "no runbook {name:?}: {} has no file {name}.toml; the runbooks there: {}",
                        dir.display(),
                        names_in(dir)
                    ),
                ),
                Some(_) => {}
            }
        }
    }
}

/// The runbook files of `dir`, by name, for a message.
fn names_in(dir: &std::path::Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".toml")?;
            (!stem.starts_with('.')).then(|| stem.to_owned())
        })
        .collect();
    names.sort();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}
