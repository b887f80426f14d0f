//! The `@` overlay: the console's last API calls (method, path, status, latency, time), each
//! row in the status slot its outcome deserves: 2xx ok, 4xx warn, 5xx and transport errors
//! error.

use super::text;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Widget};
use std::time::Duration;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallResult<'a> {
    Status(u16),
    /// No answer: `unreachable`, `timeout`.
    Failed(&'a str),
}

/// One row of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRow<'a> {
    pub method: &'a str,
    /// Path and query.
    pub path: &'a str,
    pub result: CallResult<'a>,
    pub latency: Duration,
    /// `10:42:07`, formatted by the caller.
    pub time: &'a str,
}

/// The status slot for a call's outcome.
pub fn result_style(result: CallResult<'_>, theme: &Theme) -> Style {
    match result {
        CallResult::Status(s) if (200..400).contains(&s) => theme.status.ok,
        CallResult::Status(s) if (400..500).contains(&s) => theme.status.warn,
        CallResult::Status(_) | CallResult::Failed(_) => theme.status.error,
    }
}

/// What the overlay shows; rows in the order given (newest first, usually).
#[derive(Debug, Clone, Copy)]
pub struct CallLog<'a> {
    pub rows: &'a [CallRow<'a>],
    /// Rows scrolled past; clamped by [`CallLog::render`].
    pub scroll: usize,
}

const TIME_W: u16 = 9;
const METHOD_W: u16 = 7;
const STATUS_W: u16 = 12;
const LATENCY_W: u16 = 8;

impl CallLog<'_> {
    /// Draws the log as an overlay over `area` (two cells of margin) and returns the scroll
    /// it used.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) -> usize {
        let area = buf.area.intersection(area);
        let outer = text::centered(
            area,
            area.width.saturating_sub(4),
            area.height.saturating_sub(2),
        );
        if outer.width < 20 || outer.height < 4 {
            return 0;
        }
        let h = &theme.help;
        text::clear(buf, outer, h.body);
        let title = format!(" API calls [{}] ", self.rows.len());
        Block::default()
            .borders(Borders::ALL)
            .border_type(BorderType::Rounded)
            .border_style(h.body.patch(h.border))
            .style(h.body)
            .title(Line::styled(title, h.body.patch(h.title)).centered())
            .render(outer, buf);
        let inner = Rect {
            x: outer.x + 1,
            y: outer.y + 1,
            width: outer.width - 2,
            height: outer.height - 2,
        };
        let path_w = inner
            .width
            .saturating_sub(TIME_W + METHOD_W + STATUS_W + LATENCY_W + 1);
        let header = h.body.patch(theme.table.header);
        let y = inner.y;
        text::clear(buf, Rect { height: 1, ..inner }, header);
        let mut x = inner.x;
        for (name, w, right) in [
            ("TIME", TIME_W, false),
            ("METHOD", METHOD_W, false),
            ("PATH", path_w, false),
            ("STATUS", STATUS_W, false),
            ("MS", LATENCY_W, true),
        ] {
            cell(buf, x, y, w, name, right, header);
            x += w;
        }
        let height = usize::from(inner.height - 1);
        let scroll = self.scroll.min(self.rows.len().saturating_sub(height));
        for (i, row) in self.rows.iter().skip(scroll).take(height).enumerate() {
            let y = inner.y + 1 + i as u16;
            let style = h.body.patch(result_style(row.result, theme));
            let status = match row.result {
                CallResult::Status(s) => s.to_string(),
                CallResult::Failed(why) => why.to_string(),
            };
            let ms = row.latency.as_millis().to_string();
            let mut x = inner.x;
            for (s, w, right) in [
                (row.time, TIME_W, false),
                (row.method, METHOD_W, false),
                (row.path, path_w, false),
                (status.as_str(), STATUS_W, false),
                (ms.as_str(), LATENCY_W, true),
            ] {
                cell(buf, x, y, w, s, right, style);
                x += w;
            }
        }
        scroll
    }
}

/// A cell `w` wide with a space after its text (the column gap), cut with `…`.
fn cell(buf: &mut Buffer, x: u16, y: u16, w: u16, s: &str, right: bool, style: Style) {
    let room = usize::from(w.saturating_sub(1));
    if right {
        text::put_right(buf, x + w.saturating_sub(1), y, s, room, style);
    } else {
        text::put(buf, x, y, s, room, style);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_coloured_by_outcome() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let row = |result, path| CallRow {
            method: "GET",
            path,
            result,
            latency: Duration::from_millis(42),
            time: "10:42:07",
        };
        let rows = [
            row(CallResult::Status(200), "/api/v1/sessions"),
            row(CallResult::Status(404), "/api/v1/sessions/x"),
            row(CallResult::Status(503), "/api/v1/jobs"),
            row(CallResult::Failed("unreachable"), "/api/v1/events"),
        ];
        let mut buf = Buffer::empty(Rect::new(0, 0, 80, 24));
        CallLog {
            rows: &rows,
            scroll: 0,
        }
        .render(buf.area, &mut buf, &theme);
        let line = |y: u16| -> String { (0..80).map(|x| buf[(x, y)].symbol()).collect() };
        // Overlay at (2, 1); header on y = 2, rows from y = 3, text from x = 3.
        assert!(line(3).contains("10:42:07 GET    /api/v1/sessions"));
        assert!(line(3).contains("200"));
        assert!(
            line(3)
                .trim_end()
                .trim_end_matches('│')
                .trim_end()
                .ends_with("42")
        );
        assert!(line(6).contains("unreachable"));
        let fg = |y: u16| Some(buf[(3, y)].fg);
        assert_eq!(fg(3), theme.status.ok.fg);
        assert_eq!(fg(4), theme.status.warn.fg);
        assert_eq!(fg(5), theme.status.error.fg);
        assert_eq!(fg(6), theme.status.error.fg);
        Ok(())
    }
}
