//! One view's table state: its loaded rows, the filtered and sorted order, the cursor, the
//! marks and the load status. Pure data and arithmetic, so every motion is a unit test.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::convert;
use super::rows::{Column, Row, RowRef, compare_cells};
use crate::console::filter::Filter;
use crate::console::keymap::View;

/// Where a table's data stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum LoadStatus {
    #[default]
    Never,
    Loading,
    Loaded,
    /// The last load failed; the rows (if any) are the ones before.
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Table {
    pub view: View,
    /// A site (sessions, machines, groups) or a queue (tickets); `None` is everything.
    pub scope: Option<String>,
    pub columns: &'static [Column],
    pub rows: Vec<Row>,
    /// Indices into `rows` of the rows shown, filtered and sorted.
    pub order: Vec<u32>,
    /// Position in `order`.
    pub cursor: usize,
    /// First shown position, as the last frame drew it (the table widget keeps the cursor in
    /// view and hands it back).
    pub offset: usize,
    pub marks: HashSet<RowRef>,
    /// Where the last mark was set: the range mark runs from here to the cursor.
    pub anchor: Option<usize>,
    /// Column index and descending.
    pub sort: Option<(usize, bool)>,
    /// The `/` filter in force; its text is shown in the title.
    pub filter: Option<Filter>,
    pub status: LoadStatus,
    pub loaded_at: Option<DateTime<Utc>>,
    /// Changed at the adapter since the last load; reload when the current load ends.
    pub stale: bool,
    /// Counts every load request, so an answer to an older one is dropped.
    pub generation: u64,
    /// Said by the last load: data is last-known (degraded site) or only a first page.
    pub note: Option<String>,
}

impl Table {
    pub fn new(view: View, scope: Option<String>) -> Table {
        Table {
            view,
            scope,
            columns: convert::columns(view),
            rows: Vec::new(),
            order: Vec::new(),
            cursor: 0,
            offset: 0,
            marks: HashSet::new(),
            anchor: None,
            sort: None,
            filter: None,
            status: LoadStatus::Never,
            loaded_at: None,
            stale: false,
            generation: 0,
            note: None,
        }
    }

    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }

    /// Replaces the rows after a load, keeping the cursor on the same object where it still
    /// exists and dropping marks of objects that are gone.
    pub fn set_rows(&mut self, rows: Vec<Row>) {
        let at = self.current().map(|r| r.target.clone());
        self.rows = rows;
        if !self.marks.is_empty() {
            let present: HashSet<&RowRef> = self.rows.iter().map(|r| &r.target).collect();
            self.marks.retain(|m| present.contains(m));
        }
        self.reorder(at.as_ref());
    }

    /// Applies a filter (or none) and re-sorts, keeping the cursor's object if still shown.
    pub fn set_filter(&mut self, filter: Option<Filter>) {
        let at = self.current().map(|r| r.target.clone());
        self.filter = filter;
        self.reorder(at.as_ref());
    }

    pub fn set_sort(&mut self, sort: Option<(usize, bool)>) {
        let at = self.current().map(|r| r.target.clone());
        self.sort = sort;
        self.reorder(at.as_ref());
    }

    fn reorder(&mut self, keep: Option<&RowRef>) {
        let mut order: Vec<u32> = match &self.filter {
            Some(filter) => filter.apply(self.rows.iter()),
            None => (0..self.rows.len() as u32).collect(),
        };
        if let Some((col, descending)) = self.sort
            && let Some(column) = self.columns.get(col)
        {
            let rows = &self.rows;
            order.sort_by(|&a, &b| {
                let ord = compare_cells(
                    column,
                    rows[a as usize].cell(col),
                    rows[b as usize].cell(col),
                );
                if descending { ord.reverse() } else { ord }
            });
        }
        self.order = order;
        self.cursor = keep
            .and_then(|k| {
                self.order
                    .iter()
                    .position(|&i| &self.rows[i as usize].target == k)
            })
            .unwrap_or(self.cursor)
            .min(self.order.len().saturating_sub(1));
        self.anchor = None;
    }

    /// The row under the cursor.
    pub fn current(&self) -> Option<&Row> {
        self.order.get(self.cursor).map(|&i| &self.rows[i as usize])
    }

    /// The shown row at a position.
    pub fn shown(&self, position: usize) -> Option<&Row> {
        self.order.get(position).map(|&i| &self.rows[i as usize])
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Moves the cursor by `delta` rows, stopping at the ends.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.order.len().saturating_sub(1);
        self.cursor = self.cursor.saturating_add_signed(delta).min(last);
    }

    pub fn move_to(&mut self, position: usize) {
        self.cursor = position.min(self.order.len().saturating_sub(1));
    }

    /// Marks or unmarks the cursor row and moves down, as in k9s and htop.
    pub fn toggle_mark(&mut self) {
        let Some(target) = self.current().map(|r| r.target.clone()) else {
            return;
        };
        if !self.marks.remove(&target) {
            self.marks.insert(target);
        }
        self.anchor = Some(self.cursor);
        self.move_by(1);
    }

    /// Marks every shown row (the filter decides what "visible" is).
    pub fn mark_all(&mut self) {
        let targets: Vec<RowRef> = self
            .order
            .iter()
            .map(|&i| self.rows[i as usize].target.clone())
            .collect();
        self.marks.extend(targets);
    }

    /// Marks from the last mark to the cursor, both included; from the cursor alone when
    /// nothing was marked yet.
    pub fn mark_range(&mut self) {
        let from = self.anchor.unwrap_or(self.cursor);
        let (lo, hi) = (from.min(self.cursor), from.max(self.cursor));
        let targets: Vec<RowRef> = (lo..=hi)
            .filter_map(|p| self.shown(p).map(|r| r.target.clone()))
            .collect();
        self.marks.extend(targets);
        self.anchor = Some(self.cursor);
    }

    pub fn clear_marks(&mut self) {
        self.marks.clear();
        self.anchor = None;
    }

    pub fn is_marked(&self, row: &Row) -> bool {
        !self.marks.is_empty() && self.marks.contains(&row.target)
    }

    /// What an action applies to: the marked rows in shown order (marks hidden by the filter
    /// included, after them), else the cursor row.
    pub fn targets(&self) -> Vec<&Row> {
        if self.marks.is_empty() {
            return self.current().into_iter().collect();
        }
        let mut shown: Vec<&Row> = self
            .order
            .iter()
            .map(|&i| &self.rows[i as usize])
            .filter(|r| self.marks.contains(&r.target))
            .collect();
        if shown.len() < self.marks.len() {
            let seen: HashSet<&RowRef> = shown.iter().map(|r| &r.target).collect();
            let hidden: Vec<&Row> = self
                .rows
                .iter()
                .filter(|r| self.marks.contains(&r.target) && !seen.contains(&r.target))
                .collect();
            shown.extend(hidden);
        }
        shown
    }

    /// The column shown under the sort indicator moving one shown column on (or back).
    pub fn next_sort(&self, forward: bool) -> Option<(usize, bool)> {
        let shown: Vec<usize> = (0..self.columns.len())
            .filter(|&i| self.columns[i].shown)
            .collect();
        if shown.is_empty() {
            return None;
        }
        let at = self
            .sort
            .and_then(|(c, _)| shown.iter().position(|&s| s == c));
        let next = match (at, forward) {
            (None, true) => 0,
            (None, false) => shown.len() - 1,
            (Some(p), true) => (p + 1) % shown.len(),
            (Some(p), false) => (p + shown.len() - 1) % shown.len(),
        };
        Some((shown[next], self.sort.is_some_and(|(_, d)| d)))
    }
}

#[cfg(test)]
mod tests;
