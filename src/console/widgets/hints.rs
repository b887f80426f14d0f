//! The footer's key hint bar, `<r> reset  <d> disconnect  <?> help`, from
//! [`Keymap::hints`]. Hints that do not fit are left out whole rather than cut mid-word, and
//! room is kept for `<?> help` at the end: the way to every other key is never crowded out.
//!
//! [`Keymap::hints`]: crate::console::keymap::Keymap::hints

use super::text;
use crate::console::keymap::{Action, Hint};
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

const GAP: u16 = 2;

/// Draws `hints` on the first line of `area`, in order, as many as fit whole with room left
/// for the help hint, which ends the bar; returns how many were drawn.
pub fn render_hints(hints: &[Hint], area: Rect, buf: &mut Buffer, theme: &Theme) -> usize {
    let area = buf.area.intersection(area);
    if area.height == 0 {
        return 0;
    }
    let line = Rect { height: 1, ..area };
    text::clear(buf, line, theme.base.text);
    let key_style = theme.base.text.patch(theme.hint.key);
    let desc_style = theme.base.text.patch(theme.hint.desc);
    let width = |hint: &Hint| text::width(&format!("<{}>", hint.key)) + 1 + text::width(hint.label);
    let help = hints.iter().position(|h| h.action == Action::Help);
    let mut reserve = help.map_or(0, |at| width(&hints[at]) + usize::from(GAP));
    let mut x = area.x;
    let mut drawn = 0;
    let mut full = false;
    for (at, hint) in hints.iter().enumerate() {
        let key = format!("<{}>", hint.key);
        let need = width(hint);
        let gap = if drawn == 0 { 0 } else { GAP };
        let keep = if Some(at) == help { 0 } else { reserve };
        if Some(at) == help {
            reserve = 0;
        }
        if full || usize::from(x + gap) + need + keep > usize::from(area.right()) {
            // Only the help hint may still be drawn, at the end.
            full = true;
            if Some(at) != help || usize::from(x + gap) + need > usize::from(area.right()) {
                continue;
            }
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
        // Room for the first hint and the help hint, not for the second hint.
        let width = first.chars().count() as u16 + 2 + "<?> help".len() as u16 + 1;
        let mut buf = Buffer::empty(Rect::new(0, 0, width, 1));
        assert_eq!(render_hints(&hints, buf.area, &mut buf, &theme), 2);
        let line: String = (0..width).map(|x| buf[(x, 0)].symbol()).collect();
        assert_eq!(line, format!("{first}  <?> help "));
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

        // Too narrow for any action: help is what stays.
        let mut narrow = Buffer::empty(Rect::new(0, 0, 10, 1));
        assert_eq!(render_hints(&hints, narrow.area, &mut narrow, &theme), 1);
        let line: String = (0..10).map(|x| narrow[(x, 0)].symbol()).collect();
        assert_eq!(line, "<?> help  ");

        let mut wide = Buffer::empty(Rect::new(0, 0, 200, 1));
        let all = render_hints(&hints, wide.area, &mut wide, &theme);
        assert!(all > 1);
        Ok(())
    }
}
