//! What the reports read from the store: job outcomes grouped by time bucket and action,
//! counted by the database in one grouped query rather than by reading every job.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// Jobs of one action that ended within one time bucket, by how they ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeBucket {
    /// The bucket's start (UTC, a multiple of its width since the Unix epoch).
    pub start: DateTime<Utc>,
    pub action: String,
    pub succeeded: u64,
    pub failed: u64,
    pub partially_failed: u64,
    pub cancelled: u64,
}

#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Jobs that ended (succeeded, failed, partially failed, cancelled) at or after `since`,
    /// counted per `width` bucket of the time they ended (their last update) and per action;
    /// ordered by bucket, then action. Buckets without jobs are left out.
    ///
    /// PostgreSQL: the same `GROUP BY` with `date_bin(width, updated_at, epoch)`.
    async fn job_outcomes(
        &self,
        since: DateTime<Utc>,
        width: Duration,
    ) -> Result<Vec<OutcomeBucket>, StoreError>;
}
