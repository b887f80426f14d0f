//! Runbooks: admin-defined workflows as TOML files in a runbooks folder (docs/runbooks.md).
//! A runbook has typed parameters and steps; each step selects its targets live (sessions or
//! machines of a site, or a user), runs one built-in action over them as a child job, and may
//! depend on a condition over the parameters and earlier steps' results.
//!
//! This module loads and checks the files ([`Runbooks::load`], every problem with its file,
//! line and step), binds a run's parameters ([`bind`]), resolves a step before it runs
//! ([`resolve`]), selects targets ([`session_matches`], [`machine_matches`],
//! [`user_target`]) and evaluates conditions ([`condition_holds`]). Running a step is the job
//! engine's.

mod bind;
mod check;
mod check_select;
mod check_step;
mod condition;
mod load;
mod model;
mod raw;
mod select;

#[cfg(test)]
mod tests;

use std::path::Path;

use serde_json::{Value, json};

pub use bind::{bind, bind_with_sites, placeholders, resolve, substitute, whole_placeholder};
pub use condition::{Condition, Literal, Op, Ref, StepField, condition_holds};
pub use load::{RunbookError, RunbookErrors};
pub use model::{
    Dur, Field, MAX_WAIT, MachineQuery, OnFailure, ParamDef, ParamType, ParamValue, ResolvedStep,
    Runbook, Selection, SessionQuery, SessionStateFilter, StepDef, StepResult, UserQuery, Values,
    duration_text, parse_duration,
};
pub use select::{machine_matches, session_matches, user_target};

use crate::config::AdapterConfig;

/// The loaded runbooks, sorted by name. Empty when no folder is configured.
#[derive(Debug, Clone, Default)]
pub struct Runbooks {
    runbooks: Vec<Runbook>,
}

impl Runbooks {
    /// Loads and checks every `*.toml` file of `dir`: all problems of all files, or none.
    /// Site names in the files and parameter defaults are checked against `config`'s sites.
    pub fn load(dir: &Path, config: &AdapterConfig) -> Result<Runbooks, RunbookErrors> {
        Self::load_with_sites(dir, &bind::site_names(config))
    }

    /// Like [`Runbooks::load`], with the configured site names given directly.
    pub fn load_with_sites(dir: &Path, sites: &[&str]) -> Result<Runbooks, RunbookErrors> {
        let mut runbooks = load::load_folder(dir, sites)?;
        runbooks.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Runbooks { runbooks })
    }

    /// The folder `config.runbooks_dir` names, loaded; none when it is `None`.
    pub fn configured(config: &AdapterConfig) -> Result<Runbooks, RunbookErrors> {
        match &config.runbooks_dir {
            Some(dir) => Self::load(dir, config),
            None => Ok(Runbooks::default()),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Runbook> {
        self.runbooks.iter().find(|r| r.name == name)
    }

    pub fn list(&self) -> &[Runbook] {
        &self.runbooks
    }

    pub fn is_empty(&self) -> bool {
        self.runbooks.is_empty()
    }

    pub fn len(&self) -> usize {
        self.runbooks.len()
    }
}

/// What the API and the console show of a runbook: its parameters (for a form) and its steps
/// in words.
pub fn describe(runbook: &Runbook) -> Value {
    let params: Vec<Value> = runbook
        .params
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "type": p.kind.as_str(),
                "required": p.required,
                "default": p.default,
                "description": p.description,
            })
        })
        .collect();
    let steps: Vec<Value> = runbook
        .steps
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "title": s.title,
                "action": s.action,
                "targets": s.select.kind(),
                "site": s.select.site(),
                "when": s.when.as_ref().map(|c| c.text.clone()),
                "on_failure": s.on_failure.as_str(),
                "wait": s.wait,
            })
        })
        .collect();
    let file = runbook
        .file
        .file_name()
        .map(|f| f.to_string_lossy().into_owned());
    json!({
        "name": runbook.name,
        "title": runbook.title,
        "description": runbook.description,
        "role": runbook.role,
        "file": file,
        "params": params,
        "steps": steps,
    })
}
