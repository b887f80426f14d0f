//! The table of `:` commands: names, aliases, what argument each takes and its help line,
//! and resolving what was typed (exact name or alias, else an unambiguous prefix, as in vim).

use super::CommandError;
use super::complete::suggest;
use crate::console::keymap::View;

/// What a command's argument names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arg {
    None,
    /// Optional site name.
    Site,
    /// Optional ticket queue.
    Queue,
    /// Required theme name.
    Theme,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    View(View),
    Quit,
    Help,
    Theme,
    Log,
    Refresh,
    Reports,
    Onboard,
    Runbooks,
}

#[derive(Debug)]
pub(super) struct Spec {
    pub(super) kind: Kind,
    /// Other exact spellings (singulars, `q`); only the name is offered for completion.
    pub(super) aliases: &'static [&'static str],
    pub(super) arg: Arg,
    pub(super) usage: &'static str,
    pub(super) help: &'static str,
}

impl Spec {
    pub(super) fn name(&self) -> &'static str {
        match self.kind {
            Kind::View(view) => view.name(),
            Kind::Quit => "quit",
            Kind::Help => "help",
            Kind::Theme => "theme",
            Kind::Log => "log",
            Kind::Refresh => "refresh",
            Kind::Reports => "reports",
            Kind::Onboard => "onboard",
            Kind::Runbooks => "runbooks",
        }
    }
}

const fn spec(
    kind: Kind,
    aliases: &'static [&'static str],
    arg: Arg,
    usage: &'static str,
    help: &'static str,
) -> Spec {
    Spec {
        kind,
        aliases,
        arg,
        usage,
        help,
    }
}

/// Views first, in the order of their number keys, then the console's own commands.
#[rustfmt::skip]
pub(super) static COMMANDS: [Spec; 16] = [
    spec(Kind::View(View::Tickets), &["ticket"], Arg::Queue, "tickets [mine|unassigned|all]",
        "Tickets, of one queue"),
    spec(Kind::View(View::Sessions), &["session"], Arg::Site, "sessions [SITE]", "Sessions, of one site or all"),
    spec(Kind::View(View::Machines), &["machine"], Arg::Site, "machines [SITE]", "Machines, of one site or all"),
    spec(Kind::View(View::Groups), &["group"], Arg::Site, "groups [SITE]",
        "Delivery groups, of one site or all"),
    spec(Kind::View(View::Sites), &["site"], Arg::None, "sites", "Sites and their health"),
    spec(Kind::View(View::Users), &["user"], Arg::None, "users", "Users"),
    spec(Kind::View(View::Jobs), &["job"], Arg::None, "jobs", "Jobs and their progress"),
    spec(Kind::View(View::Audit), &[], Arg::None, "audit", "Audit log"),
    spec(Kind::Quit, &["q"], Arg::None, "q, quit", "Quit the console"),
    spec(Kind::Help, &[], Arg::None, "help", "Keys and commands"),
    spec(Kind::Theme, &[], Arg::Theme, "theme NAME", "Switch the colour theme"),
    spec(Kind::Log, &[], Arg::None, "log", "The log of API calls (status, latency)"),
    spec(Kind::Refresh, &[], Arg::None, "refresh", "Reload the current view now"),
    spec(Kind::Reports, &["report"], Arg::None, "reports",
        "Reports: machines per delivery group, tickets by age, job outcomes"),
    spec(Kind::Onboard, &[], Arg::None, "onboard",
        "Onboard a new person: account, groups, desktop and apps (admin; preview, then confirm)"),
    spec(Kind::Runbooks, &["runbook"], Arg::None, "runbooks",
        "Runbooks: pick one, fill in its parameters, confirm, and it runs as a job"),
];

/// The command `typed` names. Exact names and aliases win; otherwise it must be the start of
/// exactly one command's name or alias.
pub(super) fn resolve(typed: &str) -> Result<&'static Spec, CommandError> {
    let typed = typed.to_lowercase();
    let spellings = || {
        COMMANDS.iter().flat_map(|s| {
            std::iter::once(s.name())
                .chain(s.aliases.iter().copied())
                .map(move |n| (s, n))
        })
    };
    if let Some((spec, _)) = spellings().find(|(_, n)| *n == typed) {
        return Ok(spec);
    }
    let mut found: Vec<&'static Spec> = Vec::new();
    for (spec, _) in spellings().filter(|(_, n)| n.starts_with(&typed)) {
        if !found.iter().any(|f| std::ptr::eq(*f, spec)) {
            found.push(spec);
        }
    }
    match found[..] {
        [one] => Ok(one),
        [] => Err(CommandError::Unknown {
            suggestion: suggest(&typed, spellings().map(|(s, n)| (n, s.name()))),
            name: typed,
        }),
        _ => Err(CommandError::Ambiguous {
            name: typed,
            candidates: found.iter().map(|s| s.name().to_string()).collect(),
        }),
    }
}
