//! Reports as the console and `deskbridge report` read them: the catalog
//! (`GET /api/v1/reports`) and one report (`GET /api/v1/reports/{name}`), mirrored from the
//! adapter's JSON (the console knows the adapter through its HTTP API only).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{ApiClient, ClientError};

/// A parameter a report takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportParam {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub values: Vec<String>,
}

/// One report of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportInfo {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub parameters: Vec<ReportParam>,
}

#[derive(Debug, Clone, Deserialize)]
struct ReportList {
    items: Vec<ReportInfo>,
}

/// A column: `name` for CSV and scripts, `title` for people; counts are `numeric`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportColumn {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub numeric: bool,
}

/// Where a report's data came from, and how old it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSource {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub fetched_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub data_age: Option<u64>,
    #[serde(default)]
    pub degraded: bool,
    #[serde(default)]
    pub error: Option<String>,
}

/// One report: columns and rows of JSON cells (strings and counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    pub columns: Vec<ReportColumn>,
    pub rows: Vec<Vec<Value>>,
    pub generated_at: DateTime<Utc>,
    #[serde(default)]
    pub sources: Vec<ReportSource>,
}

impl ReportData {
    /// The index of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// A cell as text: strings as they are, numbers in full, null as nothing.
    pub fn text(cell: &Value) -> String {
        match cell {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// A cell as a count (0 when it is not one).
    pub fn count(cell: &Value) -> u64 {
        cell.as_u64().unwrap_or(0)
    }

    /// Sources that have no data yet (never fetched).
    pub fn unloaded(&self) -> Vec<&ReportSource> {
        self.sources
            .iter()
            .filter(|s| s.fetched_at.is_none())
            .collect()
    }
}

impl ApiClient {
    /// The reports the adapter makes, with their parameters.
    pub async fn reports(&self) -> Result<Vec<ReportInfo>, ClientError> {
        let list: ReportList = self.get(&["reports"], &[]).await?;
        Ok(list.items)
    }

    /// One report, made now, with `params` (`site`, `since`, `by`) as query parameters.
    pub async fn report(
        &self,
        name: &str,
        params: &[(&'static str, String)],
    ) -> Result<ReportData, ClientError> {
        self.get(&["reports", name], params).await
    }
}
