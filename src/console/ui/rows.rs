//! A view's table as the table widget reads it: only the shown columns, only the rows in the
//! viewport (the widget asks for no others), tones mapped to theme slots, filter matches
//! underlined; and the delivery-group bar drawn into its column.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Sparkline, Widget};
use std::collections::{BTreeMap, VecDeque};

use crate::console::app::convert;
use crate::console::keymap::View;

use crate::console::app::{Table, Tone};
use crate::console::theme::Theme;
use crate::console::widgets::group_bar::GroupMachines;
use crate::console::widgets::table::{self as widget, Column, RowSource};

/// Byte ranges to underline, per cell of a row.
type RowRanges = Vec<Vec<Range<usize>>>;

/// The table of one view, seen through its shown columns.
pub struct ViewRows<'a> {
    pub table: &'a Table,
    /// Indices of the table's columns that are shown, in order.
    pub shown: Vec<usize>,
    pub theme: &'a Theme,
    /// The filter's underlines of the row being drawn.
    highlights: RefCell<Option<(usize, RowRanges)>>,
}

impl<'a> ViewRows<'a> {
    pub fn new(table: &'a Table, theme: &'a Theme) -> ViewRows<'a> {
        let shown = (0..table.columns.len())
            .filter(|&i| table.columns[i].shown)
            .collect();
        ViewRows {
            table,
            shown,
            theme,
            highlights: RefCell::new(None),
        }
    }

    /// The widget's columns: the most important ones keep their width, the others shrink to
    /// their title before they are dropped.
    pub fn columns(&self) -> Vec<Column<'static>> {
        self.shown
            .iter()
            .map(|&i| {
                let c = &self.table.columns[i];
                let title = (c.title.chars().count() as u16 + 1).min(c.width).max(3);
                let min = if c.priority <= 1 { c.width } else { title };
                let column = Column::new(c.title, min, c.width.max(min)).priority(c.priority);
                if c.numeric { column.right() } else { column }
            })
            .collect()
    }

    /// The widget's sort indicator, in shown-column terms.
    pub fn sort(&self) -> Option<widget::SortKey> {
        let (col, descending) = self.table.sort?;
        let column = self.shown.iter().position(|&c| c == col)?;
        Some(widget::SortKey { column, descending })
    }
}

pub fn tone_style(tone: Tone, theme: &Theme) -> Style {
    match tone {
        Tone::Plain => Style::default(),
        Tone::Ok => theme.status.ok,
        Tone::Warn => theme.status.warn,
        Tone::Error => theme.status.error,
        Tone::Muted => theme.status.muted,
        Tone::Priority(p) => theme.priority(p),
        Tone::Age(0) => theme.age.fresh,
        Tone::Age(1) => theme.age.aging,
        Tone::Age(_) => theme.age.stale,
    }
}

impl RowSource for ViewRows<'_> {
    fn len(&self) -> usize {
        self.table.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cow<'_, str> {
        let text = match (self.table.shown(row), self.shown.get(col)) {
            (Some(r), Some(&c)) => r.cell(c),
            _ => "",
        };
        Cow::Borrowed(text)
    }

    fn tone(&self, row: usize) -> Style {
        self.table
            .shown(row)
            .map_or_else(Style::default, |r| tone_style(r.tone, self.theme))
    }

    fn cell_tone(&self, row: usize, col: usize) -> Style {
        let Some(r) = self.table.shown(row) else {
            return Style::default();
        };
        match (r.accent, self.shown.get(col)) {
            (Some((accent, tone)), Some(&c)) if accent == c => tone_style(tone, self.theme),
            _ => Style::default(),
        }
    }

    fn marked(&self, row: usize) -> bool {
        self.table
            .shown(row)
            .is_some_and(|r| self.table.is_marked(r))
    }

    fn matches(&self, row: usize, col: usize, out: &mut Vec<Range<usize>>) {
        let (Some(filter), Some(r), Some(&c)) = (
            &self.table.filter,
            self.table.shown(row),
            self.shown.get(col),
        ) else {
            return;
        };
        // The whole row decides (a fuzzy term is underlined only where it did not match as
        // text in another cell), so it is worked out once per row, for its first cell drawn.
        let mut cache = self.highlights.borrow_mut();
        if cache.as_ref().is_none_or(|(at, _)| *at != row) {
            *cache = Some((row, filter.row_highlights(r)));
        }
        if let Some((_, ranges)) = cache.as_ref() {
            out.extend(ranges.get(c).into_iter().flatten().cloned());
        }
    }
}

/// Where a named column's cells are on screen for the visible rows: (row position, cell).
/// Follows the table widget's layout (border, mark column, one space between columns).
fn column_cells(
    rows: &ViewRows<'_>,
    columns: &[Column<'_>],
    area: Rect,
    offset: usize,
    name: &str,
) -> Vec<(usize, Rect)> {
    let Some(col) = rows
        .shown
        .iter()
        .position(|&c| rows.table.columns[c].name == name)
    else {
        return Vec::new();
    };
    let inner = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    let widths = widget::column_widths(columns, inner.width.saturating_sub(widget::MARK_WIDTH));
    let Some(&width) = widths.get(col).filter(|w| **w > 0) else {
        return Vec::new();
    };
    let x = inner.x
        + widget::MARK_WIDTH
        + widths[..col]
            .iter()
            .filter(|w| **w > 0)
            .map(|w| w + 1)
            .sum::<u16>();
    let body_rows =
        usize::from(inner.height.saturating_sub(1)).min(rows.table.len().saturating_sub(offset));
    (0..body_rows)
        .map(|i| {
            (
                offset + i,
                Rect {
                    x,
                    y: inner.y + 1 + i as u16,
                    width,
                    height: 1,
                },
            )
        })
        .collect()
}

/// Draws each visible group's machine bar over its `machines` cell (`a/u/d/r/f` counts).
pub fn group_bars(
    rows: &ViewRows<'_>,
    columns: &[Column<'_>],
    area: Rect,
    offset: usize,
    buf: &mut Buffer,
) {
    let Some(col) = convert::column_index(View::Groups, "machines") else {
        return;
    };
    for (position, cell) in column_cells(rows, columns, area, offset, "machines") {
        let Some(row) = rows.table.shown(position) else {
            continue;
        };
        let counts: Vec<usize> = row
            .cell(col)
            .split('/')
            .map(|n| n.parse().unwrap_or(0))
            .collect();
        let [available, in_use, disconnected, unregistered, faulted] = counts[..] else {
            continue;
        };
        GroupMachines {
            available,
            in_use,
            disconnected,
            unregistered,
            faulted,
        }
        .render(cell, buf, rows.theme);
    }
}

/// Draws each visible site's session-count history as a sparkline in its `trend` cell.
pub fn site_trends(
    rows: &ViewRows<'_>,
    columns: &[Column<'_>],
    area: Rect,
    offset: usize,
    trends: &BTreeMap<String, VecDeque<u64>>,
    buf: &mut Buffer,
) {
    for (position, cell) in column_cells(rows, columns, area, offset, "trend") {
        let Some(row) = rows.table.shown(position) else {
            continue;
        };
        let Some(points) = trends.get(row.cell(0)) else {
            continue;
        };
        // The newest points that fit, oldest on the left.
        let skip = points.len().saturating_sub(usize::from(cell.width));
        let data: Vec<u64> = points.iter().skip(skip).copied().collect();
        Sparkline::default()
            .data(&data)
            .style(rows.theme.gauge.running)
            .render(cell, buf);
    }
}
