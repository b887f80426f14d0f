//! The `:reports` screen: the adapter's reports listed, one opened with Enter as a table and
//! a bar chart of its main measure (machines per delivery group by summary state, open
//! tickets per age bucket, job outcomes per time bucket); `r` or the refresh key reloads,
//! esc goes back to the list, then to the view underneath.
//!
//! The state lives in [`App::reports`] so that leaving for a `:` command and coming back with
//! `:reports` finds the screen as it was; [`Mode::Reports`] only says that it has the keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::msg::Failure;
use super::{App, Effect, Mode};
use crate::console::client::{ReportData, ReportInfo};
use crate::console::keymap::Action;

/// Where a read stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Status {
    #[default]
    Never,
    Loading,
    Loaded,
    Failed(String),
}

/// The report opened from the list.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenReport {
    pub name: String,
    pub data: Option<Box<ReportData>>,
    pub status: Status,
    /// Table rows scrolled past.
    pub scroll: usize,
    /// Counts requests, so that an answer to an older one is dropped.
    pub generation: u64,
}

/// The screen's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reports {
    pub catalog: Vec<ReportInfo>,
    pub status: Status,
    /// Position in the list.
    pub cursor: usize,
    pub open: Option<OpenReport>,
    generation: u64,
}

pub use crate::console::widgets::report::{Chart, Part, Series};

fn summary_part(state: &str) -> Part {
    match state {
        "summary_available" => Part::Good,
        "summary_in_use" => Part::Busy,
        "summary_disconnected" => Part::Warn,
        "summary_unregistered" => Part::Bad,
        "summary_preparing" => Part::Info,
        _ => Part::Off,
    }
}

/// The chart of a report's main measure.
pub fn chart(data: &ReportData) -> Chart {
    let text = |row: &[serde_json::Value], name: &str| {
        data.column(name)
            .and_then(|i| row.get(i))
            .map(ReportData::text)
            .unwrap_or_default()
    };
    let count = |row: &[serde_json::Value], i: usize| row.get(i).map_or(0, ReportData::count);
    match data.name.as_str() {
        "resources" => {
            let columns: Vec<(usize, &str, &str)> = data
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.name.starts_with("summary_"))
                .map(|(i, c)| (i, c.name.as_str(), c.title.as_str()))
                .collect();
            Chart {
                title: "machines per delivery group by summary state".into(),
                series: columns
                    .iter()
                    .map(|(_, name, title)| Series {
                        name: (*title).to_owned(),
                        part: summary_part(name),
                    })
                    .collect(),
                bars: data
                    .rows
                    .iter()
                    .map(|r| {
                        (
                            format!("{} / {}", text(r, "site"), text(r, "delivery_group")),
                            columns.iter().map(|(i, _, _)| count(r, *i)).collect(),
                        )
                    })
                    .collect(),
            }
        }
        "tickets" => {
            let buckets: Vec<(usize, &str)> = data
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.numeric && c.name != "total")
                .map(|(i, c)| (i, c.title.as_str()))
                .collect();
            Chart {
                title: "open tickets per age bucket".into(),
                series: vec![Series {
                    name: "tickets".into(),
                    part: Part::Info,
                }],
                bars: buckets
                    .iter()
                    .map(|(i, title)| {
                        let sum = data.rows.iter().map(|r| count(r, *i)).sum();
                        ((*title).to_owned(), vec![sum])
                    })
                    .collect(),
            }
        }
        "jobs" => {
            let outcomes = [
                ("succeeded", Part::Good),
                ("failed", Part::Bad),
                ("partially_failed", Part::Warn),
                ("cancelled", Part::Off),
            ];
            let indices: Vec<Option<usize>> =
                outcomes.iter().map(|(n, _)| data.column(n)).collect();
            let mut bars: Vec<(String, Vec<u64>)> = Vec::new();
            for row in &data.rows {
                let bucket = text(row, "bucket");
                let counts: Vec<u64> = indices
                    .iter()
                    .map(|i| i.map_or(0, |i| count(row, i)))
                    .collect();
                match bars.last_mut() {
                    Some((label, sums)) if *label == bucket => {
                        for (s, c) in sums.iter_mut().zip(&counts) {
                            *s += c;
                        }
                    }
                    _ => bars.push((bucket, counts)),
                }
            }
            let by = data.parameters.get("by").map_or("hour", String::as_str);
            Chart {
                title: format!("job outcomes per {by}"),
                series: outcomes
                    .iter()
                    .map(|(name, part)| Series {
                        name: name.replace('_', " "),
                        part: *part,
                    })
                    .collect(),
                bars,
            }
        }
        _ => Chart::default(),
    }
}

impl App {
    /// `:reports`: opens the screen, reading the list the first time.
    pub(crate) fn open_reports(&mut self) -> Vec<Effect> {
        self.mode = Mode::Reports;
        self.dirty = true;
        if self.reports.status == Status::Never {
            return self.reload_reports();
        }
        Vec::new()
    }

    /// Reads the list again, or the open report.
    fn reload_reports(&mut self) -> Vec<Effect> {
        let reports = &mut self.reports;
        match &mut reports.open {
            Some(open) => {
                open.generation += 1;
                open.status = Status::Loading;
                vec![Effect::LoadReport {
                    name: open.name.clone(),
                    generation: open.generation,
                }]
            }
            None => {
                reports.generation += 1;
                reports.status = Status::Loading;
                vec![Effect::LoadReports]
            }
        }
    }

    pub(crate) fn reports_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        self.mode = Mode::Reports;
        if self.keymap.action(self.view, &key) == Some(Action::Refresh) {
            return self.reload_reports();
        }
        let back = matches!(
            key.code,
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('-')
        );
        let down = matches!(key.code, KeyCode::Down | KeyCode::Char('j'));
        let up = matches!(key.code, KeyCode::Up | KeyCode::Char('k'));
        if key.code == KeyCode::Char('r') {
            return self.reload_reports();
        }
        if key.code == KeyCode::Char(':') {
            self.command_line.open();
            self.mode = Mode::Command;
            return Vec::new();
        }
        let reports = &mut self.reports;
        match reports.open.as_mut() {
            Some(_) if back => reports.open = None,
            None if back => self.mode = Mode::Normal,
            Some(open) if down => {
                let rows = open.data.as_ref().map_or(0, |d| d.rows.len());
                open.scroll = (open.scroll + 1).min(rows.saturating_sub(1));
            }
            Some(open) if up => open.scroll = open.scroll.saturating_sub(1),
            None if down => {
                reports.cursor = (reports.cursor + 1).min(reports.catalog.len().saturating_sub(1));
            }
            None if up => reports.cursor = reports.cursor.saturating_sub(1),
            None if key.code == KeyCode::Enter => {
                let Some(info) = reports.catalog.get(reports.cursor) else {
                    return Vec::new();
                };
                reports.open = Some(OpenReport {
                    name: info.name.clone(),
                    data: None,
                    status: Status::Never,
                    scroll: 0,
                    generation: 0,
                });
                return self.reload_reports();
            }
            _ => {}
        }
        Vec::new()
    }

    pub(crate) fn reports_loaded(&mut self, result: Result<Vec<ReportInfo>, Failure>) {
        self.dirty = true;
        let reports = &mut self.reports;
        match result {
            Ok(catalog) => {
                reports.cursor = reports.cursor.min(catalog.len().saturating_sub(1));
                reports.catalog = catalog;
                reports.status = Status::Loaded;
            }
            Err(failure) => reports.status = Status::Failed(failure.message),
        }
    }

    pub(crate) fn report_loaded(
        &mut self,
        name: &str,
        generation: u64,
        result: Result<Box<ReportData>, Failure>,
    ) {
        let Some(open) = self.reports.open.as_mut() else {
            return;
        };
        if open.name != name || open.generation != generation {
            return;
        }
        self.dirty = true;
        match result {
            Ok(data) => {
                open.scroll = open.scroll.min(data.rows.len().saturating_sub(1));
                open.data = Some(data);
                open.status = Status::Loaded;
            }
            // The last report stays on screen with the reason.
            Err(failure) => open.status = Status::Failed(failure.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(value: serde_json::Value) -> ReportData {
        serde_json::from_value(value).expect("a report")
    }

    #[test]
    fn resources_chart_splits_each_group_by_summary_state() {
        let report = data(json!({
            "name": "resources", "title": "t", "generated_at": "2026-11-27T12:00:00Z",
            "columns": [
                { "name": "site", "title": "Site" },
                { "name": "delivery_group", "title": "Delivery group" },
                { "name": "machines", "title": "Machines", "numeric": true },
                { "name": "summary_available", "title": "Available", "numeric": true },
                { "name": "summary_in_use", "title": "InUse", "numeric": true }
            ],
            "rows": [["London", "Office", 5, 2, 3], ["Cloud", "Kiosk", 1, 1, 0]]
        }));
        let chart = chart(&report);
        assert_eq!(chart.series.len(), 2);
        assert_eq!(chart.series[1].part, Part::Busy);
        assert_eq!(chart.bars[0], ("London / Office".to_owned(), vec![2, 3]));
        assert_eq!(chart.scale(), 5);
    }

    #[test]
    fn jobs_chart_sums_actions_per_bucket() {
        let report = data(json!({
            "name": "jobs", "title": "t", "generated_at": "2026-11-27T12:00:00Z",
            "parameters": { "by": "hour" },
            "columns": [
                { "name": "bucket", "title": "Hour" }, { "name": "action", "title": "Action" },
                { "name": "succeeded", "title": "S", "numeric": true },
                { "name": "failed", "title": "F", "numeric": true },
                { "name": "partially_failed", "title": "P", "numeric": true },
                { "name": "cancelled", "title": "C", "numeric": true }
            ],
            "rows": [["09", "a", 1, 0, 0, 0], ["09", "b", 2, 1, 0, 0], ["10", "a", 0, 0, 0, 4]]
        }));
        let chart = chart(&report);
        assert_eq!(
            chart.bars,
            [
                ("09".to_owned(), vec![3, 1, 0, 0]),
                ("10".to_owned(), vec![0, 0, 0, 4])
            ]
        );
        assert_eq!(chart.title, "job outcomes per hour");
    }

    fn app() -> App {
        let setup = crate::console::app::Setup {
            keymap: crate::console::keymap::Keymap::defaults(),
            readonly: false,
            lab: true,
            adapter_url: "http://127.0.0.1:1".into(),
            theme_names: Vec::new(),
        };
        App::new(setup, chrono::Utc::now())
    }

    fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
        let key = KeyEvent::new(code, ratatui::crossterm::event::KeyModifiers::NONE);
        app.update(super::super::Msg::Key(key), chrono::Utc::now())
    }

    fn info(name: &str) -> ReportInfo {
        ReportInfo {
            name: name.into(),
            title: name.into(),
            description: String::new(),
            parameters: Vec::new(),
        }
    }

    #[test]
    fn reports_list_opens_reloads_and_goes_back() {
        let mut app = app();
        key(&mut app, KeyCode::Char(':'));
        for c in "reports".chars() {
            key(&mut app, KeyCode::Char(c));
        }
        let effects = key(&mut app, KeyCode::Enter);
        assert_eq!(effects, [Effect::LoadReports]);
        assert!(matches!(app.mode, Mode::Reports));
        app.reports_loaded(Ok(vec![info("resources"), info("tickets")]));
        key(&mut app, KeyCode::Char('j'));
        let effects = key(&mut app, KeyCode::Enter);
        assert_eq!(
            effects,
            [Effect::LoadReport {
                name: "tickets".into(),
                generation: 1
            }]
        );
        // `r` asks again; the first answer, now stale, is dropped.
        let effects = key(&mut app, KeyCode::Char('r'));
        assert_eq!(
            effects,
            [Effect::LoadReport {
                name: "tickets".into(),
                generation: 2
            }]
        );
        let report = data(json!({
            "name": "tickets", "title": "t", "generated_at": "2026-11-27T12:00:00Z",
            "columns": [], "rows": []
        }));
        app.report_loaded("tickets", 1, Ok(Box::new(report.clone())));
        assert!(app.reports.open.as_ref().is_some_and(|o| o.data.is_none()));
        app.report_loaded("tickets", 2, Ok(Box::new(report)));
        assert!(app.reports.open.as_ref().is_some_and(|o| o.data.is_some()));
        // esc: to the list, then out; `:reports` again finds the list without reading it.
        key(&mut app, KeyCode::Esc);
        assert!(app.reports.open.is_none() && matches!(app.mode, Mode::Reports));
        key(&mut app, KeyCode::Esc);
        assert!(matches!(app.mode, Mode::Normal));
        assert!(app.open_reports().is_empty());
    }
}
