//! `POST /api/v1/power/idle` as the console calls it: the preview (dry run) of powering off
//! idle machines of delivery groups, and the real run that answers with the shutdown job. The
//! console's own mirror of the adapter's JSON (it depends on the HTTP API only).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::work::JobInfo;
use super::{ApiClient, ClientError};

/// The request: delivery group names or ids, an optional site, the threshold in minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdleRequest {
    pub delivery_groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    pub idle_minutes: u32,
    pub dry_run: bool,
}

/// A machine that would be (or was) chosen for shutdown.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdleCandidate {
    pub site: String,
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub delivery_group: String,
    #[serde(default)]
    pub last_connection_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub idle_minutes: i64,
    #[serde(default)]
    pub reason: String,
}

/// A machine of the groups that is left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdleSkipped {
    pub site: String,
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub delivery_group: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub reason: String,
}

/// The adapter's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IdleAnswer {
    pub dry_run: bool,
    pub idle_minutes: u32,
    #[serde(default)]
    pub delivery_groups: Vec<String>,
    #[serde(default)]
    pub candidates: Vec<IdleCandidate>,
    #[serde(default)]
    pub skipped: Vec<IdleSkipped>,
    #[serde(default)]
    pub job: Option<JobInfo>,
}

impl ApiClient {
    /// Previews (`dry_run`) or runs the power-off of idle machines.
    pub async fn power_off_idle(&self, request: &IdleRequest) -> Result<IdleAnswer, ClientError> {
        let call = "POST /api/v1/power/idle";
        let body = serde_json::to_value(request).map_err(|e| ClientError::Decode {
            call: call.to_owned(),
            detail: format!("the request cannot be written as JSON: {e}"),
        })?;
        let (_, answer): (u16, Value) = self.post(&["power", "idle"], Some(&body)).await?;
        serde_json::from_value(answer).map_err(|e| ClientError::Decode {
            call: call.to_owned(),
            detail: e.to_string(),
        })
    }
}
