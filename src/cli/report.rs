//! `deskbridge report NAME --format table|csv|json`: one report from an adapter, printed for a
//! person (an aligned table), a spreadsheet (CSV, RFC 4180) or a script (JSON, as the API
//! answers it).
//!
//! The adapter and its credentials are found as the console finds them (`--adapter`, the
//! console config, `DESKBRIDGE_*`). With none set, the embedded lab and an adapter start in
//! this process, with a store of their own in a temporary folder (never the console's, whose
//! admin secret a second start would replace), and the report is taken once their inventory
//! and ticket queues have loaded.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use unicode_width::UnicodeWidthStr;

use crate::console::client::{ApiClient, ReportData};
use crate::lab::Lab;

/// How long the embedded lab may take to load before the report gives up.
const LOAD_PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Aligned columns, counts right-aligned, for reading.
    #[default]
    Table,
    /// RFC 4180 CSV with a header row of column names.
    Csv,
    /// The report as the API gives it.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The report: resources, tickets or jobs.
    #[arg(value_name = "NAME")]
    pub name: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// resources: only this site.
    #[arg(long, value_name = "SITE")]
    pub site: Option<String>,
    /// jobs: how far back (90m, 24h, 7d; default 24h).
    #[arg(long, value_name = "WINDOW")]
    pub since: Option<String>,
    /// jobs: bucket width, hour or day (default hour).
    #[arg(long, value_name = "WIDTH")]
    pub by: Option<String>,
    /// The adapter to ask (as for `deskbridge console`); leave out for the embedded lab.
    #[arg(long, value_name = "URL")]
    pub adapter: Option<String>,
    /// The console config file to take the adapter and client id from.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl ReportArgs {
    fn params(&self) -> Vec<(&'static str, String)> {
        [
            ("site", &self.site),
            ("since", &self.since),
            ("by", &self.by),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
        .collect()
    }
}

/// Runs the command: fetches the report and prints it on stdout.
pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let console_args = super::console::ConsoleArgs {
        adapter: args.adapter.clone(),
        config: args.config.clone(),
        ..super::console::ConsoleArgs::default()
    };
    let config = super::console::load(&console_args)?;
    let report = match super::console::adapter_client(&config)? {
        Some(client) => fetch(&client, &args).await?,
        None => embedded(&args).await?,
    };
    let text = render(&report, args.format)?;
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write the report to stdout")?;
    Ok(())
}

async fn fetch(client: &ApiClient, args: &ReportArgs) -> anyhow::Result<ReportData> {
    client
        .report(&args.name, &args.params())
        .await
        .map_err(|e| anyhow::anyhow!("report {}: {}", args.name, e.message()))
}

/// The embedded lab and adapter, a report once every source has loaded, then both stopped.
async fn embedded(args: &ReportArgs) -> anyhow::Result<ReportData> {
    let lab = Lab::start(super::console::embedded_lab_options())
        .await
        .context("cannot start the lab")?;
    let dir = std::env::temp_dir().join(format!(
        "deskbridge-report-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = async {
        let adapter = super::serve::start_lab_adapter(lab.info(), &dir).await?;
        let client = ApiClient::new(
            &adapter.server.url(),
            adapter.admin_id.to_string(),
            adapter.secret.clone(),
        )?;
        let report = loaded(&client, args).await;
        let stopped = adapter.server.shutdown().await;
        let report = report?;
        stopped.context("the embedded adapter failed")?;
        Ok(report)
    }
    .await;
    lab.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Asks for the report until none of its sources is still waiting for its first load.
async fn loaded(client: &ApiClient, args: &ReportArgs) -> anyhow::Result<ReportData> {
    let deadline = tokio::time::Instant::now() + LOAD_PATIENCE;
    loop {
        let report = fetch(client, args).await?;
        let waiting: Vec<&str> = report
            .unloaded()
            .into_iter()
            .filter(|s| s.error.is_none())
            .map(|s| s.name.as_str())
            .collect();
        if waiting.is_empty() {
            return Ok(report);
        }
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!(
                "the embedded lab did not load within {} s: still waiting for {}",
                LOAD_PATIENCE.as_secs(),
                waiting.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The report in `format`, ending in a newline.
pub fn render(report: &ReportData, format: Format) -> anyhow::Result<String> {
    match format {
        Format::Table => Ok(table(report)),
        Format::Csv => csv(report),
        Format::Json => {
            let mut text = serde_json::to_string_pretty(report)
                .context("the report cannot be written as JSON")?;
            text.push('\n');
            Ok(text)
        }
    }
}

/// RFC 4180: a header of column names, then one record per row; fields with commas, quotes
/// or line breaks quoted, CRLF line ends.
pub fn csv(report: &ReportData) -> anyhow::Result<String> {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(report.columns.iter().map(|c| c.name.as_str()))?;
    for row in &report.rows {
        writer.write_record(row.iter().map(ReportData::text))?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot write the CSV: {}", e.error()))?;
    String::from_utf8(bytes).context("the CSV is not UTF-8")
}

/// A title line, the header, a rule, the rows with counts right-aligned, and a line saying
/// how old each source's data is.
pub fn table(report: &ReportData) -> String {
    let cells: Vec<Vec<String>> = report
        .rows
        .iter()
        .map(|r| r.iter().map(ReportData::text).collect())
        .collect();
    let widths: Vec<usize> = report
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .filter_map(|r| r.get(i))
                .map(|s| s.width())
                .chain([c.title.width()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: &[String]| -> String {
        let mut out = String::new();
        for (i, (column, width)) in report.columns.iter().zip(&widths).enumerate() {
            let value = values.get(i).map_or("", String::as_str);
            let pad = " ".repeat(width.saturating_sub(value.width()));
            if i > 0 {
                out.push_str("  ");
            }
            if column.numeric {
                out.push_str(&pad);
                out.push_str(value);
            } else {
                out.push_str(value);
                out.push_str(&pad);
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = format!(
        "{} (generated {})\n",
        report.title,
        report.generated_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let titles: Vec<String> = report.columns.iter().map(|c| c.title.clone()).collect();
    out.push_str(&line(&titles));
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(&rule));
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row));
        out.push('\n');
    }
    if report.rows.is_empty() {
        out.push_str("(no rows)\n");
    }
    if !report.sources.is_empty() {
        let ages: Vec<String> = report.sources.iter().map(source_age).collect();
        out.push_str(&format!("data: {}\n", ages.join(", ")));
    }
    out
}

fn source_age(source: &crate::console::client::ReportSource) -> String {
    let age = match source.data_age {
        Some(s) if s < 120 => format!("{s}s old"),
        Some(s) if s < 7_200 => format!("{}m old", s / 60),
        Some(s) => format!("{}h old", s / 3_600),
        None => "not loaded yet".to_owned(),
    };
    let mut text = format!("{} {age}", source.name);
    if source.degraded {
        text.push_str(" (degraded: last-known data)");
    } else if let Some(error) = &source.error {
        text.push_str(&format!(" (last refresh failed: {error})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn report() -> ReportData {
        serde_json::from_value(json!({
            "name": "resources",
            "title": "Machines",
            "parameters": {},
            "columns": [
                { "name": "site", "title": "Site", "numeric": false },
                { "name": "delivery_group", "title": "Delivery group", "numeric": false },
                { "name": "machines", "title": "Machines", "numeric": true }
            ],
            "rows": [
                ["London", "Office, \"East\"", 120],
                ["Cloud", "Kiosk\nfloor 2", 7]
            ],
            "generated_at": "2026-11-27T12:00:00Z",
            "sources": [{ "kind": "site", "name": "London", "fetched_at": "2026-11-27T11:59:30Z",
                          "data_age": 30 }]
        }))
        .expect("a report")
    }

    #[test]
    fn csv_quotes_commas_quotes_and_line_breaks() -> anyhow::Result<()> {
        let text = csv(&report())?;
        assert_eq!(
            text,
            "site,delivery_group,machines\r\nLondon,\"Office, \"\"East\"\"\",120\r\nCloud,\"Kiosk\nfloor 2\",7\r\n"
        );
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<::csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
        assert_eq!(&rows[0][1], "Office, \"East\"");
        Ok(())
    }

    #[test]
    fn table_aligns_text_left_and_counts_right() {
        let mut r = report();
        r.rows[1][1] = Value::String("Kiosk".into());
        let text = table(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "Site    Delivery group  Machines");
        assert_eq!(lines[2], "------  --------------  --------");
        assert_eq!(
            lines[3],
            format!("London  Office, \"East\"  {}120", " ".repeat(5))
        );
        assert_eq!(
            lines[4],
            format!("Cloud   Kiosk{}  {}7", " ".repeat(9), " ".repeat(7))
        );
        assert_eq!(lines[5], "data: London 30s old");
    }

    #[test]
    fn json_round_trips() -> anyhow::Result<()> {
        let text = render(&report(), Format::Json)?;
        let back: ReportData = serde_json::from_str(&text)?;
        assert_eq!(back, report());
        Ok(())
    }
}
