//! What is drawn over the screen: the `?` help, the `@` API call log, the confirmation
//! dialog, the text prompt, the action menus, the password reset dialog and the box that
//! shows a generated password once, the workflow forms; and the `/` and `:` input line.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::console::app::{App, Mode};
use crate::console::client::{CallLog, CallOutcome};
use crate::console::theme::Theme;
use crate::console::widgets::call_log::{CallLog as CallLogWidget, CallResult, CallRow};
use crate::console::widgets::dialog::ConfirmDialog;
use crate::console::widgets::help::HelpOverlay;
use crate::console::widgets::input_dialog::InputDialog;
use crate::console::widgets::menu::Menu;
use crate::console::widgets::password_dialog::{PasswordDialog, ShownOnceDialog};
use crate::console::widgets::text;
use crate::console::widgets::workflow_dialog::WorkflowDialog;

pub fn render(app: &mut App, calls: &CallLog, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let view = app.view;
    match &mut app.mode {
        Mode::Help { scroll } => {
            let sections = app.keymap.help(view);
            let title = format!("help: {}", view.name());
            *scroll = HelpOverlay {
                title: &title,
                sections: &sections,
                scroll: *scroll,
            }
            .render(area, buf, theme);
        }
        Mode::CallLog { scroll } => {
            let records = calls.snapshot();
            let times: Vec<String> = records
                .iter()
                .map(|r| r.at.format("%H:%M:%S").to_string())
                .collect();
            let rows: Vec<CallRow<'_>> = records
                .iter()
                .rev()
                .zip(times.iter().rev())
                .map(|(r, time)| CallRow {
                    method: r.method,
                    path: &r.path,
                    result: match &r.outcome {
                        CallOutcome::Status(s) => CallResult::Status(*s),
                        CallOutcome::Failed(why) => CallResult::Failed(why),
                    },
                    latency: r.latency,
                    time,
                })
                .collect();
            *scroll = CallLogWidget {
                rows: &rows,
                scroll: *scroll,
            }
            .render(area, buf, theme);
        }
        Mode::Confirm { pending, state } => ConfirmDialog {
            title: &pending.title,
            question: &pending.question,
            targets: &pending.targets,
            count: pending.targets.len(),
            state,
        }
        .render(area, buf, theme),
        Mode::Prompt(prompt) => {
            let dialog = InputDialog {
                title: &prompt.title,
                prompt: &prompt.prompt,
                input: &prompt.input,
                error: prompt.error.as_deref(),
            };
            if let Some((x, y)) = dialog.render(area, buf, theme) {
                // The terminal's own cursor stays hidden; draw one where typing goes.
                if let Some(cell) = buf.cell_mut((x, y)) {
                    cell.set_style(
                        theme
                            .command
                            .input
                            .add_modifier(ratatui::style::Modifier::REVERSED),
                    );
                }
            }
        }
        Mode::Menu(menu) => Menu {
            title: &menu.title,
            items: menu.items,
            state: &menu.state,
        }
        .render(area, buf, theme),
        Mode::Password(reset) => {
            let summary = app.policy.as_ref().map(|p| reset.summary(p));
            let label = reset.label();
            let dialog = PasswordDialog {
                account: &label,
                state: &reset.form,
                summary: summary.as_ref(),
            };
            if let Some((x, y)) = dialog.render(area, buf, theme)
                && let Some(cell) = buf.cell_mut((x, y))
            {
                cell.set_style(
                    theme
                        .command
                        .input
                        .add_modifier(ratatui::style::Modifier::REVERSED),
                );
            }
        }
        Mode::ShownOnce(shown) => ShownOnceDialog {
            account: &shown.login,
            password: shown.password.expose(),
        }
        .render(area, buf, theme),
        Mode::Reports => super::reports::render(&app.reports, app.now, area, buf, theme),
        Mode::Runbooks => super::runbooks::render(app, area, buf, theme),
        Mode::Workflow(w) => {
            let preview = w.shown();
            let dialog = WorkflowDialog {
                title: &w.title,
                intro: &w.intro,
                state: &w.form,
                preview: &preview,
            };
            if let Some((x, y)) = dialog.render(area, buf, theme)
                && let Some(cell) = buf.cell_mut((x, y))
            {
                cell.set_style(
                    theme
                        .command
                        .input
                        .add_modifier(ratatui::style::Modifier::REVERSED),
                );
            }
        }
        Mode::Normal | Mode::Filter { .. } | Mode::Command => {}
    }
}

/// What the `/` or `:` line shows.
pub struct InputLine<'a> {
    pub prompt: char,
    pub value: &'a str,
    /// In characters from the start of `value`.
    pub cursor: usize,
    /// The completion candidates Tab is cycling through.
    pub candidates: Option<String>,
    pub error: Option<&'a str>,
}

/// The line being typed, its completions and its error.
pub fn input_line(line: &InputLine<'_>, area: Rect, buf: &mut Buffer, theme: &Theme) {
    text::clear(buf, area, theme.base.text);
    let room = |x: u16| usize::from(area.right().saturating_sub(x));
    let start = text::put(
        buf,
        area.x,
        area.y,
        &line.prompt.to_string(),
        1,
        theme.command.prompt,
    );
    let before: String = line.value.chars().take(line.cursor).collect();
    let cursor_x = start + text::width(&before) as u16;
    let mut x = text::put(
        buf,
        start,
        area.y,
        line.value,
        room(start),
        theme.command.input,
    );
    if let Some(candidates) = &line.candidates {
        x = text::put(
            buf,
            x + 2,
            area.y,
            candidates,
            room(x + 2),
            theme.command.completion,
        );
    }
    if let Some(error) = line.error {
        text::put(buf, x + 2, area.y, error, room(x + 2), theme.command.error);
    }
    if let Some(cell) = buf.cell_mut((cursor_x.min(area.right().saturating_sub(1)), area.y)) {
        cell.set_style(
            theme
                .command
                .input
                .add_modifier(ratatui::style::Modifier::REVERSED),
        );
    }
}
