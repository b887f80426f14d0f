//! Finds, reads and resolves themes: built-in files, user files in the config dir, the
//! `inherits` chain, and the errors that name the file, line and slot.

use super::parse::{self, ThemeFile};
use super::{DEFAULT_THEME, SLOTS, Theme};
use crate::config::{ConfigErrors, Diagnostic};
use ratatui::style::Style;
use std::path::{Path, PathBuf};

/// The built-in themes, embedded so the binary needs no files beside it.
const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../../../themes/default.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../../themes/mono.toml")),
];

/// Why a theme could not be loaded. `Display` is a message for a person.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("{0:?} is not a theme name: a name is letters, digits, '-' and '_'")]
    BadName(String),
    #[error("no theme named {name:?}{}; available: {}", looked_in_text(.looked_in), .available.join(", "))]
    Unknown {
        name: String,
        /// The user file that was looked for, when there is a config dir.
        looked_in: Option<PathBuf>,
        available: Vec<String>,
    },
    #[error("{}: cannot read the theme: {message}", .file.display())]
    Read { file: PathBuf, message: String },
    /// Problems in theme files, one per line as `FILE:LINE:COL: key SLOT: message`.
    #[error("{0}")]
    Invalid(ConfigErrors),
}

fn looked_in_text(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" (built in, or {})", p.display()))
        .unwrap_or_default()
}

/// Where a theme's text comes from. A user file may shadow a built-in theme of the same name.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    BuiltIn(&'static str, &'static str),
    User(String, PathBuf),
}

impl Source {
    fn name(&self) -> &str {
        match self {
            Source::BuiltIn(name, _) => name,
            Source::User(name, _) => name,
        }
    }

    /// The file as named in messages.
    fn label(&self) -> String {
        match self {
            Source::BuiltIn(name, _) => format!("themes/{name}.toml (built in)"),
            Source::User(_, path) => path.display().to_string(),
        }
    }
}

fn built_in(name: &str) -> Option<Source> {
    BUILT_IN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(n, text)| Source::BuiltIn(n, text))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn user_path(config_dir: &Path, name: &str) -> PathBuf {
    config_dir.join("themes").join(format!("{name}.toml"))
}

impl Theme {
    /// Loads theme `name`: `<config_dir>/themes/<name>.toml` when that file exists, else the
    /// built-in theme of that name, with unset slots filled from the theme it inherits.
    pub fn load(name: &str, config_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        if !valid_name(name) {
            return Err(ThemeError::BadName(name.to_string()));
        }
        let first = find(name, config_dir)?.ok_or_else(|| ThemeError::Unknown {
            name: name.to_string(),
            looked_in: config_dir.map(|dir| user_path(dir, name)),
            available: Theme::names(config_dir),
        })?;
        // The chain from the requested theme up to the root (the built-in default).
        let mut chain: Vec<(Source, ThemeFile)> = Vec::new();
        let mut next = Some(first);
        while let Some(source) = next {
            let file = read(&source)?;
            next = parent(&source, &file, config_dir)?;
            if let Some(p) = &next
                && (*p == source || chain.iter().any(|(seen, _)| seen == p))
            {
                return Err(cycle(&source, &file, &chain, p));
            }
            chain.push((source, file));
        }
        resolve(name, &chain)
    }

    /// Every theme available: the built-in ones and `<config_dir>/themes/*.toml`, sorted.
    /// Files whose names cannot be theme names are left out; an unreadable folder lists the
    /// built-in themes only (loading a theme from it reports the error).
    pub fn names(config_dir: Option<&Path>) -> Vec<String> {
        let mut names: Vec<String> = BUILT_IN.iter().map(|(n, _)| n.to_string()).collect();
        if let Some(entries) = config_dir.and_then(|dir| dir.join("themes").read_dir().ok()) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "toml")
                    && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
                    && valid_name(stem)
                {
                    names.push(stem.to_string());
                }
            }
        }
        names.sort();
        names.dedup();
        names
    }
}

/// The user file for `name` if there is one, else the built-in theme.
fn find(name: &str, config_dir: Option<&Path>) -> Result<Option<Source>, ThemeError> {
    if let Some(dir) = config_dir {
        let path = user_path(dir, name);
        match path.try_exists() {
            Ok(true) => return Ok(Some(Source::User(name.to_string(), path))),
            Ok(false) => {}
            Err(e) => {
                return Err(ThemeError::Read {
                    file: path,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(built_in(name))
}

fn read(source: &Source) -> Result<ThemeFile, ThemeError> {
    let owned;
    let text = match source {
        Source::BuiltIn(_, text) => *text,
        Source::User(_, path) => {
            owned = std::fs::read_to_string(path).map_err(|e| ThemeError::Read {
                file: path.clone(),
                message: e.to_string(),
            })?;
            owned.as_str()
        }
    };
    parse::parse(&source.label(), text).map_err(ThemeError::Invalid)
}

/// The theme `source` inherits from; `None` for the built-in default, the root of all.
fn parent(
    source: &Source,
    file: &ThemeFile,
    config_dir: Option<&Path>,
) -> Result<Option<Source>, ThemeError> {
    let own = source.name();
    let shadowed = match source {
        Source::User(name, _) => built_in(name),
        Source::BuiltIn(..) => None,
    };
    let Some((parent, position)) = &file.inherits else {
        return Ok(match source {
            Source::BuiltIn(DEFAULT_THEME, _) => None,
            // A user file named after a built-in theme tweaks that theme.
            _ if shadowed.is_some() => shadowed,
            _ => find(DEFAULT_THEME, config_dir)?,
        });
    };
    let problem = |message: String| {
        ThemeError::Invalid(ConfigErrors(vec![at_inherits(source, *position, message)]))
    };
    if parent == own {
        // In a file that shadows a built-in theme, its own name means the built-in one.
        return match shadowed {
            Some(builtin) => Ok(Some(builtin)),
            None => Err(problem(format!(
                "theme {own:?} inherits from itself; name another theme, such as \"default\""
            ))),
        };
    }
    if !valid_name(parent) {
        return Err(problem(format!(
            "{parent:?} is not a theme name: a name is letters, digits, '-' and '_'"
        )));
    }
    match find(parent, config_dir)? {
        Some(found) => Ok(Some(found)),
        None => Err(problem(format!(
            "no theme named {parent:?} to inherit from; available: {}",
            Theme::names(config_dir).join(", ")
        ))),
    }
}

/// A diagnostic at the `inherits` value (line, column) of `source`.
fn at_inherits(source: &Source, position: (usize, usize), message: String) -> Diagnostic {
    Diagnostic {
        file: source.label(),
        position: Some(position),
        key: Some("inherits".to_string()),
        message,
    }
}

/// The error for a chain that comes back to a theme it already passed through.
fn cycle(
    source: &Source,
    file: &ThemeFile,
    chain: &[(Source, ThemeFile)],
    back_to: &Source,
) -> ThemeError {
    let mut names: Vec<&str> = chain.iter().map(|(s, _)| s.name()).collect();
    names.push(source.name());
    names.push(back_to.name());
    let message = format!(
        "themes inherit in a circle: {} (a theme without inherits inherits from {DEFAULT_THEME})",
        names.join(" → ")
    );
    let diagnostic = match &file.inherits {
        Some((_, position)) => at_inherits(source, *position, message),
        None => Diagnostic {
            file: source.label(),
            position: None,
            key: Some("inherits".to_string()),
            message,
        },
    };
    ThemeError::Invalid(ConfigErrors(vec![diagnostic]))
}

/// Applies the chain from its root down; every slot must end up set.
fn resolve(name: &str, chain: &[(Source, ThemeFile)]) -> Result<Theme, ThemeError> {
    let mut styles: Vec<Option<Style>> = vec![None; SLOTS.len()];
    for (_, file) in chain.iter().rev() {
        for &(index, style) in &file.styles {
            if let Some(slot) = styles.get_mut(index) {
                *slot = Some(style);
            }
        }
    }
    let mut theme = Theme::blank(name);
    let mut missing = Vec::new();
    for (&(section, slot), style) in SLOTS.iter().zip(&styles) {
        match (style, theme.slot_mut(section, slot)) {
            (Some(style), Some(target)) => *target = *style,
            _ => missing.push(format!("{section}.{slot}")),
        }
    }
    if missing.is_empty() {
        return Ok(theme);
    }
    let root = chain.last().map_or_else(String::new, |(s, _)| s.label());
    Err(ThemeError::Invalid(ConfigErrors(vec![Diagnostic {
        file: root,
        position: None,
        key: None,
        message: format!(
            "the root theme does not set every slot; missing: {}",
            missing.join(", ")
        ),
    }])))
}
