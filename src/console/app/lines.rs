//! The `/` filter line and the `:` command line: the filter applies as the operator types
//! (an invalid one is shown under the line while the last valid one stays in force), and a
//! command runs on Enter.

use ratatui::crossterm::event::KeyEvent;

use super::{App, Effect, Level, Mode};
use crate::console::command::{Command, LineEvent, Outcome, ViewArg};
use crate::console::filter::Filter;
use crate::console::keymap::View;

impl App {
    /// `/`: opens the line on the filter in force, so it can be edited.
    pub(crate) fn open_filter(&mut self) {
        let before = self.table().filter.clone();
        self.filter_line.clear();
        if let Some(filter) = &before {
            self.filter_line.set_value(filter.text());
        }
        self.filter_error = None;
        self.mode = Mode::Filter { before };
    }

    pub(crate) fn filter_key(&mut self, before: Option<Filter>, key: KeyEvent) -> Vec<Effect> {
        match self.filter_line.handle_key(key) {
            LineEvent::Unchanged => self.mode = Mode::Filter { before },
            LineEvent::Edited => {
                self.refilter();
                self.mode = Mode::Filter { before };
            }
            LineEvent::Cancelled => {
                self.filter_error = None;
                self.table_mut().set_filter(before);
            }
            LineEvent::Submitted(_) => {
                if self.refilter() {
                    self.filter_line.accept();
                    self.filter_error = None;
                } else {
                    // Enter on an invalid filter: the line stays open with the reason.
                    self.mode = Mode::Filter { before };
                }
            }
        }
        self.follow_cursor()
    }

    /// Applies the line's text as the table's filter; false (with the reason kept for the
    /// line) when it does not parse.
    fn refilter(&mut self) -> bool {
        let text = self.filter_line.value().to_owned();
        let names = self.table().column_names();
        match Filter::parse(&text, &names) {
            Ok(filter) => {
                self.filter_error = None;
                let filter = (!filter.is_empty()).then_some(filter);
                self.table_mut().set_filter(filter);
                true
            }
            Err(err) => {
                self.filter_error = Some(err.to_string());
                false
            }
        }
    }

    pub(crate) fn command_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if let Some(sites) = self.site_names() {
            self.completions.sites = sites;
        }
        match self.command_line.handle_key(key, &self.completions) {
            Outcome::Pending | Outcome::Invalid(_) => {
                self.mode = Mode::Command;
                Vec::new()
            }
            Outcome::Cancelled => Vec::new(),
            Outcome::Submitted(command) => self.run_command(command),
        }
    }

    fn run_command(&mut self, command: Command) -> Vec<Effect> {
        match command {
            Command::View { view, arg } => {
                let scope = match (view, arg) {
                    (_, Some(ViewArg::Site(site))) => Some(site),
                    (_, Some(ViewArg::Queue(queue))) => Some(queue),
                    (_, None) => None,
                };
                self.switch(view, Some(scope))
            }
            Command::Quit => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Command::Help => {
                self.mode = Mode::Help { scroll: 0 };
                Vec::new()
            }
            Command::Theme(name) => {
                self.say(Level::Info, format!("theme {name}"));
                vec![Effect::Theme(name)]
            }
            Command::Log => {
                self.mode = Mode::CallLog { scroll: 0 };
                Vec::new()
            }
            Command::Refresh => self.act(crate::console::keymap::Action::Refresh),
            Command::Reports => self.open_reports(),
            Command::Onboard => self.begin_onboard(),
            Command::Runbooks => self.open_runbooks(),
        }
    }

    /// The site names the sites view has loaded, for completing `:sessions Lon…`.
    fn site_names(&self) -> Option<Vec<String>> {
        let sites = self.tables.get(&View::Sites)?;
        if sites.rows.is_empty() {
            return None;
        }
        Some(sites.rows.iter().map(|r| r.cell(0).to_owned()).collect())
    }
}
