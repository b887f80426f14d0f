//! A delivery group's machine bar: available, in use, disconnected, unregistered and faulted
//! machines as segments of one line, then their counts. Like the job gauge, a theme without
//! colour gets a distinct glyph per state.

use super::bar::Labelled;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// Glyphs for available, in use, disconnected, unregistered and faulted, with colour.
pub const COLOUR_GLYPHS: [&str; 5] = ["█", "█", "█", "█", "█"];
/// The same without colour.
pub const MONO_GLYPHS: [&str; 5] = ["░", "█", "▒", "·", "x"];

/// A delivery group's machines by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupMachines {
    pub available: usize,
    pub in_use: usize,
    pub disconnected: usize,
    pub unregistered: usize,
    pub faulted: usize,
}

impl GroupMachines {
    pub fn total(&self) -> usize {
        self.available + self.in_use + self.disconnected + self.unregistered + self.faulted
    }

    /// `30 in use · 12 free · 1 faulted`: the non-zero states, in bar order.
    pub fn label(&self) -> String {
        let parts = [
            (self.available, "free"),
            (self.in_use, "in use"),
            (self.disconnected, "disc"),
            (self.unregistered, "unreg"),
            (self.faulted, "faulted"),
        ];
        let shown: Vec<String> = parts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, name)| format!("{n} {name}"))
            .collect();
        if shown.is_empty() {
            "no machines".to_string()
        } else {
            shown.join(" · ")
        }
    }

    /// Draws the bar and its label on the first line of `area`; the bar takes what the label
    /// leaves, and only the label is drawn when fewer than 4 cells are left for the bar.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let g = &theme.group_bar;
        let glyphs = if theme.uses_colour() {
            COLOUR_GLYPHS
        } else {
            MONO_GLYPHS
        };
        let parts = [
            (self.available, g.available),
            (self.in_use, g.in_use),
            (self.disconnected, g.disconnected),
            (self.unregistered, g.unregistered),
            (self.faulted, g.faulted),
        ];
        Labelled {
            parts: &parts,
            glyphs: &glyphs,
            total: self.total(),
            track: (" ", theme.base.text),
            label: &self.label(),
            label_style: theme.base.text,
        }
        .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(buf: &Buffer) -> String {
        (0..buf.area.width).map(|x| buf[(x, 0)].symbol()).collect()
    }

    #[test]
    fn mono_states_are_told_apart_by_glyph() -> anyhow::Result<()> {
        let mono = Theme::load("mono", None)?;
        let group = GroupMachines {
            available: 2,
            in_use: 2,
            disconnected: 2,
            unregistered: 2,
            faulted: 2,
        };
        let label = group.label();
        let mut buf = Buffer::empty(Rect::new(0, 0, 10 + 1 + label.chars().count() as u16, 1));
        group.render(buf.area, &mut buf, &mono);
        assert!(
            row(&buf).starts_with("░░██▒▒··xx 2 free · 2 in use"),
            "{}",
            row(&buf)
        );
        assert_eq!(buf[(8, 0)].modifier, mono.group_bar.faulted.add_modifier);
        Ok(())
    }

    #[test]
    fn colour_states_use_the_group_bar_slots() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let group = GroupMachines {
            available: 1,
            in_use: 3,
            faulted: 1,
            ..GroupMachines::default()
        };
        assert_eq!(group.label(), "1 free · 3 in use · 1 faulted");
        let mut buf = Buffer::empty(Rect::new(0, 0, 10 + 1 + 29, 1));
        group.render(buf.area, &mut buf, &theme);
        assert_eq!(Some(buf[(0, 0)].fg), theme.group_bar.available.fg);
        assert_eq!(Some(buf[(4, 0)].fg), theme.group_bar.in_use.fg);
        assert_eq!(Some(buf[(9, 0)].fg), theme.group_bar.faulted.fg);
        Ok(())
    }
}
