//! The footer's key hint bar, `<r> reset  <d> disconnect  <?> help`, from
//! [`Keymap::hints`]. Hints that do not fit are left out whole rather than cut mid-word.
//!
//! [`Keymap::hints`]: crate::console::keymap::Keymap::hints

use super::text;
use crate::console::keymap::Hint;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

const GAP: u16 = 2;

/// Draws `hints` on the first line of `area`, in order, as many as fit whole; returns how
/// many were drawn.
pub fn render_hints(hints: &[Hint], area: Rect, buf: &mut Buffer, theme: &Theme) -> usize {
    let area = buf.area.intersection(area);
    if area.height == 0 {
        return 0;
    }
    let line = Rect { height: 1, ..area };
    text::clear(buf, line, theme.base.text);
    let key_style = theme.base.text.patch(theme.hint.key);
    let desc_style = theme.base.text.patch(theme.hint.desc);
    let mut x = area.x;
    let mut drawn = 0;
    for hint in hints {
        let key = format!("<{}>", hint.key);
        let need = text::width(&key) + 1 + text::width(hint.label);
        let gap = if drawn == 0 { 0 } else { GAP };
        if usize::from(x + gap) + need > usize::from(area.right()) {
            break;
        }
        x += gap;
        x = buf.set_stringn(x, area.y, &key, need, key_style).0;
        x = buf.set_stringn(x, area.y, " ", 1, desc_style).0;
        x = buf.set_stringn(x, area.y, hint.label, need, desc_style).0;
        drawn += 1;
    }
    drawn
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::keymap::{Keymap, View};

    #[test]
    fn hints_are_cut_whole_and_styled() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let hints = Keymap::defaults().hints(View::Sessions);
        assert!(hints.len() > 2);
        let first = format!("<{}> {}", hints[0].key, hints[0].label);
        let width = first.chars().count() as u16 + 4;
        let mut buf = Buffer::empty(Rect::new(0, 0, width, 1));
        assert_eq!(render_hints(&hints, buf.area, &mut buf, &theme), 1);
        let line: String = (0..width).map(|x| buf[(x, 0)].symbol()).collect();
        assert_eq!(line, format!("{first}    "));
        assert_eq!(Some(buf[(1, 0)].fg), theme.hint.key.fg);
        let label_x = hints[0].key.chars().count() as u16 + 3;
        assert_eq!(
            buf[(label_x, 0)].fg,
            theme
                .base
                .text
                .patch(theme.hint.desc)
                .fg
                .unwrap_or_default()
        );

        let mut wide = Buffer::empty(Rect::new(0, 0, 200, 1));
        let all = render_hints(&hints, wide.area, &mut wide, &theme);
        assert!(all > 1);
        Ok(())
    }
}
