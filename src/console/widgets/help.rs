//! The `?` overlay: the keymap's help for the current view ([`Keymap::help`]) as titled
//! sections of `keys  description`, in two columns when the screen is wide, scrollable when
//! it is not tall enough. Generated from the keymap, so rebound keys and `--readonly` show.
//!
//! [`Keymap::help`]: crate::console::keymap::Keymap::help

use super::text;
use crate::console::keymap::HelpSection;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Widget};

/// Inside width from which the sections flow into two columns.
pub const TWO_COLUMNS_FROM: u16 = 96;
const GAP: u16 = 3;

/// What the overlay shows.
#[derive(Debug, Clone, Copy)]
pub struct HelpOverlay<'a> {
    /// `help: sessions`
    pub title: &'a str,
    pub sections: &'a [HelpSection],
    /// Lines scrolled past, as the caller keeps it; [`HelpOverlay::render`] clamps it.
    pub scroll: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item<'a> {
    Section(&'a str),
    Row(&'a str, &'a str),
    Blank,
}

impl<'a> HelpOverlay<'a> {
    fn items(&self) -> Vec<Vec<Item<'a>>> {
        self.sections
            .iter()
            .map(|s| {
                let mut lines = vec![Item::Section(s.title)];
                lines.extend(s.rows.iter().map(|r| Item::Row(r.keys.as_str(), r.help)));
                lines.push(Item::Blank);
                lines
            })
            .collect()
    }

    /// The overlay's box in `area`: two cells of margin, up to 120 wide.
    pub fn area(area: Rect) -> Rect {
        let width = area.width.saturating_sub(4).min(120);
        text::centered(area, width, area.height.saturating_sub(2))
    }

    /// The columns of lines for an inside `width`: sections are kept whole and split where
    /// the two columns come closest to even.
    fn columns(&self, width: u16) -> Vec<Vec<Item<'a>>> {
        let sections = self.items();
        let total: usize = sections.iter().map(Vec::len).sum();
        if width < TWO_COLUMNS_FROM || sections.len() < 2 {
            return vec![sections.concat()];
        }
        let mut best = (usize::MAX, 1);
        let mut first = 0;
        for (i, s) in sections.iter().enumerate().take(sections.len() - 1) {
            first += s.len();
            let taller = first.max(total - first);
            if taller < best.0 {
                best = (taller, i + 1);
            }
        }
        let (left, right) = sections.split_at(best.1);
        vec![left.concat(), right.concat()]
    }

    /// The largest useful scroll for the overlay drawn in `area`.
    pub fn max_scroll(&self, area: Rect) -> usize {
        let inner = inner(HelpOverlay::area(area));
        let tallest = self.columns(inner.width).iter().map(Vec::len).max();
        tallest
            .unwrap_or(0)
            .saturating_sub(usize::from(inner.height))
    }

    /// Draws the overlay over `area` (the whole screen) and returns the scroll it used.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) -> usize {
        let area = buf.area.intersection(area);
        let outer = HelpOverlay::area(area);
        if outer.width < 10 || outer.height < 3 {
            return 0;
        }
        let h = &theme.help;
        let scroll = self.scroll.min(self.max_scroll(area));
        let more = scroll < self.max_scroll(area);
        text::clear(buf, outer, h.body);
        let footer = if more {
            " j/k scroll ↓  esc close "
        } else {
            " esc close "
        };
        Block::default()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .border_style(h.body.patch(h.border))
            .style(h.body)
            .title(Line::styled(format!(" {} ", self.title), h.body.patch(h.title)).centered())
            .title_bottom(Line::styled(footer, h.body.patch(h.desc)).right_aligned())
            .render(outer, buf);
        let inner = inner(outer);
        let columns = self.columns(inner.width);
        let n = columns.len() as u16;
        let col_w = (inner.width - GAP * (n - 1)) / n;
        let keys_w = columns
            .iter()
            .flatten()
            .filter_map(|i| match i {
                Item::Row(keys, _) => Some(text::width(keys)),
                _ => None,
            })
            .max()
            .unwrap_or(0)
            .min(usize::from(col_w / 3)) as u16;
        for (c, lines) in columns.iter().enumerate() {
            let x = inner.x + c as u16 * (col_w + GAP);
            let visible = lines.iter().skip(scroll).take(usize::from(inner.height));
            for (row, item) in visible.enumerate() {
                let y = inner.y + row as u16;
                let w = usize::from(col_w);
                match *item {
                    Item::Section(title) => {
                        text::put(buf, x, y, title, w, h.body.patch(h.section));
                    }
                    Item::Row(keys, desc) => {
                        text::put(buf, x, y, keys, usize::from(keys_w), h.body.patch(h.key));
                        let dx = x + keys_w + 2;
                        let dw = usize::from(col_w.saturating_sub(keys_w + 2));
                        text::put(buf, dx, y, desc, dw, h.body.patch(h.desc));
                    }
                    Item::Blank => {}
                }
            }
        }
        scroll
    }
}

fn inner(outer: Rect) -> Rect {
    Rect {
        x: outer.x + 2,
        y: outer.y + 1,
        width: outer.width.saturating_sub(4),
        height: outer.height.saturating_sub(2),
    }
}

#[cfg(test)]
#[path = "tests/help.rs"]
mod tests;
