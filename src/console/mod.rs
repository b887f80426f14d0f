//! The console (`deskbridge`): the keyboard-driven helpdesk TUI. It talks to an adapter over
//! `/api/v1` (HTTP + SSE) only, never to adapter internals.
//!
//! - [`client`]: the adapter's API as the console uses it: tokens, reads, actions, the event
//!   stream with reconnect, and the log of calls (no ratatui types).
//! - [`config`], [`keymap`]: the console config file and the rebindable keymap.
//! - [`theme`]: colour themes from `themes/`, embedded, overridable from the config dir.
//! - [`widgets`]: state-free widgets the screens are drawn with (table, gauges, dialogs, …).
//! - [`command`]: the `:` command mode (commands, completion, history, prompt state).
//! - [`filter`]: the `/` filter over a table's loaded rows (syntax, matching, highlights).

pub mod app;
pub mod client;
pub mod command;
pub mod config;
pub mod filter;
pub mod keymap;
pub mod run;
pub mod theme;
pub mod ui;
pub mod widgets;
