//! What goes into the console's update function (keys, answers, stream events, ticks) and
//! what comes out of it (loads and actions for the runner to perform). The update itself does
//! no I/O, so every behaviour is a test of `state + message → state + effects`.

use ratatui::crossterm::event::KeyEvent;
use uuid::Uuid;

use super::rows::Row;
use crate::accounts::PasswordPolicy;
use crate::console::client::{
    AccountInfo, JobInfo, JobRequest, PasswordCheck, StreamEvent, TicketDetail, TicketLink, Whoami,
};
use crate::console::keymap::View;
use crate::secret::Secret;

/// Input to [`super::App::update`].
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// Time passed: flashes expire, the reconnect countdown and job timers move.
    Tick,
    Whoami(Result<Whoami, Failure>),
    Loaded {
        view: View,
        generation: u64,
        result: Result<Loaded, Failure>,
    },
    TicketLoaded {
        link: TicketLink,
        result: Result<Box<TicketDetail>, Failure>,
    },
    JobLoaded {
        id: Uuid,
        result: Result<Box<JobInfo>, Failure>,
    },
    /// A job request was answered.
    Submitted {
        what: String,
        result: Result<Box<JobInfo>, Failure>,
    },
    /// A ticket write or a job cancel/retry was answered; `what` names it for the flash.
    Done {
        what: String,
        result: Result<String, Failure>,
    },
    Stream(StreamEvent),
    /// A directory account was read (`login` is `DOMAIN\sam`).
    AccountLoaded {
        login: String,
        result: Result<Box<AccountInfo>, Failure>,
    },
    PolicyLoaded(Result<Box<PasswordPolicy>, Failure>),
    /// The adapter's check of the password typed for `login`.
    PasswordChecked {
        login: String,
        result: Result<PasswordCheck, Failure>,
    },
    /// A password reset job was answered; a generated password comes with it, to be shown
    /// once.
    PasswordReset {
        what: String,
        login: String,
        result: Result<(Box<JobInfo>, Option<Secret>), Failure>,
    },
    /// A preview of powering off idle machines was answered.
    IdlePreviewed {
        request: crate::console::client::IdleRequest,
        result: Result<Box<crate::console::client::IdleAnswer>, Failure>,
    },
    /// A workflow preview, submission or routing explanation was answered.
    Workflow(super::workflows::WorkflowMsg),
    /// The list of reports (`:reports`).
    ReportsLoaded(Result<Vec<crate::console::client::ReportInfo>, Failure>),
    /// One report, answering [`Effect::LoadReport`] of the same generation.
    ReportLoaded {
        name: String,
        generation: u64,
        result: Result<Box<crate::console::client::ReportData>, Failure>,
    },
    /// The runbook list or a run was answered (`:runbooks`).
    Runbook(super::runbooks::RunbookMsg),
}

/// A load's rows and what the console should say about them.
#[derive(Debug, Default)]
pub struct Loaded {
    pub rows: Vec<Row>,
    /// "London: last known data, 5m old" and the like.
    pub note: Option<String>,
}

/// A failed request, as the console shows and logs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    /// The adapter could not be reached (as opposed to refusing the request).
    pub adapter_away: bool,
}

impl Failure {
    pub fn refused(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            adapter_away: false,
        }
    }
}

/// A ticket write the operator asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketOp {
    Take,
    Note(String),
    Resolve { close_notes: String },
}

/// Work for the runner; each answer comes back as a [`Msg`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Whoami,
    Load {
        view: View,
        scope: Option<String>,
        generation: u64,
    },
    LoadTicket(TicketLink),
    LoadJob(Uuid),
    Submit {
        what: String,
        request: JobRequest,
    },
    Ticket {
        link: TicketLink,
        op: TicketOp,
    },
    /// Zero-touch for one catalog ticket: the adapter maps its item to an action.
    Fulfil {
        link: TicketLink,
        table: String,
        sys_id: String,
    },
    CancelJob(Uuid),
    RetryJob(Uuid),
    /// Read one directory account (`DOMAIN`, `sam`).
    LoadAccount {
        domain: String,
        user: String,
    },
    LoadPolicy,
    /// The adapter's check of a new password before the reset job is created.
    CheckPassword {
        domain: String,
        user: String,
        password: Secret,
    },
    /// `account.password_reset`: like [`Effect::Submit`], answered with
    /// [`Msg::PasswordReset`] (which may carry a generated password).
    ResetPassword {
        what: String,
        login: String,
        request: JobRequest,
    },
    /// Preview powering off idle machines (a dry run); answered with [`Msg::IdlePreviewed`].
    IdlePreview(crate::console::client::IdleRequest),
    /// Power them off for real; answered like [`Effect::Submit`].
    IdleRun {
        what: String,
        request: crate::console::client::IdleRequest,
    },
    /// Workflow previews and jobs, and routing explanations (`app::workflows`).
    Workflow(super::workflows::WorkflowEffect),
    /// The list of reports.
    LoadReports,
    /// One report, made now by the adapter.
    LoadReport {
        name: String,
        generation: u64,
    },
    /// The runbook list and runs (`app::runbooks`).
    Runbook(super::runbooks::RunbookEffect),
    /// Switch themes (`:theme NAME`); the runner loads it and reports a failure as a flash.
    Theme(String),
    Suspend,
    Quit,
}
