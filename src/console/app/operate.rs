//! The operator's actions (`r`, `L`, `d`, `m`, `p`, `M`, `t`, `n`, `R`, `f`, `x`, `ctrl-t`;
//! the account ones go on to `account`):
//! from the marked rows (else the cursor row) to a [`Pending`] change, through a text prompt
//! or a menu where the action needs one, to the confirmation dialog, and on `y` to effects.
//!
//! A change is built completely before the dialog opens, so what the dialog names is exactly
//! what is sent, and the idempotency key is made once, when the operator confirms.

use serde_json::json;
use uuid::Uuid;

use super::msg::TicketOp;
use super::pending::{
    MAINTENANCE_MENU, MAX_MESSAGE, Menu, Pending, PendingWork, Prompt, PromptFor, count, ellipsis,
    job_change, ticket_change,
};
use super::{App, Effect, Level, Mode, RowRef};
use crate::console::client::{IdempotencyKey, JobRequest, Target, TicketLink};
use crate::console::keymap::{Action, View};
use crate::console::widgets::dialog::ConfirmState;
use crate::console::widgets::input_dialog::InputState;
use crate::console::widgets::menu::{MenuItem, MenuState, POWER_MENU};

impl App {
    /// An action key: opens its prompt, menu or confirmation, or says why it cannot run.
    pub(crate) fn begin(&mut self, action: Action) -> Vec<Effect> {
        if matches!(
            action,
            Action::ResetPassword | Action::Unlock | Action::EnableAccount | Action::DisableAccount
        ) {
            return self.begin_account(action);
        }
        if matches!(action, Action::NewRequest | Action::Offboard) {
            return self.begin_workflow(action);
        }
        let rows = self.table().targets();
        if rows.is_empty() {
            self.say(Level::Warn, "nothing selected");
            return Vec::new();
        }
        let refs: Vec<RowRef> = rows.iter().map(|r| r.target.clone()).collect();
        let ticket = self.crumbs.first().and_then(|c| c.ticket.clone());
        let sessions = || -> (Vec<Target>, Vec<String>) {
            let mut targets = Vec::new();
            let mut names = Vec::new();
            for row in &rows {
                if let RowRef::Session { site, id, user } = &row.target {
                    targets.push(Target {
                        site: site.clone(),
                        id: id.clone(),
                    });
                    names.push(format!("{user} on {} ({site})", row.cell(2)));
                }
            }
            (targets, names)
        };
        let machines = || -> (Vec<Target>, Vec<String>) {
            let mut seen = std::collections::BTreeSet::new();
            let mut out = (Vec::new(), Vec::new());
            for row in &rows {
                let (site, id, name) = match &row.target {
                    RowRef::Machine { site, id } => (site, id.clone(), row.cell(0).to_owned()),
                    // A session's machine, by name (the adapter takes either).
                    RowRef::Session { site, .. } => {
                        (site, row.cell(2).to_owned(), row.cell(2).to_owned())
                    }
                    _ => continue,
                };
                if seen.insert((site.clone(), id.clone())) {
                    out.0.push(Target {
                        site: site.clone(),
                        id,
                    });
                    out.1.push(format!("{name} ({site})"));
                }
            }
            out
        };
        let tickets = || -> Vec<TicketLink> {
            refs.iter()
                .filter_map(|r| match r {
                    RowRef::Ticket(link) => Some(link.clone()),
                    _ => None,
                })
                .collect()
        };
        let jobs = || -> Vec<Uuid> {
            refs.iter()
                .filter_map(|r| match r {
                    RowRef::Job { id } => Some(*id),
                    _ => None,
                })
                .collect()
        };
        let pending = match action {
            Action::Reset | Action::Disconnect => {
                let (targets, names) = sessions();
                let (job, title, verb) = if action == Action::Reset {
                    ("session.logoff", "Reset sessions", "Log off")
                } else {
                    ("session.disconnect", "Disconnect sessions", "Disconnect")
                };
                (!targets.is_empty()).then(|| {
                    job_change(
                        title,
                        verb,
                        "session",
                        job,
                        targets,
                        names,
                        json!(null),
                        ticket,
                    )
                })
            }
            Action::LogoffUser => {
                let (targets, names) = self.users_of(&rows);
                (!targets.is_empty()).then(|| {
                    job_change(
                        "Log off users",
                        "Log off every session of",
                        "user",
                        "user.logoff",
                        targets,
                        names,
                        json!(null),
                        ticket,
                    )
                })
            }
            Action::Message => {
                let (targets, names) = sessions();
                if targets.is_empty() {
                    self.say(
                        Level::Warn,
                        "messages go to sessions: open the user's sessions (Enter) and mark them",
                    );
                    return Vec::new();
                }
                let prompt = format!("Message to {}:", count(names.len(), "session"));
                return self.prompt(
                    "Send a message",
                    prompt,
                    PromptFor::Message { targets, names },
                );
            }
            Action::Power | Action::Maintenance => {
                let (targets, names) = machines();
                if targets.is_empty() {
                    self.say(Level::Warn, "select machines (or sessions) first");
                    return Vec::new();
                }
                let (title, items): (_, &'static [MenuItem<'static>]) = if action == Action::Power {
                    ("Power", &POWER_MENU)
                } else {
                    ("Maintenance", &MAINTENANCE_MENU)
                };
                let title = format!(
                    "{title}: {}",
                    if names.len() == 1 {
                        names[0].clone()
                    } else {
                        count(names.len(), "machine")
                    }
                );
                self.mode = Mode::Menu(Box::new(Menu {
                    title,
                    items,
                    state: MenuState::default(),
                    targets,
                    names,
                }));
                self.dirty = true;
                return Vec::new();
            }
            Action::TakeTicket => {
                let links = tickets();
                (!links.is_empty())
                    .then(|| ticket_change("Take tickets", "Take", links, TicketOp::Take))
            }
            Action::WorkNote | Action::Resolve => {
                let links = tickets();
                if links.is_empty() {
                    return Vec::new();
                }
                let n = count(links.len(), "ticket");
                return if action == Action::WorkNote {
                    self.prompt(
                        "Work note",
                        format!("Work note on {n}:"),
                        PromptFor::Note(links),
                    )
                } else {
                    self.prompt(
                        "Resolve",
                        format!("Close notes for {n}:"),
                        PromptFor::Resolve(links),
                    )
                };
            }
            Action::Fulfil => {
                let Some(table) = super::convert::column_index(View::Tickets, "table") else {
                    return Vec::new();
                };
                let sys_id = super::convert::column_index(View::Tickets, "sys_id").unwrap_or(table);
                let items: Vec<(TicketLink, String, String)> = rows
                    .iter()
                    .filter_map(|r| match &r.target {
                        RowRef::Ticket(link) if r.cell(table) != "incident" => Some((
                            link.clone(),
                            r.cell(table).to_owned(),
                            r.cell(sys_id).to_owned(),
                        )),
                        _ => None,
                    })
                    .collect();
                if items.is_empty() {
                    self.say(Level::Warn, "only catalog requests (RITM, SCTASK) are fulfilled; an incident needs an action");
                    return Vec::new();
                }
                let names = items.iter().map(|(l, _, _)| l.number.clone()).collect();
                Some(Pending {
                    title: "Fulfil requests".into(),
                    question: format!(
                        "Fulfil {}? The adapter runs what each catalog item maps to.",
                        count(items.len(), "request")
                    ),
                    targets: names,
                    work: PendingWork::Fulfil(items),
                })
            }
            Action::CancelJob | Action::RetryFailed => {
                let ids = jobs();
                let names = ids.iter().map(|id| self.job_name(*id)).collect();
                let (title, verb, work) = if action == Action::CancelJob {
                    ("Cancel jobs", "Cancel", PendingWork::Cancel(ids.clone()))
                } else {
                    (
                        "Retry failed targets",
                        "Retry the failed targets of",
                        PendingWork::Retry(ids.clone()),
                    )
                };
                Some(Pending {
                    title: title.into(),
                    question: format!("{verb} {}?", count(ids.len(), "job")),
                    targets: names,
                    work,
                })
            }
            Action::IdlePowerOff => {
                let groups = super::idle::groups_of(&rows);
                return self.begin_idle(groups);
            }
            _ => None,
        };
        match pending {
            Some(p) => self.confirm(p),
            None => {
                self.say(
                    Level::Warn,
                    format!("{} does not apply to the rows selected here", action.name()),
                );
                Vec::new()
            }
        }
    }

    fn prompt(&mut self, title: &str, prompt: String, then: PromptFor) -> Vec<Effect> {
        self.mode = Mode::Prompt(Box::new(Prompt {
            title: title.into(),
            prompt,
            input: InputState::new(""),
            error: None,
            then,
        }));
        self.dirty = true;
        Vec::new()
    }

    pub(crate) fn confirm(&mut self, pending: Pending) -> Vec<Effect> {
        let state = ConfirmState::new(pending.targets.len());
        self.mode = Mode::Confirm {
            pending: Box::new(pending),
            state,
        };
        self.dirty = true;
        Vec::new()
    }

    /// The prompt's text was submitted: checks it and moves on to the confirmation.
    pub(crate) fn prompt_done(&mut self, prompt: Prompt) -> Vec<Effect> {
        let text = prompt.input.text.trim().to_owned();
        let refuse = |mut prompt: Prompt, why: &str| {
            prompt.error = Some(why.to_owned());
            Mode::Prompt(Box::new(prompt))
        };
        if text.is_empty() {
            self.mode = refuse(prompt, "type some text, or esc to cancel");
            return Vec::new();
        }
        let pending = match prompt.then.clone() {
            PromptFor::Message { targets, names } => {
                if text.chars().count() > MAX_MESSAGE {
                    self.mode = refuse(prompt, &format!("at most {MAX_MESSAGE} characters"));
                    return Vec::new();
                }
                let params = json!({ "title": "Helpdesk", "text": text });
                let mut p = job_change(
                    "Send a message",
                    "Send",
                    "session",
                    "session.message",
                    targets,
                    names,
                    params,
                    None,
                );
                p.question = format!(
                    "{} “{}”",
                    p.question.trim_end_matches('?'),
                    ellipsis(&text, 40)
                );
                p
            }
            PromptFor::Note(links) => {
                ticket_change("Work note", "Add the note to", links, TicketOp::Note(text))
            }
            PromptFor::Resolve(links) => ticket_change(
                "Resolve tickets",
                "Resolve",
                links,
                TicketOp::Resolve { close_notes: text },
            ),
            PromptFor::IdleMinutes { groups, site, .. } => {
                return self.idle_minutes_done(prompt, &text, groups, site);
            }
        };
        self.mode = Mode::Normal;
        self.confirm(pending)
    }

    /// A menu item was chosen: builds the change it stands for.
    pub(crate) fn menu_done(&mut self, menu: Menu, chosen: usize) -> Vec<Effect> {
        let label = menu.items.get(chosen).map_or("", |i| i.label);
        let (action, params, verb) = match label {
            "start" => ("machine.start", json!(null), "Start"),
            "shutdown" => ("machine.shutdown", json!({"force": false}), "Shut down"),
            "restart" => ("machine.restart", json!({"force": false}), "Restart"),
            "force restart" => ("machine.restart", json!({"force": true}), "Force restart"),
            "maintenance on" => (
                "machine.maintenance",
                json!({"on": true}),
                "Turn maintenance on for",
            ),
            _ => (
                "machine.maintenance",
                json!({"on": false}),
                "Turn maintenance off for",
            ),
        };
        self.mode = Mode::Normal;
        let title = format!("{verb} machines");
        self.confirm(job_change(
            &title,
            verb,
            "machine",
            action,
            menu.targets,
            menu.names,
            params,
            None,
        ))
    }

    /// The operator said yes: the effects that carry the change out.
    pub(crate) fn confirmed(&mut self, pending: Pending) -> Vec<Effect> {
        self.mode = Mode::Normal;
        self.dirty = true;
        self.table_mut().clear_marks();
        match pending.work {
            PendingWork::Job {
                action,
                targets,
                params,
                ticket,
            } => {
                let request = JobRequest {
                    action,
                    targets,
                    ticket,
                    params,
                    idempotency_key: IdempotencyKey::generate(),
                    secrets: Vec::new(),
                };
                vec![Effect::Submit {
                    what: pending.title,
                    request,
                }]
            }
            PendingWork::Tickets { links, op } => links
                .into_iter()
                .map(|link| Effect::Ticket {
                    link,
                    op: op.clone(),
                })
                .collect(),
            PendingWork::Fulfil(items) => items
                .into_iter()
                .map(|(link, table, sys_id)| Effect::Fulfil {
                    link,
                    table,
                    sys_id,
                })
                .collect(),
            PendingWork::Cancel(ids) => ids.into_iter().map(Effect::CancelJob).collect(),
            PendingWork::Retry(ids) => ids.into_iter().map(Effect::RetryJob).collect(),
            PendingWork::IdlePowerOff(request) => vec![Effect::IdleRun {
                what: pending.title,
                request,
            }],
        }
    }

    /// `L`: each (site, user) once. On the tickets view, the requester found in the users
    /// view's rows (their login is not in the ticket).
    fn users_of(&self, rows: &[&super::Row]) -> (Vec<Target>, Vec<String>) {
        let mut seen = std::collections::BTreeSet::new();
        let mut push = |site: &str, user: &str, out: &mut (Vec<Target>, Vec<String>)| {
            if seen.insert((site.to_owned(), user.to_owned())) {
                out.0.push(Target {
                    site: site.to_owned(),
                    id: user.to_owned(),
                });
                out.1.push(format!("{user} at {site}"));
            }
        };
        let mut out = (Vec::new(), Vec::new());
        for row in rows {
            match &row.target {
                RowRef::Session { site, user, .. } => push(site, user, &mut out),
                RowRef::User { login, sites } => {
                    sites.iter().for_each(|s| push(s, login, &mut out))
                }
                RowRef::Ticket(_) => {
                    let requester = super::convert::column_index(View::Tickets, "requester")
                        .map_or("", |i| row.cell(i));
                    let users = &self.tables[&View::Users];
                    for user in users
                        .rows
                        .iter()
                        .filter(|u| !requester.is_empty() && u.cell(1) == requester)
                    {
                        if let RowRef::User { login, sites } = &user.target {
                            sites.iter().for_each(|s| push(s, login, &mut out));
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn job_name(&self, id: Uuid) -> String {
        self.jobs.get(id).map_or_else(
            || id.to_string(),
            |j| format!("{} {}", j.action, &id.to_string()[..8]),
        )
    }
}
