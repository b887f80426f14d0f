//! The operator's workflows (docs/workflows.md): `N` requests a desktop or applications for a
//! user (on behalf of a ticket's requester when drilled down from one), `:onboard` a new
//! person, `O` offboards a user. Each is a form whose job the adapter previews as the fields
//! settle (debounced: the preview is asked for [`DEBOUNCE`] after the last change), a
//! confirmation with the focus on Cancel (offboarding: the account name typed), then a job.
//! An onboarding's temporary password comes back once and is shown like a generated reset
//! password ([`super::ShownOnce`]). Also the user detail pane's routing explanation and the
//! job detail's steps, updated live from step events.

use chrono::{DateTime, Duration, Utc};
use ratatui::crossterm::event::KeyEvent;
use serde_json::Value;

pub use super::workflow_forms::{routing_lines, suggest_account};

use super::account::split_login;
use super::workflow_forms::{self as forms, body_key, job_of};
use super::{App, Effect, Failure, Level, Mode, Msg, RowRef, ShownOnce, convert};
use crate::console::client::{
    JobInfo, JobRequest, RoutingExplanation, StepEvent, Target, TicketLink, WorkflowPreview,
};
use crate::console::keymap::{Action, View};
use crate::console::widgets::workflow_dialog::{FieldId, FormOutcome, FormState, Tone};
use crate::model::Role;
use crate::secret::Secret;

/// How long the fields must rest before the preview is asked for again.
pub const DEBOUNCE: Duration = Duration::milliseconds(400);

/// Which workflow a form is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Request,
    Onboard,
    Offboard,
}

/// The preview under the form.
#[derive(Debug, Clone, PartialEq)]
pub enum PreviewSlot {
    Loading,
    /// The form cannot be previewed yet (a field missing): why.
    Invalid(String),
    /// The adapter's answer.
    Ready(Box<WorkflowPreview>),
    /// The adapter would refuse the request (its 422): why. Nothing can be sent.
    Refused(String),
}

/// An open workflow form.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowForm {
    pub flow: Flow,
    pub title: String,
    /// Lines above the fields (who it is for).
    pub intro: Vec<(String, Tone)>,
    /// The ticket the job will be linked to.
    pub ticket: Option<TicketLink>,
    /// Offboarding's person (fixed).
    pub target: Option<Target>,
    pub form: FormState,
    pub preview: PreviewSlot,
    /// The job the preview answered (see [`forms::body_key`]): Enter needs it to be current.
    pub previewed: Option<Value>,
    /// When the preview is next asked for; `None` when it is not out of date.
    pub due: Option<DateTime<Utc>>,
    /// The operator typed the account name themself: stop suggesting one.
    pub account_edited: bool,
}

impl WorkflowForm {
    /// The lines under the fields, for the dialog.
    pub fn shown(&self) -> Vec<(String, Tone)> {
        forms::shown(self)
    }
}

/// Work for the runner (`run::workflows`).
#[derive(Debug, Clone, PartialEq)]
pub enum WorkflowEffect {
    /// `POST /api/v1/workflows/preview`; `key` comes back with the answer.
    Preview { key: Value, request: JobRequest },
    /// `POST /api/v1/jobs`; an onboarding's answer carries the temporary password.
    Submit {
        what: String,
        login: String,
        request: JobRequest,
    },
    /// `GET /api/v1/routing/explain?user=LOGIN`.
    Explain(String),
}

/// Answers of [`WorkflowEffect`]s.
#[derive(Debug)]
pub enum WorkflowMsg {
    Previewed {
        key: Value,
        result: Result<Box<WorkflowPreview>, Failure>,
    },
    Submitted {
        what: String,
        login: String,
        result: Result<(Box<JobInfo>, Option<Secret>), Failure>,
    },
    Explained {
        login: String,
        result: Result<Box<RoutingExplanation>, Failure>,
    },
}

impl App {
    /// `N` and `O` on the selected user (or a ticket's requester among the loaded users).
    pub(crate) fn begin_workflow(&mut self, action: Action) -> Vec<Effect> {
        let rows = self.table().targets();
        if rows.len() > 1 {
            self.say(
                Level::Warn,
                "a workflow is for one person at a time: clear the marks (U)",
            );
            return Vec::new();
        }
        let ticket = match rows.first().map(|r| &r.target) {
            Some(RowRef::Ticket(link)) => Some(link.clone()),
            _ => self.crumbs.first().and_then(|c| c.ticket.clone()),
        };
        let who = rows.first().and_then(|row| match &row.target {
            RowRef::User { login, .. } => {
                let name = convert::column_index(View::Users, "name").map_or("", |i| row.cell(i));
                Some((login.clone(), name.to_owned()))
            }
            RowRef::Ticket(link) => self.requester_of(link),
            _ => None,
        });
        let Some((login, name)) = who else {
            let why = if self.view == View::Tickets {
                "the requester is not among the loaded users: open them with Enter first"
            } else {
                "select a user first"
            };
            self.say(Level::Warn, why);
            return Vec::new();
        };
        let label = if name.is_empty() {
            login.clone()
        } else {
            format!("{login} ({name})")
        };
        if action == Action::Offboard {
            let Some((domain, sam)) = split_login(&login) else {
                self.say(Level::Warn, "select a user with a DOMAIN\\name login");
                return Vec::new();
            };
            let target = Target {
                site: domain.to_owned(),
                id: sam.to_owned(),
            };
            let form = forms::offboard_fields(sam);
            let intro = vec![
                (format!("Person: {label}"), Tone::Body),
                (
                    "Logs off every session, removes every entitlement, disables the account"
                        .to_owned(),
                    Tone::Muted,
                ),
            ];
            return self.open_form(
                Flow::Offboard,
                "Offboard",
                intro,
                ticket,
                Some(target),
                form,
            );
        }
        // The requester: the ticket's requester when this is for a ticket.
        let requester = ticket
            .as_ref()
            .and_then(|t| self.requester_of(t))
            .map(|(l, _)| l)
            .unwrap_or_default();
        let admin = self.role().allows(Role::Admin);
        let form = forms::request_fields(admin, &login, &requester);
        let mut intro = vec![(format!("Selected: {label}"), Tone::Body)];
        if let Some(t) = &ticket {
            intro.push((
                format!("For ticket {} (linked to the job)", t.number),
                Tone::Muted,
            ));
        }
        self.open_form(Flow::Request, "New request", intro, ticket, None, form)
    }

    /// `:onboard`: admin only, and nothing under `--readonly`.
    pub(crate) fn begin_onboard(&mut self) -> Vec<Effect> {
        if self.setup.readonly {
            self.say(
                Level::Warn,
                "read-only console: onboarding changes the directory",
            );
            return Vec::new();
        }
        if !self.role().allows(Role::Admin) {
            self.say(Level::Warn, "onboarding needs the admin role");
            return Vec::new();
        }
        if self.link != super::Link::Live {
            self.say(
                Level::Warn,
                "the adapter is unreachable: actions wait until it is back",
            );
            return Vec::new();
        }
        // The domain people here log on with: the first one among the loaded users.
        let domain = self.tables[&View::Users]
            .rows
            .iter()
            .find_map(|r| match &r.target {
                RowRef::User { login, .. } => split_login(login).map(|(d, _)| d.to_owned()),
                _ => None,
            })
            .unwrap_or_default();
        let form = forms::onboard_fields(&domain);
        let intro = vec![(
            "A new account, its groups, and the resources routing gives the person".to_owned(),
            Tone::Muted,
        )];
        self.open_form(Flow::Onboard, "Onboard a person", intro, None, None, form)
    }

    fn open_form(
        &mut self,
        flow: Flow,
        title: &str,
        intro: Vec<(String, Tone)>,
        ticket: Option<TicketLink>,
        target: Option<Target>,
        form: FormState,
    ) -> Vec<Effect> {
        let mut w = WorkflowForm {
            flow,
            title: title.to_owned(),
            intro,
            ticket,
            target,
            form,
            preview: PreviewSlot::Loading,
            previewed: None,
            due: None,
            account_edited: false,
        };
        let effects = preview_now(&mut w);
        self.mode = Mode::Workflow(Box::new(w));
        self.dirty = true;
        effects
    }

    /// The ticket's requester among the loaded users: `(login, name)`.
    fn requester_of(&self, link: &TicketLink) -> Option<(String, String)> {
        let tickets = self.tables.get(&View::Tickets)?;
        let col = convert::column_index(View::Tickets, "requester")?;
        let name = tickets
            .rows
            .iter()
            .find(|r| matches!(&r.target, RowRef::Ticket(l) if l == link))
            .map(|r| r.cell(col).to_owned())
            .filter(|n| !n.is_empty())?;
        let name_col = convert::column_index(View::Users, "name").unwrap_or(1);
        self.tables[&View::Users]
            .rows
            .iter()
            .find(|u| u.cell(name_col) == name)
            .and_then(|u| match &u.target {
                RowRef::User { login, .. } => Some((login.clone(), name.clone())),
                _ => None,
            })
    }

    /// A key in a workflow form.
    pub(crate) fn workflow_key(&mut self, mut w: Box<WorkflowForm>, key: KeyEvent) -> Vec<Effect> {
        match w.form.handle_key(key) {
            FormOutcome::Pending => {}
            FormOutcome::Changed(id) => {
                if w.flow == Flow::Onboard {
                    match id {
                        FieldId::Account => w.account_edited = true,
                        FieldId::GivenName | FieldId::Surname if !w.account_edited => {
                            suggest(&mut w.form);
                        }
                        _ => {}
                    }
                }
                w.due = Some(self.now + DEBOUNCE);
            }
            FormOutcome::Cancelled => {
                self.say(
                    Level::Info,
                    format!("{}: cancelled, nothing changed", w.title),
                );
                return Vec::new();
            }
            FormOutcome::Submitted => return self.workflow_submit(w),
            FormOutcome::Confirmed => return self.workflow_confirmed(*w),
        }
        self.mode = Mode::Workflow(w);
        Vec::new()
    }

    /// Enter: on to the confirmation when the preview is current and the adapter would run it.
    fn workflow_submit(&mut self, mut w: Box<WorkflowForm>) -> Vec<Effect> {
        let job = job_of(&w);
        let mut effects = Vec::new();
        match &job {
            Err(why) => w.form.errors = vec![why.clone()],
            Ok(job) if w.due.is_some() || w.previewed.as_ref() != Some(&body_key(job)) => {
                w.form.errors =
                    vec!["the preview is not up to date yet: Enter again once it shows".into()];
                if w.due.is_some() {
                    effects = preview_now(&mut w);
                }
            }
            Ok(_) => match &w.preview {
                PreviewSlot::Refused(why) => {
                    w.form.errors = vec![format!("nothing is sent: {why}")];
                }
                PreviewSlot::Ready(_) => {
                    w.form.errors.clear();
                    w.form.ask_confirm();
                }
                _ => w.form.errors = vec!["waiting for the preview".into()],
            },
        }
        self.mode = Mode::Workflow(w);
        effects
    }

    /// The operator confirmed: the job, linked to the ticket.
    fn workflow_confirmed(&mut self, w: WorkflowForm) -> Vec<Effect> {
        self.mode = Mode::Normal;
        self.dirty = true;
        let Ok(job) = job_of(&w) else {
            return Vec::new();
        };
        let login = format!("{}\\{}", job.1.site, job.1.id);
        let what = match w.flow {
            Flow::Request => {
                let kind = forms::request_types(true)
                    .into_iter()
                    .find(|(a, _)| *a == job.0)
                    .map_or("resources", |(_, l)| l);
                format!("Request {kind} for {login}")
            }
            Flow::Onboard => format!("Onboard {login}"),
            Flow::Offboard => format!("Offboard {login}"),
        };
        let request = forms::request(job, w.ticket);
        vec![Effect::Workflow(WorkflowEffect::Submit {
            what,
            login,
            request,
        })]
    }

    /// When the open form's preview is due.
    pub(crate) fn workflow_due(&self) -> Option<DateTime<Utc>> {
        match &self.mode {
            Mode::Workflow(w) => w.due,
            _ => None,
        }
    }

    /// Time passed: asks for the open form's preview once its fields have settled.
    pub(crate) fn workflow_tick(&mut self) -> Vec<Effect> {
        let now = self.now;
        match &mut self.mode {
            Mode::Workflow(w) if w.due.is_some_and(|at| at <= now) => preview_now(w),
            _ => Vec::new(),
        }
    }

    pub(crate) fn workflow_msg(&mut self, msg: WorkflowMsg) -> Vec<Effect> {
        self.dirty = true;
        match msg {
            WorkflowMsg::Previewed { key, result } => {
                if let Mode::Workflow(w) = &mut self.mode {
                    let current = job_of(w).ok().map(|j| body_key(&j));
                    // An answer for what the form no longer says is dropped.
                    if current.as_ref() == Some(&key) {
                        w.preview = match result {
                            Ok(p) => PreviewSlot::Ready(p),
                            Err(f) => PreviewSlot::Refused(f.message),
                        };
                        w.previewed = Some(key);
                    }
                }
                Vec::new()
            }
            WorkflowMsg::Submitted {
                what,
                login,
                result,
            } => {
                let (result, shown) = match result {
                    Ok((job, password)) => (Ok(job), password),
                    Err(f) => (Err(f), None),
                };
                let effects = self.update(Msg::Submitted { what, result }, self.now);
                if let Some(password) = shown {
                    // Over anything else open: the operator must see it now, or never.
                    self.mode = Mode::ShownOnce(Box::new(ShownOnce { login, password }));
                }
                effects
            }
            WorkflowMsg::Explained { login, result } => {
                if self.routing.as_ref().is_some_and(|(l, _)| *l == login) {
                    self.routing = Some((login, result.map_err(|f| f.message)));
                }
                Vec::new()
            }
        }
    }

    /// The detail pane's routing explanation follows the user under the cursor.
    pub(crate) fn follow_routing(&mut self, login: String) -> Vec<Effect> {
        if self.routing.as_ref().is_some_and(|(l, _)| *l == login) {
            return Vec::new();
        }
        self.routing = Some((login.clone(), Err("loading…".to_owned())));
        vec![Effect::Workflow(WorkflowEffect::Explain(login))]
    }

    /// A step of a workflow task moved on: the open job detail shows it at once.
    pub(crate) fn apply_step(&mut self, event: &StepEvent) {
        let Some(Ok(job)) = &mut self.job else {
            return;
        };
        if job.id != event.job_id {
            return;
        }
        let task = job
            .tasks
            .iter_mut()
            .flatten()
            .find(|t| t.id == event.task_id);
        if let Some(task) = task {
            match task
                .steps
                .iter_mut()
                .find(|s| s.number == event.step.number)
            {
                Some(step) => *step = event.step.clone(),
                None => {
                    task.steps.push(event.step.clone());
                    task.steps.sort_by_key(|s| s.number);
                }
            }
            self.dirty = true;
        }
    }
}

/// Fills the account name in from the names typed, keeping its domain.
fn suggest(form: &mut FormState) {
    let name = forms::suggest_account(form.text(FieldId::GivenName), form.text(FieldId::Surname));
    let domain = form
        .text(FieldId::Account)
        .split_once('\\')
        .map(|(d, _)| d.to_owned());
    let account = match domain {
        Some(d) => format!("{d}\\{name}"),
        None => name,
    };
    form.set_text(FieldId::Account, &account);
}

/// Asks for the form's preview now, or says why it cannot be previewed.
fn preview_now(w: &mut WorkflowForm) -> Vec<Effect> {
    w.due = None;
    match job_of(w) {
        Ok(job) => {
            let key = body_key(&job);
            if w.previewed.as_ref() == Some(&key) {
                return Vec::new();
            }
            if !matches!(w.preview, PreviewSlot::Ready(_)) {
                w.preview = PreviewSlot::Loading;
            }
            let request = forms::request(job, None);
            vec![Effect::Workflow(WorkflowEffect::Preview { key, request })]
        }
        Err(why) => {
            w.preview = PreviewSlot::Invalid(why);
            w.previewed = None;
            Vec::new()
        }
    }
}

#[cfg(test)]
#[path = "workflow_tests.rs"]
mod tests;
