//! One console frame: the data table widget drawn at 200×50 from 100,000 in-memory rows of 7
//! columns with the cursor in the middle (target < 2 ms), and a cursor move plus re-render
//! (target < 1 ms). Results go in docs/perf.md.

use criterion::{Criterion, criterion_group, criterion_main};
use deskbridge::console::theme::Theme;
use deskbridge::console::widgets::table::{
    Column, RowSource, SortKey, Table, TableTitle, body_height, scroll_offset,
};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use std::borrow::Cow;
use std::collections::HashSet;
use std::hint::black_box;
use std::ops::Range;

const ROWS: usize = 100_000;

/// Rows held as text, as the console holds a loaded view.
struct Sessions {
    cells: Vec<[String; 7]>,
    marked: HashSet<usize>,
    filter: &'static str,
    down: Style,
}

impl RowSource for Sessions {
    fn len(&self) -> usize {
        self.cells.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cow<'_, str> {
        Cow::Borrowed(self.cells[row][col].as_str())
    }

    fn tone(&self, row: usize) -> Style {
        if row.is_multiple_of(17) {
            self.down
        } else {
            Style::default()
        }
    }

    fn marked(&self, row: usize) -> bool {
        self.marked.contains(&row)
    }

    fn matches(&self, row: usize, col: usize, out: &mut Vec<Range<usize>>) {
        if col == 1
            && let Some(at) = self.cells[row][col].find(self.filter)
        {
            out.push(at..at + self.filter.len());
        }
    }
}

fn sessions(theme: &Theme) -> Sessions {
    let cells = (0..ROWS)
        .map(|i| {
            [
                format!(
                    "{:08x}-{:04x}",
                    i * 2_654_435_761 % 4_294_967_291,
                    i % 65_536
                ),
                format!("user{:05}", i % 60_000),
                format!("VDA-LON-{:04}", i % 5_000),
                ["Active", "Disconnected", "Connected"][i % 3].to_string(),
                format!("Desktop group {}", i % 40),
                format!("{}", (i * 7) % 480),
                format!("2026-11-27 {:02}:{:02}", i % 24, i % 60),
            ]
        })
        .collect();
    Sessions {
        cells,
        marked: (0..ROWS).step_by(97).collect(),
        filter: "user0",
        down: theme.health.down,
    }
}

const COLUMNS: [Column<'static>; 7] = [
    Column::new("SESSION", 14, 14).priority(3),
    Column::new("USER", 10, 24),
    Column::new("MACHINE", 12, 24).priority(1),
    Column::new("STATE", 12, 12),
    Column::new("GROUP", 12, 30).priority(2),
    Column::new("IDLE", 4, 6).right().priority(2),
    Column::new("STARTED", 16, 16).priority(4),
];

fn table(rows: &Sessions, cursor: usize, offset: usize) -> Table<'_, Sessions> {
    Table {
        title: TableTitle {
            view: "sessions",
            scope: Some("London"),
            count: rows.len(),
            filter: Some("user0"),
        },
        columns: &COLUMNS,
        source: rows,
        cursor,
        offset,
        sort: Some(SortKey {
            column: 1,
            descending: false,
        }),
        focused: true,
        empty: None,
    }
}

fn bench(c: &mut Criterion) {
    let Ok(theme) = Theme::load("default", None) else {
        eprintln!("the built-in default theme did not load");
        return;
    };
    let rows = sessions(&theme);
    let area = Rect::new(0, 0, 200, 50);
    let mut buf = Buffer::empty(area);
    let middle = ROWS / 2;
    let offset = scroll_offset(0, middle, ROWS, body_height(area));

    c.bench_function("table frame 200x50, 100k rows, cursor mid", |b| {
        b.iter(|| {
            buf.reset();
            black_box(table(&rows, middle, offset).render(area, &mut buf, &theme));
        })
    });

    let mut cursor = middle;
    let mut offset = offset;
    c.bench_function("cursor move + re-render 200x50, 100k rows", |b| {
        b.iter(|| {
            // Down a row, wrapping back so the cursor stays in the middle of the data.
            cursor = if cursor >= middle + 1_000 {
                middle
            } else {
                cursor + 1
            };
            offset = scroll_offset(offset, cursor, ROWS, body_height(area));
            buf.reset();
            offset = table(&rows, cursor, offset).render(area, &mut buf, &theme);
            black_box(offset)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
