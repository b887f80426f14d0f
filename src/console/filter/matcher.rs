//! Case-insensitive text matching for the filter: substring, exact and fuzzy (subsequence)
//! tests on one cell, and the byte ranges that matched, for underlining.
//!
//! The hot path (`contains`, `equals`, `fuzzy`) never allocates: needles are lowercased once
//! at parse time, and ASCII cells (nearly all of them: names, states, ids, timestamps) are
//! compared byte by byte. Other cells go through `char::to_lowercase`, so `ÉMILE` matches
//! `émile`; this is Unicode lowercasing, not full case folding (`ß` does not match `SS`).

use std::ops::Range;

/// A lowercased search string, kept in the two shapes the two paths need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Needle {
    text: Box<str>,
    chars: Box<[char]>,
    ascii: bool,
}

impl Needle {
    pub(super) fn new(raw: &str) -> Needle {
        let text: Box<str> = raw.to_lowercase().into();
        let chars = text.chars().collect();
        let ascii = text.is_ascii();
        Needle { text, chars, ascii }
    }

    /// Whether `cell` contains the needle, ignoring case.
    pub(super) fn contains(&self, cell: &str) -> bool {
        if self.text.is_empty() {
            return true;
        }
        if self.ascii {
            if let Some(found) = contains_ascii(cell.as_bytes(), self.text.as_bytes()) {
                return found;
            }
        } else if cell.is_ascii() {
            // The lowercase of ASCII is ASCII: it cannot hold the needle's other letters.
            return false;
        }
        find_unicode(cell, &self.chars, 0).is_some()
    }

    /// Whether `cell` is the needle, ignoring case.
    pub(super) fn equals(&self, cell: &str) -> bool {
        if self.ascii && cell.is_ascii() {
            cell.len() == self.text.len()
                && cell.as_bytes().eq_ignore_ascii_case(self.text.as_bytes())
        } else {
            cell.chars()
                .flat_map(char::to_lowercase)
                .eq(self.chars.iter().copied())
        }
    }

    /// Whether the needle's characters appear in `cell` in order (fzf's subsequence match).
    /// Every substring match is also one of these.
    pub(super) fn fuzzy(&self, cell: &str) -> bool {
        if self.ascii {
            if let Some(found) = fuzzy_ascii(cell.as_bytes(), self.text.as_bytes()) {
                return found;
            }
        } else if cell.is_ascii() {
            return false;
        }
        let mut i = 0;
        for lc in cell.chars().flat_map(char::to_lowercase) {
            if i < self.chars.len() && lc == self.chars[i] {
                i += 1;
            }
        }
        i == self.chars.len()
    }

    /// Every non-overlapping occurrence in `cell`, as byte ranges on char boundaries.
    pub(super) fn find_all(&self, cell: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        if self.text.is_empty() {
            return out;
        }
        let mut from = 0;
        let ascii = self.ascii && cell.is_ascii();
        while from < cell.len() {
            let found = if ascii {
                find_ascii(cell.as_bytes(), self.text.as_bytes(), from)
                    .map(|start| start..start + self.text.len())
            } else {
                find_unicode(cell, &self.chars, from)
            };
            match found {
                Some(range) => {
                    from = range.end;
                    out.push(range);
                }
                None => break,
            }
        }
        out
    }

    /// The characters of `cell` a fuzzy match uses, or `None` when it does not match. Among
    /// the matches ending at the earliest place, the shortest one is chosen (fzf's backward
    /// pass), so `lnd` in `London` marks `L`, `n` and `d`, not a scatter across the cell.
    pub(super) fn fuzzy_ranges(&self, cell: &str) -> Option<Vec<Range<usize>>> {
        if self.chars.is_empty() {
            return Some(Vec::new());
        }
        // Each char of the cell with its byte range and its lowercase expansion.
        let lowered: Vec<(Range<usize>, Vec<char>)> = cell
            .char_indices()
            .map(|(at, c)| (at..at + c.len_utf8(), c.to_lowercase().collect()))
            .collect();
        // Forward: where the earliest complete match ends.
        let mut i = 0;
        let mut end = None;
        'forward: for (index, (_, lower)) in lowered.iter().enumerate() {
            for lc in lower {
                if *lc == self.chars[i] {
                    i += 1;
                    if i == self.chars.len() {
                        end = Some(index);
                        break 'forward;
                    }
                }
            }
        }
        let end = end?;
        // Backward from there: the latest start, hence the tightest match.
        let mut picked = Vec::new();
        let mut j = self.chars.len();
        for (range, lower) in lowered[..=end].iter().rev() {
            let mut used = false;
            for lc in lower.iter().rev() {
                if j > 0 && *lc == self.chars[j - 1] {
                    j -= 1;
                    used = true;
                }
            }
            if used {
                picked.push(range.clone());
            }
            if j == 0 {
                break;
            }
        }
        picked.reverse();
        Some(merge(picked))
    }
}

/// The first byte of `İ` (U+0130, lowercase `i̇`) and of the Kelvin sign (U+212A, lowercase
/// `k`): the only non-ASCII chars whose lowercase holds an ASCII letter. Any other non-ASCII
/// byte can never be part of a match for an ASCII needle, so cells such as `Zürich` stay on
/// the byte path.
fn lowers_to_ascii(lead: u8) -> bool {
    lead == 0xC4 || lead == 0xE2
}

/// Whether lowercase ASCII `needle` is in `hay`, byte by byte; `None` when `hay` holds a char
/// that needs the Unicode path. Each char of `hay` lowers to at most one ASCII char, so a
/// `hay` shorter than the needle cannot match.
fn contains_ascii(hay: &[u8], needle: &[u8]) -> Option<bool> {
    let n = needle.len();
    let Some(last_start) = hay.len().checked_sub(n) else {
        return Some(false);
    };
    // `| 0x20` lowercases letters; for other bytes it may let a wrong byte through, which
    // the full comparison then rejects.
    let first = needle.first().map_or(0, |b| b | 0x20);
    for (i, &b) in hay.iter().enumerate() {
        if b >= 0x80 {
            if lowers_to_ascii(b) {
                return None;
            }
        } else if b | 0x20 == first && i <= last_start && hay[i..i + n].eq_ignore_ascii_case(needle)
        {
            return Some(true);
        }
    }
    Some(false)
}

/// Whether lowercase ASCII `needle`'s bytes appear in `hay` in order; `None` as for
/// [`contains_ascii`].
fn fuzzy_ascii(hay: &[u8], needle: &[u8]) -> Option<bool> {
    if hay.len() < needle.len() {
        return Some(false);
    }
    let mut want = needle.iter();
    let Some(mut next) = want.next() else {
        return Some(true);
    };
    for &b in hay {
        if b >= 0x80 {
            if lowers_to_ascii(b) {
                return None;
            }
        } else if b.to_ascii_lowercase() == *next {
            match want.next() {
                Some(n) => next = n,
                None => return Some(true),
            }
        }
    }
    Some(false)
}

/// First match of a lowercase ASCII `needle` in ASCII `hay` at or after `from`.
fn find_ascii(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let n = needle.len();
    if hay.len() < n {
        return None;
    }
    let last_start = hay.len() - n;
    let mut i = from;
    while i <= last_start {
        if hay[i].to_ascii_lowercase() == first && hay[i + 1..i + n].eq_ignore_ascii_case(rest) {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// First match of lowercased `needle` in `hay` starting on a char boundary at or after `from`,
/// comparing each char of `hay` through its lowercase expansion.
fn find_unicode(hay: &str, needle: &[char], from: usize) -> Option<Range<usize>> {
    let tail = hay.get(from..)?;
    for (offset, _) in tail.char_indices() {
        let start = from + offset;
        if let Some(end) = match_at(hay, start, needle) {
            return Some(start..end);
        }
    }
    None
}

/// The end of a match of `needle` starting at byte `start` of `hay`, if there is one. A match
/// may end inside a char's expansion (`i` matches the first half of `İ` → `i̇`); the range
/// then covers that whole char.
fn match_at(hay: &str, start: usize, needle: &[char]) -> Option<usize> {
    if needle.is_empty() {
        return Some(start);
    }
    let mut i = 0;
    for (offset, c) in hay[start..].char_indices() {
        for lc in c.to_lowercase() {
            if lc != needle[i] {
                return None;
            }
            i += 1;
            if i == needle.len() {
                return Some(start + offset + c.len_utf8());
            }
        }
    }
    None
}

/// Sorts ranges and joins the ones that touch or overlap.
pub(super) fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}
