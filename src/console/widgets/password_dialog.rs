//! The password reset dialog (`P`): its form state and keys ([`PasswordState`]) and its
//! drawing ([`PasswordDialog`]), and the box that shows a generated password once
//! ([`ShownOnceDialog`]).
//!
//! The form: the new password (masked; ctrl-r reveals) or "generate", must-change and unlock
//! checkboxes, and how the requester was verified (a call-back note, or their security code,
//! masked). Tab and the arrows move between fields, space toggles, Enter submits, Esc
//! cancels. The live policy checklist is drawn from a [`Summary`] and never shows the password.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::dialog::frame;
use super::input_dialog::{InputOutcome, InputState};
use super::secret_input::SecretInput;
use super::text;
use crate::accounts::{Strength, Summary};
use crate::console::theme::Theme;

/// The fields, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Password,
    Generate,
    MustChange,
    Unlock,
    Method,
    Note,
    Code,
}

const ORDER: [Field; 7] = [
    Field::Password,
    Field::Generate,
    Field::MustChange,
    Field::Unlock,
    Field::Method,
    Field::Note,
    Field::Code,
];

/// How the operator verified the requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// The operator called the user back on a known number: attested with a note.
    #[default]
    Callback,
    /// The requester gave their security code.
    Code,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordOutcome {
    Pending,
    Submitted,
    /// Esc: the typed secrets are already wiped.
    Cancelled,
}

/// The form as the operator fills it.
#[derive(Debug)]
pub struct PasswordState {
    pub focus: Field,
    pub password: SecretInput,
    /// The password shows as typed (ctrl-r).
    pub reveal: bool,
    /// The adapter generates the password; the typed one is not used.
    pub generate: bool,
    pub must_change: bool,
    pub unlock: bool,
    pub method: Method,
    pub note: InputState,
    pub code: SecretInput,
    /// Why the last submit was refused (local checks, or the adapter's violations).
    pub errors: Vec<String>,
    /// The adapter is checking the password; keys other than Esc wait.
    pub checking: bool,
}

impl Default for PasswordState {
    fn default() -> Self {
        PasswordState {
            focus: Field::Password,
            password: SecretInput::default(),
            reveal: false,
            generate: false,
            must_change: true,
            unlock: false,
            method: Method::Callback,
            note: InputState::default(),
            code: SecretInput::default(),
            errors: Vec::new(),
            checking: false,
        }
    }
}

impl PasswordState {
    /// A field that takes part in the form as it is now.
    fn active(&self, field: Field) -> bool {
        match field {
            Field::Password => !self.generate,
            Field::Note => self.method == Method::Callback,
            Field::Code => self.method == Method::Code,
            _ => true,
        }
    }

    fn step(&mut self, forward: bool) {
        let at = ORDER.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = ORDER.len();
        for k in 1..=n {
            let i = if forward {
                (at + k) % n
            } else {
                (at + n - k) % n
            };
            if self.active(ORDER[i]) {
                self.focus = ORDER[i];
                return;
            }
        }
    }

    /// Empties both secret fields, overwriting their buffers.
    pub fn wipe(&mut self) {
        self.password.wipe();
        self.code.wipe();
    }

    /// Applies one key.
    pub fn handle_key(&mut self, key: KeyEvent) -> PasswordOutcome {
        if key.kind == KeyEventKind::Release {
            return PasswordOutcome::Pending;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code == KeyCode::Esc {
            self.wipe();
            return PasswordOutcome::Cancelled;
        }
        if self.checking {
            return PasswordOutcome::Pending;
        }
        match key.code {
            KeyCode::Enter => return PasswordOutcome::Submitted,
            KeyCode::Char('r') if ctrl => self.reveal = !self.reveal,
            KeyCode::Tab | KeyCode::Down => self.step(true),
            KeyCode::BackTab | KeyCode::Up => self.step(false),
            _ => self.field_key(&key),
        }
        PasswordOutcome::Pending
    }

    fn field_key(&mut self, key: &KeyEvent) {
        let toggle = matches!(key.code, KeyCode::Char(' '));
        let changed = match self.focus {
            Field::Password => self.password.handle_key(key),
            Field::Code => self.code.handle_key(key),
            // Enter and Esc never reach here (handled above).
            Field::Note => self.note.handle_key(*key) == InputOutcome::Pending,
            Field::Generate if toggle => {
                self.generate = !self.generate;
                true
            }
            Field::MustChange if toggle => {
                self.must_change = !self.must_change;
                false
            }
            Field::Unlock if toggle => {
                self.unlock = !self.unlock;
                false
            }
            Field::Method if toggle || matches!(key.code, KeyCode::Left | KeyCode::Right) => {
                self.method = match self.method {
                    Method::Callback => Method::Code,
                    Method::Code => Method::Callback,
                };
                true
            }
            _ => false,
        };
        // What the last submit refused may be fixed now.
        if changed {
            self.errors.clear();
        }
    }
}

/// What the dialog shows.
pub struct PasswordDialog<'a> {
    /// `LAB\ada (Ada Lovelace)`.
    pub account: &'a str,
    pub state: &'a PasswordState,
    /// The live check of the typed password; `None` while the policy loads.
    pub summary: Option<&'a Summary>,
}

const WIDTH: u16 = 68;

impl PasswordDialog<'_> {
    /// The body as lines of (text, style name): kept apart from the drawing so tests and
    /// snapshots read the same thing the screen shows.
    fn lines(&self) -> Vec<(String, Tone)> {
        let s = self.state;
        let mark = |on: bool| if on { "[x]" } else { "[ ]" };
        let focus = |f: Field| if s.focus == f { "›" } else { " " };
        let mut lines = vec![(format!("  Account: {}", self.account), Tone::Body)];
        lines.push((String::new(), Tone::Body));
        if s.generate {
            lines.push((
                format!(
                    "{} New password  (generated by the adapter, shown once)",
                    focus(Field::Password)
                ),
                Tone::Muted,
            ));
        } else {
            let reveal = if s.reveal {
                "ctrl-r hides"
            } else {
                "ctrl-r shows"
            };
            lines.push((
                format!("{} New password  {}", focus(Field::Password), reveal),
                Tone::Body,
            ));
        }
        lines.push((String::new(), Tone::Input));
        lines.push((
            format!(
                "{} {} generate a temporary password",
                focus(Field::Generate),
                mark(s.generate)
            ),
            Tone::Body,
        ));
        lines.push((
            format!(
                "{} {} must change it at next logon",
                focus(Field::MustChange),
                mark(s.must_change)
            ),
            Tone::Body,
        ));
        lines.push((
            format!(
                "{} {} unlock the account",
                focus(Field::Unlock),
                mark(s.unlock)
            ),
            Tone::Body,
        ));
        let (cb, code) = match s.method {
            Method::Callback => ("(•)", "( )"),
            Method::Code => ("( )", "(•)"),
        };
        lines.push((
            format!(
                "{} Verified by   {cb} call-back   {code} security code",
                focus(Field::Method)
            ),
            Tone::Body,
        ));
        match s.method {
            Method::Callback => lines.push((
                format!("{} Note          {}", focus(Field::Note), s.note.text),
                Tone::Body,
            )),
            Method::Code => lines.push((
                format!(
                    "{} Code          {}",
                    focus(Field::Code),
                    s.code.shown(false)
                ),
                Tone::Body,
            )),
        }
        lines.push((String::new(), Tone::Body));
        if s.generate {
            lines.push((
                "  The adapter makes a password that meets the policy.".into(),
                Tone::Muted,
            ));
        } else if let Some(summary) = self.summary {
            for check in &summary.checks {
                let (sign, tone) = if check.passed {
                    ("✓", Tone::Ok)
                } else {
                    ("✗", Tone::Bad)
                };
                lines.push((format!("  {sign} {}", check.label), tone));
            }
            let strength = match summary.strength {
                Strength::Weak => "weak",
                Strength::Fair => "fair",
                Strength::Strong => "strong",
            };
            lines.push((
                format!("  {} characters · strength: {strength}", summary.length),
                Tone::Muted,
            ));
        } else {
            lines.push(("  loading the password policy…".into(), Tone::Muted));
        }
        if s.checking {
            lines.push(("  checking with the adapter…".into(), Tone::Muted));
        }
        for error in &s.errors {
            lines.push((format!("  ✗ {error}"), Tone::Bad));
        }
        lines.push((String::new(), Tone::Body));
        lines.push((
            "  enter reset · tab next field · space toggles · esc cancel".into(),
            Tone::Muted,
        ));
        lines
    }

    /// Draws the dialog centred in `area`; returns where typing goes, for the cursor.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) -> Option<(u16, u16)> {
        let mut lines = self.lines();
        if lines.len() as u16 + 4 > area.height {
            // A short terminal (80×24): the spacing goes before any rule or error does.
            lines.retain(|(line, tone)| !line.is_empty() || *tone == Tone::Input);
        }
        let height = lines.len() as u16 + 4;
        let width = WIDTH.min(area.width);
        let inner = frame(area, width, height, "Reset password", buf, theme)?;
        let w = usize::from(inner.width.saturating_sub(2));
        let x = inner.x + 1;
        let mut cursor = None;
        for (y, (line, tone)) in (inner.y..inner.bottom()).zip(&lines) {
            let style = tone.style(theme);
            if *tone == Tone::Input {
                // The password field: its own line, masked unless revealed.
                let s = self.state;
                let field_x = x + 2;
                let room = w.saturating_sub(3);
                let style = theme.dialog.body.patch(theme.command.input);
                buf.set_style(Rect::new(field_x, y, room as u16, 1), style);
                if s.generate {
                    continue;
                }
                let shown = s.password.shown(s.reveal);
                let before: String = shown.chars().take(s.password.cursor()).collect();
                let skip = text::width(&before).saturating_sub(room.saturating_sub(1));
                let visible: String = shown.chars().skip(skip).collect();
                text::put(buf, field_x, y, &visible, room, style);
                if s.focus == Field::Password {
                    cursor = Some((field_x + (text::width(&before) - skip) as u16, y));
                }
                continue;
            }
            text::put(buf, x, y, line, w, style);
        }
        cursor
    }
}

/// How a line of the dialog is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Body,
    Muted,
    Ok,
    Bad,
    /// The password field's line.
    Input,
}

impl Tone {
    fn style(self, theme: &Theme) -> Style {
        let body = theme.dialog.body;
        match self {
            Tone::Body | Tone::Input => body,
            Tone::Muted => body.patch(theme.status.muted),
            Tone::Ok => body.patch(theme.status.ok),
            Tone::Bad => body.patch(theme.status.error),
        }
    }
}

/// The generated password, shown once: the operator reads it to the user and closes the box.
pub struct ShownOnceDialog<'a> {
    pub account: &'a str,
    pub password: &'a str,
}

impl ShownOnceDialog<'_> {
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let lines = [
            format!("Temporary password for {}:", self.account),
            String::new(),
            format!("    {}", self.password),
            String::new(),
            "Give it to the user now: it is not shown again.".to_owned(),
            "enter or esc closes".to_owned(),
        ];
        let width = lines.iter().map(|l| text::width(l)).max().unwrap_or(0) as u16 + 6;
        let Some(inner) = frame(
            area,
            width.max(40),
            lines.len() as u16 + 4,
            "New password",
            buf,
            theme,
        ) else {
            return;
        };
        let w = usize::from(inner.width.saturating_sub(2));
        for (y, (i, line)) in (inner.y..inner.bottom()).zip(lines.iter().enumerate()) {
            let style = match i {
                2 => theme.dialog.body.patch(theme.dialog.title),
                5 => theme.dialog.body.patch(theme.status.muted),
                _ => theme.dialog.body,
            };
            text::put(buf, inner.x + 1, y, line, w, style);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(s: &mut PasswordState, code: KeyCode) -> PasswordOutcome {
        s.handle_key(KeyEvent::from(code))
    }

    #[test]
    fn tab_skips_fields_that_do_not_apply() {
        let mut s = PasswordState::default();
        press(&mut s, KeyCode::Tab);
        assert_eq!(s.focus, Field::Generate);
        press(&mut s, KeyCode::Char(' '));
        assert!(s.generate);
        // Around the form: the password field is skipped while generating, and the code
        // field while the method is call-back.
        let mut seen = Vec::new();
        for _ in 0..6 {
            press(&mut s, KeyCode::Tab);
            seen.push(s.focus);
        }
        assert!(!seen.contains(&Field::Password), "{seen:?}");
        assert!(!seen.contains(&Field::Code), "{seen:?}");
        assert!(seen.contains(&Field::Note), "{seen:?}");
    }

    #[test]
    fn space_is_a_character_in_text_fields_and_a_toggle_elsewhere() {
        let mut s = PasswordState::default();
        press(&mut s, KeyCode::Char('a'));
        press(&mut s, KeyCode::Char(' '));
        assert_eq!(s.password.expose(), "a ");
        assert!(!s.generate && s.must_change);
        s.focus = Field::MustChange;
        press(&mut s, KeyCode::Char(' '));
        assert!(!s.must_change);
        s.focus = Field::Method;
        press(&mut s, KeyCode::Right);
        assert_eq!(s.method, Method::Code);
    }
}
