//! The console's reusable widgets: each draws into a ratatui `Buffer` from a small input
//! struct of borrowed data and a [`Theme`](crate::console::theme::Theme), and holds no app
//! state, so screens compose them and tests check them cell by cell (text and style).
//!
//! - [`table`]: the virtualized data table of every list view.
//! - [`gauge`], [`group_bar`]: one-line bars (job progress, delivery-group machines).
//! - [`dialog`], [`input_dialog`], [`menu`]: confirmation, one-line input, choice menu, each
//!   with a pure state struct and its key handler.
//! - [`password_dialog`], [`secret_input`]: the password reset form and its masked,
//!   wiped-on-close secret fields.
//! - [`help`], [`hints`]: the `?` overlay and the footer hint bar, from the keymap.
//! - [`header`], [`flash`], [`detail`], [`call_log`]: the header line and breadcrumbs, the
//!   flash line, a detail pane, the `@` API call log.
//! - [`workflow_dialog`]: the workflow forms (new request, onboarding, offboarding) with
//!   their live preview and confirmation.
//! - [`runbook_list`], [`runbook_dialog`]: the `:runbooks` picker and a runbook's parameter
//!   form.
//! - [`text`]: width, `…` cutting, wrapping and centring shared by all of them.

mod bar;
pub mod call_log;
pub mod detail;
pub mod dialog;
pub mod flash;
pub mod gauge;
pub mod group_bar;
pub mod header;
pub mod help;
pub mod hints;
pub mod input_dialog;
pub mod menu;
pub mod password_dialog;
pub mod report;
pub mod runbook_dialog;
pub mod runbook_list;
pub mod secret_input;
pub mod table;
pub mod text;
pub mod workflow_dialog;
