//! The `:` command mode: the commands (`:sessions London`, `:tickets mine`, `:theme dark`,
//! `:q` …), parsing them with "did you mean" errors, Tab completion, and the prompt state
//! that turns keys into a [`Command`]. Pure and UI-free; the UI draws [`CommandLine::input`],
//! [`CommandLine::completion`] and [`CommandLine::error`].
//!
//! - A command is its name, a singular (`:session`), `:q`, or any unambiguous start of a
//!   name (`:sess`, `:ref`), as in vim; `:s` is ambiguous (sessions, sites) and says so.
//! - `:sessions`, `:machines` and `:groups` take an optional site, `:tickets` an optional
//!   queue (`mine`, `unassigned`, `all`), `:theme` a theme name. Names are checked against the
//!   lists in [`Completions`] ignoring case and returned as the list spells them; an empty
//!   list (not loaded yet) accepts any name.
//! - The prompt's history and editing ([`History`], [`LineEditor`]) serve the `/` filter line
//!   too, with a history of its own.

mod complete;
mod history;
mod line;
mod spec;

#[cfg(test)]
mod tests;

pub use complete::{Completion, Completions, complete};
pub use history::History;
pub use line::{CommandLine, CompletionMenu, LineEditor, LineEvent, Outcome};

use crate::console::keymap::View;
use complete::suggest;
use spec::{Arg, COMMANDS, Kind};
use std::fmt;

/// A parsed `:` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Switch to a list view. `arg: None` means the whole view: every site, or the default
    /// ticket queue.
    View {
        view: View,
        arg: Option<ViewArg>,
    },
    Quit,
    Help,
    /// Switch to the named theme (spelled as in [`Completions::themes`]).
    Theme(String),
    /// The log of API calls.
    Log,
    Refresh,
    /// The reports screen.
    Reports,
    /// The onboarding form.
    Onboard,
    /// The runbook picker.
    Runbooks,
}

/// What narrows a view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewArg {
    Site(String),
    Queue(String),
}

impl Command {
    /// Parses a `:` line (a leading `:` is allowed), checking names against `source`.
    pub fn parse(line: &str, source: &Completions) -> Result<Command, CommandError> {
        let line = line.trim();
        let line = line.strip_prefix(':').unwrap_or(line).trim_start();
        let (name, arg) = match line.split_once(char::is_whitespace) {
            Some((name, arg)) => (name, Some(arg.trim())),
            None => (line, None),
        };
        if name.is_empty() {
            return Err(CommandError::Empty);
        }
        let spec = spec::resolve(name)?;
        let command = spec.name();
        let no_argument = |then: Command| match arg {
            Some(arg) => Err(CommandError::UnexpectedArgument {
                command,
                arg: arg.to_string(),
            }),
            None => Ok(then),
        };
        match spec.kind {
            Kind::View(view) => {
                let arg = match (spec.arg, arg) {
                    (_, None) => None,
                    (Arg::Queue, Some(a)) => Some(ViewArg::Queue(check(Arg::Queue, a, source)?)),
                    (Arg::Site, Some(a)) => Some(ViewArg::Site(check(Arg::Site, a, source)?)),
                    (Arg::None | Arg::Theme, Some(a)) => {
                        return Err(CommandError::UnexpectedArgument {
                            command,
                            arg: a.to_string(),
                        });
                    }
                };
                Ok(Command::View { view, arg })
            }
            Kind::Theme => match arg {
                Some(a) => Ok(Command::Theme(check(Arg::Theme, a, source)?)),
                None => Err(CommandError::MissingArgument {
                    command,
                    what: "a theme name",
                    choices: source.themes.clone(),
                }),
            },
            Kind::Quit => no_argument(Command::Quit),
            Kind::Help => no_argument(Command::Help),
            Kind::Log => no_argument(Command::Log),
            Kind::Refresh => no_argument(Command::Refresh),
            Kind::Reports => no_argument(Command::Reports),
            Kind::Onboard => no_argument(Command::Onboard),
            Kind::Runbooks => no_argument(Command::Runbooks),
        }
    }

    /// `(usage, help)` for every command, in the order `:help` lists them.
    pub fn help() -> impl Iterator<Item = (&'static str, &'static str)> {
        COMMANDS.iter().map(|s| (s.usage, s.help))
    }
}

/// The name in `list` that `arg` is (ignoring case), or `arg` itself when the list is empty.
fn check(kind: Arg, arg: &str, source: &Completions) -> Result<String, CommandError> {
    let (what, list) = match kind {
        Arg::Site => ("site", &source.sites),
        Arg::Queue => ("queue", &source.queues),
        Arg::Theme => ("theme", &source.themes),
        Arg::None => return Ok(arg.to_string()),
    };
    if list.is_empty() {
        return Ok(arg.to_string());
    }
    let lower = arg.to_lowercase();
    if let Some(name) = list.iter().find(|n| n.to_lowercase() == lower) {
        return Ok(name.clone());
    }
    Err(CommandError::UnknownArgument {
        what,
        arg: arg.to_string(),
        suggestion: suggest(arg, list.iter().map(|n| (n.as_str(), n.as_str()))),
        choices: list.clone(),
    })
}

/// Why a `:` line is not a command. The messages are shown under the line as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    Empty,
    Unknown {
        name: String,
        suggestion: Option<String>,
    },
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
    UnexpectedArgument {
        command: &'static str,
        arg: String,
    },
    MissingArgument {
        command: &'static str,
        what: &'static str,
        choices: Vec<String>,
    },
    /// A site, queue or theme that is not in its list.
    UnknownArgument {
        what: &'static str,
        arg: String,
        suggestion: Option<String>,
        choices: Vec<String>,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Empty => write!(f, "no command; :help lists them"),
            CommandError::Unknown {
                name,
                suggestion: Some(s),
            } => write!(f, "unknown command :{name}; did you mean :{s}?"),
            CommandError::Unknown { name, .. } => {
                write!(f, "unknown command :{name}; :help lists the commands")
            }
            CommandError::Ambiguous { name, candidates } => {
                let list: Vec<_> = candidates.iter().map(|c| format!(":{c}")).collect();
                write!(f, ":{name} could be {}; type more of it", list.join(" or "))
            }
            CommandError::UnexpectedArgument { command, arg } => {
                write!(f, ":{command} takes no argument (got \"{arg}\")")
            }
            CommandError::MissingArgument {
                command,
                what,
                choices,
            } => {
                write!(f, ":{command} needs {what}")?;
                if !choices.is_empty() {
                    write!(f, ": {}", choices.join(", "))?;
                }
                Ok(())
            }
            CommandError::UnknownArgument {
                what,
                arg,
                suggestion: Some(s),
                ..
            } => write!(f, "unknown {what} \"{arg}\"; did you mean \"{s}\"?"),
            CommandError::UnknownArgument {
                what, arg, choices, ..
            } => write!(
                f,
                "unknown {what} \"{arg}\"; one of: {}",
                choices.join(", ")
            ),
        }
    }
}

impl std::error::Error for CommandError {}
