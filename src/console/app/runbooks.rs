//! The `:runbooks` screen (docs/runbooks.md): the adapter's runbooks listed with their role,
//! the selected one's description and steps; Enter opens its parameter form, whose run is
//! confirmed (focus on Cancel) and sent as a `runbook.run` job. Runbooks the operator's role
//! cannot run, and every runbook under `--readonly`, are dimmed and cannot be started.
//!
//! The adapter's refusal of a run (a 422 naming a parameter, a 403) is shown in the form,
//! with every field as the operator left it; a 202 closes the form and the job joins the
//! jobs pane like any other. The state lives in [`App::runbooks`], so leaving for a `:`
//! command and coming back finds the screen as it was; [`Mode::Runbooks`] says it has the
//! keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::reports::Status;
use super::runbook_form::{self as form, Known};
use super::{App, Effect, Failure, Level, Link, Mode, Msg};
use crate::console::client::{JobInfo, JobRequest, RunbookInfo, TicketLink, run_request};
use crate::console::keymap::{Action, View};
use crate::console::widgets::runbook_dialog::{FormOutcome, RunbookFormState, Stage};

/// The form of one runbook.
#[derive(Debug, Clone, PartialEq)]
pub struct RunbookForm {
    pub runbook: RunbookInfo,
    /// The ticket the run will be linked to (the drill-down started from it).
    pub ticket: Option<TicketLink>,
    pub state: RunbookFormState,
    /// What Confirm runs (`Run reset-disconnected with site=London?`), set by Enter.
    pub question: String,
}

/// The screen's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Runbooks {
    pub catalog: Vec<RunbookInfo>,
    pub status: Status,
    /// Position in the list.
    pub cursor: usize,
    pub form: Option<Box<RunbookForm>>,
    /// Why the last Enter did not open a form.
    pub notice: Option<String>,
    generation: u64,
}

/// Work for the runner (`run::runbooks`).
#[derive(Debug, Clone, PartialEq)]
pub enum RunbookEffect {
    /// `GET /api/v1/runbooks`.
    Load { generation: u64 },
    /// `POST /api/v1/jobs` with a `runbook.run`.
    Run { what: String, request: JobRequest },
}

/// Answers of [`RunbookEffect`]s.
#[derive(Debug)]
pub enum RunbookMsg {
    Loaded {
        generation: u64,
        result: Result<Vec<RunbookInfo>, Failure>,
    },
    Ran {
        what: String,
        result: Result<Box<JobInfo>, Failure>,
    },
}

impl App {
    /// Why the operator cannot start `runbook`, if they cannot.
    pub fn runbook_refusal(&self, runbook: &RunbookInfo) -> Option<String> {
        if self.setup.readonly {
            return Some("read-only console: runbooks change things".to_owned());
        }
        let role = self.role();
        (!role.allows(runbook.role)).then(|| {
            format!(
                "{} needs the {} role; you are {}",
                runbook.name, runbook.role, role
            )
        })
    }

    /// `:runbooks`: opens the screen, reading the list the first time.
    pub(crate) fn open_runbooks(&mut self) -> Vec<Effect> {
        self.mode = Mode::Runbooks;
        self.dirty = true;
        self.runbooks.notice = None;
        if self.runbooks.status == Status::Never {
            return self.reload_runbooks();
        }
        Vec::new()
    }

    fn reload_runbooks(&mut self) -> Vec<Effect> {
        let r = &mut self.runbooks;
        r.generation += 1;
        r.status = Status::Loading;
        vec![Effect::Runbook(RunbookEffect::Load {
            generation: r.generation,
        })]
    }

    /// A key on the runbooks screen: the form's when one is open, else the list's.
    pub(crate) fn runbooks_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        self.mode = Mode::Runbooks;
        if let Some(f) = self.runbooks.form.take() {
            return self.runbook_form_key(f, key);
        }
        if self.keymap.action(self.view, &key) == Some(Action::Refresh)
            || key.code == KeyCode::Char('r')
        {
            self.runbooks.notice = None;
            return self.reload_runbooks();
        }
        let r = &mut self.runbooks;
        let last = r.catalog.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('-') => self.mode = Mode::Normal,
            KeyCode::Char(':') => {
                self.command_line.open();
                self.mode = Mode::Command;
            }
            KeyCode::Down | KeyCode::Char('j') => r.cursor = (r.cursor + 1).min(last),
            KeyCode::Up | KeyCode::Char('k') => r.cursor = r.cursor.saturating_sub(1),
            KeyCode::Home | KeyCode::Char('g') => r.cursor = 0,
            KeyCode::End | KeyCode::Char('G') => r.cursor = last,
            KeyCode::Enter => return self.open_runbook_form(),
            _ => return Vec::new(),
        }
        self.runbooks.notice = None;
        Vec::new()
    }

    /// Enter on the list: the selected runbook's form, if the operator may start it.
    fn open_runbook_form(&mut self) -> Vec<Effect> {
        let Some(runbook) = self.runbooks.catalog.get(self.runbooks.cursor).cloned() else {
            return Vec::new();
        };
        if let Some(why) = self.runbook_refusal(&runbook) {
            self.runbooks.notice = Some(why);
            return Vec::new();
        }
        let known = self.known_names();
        let mut fields = form::fields(&runbook, &known);
        form::narrow_groups(&mut fields, &runbook, &known);
        let ticket = self.crumbs.first().and_then(|c| c.ticket.clone());
        self.runbooks.notice = None;
        self.runbooks.form = Some(Box::new(RunbookForm {
            runbook,
            ticket,
            state: RunbookFormState::new(fields),
            question: String::new(),
        }));
        // Delivery groups are offered once they are loaded: read them now if never read.
        let wants_groups = self.runbooks.form.as_ref().is_some_and(|f| {
            f.runbook
                .params
                .iter()
                .any(|p| p.kind == crate::console::client::ParamKind::DeliveryGroup)
        });
        let never = self
            .tables
            .get(&View::Groups)
            .is_none_or(|t| t.status == super::LoadStatus::Never && t.rows.is_empty());
        if wants_groups && never {
            return self.load(View::Groups).into_iter().collect();
        }
        Vec::new()
    }

    /// The site and delivery group names the console has loaded.
    fn known_names(&self) -> Known {
        let rows = |view: View| {
            self.tables
                .get(&view)
                .map(|t| t.rows.as_slice())
                .unwrap_or_default()
        };
        Known {
            sites: rows(View::Sites)
                .iter()
                .map(|r| r.cell(0).to_owned())
                .collect(),
            groups: rows(View::Groups)
                .iter()
                .map(|r| (r.cell(1).to_owned(), r.cell(0).to_owned()))
                .collect(),
        }
    }

    fn runbook_form_key(&mut self, mut f: Box<RunbookForm>, key: KeyEvent) -> Vec<Effect> {
        let known = self.known_names();
        let outcome = f.state.handle_key(key);
        form::narrow_groups(&mut f.state.fields, &f.runbook, &known);
        let mut effects = Vec::new();
        match outcome {
            FormOutcome::Pending => {}
            FormOutcome::Cancelled => {
                self.say(
                    Level::Info,
                    format!("{}: cancelled, nothing run", f.runbook.name),
                );
                return Vec::new();
            }
            FormOutcome::Submitted => match form::params(&mut f.state.fields, &known) {
                Some(params) => {
                    f.state.error = None;
                    f.question = format!("Run {} with {}?", f.runbook.name, form::summary(&params));
                    f.state.ask_confirm();
                }
                None => {
                    f.state.error = Some("fix the fields marked ✗; nothing was sent".into());
                    if let Some(i) = f.state.fields.iter().position(|x| x.error.is_some()) {
                        f.state.focus = i;
                    }
                }
            },
            FormOutcome::Confirmed => effects = self.runbook_confirmed(&mut f, &known),
        }
        self.runbooks.form = Some(f);
        effects
    }

    /// The operator confirmed: the run, unless the adapter is away.
    fn runbook_confirmed(&mut self, f: &mut RunbookForm, known: &Known) -> Vec<Effect> {
        if self.link != Link::Live {
            f.state.stage = Stage::Edit;
            f.state.error =
                Some("the adapter is unreachable: Enter again once it is back".to_owned());
            return Vec::new();
        }
        let Some(params) = form::params(&mut f.state.fields, known) else {
            f.state.stage = Stage::Edit;
            return Vec::new();
        };
        f.state.stage = Stage::Sending;
        let request = run_request(&f.runbook.name, params, f.ticket.clone());
        let what = format!("Runbook {}", f.runbook.name);
        vec![Effect::Runbook(RunbookEffect::Run { what, request })]
    }

    pub(crate) fn runbook_msg(&mut self, msg: RunbookMsg) -> Vec<Effect> {
        self.dirty = true;
        match msg {
            RunbookMsg::Loaded { generation, result } => {
                let r = &mut self.runbooks;
                if generation != r.generation {
                    return Vec::new();
                }
                match result {
                    Ok(catalog) => {
                        r.cursor = r.cursor.min(catalog.len().saturating_sub(1));
                        r.catalog = catalog;
                        r.status = Status::Loaded;
                    }
                    // The last list stays with the reason.
                    Err(failure) => r.status = Status::Failed(failure.message),
                }
                Vec::new()
            }
            RunbookMsg::Ran { what, result } => {
                let sending = self
                    .runbooks
                    .form
                    .as_ref()
                    .is_some_and(|f| f.state.stage == Stage::Sending);
                match result {
                    Ok(job) => {
                        if sending {
                            self.runbooks.form = None;
                            // Back to the view, where the jobs pane shows the run's progress.
                            if matches!(self.mode, Mode::Runbooks) {
                                self.mode = Mode::Normal;
                            }
                        }
                        self.update(
                            Msg::Submitted {
                                what,
                                result: Ok(job),
                            },
                            self.now,
                        )
                    }
                    Err(failure) if sending => {
                        if let Some(f) = self.runbooks.form.as_mut() {
                            f.state.stage = Stage::Edit;
                            if let Some(i) = form::blamed(&f.state.fields, &failure.message) {
                                f.state.focus = i;
                                f.state.fields[i].error = Some("the adapter refused this".into());
                            }
                            f.state.error = Some(failure.message.clone());
                        }
                        if failure.adapter_away {
                            self.log.push(format!("{what}: {}", failure.message));
                        }
                        Vec::new()
                    }
                    // The form was closed meanwhile: the answer is a flash.
                    Err(failure) => self.update(
                        Msg::Submitted {
                            what,
                            result: Err(failure),
                        },
                        self.now,
                    ),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "runbook_tests.rs"]
mod tests;
