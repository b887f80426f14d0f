//! The `:reports` screen's widgets: the list of reports, and one report as a table (counts
//! right-aligned) over a horizontal bar chart of its main measure, every bar on one scale
//! and split into coloured parts (distinct glyphs in a theme without colour).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, BorderType, Borders, Widget};

use super::bar::{Segment, draw};
use super::text;
use crate::console::client::ReportData;
use crate::console::theme::Theme;

/// How a part of a bar is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Good,
    Busy,
    Warn,
    Bad,
    Off,
    Info,
}

impl Part {
    pub fn style(self, theme: &Theme) -> Style {
        match self {
            Part::Good => theme.group_bar.available,
            Part::Busy => theme.group_bar.in_use,
            Part::Warn => theme.group_bar.disconnected,
            Part::Bad => theme.gauge.failed,
            Part::Off => theme.status.muted,
            Part::Info => theme.gauge.running,
        }
    }

    /// The glyph in a theme without colour, so parts stay apart.
    pub fn mono_glyph(self) -> &'static str {
        match self {
            Part::Good => "░",
            Part::Busy => "█",
            Part::Warn => "▒",
            Part::Bad => "x",
            Part::Off => "·",
            Part::Info => "▓",
        }
    }
}

/// One series of a chart: its legend name and how it is drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub name: String,
    pub part: Part,
}

/// A horizontal bar chart: one bar per entry, split by series, all on one scale.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chart {
    pub title: String,
    pub series: Vec<Series>,
    /// (label, one count per series).
    pub bars: Vec<(String, Vec<u64>)>,
}

impl Chart {
    /// The longest bar's total: the scale every bar is drawn on.
    pub fn scale(&self) -> u64 {
        self.bars
            .iter()
            .map(|(_, v)| v.iter().sum::<u64>())
            .max()
            .unwrap_or(0)
    }
}

/// The bordered panel both screens are drawn in; returns its inside.
fn panel(area: Rect, buf: &mut Buffer, theme: &Theme, title: &str) -> Option<Rect> {
    let area = buf.area.intersection(area);
    let outer = text::centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    if outer.width < 24 || outer.height < 6 {
        return None;
    }
    let h = &theme.help;
    text::clear(buf, outer, h.body);
    Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(h.body.patch(h.border))
        .style(h.body)
        .title(Line::styled(format!(" {title} "), h.body.patch(h.title)).centered())
        .render(outer, buf);
    Some(Rect {
        x: outer.x + 1,
        y: outer.y + 1,
        width: outer.width - 2,
        height: outer.height - 2,
    })
}

fn hint(inner: Rect, buf: &mut Buffer, theme: &Theme, hint: &str) {
    let y = inner.bottom().saturating_sub(1);
    text::put(
        buf,
        inner.x,
        y,
        hint,
        usize::from(inner.width),
        theme.help.body.patch(theme.hint.desc),
    );
}

/// The list of reports.
#[derive(Debug, Clone, Copy)]
pub struct ReportList<'a> {
    /// (name, title, description).
    pub items: &'a [(&'a str, &'a str, &'a str)],
    pub cursor: usize,
    /// Loading, or why the list could not be read.
    pub status: Option<&'a str>,
}

impl ReportList<'_> {
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let Some(inner) = panel(area, buf, theme, "reports") else {
            return;
        };
        let body = theme.help.body;
        let width = usize::from(inner.width);
        let name_w = self
            .items
            .iter()
            .map(|(n, _, _)| text::width(n))
            .max()
            .unwrap_or(0)
            + 2;
        let mut y = inner.y;
        for (i, (name, title, _)) in self.items.iter().enumerate() {
            if y >= inner.bottom().saturating_sub(1) {
                break;
            }
            let style = if i == self.cursor {
                body.patch(theme.table.selected)
            } else {
                body
            };
            text::clear(buf, Rect::new(inner.x, y, inner.width, 1), style);
            let x = text::put(
                buf,
                inner.x + 1,
                y,
                name,
                width,
                style.patch(theme.help.key),
            );
            let x = x.max(inner.x + 1 + name_w as u16);
            text::put(
                buf,
                x,
                y,
                title,
                width.saturating_sub(usize::from(x - inner.x)),
                style,
            );
            y += 1;
        }
        y += 1;
        if let Some(status) = self.status {
            text::put(
                buf,
                inner.x + 1,
                y,
                status,
                width,
                body.patch(theme.status.warn),
            );
        } else if let Some((_, _, description)) = self.items.get(self.cursor) {
            for line in text::wrap(description, width.saturating_sub(2)) {
                if y >= inner.bottom().saturating_sub(1) {
                    break;
                }
                text::put(
                    buf,
                    inner.x + 1,
                    y,
                    &line,
                    width,
                    body.patch(theme.base.label),
                );
                y += 1;
            }
        }
        hint(
            inner,
            buf,
            theme,
            "↑↓ choose · enter open · r reload · esc close",
        );
    }
}

/// One report: a header line, the table, the chart.
#[derive(Debug, Clone, Copy)]
pub struct ReportView<'a> {
    /// The report's name, shown until its data arrives.
    pub name: &'a str,
    pub data: Option<&'a ReportData>,
    pub chart: &'a Chart,
    /// Table rows scrolled past.
    pub scroll: usize,
    /// Under the title: when it was made and how old its data is, or loading, or the error.
    pub status: &'a str,
}

impl ReportView<'_> {
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let title = format!("report: {}", self.name);
        let Some(inner) = panel(area, buf, theme, &title) else {
            return;
        };
        let body = theme.help.body;
        let width = usize::from(inner.width);
        let mut y = inner.y;
        if let Some(data) = self.data {
            text::put(
                buf,
                inner.x,
                y,
                &data.title,
                width,
                body.patch(theme.help.title),
            );
            y += 1;
        }
        text::put(
            buf,
            inner.x,
            y,
            self.status,
            width,
            body.patch(theme.base.label),
        );
        y += 2;
        let Some(data) = self.data else {
            hint(inner, buf, theme, "r reload · esc back");
            return;
        };
        // The chart takes one line per bar (up to half the room), plus title and legend.
        let room = inner.bottom().saturating_sub(1).saturating_sub(y);
        let chart_rows = (self.chart.bars.len() as u16 + 2).min(room / 2);
        let table_rows = room.saturating_sub(chart_rows + 1);
        self.table(
            data,
            Rect::new(inner.x, y, inner.width, table_rows),
            buf,
            theme,
        );
        let chart_area = Rect::new(inner.x, y + table_rows + 1, inner.width, chart_rows);
        render_chart(self.chart, chart_area, buf, theme);
        hint(
            inner,
            buf,
            theme,
            "↑↓ scroll · r reload · esc back to the list",
        );
    }

    fn table(&self, data: &ReportData, area: Rect, buf: &mut Buffer, theme: &Theme) {
        if area.height == 0 {
            return;
        }
        let body = theme.help.body;
        let cells: Vec<Vec<String>> = data
            .rows
            .iter()
            .map(|r| r.iter().map(ReportData::text).collect())
            .collect();
        let widths: Vec<usize> = data
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|s| text::width(s))
                    .chain([text::width(&c.title)])
                    .max()
                    .unwrap_or(0)
                    .min(30)
            })
            .collect();
        let line = |buf: &mut Buffer, y: u16, values: &[&str], style: Style| {
            let mut x = area.x;
            for ((column, w), value) in data.columns.iter().zip(&widths).zip(values) {
                let room = usize::from(area.right().saturating_sub(x));
                if room == 0 {
                    break;
                }
                let w16 = *w as u16;
                if column.numeric {
                    let right = (x + w16).min(area.right());
                    text::put_right(buf, right, y, value, (*w).min(room), style);
                } else {
                    text::put(buf, x, y, value, (*w).min(room), style);
                }
                x = x.saturating_add(w16 + 2);
            }
        };
        let header: Vec<&str> = data.columns.iter().map(|c| c.title.as_str()).collect();
        let header_style = body.patch(theme.table.header);
        text::clear(buf, Rect { height: 1, ..area }, header_style);
        line(buf, area.y, &header, header_style);
        if cells.is_empty() {
            text::put(
                buf,
                area.x,
                area.y + 1,
                "no rows",
                usize::from(area.width),
                body,
            );
            return;
        }
        let shown = usize::from(area.height - 1);
        let scroll = self.scroll.min(cells.len().saturating_sub(shown));
        for (i, row) in cells.iter().skip(scroll).take(shown).enumerate() {
            let values: Vec<&str> = row.iter().map(String::as_str).collect();
            line(buf, area.y + 1 + i as u16, &values, body);
        }
    }
}

/// The chart: its title and legend on the first line, one labelled bar per line after.
pub fn render_chart(chart: &Chart, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let area = buf.area.intersection(area);
    if area.height == 0 || area.width < 20 {
        return;
    }
    let body = theme.help.body;
    let colour = theme.uses_colour();
    let glyph = |part: Part| if colour { "█" } else { part.mono_glyph() };
    let mut x = text::put(
        buf,
        area.x,
        area.y,
        &chart.title,
        usize::from(area.width),
        body.patch(theme.help.section),
    );
    for series in &chart.series {
        let room = usize::from(area.right().saturating_sub(x + 2));
        if room < 3 {
            break;
        }
        let style = body.patch(series.part.style(theme));
        x = text::put(buf, x + 2, area.y, glyph(series.part), room, style);
        let room = usize::from(area.right().saturating_sub(x + 1));
        x = text::put(buf, x + 1, area.y, &series.name, room, body);
    }
    let scale = chart.scale();
    let label_w = chart
        .bars
        .iter()
        .map(|(l, _)| text::width(l))
        .max()
        .unwrap_or(0)
        .min(32) as u16;
    let total_w = scale.to_string().len() as u16 + 1;
    let bar_w = area.width.saturating_sub(label_w + 1 + total_w);
    for (i, (label, counts)) in chart.bars.iter().enumerate() {
        let y = area.y + 1 + i as u16;
        if y >= area.bottom() {
            break;
        }
        text::put(buf, area.x, y, label, usize::from(label_w), body);
        let total: u64 = counts.iter().sum();
        if bar_w >= 4 {
            let segments: Vec<Segment> = chart
                .series
                .iter()
                .zip(counts)
                .map(|(s, n)| Segment {
                    count: usize::try_from(*n).unwrap_or(usize::MAX),
                    glyph: glyph(s.part),
                    style: body.patch(s.part.style(theme)),
                })
                .collect();
            draw(
                buf,
                area.x + label_w + 1,
                y,
                bar_w,
                &segments,
                usize::try_from(scale).unwrap_or(usize::MAX),
                (" ", body),
            );
        }
        text::put_right(
            buf,
            area.right(),
            y,
            &total.to_string(),
            usize::from(total_w),
            body,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_share_one_scale_and_show_their_totals() -> anyhow::Result<()> {
        let theme = Theme::load("mono", None)?;
        let chart = Chart {
            title: "machines".into(),
            series: vec![
                Series {
                    name: "free".into(),
                    part: Part::Good,
                },
                Series {
                    name: "busy".into(),
                    part: Part::Busy,
                },
            ],
            bars: vec![("a".into(), vec![2, 2]), ("b".into(), vec![0, 2])],
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 26, 3));
        render_chart(&chart, buf.area, &mut buf, &theme);
        let line = |y: u16| -> String { (0..26).map(|x| buf[(x, y)].symbol()).collect() };
        // 26 wide: label 1, gap 1, total 2, so 22 cells of bar; 4 is the scale.
        assert_eq!(line(1), format!("a {}{} 4", "░".repeat(11), "█".repeat(11)));
        assert!(line(2).starts_with("b ███████████ "), "{}", line(2));
        assert!(line(2).ends_with(" 2"), "{}", line(2));
        assert!(
            line(0).starts_with("machines  ░ free  █ busy"),
            "{}",
            line(0)
        );
        Ok(())
    }
}
