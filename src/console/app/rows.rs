//! Every view's rows in one shape: the object's fields as cells of text, what the row points
//! at, and its tone. One shape means one filter, one sort, one table and one detail pane for
//! all eight views; the conversions from the adapter's types live in [`super::convert`].

use std::cmp::Ordering;

use uuid::Uuid;

use crate::console::filter::Cells;

use crate::console::client::TicketLink;

/// One field of a view: a table column when `shown`, always a line of the detail pane and a
/// `field=value` name for the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Lower-case; the filter's field name.
    pub name: &'static str,
    /// The table header.
    pub title: &'static str,
    /// The width the table tries to give it.
    pub width: u16,
    /// Lower numbers stay longest when the terminal is narrow.
    pub priority: u8,
    /// Sorted as a number (counts) rather than as text.
    pub numeric: bool,
    /// A table column (otherwise only in the detail pane).
    pub shown: bool,
}

impl Column {
    pub(crate) const fn text(
        name: &'static str,
        title: &'static str,
        width: u16,
        priority: u8,
    ) -> Column {
        Column {
            name,
            title,
            width,
            priority,
            numeric: false,
            shown: true,
        }
    }

    pub(crate) const fn number(
        name: &'static str,
        title: &'static str,
        width: u16,
        priority: u8,
    ) -> Column {
        Column {
            name,
            title,
            width,
            priority,
            numeric: true,
            shown: true,
        }
    }

    /// A field for the detail pane and the filter only.
    pub(crate) const fn hidden(name: &'static str, title: &'static str) -> Column {
        Column {
            name,
            title,
            width: 0,
            priority: u8::MAX,
            numeric: false,
            shown: false,
        }
    }
}

/// What a row stands for: the target of actions, the key of marks and of the cursor across
/// reloads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowRef {
    Ticket(TicketLink),
    Session {
        site: String,
        id: String,
        user: String,
    },
    Machine {
        site: String,
        id: String,
    },
    Group {
        site: String,
        id: String,
    },
    Site {
        name: String,
    },
    /// `DOMAIN\user` and the sites where the user has sessions or machines.
    User {
        login: String,
        sites: Vec<String>,
    },
    Job {
        id: Uuid,
    },
    Audit {
        id: i64,
    },
}

/// How a row is coloured; the theme decides the colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Plain,
    Ok,
    Warn,
    Error,
    Muted,
    /// A ticket's priority, 1 (critical) to 5 (planning).
    Priority(u8),
    /// A ticket's age: 0 fresh, 1 aging, 2 stale.
    Age(u8),
}

/// One loaded row. Its cells live in one string (`ends[i]` is where cell `i` ends): a view
/// holds up to 100,000 rows of a dozen fields, and one allocation per row instead of one
/// per cell is what keeps the console under its memory target (docs/perf.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub target: RowRef,
    text: Box<str>,
    ends: Box<[u32]>,
    pub tone: Tone,
    /// One cell drawn in its own tone (a ticket's age).
    pub accent: Option<(usize, Tone)>,
}

impl Row {
    /// A row of `cells`, one per column of the view, in column order.
    pub fn new(target: RowRef, cells: Vec<String>, tone: Tone) -> Row {
        let mut text = String::with_capacity(cells.iter().map(String::len).sum());
        let mut ends = Vec::with_capacity(cells.len());
        for cell in &cells {
            text.push_str(cell);
            // A row's fields are far below 4 GiB; saturate rather than wrap if one is not.
            ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        }
        Row {
            target,
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
            tone,
            accent: None,
        }
    }

    pub fn with_accent(mut self, column: usize, tone: Tone) -> Row {
        self.accent = Some((column, tone));
        self
    }

    pub fn cell(&self, column: usize) -> &str {
        let Some(&end) = self.ends.get(column) else {
            return "";
        };
        let start = if column == 0 {
            0
        } else {
            self.ends[column - 1]
        };
        self.text.get(start as usize..end as usize).unwrap_or("")
    }
}

impl Cells for Row {
    fn count(&self) -> usize {
        self.ends.len()
    }

    fn cell(&self, index: usize) -> &str {
        Row::cell(self, index)
    }
}

/// Compares two cells of a column: numbers by value (empty ones first), text ignoring case.
pub fn compare_cells(column: &Column, a: &str, b: &str) -> Ordering {
    if column.numeric {
        let value = |s: &str| s.trim().trim_end_matches('%').parse::<f64>().ok();
        match (value(a), value(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    } else {
        if a.is_ascii() && b.is_ascii() {
            a.bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
        } else {
            a.to_lowercase().cmp(&b.to_lowercase())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sort_by_value_and_text_ignores_case() {
        let n = Column::number("n", "N", 4, 0);
        assert_eq!(compare_cells(&n, "9", "10"), Ordering::Less);
        assert_eq!(compare_cells(&n, "", "0"), Ordering::Less);
        let t = Column::text("t", "T", 4, 0);
        assert_eq!(compare_cells(&t, "alice", "Bob"), Ordering::Less);
        assert_eq!(compare_cells(&t, "Émile", "émile"), Ordering::Equal);
    }
}
