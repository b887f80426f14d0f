//! The confirmation dialog for actions that change something: its state and key handling
//! ([`ConfirmState`]) and its drawing ([`ConfirmDialog`]).
//!
//! Focus starts on Cancel, so a stray Enter cancels (k9s). Over [`TYPED_CONFIRM_ABOVE`]
//! targets the operator must type the count before Confirm works, so a bulk action on a
//! large selection cannot be confirmed by reflex.

use super::text;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Widget};

/// More targets than this need the count typed to confirm.
pub const TYPED_CONFIRM_ABOVE: usize = 50;
/// Targets listed by name before `… and 45 more`.
pub const LISTED_TARGETS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfirmFocus {
    #[default]
    Cancel,
    Confirm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Pending,
    Confirmed,
    Cancelled,
}

/// What the operator has done in an open confirmation dialog.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfirmState {
    pub focus: ConfirmFocus,
    /// Digits typed towards `required`.
    pub typed: String,
    /// The count to type before Confirm works, if one is needed.
    pub required: Option<usize>,
}

impl ConfirmState {
    /// The state for an action on `targets` targets: focus on Cancel, and the count to type
    /// when there are more than [`TYPED_CONFIRM_ABOVE`].
    pub fn new(targets: usize) -> Self {
        ConfirmState {
            focus: ConfirmFocus::Cancel,
            typed: String::new(),
            required: (targets > TYPED_CONFIRM_ABOVE).then_some(targets),
        }
    }

    /// Whether Confirm would be accepted now (no count needed, or the right one typed).
    pub fn can_confirm(&self) -> bool {
        match self.required {
            None => true,
            Some(n) => self.typed.parse::<usize>().ok() == Some(n),
        }
    }

    /// Applies one key. `y` confirms only when no count is needed; `n` and Esc cancel; Tab,
    /// Shift-Tab, Left, Right, `h` and `l` move the focus; Enter activates the focused button
    /// (Confirm only once the typed count matches); digits and Backspace edit the count.
    pub fn handle_key(&mut self, key: KeyEvent) -> ConfirmOutcome {
        if key.kind == KeyEventKind::Release {
            return ConfirmOutcome::Pending;
        }
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return ConfirmOutcome::Pending;
        }
        match key.code {
            KeyCode::Esc | KeyCode::Char('n') => ConfirmOutcome::Cancelled,
            KeyCode::Char('y') if self.required.is_none() => ConfirmOutcome::Confirmed,
            KeyCode::Tab
            | KeyCode::BackTab
            | KeyCode::Left
            | KeyCode::Right
            | KeyCode::Char('h')
            | KeyCode::Char('l') => {
                self.focus = match self.focus {
                    ConfirmFocus::Cancel => ConfirmFocus::Confirm,
                    ConfirmFocus::Confirm => ConfirmFocus::Cancel,
                };
                ConfirmOutcome::Pending
            }
            KeyCode::Enter => match self.focus {
                ConfirmFocus::Cancel => ConfirmOutcome::Cancelled,
                ConfirmFocus::Confirm if self.can_confirm() => ConfirmOutcome::Confirmed,
                ConfirmFocus::Confirm => ConfirmOutcome::Pending,
            },
            KeyCode::Char(c) if c.is_ascii_digit() && self.required.is_some() => {
                // Longer than any count could be: ignore rather than grow without end.
                if self.typed.len() < 20 {
                    self.typed.push(c);
                }
                ConfirmOutcome::Pending
            }
            KeyCode::Backspace => {
                self.typed.pop();
                ConfirmOutcome::Pending
            }
            _ => ConfirmOutcome::Pending,
        }
    }
}

/// What the dialog shows: `title` names the action, `question` is `Log off 3 sessions?`,
/// `targets` are the first few targets' names and `count` how many there are in all.
#[derive(Debug, Clone, Copy)]
pub struct ConfirmDialog<'a, T: AsRef<str>> {
    pub title: &'a str,
    pub question: &'a str,
    pub targets: &'a [T],
    pub count: usize,
    pub state: &'a ConfirmState,
}

impl<T: AsRef<str>> ConfirmDialog<'_, T> {
    /// The body lines, without the buttons.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.question.to_string()];
        let listed = self.targets.iter().take(LISTED_TARGETS);
        lines.extend(listed.map(|t| format!("  {}", t.as_ref())));
        let shown = self.targets.len().min(LISTED_TARGETS);
        if self.count > shown {
            lines.push(format!("  … and {} more", self.count - shown));
        }
        if let Some(n) = self.state.required {
            lines.push(String::new());
            lines.push(format!("Type {n} to confirm: {}", self.state.typed));
        }
        lines
    }

    /// Draws the dialog centred in `area` (usually the whole screen).
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let lines = self.lines();
        let widest = lines.iter().map(|l| text::width(l)).max().unwrap_or(0);
        let width = (widest.max(text::width(self.title) + 4).max(BUTTONS_WIDTH) + 4) as u16;
        let height = lines.len() as u16 + 6;
        let Some(inner) = frame(area, width.max(36), height, self.title, buf, theme) else {
            return;
        };
        let body = theme.dialog.body;
        for (y, line) in (inner.y..).zip(&lines) {
            if y + 2 >= inner.bottom() {
                break;
            }
            let max = usize::from(inner.width.saturating_sub(2));
            text::put(buf, inner.x + 1, y, line, max, body);
        }
        let focus = self.state.focus;
        let (cancel, confirm) = match focus {
            ConfirmFocus::Cancel => (theme.dialog.button_focused, theme.dialog.danger),
            ConfirmFocus::Confirm => (theme.dialog.button, theme.dialog.danger_focused),
        };
        let by = inner.bottom().saturating_sub(1);
        let x = inner.x + inner.width.saturating_sub(BUTTONS_WIDTH as u16) / 2;
        let x = buf
            .set_stringn(x, by, CANCEL, usize::from(inner.width), cancel)
            .0;
        let x = buf.set_stringn(x, by, "  ", 2, body).0;
        buf.set_stringn(
            x,
            by,
            CONFIRM,
            usize::from(inner.right().saturating_sub(x)),
            confirm,
        );
    }
}

pub const CANCEL: &str = "[ Cancel ]";
pub const CONFIRM: &str = "[ Confirm ]";
const BUTTONS_WIDTH: usize = 10 + 2 + 11;

/// Clears a `width`×`height` box centred in `area`, draws the dialog border and `title`, and
/// returns the inside (with a blank line at top and bottom left to the caller), or `None`
/// when there is no room at all.
pub(crate) fn frame(
    area: Rect,
    width: u16,
    height: u16,
    title: &str,
    buf: &mut Buffer,
    theme: &Theme,
) -> Option<Rect> {
    let area = buf.area.intersection(area);
    let outer = text::centered(area, width, height);
    if outer.width < 4 || outer.height < 3 {
        return None;
    }
    text::clear(buf, outer, theme.dialog.body);
    let title = text::truncate(title, usize::from(outer.width - 4)).into_owned();
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(theme.dialog.border)
        .style(theme.dialog.body)
        .title(Line::styled(format!(" {title} "), theme.dialog.title).centered())
        .render(outer, buf);
    let inner = Rect {
        x: outer.x + 1,
        y: outer.y + 2,
        width: outer.width - 2,
        height: outer.height.saturating_sub(4),
    };
    (inner.height > 0).then_some(inner)
}

#[cfg(test)]
#[path = "tests/dialog.rs"]
mod tests;
