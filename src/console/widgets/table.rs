//! The data table of every list view: a bordered table titled `sessions(London)[1,234]
//! </alice>`, with a sort arrow in the header, a mark column, the cursor row, filter matches
//! highlighted and cells cut with `…`.
//!
//! It reads rows through [`RowSource`] and asks only for the rows in the viewport, so a frame
//! costs the same for 100 rows as for 100,000 (see `benches/console_frame.rs`). Columns that do
//! not fit a narrow terminal are dropped, least important first ([`column_widths`]).

use super::text::{self, put, put_right, thousands};
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Widget};
use std::borrow::Cow;
use std::ops::Range;

/// Drawn in the mark column of a marked row.
pub const MARK_GLYPH: &str = "●";
/// Cells taken by the mark column (the glyph and a space).
pub const MARK_WIDTH: u16 = 2;
/// Appended to the sorted column's name.
pub const SORT_ASCENDING: &str = "▲";
pub const SORT_DESCENDING: &str = "▼";

/// Where a table's rows come from. Only rows in `offset..offset + height` are asked for.
pub trait RowSource {
    /// Rows in the (filtered, sorted) view.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of one cell; borrow it when the data holds it as text.
    fn cell(&self, row: usize, col: usize) -> Cow<'_, str>;

    /// The row's own style (a down connector, a stale ticket), from the theme; the cursor
    /// and mark styles are drawn over it.
    fn tone(&self, _row: usize) -> Style {
        Style::default()
    }

    /// A style for one cell over the row's tone (the priority column).
    fn cell_tone(&self, _row: usize, _col: usize) -> Style {
        Style::default()
    }

    fn marked(&self, _row: usize) -> bool {
        false
    }

    /// Byte ranges of `cell(row, col)` that the active filter matched, pushed onto `out`
    /// (which arrives empty). Ranges not on character boundaries are ignored.
    fn matches(&self, _row: usize, _col: usize, _out: &mut Vec<Range<usize>>) {}
}

/// One column: its header, how wide it may be, and how important it is to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column<'a> {
    pub name: &'a str,
    /// Narrower than this, the column is dropped rather than squeezed.
    pub min: u16,
    /// Spare width goes to columns until they reach this.
    pub max: u16,
    pub right: bool,
    /// 0 is kept longest; on a narrow terminal the highest numbers go first.
    pub priority: u8,
}

impl<'a> Column<'a> {
    /// A left-aligned column between `min` and `max` cells, priority 0.
    pub const fn new(name: &'a str, min: u16, max: u16) -> Self {
        Column {
            name,
            min,
            max,
            right: false,
            priority: 0,
        }
    }

    /// Right-aligned (numbers).
    pub const fn right(mut self) -> Self {
        self.right = true;
        self
    }

    pub const fn priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }
}

/// The parts of the border title: `sessions(London)[1,234] </alice>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableTitle<'a> {
    pub view: &'a str,
    pub scope: Option<&'a str>,
    pub count: usize,
    pub filter: Option<&'a str>,
}

/// The sorted column and its direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub column: usize,
    pub descending: bool,
}

/// Everything a frame of the table needs.
pub struct Table<'a, S: RowSource + ?Sized> {
    pub title: TableTitle<'a>,
    pub columns: &'a [Column<'a>],
    pub source: &'a S,
    pub cursor: usize,
    /// The first row shown last frame; the returned offset replaces it.
    pub offset: usize,
    pub sort: Option<SortKey>,
    /// Whether the pane has the focus (selected vs selected_inactive, border).
    pub focused: bool,
    /// Replaces the default `no sessions match </bob>` when the view is empty.
    pub empty: Option<&'a str>,
}

/// Rows of data that fit in a table drawn in `area` (borders and header taken off), for
/// paging keys and [`scroll_offset`].
pub fn body_height(area: Rect) -> usize {
    usize::from(area.height.saturating_sub(3))
}

/// The first row to show so that `cursor` is visible, moving as little as possible from
/// `offset` and leaving no blank rows at the bottom when there are enough rows to fill it.
pub fn scroll_offset(offset: usize, cursor: usize, len: usize, height: usize) -> usize {
    if len == 0 || height == 0 {
        return 0;
    }
    let cursor = cursor.min(len - 1);
    let mut offset = offset.min(len.saturating_sub(height));
    if cursor < offset {
        offset = cursor;
    } else if cursor >= offset + height {
        offset = cursor + 1 - height;
    }
    offset
}

/// Each column's width in `width` cells (separators of one cell between columns); 0 means
/// the column is dropped. Columns are dropped by priority (highest number first, rightmost
/// first among equals) until the rest fit at their minimum; spare cells then go evenly to
/// the columns below their maximum. The most important column is kept even when it does
/// not fit, cut to the width there is.
pub fn column_widths(columns: &[Column<'_>], width: u16) -> Vec<u16> {
    let mut kept: Vec<bool> = vec![true; columns.len()];
    let need = |kept: &[bool]| -> u32 {
        let (sum, n) = columns
            .iter()
            .zip(kept)
            .filter(|(_, k)| **k)
            .fold((0u32, 0u32), |(s, n), (c, _)| (s + u32::from(c.min), n + 1));
        sum + n.saturating_sub(1)
    };
    while need(&kept) > u32::from(width) && kept.iter().filter(|k| **k).count() > 1 {
        let drop = (0..columns.len())
            .filter(|i| kept[*i])
            .max_by_key(|i| (columns[*i].priority, *i));
        match drop {
            Some(i) => kept[i] = false,
            None => break,
        }
    }
    let mut widths: Vec<u16> = columns
        .iter()
        .zip(&kept)
        .map(|(c, k)| if *k { c.min.max(1) } else { 0 })
        .collect();
    let used = need(&kept);
    if used > u32::from(width) {
        // Only the most important column is left and even it does not fit.
        for w in widths.iter_mut().filter(|w| **w > 0) {
            *w = width;
        }
        return widths;
    }
    let mut spare = u32::from(width) - used;
    while spare > 0 {
        let growing: Vec<usize> = (0..columns.len())
            .filter(|i| widths[*i] > 0 && widths[*i] < columns[*i].max)
            .collect();
        if growing.is_empty() {
            break;
        }
        let share = (spare / growing.len() as u32).max(1);
        for i in growing {
            if spare == 0 {
                break;
            }
            let room = u32::from(columns[i].max - widths[i]);
            let add = share.min(room).min(spare);
            widths[i] += add as u16;
            spare -= add;
        }
    }
    widths
}

impl<S: RowSource + ?Sized> Table<'_, S> {
    /// Draws the table into `area` and returns the scroll offset used, which the caller keeps
    /// for the next frame.
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
            .title(self.title_line(theme).centered());
        let inner = block.inner(area);
        text::clear(buf, area, theme.base.text);
        block.render(area, buf);
        if inner.height == 0 || inner.width == 0 {
            return self.offset;
        }
        let data_width = inner.width.saturating_sub(MARK_WIDTH);
        let widths = column_widths(self.columns, data_width);
        let xs = self.column_xs(inner.x + MARK_WIDTH, &widths);
        self.render_header(inner, &widths, &xs, buf, theme);

        let body = Rect {
            y: inner.y + 1,
            height: inner.height - 1,
            ..inner
        };
        let len = self.source.len();
        if len == 0 {
            self.render_empty(body, buf, theme);
            return 0;
        }
        let height = usize::from(body.height);
        let offset = scroll_offset(self.offset, self.cursor, len, height);
        let end = (offset + height).min(len);
        let mut ranges: Vec<Range<usize>> = Vec::new();
        for (i, row) in (offset..end).enumerate() {
            let y = body.y + i as u16;
            let marked = self.source.marked(row);
            let style = self.row_style(row, marked, theme);
            buf.set_style(
                Rect {
                    y,
                    height: 1,
                    ..body
                },
                style,
            );
            if marked {
                buf.set_stringn(body.x, y, MARK_GLYPH, 1, style);
            }
            for (col, (&w, &x)) in widths.iter().zip(&xs).enumerate() {
                if w == 0 {
                    continue;
                }
                let cell = self.source.cell(row, col);
                let cell_style = style.patch(self.source.cell_tone(row, col));
                let cell_style = if row == self.cursor || marked {
                    cell_style.patch(style)
                } else {
                    cell_style
                };
                ranges.clear();
                self.source.matches(row, col, &mut ranges);
                let hit = cell_style.patch(theme.table.filter_match);
                draw_cell(
                    buf,
                    x,
                    y,
                    w,
                    &cell,
                    self.columns[col].right,
                    cell_style,
                    &ranges,
                    hit,
                );
            }
        }
        offset
    }

    fn title_line(&self, theme: &Theme) -> Line<'_> {
        let t = &self.title;
        let mut spans = vec![Span::raw(" "), Span::styled(t.view, theme.title.view)];
        if let Some(scope) = t.scope {
            spans.push(Span::styled(format!("({scope})"), theme.title.scope));
        }
        spans.push(Span::styled(
            format!("[{}]", thousands(t.count)),
            theme.title.count,
        ));
        if let Some(filter) = t.filter.filter(|f| !f.is_empty()) {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(format!("</{filter}>"), theme.title.filter));
        }
        spans.push(Span::raw(" "));
        Line::from(spans)
    }

    fn column_xs(&self, x0: u16, widths: &[u16]) -> Vec<u16> {
        let mut x = x0;
        widths
            .iter()
            .map(|&w| {
                let here = x;
                if w > 0 {
                    x = x.saturating_add(w + 1);
                }
                here
            })
            .collect()
    }

    fn render_header(
        &self,
        inner: Rect,
        widths: &[u16],
        xs: &[u16],
        buf: &mut Buffer,
        theme: &Theme,
    ) {
        let style = theme.base.text.patch(theme.table.header);
        buf.set_style(Rect { height: 1, ..inner }, style);
        for (col, (&w, &x)) in widths.iter().zip(xs).enumerate() {
            if w == 0 {
                continue;
            }
            let c = &self.columns[col];
            let name: Cow<'_, str> = match self.sort {
                Some(s) if s.column == col => {
                    let arrow = if s.descending {
                        SORT_DESCENDING
                    } else {
                        SORT_ASCENDING
                    };
                    Cow::Owned(format!("{}{arrow}", c.name))
                }
                _ => Cow::Borrowed(c.name),
            };
            if c.right {
                put_right(buf, x + w, inner.y, &name, usize::from(w), style);
            } else {
                put(buf, x, inner.y, &name, usize::from(w), style);
            }
        }
    }

    fn render_empty(&self, body: Rect, buf: &mut Buffer, theme: &Theme) {
        if body.height == 0 {
            return;
        }
        let message: Cow<'_, str> = match (self.empty, self.title.filter) {
            (Some(m), _) => Cow::Borrowed(m),
            (None, Some(f)) if !f.is_empty() => {
                Cow::Owned(format!("no {} match </{f}>", self.title.view))
            }
            (None, _) => Cow::Owned(format!("no {}", self.title.view)),
        };
        let shown = text::truncate(&message, usize::from(body.width));
        let w = text::width(&shown) as u16;
        let x = body.x + (body.width.saturating_sub(w)) / 2;
        let y = body.y + (body.height - 1) / 2;
        buf.set_stringn(
            x,
            y,
            shown.as_ref(),
            usize::from(body.width),
            theme.base.text.patch(theme.status.muted),
        );
    }

    fn row_style(&self, row: usize, marked: bool, theme: &Theme) -> Style {
        let style = theme.base.text.patch(self.source.tone(row));
        if row == self.cursor {
            let slot = match (self.focused, marked) {
                (true, true) => theme.table.selected_marked,
                (true, false) => theme.table.selected,
                (false, true) => theme.table.marked.patch(theme.table.selected_inactive),
                (false, false) => theme.table.selected_inactive,
            };
            style.patch(slot)
        } else if marked {
            style.patch(theme.table.marked)
        } else {
            style
        }
    }
}

/// One cell: cut to `w` with `…`, aligned, with the filter's byte `ranges` restyled.
#[expect(
    clippy::too_many_arguments,
    reason = "a hot inner call; a struct per cell would only add copies"
)]
fn draw_cell(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    w: u16,
    cell: &str,
    right: bool,
    style: Style,
    ranges: &[Range<usize>],
    hit: Style,
) {
    let max = usize::from(w);
    let shown = text::truncate(cell, max);
    let shown_w = text::width(&shown) as u16;
    let x = if right {
        x + w.saturating_sub(shown_w)
    } else {
        x
    };
    buf.set_stringn(x, y, shown.as_ref(), max, style);
    // The shown text is a prefix of the cell (plus `…`), so the ranges still index it.
    let kept = if shown.len() == cell.len() {
        cell.len()
    } else {
        shown.len() - text::ELLIPSIS.len()
    };
    for r in ranges {
        let end = r.end.min(kept);
        if r.start >= end || !cell.is_char_boundary(r.start) || !cell.is_char_boundary(end) {
            continue;
        }
        let from = text::width(&cell[..r.start]) as u16;
        let span = text::width(&cell[r.start..end]) as u16;
        let area = Rect::new(x + from, y, span, 1);
        buf.set_style(area, hit);
    }
}

#[cfg(test)]
#[path = "tests/table.rs"]
mod tests;
