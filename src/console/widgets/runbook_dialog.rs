//! The runbook parameter form (`:runbooks`, then Enter): one field per parameter, labelled
//! with its name (`*` when required) and its description, its keys ([`RunbookFormState`]),
//! and its drawing ([`RunbookDialog`]) with the confirmation buttons once the operator
//! presses Enter (focus on Cancel, as every other confirmation).
//!
//! Text fields are edited in place; a bool is a checkbox (space). A field with names to
//! offer (sites, delivery groups) shows the first one that fits what is typed after the
//! cursor, dimmed, and → at the end of the text takes it (as fish and zsh suggest).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::dialog::{CANCEL, CONFIRM, ConfirmFocus, frame};
use super::input_dialog::InputState;
use super::text;
use crate::console::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(InputState),
    /// `None`: not given (an optional bool without a default).
    Check(Option<bool>),
}

/// One parameter's field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamField {
    pub name: String,
    pub description: String,
    /// `duration`, `site`… as the runbook declares it.
    pub kind: &'static str,
    pub required: bool,
    /// What the field holds unless changed (`4h`), for the description line.
    pub default: String,
    pub value: FieldValue,
    /// Names the field offers (sites, delivery groups); empty when it offers none.
    pub choices: Vec<String>,
    /// Why the last check refused this field's value.
    pub error: Option<String>,
}

impl ParamField {
    /// The first offered name that starts with what is typed (ignoring case) and is longer.
    pub fn suggestion(&self) -> Option<&str> {
        let FieldValue::Text(input) = &self.value else {
            return None;
        };
        let typed = input.text.to_lowercase();
        self.choices
            .iter()
            .find(|c| c.to_lowercase().starts_with(&typed) && c.len() > input.text.len())
            .map(String::as_str)
    }
}

/// Where the form is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Edit,
    /// Waiting for the operator's yes.
    Confirm(ConfirmFocus),
    /// The run was sent; the adapter's answer is awaited.
    Sending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormOutcome {
    Pending,
    /// Enter while editing: the app checks the fields and moves on to the confirmation.
    Submitted,
    /// Confirm in the confirmation.
    Confirmed,
    /// Esc while editing.
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookFormState {
    pub fields: Vec<ParamField>,
    pub focus: usize,
    pub stage: Stage,
    /// The adapter's refusal, or why the run cannot be sent; cleared by the next edit.
    pub error: Option<String>,
}

impl RunbookFormState {
    pub fn new(fields: Vec<ParamField>) -> RunbookFormState {
        RunbookFormState {
            fields,
            focus: 0,
            stage: Stage::Edit,
            error: None,
        }
    }

    /// Goes to the confirmation, focus on Cancel.
    pub fn ask_confirm(&mut self) {
        self.stage = Stage::Confirm(ConfirmFocus::Cancel);
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> FormOutcome {
        if key.kind == KeyEventKind::Release {
            return FormOutcome::Pending;
        }
        match self.stage {
            Stage::Edit => self.edit_key(key),
            Stage::Confirm(focus) => self.confirm_key(focus, key),
            // The answer is on its way; it decides what happens next.
            Stage::Sending => FormOutcome::Pending,
        }
    }

    fn edit_key(&mut self, key: KeyEvent) -> FormOutcome {
        let n = self.fields.len();
        match key.code {
            KeyCode::Esc => return FormOutcome::Cancelled,
            KeyCode::Enter => return FormOutcome::Submitted,
            KeyCode::Tab | KeyCode::Down => {
                self.focus = (self.focus + 1) % n.max(1);
                return FormOutcome::Pending;
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.focus = (self.focus + n.max(1) - 1) % n.max(1);
                return FormOutcome::Pending;
            }
            _ => {}
        }
        let Some(field) = self.fields.get_mut(self.focus) else {
            return FormOutcome::Pending;
        };
        let suggestion = field.suggestion().map(str::to_owned);
        let optional = !field.required && field.default.is_empty();
        let changed = match &mut field.value {
            FieldValue::Text(input) => {
                let at_end = input.cursor == input.text.len();
                match suggestion {
                    Some(name) if key.code == KeyCode::Right && at_end => {
                        *input = InputState::new(&name);
                        true
                    }
                    _ => {
                        let before = input.text.clone();
                        input.handle_key(key);
                        input.text != before
                    }
                }
            }
            FieldValue::Check(on) if key.code == KeyCode::Char(' ') => {
                // An optional bool without a default can also be left out again.
                *on = match *on {
                    Some(false) => Some(true),
                    Some(true) if optional => None,
                    Some(true) => Some(false),
                    None => Some(false),
                };
                true
            }
            FieldValue::Check(_) => false,
        };
        if changed {
            field.error = None;
            self.error = None;
        }
        FormOutcome::Pending
    }

    fn confirm_key(&mut self, focus: ConfirmFocus, key: KeyEvent) -> FormOutcome {
        let other = match focus {
            ConfirmFocus::Cancel => ConfirmFocus::Confirm,
            ConfirmFocus::Confirm => ConfirmFocus::Cancel,
        };
        let plain = !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match key.code {
            KeyCode::Esc | KeyCode::Char('n') => self.stage = Stage::Edit,
            KeyCode::Char('y') if plain => return FormOutcome::Confirmed,
            KeyCode::Tab
            | KeyCode::BackTab
            | KeyCode::Left
            | KeyCode::Right
            | KeyCode::Char('h')
            | KeyCode::Char('l') => self.stage = Stage::Confirm(other),
            KeyCode::Enter => match focus {
                ConfirmFocus::Cancel => self.stage = Stage::Edit,
                ConfirmFocus::Confirm => return FormOutcome::Confirmed,
            },
            _ => {}
        }
        FormOutcome::Pending
    }
}

/// How a piece of a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Body,
    Muted,
    Bad,
    Heading,
    Input,
}

impl Tone {
    fn style(self, theme: &Theme) -> Style {
        let body = theme.dialog.body;
        match self {
            Tone::Body => body,
            Tone::Muted => body.patch(theme.status.muted),
            Tone::Bad => body.patch(theme.status.error),
            Tone::Heading => body.patch(theme.dialog.title),
            Tone::Input => body.patch(theme.command.input),
        }
    }
}

/// A line of the dialog: pieces drawn one after the other.
pub type Line = Vec<(String, Tone)>;

/// What the dialog shows: `intro` lines (the runbook, the ticket) above the fields, and
/// `question` (what Confirm will run) once the operator pressed Enter.
pub struct RunbookDialog<'a> {
    pub title: &'a str,
    pub intro: &'a [(String, Tone)],
    pub state: &'a RunbookFormState,
    pub question: &'a str,
}

const WIDTH: u16 = 88;

impl RunbookDialog<'_> {
    /// The body lines (without the buttons), the line and column of the cursor of the
    /// focused text field, and the focused field's line (kept in view on a short terminal).
    /// Kept apart from the drawing so tests read what the screen shows.
    pub fn lines(&self) -> (Vec<Line>, Option<(usize, usize)>, Option<usize>) {
        let s = self.state;
        let mut lines: Vec<Line> = self.intro.iter().map(|l| vec![l.clone()]).collect();
        if !lines.is_empty() {
            lines.push(Vec::new());
        }
        let label_w = s
            .fields
            .iter()
            .map(|f| text::width(&f.name) + 2)
            .max()
            .unwrap_or(0)
            .max(10);
        let editing = s.stage == Stage::Edit;
        let mut cursor = None;
        let mut focus_line = None;
        if s.fields.is_empty() {
            lines.push(vec![(
                "This runbook takes no parameters.".into(),
                Tone::Muted,
            )]);
        }
        for (i, field) in s.fields.iter().enumerate() {
            let focused = editing && i == s.focus;
            let mark = if focused { "›" } else { " " };
            let star = if field.required { " *" } else { "" };
            let label = format!("{mark} {:<label_w$} ", format!("{}{star}", field.name));
            let mut line: Line = vec![(label.clone(), Tone::Body)];
            if focused {
                focus_line = Some(lines.len());
            }
            match &field.value {
                FieldValue::Text(input) => {
                    if focused {
                        let before = &input.text[..input.cursor.min(input.text.len())];
                        cursor = Some((lines.len(), text::width(&label) + text::width(before)));
                    }
                    line.push((input.text.clone(), Tone::Input));
                    if focused && let Some(rest) = field.suggestion() {
                        let rest = rest.get(input.text.len()..).unwrap_or_default();
                        line.push((rest.to_owned(), Tone::Muted));
                        line.push(("  → takes it".into(), Tone::Muted));
                    }
                }
                FieldValue::Check(on) => {
                    let (sign, note) = match on {
                        Some(true) => ("[x]", ""),
                        Some(false) => ("[ ]", ""),
                        None => ("[-]", "  not given"),
                    };
                    line.push((sign.to_owned(), Tone::Input));
                    line.push((note.to_owned(), Tone::Muted));
                }
            }
            lines.push(line);
            let mut about = field.kind.to_owned();
            if !field.default.is_empty() {
                about = format!("{about}, default {}", field.default);
            }
            if !field.description.is_empty() {
                about = format!("{about} · {}", field.description);
            }
            let indent = " ".repeat(label_w + 3);
            let room = usize::from(WIDTH - 4).saturating_sub(label_w + 3);
            for piece in text::wrap(&about, room) {
                lines.push(vec![(format!("{indent}{piece}"), Tone::Muted)]);
            }
            if let Some(error) = &field.error {
                lines.push(vec![(
                    format!("{:w$}✗ {error}", "", w = label_w + 3),
                    Tone::Bad,
                )]);
            }
        }
        lines.push(Vec::new());
        if let Some(error) = &s.error {
            lines.push(vec![(format!("✗ {error}"), Tone::Bad)]);
            lines.push(Vec::new());
        }
        match s.stage {
            Stage::Edit => lines.push(vec![(
                "* required · enter run · tab next field · space toggles · → completes · esc cancel"
                    .into(),
                Tone::Muted,
            )]),
            Stage::Confirm(_) => {
                lines.push(vec![(self.question.to_owned(), Tone::Heading)]);
                lines.push(vec![(
                    "y confirms · tab then enter · n or esc back to the form".into(),
                    Tone::Muted,
                )]);
            }
            Stage::Sending => lines.push(vec![("sending the run…".into(), Tone::Muted)]),
        }
        (lines, cursor, focus_line)
    }

    /// Draws the dialog centred in `area`; returns where typing goes, for the cursor.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) -> Option<(u16, u16)> {
        let (lines, cursor, focus_line) = self.lines();
        let buttons = u16::from(matches!(self.state.stage, Stage::Confirm(_))) * 2;
        let height = (lines.len() as u16 + 4 + buttons).min(area.height);
        let width = WIDTH.min(area.width);
        let inner = frame(area, width, height, self.title, buf, theme)?;
        let w = usize::from(inner.width.saturating_sub(2));
        let x0 = inner.x + 1;
        let rows = inner.height.saturating_sub(buttons);
        // A short terminal: the lines around the focused field stay in view.
        let skip = focus_line
            .map(|line| line.saturating_sub(usize::from(rows).saturating_sub(3)))
            .unwrap_or(0);
        for (y, line) in (inner.y..inner.y + rows).zip(lines.iter().skip(skip)) {
            let mut x = x0;
            for (piece, tone) in line {
                let room = w.saturating_sub(usize::from(x - x0));
                x = text::put(buf, x, y, piece, room, tone.style(theme));
            }
        }
        if let Stage::Confirm(focus) = self.state.stage {
            let (cancel, confirm) = match focus {
                ConfirmFocus::Cancel => (theme.dialog.button_focused, theme.dialog.danger),
                ConfirmFocus::Confirm => (theme.dialog.button, theme.dialog.danger_focused),
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
        let y = inner.y + u16::try_from(line.checked_sub(skip)?).ok()?;
        (y < inner.y + rows).then(|| (x0 + (col as u16).min(inner.width.saturating_sub(2)), y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, value: FieldValue, required: bool, default: &str) -> ParamField {
        ParamField {
            name: name.into(),
            description: String::new(),
            kind: "string",
            required,
            default: default.into(),
            value,
            choices: Vec::new(),
            error: None,
        }
    }

    fn press(s: &mut RunbookFormState, code: KeyCode) -> FormOutcome {
        s.handle_key(KeyEvent::from(code))
    }

    #[test]
    fn right_at_the_end_takes_the_offered_name() {
        let mut site = field("site", FieldValue::Text(InputState::new("lo")), true, "");
        site.choices = vec!["Cloud".into(), "London".into()];
        let mut s = RunbookFormState::new(vec![site]);
        assert_eq!(s.fields[0].suggestion(), Some("London"));
        press(&mut s, KeyCode::Right);
        assert_eq!(
            s.fields[0].value,
            FieldValue::Text(InputState::new("London"))
        );
        // Nothing more to offer: → moves the cursor only.
        assert_eq!(s.fields[0].suggestion(), None);
    }

    #[test]
    fn an_optional_bool_without_default_can_be_left_out_again() {
        let mut s = RunbookFormState::new(vec![
            field("force", FieldValue::Check(None), false, ""),
            field("dry", FieldValue::Check(Some(false)), true, ""),
        ]);
        let cycle: Vec<_> = (0..3)
            .map(|_| {
                press(&mut s, KeyCode::Char(' '));
                s.fields[0].value.clone()
            })
            .collect();
        assert_eq!(
            cycle,
            [
                FieldValue::Check(Some(false)),
                FieldValue::Check(Some(true)),
                FieldValue::Check(None)
            ]
        );
        press(&mut s, KeyCode::Tab);
        press(&mut s, KeyCode::Char(' '));
        press(&mut s, KeyCode::Char(' '));
        assert_eq!(s.fields[1].value, FieldValue::Check(Some(false)));
    }

    #[test]
    fn a_short_terminal_keeps_the_focused_field_in_view() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let mut fields: Vec<ParamField> = (0..12)
            .map(|i| {
                field(
                    &format!("p{i}"),
                    FieldValue::Text(InputState::new("")),
                    false,
                    "",
                )
            })
            .collect();
        fields.push(field("last_flag", FieldValue::Check(Some(true)), true, ""));
        let mut state = RunbookFormState::new(fields);
        state.focus = 12;
        let dialog = RunbookDialog {
            title: "Run x",
            intro: &[],
            state: &state,
            question: "",
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 80, 16));
        dialog.render(buf.area, &mut buf, &theme);
        let screen: String = (0..16)
            .map(|y| (0..80).map(|x| buf[(x, y)].symbol()).collect::<String>() + "\n")
            .collect();
        assert!(screen.contains("› last_flag *"), "{screen}");
        assert!(
            !screen.contains(" p0 "),
            "the first fields scrolled away: {screen}"
        );
        Ok(())
    }

    #[test]
    fn the_confirmation_starts_on_cancel_and_sending_ignores_keys() {
        let mut s = RunbookFormState::new(vec![]);
        s.ask_confirm();
        assert_eq!(press(&mut s, KeyCode::Enter), FormOutcome::Pending);
        assert_eq!(s.stage, Stage::Edit);
        s.ask_confirm();
        press(&mut s, KeyCode::Tab);
        assert_eq!(press(&mut s, KeyCode::Enter), FormOutcome::Confirmed);
        s.stage = Stage::Sending;
        assert_eq!(press(&mut s, KeyCode::Esc), FormOutcome::Pending);
    }
}
