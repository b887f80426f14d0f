//! Tests of the data table: title, header, cursor and mark styles, filter highlights,
//! column dropping, scrolling, and that only the viewport's rows are read.

use super::*;
use crate::console::theme::Theme;
use ratatui::style::Modifier;
use std::cell::{Cell, RefCell};

/// Rows `r0`, `r1`, … with cells `name-<row>` and the row number; counts and records every
/// row it is asked about.
struct Rows {
    len: usize,
    marked: Vec<usize>,
    calls: Cell<usize>,
    seen: RefCell<(usize, usize)>,
    filter: Option<&'static str>,
}

impl Rows {
    fn new(len: usize) -> Self {
        Rows {
            len,
            marked: Vec::new(),
            calls: Cell::new(0),
            seen: RefCell::new((usize::MAX, 0)),
            filter: None,
        }
    }

    fn touch(&self, row: usize) {
        let mut seen = self.seen.borrow_mut();
        *seen = (seen.0.min(row), seen.1.max(row));
    }
}

impl RowSource for Rows {
    fn len(&self) -> usize {
        self.len
    }

    fn cell(&self, row: usize, col: usize) -> Cow<'_, str> {
        self.calls.set(self.calls.get() + 1);
        self.touch(row);
        match col {
            0 => Cow::Owned(format!("alice-{row}")),
            1 => Cow::Owned(row.to_string()),
            _ => Cow::Borrowed("a rather long description of the session"),
        }
    }

    fn marked(&self, row: usize) -> bool {
        self.touch(row);
        self.marked.contains(&row)
    }

    fn matches(&self, row: usize, col: usize, out: &mut Vec<Range<usize>>) {
        self.touch(row);
        if let (Some(f), 0) = (self.filter, col) {
            let cell = self.cell(row, col);
            if let Some(at) = cell.find(f) {
                out.push(at..at + f.len());
            }
        }
    }
}

const COLUMNS: [Column<'static>; 3] = [
    Column::new("USER", 8, 14),
    Column::new("ID", 4, 8).right(),
    Column::new("DESCRIPTION", 12, 60).priority(2),
];

fn table<'a>(rows: &'a Rows, cursor: usize, offset: usize) -> Table<'a, Rows> {
    Table {
        title: TableTitle {
            view: "sessions",
            scope: Some("London"),
            count: rows.len,
            filter: None,
        },
        columns: &COLUMNS,
        source: rows,
        cursor,
        offset,
        sort: Some(SortKey {
            column: 1,
            descending: true,
        }),
        focused: true,
        empty: None,
    }
}

fn line(buf: &Buffer, y: u16) -> String {
    (buf.area.x..buf.area.right())
        .map(|x| buf[(x, y)].symbol())
        .collect()
}

fn themes() -> anyhow::Result<[Theme; 2]> {
    Ok([Theme::load("default", None)?, Theme::load("mono", None)?])
}

#[test]
fn title_header_and_cursor_row() -> anyhow::Result<()> {
    for theme in themes()? {
        let rows = Rows::new(1234);
        let mut buf = Buffer::empty(Rect::new(0, 0, 60, 10));
        let offset = table(&rows, 3, 0).render(buf.area, &mut buf, &theme);
        assert_eq!(offset, 0);
        let top = line(&buf, 0);
        assert!(top.contains(" sessions(London)[1,234] "), "{top}");
        let view_x = top.chars().position(|c| c == 's').unwrap_or(0) as u16;
        assert!(
            buf[(view_x, 0)]
                .modifier
                .contains(theme.title.view.add_modifier)
        );
        if let Some(fg) = theme.title.view.fg {
            assert_eq!(buf[(view_x, 0)].fg, fg);
        }
        // Header: the sort column carries its arrow, right-aligned like its cells.
        assert!(line(&buf, 1).contains("USER"));
        assert!(line(&buf, 1).contains("ID▼"));
        assert!(
            buf[(3, 1)]
                .modifier
                .contains(theme.table.header.add_modifier)
        );
        // Rows start on y = 2; the cursor (row 3) is y = 5 and has the selected style
        // across the whole width, the others do not.
        assert!(line(&buf, 5).starts_with("│  alice-3"));
        let selected = theme.base.text.patch(theme.table.selected);
        for x in [1, 3, 40, 58] {
            assert_eq!(buf[(x, 5)].bg, selected.bg.unwrap_or_default(), "x={x}");
            assert_eq!(buf[(x, 5)].modifier, selected.add_modifier, "x={x}");
        }
        assert_ne!(buf[(3, 4)].style(), buf[(3, 5)].style());
        // Long cells are cut with an ellipsis.
        assert!(
            line(&buf, 2)
                .trim_end_matches('│')
                .trim_end()
                .ends_with('…')
        );
    }
    Ok(())
}

#[test]
fn marked_rows_get_the_glyph_and_style_and_focus_changes_the_cursor() -> anyhow::Result<()> {
    let [theme, mono] = themes()?;
    let mut rows = Rows::new(20);
    rows.marked = vec![1, 2];
    let mut buf = Buffer::empty(Rect::new(0, 0, 60, 10));
    table(&rows, 2, 0).render(buf.area, &mut buf, &theme);
    // Row 1 (y = 3): marked, not the cursor. Row 2 (y = 4): marked and the cursor.
    assert_eq!(buf[(1, 3)].symbol(), MARK_GLYPH);
    assert_eq!(buf[(1, 2)].symbol(), " ");
    let marked = theme.base.text.patch(theme.table.marked);
    assert_eq!(buf[(3, 3)].fg, marked.fg.unwrap_or_default());
    assert!(buf[(3, 3)].modifier.contains(Modifier::BOLD));
    assert_eq!(buf[(1, 4)].symbol(), MARK_GLYPH);
    assert_eq!(Some(buf[(3, 4)].bg), theme.table.selected_marked.bg);

    let mut unfocused = table(&rows, 5, 0);
    unfocused.focused = false;
    unfocused.render(buf.area, &mut buf, &theme);
    assert_eq!(Some(buf[(3, 7)].bg), theme.table.selected_inactive.bg);
    assert_eq!(buf[(0, 0)].fg, theme.border.normal.fg.unwrap_or_default());

    // Without colour the cursor and marks still show, through modifiers.
    table(&rows, 5, 0).render(buf.area, &mut buf, &mono);
    assert!(buf[(3, 7)].modifier.contains(Modifier::REVERSED));
    assert!(buf[(3, 3)].modifier.contains(Modifier::BOLD));
    assert!(!buf[(3, 6)].modifier.contains(Modifier::REVERSED));
    Ok(())
}

#[test]
fn filter_matches_are_patched_onto_the_row_style() -> anyhow::Result<()> {
    let [theme, _] = themes()?;
    let mut rows = Rows::new(20);
    rows.filter = Some("ice");
    let mut buf = Buffer::empty(Rect::new(0, 0, 60, 10));
    let mut t = table(&rows, 0, 0);
    t.title.filter = Some("ice");
    t.render(buf.area, &mut buf, &theme);
    assert!(line(&buf, 0).contains("</ice>"));
    // `alice-0` at x = 3 on the cursor row y = 2, `ice` at x = 5..8.
    let selected = theme.base.text.patch(theme.table.selected);
    let hit = selected.patch(theme.table.filter_match);
    assert_eq!(buf[(4, 2)].modifier, selected.add_modifier);
    for x in 5..8 {
        assert_eq!(buf[(x, 2)].modifier, hit.add_modifier, "x={x}");
        assert_eq!(Some(buf[(x, 2)].bg), selected.bg);
    }
    assert_eq!(buf[(8, 2)].modifier, selected.add_modifier);
    // On an ordinary row the match keeps the row's colours.
    assert!(buf[(5, 3)].modifier.contains(Modifier::UNDERLINED));
    assert!(!buf[(4, 3)].modifier.contains(Modifier::UNDERLINED));
    Ok(())
}

#[test]
fn only_rows_in_the_viewport_are_read() -> anyhow::Result<()> {
    let [theme, _] = themes()?;
    let rows = Rows::new(100_000);
    let mut buf = Buffer::empty(Rect::new(0, 0, 200, 50));
    let offset = table(&rows, 50_000, 0).render(buf.area, &mut buf, &theme);
    let height = body_height(buf.area);
    assert_eq!(height, 47);
    assert_eq!(offset, 50_000 + 1 - height);
    assert_eq!(*rows.seen.borrow(), (offset, 50_000));
    assert_eq!(rows.calls.get(), height * COLUMNS.len());
    // The cursor row is the last one on screen.
    assert!(line(&buf, 48).contains("alice-50000"));
    Ok(())
}

#[test]
fn scroll_offset_keeps_the_cursor_visible_and_moves_little() {
    assert_eq!(scroll_offset(0, 5, 100, 10), 0);
    assert_eq!(scroll_offset(0, 10, 100, 10), 1);
    assert_eq!(scroll_offset(20, 15, 100, 10), 15);
    assert_eq!(scroll_offset(20, 25, 100, 10), 20);
    // No blank rows at the end after the list shrank; cursor past the end is clamped.
    assert_eq!(scroll_offset(95, 99, 100, 10), 90);
    assert_eq!(scroll_offset(50, 500, 30, 10), 20);
    assert_eq!(scroll_offset(7, 0, 0, 10), 0);
    assert_eq!(scroll_offset(3, 2, 5, 10), 0);
}

#[test]
fn narrow_terminals_drop_the_least_important_columns() {
    let cols = [
        Column::new("A", 10, 20),
        Column::new("B", 10, 20).priority(1),
        Column::new("C", 10, 20).priority(3),
        Column::new("D", 10, 20).priority(1),
    ];
    assert_eq!(column_widths(&cols, 83), [20, 20, 20, 20]);
    assert_eq!(column_widths(&cols, 43), [10, 10, 10, 10]);
    // C goes first, then the rightmost of the priority-1 columns.
    assert_eq!(column_widths(&cols, 42), [14, 13, 0, 13]);
    assert_eq!(column_widths(&cols, 25), [12, 12, 0, 0]);
    assert_eq!(column_widths(&cols, 6), [6, 0, 0, 0]);

    let rows = Rows::new(3);
    let mut buf = Buffer::empty(Rect::new(0, 0, 28, 6));
    let theme = Theme::load("default", None);
    if let Ok(theme) = theme {
        table(&rows, 0, 0).render(buf.area, &mut buf, &theme);
        assert!(!line(&buf, 1).contains("DESC"));
        assert!(line(&buf, 1).contains("USER"));
    }
}

#[test]
fn an_empty_view_says_what_matched_nothing() -> anyhow::Result<()> {
    let [theme, _] = themes()?;
    let rows = Rows::new(0);
    let mut buf = Buffer::empty(Rect::new(0, 0, 40, 7));
    let mut t = table(&rows, 0, 5);
    t.title.filter = Some("bob");
    assert_eq!(t.render(buf.area, &mut buf, &theme), 0);
    let middle = line(&buf, 3);
    assert!(middle.contains("no sessions match </bob>"), "{middle}");
    let x = middle.chars().position(|c| c == 'n').unwrap_or(0) as u16;
    assert_eq!(Some(buf[(x, 3)].fg), theme.status.muted.fg);
    assert_eq!(rows.calls.get(), 0);
    Ok(())
}
