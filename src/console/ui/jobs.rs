//! The jobs pane (`w`): running jobs first, then the latest finished, each with its gauge and
//! elapsed time, updated by job events as they arrive.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Widget};

use crate::console::app::{App, LiveJob, convert};
use crate::console::theme::Theme;
use crate::console::widgets::gauge::JobGauge;
use crate::console::widgets::text;

/// Jobs listed at most.
const SHOWN: usize = 4;

/// The pane's height: nothing when hidden or when no job was seen.
pub fn height(app: &App) -> u16 {
    if !app.jobs_pane || app.jobs.items.is_empty() {
        return 0;
    }
    app.jobs.items.len().min(SHOWN) as u16 + 2
}

/// Running jobs first (newest first), then finished ones (newest first).
pub fn shown(app: &App) -> Vec<&LiveJob> {
    let running = app.jobs.items.iter().filter(|j| !j.state.is_terminal());
    let ended = app.jobs.items.iter().filter(|j| j.state.is_terminal());
    running.chain(ended).take(SHOWN).collect()
}

pub fn render(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let running = app.jobs.running();
    let title = format!(" jobs [{running} running] ");
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border.normal)
        .title(title)
        .style(theme.base.text);
    let inner = block.inner(area);
    block.render(area, buf);
    for (i, job) in shown(app).into_iter().enumerate() {
        let y = inner.y + i as u16;
        if y >= inner.bottom() {
            break;
        }
        let ticket = job
            .ticket
            .as_ref()
            .map_or(String::new(), |t| format!(" {}", t.number));
        let label = format!("{}{ticket}", job.action);
        let elapsed = convert::age(job.elapsed(app.now));
        let label_w = 30.min(inner.width / 3);
        let right = if job.state.is_terminal() {
            format!(" {} {elapsed}", job.state.as_str())
        } else {
            format!(" {elapsed}")
        };
        let right_w = text::width(&right) as u16;
        text::put(
            buf,
            inner.x,
            y,
            &label,
            usize::from(label_w),
            crate::console::ui::rows::tone_style(convert::job_tone(job.state), theme),
        );
        let gauge_w = inner.width.saturating_sub(label_w + 1 + right_w);
        let p = &job.progress;
        JobGauge {
            total: p.total as usize,
            succeeded: p.succeeded as usize,
            failed: p.failed as usize,
            running: p.running as usize,
            queued: p.queued as usize,
        }
        .render(
            Rect {
                x: inner.x + label_w + 1,
                y,
                width: gauge_w,
                height: 1,
            },
            buf,
            theme,
        );
        text::put(
            buf,
            inner.x + label_w + 1 + gauge_w,
            y,
            &right,
            usize::from(right_w),
            theme.status.muted,
        );
    }
}
