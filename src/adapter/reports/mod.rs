//! Reports: counts the adapter already holds, as one table-shaped value ([`Report`]) that the
//! API serves as JSON and `deskbridge report` prints as a table, CSV or JSON.
//!
//! - [`resources`]: machines per delivery group by power, registration and summary state,
//!   and sessions per group (PowerShell's `Get-BrokerMachine | Group-Object
//!   DesktopGroupName`), from the inventory's snapshots.
//! - [`tickets`]: open queue tickets by state and age bucket, from the ticket books.
//! - [`jobs`]: job outcomes per hour or day and action, from one grouped store query.
//!
//! The builders are pure (data in, [`Report`] out); the API gathers their inputs. Requests
//! are parsed here ([`Request::parse`]) so the API and its OpenAPI text agree on the
//! parameters.

pub mod jobs;
pub mod params;
pub mod resources;
pub mod tickets;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use params::{Bucket, ReportError, Request};

/// One column of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Machine-friendly (`power_on`): the CSV header and the key scripts use.
    pub name: String,
    /// For people (`Power On`): the table header.
    pub title: String,
    /// A count: right-aligned in tables, summed by charts.
    pub numeric: bool,
}

impl Column {
    pub fn text(name: &str, title: &str) -> Column {
        Column {
            name: name.to_owned(),
            title: title.to_owned(),
            numeric: false,
        }
    }

    pub fn count(name: &str, title: &str) -> Column {
        Column {
            name: name.to_owned(),
            title: title.to_owned(),
            numeric: true,
        }
    }
}

/// Where a report's data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A CVAD site's inventory snapshot.
    Site,
    /// A ServiceNow instance's ticket book.
    Instance,
    /// The adapter's own store (jobs): read at `generated_at`.
    Store,
}

/// One source of a report and how old its data is, so a reader can tell a count from a
/// degraded site's last-known data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    pub name: String,
    /// When the data was fetched; null before the first successful fetch.
    pub fetched_at: Option<DateTime<Utc>>,
    /// Whole seconds between `fetched_at` and `generated_at`; null with it.
    pub data_age: Option<u64>,
    /// The site's connectors are all down: the counts are last-known data.
    #[serde(default)]
    pub degraded: bool,
    /// Why the last refresh or poll failed; null after a success.
    #[serde(default)]
    pub error: Option<String>,
}

impl Source {
    /// A source with data fetched at `fetched_at`, aged at `now`.
    pub fn new(
        kind: SourceKind,
        name: &str,
        fetched_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Source {
        Source {
            kind,
            name: name.to_owned(),
            fetched_at,
            data_age: fetched_at.map(|at| u64::try_from((now - at).num_seconds()).unwrap_or(0)),
            degraded: false,
            error: None,
        }
    }
}

/// A report: columns, rows of JSON cells (strings and counts), when it was made, the
/// parameters it was made with and the age of the data behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub name: String,
    pub title: String,
    /// The parameters in force, defaults included (`since=24h`, `by=hour`).
    pub parameters: BTreeMap<String, String>,
    pub columns: Vec<Column>,
    /// One array per row, one cell per column, in column order.
    pub rows: Vec<Vec<Value>>,
    pub generated_at: DateTime<Utc>,
    pub sources: Vec<Source>,
}

impl Report {
    /// The index of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The sum of a numeric column over every row (0 for an unknown column).
    pub fn total(&self, name: &str) -> u64 {
        let Some(i) = self.column(name) else {
            return 0;
        };
        self.rows
            .iter()
            .filter_map(|r| r.get(i).and_then(Value::as_u64))
            .sum()
    }
}

/// A parameter a report takes, for the list endpoint and the OpenAPI document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamInfo {
    pub name: &'static str,
    pub description: &'static str,
    /// The value in force when the parameter is left out; null for "no filter".
    pub default: Option<&'static str>,
    /// The values allowed, when they are a closed set.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub values: &'static [&'static str],
}

/// One report of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportInfo {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub parameters: &'static [ParamInfo],
}

/// Every report the adapter makes, in the order lists show them.
pub static CATALOG: &[ReportInfo] = &[
    ReportInfo {
        name: "resources",
        title: "Machines and sessions per delivery group",
        description: "Per site and delivery group: machines in total and by power, registration \
            and summary state, and sessions (Get-BrokerMachine | Group-Object DesktopGroupName). \
            From the inventory's snapshots; each site's data age is in sources.",
        parameters: &[ParamInfo {
            name: "site",
            description: "Only this site (a configured site name, any case)",
            default: None,
            values: &[],
        }],
    },
    ReportInfo {
        name: "tickets",
        title: "Open tickets by state and age",
        description: "Per ServiceNow instance, queue and state: open tickets by time since they \
            were opened (under 1 h, 1–4 h, 4–24 h, 1–3 d, over 3 d). From the synced queues.",
        parameters: &[],
    },
    ReportInfo {
        name: "jobs",
        title: "Job outcomes over time",
        description: "Per hour (or day) and action: jobs that ended succeeded, failed, partially \
            failed or cancelled, bucketed by when they ended (UTC).",
        parameters: &[
            ParamInfo {
                name: "since",
                description: "How far back: a whole number and a unit, m, h, d or w (90m, 24h, \
                    7d); at most 366d",
                default: Some("24h"),
                values: &[],
            },
            ParamInfo {
                name: "by",
                description: "The width of a time bucket",
                default: Some("hour"),
                values: &["hour", "day"],
            },
        ],
    },
];

/// The catalog entry of `name`.
pub fn info(name: &str) -> Option<&'static ReportInfo> {
    CATALOG.iter().find(|r| r.name == name)
}
