//! A one-line input for a secret (a new password, a security code): masked unless revealed,
//! never printed by `Debug`, and overwritten in place when it is wiped or dropped, so the
//! typed text does not linger in the console's memory after the dialog closes.
//!
//! Not `tui-input`: its buffer is replaced rather than overwritten on reset, and it derives
//! `Debug` with the value.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::secret::Secret;

/// The mask shown for each character.
pub const MASK: char = '•';

/// The text typed and the cursor, in characters.
#[derive(Default)]
pub struct SecretInput {
    text: String,
    cursor: usize,
}

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretInput(*** {} chars)", self.len())
    }
}

impl SecretInput {
    /// Characters typed.
    pub fn len(&self) -> usize {
        self.text.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The cursor, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The text itself: for the policy check and for the wire only.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// What the field shows: one [`MASK`] per character, or the text when revealed.
    pub fn shown(&self, reveal: bool) -> String {
        if reveal {
            self.text.clone()
        } else {
            std::iter::repeat_n(MASK, self.len()).collect()
        }
    }

    /// A copy for the wire, as a [`Secret`].
    pub fn secret(&self) -> Secret {
        Secret::new(self.text.as_str())
    }

    /// The text as a [`Secret`], leaving the field empty and its buffer overwritten.
    pub fn take(&mut self) -> Secret {
        let secret = self.secret();
        self.wipe();
        secret
    }

    /// Overwrites the buffer with zeros in place, then empties it.
    pub fn wipe(&mut self) {
        let len = self.text.len();
        // `clear` keeps the allocation; pushing `len` zero bytes writes over the same
        // memory (no reallocation: the capacity is at least `len`).
        self.text.clear();
        self.text.extend(std::iter::repeat_n('\0', len));
        std::hint::black_box(&self.text);
        self.text.clear();
        self.cursor = 0;
    }

    /// The byte offset of the character cursor.
    fn at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    /// Editing keys: characters insert (space too), Backspace/Delete remove, Left/Right/
    /// Home/End move, ctrl-u clears. Answers whether the key was an editing key.
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => self.wipe(),
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                // Growing may move the text: wipe the old buffer rather than leave a copy.
                if self.text.len() + c.len_utf8() > self.text.capacity() {
                    let mut grown = String::with_capacity((self.text.capacity() * 2).max(32));
                    grown.push_str(&self.text);
                    let cursor = self.cursor;
                    self.wipe();
                    self.text = grown;
                    self.cursor = cursor;
                }
                let at = self.at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.at(self.cursor - 1);
                self.text.remove(at);
                self.cursor -= 1;
            }
            KeyCode::Delete if self.cursor < self.len() => {
                let at = self.at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.len(),
            KeyCode::Backspace | KeyCode::Delete => {}
            _ => return false,
        }
        true
    }
}

impl Drop for SecretInput {
    fn drop(&mut self) {
        self.wipe();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> SecretInput {
        let mut s = SecretInput::default();
        for c in text.chars() {
            s.handle_key(&KeyEvent::from(KeyCode::Char(c)));
        }
        s
    }

    #[test]
    fn typing_is_masked_and_debug_never_shows_it() {
        let mut s = typed("Pa ss wörd 1!");
        assert_eq!(s.expose(), "Pa ss wörd 1!");
        assert_eq!(s.shown(false), "•".repeat(13));
        assert_eq!(s.shown(true), "Pa ss wörd 1!");
        assert!(!format!("{s:?}").contains("Pa"));
        s.handle_key(&KeyEvent::from(KeyCode::Home));
        s.handle_key(&KeyEvent::from(KeyCode::Delete));
        s.handle_key(&KeyEvent::from(KeyCode::End));
        s.handle_key(&KeyEvent::from(KeyCode::Backspace));
        assert_eq!(s.expose(), "a ss wörd 1");
    }

    #[test]
    fn take_and_wipe_leave_nothing() {
        let mut s = typed("Secret-42");
        let secret = s.take();
        assert_eq!(secret.expose(), "Secret-42");
        assert!(s.is_empty() && s.cursor() == 0);
        let mut s = typed("again");
        s.wipe();
        assert_eq!(s.expose(), "");
    }
}
