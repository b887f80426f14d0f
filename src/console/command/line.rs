//! The console's prompts as key-driven state: [`LineEditor`] (a tui-input line with its own
//! [`History`], used as is by the `/` filter line) and [`CommandLine`] (the `:` line: the
//! editor plus Tab completion and parsing into a [`Command`]).
//!
//! Keys: emacs editing from tui-input (`ctrl-a`/`ctrl-e`, `ctrl-w`, `ctrl-u`, `alt-b`…),
//! `up`/`ctrl-p` and `down`/`ctrl-n` for history, `enter` submits, `esc` or `ctrl-c` cancels,
//! as does `backspace` on an empty line (vim). On the `:` line `tab`/`shift-tab` complete.

use super::Command;
use super::complete::{Completion, Completions, complete};
use super::history::History;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

/// What a key did to a [`LineEditor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// The text changed (refilter now, for `/`).
    Edited,
    /// Nothing or only the cursor changed.
    Unchanged,
    /// Enter, with the text. The line stays as it is until [`LineEditor::accept`] (valid) or
    /// more editing (invalid, shown inline).
    Submitted(String),
    /// The prompt was closed; the text is cleared.
    Cancelled,
}

/// One prompt line: text and cursor (tui-input) and its history.
#[derive(Debug, Clone, Default)]
pub struct LineEditor {
    input: Input,
    history: History,
}

impl LineEditor {
    pub fn new(history: History) -> LineEditor {
        LineEditor {
            input: Input::default(),
            history,
        }
    }

    /// For rendering: `value()`, `visual_cursor()`, `visual_scroll(width)`.
    pub fn input(&self) -> &Input {
        &self.input
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    /// Replaces the text, cursor at the end (opening `/` on the active filter, say).
    pub fn set_value(&mut self, value: impl Into<String>) {
        self.input = Input::new(value.into());
        self.history.reset();
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    /// Empties the line and ends any history walk (when the prompt opens or closes).
    pub fn clear(&mut self) {
        self.input.reset();
        self.history.reset();
    }

    /// After a valid submit: remembers the line and clears it.
    pub fn accept(&mut self) {
        self.history.push(self.input.value());
        self.clear();
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> LineEvent {
        if key.kind == KeyEventKind::Release {
            return LineEvent::Unchanged;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Enter => return LineEvent::Submitted(self.input.value().to_string()),
            KeyCode::Esc => return self.cancel(),
            KeyCode::Char('c') if ctrl => return self.cancel(),
            KeyCode::Backspace if self.input.value().is_empty() => return self.cancel(),
            KeyCode::Up => return self.recall(true),
            KeyCode::Char('p') if ctrl => return self.recall(true),
            KeyCode::Down => return self.recall(false),
            KeyCode::Char('n') if ctrl => return self.recall(false),
            _ => {}
        }
        match self.input.handle_event(&Event::Key(key)) {
            Some(changed) if changed.value => {
                self.history.reset();
                LineEvent::Edited
            }
            _ => LineEvent::Unchanged,
        }
    }

    fn cancel(&mut self) -> LineEvent {
        self.clear();
        LineEvent::Cancelled
    }

    fn recall(&mut self, older: bool) -> LineEvent {
        let line = if older {
            self.history.older(self.input.value())
        } else {
            self.history.newer()
        };
        match line {
            Some(line) if line != self.input.value() => {
                self.input = Input::new(line);
                LineEvent::Edited
            }
            _ => LineEvent::Unchanged,
        }
    }

    /// Puts `text` in place of the bytes `start..cursor`, cursor after it.
    fn replace_before_cursor(&mut self, start: usize, text: &str) {
        let value = self.input.value();
        let cursor = byte_of_char(value, self.input.cursor());
        let mut line = String::with_capacity(value.len() + text.len());
        line.push_str(&value[..start.min(cursor)]);
        line.push_str(text);
        let cursor_chars = line.chars().count();
        line.push_str(&value[cursor..]);
        self.input = Input::new(line).with_cursor(cursor_chars);
    }

    /// The text before the cursor.
    fn before_cursor(&self) -> &str {
        let value = self.input.value();
        &value[..byte_of_char(value, self.input.cursor())]
    }
}

fn byte_of_char(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(at, _)| at)
}

/// What a key did on the `:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Still typing (or completing); redraw.
    Pending,
    /// A valid command; the line is cleared and remembered. Close the prompt.
    Submitted(Command),
    /// Closed without a command.
    Cancelled,
    /// Enter on a line that is not a command: show this under the line, which stays open.
    Invalid(String),
}

/// The list Tab is cycling through, for a wildmenu-style row above the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionMenu {
    pub candidates: Vec<String>,
    /// The candidate in the line, once Tab has started cycling.
    pub selected: Option<usize>,
    start: usize,
}

/// The `:` prompt.
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    editor: LineEditor,
    menu: Option<CompletionMenu>,
    error: Option<String>,
}

impl CommandLine {
    pub fn new(history: History) -> CommandLine {
        CommandLine {
            editor: LineEditor::new(history),
            menu: None,
            error: None,
        }
    }

    pub fn editor(&self) -> &LineEditor {
        &self.editor
    }

    pub fn input(&self) -> &Input {
        self.editor.input()
    }

    pub fn value(&self) -> &str {
        self.editor.value()
    }

    pub fn history(&self) -> &History {
        self.editor.history()
    }

    /// The candidates being completed, if Tab was pressed since the last edit.
    pub fn completion(&self) -> Option<&CompletionMenu> {
        self.menu.as_ref()
    }

    /// Why the last Enter was refused; cleared by the next edit.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// A fresh line, as `:` opens the prompt.
    pub fn open(&mut self) {
        self.editor.clear();
        self.menu = None;
        self.error = None;
    }

    pub fn handle_key(&mut self, key: KeyEvent, source: &Completions) -> Outcome {
        if key.kind == KeyEventKind::Release {
            return Outcome::Pending;
        }
        match key.code {
            KeyCode::Tab => return self.tab(true, source),
            KeyCode::BackTab => return self.tab(false, source),
            _ => {}
        }
        let event = self.editor.handle_key(key);
        if event != LineEvent::Unchanged {
            self.menu = None;
        }
        match event {
            LineEvent::Unchanged => Outcome::Pending,
            LineEvent::Edited => {
                self.error = None;
                Outcome::Pending
            }
            LineEvent::Cancelled => {
                self.open();
                Outcome::Cancelled
            }
            LineEvent::Submitted(line) if line.trim().is_empty() => {
                self.open();
                Outcome::Cancelled
            }
            LineEvent::Submitted(line) => match Command::parse(&line, source) {
                Ok(command) => {
                    self.editor.accept();
                    self.error = None;
                    Outcome::Submitted(command)
                }
                Err(e) => {
                    let message = e.to_string();
                    self.error = Some(message.clone());
                    Outcome::Invalid(message)
                }
            },
        }
    }

    /// First Tab: the one candidate, else the candidates' common start if that adds
    /// something, else the first candidate. Further Tabs cycle; shift-Tab cycles backwards.
    fn tab(&mut self, forward: bool, source: &Completions) -> Outcome {
        if let Some(menu) = &mut self.menu {
            let n = menu.candidates.len();
            let next = match (menu.selected, forward) {
                (None, true) => 0,
                (None, false) => n - 1,
                (Some(i), true) => (i + 1) % n,
                (Some(i), false) => (i + n - 1) % n,
            };
            menu.selected = Some(next);
            let (start, text) = (menu.start, menu.candidates[next].clone());
            self.editor.replace_before_cursor(start, &text);
            return Outcome::Pending;
        }
        let Completion {
            start,
            candidates,
            common,
            wants_argument,
        } = complete(self.editor.before_cursor(), source);
        match candidates.len() {
            0 => {}
            1 => {
                let mut text = candidates[0].clone();
                if wants_argument {
                    text.push(' ');
                }
                self.editor.replace_before_cursor(start, &text);
            }
            _ => {
                let typed = self.editor.before_cursor()[start..].chars().count();
                let mut menu = CompletionMenu {
                    candidates,
                    selected: None,
                    start,
                };
                if common.chars().count() > typed {
                    self.editor.replace_before_cursor(start, &common);
                } else {
                    let first = if forward {
                        0
                    } else {
                        menu.candidates.len() - 1
                    };
                    menu.selected = Some(first);
                    self.editor
                        .replace_before_cursor(start, &menu.candidates[first]);
                }
                self.menu = Some(menu);
            }
        }
        Outcome::Pending
    }
}
