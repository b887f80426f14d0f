//! Reads one theme file: TOML text into the slots it sets and the theme it inherits from,
//! with every problem reported as `FILE:LINE:COL: key SLOT: message`.

use super::SLOTS;
use crate::config::{ConfigErrors, Diagnostic};
use ratatui::style::{Color, Modifier, Style};
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// What one file says: the theme it names in `inherits`, and a style per slot it sets.
#[derive(Debug)]
pub(super) struct ThemeFile {
    /// The `inherits` value and its line and column (for errors about it).
    pub inherits: Option<(String, (usize, usize))>,
    /// Slot index (into [`SLOTS`]) and its style, for every slot the file sets.
    pub styles: Vec<(usize, Style)>,
}

/// Modifier keys a style table accepts, in the order error messages list them.
const MODIFIERS: &[(&str, Modifier)] = &[
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
    ("crossed_out", Modifier::CROSSED_OUT),
];

const COLOUR_NAMES: &[(&str, Color)] = &[
    ("reset", Color::Reset),
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("dark_gray", Color::DarkGray),
    ("light_red", Color::LightRed),
    ("light_green", Color::LightGreen),
    ("light_yellow", Color::LightYellow),
    ("light_blue", Color::LightBlue),
    ("light_magenta", Color::LightMagenta),
    ("light_cyan", Color::LightCyan),
    ("white", Color::White),
];

const STYLE_SHAPE: &str = "a slot takes a colour such as \"cyan\", or a table such as \
                           { fg = \"black\", bg = \"cyan\", bold = true }";

/// Problems found so far in one file, as (byte span, key path, message).
struct Problems {
    found: Vec<(Range<usize>, String, String)>,
}

impl Problems {
    fn add(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        self.found.push((span, key.to_string(), message.into()));
    }
}

/// Parses `text`, the theme file named `file` in messages. Every problem in the file is
/// reported at once, in file order.
pub(super) fn parse(file: &str, text: &str) -> Result<ThemeFile, ConfigErrors> {
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = format!("not valid TOML: {}", e.message().trim_end());
            return Err(ConfigErrors(vec![diagnostic(
                file, text, &span, None, message,
            )]));
        }
    };
    let mut problems = Problems { found: Vec::new() };
    let mut theme = ThemeFile {
        inherits: None,
        styles: Vec::new(),
    };
    for (key, value) in root.get_ref().iter() {
        let name = key.get_ref().as_ref();
        match (name, value.get_ref()) {
            ("inherits", DeValue::String(parent)) => {
                let at = position(text, value.span().start);
                theme.inherits = Some((parent.to_string(), at));
            }
            ("inherits", _) => problems.add(
                value.span(),
                name,
                "inherits takes the name of another theme, such as \"default\"",
            ),
            ("name", _) => problems.add(
                key.span(),
                name,
                "a theme is named by its file name; remove this key",
            ),
            (_, value_ref) => match SLOTS.iter().position(|(section, _)| *section == name) {
                None => problems.add(
                    key.span(),
                    name,
                    format!(
                        "unknown section; a theme has inherits and the sections {}",
                        section_names().join(", ")
                    ),
                ),
                Some(_) => match value_ref {
                    DeValue::Table(slots) => {
                        read_section(name, slots, &mut theme.styles, &mut problems)
                    }
                    _ => problems.add(
                        value.span(),
                        name,
                        format!("{name} is a section: write [{name}] and its slots below it"),
                    ),
                },
            },
        }
    }
    if problems.found.is_empty() {
        return Ok(theme);
    }
    problems.found.sort_by_key(|(span, _, _)| span.start);
    Err(ConfigErrors(
        problems
            .found
            .into_iter()
            .map(|(span, key, message)| diagnostic(file, text, &span, Some(key), message))
            .collect(),
    ))
}

fn read_section(
    section: &str,
    slots: &DeTable<'_>,
    styles: &mut Vec<(usize, Style)>,
    problems: &mut Problems,
) {
    for (key, value) in slots.iter() {
        let slot = key.get_ref().as_ref();
        let path = format!("{section}.{slot}");
        if slot == "inherits" {
            let message = format!(
                "inherits goes at the top of the file, above [{section}] and every other section"
            );
            problems.add(key.span(), &path, message);
            continue;
        }
        let Some(index) = SLOTS.iter().position(|&(s, n)| s == section && n == slot) else {
            let known: Vec<&str> = SLOTS
                .iter()
                .filter(|(s, _)| *s == section)
                .map(|(_, n)| *n)
                .collect();
            problems.add(
                key.span(),
                &path,
                format!("unknown slot; [{section}] has {}", known.join(", ")),
            );
            continue;
        };
        if let Some(style) = read_style(&path, value, problems) {
            styles.push((index, style));
        }
    }
}

/// One slot's style, or `None` after reporting what is wrong with it.
fn read_style(path: &str, value: &Spanned<DeValue<'_>>, problems: &mut Problems) -> Option<Style> {
    match value.get_ref() {
        DeValue::String(text) => match parse_colour(text) {
            Ok(colour) => Some(Style::new().fg(colour)),
            Err(message) => {
                problems.add(value.span(), path, message);
                None
            }
        },
        DeValue::Table(table) => {
            let before = problems.found.len();
            let mut style = Style::new();
            for (key, item) in table.iter() {
                let name = key.get_ref().as_ref();
                let item_path = format!("{path}.{name}");
                match (name, item.get_ref()) {
                    ("fg" | "bg", DeValue::String(text)) => match parse_colour(text) {
                        Ok(colour) if name == "fg" => style = style.fg(colour),
                        Ok(colour) => style = style.bg(colour),
                        Err(message) => problems.add(item.span(), &item_path, message),
                    },
                    ("fg" | "bg", _) => problems.add(
                        item.span(),
                        &item_path,
                        "a colour is a string: a name, \"#rrggbb\", \"0\"–\"255\" or \"reset\"",
                    ),
                    _ => match MODIFIERS.iter().find(|(m, _)| *m == name) {
                        Some(&(_, modifier)) => match item.get_ref().as_bool() {
                            Some(true) => style = style.add_modifier(modifier),
                            Some(false) => {}
                            None => problems.add(
                                item.span(),
                                &item_path,
                                format!("{name} takes true or false"),
                            ),
                        },
                        None => problems.add(
                            key.span(),
                            &item_path,
                            format!(
                                "unknown modifier {name:?}; a style takes fg, bg and the \
                                 modifiers {}",
                                modifier_names().join(", ")
                            ),
                        ),
                    },
                }
            }
            (problems.found.len() == before).then_some(style)
        }
        _ => {
            problems.add(value.span(), path, STYLE_SHAPE);
            None
        }
    }
}

/// A colour as written in a theme: a name, `#rrggbb`, a 256-colour index, or `reset`.
pub(super) fn parse_colour(text: &str) -> Result<Color, String> {
    if let Some(&(_, colour)) = COLOUR_NAMES.iter().find(|(name, _)| *name == text) {
        return Ok(colour);
    }
    if let Some(hex) = text.strip_prefix('#') {
        let digits_ok = hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit());
        let channel = |i: usize| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        };
        return match (digits_ok, channel(0), channel(2), channel(4)) {
            (true, Some(r), Some(g), Some(b)) => Ok(Color::Rgb(r, g, b)),
            _ => Err(format!(
                "bad colour {text:?}: a hex colour is # and six hex digits, such as \"#1e90ff\""
            )),
        };
    }
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return text
            .parse::<u8>()
            .map(Color::Indexed)
            .map_err(|_| format!("bad colour {text:?}: a 256-colour palette index is 0 to 255"));
    }
    let names: Vec<&str> = COLOUR_NAMES.iter().map(|(name, _)| *name).collect();
    Err(format!(
        "unknown colour {text:?}; use one of {}, \"#rrggbb\", or a palette index \"0\"–\"255\"",
        names.join(", ")
    ))
}

fn section_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = SLOTS.iter().map(|(section, _)| *section).collect();
    names.dedup();
    names
}

fn modifier_names() -> Vec<&'static str> {
    MODIFIERS.iter().map(|(name, _)| *name).collect()
}

/// A diagnostic at byte `span` of `text`, with a 1-based line and column (in characters).
fn diagnostic(
    file: &str,
    text: &str,
    span: &Range<usize>,
    key: Option<String>,
    message: String,
) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        position: Some(position(text, span.start)),
        key,
        message,
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_by_name_hex_index_and_reset() {
        assert_eq!(parse_colour("dark_gray"), Ok(Color::DarkGray));
        assert_eq!(parse_colour("#1E90ff"), Ok(Color::Rgb(0x1e, 0x90, 0xff)));
        assert_eq!(parse_colour("208"), Ok(Color::Indexed(208)));
        assert_eq!(parse_colour("reset"), Ok(Color::Reset));
        for bad in ["#12345", "#12345g", "256", "", "Cyan", "darkgrey"] {
            assert!(parse_colour(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "[table]\nsélected = \"x\"\n";
        let at = text.find("\"x\"").unwrap_or(0);
        assert_eq!(position(text, at), (2, 12));
        assert_eq!(position(text, 0), (1, 1));
    }
}
