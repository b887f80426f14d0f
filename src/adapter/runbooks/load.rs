//! Reading the runbooks folder: every `*.toml` file, its TOML and serde errors placed at
//! their line and step, and the errors of all files collected for one report.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::check;
use super::model::Runbook;
use super::raw::RawRunbook;

/// One problem in a runbook file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookError {
    /// The file as found in the folder (`runbooks/drain.toml`).
    pub file: String,
    /// 1-based, when the problem has a place in the file.
    pub line: Option<usize>,
    /// The step the problem is in, when it is in one.
    pub step: Option<String>,
    pub message: String,
}

impl fmt::Display for RunbookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(step) = &self.step {
            write!(f, ": step {step:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem of every file; `Display` prints one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookErrors(pub Vec<RunbookError>);

impl RunbookErrors {
    pub fn iter(&self) -> impl Iterator<Item = &RunbookError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for RunbookErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RunbookErrors {}

/// Largest runbook file read: a runbook is a page of TOML, not a data set.
const MAX_FILE_BYTES: u64 = 256 * 1024;

/// The errors of one file, with what places them.
pub(super) struct FileCtx<'a> {
    pub file: String,
    text: &'a str,
    /// Configured site names, for site literals and parameter defaults.
    pub sites: &'a [&'a str],
    pub errors: Vec<RunbookError>,
}

impl<'a> FileCtx<'a> {
    pub(super) fn new(file: String, text: &'a str, sites: &'a [&'a str]) -> Self {
        FileCtx {
            file,
            text,
            sites,
            errors: Vec::new(),
        }
    }

    fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    /// An error at `span` (a byte range of the file), in `step` when given.
    pub(super) fn error(
        &mut self,
        span: Option<Range<usize>>,
        step: Option<&str>,
        message: impl Into<String>,
    ) {
        let line = span.map(|s| self.line(s.start));
        self.errors.push(RunbookError {
            file: self.file.clone(),
            line,
            step: step.map(str::to_owned),
            message: message.into(),
        });
    }
}

/// Every `*.toml` file of `dir` (sorted by name; other files and folders are ignored).
pub(super) fn load_folder(dir: &Path, sites: &[&str]) -> Result<Vec<Runbook>, RunbookErrors> {
    let folder = dir.display().to_string();
    let fail = |message: String| {
        RunbookErrors(vec![RunbookError {
            file: folder.clone(),
            line: None,
            step: None,
            message,
        }])
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| fail(format!("cannot read the runbooks folder: {e}")))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| fail(format!("cannot read the runbooks folder: {e}")))?;
        let path = entry.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        if !hidden && path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut runbooks = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match load_file(&path, sites) {
            Ok(runbook) => runbooks.push(runbook),
            Err(mut file_errors) => errors.append(&mut file_errors),
        }
    }
    if errors.is_empty() {
        Ok(runbooks)
    } else {
        Err(RunbookErrors(errors))
    }
}

/// One file, checked; its errors in file order.
pub(super) fn load_file(path: &Path, sites: &[&str]) -> Result<Runbook, Vec<RunbookError>> {
    let file = path.display().to_string();
    let whole = |message: String| {
        vec![RunbookError {
            file: file.clone(),
            line: None,
            step: None,
            message,
        }]
    };
    let size = std::fs::metadata(path)
        .map_err(|e| whole(format!("cannot read the file: {e}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(whole(format!(
            "the file is {size} bytes; a runbook may have at most {MAX_FILE_BYTES}"
        )));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| whole(format!("cannot read the file: {e}")))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned();
    let mut ctx = FileCtx::new(file, &text, sites);
    let runbook =
        parse(&text, &mut ctx).and_then(|raw| check::runbook(&raw, &stem, path, &mut ctx));
    match runbook {
        Some(runbook) if ctx.errors.is_empty() => Ok(runbook),
        _ => {
            let mut errors = ctx.errors;
            errors.sort_by_key(|e| e.line);
            Err(errors)
        }
    }
}

/// TOML syntax (every error) and serde types (the first error: serde reads one value at a
/// time and stops there).
fn parse(text: &str, ctx: &mut FileCtx<'_>) -> Option<RawRunbook> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    let errors = if syntax.is_empty() {
        match toml::from_str::<RawRunbook>(text) {
            Ok(raw) => return Some(raw),
            Err(e) => vec![e],
        }
    } else {
        syntax
    };
    let keys = crate::config::KeyMap::new(text);
    for e in errors {
        let path = e.span().and_then(|s| keys.path_at(text, &s));
        let (step, key) = match path.as_deref().and_then(split_step) {
            Some((index, rest)) => (step_name(root.get_ref(), index), rest),
            None => (None, path.clone()),
        };
        let message = explain(key, e.message());
        ctx.error(e.span(), step.as_deref(), message);
    }
    None
}

/// `steps[2].select.machines.x` → `(2, Some("select.machines.x"))`.
fn split_step(path: &str) -> Option<(usize, Option<String>)> {
    let rest = path.strip_prefix("steps[")?;
    let (index, rest) = rest.split_once(']')?;
    let index = index.parse().ok()?;
    let rest = rest.strip_prefix('.').filter(|r| !r.is_empty());
    Some((index, rest.map(str::to_owned)))
}

/// The name of step `index`, read from the (possibly broken) file; `#N` (from 1) when it has
/// none.
fn step_name(root: &DeTable<'_>, index: usize) -> Option<String> {
    let (_, steps) = root.iter().find(|(k, _)| k.get_ref().as_ref() == "steps")?;
    let DeValue::Array(items) = steps.get_ref() else {
        return None;
    };
    let name = match items.get(index).map(|i| i.get_ref()) {
        Some(DeValue::Table(table)) => table.iter().find_map(|(k, v)| match v.get_ref() {
            DeValue::String(s) if k.get_ref().as_ref() == "name" => Some(s.to_string()),
            _ => None,
        }),
        _ => None,
    };
    Some(name.unwrap_or_else(|| format!("#{}", index + 1)))
}

/// Serde's messages in the runbook's terms.
fn explain(key: Option<String>, message: &str) -> String {
    let message = message.trim();
    let at = |m: String| match &key {
        Some(k) => format!("{k}: {m}"),
        None => m,
    };
    if let Some(rest) = message.strip_prefix("unknown field") {
        return at(format!(
            "unknown key{rest}; check its spelling and the table it is in (docs/runbooks.md)"
        ));
    }
    at(message.to_owned())
}
