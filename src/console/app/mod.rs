//! The console's state and its pure update: `App::update(msg) -> effects`. Everything the
//! operator sees is drawn from [`App`] (see `console::ui`); everything that touches the
//! network is an [`Effect`] the runner performs (see `console::run`).
//!
//! - [`rows`], [`convert`]: every view's rows as cells; [`table`]: one view's rows, order,
//!   cursor and marks.
//! - [`msg`]: messages in, effects out; [`update`]: keys and answers; `lines`: the `/`
//!   and `:` lines; `stream`: live events; `operate`: the operator's actions, `pending`: the
//!   change they build for confirmation; [`jobs`]: jobs followed live; `nav`: views,
//!   drill-down and breadcrumbs; `columns`: each view's fields; `account`: the password
//!   reset dialog, unlock, enable and disable; `account_rows`: the users view's account
//!   columns; [`runbooks`], `runbook_form`: the `:runbooks` picker and a runbook's form.

mod account;
mod account_rows;
mod columns;
pub mod convert;
mod idle;
pub mod jobs;
mod lines;
pub mod msg;
mod nav;
mod operate;
mod pending;
pub mod reports;
pub mod rows;
mod runbook_form;
pub mod runbooks;
mod stream;
pub mod table;
mod update;
mod workflow_forms;
pub mod workflows;

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use crate::console::client::{JobInfo, TicketDetail, TicketLink, Whoami};
use crate::console::command::{CommandLine, Completions, LineEditor};
use crate::console::filter::Filter;
use crate::console::keymap::{Keymap, View};
use crate::model::Role;

pub use account::{PasswordReset, ShownOnce};
pub use account_rows::AccountSlot;
pub use jobs::{Jobs, LiveJob};
pub use msg::{Effect, Failure, Loaded, Msg, TicketOp};
pub use pending::{Menu, Pending, PendingWork, Prompt, PromptFor};
pub use reports::Reports;
pub use rows::{Column, Row, RowRef, Tone};
pub use runbooks::Runbooks;
pub use table::{LoadStatus, Table};

use crate::console::widgets::dialog::ConfirmState;

/// Session counts kept per site for its sparkline.
const TREND_POINTS: usize = 120;

/// How long a flash stays.
const FLASH_FOR: Duration = Duration::seconds(6);

/// What the keys go to.
#[derive(Debug)]
pub enum Mode {
    Normal,
    /// `/`: the filter line ([`App::filter_line`]); the table filters as the operator types.
    /// `before` is restored by esc.
    Filter {
        before: Option<Filter>,
    },
    /// `:` ([`App::command_line`]).
    Command,
    Help {
        scroll: usize,
    },
    /// `@`: the API call log.
    CallLog {
        scroll: usize,
    },
    /// A change waits for the operator's yes.
    Confirm {
        pending: Box<Pending>,
        state: ConfirmState,
    },
    /// Text for an action (message, work note, resolution notes).
    Prompt(Box<Prompt>),
    /// A choice for an action (power, maintenance).
    Menu(Box<Menu>),
    /// `P`: the password reset form.
    Password(Box<PasswordReset>),
    /// A generated password, shown until the operator closes it, then gone.
    ShownOnce(Box<ShownOnce>),
    /// `:reports`: the reports screen ([`App::reports`]) has the keys.
    Reports,
    /// A workflow form: new request (`N`), onboarding (`:onboard`), offboarding (`O`).
    Workflow(Box<workflows::WorkflowForm>),
    /// `:runbooks`: the picker, or a runbook's form ([`App::runbooks`]), has the keys.
    Runbooks,
}

/// The link to the adapter, as the header shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Connecting,
    Live,
    /// The adapter is unreachable: the console shows data from `since` and retries.
    Away {
        since: DateTime<Utc>,
        retry_at: DateTime<Utc>,
        reason: String,
    },
}

/// A flash's level; the widget's own type, so the app and the drawing cannot disagree.
pub use crate::console::widgets::flash::FlashLevel as Level;

#[derive(Debug, Clone, PartialEq)]
pub struct Flash {
    pub text: String,
    pub level: Level,
    pub until: DateTime<Utc>,
}

/// One step of the drill-down, for going back: the view left, and the filter the view
/// entered had before the drill-down set its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Crumb {
    pub from: View,
    /// What the step was about (`INC0010001`, `alice`), for the breadcrumbs.
    pub label: String,
    pub to: View,
    pub to_filter_before: Option<String>,
    pub to_scope_before: Option<String>,
    /// The ticket the drill-down started from: jobs run further down are linked to it.
    pub ticket: Option<TicketLink>,
}

/// Facts fixed at start.
#[derive(Debug, Clone)]
pub struct Setup {
    pub keymap: Keymap,
    pub readonly: bool,
    /// The adapter is the embedded lab.
    pub lab: bool,
    pub adapter_url: String,
    pub theme_names: Vec<String>,
}

#[derive(Debug)]
pub struct App {
    pub setup: Setup,
    /// The keymap narrowed to the operator's role and `--readonly`.
    pub keymap: Keymap,
    pub me: Option<Whoami>,
    pub tables: BTreeMap<View, Table>,
    pub view: View,
    pub crumbs: Vec<Crumb>,
    pub mode: Mode,
    pub jobs: Jobs,
    pub jobs_pane: bool,
    pub details: bool,
    /// Lines of the detail pane scrolled past; back to the top when the cursor moves.
    pub detail_scroll: usize,
    /// The ticket under the cursor, read live for the detail pane.
    pub ticket: Option<(TicketLink, Result<Box<TicketDetail>, String>)>,
    /// The job opened with `Enter`, with its per-target results.
    pub job: Option<Result<Box<JobInfo>, String>>,
    pub flash: Option<Flash>,
    pub link: Link,
    pub size: (u16, u16),
    pub now: DateTime<Utc>,
    /// Something changed since the last frame.
    pub dirty: bool,
    pub quit: bool,
    /// Errors for the log file, drained by the runner.
    pub log: Vec<String>,
    /// The `:` line, kept between uses for its history.
    pub command_line: CommandLine,
    /// The `/` line, kept between uses for its history.
    pub filter_line: LineEditor,
    /// Why the filter being typed does not parse (the table keeps the last valid one).
    pub filter_error: Option<String>,
    /// Names for `:` completion: sites as they load, themes, queues.
    pub completions: Completions,
    /// Each site's session count at its last refreshes, oldest first, for the sites view's
    /// sparkline.
    pub site_trends: BTreeMap<String, VecDeque<u64>>,
    /// Directory accounts read for the users view, by `DOMAIN\sam` (one per user looked at,
    /// never one per row).
    pub accounts: HashMap<String, AccountSlot>,
    /// The adapter's password policy, for the live check in the reset dialog.
    pub policy: Option<crate::accounts::PasswordPolicy>,
    /// The `:reports` screen, kept while the operator is elsewhere.
    pub reports: Reports,
    /// The routing explanation of the user under the cursor, read live for the detail pane.
    pub routing: Option<(
        String,
        Result<Box<crate::console::client::RoutingExplanation>, String>,
    )>,
    /// The `:runbooks` screen and its form, kept while the operator is elsewhere.
    pub runbooks: Runbooks,
}

impl App {
    pub fn new(setup: Setup, now: DateTime<Utc>) -> App {
        // Viewer until the adapter says otherwise: nothing offered that might be refused.
        let keymap = setup.keymap.visible(Role::Viewer, setup.readonly);
        let tables = View::ALL
            .into_iter()
            .map(|v| (v, Table::new(v, None)))
            .collect();
        let completions = Completions {
            themes: setup.theme_names.clone(),
            ..Completions::default()
        };
        App {
            setup,
            keymap,
            me: None,
            tables,
            view: View::Tickets,
            crumbs: Vec::new(),
            mode: Mode::Normal,
            jobs: Jobs::default(),
            jobs_pane: true,
            details: false,
            detail_scroll: 0,
            ticket: None,
            job: None,
            flash: None,
            link: Link::Connecting,
            size: (80, 24),
            now,
            dirty: true,
            quit: false,
            log: Vec::new(),
            command_line: CommandLine::default(),
            filter_line: LineEditor::default(),
            filter_error: None,
            completions,
            site_trends: BTreeMap::new(),
            accounts: HashMap::new(),
            policy: None,
            reports: Reports::default(),
            routing: None,
            runbooks: Runbooks::default(),
        }
    }

    /// The effects that start the console: who am I, the first view's rows and the sites.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut effects = vec![Effect::Whoami];
        effects.extend(self.load(self.view));
        // The site names complete `:sessions Lon…` and the sites view opens at once.
        effects.extend(self.load(View::Sites));
        effects
    }

    pub fn table(&self) -> &Table {
        &self.tables[&self.view]
    }

    pub fn table_mut(&mut self) -> &mut Table {
        self.tables
            .entry(self.view)
            .or_insert_with(|| Table::new(self.view, None))
    }

    pub fn role(&self) -> Role {
        self.me.as_ref().map_or(Role::Viewer, |m| m.role)
    }

    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        if level == Level::Error {
            self.log.push(text.clone());
        }
        self.flash = Some(Flash {
            text,
            level,
            until: self.now + FLASH_FOR,
        });
    }

    /// When the runner should wake the console with a [`Msg::Tick`] without any input: a
    /// flash expiring, a reconnect countdown, a running job's timer. `None`: sleep until
    /// input arrives (no fixed-rate redraw).
    pub fn next_tick(&self) -> Option<DateTime<Utc>> {
        let mut next: Option<DateTime<Utc>> = self.flash.as_ref().map(|f| f.until);
        let mut sooner = |at: DateTime<Utc>| next = Some(next.map_or(at, |n| n.min(at)));
        if matches!(self.link, Link::Away { .. }) || (self.jobs_pane && self.jobs.running() > 0) {
            sooner(self.now + Duration::seconds(1));
        }
        if let Some(at) = self.workflow_due() {
            sooner(at);
        }
        next
    }

    /// Adds a site's session count to its trend.
    pub(crate) fn trend(&mut self, site: &str, sessions: usize) {
        let points = self.site_trends.entry(site.to_owned()).or_default();
        if points.len() == TREND_POINTS {
            points.pop_front();
        }
        points.push_back(sessions as u64);
    }

    /// Requests a view's rows unless a load is already under way (then it reloads after).
    pub(crate) fn load(&mut self, view: View) -> Option<Effect> {
        let table = self
            .tables
            .entry(view)
            .or_insert_with(|| Table::new(view, None));
        if table.status == LoadStatus::Loading {
            table.stale = true;
            return None;
        }
        table.generation += 1;
        table.status = LoadStatus::Loading;
        table.stale = false;
        Some(Effect::Load {
            view,
            scope: table.scope.clone(),
            generation: table.generation,
        })
    }
}

#[cfg(test)]
mod tests;
