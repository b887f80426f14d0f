//! Text measuring and placing shared by the widgets: display width, cutting to a width with
//! `…`, word wrapping and centring a popup, all by terminal cells rather than bytes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use std::borrow::Cow;
use unicode_width::UnicodeWidthChar;

/// The mark shown where text was cut.
pub const ELLIPSIS: &str = "…";

/// Cells `s` takes on screen (control characters count as nothing, as `Buffer` skips them).
pub fn width(s: &str) -> usize {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_control()) {
        return s.len();
    }
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    if c.is_control() {
        0
    } else {
        c.width().unwrap_or(0)
    }
}

/// `s` cut to at most `max` cells, ending in `…` when anything was cut. The kept part is
/// always a prefix of `s`, so byte offsets into `s` stay valid for it.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    let (end, _) = fit(s, max);
    if end == s.len() {
        return Cow::Borrowed(s);
    }
    if max == 0 {
        return Cow::Borrowed("");
    }
    let (end, _) = fit(s, max - 1);
    Cow::Owned(format!("{}{ELLIPSIS}", &s[..end]))
}

/// The longest prefix of `s` that fits in `max` cells: (its byte length, its width).
pub fn fit(s: &str, max: usize) -> (usize, usize) {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_control()) {
        let n = s.len().min(max);
        return (n, n);
    }
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let w = char_width(c);
        if used + w > max {
            return (i, used);
        }
        used += w;
    }
    (s.len(), used)
}

/// Draws `s` at (x, y), cut with `…` to `max` cells; returns the x after it.
pub fn put(buf: &mut Buffer, x: u16, y: u16, s: &str, max: usize, style: Style) -> u16 {
    let shown = truncate(s, max);
    buf.set_stringn(x, y, shown.as_ref(), max, style).0
}

/// Draws `s` right-aligned so that it ends at `right` (exclusive), cut to `max` cells.
pub fn put_right(buf: &mut Buffer, right: u16, y: u16, s: &str, max: usize, style: Style) {
    let shown = truncate(s, max);
    let w = width(&shown).min(max) as u16;
    buf.set_stringn(right.saturating_sub(w), y, shown.as_ref(), max, style);
}

/// Blanks `area` (inside the buffer) and gives it `style`: what a popup does before drawing,
/// so nothing of the screen beneath shows through.
pub fn clear(buf: &mut Buffer, area: Rect, style: Style) {
    let area = buf.area.intersection(area);
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            buf[(x, y)].reset();
            buf[(x, y)].set_style(style);
        }
    }
}

/// A `width`×`height` rectangle centred in `area`, shrunk to fit it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// `text` wrapped at word boundaries to lines of at most `max` cells (words longer than a
/// line are broken); explicit newlines start new lines, and an empty text is one empty line.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let para = para.trim_end_matches('\r');
        let mut line = String::new();
        let mut used = 0;
        for word in para.split(' ') {
            let mut word = word;
            let mut w = width(word);
            if used > 0 && used + 1 + w <= max {
                line.push(' ');
                line.push_str(word);
                used += 1 + w;
                continue;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
            }
            while w > max {
                let (end, _) = fit(word, max);
                // A character wider than the whole line still has to go somewhere.
                let end = if end == 0 {
                    word.chars().next().map_or(word.len(), char::len_utf8)
                } else {
                    end
                };
                lines.push(word[..end].to_string());
                word = &word[end..];
                w = width(word);
            }
            line.push_str(word);
            used = w;
        }
        lines.push(line);
    }
    lines
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_marks_the_cut_and_respects_wide_characters() {
        assert_eq!(truncate("alice", 5), "alice");
        assert_eq!(truncate("alice", 4), "ali…");
        assert_eq!(truncate("日本語", 4), "日…");
        assert_eq!(width(&truncate("日本語", 4)), 3);
        assert_eq!(truncate("x", 0), "");
    }

    #[test]
    fn wrap_breaks_at_words_and_splits_long_words() {
        assert_eq!(wrap("the quick brown fox", 9), ["the quick", "brown fox"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\n\nb", 10), ["a", "", "b"]);
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(100_000), "100,000");
    }
}
