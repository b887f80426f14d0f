//! A small centred menu of choices (the power menu: start, shutdown, restart, force
//! restart): `j`/`k` or the arrows and Enter, or an item's letter, or Esc to close.

use super::dialog::frame;
use super::text;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use ratatui::layout::Rect;

/// One choice: the letter that picks it, its label, and whether it is destructive (drawn in
/// the danger slots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MenuItem<'a> {
    pub letter: char,
    pub label: &'a str,
    pub danger: bool,
}

/// The machine power menu, in the order shown.
pub const POWER_MENU: [MenuItem<'static>; 4] = [
    MenuItem {
        letter: 's',
        label: "start",
        danger: false,
    },
    MenuItem {
        letter: 'd',
        label: "shutdown",
        danger: true,
    },
    MenuItem {
        letter: 'r',
        label: "restart",
        danger: true,
    },
    MenuItem {
        letter: 'f',
        label: "force restart",
        danger: true,
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuOutcome {
    Pending,
    /// The index of the chosen item.
    Chosen(usize),
    Cancelled,
}

/// The highlighted item of an open menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MenuState {
    pub selected: usize,
}

impl MenuState {
    pub fn handle_key(&mut self, key: KeyEvent, items: &[MenuItem<'_>]) -> MenuOutcome {
        if key.kind == KeyEventKind::Release || items.is_empty() {
            return MenuOutcome::Pending;
        }
        let last = items.len() - 1;
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => MenuOutcome::Cancelled,
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(last);
                MenuOutcome::Pending
            }
            KeyCode::Up | KeyCode::Char('k') => {
                self.selected = self.selected.saturating_sub(1).min(last);
                MenuOutcome::Pending
            }
            KeyCode::Enter => MenuOutcome::Chosen(self.selected.min(last)),
            KeyCode::Char(c) => match items.iter().position(|i| i.letter == c) {
                Some(i) => {
                    self.selected = i;
                    MenuOutcome::Chosen(i)
                }
                None => MenuOutcome::Pending,
            },
            _ => MenuOutcome::Pending,
        }
    }
}

/// What the menu shows.
#[derive(Debug, Clone, Copy)]
pub struct Menu<'a> {
    /// `power: VDA-LON-0042`
    pub title: &'a str,
    pub items: &'a [MenuItem<'a>],
    pub state: &'a MenuState,
}

impl Menu<'_> {
    /// Draws the menu centred in `area`, one item a line: `s  start`.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let widest = self.items.iter().map(|i| text::width(i.label)).max();
        let width = (widest.unwrap_or(0) + 9).max(text::width(self.title) + 6) as u16;
        let height = self.items.len() as u16 + 4;
        let Some(inner) = frame(area, width, height, self.title, buf, theme) else {
            return;
        };
        for (i, item) in self.items.iter().enumerate() {
            let y = inner.y + i as u16;
            if y >= inner.bottom() {
                break;
            }
            let d = &theme.dialog;
            let style = match (i == self.state.selected, item.danger) {
                (true, true) => d.danger_focused,
                (true, false) => d.button_focused,
                (false, true) => d.body.patch(d.danger),
                (false, false) => d.body,
            };
            let row = Rect::new(inner.x + 1, y, inner.width.saturating_sub(2), 1);
            buf.set_style(row, style);
            let line = format!(" {}  {}", item.letter, item.label);
            text::put(buf, row.x, y, &line, usize::from(row.width), style);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_move_choose_and_cancel() {
        let mut s = MenuState::default();
        let key = |c| KeyEvent::from(KeyCode::Char(c));
        assert_eq!(s.handle_key(key('j'), &POWER_MENU), MenuOutcome::Pending);
        assert_eq!(s.handle_key(key('j'), &POWER_MENU), MenuOutcome::Pending);
        assert_eq!(s.handle_key(key('k'), &POWER_MENU), MenuOutcome::Pending);
        let enter = KeyEvent::from(KeyCode::Enter);
        assert_eq!(s.handle_key(enter, &POWER_MENU), MenuOutcome::Chosen(1));
        assert_eq!(s.handle_key(key('f'), &POWER_MENU), MenuOutcome::Chosen(3));
        assert_eq!(s.handle_key(key('z'), &POWER_MENU), MenuOutcome::Pending);
        let esc = KeyEvent::from(KeyCode::Esc);
        assert_eq!(s.handle_key(esc, &POWER_MENU), MenuOutcome::Cancelled);
    }

    #[test]
    fn the_selected_item_is_highlighted_and_danger_items_marked() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let mut buf = Buffer::empty(Rect::new(0, 0, 80, 24));
        let state = MenuState { selected: 0 };
        let menu = Menu {
            title: "power",
            items: &POWER_MENU,
            state: &state,
        };
        menu.render(buf.area, &mut buf, &theme);
        let find = |label: &str| -> Option<(u16, u16)> {
            (0..24).find_map(|y| {
                let line: String = (0..80).map(|x| buf[(x, y)].symbol()).collect();
                let at = line.find(label)?;
                Some((line[..at].chars().count() as u16, y))
            })
        };
        let (x, y) = find("start").unwrap_or_default();
        assert_eq!(
            buf[(x, y)].bg,
            theme.dialog.button_focused.bg.unwrap_or_default()
        );
        let (x, y) = find("shutdown").unwrap_or_default();
        assert_eq!(Some(buf[(x, y)].fg), theme.dialog.danger.fg);
        assert!(find("f  force restart").is_some());
        Ok(())
    }
}
