//! The `jobs` report: jobs that ended, per time bucket (hour or day, UTC) and action, by
//! outcome. The store counts them ([`ReportStore::job_outcomes`]); this shapes the rows.
//!
//! [`ReportStore::job_outcomes`]: crate::adapter::store::ReportStore::job_outcomes

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::{Bucket, Column, Report, Source, SourceKind};
use crate::adapter::store::OutcomeBucket;

/// The first instant a `since` window counts from.
pub fn window_start(now: DateTime<Utc>, since: chrono::Duration) -> DateTime<Utc> {
    now - since
}

pub fn build(
    now: DateTime<Utc>,
    since_text: &str,
    by: Bucket,
    buckets: &[OutcomeBucket],
) -> Report {
    let columns = vec![
        Column::text("bucket", if by == Bucket::Day { "Day" } else { "Hour" }),
        Column::text("action", "Action"),
        Column::count("succeeded", "Succeeded"),
        Column::count("failed", "Failed"),
        Column::count("partially_failed", "Partly failed"),
        Column::count("cancelled", "Cancelled"),
        Column::count("total", "Total"),
    ];
    let rows = buckets
        .iter()
        .map(|b| {
            let start = match by {
                Bucket::Hour => b.start.to_rfc3339_opts(SecondsFormat::Secs, true),
                Bucket::Day => b.start.format("%Y-%m-%d").to_string(),
            };
            vec![
                json!(start),
                json!(b.action),
                json!(b.succeeded),
                json!(b.failed),
                json!(b.partially_failed),
                json!(b.cancelled),
                json!(b.succeeded + b.failed + b.partially_failed + b.cancelled),
            ]
        })
        .collect();
    let parameters = BTreeMap::from([
        ("since".to_owned(), since_text.to_owned()),
        ("by".to_owned(), by.as_str().to_owned()),
    ]);
    Report {
        name: "jobs".to_owned(),
        title: super::info("jobs").map_or("", |i| i.title).to_owned(),
        parameters,
        columns,
        rows,
        generated_at: now,
        sources: vec![Source::new(SourceKind::Store, "jobs", Some(now), now)],
    }
}
