//! The `/` filter: which loaded rows of a table to show, and which parts of their cells to
//! underline. Pure and UI-free: rows come in as cells, indices go out.
//!
//! # Syntax
//!
//! A filter line is whitespace-separated terms; a row is shown when **every** term matches.
//! An empty line shows every row. Matching ignores case everywhere (Unicode lowercase).
//!
//! | Term | Matches a row when |
//! |---|---|
//! | `lon` | some cell contains `lon`; if none does, some single cell contains `l`, `o`, `n` in that order (fuzzy, like fzf; terms of 3+ characters only) |
//! | `"new york"` | some cell contains `new york` (quoted: spaces allowed, never fuzzy, `=` and `!` are plain text) |
//! | `site=lon` | the `site` column contains `lon` |
//! | `state==active` | the `state` column is exactly `active` (not `Inactive`) |
//! | `state!=active` | the `state` column is not exactly `active` |
//! | `user==""` | the `user` column is empty (`!=""`: not empty) |
//! | `!term` | `term` does not match (any kind of term) |
//!
//! - A field is a column name or an unambiguous start of one: `u=smith` is `user=smith`.
//! - Values may be quoted: `user="CORP\j smith"`. Inside quotes `\"` is a quote and `\\` a
//!   backslash; any other backslash is kept, so domain names need no doubling.
//! - Fuzzy matching stays within one cell: `jsmth` finds `jsmith`, but not a row with `js`
//!   in one column and `mth` in another, which would match nearly anything.
//! - Mistakes are errors with a position, never ignored: an unknown field (the message lists
//!   the fields), an ambiguous one, `field=` with no value, an unclosed quote, a lone `!`.
//!
//! # Performance
//!
//! Needles are lowercased once at parse time; ASCII cells are compared byte by byte without
//! allocating, other cells char by char through their lowercase. Field terms run before
//! plain ones since they read one cell. Highlights allocate, and are meant for the rows on
//! screen only.

mod matcher;
mod parse;

#[cfg(test)]
mod tests;

pub use parse::FilterError;

use matcher::merge;
use parse::{FieldOp, Term, Test};
use std::ops::Range;

/// A parsed `/` filter over a table with known columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    text: Box<str>,
    terms: Vec<Term>,
}

impl Filter {
    /// Parses a filter line for a table whose columns are named `columns` (lowercase, in cell
    /// order).
    pub fn parse(input: &str, columns: &[&str]) -> Result<Filter, FilterError> {
        let mut terms = parse::parse_terms(input, columns)?;
        // Field terms read one cell, plain ones every cell: cheap and selective first.
        terms.sort_by_key(|t| matches!(t.test, Test::Any { .. }));
        Ok(Filter {
            text: input.trim().into(),
            terms,
        })
    }

    /// The filter that shows every row.
    pub fn all() -> Filter {
        Filter {
            text: "".into(),
            terms: Vec::new(),
        }
    }

    /// The line it was parsed from, trimmed, for the table title.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether it shows every row.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether the row with these cells is shown. A row with fewer cells than columns reads
    /// the missing ones as empty.
    pub fn matches<C: Cells + ?Sized>(&self, cells: &C) -> bool {
        self.terms.iter().all(|t| t.matches(cells) != t.negated)
    }

    /// The indices of the rows that match, in order.
    pub fn apply<'a, C, I>(&self, rows: I) -> Vec<u32>
    where
        C: Cells + ?Sized + 'a,
        I: IntoIterator<Item = &'a C>,
    {
        (0u32..)
            .zip(rows)
            .filter(|(_, cells)| self.matches(*cells))
            .map(|(i, _)| i)
            .collect()
    }

    /// Byte ranges of `cell` (in column `column`) to underline, sorted, merged, on char
    /// boundaries. This looks at the one cell: a plain term underlines its text here, or its
    /// fuzzy characters when the cell has no plain match. [`Filter::row_highlights`] knows
    /// the whole row and skips fuzzy underlines when the term matched as text elsewhere.
    /// Inverted terms underline nothing.
    pub fn highlights(&self, column: usize, cell: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        for term in self.terms.iter().filter(|t| !t.negated) {
            match &term.test {
                Test::Any { needle, fuzzy } => {
                    let found = needle.find_all(cell);
                    if found.is_empty() && *fuzzy {
                        out.extend(needle.fuzzy_ranges(cell).unwrap_or_default());
                    } else {
                        out.extend(found);
                    }
                }
                Test::Field {
                    column: c,
                    op,
                    needle,
                } if *c == column => out.extend(field_ranges(*op, needle, cell)),
                Test::Field { .. } => {}
            }
        }
        merge(out)
    }

    /// [`Filter::highlights`] for every cell of a row, judging fuzzy underlines as matching
    /// does: only for a term that matches no cell as plain text.
    pub fn row_highlights<C: Cells + ?Sized>(&self, cells: &C) -> Vec<Vec<Range<usize>>> {
        let mut out: Vec<Vec<Range<usize>>> = vec![Vec::new(); cells.count()];
        for term in self.terms.iter().filter(|t| !t.negated) {
            match &term.test {
                Test::Any { needle, fuzzy } => {
                    let plain = (0..cells.count()).any(|i| needle.contains(cells.cell(i)));
                    for (i, ranges) in out.iter_mut().enumerate() {
                        let cell = cells.cell(i);
                        if plain {
                            ranges.extend(needle.find_all(cell));
                        } else if *fuzzy {
                            ranges.extend(needle.fuzzy_ranges(cell).unwrap_or_default());
                        }
                    }
                }
                Test::Field { column, op, needle } => {
                    if let Some(ranges) = out.get_mut(*column) {
                        ranges.extend(field_ranges(*op, needle, cells.cell(*column)));
                    }
                }
            }
        }
        out.into_iter().map(merge).collect()
    }
}

impl Default for Filter {
    fn default() -> Filter {
        Filter::all()
    }
}

fn field_ranges(op: FieldOp, needle: &matcher::Needle, cell: &str) -> Vec<Range<usize>> {
    match op {
        FieldOp::Contains => needle.find_all(cell),
        FieldOp::Exact if !cell.is_empty() && needle.equals(cell) => {
            std::iter::once(0..cell.len()).collect()
        }
        FieldOp::Exact => Vec::new(),
    }
}

/// A row's cells as the filter reads them: by index, a missing one reads as empty. The
/// console stores a row's cells in one string; tests and benches use a slice of strings.
pub trait Cells {
    fn count(&self) -> usize;
    fn cell(&self, index: usize) -> &str;
}

impl Cells for [Box<str>] {
    fn count(&self) -> usize {
        self.len()
    }

    fn cell(&self, index: usize) -> &str {
        self.get(index).map_or("", |c| c)
    }
}

impl Cells for Vec<Box<str>> {
    fn count(&self) -> usize {
        self.len()
    }

    fn cell(&self, index: usize) -> &str {
        self.as_slice().cell(index)
    }
}

impl Term {
    fn matches<C: Cells + ?Sized>(&self, cells: &C) -> bool {
        let all = || (0..cells.count()).map(|i| cells.cell(i));
        match &self.test {
            // A substring is also a subsequence: one fuzzy pass decides both.
            Test::Any {
                needle,
                fuzzy: true,
            } => all().any(|c| needle.fuzzy(c)),
            Test::Any { needle, .. } => all().any(|c| needle.contains(c)),
            Test::Field { column, op, needle } => {
                let cell = cells.cell(*column);
                match op {
                    FieldOp::Contains => needle.contains(cell),
                    FieldOp::Exact => needle.equals(cell),
                }
            }
        }
    }
}
