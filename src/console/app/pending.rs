//! A change the operator asked for, fully built before the confirmation opens: what the
//! dialog names is exactly what is sent. Also the text prompts and menus that some actions
//! need first, and the builders of changes.

use serde_json::Value;
use uuid::Uuid;

use super::msg::TicketOp;
use crate::console::client::{Target, TicketLink};
use crate::console::widgets::input_dialog::InputState;
use crate::console::widgets::menu::{MenuItem, MenuState};

/// The maintenance menu.
pub const MAINTENANCE_MENU: [MenuItem<'static>; 2] = [
    MenuItem {
        letter: 'n',
        label: "maintenance on",
        danger: true,
    },
    MenuItem {
        letter: 'f',
        label: "maintenance off",
        danger: false,
    },
];

/// A change waiting for the operator's yes.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The dialog's title: `Reset sessions`.
    pub title: String,
    /// `Log off 3 sessions?`
    pub question: String,
    /// Every target's name, in order; the dialog lists the first few.
    pub targets: Vec<String>,
    pub work: PendingWork,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PendingWork {
    Job {
        action: String,
        targets: Vec<Target>,
        params: Value,
        ticket: Option<TicketLink>,
    },
    Tickets {
        links: Vec<TicketLink>,
        op: TicketOp,
    },
    /// Catalog tickets: instance/number, table and sys_id.
    Fulfil(Vec<(TicketLink, String, String)>),
    Cancel(Vec<Uuid>),
    Retry(Vec<Uuid>),
    /// Power off idle machines (the real run of a preview the operator saw).
    IdlePowerOff(crate::console::client::IdleRequest),
}

/// Text an action needs before it can be confirmed.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    pub title: String,
    pub prompt: String,
    pub input: InputState,
    pub error: Option<String>,
    /// The change, finished with the text.
    pub then: PromptFor,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PromptFor {
    /// A message to sessions.
    Message {
        targets: Vec<Target>,
        names: Vec<String>,
    },
    Note(Vec<TicketLink>),
    Resolve(Vec<TicketLink>),
    /// The idle threshold for powering off the groups' idle machines: group ids, their
    /// names (for the dialog) and the one site they share, if they do.
    IdleMinutes {
        groups: Vec<String>,
        names: Vec<String>,
        site: Option<String>,
    },
}

/// A choice an action needs (power, maintenance).
#[derive(Debug, Clone, PartialEq)]
pub struct Menu {
    pub title: String,
    pub items: &'static [MenuItem<'static>],
    pub state: MenuState,
    pub targets: Vec<Target>,
    pub names: Vec<String>,
}

/// Longest message the adapter takes (CVAD's limit), checked before the dialog closes.
pub(super) const MAX_MESSAGE: usize = 1000;

#[allow(clippy::too_many_arguments)]
pub(super) fn job_change(
    title: &str,
    verb: &str,
    noun: &str,
    action: &str,
    targets: Vec<Target>,
    names: Vec<String>,
    params: Value,
    ticket: Option<TicketLink>,
) -> Pending {
    let mut question = format!("{verb} {}?", count(targets.len(), noun));
    if let Some(t) = &ticket {
        question = format!("{} (for {})?", question.trim_end_matches('?'), t.number);
    }
    Pending {
        title: title.into(),
        question,
        targets: names,
        work: PendingWork::Job {
            action: action.into(),
            targets,
            params,
            ticket,
        },
    }
}

pub(super) fn ticket_change(
    title: &str,
    verb: &str,
    links: Vec<TicketLink>,
    op: TicketOp,
) -> Pending {
    Pending {
        title: title.into(),
        question: format!("{verb} {}?", count(links.len(), "ticket")),
        targets: links
            .iter()
            .map(|l| format!("{} ({})", l.number, l.instance))
            .collect(),
        work: PendingWork::Tickets { links, op },
    }
}

/// `3 sessions`, `1 session`.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

pub(super) fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}
