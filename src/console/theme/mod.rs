//! Console colour themes: one ratatui [`Style`] per semantic slot ("the selected row", "a
//! down connector", "the focused dialog button"), read from TOML files in `themes/`.
//!
//! - Four themes are built in (`default`, `light`, `high-contrast`, `mono`), embedded with
//!   `include_str!`, so the binary needs no files beside it.
//! - `<config_dir>/themes/<name>.toml` adds a theme or replaces a built-in one of that name.
//!   A file may set only some slots: the rest come from the theme it `inherits` (by default
//!   `default`; a file named after a built-in theme inherits that built-in theme).
//! - [`choose`] picks the name: `--theme`, then the config file's `theme`, then `mono` when
//!   `NO_COLOR` is set, then `default`.
//!
//! `themes/default.toml` documents the format and every slot; docs/themes.md has the rules.
//! Views read slots as plain fields (`theme.table.selected`), so drawing costs nothing more
//! than a copy of a `Style`. A slot drawn over another (a filter match inside the selected
//! row) is patched onto it with `Style::patch`, so it changes only what it sets.

mod load;
mod parse;

pub use load::ThemeError;

use ratatui::style::{Color, Style};

/// The theme used when nothing else is chosen, and the root every theme inherits from.
pub const DEFAULT_THEME: &str = "default";
/// The theme `NO_COLOR` selects: modifiers only, no colour.
pub const NO_COLOR_THEME: &str = "mono";

/// Declares the slot sections, the [`Theme`] fields and the list of slot names from one table,
/// so the TOML names, the struct and the checks cannot drift apart.
macro_rules! slots {
    ($( $(#[$sdoc:meta])* $section:ident : $Section:ident {
        $( $(#[$doc:meta])* $slot:ident ),* $(,)?
    } )*) => {
        $(
            $(#[$sdoc])*
            #[derive(Debug, Clone, PartialEq, Default)]
            pub struct $Section { $( $(#[$doc])* pub $slot: Style, )* }
        )*

        /// A resolved theme: every slot filled, ready to draw with.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            /// The name it was loaded by (`default`, `mono`, a user theme's file name).
            pub name: String,
            $( pub $section: $Section, )*
        }

        /// Every slot as (section, slot), in file order.
        pub(crate) const SLOTS: &[(&str, &str)] = &[
            $( $( (stringify!($section), stringify!($slot)), )* )*
        ];

        impl Theme {
            /// A theme with every slot plain, filled in by the loader.
            fn blank(name: &str) -> Self {
                Theme { name: name.to_string(), $( $section: $Section::default(), )* }
            }

            fn slot_ref(&self, section: &str, slot: &str) -> Option<&Style> {
                match (section, slot) {
                    $( $( (stringify!($section), stringify!($slot)) => Some(&self.$section.$slot), )* )*
                    _ => None,
                }
            }

            fn slot_mut(&mut self, section: &str, slot: &str) -> Option<&mut Style> {
                match (section, slot) {
                    $( $( (stringify!($section), stringify!($slot)) => Some(&mut self.$section.$slot), )* )*
                    _ => None,
                }
            }
        }
    };
}

slots! {
    /// The screen as a whole.
    base: Base {
        /// Body text and the screen background.
        text,
        /// Field names in the detail pane (`Requester:`).
        label,
    }
    /// Pane and table borders.
    border: Borders { normal, focused }
    /// A table's title, `sessions(London)[1,234] </alice>`.
    title: Title {
        /// `sessions`
        view,
        /// `(London)`
        scope,
        /// `[1,234]`
        count,
        /// `</alice>`
        filter,
    }
    /// Table rows.
    table: Table {
        header,
        /// The cursor row in the focused pane.
        selected,
        /// The cursor row in a pane without focus.
        selected_inactive,
        /// A marked row away from the cursor.
        marked,
        /// The cursor on a marked row.
        selected_marked,
        /// The part of a cell that the filter matched (patched onto the row's style).
        filter_match,
    }
    /// The key hint bar, `<r> reset  <d> disconnect`.
    hint: Hints { key, desc }
    /// Generic states, also for the API call log and unknown values.
    status: Status { ok, warn, error, muted }
    /// Ticket priority 1 to 5 (ServiceNow's names).
    priority: Priority { critical, high, moderate, low, planning }
    /// Ticket age relative to its SLA.
    age: Age { fresh, aging, stale }
    /// Site and connector health.
    health: Health { healthy, degraded, down }
    /// Job progress gauges; segments draw in each slot's fg, `track` is the unfilled part.
    gauge: Gauge { succeeded, failed, running, queued, track, label }
    /// The delivery-group machine bar, one segment per state.
    group_bar: GroupBar { available, in_use, disconnected, unregistered, faulted }
    /// Confirmation and input dialogs.
    dialog: Dialog {
        body,
        border,
        title,
        button,
        button_focused,
        /// The button that confirms a change, without focus.
        danger,
        danger_focused,
    }
    /// The flash line.
    flash: Flash { info, success, warn, error }
    /// The `:` command and `/` filter line.
    command: Command {
        prompt,
        input,
        /// An invalid filter or command, shown inline.
        error,
        /// The completion suggested after the cursor.
        completion,
    }
    /// The header line.
    header: Header {
        text,
        /// The badge saying the adapter is the embedded lab.
        lab,
        /// The `--readonly` badge.
        readonly,
        connected,
        /// The adapter is gone; the console shows last-known data.
        disconnected,
    }
    /// The view stack, `tickets > alice > sessions`.
    breadcrumbs: Breadcrumbs { item, current, separator }
    /// Session-count sparklines in the sites view.
    sparkline: Sparkline { line }
    /// The `?` help overlay.
    help: Help { body, border, title, section, key, desc }
}

impl Theme {
    /// The style of slot `key`, written as in the file: `"table.selected"`.
    pub fn get(&self, key: &str) -> Option<Style> {
        let (section, slot) = key.split_once('.')?;
        self.slot_ref(section, slot).copied()
    }

    /// Every slot as (`"section.slot"`, style), in file order.
    pub fn slots(&self) -> impl Iterator<Item = (String, Style)> + '_ {
        SLOTS.iter().filter_map(|&(section, slot)| {
            let style = self.slot_ref(section, slot)?;
            Some((format!("{section}.{slot}"), *style))
        })
    }

    /// The style for ServiceNow priority `priority` (1 critical … 5 planning); values out of
    /// range get `status.muted`.
    pub fn priority(&self, priority: u8) -> Style {
        match priority {
            1 => self.priority.critical,
            2 => self.priority.high,
            3 => self.priority.moderate,
            4 => self.priority.low,
            5 => self.priority.planning,
            _ => self.status.muted,
        }
    }

    /// Whether any slot sets a colour. Widgets that tell things apart by colour alone (the
    /// segments of a bar) use distinct glyphs when this is false.
    pub fn uses_colour(&self) -> bool {
        let coloured = |c: Option<Color>| matches!(c, Some(c) if c != Color::Reset);
        self.slots()
            .any(|(_, style)| coloured(style.fg) || coloured(style.bg))
    }
}

/// Why a theme name was chosen, for `deskbridge info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceReason {
    /// `--theme NAME` on the command line.
    Flag,
    /// `theme = "NAME"` in the console config file.
    Config,
    /// `NO_COLOR` is set to a non-empty value.
    NoColor,
    /// Nothing chose one.
    Default,
}

/// Picks the theme name. Per https://no-color.org, `NO_COLOR` (set and not empty) makes the
/// console colourless unless the user chose a theme: `--theme` wins, then a `theme` the user
/// wrote in the config file, then `mono` for `NO_COLOR`, then `default`. `no_color` is the
/// variable's value, passed in so callers and tests need not touch the process environment
/// (see [`no_color_env`]).
pub fn choose<'a>(
    flag: Option<&'a str>,
    config: Option<&'a str>,
    no_color: Option<&str>,
) -> (&'a str, ChoiceReason) {
    if let Some(name) = flag {
        (name, ChoiceReason::Flag)
    } else if let Some(name) = config {
        (name, ChoiceReason::Config)
    } else if no_color.is_some_and(|v| !v.is_empty()) {
        (NO_COLOR_THEME, ChoiceReason::NoColor)
    } else {
        (DEFAULT_THEME, ChoiceReason::Default)
    }
}

/// This process's `NO_COLOR` value (a value that is not UTF-8 still counts as set).
pub fn no_color_env() -> Option<String> {
    std::env::var_os("NO_COLOR").map(|v| v.to_string_lossy().into_owned())
}
