//! Draws the `:reports` screen from [`App::reports`](crate::console::app::App::reports):
//! the list, or the open report with its chart and how old its data is.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::console::app::Reports;
use crate::console::app::reports::{Status, chart};
use crate::console::client::ReportData;
use crate::console::theme::Theme;
use crate::console::widgets::report::{Chart, ReportList, ReportView};

pub fn render(reports: &Reports, now: DateTime<Utc>, area: Rect, buf: &mut Buffer, theme: &Theme) {
    match &reports.open {
        None => {
            let items: Vec<(&str, &str, &str)> = reports
                .catalog
                .iter()
                .map(|r| (r.name.as_str(), r.title.as_str(), r.description.as_str()))
                .collect();
            let status = match &reports.status {
                Status::Never | Status::Loading if items.is_empty() => {
                    Some("loading the reports…".to_owned())
                }
                Status::Failed(why) => Some(format!("cannot read the reports: {why}")),
                _ => None,
            };
            ReportList {
                items: &items,
                cursor: reports.cursor,
                status: status.as_deref(),
            }
            .render(area, buf, theme);
        }
        Some(open) => {
            let data = open.data.as_deref();
            let chart = data.map(chart).unwrap_or_else(Chart::default);
            let status = match (&open.status, data) {
                (Status::Failed(why), _) => format!("cannot read the report: {why}"),
                (Status::Loading | Status::Never, None) => "loading…".to_owned(),
                (_, Some(data)) => {
                    let mut text = described(data, now);
                    if open.status == Status::Loading {
                        text.push_str(" · reloading…");
                    }
                    text
                }
                (Status::Loaded, None) => String::new(),
            };
            ReportView {
                name: &open.name,
                data,
                chart: &chart,
                scroll: open.scroll,
                status: &status,
            }
            .render(area, buf, theme);
        }
    }
}

/// `generated 10:42:07 · London 12s old, Cloud degraded`.
fn described(data: &ReportData, now: DateTime<Utc>) -> String {
    let mut text = format!("generated {}", data.generated_at.format("%H:%M:%S"));
    let ages: Vec<String> = data
        .sources
        .iter()
        .filter(|s| s.kind != "store")
        .map(|s| {
            let age = match s.fetched_at {
                Some(at) => {
                    let seconds = (now - at).num_seconds().max(0);
                    if seconds < 120 {
                        format!("{seconds}s old")
                    } else {
                        format!("{}m old", seconds / 60)
                    }
                }
                None => "not loaded".to_owned(),
            };
            let degraded = if s.degraded { ", degraded" } else { "" };
            format!("{} {age}{degraded}", s.name)
        })
        .collect();
    if !ages.is_empty() {
        text.push_str(" · data: ");
        text.push_str(&ages.join(", "));
    }
    text
}
