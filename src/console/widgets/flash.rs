//! The flash line under the table: the last action's outcome or a problem, one line, in the
//! slot of its level.

use super::text;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashLevel {
    Info,
    Success,
    Warn,
    Error,
}

/// One flash message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flash<'a> {
    pub level: FlashLevel,
    pub text: &'a str,
}

impl Flash<'_> {
    /// Draws the message on the first line of `area`, cut with `…`; the rest of the line is
    /// plain. Only the first line of a multi-line text is shown.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let area = buf.area.intersection(area);
        if area.height == 0 {
            return;
        }
        let slot = match self.level {
            FlashLevel::Info => theme.flash.info,
            FlashLevel::Success => theme.flash.success,
            FlashLevel::Warn => theme.flash.warn,
            FlashLevel::Error => theme.flash.error,
        };
        text::clear(buf, Rect { height: 1, ..area }, theme.base.text);
        let first = self.text.lines().next().unwrap_or("");
        let style = theme.base.text.patch(slot);
        text::put(buf, area.x, area.y, first, usize::from(area.width), style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_use_their_slots_and_long_text_is_cut() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 1));
        let flash = Flash {
            level: FlashLevel::Error,
            text: "Closed 47/50 tickets, 3 failed",
        };
        flash.render(buf.area, &mut buf, &theme);
        let line: String = (0..20).map(|x| buf[(x, 0)].symbol()).collect();
        assert_eq!(line, "Closed 47/50 ticket…");
        assert_eq!(Some(buf[(0, 0)].fg), theme.flash.error.fg);
        let ok = Flash {
            level: FlashLevel::Success,
            text: "done",
        };
        ok.render(buf.area, &mut buf, &theme);
        assert_eq!(Some(buf[(0, 0)].fg), theme.flash.success.fg);
        assert_eq!(buf[(5, 0)].symbol(), " ");
        Ok(())
    }
}
