//! The one-line progress gauge of a job: succeeded, failed, running and queued tasks as
//! segments of the total, then a label such as `47/50 ✓ 3 ✗`.
//!
//! Segments are told apart by the gauge slots' colours; a theme without colour (`mono`) gets
//! a distinct glyph per segment instead ([`MONO_GLYPHS`]), so the bar still reads.

use super::bar::Labelled;
use crate::console::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

/// Glyphs for succeeded, failed, running, queued and the track when colours can be used.
pub const COLOUR_GLYPHS: [&str; 5] = ["█", "█", "█", "█", "░"];
/// The same without colour: each segment by shape alone.
pub const MONO_GLYPHS: [&str; 5] = ["█", "x", "░", "·", " "];

/// A job's task counts. Tasks not in any of the four (not yet counted) are drawn as track.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobGauge {
    pub total: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub running: usize,
    pub queued: usize,
}

impl JobGauge {
    /// `47/50 ✓ 3 ✗`, with `2 running` while tasks run.
    pub fn label(&self) -> String {
        let mut label = format!("{}/{} ✓", self.succeeded, self.total);
        if self.failed > 0 {
            label.push_str(&format!(" {} ✗", self.failed));
        }
        if self.running > 0 {
            label.push_str(&format!(" {} running", self.running));
        }
        label
    }

    /// Draws the gauge on the first line of `area`: the bar, a space, the label. When the
    /// bar would be narrower than 4 cells only the label is drawn.
    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let g = &theme.gauge;
        let glyphs = if theme.uses_colour() {
            COLOUR_GLYPHS
        } else {
            MONO_GLYPHS
        };
        let parts = [
            (self.succeeded, g.succeeded),
            (self.failed, g.failed),
            (self.running, g.running),
            (self.queued, g.queued),
        ];
        Labelled {
            parts: &parts,
            glyphs: &glyphs,
            total: self.total,
            track: (glyphs[4], g.track),
            label: &self.label(),
            label_style: g.label,
        }
        .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::theme::Theme;

    fn draw(theme: &Theme, gauge: JobGauge, width: u16) -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, width, 1));
        gauge.render(buf.area, &mut buf, theme);
        buf
    }

    fn row(buf: &Buffer) -> String {
        (0..buf.area.width).map(|x| buf[(x, 0)].symbol()).collect()
    }

    #[test]
    fn mono_segments_differ_by_glyph_and_the_label_counts() -> anyhow::Result<()> {
        let mono = Theme::load("mono", None)?;
        let gauge = JobGauge {
            total: 20,
            succeeded: 5,
            failed: 5,
            running: 5,
            queued: 5,
        };
        let buf = draw(&mono, gauge, 20 + 1 + 20);
        assert_eq!(row(&buf), "█████xxxxx░░░░░····· 5/20 ✓ 5 ✗ 5 running");
        assert_eq!(buf[(5, 0)].modifier, mono.gauge.failed.add_modifier);
        assert_eq!(buf[(15, 0)].modifier, mono.gauge.queued.add_modifier);
        assert_eq!(buf[(21, 0)].modifier, mono.gauge.label.add_modifier);
        Ok(())
    }

    #[test]
    fn colour_segments_use_the_gauge_slots() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let gauge = JobGauge {
            total: 50,
            succeeded: 47,
            failed: 3,
            ..JobGauge::default()
        };
        assert_eq!(gauge.label(), "47/50 ✓ 3 ✗");
        let buf = draw(&theme, gauge, 50 + 1 + 11);
        assert_eq!(buf[(0, 0)].fg, theme.gauge.succeeded.fg.unwrap_or_default());
        assert_eq!(buf[(47, 0)].fg, theme.gauge.failed.fg.unwrap_or_default());
        assert_ne!(buf[(0, 0)].fg, buf[(47, 0)].fg);
        assert_eq!(
            row(&buf)[..].chars().skip(51).collect::<String>(),
            "47/50 ✓ 3 ✗"
        );
        Ok(())
    }

    #[test]
    fn one_failure_in_ten_thousand_still_shows() -> anyhow::Result<()> {
        let mono = Theme::load("mono", None)?;
        let gauge = JobGauge {
            total: 10_000,
            succeeded: 9_999,
            failed: 1,
            ..JobGauge::default()
        };
        assert!(row(&draw(&mono, gauge, 40)).contains('x'));
        Ok(())
    }

    #[test]
    fn a_narrow_area_shows_the_label_only() -> anyhow::Result<()> {
        let theme = Theme::load("default", None)?;
        let gauge = JobGauge {
            total: 50,
            succeeded: 47,
            failed: 3,
            ..JobGauge::default()
        };
        assert_eq!(row(&draw(&theme, gauge, 12)), "47/50 ✓ 3 ✗ ");
        Ok(())
    }
}
