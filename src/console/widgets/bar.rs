//! Proportional one-line bars shared by the job gauge and the delivery-group bar: splits the
//! width among the parts so that every non-zero part stays visible, then draws the segments.

use ratatui::buffer::Buffer;
use ratatui::style::Style;

/// One part of a bar: how many, and how it is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment {
    pub count: usize,
    pub glyph: &'static str,
    pub style: Style,
}

/// Cells per part of `width`, with a last entry for the unfilled rest (`total` minus the
/// parts). Largest remainders get the rounding; a non-zero part never rounds to nothing
/// while there is a cell to take from a wider part, so one failure in 10,000 still shows.
pub(crate) fn segment_widths(parts: &[usize], total: usize, width: u16) -> Vec<u16> {
    let sum: usize = parts.iter().sum();
    let total = total.max(sum);
    let mut all: Vec<usize> = parts.to_vec();
    all.push(total - sum);
    let mut widths = vec![0u16; all.len()];
    if total == 0 {
        if let Some(last) = widths.last_mut() {
            *last = width;
        }
        return widths;
    }
    let w = width as u128;
    let mut rems: Vec<(u128, usize)> = Vec::with_capacity(all.len());
    let mut used: u16 = 0;
    for (i, &n) in all.iter().enumerate() {
        let exact = n as u128 * w;
        let cells = (exact / total as u128) as u16;
        widths[i] = cells;
        used += cells;
        rems.push((exact % total as u128, i));
    }
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rems.iter().take(usize::from(width - used)) {
        widths[i] += 1;
    }
    for i in 0..parts.len() {
        if parts[i] == 0 || widths[i] > 0 {
            continue;
        }
        let widest = (0..widths.len())
            .filter(|j| widths[*j] > 1)
            .max_by_key(|j| widths[*j]);
        if let Some(j) = widest {
            widths[j] -= 1;
            widths[i] += 1;
        }
    }
    widths
}

/// Draws `segments` then the `track` for the rest, proportionally over `width` cells.
pub(crate) fn draw(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    width: u16,
    segments: &[Segment],
    total: usize,
    track: (&'static str, Style),
) {
    let counts: Vec<usize> = segments.iter().map(|s| s.count).collect();
    let widths = segment_widths(&counts, total, width);
    let mut x = x;
    let styles = segments
        .iter()
        .map(|s| (s.glyph, s.style))
        .chain(std::iter::once(track));
    for (w, (glyph, style)) in widths.iter().zip(styles) {
        for _ in 0..*w {
            buf[(x, y)].set_symbol(glyph).set_style(style);
            x += 1;
        }
    }
}

/// A labelled bar on the first line of `area`: the bar takes what the label leaves, and
/// only the label is drawn when fewer than 4 cells are left for the bar. `parts` pairs each
/// count with its style, `glyphs` gives each part's glyph in order.
pub(crate) struct Labelled<'a> {
    pub parts: &'a [(usize, Style)],
    pub glyphs: &'a [&'static str],
    pub total: usize,
    pub track: (&'static str, Style),
    pub label: &'a str,
    pub label_style: Style,
}

impl Labelled<'_> {
    pub(crate) fn render(&self, area: ratatui::layout::Rect, buf: &mut Buffer) {
        let area = buf.area.intersection(area);
        if area.height == 0 || area.width == 0 {
            return;
        }
        let label_w = super::text::width(self.label) as u16;
        let bar_w = area.width.saturating_sub(label_w + 1);
        let label_x = if bar_w >= 4 {
            let segments: Vec<Segment> = self
                .parts
                .iter()
                .zip(self.glyphs)
                .map(|(&(count, style), &glyph)| Segment {
                    count,
                    glyph,
                    style,
                })
                .collect();
            draw(
                buf, area.x, area.y, bar_w, &segments, self.total, self.track,
            );
            area.x + bar_w + 1
        } else {
            area.x
        };
        let max = usize::from(area.right() - label_x);
        super::text::put(buf, label_x, area.y, self.label, max, self.label_style);
    }
}

#[cfg(test)]
mod tests {
    use super::segment_widths;

    #[test]
    fn widths_fill_the_bar_and_keep_small_parts_visible() {
        assert_eq!(segment_widths(&[47, 3, 0, 0], 50, 50), [47, 3, 0, 0, 0]);
        assert_eq!(segment_widths(&[9_999, 1], 10_000, 20), [19, 1, 0]);
        assert_eq!(segment_widths(&[1, 1], 4, 10), [3, 2, 5]);
        assert_eq!(segment_widths(&[0, 0], 0, 8), [0, 0, 8]);
    }
}
