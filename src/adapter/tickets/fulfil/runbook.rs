//! Catalog items mapped to runbooks (`[servicenow.runbooks]`, docs/fulfilment.md): the plan is a
//! `runbook.run` job whose parameters are the item's variables named like the runbook's
//! parameters (after the mapping's rename table). Other variables are not used, and masked
//! variables are never passed: a runbook must not take secrets, and a job's parameters are
//! stored, audited and quoted in notes.
//!
//! The caller finds the mapping and which variables are masked ([`look_up`]) and plans with
//! [`plan`], which also binds the values the way the job API will, so a value that does not fit
//! is a work note for a person rather than a job refused with nobody told.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{CatalogRequest, NotAutomatable, Plan, PlanTarget, quote, recipe_for};
use crate::adapter::runbooks::{Runbook, Runbooks, bind_with_sites};
use crate::config::{AdapterConfig, RunbookItem};
use crate::servicenow::ServiceNowClient;

/// `Plan::action` of a runbook run.
const ACTION: &str = "runbook.run";

/// Where [`look_up`] finds an instance's mappings: the instance's `[servicenow.runbooks]`,
/// the loaded runbooks and the configured sites' names (to bind `site` parameters).
#[derive(Clone, Copy)]
pub struct RunbookSources<'a> {
    pub items: &'a [RunbookItem],
    pub loaded: &'a Runbooks,
    pub sites: &'a [&'a str],
}

/// A request whose catalog item is mapped to a runbook, with what planning needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The catalog item as the mapping names it.
    pub item: String,
    /// The runbook's name, and the runbook as loaded (`None`: not loaded).
    pub name: String,
    pub runbook: Option<Runbook>,
    /// Catalog variable → runbook parameter.
    pub variables: BTreeMap<String, String>,
    /// The request's masked variables, by name: never passed.
    pub masked: Vec<String>,
    /// The configured sites' names.
    pub sites: Vec<String>,
    /// A lookup that failed: the request waits for a person.
    pub error: Option<String>,
}

impl Mapped {
    /// True when this mapping is for `item` (case and spaces ignored).
    pub fn maps(&self, item: &str) -> bool {
        words(&self.item) == words(item)
    }
}

/// The mapping of `request`'s item, if it has one, with the request's masked variables (read
/// with their types from the requested item `ritm`).
pub async fn look_up(
    request: &CatalogRequest,
    ritm: &str,
    sources: &RunbookSources<'_>,
    servicenow: &ServiceNowClient,
) -> Option<Mapped> {
    let wanted: Vec<String> = words(&request.item);
    let item = sources.items.iter().find(|i| words(&i.item) == wanted)?;
    let mut mapped = Mapped {
        item: item.item.clone(),
        name: item.runbook.clone(),
        runbook: sources.loaded.get(&item.runbook).cloned(),
        variables: item.variables.clone(),
        masked: Vec::new(),
        sites: sources.sites.iter().map(|s| (*s).to_owned()).collect(),
        error: None,
    };
    if mapped.runbook.is_none() {
        return Some(mapped);
    }
    match servicenow.typed_variables(ritm).await {
        Ok(vars) => {
            mapped.masked = vars
                .into_iter()
                .filter(|v| v.is_masked())
                .map(|v| v.name)
                .collect();
        }
        // Without the types a masked value could be passed as a parameter: do not guess.
        Err(e) => {
            mapped.error = Some(format!(
                "deskbridge could not read the types of the request's variables, so it cannot \
                 tell which are masked: {e}"
            ));
        }
    }
    Some(mapped)
}

fn words(item: &str) -> Vec<String> {
    item.split_whitespace().map(str::to_lowercase).collect()
}

/// The `runbook.run` job for `request`, or why a person has to fulfil it.
pub fn plan(request: &CatalogRequest, mapped: &Mapped) -> Result<Plan, NotAutomatable> {
    let Some(book) = &mapped.runbook else {
        return Err(NotAutomatable::NeedsPerson {
            why: format!(
                "the catalog item is mapped to runbook {}, which this adapter has not loaded",
                mapped.name
            ),
        });
    };
    if let Some(error) = &mapped.error {
        return Err(NotAutomatable::NeedsPerson { why: error.clone() });
    }
    let mut params = Map::new();
    let mut ignored = Vec::new();
    let mut masked = Vec::new();
    for (variable, value) in &request.variables {
        if mapped
            .masked
            .iter()
            .any(|m| m.trim().eq_ignore_ascii_case(variable.trim()))
        {
            masked.push(variable.as_str());
            continue;
        }
        match param_of(variable, book, &mapped.variables).filter(|p| book.param(p).is_some()) {
            Some(param) if !value.trim().is_empty() => {
                params.insert(param.to_owned(), Value::String(value.trim().to_owned()));
            }
            // An empty variable is a parameter not given: the runbook's default applies.
            Some(_) => {}
            None => ignored.push(variable.as_str()),
        }
    }
    let sites: Vec<&str> = mapped.sites.iter().map(String::as_str).collect();
    let given = Value::Object(params.clone());
    if let Err(e) = bind_with_sites(book, &given, &sites) {
        let mut why = format!(
            "the request does not give runbook {} ({}) what it needs: {e}",
            book.name, book.title
        );
        if !masked.is_empty() {
            why.push_str(&format!(
                " (masked variables are never passed to a runbook: {})",
                masked.join(", ")
            ));
        }
        return Err(NotAutomatable::NeedsPerson { why });
    }
    Ok(Plan {
        action: ACTION,
        targets: vec![PlanTarget {
            site: "runbook".to_owned(),
            id: book.name.clone(),
            display: format!("runbook {} ({})", book.name, book.title),
        }],
        summary: summary(book, &params, &ignored, &masked),
        params: given,
        secret_params: Vec::new(),
        clear_variables: Vec::new(),
    })
}

/// The runbook parameter `variable` gives: its rename, else its own name unless another
/// variable is renamed to it (the rename wins).
fn param_of<'a>(
    variable: &str,
    book: &'a Runbook,
    renames: &'a BTreeMap<String, String>,
) -> Option<&'a str> {
    let variable = variable.trim();
    if let Some(param) = renames.get(variable).or_else(|| {
        renames
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(variable))
            .map(|(_, v)| v)
    }) {
        return Some(param);
    }
    let own = book
        .params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(variable))?;
    (!renames.values().any(|p| *p == own.name)).then_some(own.name.as_str())
}

/// One line for the work note: the runbook, the parameters given, and the variables left out.
fn summary(
    book: &Runbook,
    params: &Map<String, Value>,
    ignored: &[&str],
    masked: &[&str],
) -> String {
    let given: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", quote(v.as_str().unwrap_or_default())))
        .collect();
    let mut line = format!("run runbook {} ({})", book.name, book.title);
    if given.is_empty() {
        line.push_str(" with its defaults");
    } else {
        line.push_str(&format!(" with {}", given.join(", ")));
    }
    if !ignored.is_empty() {
        line.push_str(&format!("; variables not used: {}", ignored.join(", ")));
    }
    if !masked.is_empty() {
        line.push_str(&format!(
            "; masked variables, never passed: {}",
            masked.join(", ")
        ));
    }
    line
}

/// Checks every instance's `[servicenow.runbooks]` against the loaded runbooks: each runbook
/// is loaded, no item is also a built-in recipe, and renamed variables give parameters the
/// runbook has. Each problem names where the mapping is written.
pub fn check_runbook_items(config: &AdapterConfig, loaded: &Runbooks) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for instance in &config.servicenow {
        for item in &instance.runbooks {
            let at = if item.origin.is_empty() {
                format!("servicenow {:?}: runbooks.{:?}", instance.name, item.item)
            } else {
                item.origin.clone()
            };
            if let Some(recipe) = recipe_for(&item.item) {
                problems.push(format!(
                    "{at}: {recipe:?} is a built-in item fulfilled by its own recipe; it cannot \
                     be mapped to a runbook too"
                ));
            }
            let Some(book) = loaded.get(&item.runbook) else {
                let names: Vec<&str> = loaded.list().iter().map(|r| r.name.as_str()).collect();
                problems.push(format!(
                    "{at}: no runbook {:?} is loaded; the runbooks: {}",
                    item.runbook,
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ));
                continue;
            };
            for (variable, param) in &item.variables {
                if book.param(param).is_none() {
                    let names: Vec<&str> = book.params.iter().map(|p| p.name.as_str()).collect();
                    problems.push(format!(
                        "{at}: variable {variable:?} is renamed to {param:?}, which runbook {} \
                         has no parameter for; its parameters: {}",
                        book.name,
                        names.join(", ")
                    ));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
