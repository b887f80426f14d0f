//! The `:runbooks` picker: each runbook's name, title and role, one per line, dimmed when
//! the operator cannot start it; the selected one's description, parameters and steps under
//! the list; a status line (loading, a failure, why Enter did nothing) and the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Widget};

use super::text;
use crate::console::theme::Theme;

/// One runbook as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickerItem<'a> {
    pub name: &'a str,
    pub title: &'a str,
    pub role: &'a str,
    /// The operator may start it (role and `--readonly` allow it).
    pub startable: bool,
}

/// The selected runbook's details.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PickerDetail {
    pub description: String,
    /// `site *`, `older_than = 4h`…
    pub params: Vec<String>,
    /// Step titles, with their condition or wait when they have one.
    pub steps: Vec<String>,
}

pub struct RunbookList<'a> {
    pub items: &'a [PickerItem<'a>],
    pub cursor: usize,
    pub detail: Option<&'a PickerDetail>,
    /// Loading, a failure, or why Enter did nothing; shown in the warning colour.
    pub status: Option<&'a str>,
    /// The keys line.
    pub hint: &'a str,
}

impl RunbookList<'_> {
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let area = buf.area.intersection(area);
        let outer = text::centered(
            area,
            area.width.saturating_sub(4),
            area.height.saturating_sub(2),
        );
        if outer.width < 24 || outer.height < 6 {
            return;
        }
        let h = &theme.help;
        text::clear(buf, outer, h.body);
        Block::default()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .border_style(h.body.patch(h.border))
            .style(h.body)
            .title(Line::styled(" runbooks ", h.body.patch(h.title)).centered())
            .render(outer, buf);
        let inner = Rect {
            x: outer.x + 1,
            y: outer.y + 1,
            width: outer.width - 2,
            height: outer.height - 2,
        };
        let body = h.body;
        let width = usize::from(inner.width.saturating_sub(2));
        let last = inner.bottom().saturating_sub(1);
        let x0 = inner.x + 1;
        let name_w = self
            .items
            .iter()
            .map(|i| text::width(i.name))
            .max()
            .unwrap_or(0)
            + 2;
        let role_w = 9;
        // The list takes at most half the panel, scrolled to keep the cursor in it.
        let room = usize::from(inner.height / 2).max(1);
        let skip = self.cursor.saturating_sub(room - 1);
        let mut y = inner.y;
        for (i, item) in self.items.iter().enumerate().skip(skip).take(room) {
            let mut style = if item.startable {
                body
            } else {
                body.patch(theme.status.muted)
            };
            if i == self.cursor {
                style = style.patch(theme.table.selected);
            }
            text::clear(buf, Rect::new(inner.x, y, inner.width, 1), style);
            let key = if item.startable {
                style.patch(h.key)
            } else {
                style
            };
            text::put(buf, x0, y, item.name, width, key);
            let x = x0 + name_w as u16;
            let title_w = width.saturating_sub(name_w + role_w);
            text::put(buf, x, y, item.title, title_w.saturating_sub(1), style);
            let role = if item.startable {
                item.role.to_owned()
            } else {
                format!("{} ✗", item.role)
            };
            text::put(buf, x + title_w as u16, y, &role, role_w, style);
            y += 1;
        }
        y += 1;
        let mut put = |y: &mut u16, line: &str, style| {
            if *y < last {
                text::put(buf, x0, *y, line, width, style);
                *y += 1;
            }
        };
        if let Some(status) = self.status {
            put(&mut y, status, body.patch(theme.status.warn));
        }
        if let Some(detail) = self.detail {
            for line in text::wrap(&detail.description, width) {
                put(&mut y, &line, body.patch(theme.base.label));
            }
            if !detail.params.is_empty() {
                let params = format!("Parameters: {}", detail.params.join(", "));
                for line in text::wrap(&params, width) {
                    put(&mut y, &line, body);
                }
            }
            if !detail.steps.is_empty() {
                put(&mut y, "Steps:", body.patch(h.title));
                for (n, step) in detail.steps.iter().enumerate() {
                    put(&mut y, &format!("  {}. {step}", n + 1), body);
                }
            }
        }
        text::put(
            buf,
            inner.x,
            last,
            self.hint,
            usize::from(inner.width),
            body.patch(theme.hint.desc),
        );
    }
}
