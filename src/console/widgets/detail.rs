//! A key/value detail pane (a ticket, a session, a machine): labelled fields, then long text
//! blocks such as the description and the journal (time, author, text), wrapped to the pane
//! and scrollable.

use super::text;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Widget};

/// Labels wider than this are cut so values keep room.
const MAX_LABEL: usize = 24;

/// One entry of a text block: a journal entry has a time and an author, a description
/// neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DetailEntry<'a> {
    pub time: Option<&'a str>,
    pub author: Option<&'a str>,
    pub text: &'a str,
    /// Drawn in the error colour (a failed workflow step).
    pub alert: bool,
}

/// A titled block of text under the fields: `Description`, `Work notes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetailBlock<'a> {
    pub heading: &'a str,
    pub entries: &'a [DetailEntry<'a>],
}

/// What the pane shows.
#[derive(Debug, Clone, Copy)]
pub struct DetailPane<'a> {
    /// `INC0010001`
    pub title: &'a str,
    /// (label, value) in order: `("Requester", "alice")`.
    pub fields: &'a [(&'a str, &'a str)],
    pub blocks: &'a [DetailBlock<'a>],
    /// Lines scrolled past, as the caller keeps it; [`DetailPane::render`] clamps it.
    pub scroll: usize,
    pub focused: bool,
}

type Spans = Vec<(String, Style)>;

impl DetailPane<'_> {
    /// The pane's lines for an inside `width`, wrapped.
    fn lines(&self, width: usize, theme: &Theme) -> Vec<Spans> {
        let base = theme.base.text;
        let label_style = base.patch(theme.base.label);
        let muted = base.patch(theme.status.muted);
        let label_w = self
            .fields
            .iter()
            .map(|(l, _)| text::width(l) + 1)
            .max()
            .unwrap_or(0)
            .min(MAX_LABEL);
        let value_w = width.saturating_sub(label_w + 1).max(1);
        let mut out: Vec<Spans> = Vec::new();
        for (label, value) in self.fields {
            let label = text::truncate(&format!("{label}:"), label_w).into_owned();
            let pad = " ".repeat(label_w + 1 - text::width(&label));
            for (i, part) in text::wrap(value, value_w).into_iter().enumerate() {
                let lead = if i == 0 {
                    (format!("{label}{pad}"), label_style)
                } else {
                    (" ".repeat(label_w + 1), base)
                };
                out.push(vec![lead, (part, base)]);
            }
        }
        for block in self.blocks {
            out.push(Vec::new());
            out.push(vec![(block.heading.to_string(), label_style)]);
            for (n, entry) in block.entries.iter().enumerate() {
                if n > 0 {
                    out.push(Vec::new());
                }
                let meta: Vec<&str> = [entry.time, entry.author].into_iter().flatten().collect();
                let (meta_style, text_style) = if entry.alert {
                    let alert = base.patch(theme.status.error);
                    (alert, alert)
                } else {
                    (muted, base)
                };
                if !meta.is_empty() {
                    out.push(vec![(meta.join("  "), meta_style)]);
                }
                for part in text::wrap(entry.text, width.saturating_sub(2).max(1)) {
                    out.push(vec![(format!("  {part}"), text_style)]);
                }
            }
        }
        out
    }

    /// Lines the content takes in a pane drawn in `area`, for paging and [`Self::render`].
    pub fn line_count(&self, area: Rect, theme: &Theme) -> usize {
        self.lines(usize::from(area.width.saturating_sub(2)), theme)
            .len()
    }

    /// Draws the pane in `area` and returns the scroll it used (clamped so the last line is
    /// at the bottom at most).
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) -> usize {
        let area = buf.area.intersection(area);
        let border = if self.focused {
            theme.border.focused
        } else {
            theme.border.normal
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(border)
            .style(theme.base.text)
            .title(Line::styled(format!(" {} ", self.title), theme.title.view).centered());
        let inner = block.inner(area);
        text::clear(buf, area, theme.base.text);
        block.render(area, buf);
        if inner.width == 0 || inner.height == 0 {
            return 0;
        }
        let lines = self.lines(usize::from(inner.width), theme);
        let height = usize::from(inner.height);
        let scroll = self.scroll.min(lines.len().saturating_sub(height));
        for (i, spans) in lines.iter().skip(scroll).take(height).enumerate() {
            let y = inner.y + i as u16;
            let mut x = inner.x;
            for (s, style) in spans {
                let room = usize::from(inner.right() - x);
                if room == 0 {
                    break;
                }
                x = text::put(buf, x, y, s, room, *style);
            }
        }
        scroll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
    }

    #[test]
    fn fields_are_labelled_and_journal_text_wraps_and_scrolls() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let journal = [
            DetailEntry {
                time: Some("10:42"),
                author: Some("bob"),
                text: "Restarted the session host and asked the user to log in again",
                alert: false,
            },
            DetailEntry {
                time: Some("10:50"),
                author: Some("alice"),
                text: "Works now",
                alert: false,
            },
        ];
        let blocks = [DetailBlock {
            heading: "Work notes",
            entries: &journal,
        }];
        let pane = DetailPane {
            title: "INC0010001",
            fields: &[("Requester", "alice"), ("State", "In progress")],
            blocks: &blocks,
            scroll: 0,
            focused: true,
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 32, 20));
        assert_eq!(pane.render(buf.area, &mut buf, &theme), 0);
        assert_eq!(line(&buf, 1), "│Requester: alice              │");
        assert_eq!(Some(buf[(1, 1)].fg), theme.base.label.fg);
        assert_eq!(buf[(12, 1)].fg, theme.base.text.fg.unwrap_or_default());
        assert!(line(&buf, 5).contains("10:42  bob"));
        assert!(line(&buf, 6).contains("  Restarted the session host"));
        assert!(line(&buf, 7).contains("  and asked the user to log"));

        let total = pane.line_count(buf.area, &theme);
        let far = DetailPane { scroll: 99, ..pane };
        let mut small = Buffer::empty(Rect::new(0, 0, 32, 6));
        assert_eq!(far.render(small.area, &mut small, &theme), total - 4);
        assert!(line(&small, 4).contains("Works now"));
        Ok(())
    }
}
