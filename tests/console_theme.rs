//! Console themes: the built-in themes are complete and readable, `mono` has no colour, user
//! files override and inherit, bad files are reported with file, line and slot, and
//! `NO_COLOR` picks `mono`.

use deskbridge::console::theme::{self, ChoiceReason, Theme, ThemeError};
use ratatui::style::{Color, Modifier, Style};
use std::path::{Path, PathBuf};

const BUILT_IN: [&str; 4] = ["default", "light", "high-contrast", "mono"];
const COLOURED: [&str; 3] = ["default", "light", "high-contrast"];

/// A config dir removed on drop.
struct ConfigDir(PathBuf);

impl ConfigDir {
    fn new() -> ConfigDir {
        let dir = std::env::temp_dir().join(format!("deskbridge-theme-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("themes")).expect("create temp config dir");
        ConfigDir(dir)
    }

    fn with(self, name: &str, text: &str) -> ConfigDir {
        std::fs::write(self.0.join("themes").join(name), text).expect("write theme file");
        self
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn file(&self, name: &str) -> String {
        self.0.join("themes").join(name).display().to_string()
    }
}

impl Drop for ConfigDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load(name: &str) -> Theme {
    Theme::load(name, None).unwrap_or_else(|e| panic!("theme {name}: {e}"))
}

fn load_error(name: &str, dir: &ConfigDir) -> String {
    match Theme::load(name, Some(dir.path())) {
        Ok(_) => panic!("theme {name} loaded, expected an error"),
        Err(e) => e.to_string(),
    }
}

fn has_colour(c: Option<Color>) -> bool {
    matches!(c, Some(c) if c != Color::Reset)
}

#[test]
fn every_built_in_theme_loads_and_every_coloured_one_styles_every_slot() {
    let slot_count = load("default").slots().count();
    assert!(slot_count >= 60, "only {slot_count} slots");
    for name in BUILT_IN {
        let theme = load(name);
        assert_eq!(theme.name, name);
        assert_eq!(theme.slots().count(), slot_count, "{name}");
    }
    // A slot left as `{}` in a coloured theme would draw as plain text: surely a mistake.
    for name in COLOURED {
        for (slot, style) in load(name).slots() {
            assert_ne!(style, Style::new(), "{name}: {slot} is plain");
        }
    }
}

#[test]
fn built_in_themes_set_every_slot_themselves_and_inherit_nothing_from_default() {
    // A user default that paints every slot an odd colour: no other built-in may show it.
    let marker = "#010203";
    let mut text = String::new();
    let mut section = String::new();
    for (slot, _) in load("default").slots() {
        let (s, key) = slot.split_once('.').expect("slot names are section.slot");
        if s != section {
            text.push_str(&format!("[{s}]\n"));
            section = s.to_string();
        }
        text.push_str(&format!(
            "{key} = {{ fg = \"{marker}\", bg = \"{marker}\" }}\n"
        ));
    }
    let dir = ConfigDir::new().with("default.toml", &text);
    let odd = Some(Color::Rgb(1, 2, 3));
    let user_default = Theme::load("default", Some(dir.path())).expect("user default loads");
    assert!(user_default.slots().all(|(_, s)| s.fg == odd));
    for name in ["light", "high-contrast", "mono"] {
        let theme = Theme::load(name, Some(dir.path())).expect("built-in loads");
        for (slot, style) in theme.slots() {
            assert!(
                style.fg != odd && style.bg != odd,
                "{name}: {slot} inherited"
            );
        }
    }
}

#[test]
fn mono_has_no_colour_at_all_and_the_others_do() {
    let mono = load("mono");
    for (slot, style) in mono.slots() {
        assert!(
            !has_colour(style.fg) && !has_colour(style.bg),
            "mono {slot} has a colour: {style:?}"
        );
    }
    assert!(!mono.uses_colour());
    for name in COLOURED {
        assert!(load(name).uses_colour(), "{name}");
    }
}

#[test]
fn states_the_operator_must_tell_apart_look_different_in_every_theme() {
    let pairs = [
        ("table.selected", "table.marked"),
        ("table.selected", "table.selected_marked"),
        ("table.marked", "table.selected_marked"),
        ("table.selected", "table.selected_inactive"),
        ("dialog.button", "dialog.button_focused"),
        ("dialog.danger", "dialog.danger_focused"),
        ("dialog.button_focused", "dialog.danger_focused"),
        ("header.connected", "header.disconnected"),
        ("status.ok", "status.warn"),
        ("status.warn", "status.error"),
        ("health.healthy", "health.down"),
        ("flash.info", "flash.error"),
        ("breadcrumbs.item", "breadcrumbs.current"),
        ("priority.critical", "priority.moderate"),
    ];
    for name in BUILT_IN {
        let theme = load(name);
        for (a, b) in pairs {
            assert_ne!(theme.get(a), theme.get(b), "{name}: {a} looks like {b}");
        }
    }
}

/// Approximate sRGB of a colour, with xterm's default palette for the 16 named colours.
fn rgb(colour: Color) -> Option<(u8, u8, u8)> {
    const ANSI: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (205, 0, 0),
        (0, 205, 0),
        (205, 205, 0),
        (0, 0, 238),
        (205, 0, 205),
        (0, 205, 205),
        (229, 229, 229),
        (127, 127, 127),
        (255, 0, 0),
        (0, 255, 0),
        (255, 255, 0),
        (92, 92, 255),
        (255, 0, 255),
        (0, 255, 255),
        (255, 255, 255),
    ];
    let index = match colour {
        Color::Reset => return None,
        Color::Rgb(r, g, b) => return Some((r, g, b)),
        Color::Indexed(i) => i,
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
    };
    let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
    Some(match index {
        0..=15 => ANSI[usize::from(index)],
        16..=231 => {
            let i = index - 16;
            (level(i / 36), level(i / 6 % 6), level(i % 6))
        }
        _ => {
            let grey = 8 + 10 * (index - 232);
            (grey, grey, grey)
        }
    })
}

/// WCAG 2 contrast ratio of two colours (1 to 21).
fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance =
        |(r, g, b): (u8, u8, u8)| 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn text_on_a_coloured_background_is_readable_in_the_coloured_themes() {
    // Slots that must paint both their text and background colours.
    let must_have_both = [
        "table.selected",
        "table.selected_marked",
        "dialog.body",
        "dialog.button_focused",
        "dialog.danger_focused",
        "header.lab",
        "header.readonly",
        "header.disconnected",
        "breadcrumbs.current",
    ];
    for name in COLOURED {
        let theme = load(name);
        for slot in must_have_both {
            let style = theme.get(slot).expect("slot exists");
            assert!(
                style.fg.is_some() && style.bg.is_some(),
                "{name}: {slot} {style:?}"
            );
        }
        for (slot, style) in theme.slots() {
            let (Some(fg), Some(bg)) = (style.fg.and_then(rgb), style.bg.and_then(rgb)) else {
                continue;
            };
            // WCAG AA for text is 4.5. high-contrast aims for AAA (7) where text is read at
            // length; its red alerts reach AA only (no palette red gets 7 with black or white).
            let text_heavy = ["base.", "table.", "dialog.", "help.", "breadcrumbs."]
                .iter()
                .any(|prefix| slot.starts_with(prefix));
            let aaa = name == "high-contrast" && text_heavy && slot != "dialog.danger_focused";
            let floor = if aaa { 7.0 } else { 4.5 };
            let ratio = contrast(fg, bg);
            assert!(
                ratio >= floor,
                "{name}: {slot} contrast {ratio:.1} < {floor}"
            );
        }
    }
}

#[test]
fn a_user_theme_sets_one_slot_and_inherits_the_rest() {
    let dir = ConfigDir::new()
        .with(
            "mine.toml",
            "[table]\nselected = { fg = \"black\", bg = \"#ff8800\", bold = true }\n",
        )
        .with(
            "paper.toml",
            "inherits = \"light\"\n[border]\nfocused = \"magenta\"\n",
        );
    let mine = Theme::load("mine", Some(dir.path())).expect("mine loads");
    let expected = Style::new()
        .fg(Color::Black)
        .bg(Color::Rgb(0xff, 0x88, 0x00))
        .add_modifier(Modifier::BOLD);
    assert_eq!(mine.table.selected, expected);
    let default = load("default");
    for ((slot, style), (_, inherited)) in mine.slots().zip(default.slots()) {
        if slot != "table.selected" {
            assert_eq!(style, inherited, "mine {slot}");
        }
    }

    let paper = Theme::load("paper", Some(dir.path())).expect("paper loads");
    assert_eq!(paper.border.focused, Style::new().fg(Color::Magenta));
    assert_eq!(paper.table.selected, load("light").table.selected);
}

#[test]
fn a_user_file_named_like_a_built_in_theme_tweaks_that_theme() {
    let dir = ConfigDir::new()
        .with("light.toml", "[status]\nok = \"#00aa00\"\n")
        .with(
            "mono.toml",
            "inherits = \"mono\"\n[table]\nselected = { underlined = true }\n",
        );
    let light = Theme::load("light", Some(dir.path())).expect("user light loads");
    assert_eq!(light.status.ok, Style::new().fg(Color::Rgb(0, 0xaa, 0)));
    assert_eq!(light.table.selected, load("light").table.selected);
    let mono = Theme::load("mono", Some(dir.path())).expect("user mono loads");
    assert_eq!(
        mono.table.selected,
        Style::new().add_modifier(Modifier::UNDERLINED)
    );
    assert!(!mono.uses_colour());
}

#[test]
fn names_lists_built_in_and_user_themes_sorted() {
    assert_eq!(
        Theme::names(None),
        ["default", "high-contrast", "light", "mono"]
    );
    let dir = ConfigDir::new()
        .with("solarized.toml", "")
        .with("light.toml", "")
        .with("notes.txt", "")
        .with("bad name.toml", "");
    assert_eq!(
        Theme::names(Some(dir.path())),
        ["default", "high-contrast", "light", "mono", "solarized"]
    );
    // A config dir without a themes folder is no error.
    let empty = std::env::temp_dir().join(format!("deskbridge-none-{}", uuid::Uuid::new_v4()));
    assert_eq!(Theme::names(Some(&empty)).len(), 4);
}

#[test]
fn bad_colours_slots_and_modifiers_are_reported_with_file_line_and_slot() {
    let text = "# my theme\n\
                [table]\n\
                selected = { fg = \"black\", bg = \"#12345\" }\n\
                selectd = \"cyan\"\n\
                [status]\n\
                ok = { fg = \"green\", blink = true }\n\
                warn = \"orange\"\n\
                [colours]\n\
                x = \"red\"\n";
    let dir = ConfigDir::new().with("bad.toml", text);
    let error = load_error("bad", &dir);
    let file = dir.file("bad.toml");
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(lines.len(), 5, "{error}");
    assert!(lines[0].starts_with(&format!("{file}:3:")), "{error}");
    assert!(
        lines[0].contains("key table.selected.bg: bad colour \"#12345\""),
        "{error}"
    );
    assert!(lines[1].starts_with(&format!("{file}:4:1: key table.selectd: unknown slot")));
    assert!(
        lines[1].contains("selected_marked"),
        "lists the known slots: {error}"
    );
    assert!(lines[2].starts_with(&format!("{file}:6:")), "{error}");
    assert!(lines[2].contains("unknown modifier \"blink\""), "{error}");
    assert!(
        lines[2].contains("bold, dim, italic, underlined, reversed"),
        "{error}"
    );
    assert!(lines[3].starts_with(&format!("{file}:7:")), "{error}");
    assert!(lines[3].contains("unknown colour \"orange\""), "{error}");
    assert!(lines[4].starts_with(&format!("{file}:8:2: key colours: unknown section")));
}

#[test]
fn a_toml_syntax_error_names_the_line() {
    let dir = ConfigDir::new().with("broken.toml", "[table]\nselected = { fg = \"black\"\n");
    let error = load_error("broken", &dir);
    assert!(
        error.starts_with(&format!("{}:2:", dir.file("broken.toml"))),
        "{error}"
    );
    assert!(error.contains("not valid TOML"), "{error}");
}

#[test]
fn inheriting_from_a_missing_theme_names_the_file_and_the_choices() {
    let dir = ConfigDir::new().with("mine.toml", "\ninherits = \"dracula\"\n");
    let error = load_error("mine", &dir);
    assert_eq!(
        error,
        format!(
            "{}:2:12: key inherits: no theme named \"dracula\" to inherit from; available: \
             default, high-contrast, light, mine, mono",
            dir.file("mine.toml")
        )
    );
}

#[test]
fn a_theme_that_inherits_from_itself_or_in_a_circle_is_an_error() {
    let dir = ConfigDir::new()
        .with("selfish.toml", "inherits = \"selfish\"\n")
        .with("a.toml", "inherits = \"b\"\n")
        .with("b.toml", "inherits = \"a\"\n[border]\nnormal = \"red\"\n")
        .with(
            "c.toml",
            "[border]\nnormal = \"red\"\ninherits = \"default\"\n",
        );
    let error = load_error("selfish", &dir);
    assert!(error.starts_with(&format!("{}:1:12: key inherits:", dir.file("selfish.toml"))));
    assert!(error.contains("inherits from itself"), "{error}");

    let error = load_error("a", &dir);
    assert_eq!(
        error,
        format!(
            "{}:1:12: key inherits: themes inherit in a circle: a → b → a (a theme without \
             inherits inherits from default)",
            dir.file("b.toml")
        )
    );

    // `inherits` written below a section header belongs to that section in TOML.
    let error = load_error("c", &dir);
    assert!(
        error.contains(":3:1: key border.inherits: inherits goes at the top"),
        "{error}"
    );

    // Without `inherits`, a theme inherits from default: a user default that inherits from
    // such a theme closes a circle too.
    let dir = ConfigDir::new()
        .with("default.toml", "inherits = \"plain\"\n")
        .with("plain.toml", "");
    let error = load_error("plain", &dir);
    assert!(error.contains("circle: plain → default → plain"), "{error}");
}

#[test]
fn unknown_and_malformed_theme_names_are_clear_errors() {
    let dir = ConfigDir::new();
    let error = load_error("dracula", &dir);
    assert_eq!(
        error,
        format!(
            "no theme named \"dracula\" (built in, or {}); available: default, high-contrast, \
             light, mono",
            dir.file("dracula.toml")
        )
    );
    match Theme::load("../../etc/passwd", Some(dir.path())) {
        Err(ThemeError::BadName(name)) => assert_eq!(name, "../../etc/passwd"),
        other => panic!("expected BadName, got {other:?}"),
    }
}

#[test]
fn no_color_picks_mono_unless_the_user_chose_a_theme() {
    assert_eq!(
        theme::choose(None, None, None),
        ("default", ChoiceReason::Default)
    );
    assert_eq!(
        theme::choose(None, None, Some("1")),
        ("mono", ChoiceReason::NoColor)
    );
    // no-color.org: an empty value means not set.
    assert_eq!(
        theme::choose(None, None, Some("")),
        ("default", ChoiceReason::Default)
    );
    assert_eq!(
        theme::choose(Some("light"), Some("high-contrast"), Some("1")),
        ("light", ChoiceReason::Flag)
    );
    assert_eq!(
        theme::choose(None, Some("high-contrast"), Some("yes")),
        ("high-contrast", ChoiceReason::Config)
    );
}
