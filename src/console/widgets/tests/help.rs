//! Tests of the `?` overlay: sections from the keymap, styles, two columns when wide, and
//! scrolling when the screen is short.

use super::*;
use crate::console::keymap::{Keymap, View};

fn text_of(buf: &Buffer) -> Vec<String> {
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect()
}

fn find(buf: &Buffer, s: &str) -> Option<(u16, u16)> {
    text_of(buf).iter().enumerate().find_map(|(y, l)| {
        let at = l.find(s)?;
        Some((l[..at].chars().count() as u16, y as u16))
    })
}

#[test]
fn help_shows_sections_keys_and_descriptions_in_its_slots() -> anyhow::Result<()> {
    let theme = Theme::load("default", None)?;
    let sections = Keymap::defaults().help(View::Sessions);
    let overlay = HelpOverlay {
        title: "help: sessions",
        sections: &sections,
        scroll: 0,
    };
    let mut buf = Buffer::empty(Rect::new(0, 0, 80, 24));
    overlay.render(buf.area, &mut buf, &theme);
    assert!(find(&buf, " help: sessions ").is_some());
    let first = &sections[0];
    let (sx, sy) = find(&buf, first.title).unwrap_or_default();
    assert_eq!(Some(buf[(sx, sy)].fg), theme.help.section.fg);
    let row = &first.rows[0];
    let (kx, ky) = find(&buf, &row.keys).unwrap_or_default();
    assert_eq!(Some(buf[(kx, ky)].fg), theme.help.key.fg);
    let (dx, dy) = find(&buf, row.help).unwrap_or_default();
    assert_eq!(dy, ky);
    assert_eq!(Some(buf[(dx, dy)].fg), theme.help.desc.fg);
    Ok(())
}

#[test]
fn a_short_screen_scrolls_and_a_wide_one_uses_two_columns() -> anyhow::Result<()> {
    let theme = Theme::load("default", None)?;
    let sections = Keymap::defaults().help(View::Sessions);
    let last = sections.last().map(|s| s.title).unwrap_or_default();
    let overlay = HelpOverlay {
        title: "help",
        sections: &sections,
        scroll: 0,
    };
    let small = Rect::new(0, 0, 80, 24);
    let max = overlay.max_scroll(small);
    assert!(
        max > 0,
        "the sessions help should not fit 80×24 in one column"
    );
    let mut buf = Buffer::empty(small);
    overlay.render(small, &mut buf, &theme);
    assert!(find(&buf, "scroll ↓").is_some());
    let scrolled = HelpOverlay {
        scroll: usize::MAX,
        ..overlay
    };
    assert_eq!(scrolled.render(small, &mut buf, &theme), max);
    assert!(find(&buf, last).is_some());
    assert!(find(&buf, "scroll ↓").is_none());

    // Wide: the first and the last section are side by side.
    let wide = Rect::new(0, 0, 160, 50);
    let mut buf = Buffer::empty(wide);
    overlay.render(wide, &mut buf, &theme);
    let (x0, _) = find(&buf, sections[0].title).unwrap_or_default();
    let (x1, _) = find(&buf, last).unwrap_or_default();
    assert!(x1 > x0 + 40, "{x0} {x1}");
    Ok(())
}
