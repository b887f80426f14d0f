//! One key with its modifiers, as written in the config (`j`, `G`, `ctrl-d`, `shift-tab`,
//! `pgup`, `f5`, `space`) and as crossterm reports it, reduced to one normal form so that a
//! binding written either way matches the terminal's event.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::fmt;
use std::str::FromStr;

/// A key and the modifiers that matter for bindings (ctrl, alt, shift).
///
/// Normal form: for a character key the character itself carries shift (`G`, `?`, `@`), so
/// `SHIFT` is never set on `Char`; `shift-tab` is `BackTab` without `SHIFT`. Terminals disagree
/// on whether they add `SHIFT` to `G` or `?` (legacy unix input adds it to capitals only,
/// Windows and the kitty protocol to every shifted key, some send `g` + `SHIFT`), and this
/// form makes all of them look alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    mods: KeyModifiers,
}

const NAMED: &[(&str, KeyCode)] = &[
    ("esc", KeyCode::Esc),
    ("enter", KeyCode::Enter),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pgup", KeyCode::PageUp),
    ("pgdn", KeyCode::PageDown),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
];

/// Other spellings people write; formatting always uses the names in [`NAMED`].
const ALIASES: &[(&str, KeyCode)] = &[
    ("escape", KeyCode::Esc),
    ("return", KeyCode::Enter),
    ("del", KeyCode::Delete),
    ("ins", KeyCode::Insert),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("pgdown", KeyCode::PageDown),
];

impl Key {
    /// A key with no modifier. `Key::new(KeyCode::Char('G'))` is shift-g.
    pub const fn new(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    /// A character key, e.g. `Key::char('G')`.
    pub const fn char(c: char) -> Key {
        Key::new(KeyCode::Char(c))
    }

    /// Control plus a character, e.g. `Key::ctrl('d')`.
    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    pub fn code(self) -> KeyCode {
        self.code
    }

    pub fn modifiers(self) -> KeyModifiers {
        self.mods
    }

    /// Builds the normal form from any code and modifiers (see [`Key`]).
    pub fn normalized(code: KeyCode, mods: KeyModifiers) -> Key {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Char(c) => {
                let c = if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c
                };
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c)
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    /// The key of a terminal event; `None` for key releases, which never trigger bindings.
    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        (event.kind != KeyEventKind::Release).then(|| Key::normalized(event.code, event.modifiers))
    }
}

impl From<KeyEvent> for Key {
    fn from(event: KeyEvent) -> Key {
        Key::normalized(event.code, event.modifiers)
    }
}

/// Why a key string could not be read; the message names the string and shows how to write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyParseError(pub String);

impl fmt::Display for KeyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyParseError {}

const HOW_TO_WRITE: &str = "write one key, such as \"j\", \"G\", \"ctrl-d\", \"shift-tab\", \
                            \"esc\", \"enter\", \"space\", \"pgup\", \"f5\" or \"?\"";

impl FromStr for Key {
    type Err = KeyParseError;

    fn from_str(text: &str) -> Result<Key, KeyParseError> {
        let err = |why: &str| KeyParseError(format!("{text:?} is not a key: {why}"));
        if text.is_empty() {
            return Err(err(&format!("it is empty; {HOW_TO_WRITE}")));
        }
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        // A modifier is only a prefix when a key follows it, so "-" and "ctrl--" read as the
        // minus key.
        while let Some((head, tail)) = rest.split_once('-') {
            if tail.is_empty() {
                break;
            }
            let m = match head.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => KeyModifiers::CONTROL,
                "alt" | "meta" => KeyModifiers::ALT,
                "shift" => KeyModifiers::SHIFT,
                _ => break,
            };
            if mods.contains(m) {
                return Err(err("a modifier is written twice"));
            }
            mods |= m;
            rest = tail;
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if c.is_control() {
                    return Err(err(&format!(
                        "control characters are written by name; {HOW_TO_WRITE}"
                    )));
                }
                if mods.contains(KeyModifiers::SHIFT) && !c.is_ascii_alphabetic() {
                    // Which character shift-1 types depends on the keyboard layout (`!` on
                    // US, `!` or `"` elsewhere), and terminals report that character.
                    return Err(err(&format!(
                        "shift only combines with letters and named keys; write the character \
                         the shifted key types instead (e.g. \"!\" or \"?\"), or {}",
                        "\"shift-tab\""
                    )));
                }
                KeyCode::Char(c)
            }
            _ => {
                let lower = rest.to_ascii_lowercase();
                if let Some(n) = lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    if !(1..=24).contains(&n) {
                        return Err(err("function keys go from f1 to f24"));
                    }
                    KeyCode::F(n)
                } else if let Some((_, code)) =
                    NAMED.iter().chain(ALIASES).find(|(name, _)| *name == lower)
                {
                    *code
                } else {
                    return Err(err(&format!(
                        "unknown key name {rest:?} (sequences such as \"gg\" are not \
                         supported); {HOW_TO_WRITE}"
                    )));
                }
            }
        };
        Ok(Key::normalized(code, mods))
    }
}

impl fmt::Display for Key {
    /// The canonical notation, which parses back to the same key: `ctrl-alt-x`, `G`,
    /// `ctrl-shift-d`, `shift-tab`, `shift-up`, `space`, `f5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::BackTab => f.write_str("shift-tab"),
            // With ctrl or alt a capital is easy to misread as the plain letter.
            KeyCode::Char(c) if c.is_ascii_uppercase() && !self.mods.is_empty() => {
                write!(f, "shift-{}", c.to_ascii_lowercase())
            }
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::F(n) => write!(f, "f{n}"),
            code => match NAMED.iter().find(|(_, k)| *k == code) {
                Some((name, _)) => f.write_str(name),
                // Keys no binding can be written for (caps lock, media keys) still print.
                None => write!(f, "{code:?}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Key {
        match text.parse() {
            Ok(k) => k,
            Err(e) => panic!("{e}"),
        }
    }

    fn event(code: KeyCode, mods: KeyModifiers) -> Key {
        Key::from(KeyEvent::new(code, mods))
    }

    #[test]
    fn notation_round_trips() {
        for text in [
            "j",
            "G",
            "ctrl-d",
            "shift-tab",
            "esc",
            "enter",
            "space",
            "pgup",
            "pgdn",
            "f5",
            "?",
            "@",
            ":",
            "/",
            "-",
            "<",
            ">",
            "ctrl--",
            "alt-x",
            "ctrl-shift-d",
            "shift-up",
            "ctrl-alt-delete",
            "home",
            "end",
            "backspace",
            "f12",
            "ctrl-space",
        ] {
            assert_eq!(key(text).to_string(), text, "{text}");
        }
    }

    #[test]
    fn other_spellings_read_as_the_same_key() {
        assert_eq!(key("shift-g"), key("G"));
        assert_eq!(key("Shift-G"), key("G"));
        assert_eq!(key("CTRL-d"), key("ctrl-d"));
        assert_eq!(key("ctrl-D"), key("ctrl-shift-d"));
        assert_eq!(key("backtab"), key("shift-tab"));
        assert_eq!(key("Escape"), key("esc"));
        assert_eq!(key("PageDown"), key("pgdn"));
        assert_eq!(key(" "), key("space"));
    }

    #[test]
    fn shifted_letters_match_however_the_terminal_reports_them() {
        let g = key("G");
        assert_eq!(event(KeyCode::Char('G'), KeyModifiers::SHIFT), g);
        assert_eq!(event(KeyCode::Char('G'), KeyModifiers::NONE), g);
        assert_eq!(event(KeyCode::Char('g'), KeyModifiers::SHIFT), g);
        assert_ne!(event(KeyCode::Char('g'), KeyModifiers::NONE), g);
        // Symbols typed with shift match with or without the SHIFT flag.
        assert_eq!(event(KeyCode::Char('?'), KeyModifiers::SHIFT), key("?"));
        assert_eq!(event(KeyCode::Char('@'), KeyModifiers::NONE), key("@"));
        assert_eq!(
            event(KeyCode::BackTab, KeyModifiers::SHIFT),
            key("shift-tab")
        );
        assert_eq!(event(KeyCode::Tab, KeyModifiers::SHIFT), key("shift-tab"));
        assert_eq!(
            event(KeyCode::Char('d'), KeyModifiers::CONTROL),
            key("ctrl-d")
        );
        assert_ne!(
            event(
                KeyCode::Char('D'),
                KeyModifiers::CONTROL | KeyModifiers::SHIFT
            ),
            key("ctrl-d")
        );
    }

    #[test]
    fn releases_trigger_nothing() {
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(Key::from_event(&release), None);
        release.kind = KeyEventKind::Repeat;
        assert_eq!(Key::from_event(&release), Some(key("q")));
    }

    #[test]
    fn bad_keys_say_how_to_write_one() {
        for (text, says) in [
            ("", "empty"),
            ("gg", "sequences"),
            ("ctrl-", "unknown key name"),
            ("hyper-x", "unknown key name"),
            ("shift-1", "write the character"),
            ("ctrl-ctrl-x", "twice"),
            ("f25", "f1 to f24"),
            ("\t", "by name"),
        ] {
            let e = text.parse::<Key>().expect_err(text);
            assert!(e.0.contains(says), "{text}: {e}");
        }
    }
}
