//! The console's `:reports` screen: end to end in tmux against an adapter on the lab (the
//! list, the resources report opened with its table and bars, reload, back), and a snapshot
//! of the report widget drawn from a fixed report.

mod support;

use chrono::{TimeZone, Utc};
use deskbridge::console::app::reports::chart;
use deskbridge::console::client::ReportData;
use deskbridge::console::theme::Theme;
use deskbridge::console::widgets::report::ReportView;
use deskbridge::lab::Scale;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use serde_json::json;
use support::tmux::Pane;
use support::{LabAdapter, SECRET};

#[tokio::test(flavor = "multi_thread")]
async fn reports_screen_opens_resources_with_a_bar_chart() {
    let rig = LabAdapter::start(Scale::Small, &|_| {}).await;
    let url = rig.url.clone();
    let id = rig.id("viewer").to_string();
    let screens = tokio::task::spawn_blocking(move || {
        let env = [
            ("DESKBRIDGE_CLIENT_ID", id.as_str()),
            ("DESKBRIDGE_CLIENT_SECRET", SECRET),
        ];
        let pane = Pane::start(&["console", "--adapter", &url], 140, 45, &env);
        pane.wait("the first frame", |s| s.contains("tickets"));
        pane.wait("the operator's identity", |s| s.contains("viewer"));

        pane.text(":reports");
        pane.keys(&["Enter"]);
        let list = pane.wait("the list of reports", |s| {
            s.contains("resources") && s.contains("Job outcomes over time")
        });
        assert!(list.contains("tickets"), "{list}");

        pane.keys(&["Enter"]);
        let report = pane.wait("the resources report with its bars", |s| {
            s.contains("report: resources") && s.contains("London /") && s.contains('█')
        });
        assert!(report.contains("Delivery group"), "{report}");
        assert!(
            report.contains("machines per delivery group by summary state"),
            "{report}"
        );
        assert!(report.contains("data: London"), "{report}");

        pane.keys(&["r"]);
        pane.wait("the report again after a reload", |s| {
            s.contains("report: resources") && !s.contains("reloading") && s.contains('█')
        });

        pane.keys(&["Escape"]);
        pane.wait("back at the list", |s| {
            s.contains("Job outcomes over time") && !s.contains("report: resources")
        });
        pane.keys(&["Down", "Enter"]);
        pane.wait("the tickets report", |s| {
            s.contains("report: tickets") && s.contains("open tickets per age bucket")
        });
        pane.keys(&["Escape"]);
        pane.wait_for("Job outcomes over time");
        pane.keys(&["Escape"]);
        let back = pane.wait("the view underneath", |s| {
            !s.contains("Job outcomes over time")
        });
        let log = pane.log();
        (back, log)
    })
    .await
    .expect("the tmux steps ran");
    assert!(screens.0.contains("tickets"), "{}", screens.0);
    assert!(!screens.1.contains("panicked"), "{}", screens.1);
    rig.stop().await;
}

fn fixed_report() -> ReportData {
    serde_json::from_value(json!({
        "name": "resources",
        "title": "Machines and sessions per delivery group",
        "parameters": {},
        "columns": [
            { "name": "site", "title": "Site", "numeric": false },
            { "name": "delivery_group", "title": "Delivery group", "numeric": false },
            { "name": "machines", "title": "Machines", "numeric": true },
            { "name": "summary_available", "title": "Available", "numeric": true },
            { "name": "summary_in_use", "title": "InUse", "numeric": true },
            { "name": "summary_off", "title": "Off", "numeric": true },
            { "name": "sessions", "title": "Sessions", "numeric": true }
        ],
        "rows": [
            ["London", "Office Desktops", 40, 10, 28, 2, 31],
            ["London", "Kiosks", 8, 6, 2, 0, 2],
            ["Cloud", "Pooled", 20, 0, 20, 0, 24]
        ],
        "generated_at": "2026-11-27T09:30:00Z",
        "sources": [{ "kind": "site", "name": "London", "fetched_at": "2026-11-27T09:29:48Z",
                      "data_age": 12 }]
    }))
    .expect("a report")
}

#[test]
fn report_widget_snapshot() -> anyhow::Result<()> {
    let theme = Theme::load("mono", None)?;
    let data = fixed_report();
    let chart = chart(&data);
    let area = Rect::new(0, 0, 90, 20);
    let mut buf = Buffer::empty(area);
    let generated = Utc
        .with_ymd_and_hms(2026, 11, 27, 9, 30, 0)
        .single()
        .unwrap_or_default();
    let status = format!(
        "generated {} · data: London 12s old",
        generated.format("%H:%M:%S")
    );
    ReportView {
        name: "resources",
        data: Some(&data),
        chart: &chart,
        scroll: 0,
        status: &status,
    }
    .render(area, &mut buf, &theme);
    let text: String = (0..area.height)
        .map(|y| {
            let line: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
            format!("{}\n", line.trim_end())
        })
        .collect();
    insta::assert_snapshot!(text);
    Ok(())
}
