//! Filtering, sorting and keyset cursor paging over the cached rows of every site, by
//! reference: a request borrows the snapshots it reads and copies nothing but the page.
//!
//! The order is total (sort key, then site, then id), and a cursor is the last row's position
//! in it, so walking the pages gives every row once even while refreshes swap snapshots in.

use std::cmp::Ordering;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::snapshot::Indexed;

/// A sort key borrowed from a row. Every row yields the same variant for the same field.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key<'a> {
    Int(i64),
    Str(&'a str),
}

/// A sort key kept in a cursor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OwnedKey {
    Int(i64),
    Str(String),
}

impl OwnedKey {
    fn borrow(&self) -> Key<'_> {
        match self {
            OwnedKey::Int(n) => Key::Int(*n),
            OwnedKey::Str(s) => Key::Str(s),
        }
    }
}

impl From<Key<'_>> for OwnedKey {
    fn from(key: Key<'_>) -> Self {
        match key {
            Key::Int(n) => OwnedKey::Int(n),
            Key::Str(s) => OwnedKey::Str(s.to_owned()),
        }
    }
}

/// What a listable type offers to queries.
pub trait Row {
    /// Each row belongs to one site, whose name the sources carry; `false` for views that
    /// span sites (users), which apply the `site` filter in [`Row::matches`].
    const SITE_SCOPED: bool = true;
    /// Fields `sort` accepts, in the order the docs list them; index 0 is the default.
    const SORT_FIELDS: &'static [&'static str];
    /// Which of `group`, `user`, `state` apply.
    const FILTERS: &'static [&'static str];
    fn id(&self) -> &str;
    /// The key of `SORT_FIELDS[field]`.
    fn key(&self, field: usize) -> Key<'_>;
    /// Whether the row passes the `group`, `user` and `state` filters that are set.
    fn matches(&self, filter: &Filter) -> bool;
    /// Checks a `state` value; the error lists the accepted ones.
    fn check_state(state: &str) -> Result<(), String>;
}

/// Parsed filters; text values are lower-case.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub site: Option<String>,
    pub group: Option<String>,
    pub user: Option<String>,
    pub state: Option<String>,
    pub q: Option<String>,
    /// Tickets only: the table or kind, and the configured queue.
    pub kind: Option<String>,
    pub queue: Option<String>,
    /// Users only: the account's states; a user whose account is unknown matches none.
    pub locked: Option<bool>,
    pub disabled: Option<bool>,
    pub must_change: Option<bool>,
}

/// A sort field (index into [`Row::SORT_FIELDS`]) and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: usize,
    pub descending: bool,
}

impl Sort {
    /// `field` or `-field`; the error names the accepted fields.
    pub fn parse<T: Row>(text: Option<&str>) -> Result<Sort, String> {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            return Ok(Sort {
                field: 0,
                descending: false,
            });
        };
        let (name, descending) = match text.strip_prefix('-') {
            Some(rest) => (rest, true),
            None => (text, false),
        };
        T::SORT_FIELDS
            .iter()
            .position(|f| *f == name)
            .map(|field| Sort { field, descending })
            .ok_or_else(|| {
                format!(
                    "sort={text:?} is not a field to sort by; use one of {} (prefix - for \
                     descending)",
                    T::SORT_FIELDS.join(", ")
                )
            })
    }

    fn describe<T: Row>(&self) -> String {
        let sign = if self.descending { "-" } else { "" };
        format!("{sign}{}", T::SORT_FIELDS[self.field])
    }
}

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    sort: String,
    key: OwnedKey,
    site: String,
    id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        // Serializing a struct of strings and integers cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Decodes a `next_cursor` and checks it was made for this sort order.
    pub fn decode<T: Row>(text: &str, sort: Sort) -> Result<Cursor, String> {
        let bad = || {
            format!("cursor={text:?} is not a next_cursor this endpoint returned; start without it")
        };
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let expected = sort.describe::<T>();
        if cursor.sort != expected {
            return Err(format!(
                "cursor was made for sort={}, not sort={expected}; keep the sort while paging",
                cursor.sort
            ));
        }
        Ok(cursor)
    }
}

/// One page of rows, borrowed from the snapshots, each with its site.
#[derive(Debug)]
pub struct Page<'a, T> {
    pub items: Vec<(&'a str, &'a T)>,
    pub next_cursor: Option<String>,
    pub total: usize,
}

fn compare<T: Row>(sort: Sort, a: (&str, &T), b: (&str, &T)) -> Ordering {
    let ord =
        a.1.key(sort.field)
            .cmp(&b.1.key(sort.field))
            .then_with(|| a.0.cmp(b.0))
            .then_with(|| a.1.id().cmp(b.1.id()));
    if sort.descending { ord.reverse() } else { ord }
}

fn compare_to_cursor<T: Row>(sort: Sort, row: (&str, &T), cursor: &Cursor) -> Ordering {
    let ord = row
        .1
        .key(sort.field)
        .cmp(&cursor.key.borrow())
        .then_with(|| row.0.cmp(cursor.site.as_str()))
        .then_with(|| row.1.id().cmp(cursor.id.as_str()));
    if sort.descending { ord.reverse() } else { ord }
}

/// Filters the rows of every `(site, rows)` source, sorts them and cuts the page after
/// `cursor`.
pub fn page<'a, T: Row + 'a>(
    sources: impl IntoIterator<Item = (&'a str, &'a [Indexed<T>])>,
    filter: &Filter,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Page<'a, T> {
    let mut rows: Vec<(&'a str, &'a T)> = Vec::new();
    for (site, source) in sources {
        if T::SITE_SCOPED
            && filter
                .site
                .as_deref()
                .is_some_and(|s| !site.eq_ignore_ascii_case(s))
        {
            continue;
        }
        rows.extend(
            source
                .iter()
                .filter(|r| filter.q.as_deref().is_none_or(|q| r.text.contains(q)))
                .filter(|r| r.item.matches(filter))
                .map(|r| (site, &r.item)),
        );
    }
    rows.sort_unstable_by(|a, b| compare(sort, *a, *b));
    let total = rows.len();
    let start = match cursor {
        Some(cursor) => rows.partition_point(|r| compare_to_cursor(sort, *r, cursor).is_le()),
        None => 0,
    };
    let end = start.saturating_add(limit).min(total);
    let next_cursor = if end < total && end > start {
        let (site, last) = rows[end - 1];
        Some(
            Cursor {
                sort: sort.describe::<T>(),
                key: last.key(sort.field).into(),
                site: site.to_owned(),
                id: last.id().to_owned(),
            }
            .encode(),
        )
    } else {
        None
    };
    let items = rows.get(start..end).map(<[_]>::to_vec).unwrap_or_default();
    Page {
        items,
        next_cursor,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Thing {
        id: String,
        size: i64,
    }

    impl Row for Thing {
        const SORT_FIELDS: &'static [&'static str] = &["size", "id"];
        const FILTERS: &'static [&'static str] = &[];
        fn id(&self) -> &str {
            &self.id
        }
        fn key(&self, field: usize) -> Key<'_> {
            match field {
                0 => Key::Int(self.size),
                _ => Key::Str(&self.id),
            }
        }
        fn matches(&self, _: &Filter) -> bool {
            true
        }
        fn check_state(_: &str) -> Result<(), String> {
            Err("no state".into())
        }
    }

    fn things(ids: &[(&str, i64)]) -> Vec<Indexed<Thing>> {
        ids.iter()
            .map(|(id, size)| {
                Indexed::new(
                    Thing {
                        id: (*id).to_owned(),
                        size: *size,
                    },
                    &[id],
                )
            })
            .collect()
    }

    fn walk(rows: &[Indexed<Thing>], sort: Sort, limit: usize) -> Vec<String> {
        let mut seen = Vec::new();
        let mut cursor: Option<Cursor> = None;
        loop {
            let found = page(
                [("s", rows)],
                &Filter::default(),
                sort,
                cursor.as_ref(),
                limit,
            );
            seen.extend(found.items.iter().map(|(_, t)| t.id.clone()));
            match found.next_cursor {
                Some(next) => cursor = Some(Cursor::decode::<Thing>(&next, sort).expect("ours")),
                None => return seen,
            }
        }
    }

    #[test]
    fn pages_cover_every_row_once_in_order_with_ties() {
        let rows = things(&[("a", 3), ("b", 1), ("c", 3), ("d", 2), ("e", 3), ("f", 1)]);
        let asc = Sort::parse::<Thing>(Some("size")).expect("field");
        assert_eq!(walk(&rows, asc, 2), ["b", "f", "d", "a", "c", "e"]);
        let desc = Sort::parse::<Thing>(Some("-size")).expect("field");
        assert_eq!(walk(&rows, desc, 4), ["e", "c", "a", "d", "f", "b"]);
    }

    #[test]
    fn a_cursor_survives_a_new_snapshot() {
        let sort = Sort::parse::<Thing>(Some("id")).expect("field");
        let before = things(&[("a", 0), ("c", 0), ("e", 0), ("g", 0)]);
        let first = page(
            [("s", before.as_slice())],
            &Filter::default(),
            sort,
            None,
            2,
        );
        let next = first.next_cursor.expect("more");
        let cursor = Cursor::decode::<Thing>(&next, sort).expect("ours");
        // A refresh adds a row before the cursor and removes the one it points at.
        let after = things(&[("a", 0), ("b", 0), ("e", 0), ("g", 0)]);
        let second = page(
            [("s", after.as_slice())],
            &Filter::default(),
            sort,
            Some(&cursor),
            2,
        );
        let ids: Vec<&str> = second.items.iter().map(|(_, t)| t.id.as_str()).collect();
        assert_eq!(ids, ["e", "g"]);
        assert_eq!(second.total, 4);
    }

    #[test]
    fn bad_sort_and_cursor_are_explained() {
        let err = Sort::parse::<Thing>(Some("colour")).expect_err("unknown");
        assert!(err.contains("sort=") && err.contains("size, id"), "{err}");
        let sort = Sort::parse::<Thing>(None).expect("default");
        assert!(Cursor::decode::<Thing>("!!", sort).is_err());
        let rows = things(&[("a", 1), ("b", 2)]);
        let first = page([("s", rows.as_slice())], &Filter::default(), sort, None, 1);
        let next = first.next_cursor.expect("more");
        let other = Sort::parse::<Thing>(Some("-size")).expect("field");
        let err = Cursor::decode::<Thing>(&next, other).expect_err("other sort");
        assert!(err.contains("cursor"), "{err}");
    }
}
