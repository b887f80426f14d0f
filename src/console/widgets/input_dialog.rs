//! A centred one-line input box (`m` message to a session's user, `n` work note): title,
//! prompt, the text with a cursor, and an error line. [`InputState`] is the line being edited
//! and its key handling; [`InputDialog`] draws it.

use super::dialog::frame;
use super::text;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputOutcome {
    Pending,
    /// Enter: the caller reads the text.
    Submitted,
    Cancelled,
}

/// The line being typed, with the cursor as a byte offset on a character boundary.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputState {
    pub text: String,
    pub cursor: usize,
}

impl InputState {
    pub fn new(text: &str) -> Self {
        InputState {
            text: text.to_string(),
            cursor: text.len(),
        }
    }

    /// Editing keys: characters insert, Backspace/Delete remove, Left/Right/Home/End (and
    /// ctrl-a/ctrl-e) move, ctrl-u clears, Enter submits, Esc cancels.
    pub fn handle_key(&mut self, key: KeyEvent) -> InputOutcome {
        if key.kind == KeyEventKind::Release {
            return InputOutcome::Pending;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return InputOutcome::Cancelled,
            KeyCode::Enter => return InputOutcome::Submitted,
            KeyCode::Char('a') | KeyCode::Home if ctrl || key.code == KeyCode::Home => {
                self.cursor = 0;
            }
            KeyCode::Char('e') | KeyCode::End if ctrl || key.code == KeyCode::End => {
                self.cursor = self.text.len();
            }
            KeyCode::Char('u') if ctrl => {
                self.text.clear();
                self.cursor = 0;
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                self.text.insert(self.cursor, c);
                self.cursor += c.len_utf8();
            }
            KeyCode::Backspace => {
                if let Some(c) = self.text[..self.cursor].chars().next_back() {
                    self.cursor -= c.len_utf8();
                    self.text.remove(self.cursor);
                }
            }
            KeyCode::Delete if self.cursor < self.text.len() => {
                self.text.remove(self.cursor);
            }
            KeyCode::Left => {
                if let Some(c) = self.text[..self.cursor].chars().next_back() {
                    self.cursor -= c.len_utf8();
                }
            }
            KeyCode::Right => {
                if let Some(c) = self.text[self.cursor..].chars().next() {
                    self.cursor += c.len_utf8();
                }
            }
            _ => {}
        }
        InputOutcome::Pending
    }
}

/// What the input box shows.
#[derive(Debug, Clone, Copy)]
pub struct InputDialog<'a> {
    pub title: &'a str,
    /// Above the line: `Message to alice (3 sessions):`.
    pub prompt: &'a str,
    pub input: &'a InputState,
    /// Why the last submit was refused, shown under the line.
    pub error: Option<&'a str>,
}

impl InputDialog<'_> {
    /// Draws the box centred in `area` (60 cells wide at most) and returns where the terminal
    /// cursor belongs, for `Frame::set_cursor_position`.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) -> Option<(u16, u16)> {
        let width = area.width.saturating_sub(4).clamp(20, 60);
        let inner = frame(area, width, 7, self.title, buf, theme)?;
        let w = usize::from(inner.width.saturating_sub(2));
        let x = inner.x + 1;
        text::put(buf, x, inner.y, self.prompt, w, theme.dialog.body);
        if inner.height < 2 {
            return None;
        }
        let y = inner.y + 1;
        let style = theme.dialog.body.patch(theme.command.input);
        // Show the end of a line longer than the box, keeping the cursor in view.
        let input = self.input;
        let cursor = if input.text.is_char_boundary(input.cursor) {
            input.cursor
        } else {
            input.text.len()
        };
        let before = &input.text[..cursor];
        let room = w.saturating_sub(1);
        let skip = text::width(before).saturating_sub(room);
        let mut start = 0;
        let mut dropped = 0;
        for c in before.chars() {
            if dropped >= skip {
                break;
            }
            dropped += text::width(c.encode_utf8(&mut [0; 4]));
            start += c.len_utf8();
        }
        let shown = &input.text[start..];
        buf.set_style(Rect::new(x, y, w as u16, 1), style);
        text::put(buf, x, y, shown, w, style);
        let cx = x + text::width(&input.text[start..cursor]) as u16;
        if let Some(error) = self.error.filter(|_| inner.height >= 3) {
            let style = theme.dialog.body.patch(theme.command.error);
            text::put(buf, x, inner.y + 2, error, w, style);
        }
        Some((cx, y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEvent;

    fn press(state: &mut InputState, code: KeyCode) -> InputOutcome {
        state.handle_key(KeyEvent::from(code))
    }

    #[test]
    fn typing_editing_and_submitting() {
        let mut s = InputState::default();
        for c in "héllo".chars() {
            press(&mut s, KeyCode::Char(c));
        }
        press(&mut s, KeyCode::Left);
        press(&mut s, KeyCode::Backspace);
        assert_eq!((s.text.as_str(), s.cursor), ("hélo", 4));
        press(&mut s, KeyCode::Home);
        press(&mut s, KeyCode::Delete);
        assert_eq!(s.text, "élo");
        assert_eq!(press(&mut s, KeyCode::Enter), InputOutcome::Submitted);
        assert_eq!(press(&mut s, KeyCode::Esc), InputOutcome::Cancelled);
    }

    #[test]
    fn the_box_shows_prompt_text_error_and_cursor() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let mut buf = Buffer::empty(Rect::new(0, 0, 80, 24));
        let input = InputState::new("Please save your work");
        let dialog = InputDialog {
            title: "message",
            prompt: "Message to alice:",
            input: &input,
            error: Some("message is empty"),
        };
        let (cx, cy) = dialog.render(buf.area, &mut buf, &theme).unwrap_or((0, 0));
        let line = |y: u16| -> String { (0..80).map(|x| buf[(x, y)].symbol()).collect() };
        assert!(line(cy - 1).contains("Message to alice:"));
        assert!(line(cy).contains("Please save your work"));
        assert_eq!(buf[(cx - 1, cy)].symbol(), "k");
        assert!(line(cy + 1).contains("message is empty"));
        let err_x = (0..80)
            .find(|&x| buf[(x, cy + 1)].symbol() == "m")
            .unwrap_or(0);
        assert_eq!(Some(buf[(err_x, cy + 1)].fg), theme.command.error.fg);
        Ok(())
    }
}
