//! What goes into the console's update function (keys, answers, stream events, ticks) and
//! what comes out of it (loads and actions for the runner to perform). The update itself does
//! no I/O, so every behaviour is a test of `state + message → state + effects`.

use ratatui::crossterm::event::KeyEvent;
use uuid::Uuid;

use super::rows::Row;
use crate::console::client::{JobInfo, JobRequest, StreamEvent, TicketDetail, TicketLink, Whoami};
use crate::console::keymap::View;

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
    /// Switch themes (`:theme NAME`); the runner loads it and reports a failure as a flash.
    Theme(String),
    Suspend,
    Quit,
}
