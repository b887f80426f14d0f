//! The update function: a message changes the state and returns the effects to perform.
//! Keys go to the open dialog or line first, then through the keymap to an [`Action`].

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::msg::{Failure, Loaded};
use super::{App, Effect, Level, Link, LoadStatus, Mode, Msg};
use crate::console::keymap::{Action, View};
use crate::console::widgets::dialog::ConfirmOutcome;
use crate::console::widgets::input_dialog::InputOutcome;
use crate::console::widgets::menu::MenuOutcome;

/// Rows of the screen that are not table rows: header, breadcrumbs, the table's border and
/// column header, the flash line and the hint bar.
pub const CHROME_ROWS: u16 = 7;
/// Lines the detail pane moves per `J`/`K`.
const DETAIL_STEP: usize = 3;
/// The jobs pane's height when shown and a job is listed.
pub const JOBS_PANE_ROWS: u16 = 6;

impl App {
    /// Applies one message at time `now`.
    pub fn update(&mut self, msg: Msg, now: DateTime<Utc>) -> Vec<Effect> {
        self.now = now;
        match msg {
            Msg::Key(key) => {
                if key.kind == KeyEventKind::Release {
                    return Vec::new();
                }
                self.dirty = true;
                self.key(key)
            }
            Msg::Resize { width, height } => {
                self.size = (width, height);
                self.dirty = true;
                Vec::new()
            }
            Msg::Tick => {
                if self.flash.as_ref().is_some_and(|f| f.until <= now) {
                    self.flash = None;
                }
                // Timers on screen (elapsed job time, the reconnect countdown) moved.
                self.dirty = true;
                // A workflow form's preview is asked for once its fields settle.
                self.workflow_tick()
            }
            Msg::Whoami(Ok(me)) => {
                self.keymap = self.setup.keymap.visible(me.role, self.setup.readonly);
                self.me = Some(me);
                self.dirty = true;
                Vec::new()
            }
            Msg::Whoami(Err(failure)) => {
                self.failed("who am I", &failure);
                Vec::new()
            }
            Msg::Loaded {
                view,
                generation,
                result,
            } => self.loaded(view, generation, result),
            Msg::TicketLoaded { link, result } => {
                if self.ticket.as_ref().is_some_and(|(l, _)| *l == link) {
                    self.ticket = Some((link, result.map_err(|f| f.message)));
                    self.dirty = true;
                }
                Vec::new()
            }
            Msg::JobLoaded { id, result } => {
                let current = matches!(self.table().current().map(|r| &r.target), Some(super::RowRef::Job { id: c }) if *c == id);
                if current {
                    if let Ok(job) = &result {
                        self.jobs.track(job);
                    }
                    self.job = Some(result.map_err(|f| f.message));
                    self.dirty = true;
                }
                Vec::new()
            }
            Msg::Submitted { what, result } => {
                self.dirty = true;
                match result {
                    Ok(job) => {
                        let count = super::pending::count(job.progress.total as usize, "target");
                        self.say(
                            Level::Info,
                            format!("{what}: job started on {count} — w shows progress"),
                        );
                        if let Some(ended) = self.jobs.track(&job) {
                            self.say(
                                Level::Info,
                                format!(
                                    "{what}: {} (already done: the same request ran before)",
                                    ended.text
                                ),
                            );
                        }
                        self.jobs_pane = true;
                        self.reload_loaded(|v| v == View::Jobs)
                    }
                    Err(failure) => {
                        self.failed(&what, &failure);
                        Vec::new()
                    }
                }
            }
            Msg::Done { what, result } => {
                self.dirty = true;
                match result {
                    Ok(said) => self.say(Level::Success, format!("{what}: {said}")),
                    Err(failure) => self.failed(&what, &failure),
                }
                Vec::new()
            }
            Msg::Stream(event) => self.stream(event),
            Msg::AccountLoaded { login, result } => self.account_loaded(login, result),
            Msg::PolicyLoaded(result) => {
                self.policy_loaded(result);
                Vec::new()
            }
            Msg::PasswordChecked { login, result } => self.password_checked(&login, result),
            Msg::PasswordReset {
                what,
                login,
                result,
            } => self.password_reset_answer(what, login, result),
            Msg::IdlePreviewed { request, result } => self.idle_previewed(request, result),
            Msg::Workflow(msg) => self.workflow_msg(msg),
            Msg::ReportsLoaded(result) => {
                self.reports_loaded(result);
                Vec::new()
            }
            Msg::ReportLoaded {
                name,
                generation,
                result,
            } => {
                self.report_loaded(&name, generation, result);
                Vec::new()
            }
            Msg::Runbook(msg) => self.runbook_msg(msg),
        }
    }

    fn failed(&mut self, what: &str, failure: &Failure) {
        self.dirty = true;
        self.say(Level::Error, format!("{what}: {}", failure.message));
    }

    fn loaded(
        &mut self,
        view: View,
        generation: u64,
        result: Result<Loaded, Failure>,
    ) -> Vec<Effect> {
        let now = self.now;
        let Some(table) = self.tables.get_mut(&view) else {
            return Vec::new();
        };
        if table.generation != generation {
            return Vec::new();
        }
        match result {
            Ok(loaded) => {
                if view == View::Sites && self.site_trends.is_empty() {
                    // The first point of each trend; inventory events add the rest.
                    let col =
                        super::convert::column_index(View::Sites, "sessions").unwrap_or_default();
                    let counts: Vec<(String, usize)> = loaded
                        .rows
                        .iter()
                        .map(|r| (r.cell(0).to_owned(), r.cell(col).parse().unwrap_or(0)))
                        .collect();
                    for (site, sessions) in counts {
                        self.trend(&site, sessions);
                    }
                }
                let Some(table) = self.tables.get_mut(&view) else {
                    return Vec::new();
                };
                table.set_rows(loaded.rows);
                table.note = loaded.note;
                table.status = LoadStatus::Loaded;
                table.loaded_at = Some(now);
                if view == View::Users {
                    self.apply_accounts();
                }
            }
            Err(failure) => {
                // The last rows stay: an operator keeps what they saw.
                table.status = LoadStatus::Failed(failure.message.clone());
                if !failure.adapter_away {
                    let what = format!("loading {}", view.name());
                    self.failed(&what, &failure);
                }
            }
        }
        self.dirty = self.dirty || view == self.view;
        let mut effects = Vec::new();
        if self.tables.get(&view).is_some_and(|t| t.stale) {
            effects.extend(self.load(view));
        }
        if view == self.view {
            effects.extend(self.follow_cursor());
        }
        effects
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return vec![Effect::Quit];
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.normal_key(key),
            Mode::Help { scroll } => {
                self.mode = match key.code {
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('?') => Mode::Normal,
                    KeyCode::Down | KeyCode::Char('j') => Mode::Help {
                        scroll: scroll.saturating_add(1),
                    },
                    KeyCode::Up | KeyCode::Char('k') => Mode::Help {
                        scroll: scroll.saturating_sub(1),
                    },
                    _ => Mode::Help { scroll },
                };
                Vec::new()
            }
            Mode::CallLog { scroll } => {
                self.mode = match key.code {
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('@') => Mode::Normal,
                    KeyCode::Down | KeyCode::Char('j') => Mode::CallLog {
                        scroll: scroll.saturating_add(1),
                    },
                    KeyCode::Up | KeyCode::Char('k') => Mode::CallLog {
                        scroll: scroll.saturating_sub(1),
                    },
                    _ => Mode::CallLog { scroll },
                };
                Vec::new()
            }
            Mode::Confirm { pending, mut state } => match state.handle_key(key) {
                ConfirmOutcome::Pending => {
                    self.mode = Mode::Confirm { pending, state };
                    Vec::new()
                }
                ConfirmOutcome::Cancelled => {
                    self.say(
                        Level::Info,
                        format!("{}: cancelled, nothing changed", pending.title),
                    );
                    Vec::new()
                }
                ConfirmOutcome::Confirmed => self.confirmed(*pending),
            },
            Mode::Prompt(mut prompt) => match prompt.input.handle_key(key) {
                InputOutcome::Pending => {
                    self.mode = Mode::Prompt(prompt);
                    Vec::new()
                }
                InputOutcome::Cancelled => Vec::new(),
                InputOutcome::Submitted => self.prompt_done(*prompt),
            },
            Mode::Menu(mut menu) => match menu.state.handle_key(key, menu.items) {
                MenuOutcome::Pending => {
                    self.mode = Mode::Menu(menu);
                    Vec::new()
                }
                MenuOutcome::Cancelled => Vec::new(),
                MenuOutcome::Chosen(i) => self.menu_done(*menu, i),
            },
            Mode::Password(reset) => self.password_key(reset, key),
            Mode::ShownOnce(shown) => {
                self.shown_once_key(shown, key);
                Vec::new()
            }
            Mode::Filter { before } => self.filter_key(before, key),
            Mode::Command => self.command_key(key),
            Mode::Reports => self.reports_key(key),
            Mode::Workflow(form) => self.workflow_key(form, key),
            Mode::Runbooks => self.runbooks_key(key),
        }
    }

    /// Rows a page moves: the table's body height.
    pub fn page_rows(&self) -> usize {
        let pane = if self.jobs_pane && !self.jobs.items.is_empty() {
            JOBS_PANE_ROWS
        } else {
            0
        };
        usize::from(self.size.1.saturating_sub(CHROME_ROWS + pane)).max(1)
    }

    fn normal_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(action) = self.keymap.action(self.view, &key) else {
            return Vec::new();
        };
        self.act(action)
    }

    /// Runs one keymap action in normal mode.
    pub fn act(&mut self, action: Action) -> Vec<Effect> {
        let page = self.page_rows() as isize;
        let moved = |app: &mut App, f: &dyn Fn(&mut super::Table)| {
            f(app.table_mut());
            app.detail_scroll = 0;
            app.follow_cursor()
        };
        match action {
            Action::Up => moved(self, &|t| t.move_by(-1)),
            Action::Down => moved(self, &|t| t.move_by(1)),
            Action::Top => moved(self, &|t| t.move_to(0)),
            Action::Bottom => moved(self, &|t| t.move_to(usize::MAX)),
            Action::PageUp => moved(self, &|t| t.move_by(-page)),
            Action::PageDown => moved(self, &|t| t.move_by(page)),
            Action::HalfPageUp => moved(self, &|t| t.move_by(-page / 2)),
            Action::HalfPageDown => moved(self, &|t| t.move_by(page / 2)),
            Action::Enter => self.drill(),
            Action::Back => self.back(),
            Action::Tickets => self.switch(View::Tickets, None),
            Action::Sessions => self.switch(View::Sessions, None),
            Action::Machines => self.switch(View::Machines, None),
            Action::Groups => self.switch(View::Groups, None),
            Action::Sites => self.switch(View::Sites, None),
            Action::Users => self.switch(View::Users, None),
            Action::Jobs => self.switch(View::Jobs, None),
            Action::Audit => self.switch(View::Audit, None),
            Action::Command => {
                self.command_line.open();
                self.mode = Mode::Command;
                Vec::new()
            }
            Action::Filter => {
                self.open_filter();
                Vec::new()
            }
            Action::Help => {
                self.mode = Mode::Help { scroll: 0 };
                Vec::new()
            }
            Action::Mark => moved(self, &|t| t.toggle_mark()),
            Action::MarkAll => {
                self.table_mut().mark_all();
                Vec::new()
            }
            Action::ClearMarks => {
                self.table_mut().clear_marks();
                Vec::new()
            }
            Action::RangeMark => {
                self.table_mut().mark_range();
                Vec::new()
            }
            Action::SortNext | Action::SortPrev => {
                let sort = self.table().next_sort(action == Action::SortNext);
                self.table_mut().set_sort(sort);
                Vec::new()
            }
            Action::SortReverse => {
                let table = self.table_mut();
                let sort = table
                    .sort
                    .map(|(c, d)| (c, !d))
                    .or_else(|| table.next_sort(true).map(|(c, _)| (c, true)));
                table.set_sort(sort);
                Vec::new()
            }
            Action::Refresh => {
                self.ticket = None;
                self.job = None;
                self.routing = None;
                let mut effects: Vec<Effect> = self.load(self.view).into_iter().collect();
                effects.extend(self.follow_cursor());
                effects
            }
            Action::JobsPane => {
                self.jobs_pane = !self.jobs_pane;
                Vec::new()
            }
            Action::ApiLog => {
                self.mode = Mode::CallLog { scroll: 0 };
                Vec::new()
            }
            Action::DetailDown => {
                self.detail_scroll = self.detail_scroll.saturating_add(DETAIL_STEP);
                Vec::new()
            }
            Action::DetailUp => {
                self.detail_scroll = self.detail_scroll.saturating_sub(DETAIL_STEP);
                Vec::new()
            }
            Action::Details => {
                self.details = !self.details;
                self.follow_cursor()
            }
            Action::Quit => {
                if self.crumbs.is_empty() {
                    self.quit = true;
                    vec![Effect::Quit]
                } else {
                    self.back()
                }
            }
            Action::QuitNow => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Action::Suspend => vec![Effect::Suspend],
            Action::Reset
            | Action::LogoffUser
            | Action::Disconnect
            | Action::Message
            | Action::Power
            | Action::Maintenance
            | Action::TakeTicket
            | Action::WorkNote
            | Action::Resolve
            | Action::Fulfil
            | Action::CancelJob
            | Action::RetryFailed
            | Action::ResetPassword
            | Action::Unlock
            | Action::EnableAccount
            | Action::DisableAccount
            | Action::IdlePowerOff
            | Action::NewRequest
            | Action::Offboard => {
                if self.link != Link::Live {
                    self.say(
                        Level::Warn,
                        "the adapter is unreachable: actions wait until it is back",
                    );
                    return Vec::new();
                }
                self.begin(action)
            }
        }
    }
}
