//! The workflow forms (`N` new request, `:onboard`, `O` offboard): their fields and keys
//! ([`FormState`]) and their drawing ([`WorkflowDialog`]) with the adapter's preview under the
//! fields and, once the operator presses Enter, the confirmation buttons (focus on Cancel).
//!
//! Fields are text lines, choices (space or ←/→ cycle) and checkboxes (space). Tab and the
//! arrows move between them, Enter goes on to the confirmation, Esc cancels. A confirmation
//! can require a text typed first (offboarding: the account name), as k9s does for
//! dangerous sweeps.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::dialog::{CANCEL, CONFIRM, ConfirmFocus, frame};
use super::input_dialog::{InputOutcome, InputState};
use super::text;
use crate::console::theme::Theme;

/// What a field is about; the app reads fields by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldId {
    Type,
    Beneficiary,
    Requester,
    GivenName,
    Surname,
    Account,
    Department,
    Location,
    Ou,
    Groups,
    IncludePooled,
    IncludePersistent,
    IncludeApps,
    Machines,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(InputState),
    /// `(value, label)` pairs and the chosen one.
    Choice {
        options: Vec<(&'static str, &'static str)>,
        chosen: usize,
    },
    Check(bool),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub id: FieldId,
    pub label: &'static str,
    pub value: FieldValue,
}

impl Field {
    pub fn text(id: FieldId, label: &'static str, value: &str) -> Field {
        Field {
            id,
            label,
            value: FieldValue::Text(InputState::new(value)),
        }
    }

    pub fn choice(
        id: FieldId,
        label: &'static str,
        options: Vec<(&'static str, &'static str)>,
    ) -> Field {
        Field {
            id,
            label,
            value: FieldValue::Choice { options, chosen: 0 },
        }
    }

    pub fn check(id: FieldId, label: &'static str, on: bool) -> Field {
        Field {
            id,
            label,
            value: FieldValue::Check(on),
        }
    }
}

/// Where the form is: being filled in, or waiting for the operator's yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    Edit,
    Confirm {
        focus: ConfirmFocus,
        /// What the operator typed towards [`FormState::type_to_confirm`].
        typed: InputState,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormOutcome {
    Pending,
    /// A field's value changed (the preview is out of date).
    Changed(FieldId),
    /// Enter while editing: the app checks and moves on to the confirmation.
    Submitted,
    /// Confirm in the confirmation.
    Confirmed,
    /// Esc while editing.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormState {
    pub fields: Vec<Field>,
    pub focus: usize,
    pub stage: Stage,
    /// Text the operator must type before Confirm works (offboarding's account name).
    pub type_to_confirm: Option<String>,
    /// Why the last Enter was refused.
    pub errors: Vec<String>,
}

impl FormState {
    pub fn new(fields: Vec<Field>, type_to_confirm: Option<String>) -> FormState {
        FormState {
            fields,
            focus: 0,
            stage: Stage::Edit,
            type_to_confirm,
            errors: Vec::new(),
        }
    }

    pub fn get(&self, id: FieldId) -> Option<&FieldValue> {
        self.fields.iter().find(|f| f.id == id).map(|f| &f.value)
    }

    pub fn get_mut(&mut self, id: FieldId) -> Option<&mut FieldValue> {
        self.fields
            .iter_mut()
            .find(|f| f.id == id)
            .map(|f| &mut f.value)
    }

    /// A text field's trimmed text; empty when there is no such field.
    pub fn text(&self, id: FieldId) -> &str {
        match self.get(id) {
            Some(FieldValue::Text(input)) => input.text.trim(),
            _ => "",
        }
    }

    /// A choice's value.
    pub fn choice(&self, id: FieldId) -> Option<&'static str> {
        match self.get(id) {
            Some(FieldValue::Choice { options, chosen }) => options.get(*chosen).map(|o| o.0),
            _ => None,
        }
    }

    pub fn checked(&self, id: FieldId) -> bool {
        matches!(self.get(id), Some(FieldValue::Check(true)))
    }

    /// Replaces a text field's text (a suggestion).
    pub fn set_text(&mut self, id: FieldId, value: &str) {
        if let Some(FieldValue::Text(input)) = self.get_mut(id) {
            *input = InputState::new(value);
        }
    }

    /// Goes to the confirmation, focus on Cancel.
    pub fn ask_confirm(&mut self) {
        self.stage = Stage::Confirm {
            focus: ConfirmFocus::Cancel,
            typed: InputState::default(),
        };
    }

    /// Whether Confirm would be accepted now.
    pub fn can_confirm(&self) -> bool {
        match (&self.stage, &self.type_to_confirm) {
            (Stage::Confirm { .. }, None) => true,
            (Stage::Confirm { typed, .. }, Some(want)) => typed.text.trim() == want,
            (Stage::Edit, _) => false,
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> FormOutcome {
        if key.kind == KeyEventKind::Release {
            return FormOutcome::Pending;
        }
        match self.stage {
            Stage::Edit => self.edit_key(key),
            Stage::Confirm { .. } => self.confirm_key(key),
        }
    }

    fn edit_key(&mut self, key: KeyEvent) -> FormOutcome {
        match key.code {
            KeyCode::Esc => return FormOutcome::Cancelled,
            KeyCode::Enter => return FormOutcome::Submitted,
            KeyCode::Tab | KeyCode::Down => {
                self.focus = (self.focus + 1) % self.fields.len().max(1);
                return FormOutcome::Pending;
            }
            KeyCode::BackTab | KeyCode::Up => {
                let n = self.fields.len().max(1);
                self.focus = (self.focus + n - 1) % n;
                return FormOutcome::Pending;
            }
            _ => {}
        }
        let Some(field) = self.fields.get_mut(self.focus) else {
            return FormOutcome::Pending;
        };
        let id = field.id;
        let changed = match &mut field.value {
            FieldValue::Text(input) => {
                let before = input.text.clone();
                input.handle_key(key);
                input.text != before
            }
            FieldValue::Choice { options, chosen } => {
                let n = options.len().max(1);
                match key.code {
                    KeyCode::Char(' ') | KeyCode::Right => {
                        *chosen = (*chosen + 1) % n;
                        true
                    }
                    KeyCode::Left => {
                        *chosen = (*chosen + n - 1) % n;
                        true
                    }
                    _ => false,
                }
            }
            FieldValue::Check(on) if key.code == KeyCode::Char(' ') => {
                *on = !*on;
                true
            }
            FieldValue::Check(_) => false,
        };
        if changed {
            self.errors.clear();
            FormOutcome::Changed(id)
        } else {
            FormOutcome::Pending
        }
    }

    fn confirm_key(&mut self, key: KeyEvent) -> FormOutcome {
        let typing = self.type_to_confirm.is_some();
        let can = self.can_confirm();
        let Stage::Confirm { focus, typed } = &mut self.stage else {
            return FormOutcome::Pending;
        };
        let other = |f: ConfirmFocus| match f {
            ConfirmFocus::Cancel => ConfirmFocus::Confirm,
            ConfirmFocus::Confirm => ConfirmFocus::Cancel,
        };
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match key.code {
            KeyCode::Esc => self.stage = Stage::Edit,
            KeyCode::Tab | KeyCode::BackTab => *focus = other(*focus),
            KeyCode::Enter => match focus {
                ConfirmFocus::Cancel => self.stage = Stage::Edit,
                ConfirmFocus::Confirm if can => return FormOutcome::Confirmed,
                ConfirmFocus::Confirm => {}
            },
            _ if typing && typed.handle_key(key) != InputOutcome::Pending => {
                self.stage = Stage::Edit;
            }
            _ if typing => {}
            KeyCode::Char('y') if plain => return FormOutcome::Confirmed,
            KeyCode::Char('n') if plain => self.stage = Stage::Edit,
            KeyCode::Left | KeyCode::Right | KeyCode::Char('h') | KeyCode::Char('l') => {
                *focus = other(*focus);
            }
            _ => {}
        }
        FormOutcome::Pending
    }
}

/// How a line of the dialog is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Body,
    Muted,
    Ok,
    Bad,
    Heading,
}

impl Tone {
    fn style(self, theme: &Theme) -> Style {
        let body = theme.dialog.body;
        match self {
            Tone::Body => body,
            Tone::Muted => body.patch(theme.status.muted),
            Tone::Ok => body.patch(theme.status.ok),
            Tone::Bad => body.patch(theme.status.error),
            Tone::Heading => body.patch(theme.dialog.title),
        }
    }
}

/// What the dialog shows: `intro` lines above the fields, the form, and `preview` lines
/// (the route and the steps, or why the adapter refuses) under them.
pub struct WorkflowDialog<'a> {
    pub title: &'a str,
    pub intro: &'a [(String, Tone)],
    pub state: &'a FormState,
    pub preview: &'a [(String, Tone)],
}

/// Where the typing cursor is: a line of the body and a column in it.
type Cursor = (usize, usize);

const WIDTH: u16 = 84;
/// Room for a field's label.
const LABEL: usize = 14;

impl WorkflowDialog<'_> {
    /// The body lines (without the buttons), and the line of the focused text field with the
    /// column its cursor is at. Kept apart from the drawing so tests read what the screen shows.
    pub fn lines(&self) -> (Vec<(String, Tone)>, Option<Cursor>) {
        let s = self.state;
        let mut lines: Vec<(String, Tone)> = self.intro.to_vec();
        if !lines.is_empty() {
            lines.push((String::new(), Tone::Body));
        }
        let mut cursor = None;
        let editing = s.stage == Stage::Edit;
        for (i, field) in s.fields.iter().enumerate() {
            let focused = editing && i == s.focus;
            let mark = if focused { "›" } else { " " };
            let label = format!("{:<LABEL$}", field.label);
            let value = match &field.value {
                FieldValue::Text(input) => {
                    if focused {
                        let before = &input.text[..input.cursor.min(input.text.len())];
                        cursor = Some((lines.len(), 2 + LABEL + 1 + text::width(before)));
                    }
                    input.text.clone()
                }
                FieldValue::Choice { options, chosen } => options
                    .iter()
                    .enumerate()
                    .map(|(k, (_, l))| format!("{} {l}", if k == *chosen { "(•)" } else { "( )" }))
                    .collect::<Vec<_>>()
                    .join("  "),
                FieldValue::Check(on) => (if *on { "[x]" } else { "[ ]" }).to_owned(),
            };
            lines.push((format!("{mark} {label} {value}"), Tone::Body));
        }
        lines.push((String::new(), Tone::Body));
        lines.extend(self.preview.iter().cloned());
        for error in &s.errors {
            lines.push((format!("✗ {error}"), Tone::Bad));
        }
        lines.push((String::new(), Tone::Body));
        match &s.stage {
            Stage::Edit => lines.push((
                "enter confirm · tab next field · space toggles · esc cancel".into(),
                Tone::Muted,
            )),
            Stage::Confirm { typed, .. } => match &s.type_to_confirm {
                Some(want) => {
                    lines.push((format!("Type {want} to confirm:"), Tone::Heading));
                    cursor = Some((lines.len(), 2 + text::width(&typed.text)));
                    lines.push((format!("  {}", typed.text), Tone::Body));
                    lines.push((
                        "tab moves to Confirm, enter activates · esc back to the form".into(),
                        Tone::Muted,
                    ));
                }
                None => lines.push((
                    "y confirms · tab then enter · n or esc back to the form".into(),
                    Tone::Muted,
                )),
            },
        }
        (lines, cursor)
    }

    /// Fits `lines` into `room` on a short terminal (80×24): blank lines go first, then the
    /// routing's details (its first line, the site and rule, stays), then the tail of the
    /// steps, with a note of what is cut. The fields and the confirmation always stay.
    fn shorten(&self, lines: &mut Vec<(String, Tone)>, cursor: &mut Option<Cursor>, room: usize) {
        let cut = |lines: &mut Vec<(String, Tone)>,
                   cursor: &mut Option<Cursor>,
                   from: usize,
                   n: usize,
                   note: Option<String>| {
            lines.splice(from..from + n, note.clone().map(|t| (t, Tone::Muted)));
            let removed = n - usize::from(note.is_some());
            if let Some((line, _)) = cursor
                && *line >= from + n
            {
                *line -= removed;
            }
        };
        // Blank lines, from the bottom up (the cursor's line is never blank).
        let mut i = lines.len();
        while lines.len() > room && i > 0 {
            i -= 1;
            if lines[i].0.is_empty() {
                cut(lines, cursor, i, 1, None);
            }
        }
        let Some(preview_at) = self
            .preview
            .first()
            .and_then(|p| lines.iter().position(|l| l == p))
        else {
            return;
        };
        let mut preview_len = self.preview.len().min(lines.len() - preview_at);
        let heading = lines[preview_at..preview_at + preview_len]
            .iter()
            .position(|(_, t)| *t == Tone::Heading)
            .map(|h| preview_at + h);
        if let Some(heading) = heading
            && lines.len() > room
        {
            let details = heading.saturating_sub(preview_at + 1);
            let n = (lines.len() - room + 1).min(details);
            if n > 1 {
                let note = format!("  … {n} lines of routing cut");
                cut(lines, cursor, heading - n, n, Some(note));
                preview_len -= n - 1;
            }
        }
        if lines.len() > room {
            let n = (lines.len() - room + 1).min(preview_len);
            if n > 0 {
                let note = format!("… {n} more lines (a taller terminal shows them)");
                cut(lines, cursor, preview_at + preview_len - n, n, Some(note));
            }
        }
    }

    /// Draws the dialog centred in `area`; returns where typing goes, for the cursor.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) -> Option<(u16, u16)> {
        let (mut lines, mut cursor) = self.lines();
        let buttons = u16::from(matches!(self.state.stage, Stage::Confirm { .. })) * 2;
        let room = usize::from(area.height.saturating_sub(4 + buttons));
        if lines.len() > room {
            self.shorten(&mut lines, &mut cursor, room);
        }
        let height = lines.len() as u16 + 4 + buttons;
        let width = WIDTH.min(area.width);
        let inner = frame(area, width, height, self.title, buf, theme)?;
        let w = usize::from(inner.width.saturating_sub(2));
        let x = inner.x + 1;
        for (y, (line, tone)) in (inner.y..inner.bottom()).zip(&lines) {
            text::put(buf, x, y, line, w, tone.style(theme));
        }
        if let Stage::Confirm { focus, .. } = &self.state.stage {
            let (cancel, confirm) = match focus {
                ConfirmFocus::Cancel => (theme.dialog.button_focused, theme.dialog.danger),
                ConfirmFocus::Confirm => (theme.dialog.button, theme.dialog.danger_focused),
            };
            let confirm = if self.state.can_confirm() {
                confirm
            } else {
                confirm.patch(theme.status.muted)
            };
            let by = inner.bottom().saturating_sub(1);
            let both = (text::width(CANCEL) + 2 + text::width(CONFIRM)) as u16;
            let bx = inner.x + inner.width.saturating_sub(both) / 2;
            let bx = buf
                .set_stringn(bx, by, CANCEL, usize::from(inner.width), cancel)
                .0;
            let bx = buf.set_stringn(bx, by, "  ", 2, theme.dialog.body).0;
            buf.set_stringn(
                bx,
                by,
                CONFIRM,
                usize::from(inner.right().saturating_sub(bx)),
                confirm,
            );
        }
        let (line, col) = cursor?;
        let y = inner.y + u16::try_from(line).ok()?;
        (y < inner.bottom()).then(|| (x + (col as u16).min(inner.width.saturating_sub(2)), y))
    }
}

#[cfg(test)]
#[path = "tests/workflow_dialog.rs"]
mod tests;
