//! The reports' store queries in SQLite: one `GROUP BY` over the jobs that ended.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{SqliteStore, col, from_ms, to_ms};
use crate::adapter::store::StoreError;
use crate::adapter::store::reports::{OutcomeBucket, ReportStore};

fn count(row: &sqlx::sqlite::SqliteRow, name: &'static str) -> Result<u64, StoreError> {
    let n: i64 = col(row, name)?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt {
        column: name,
        reason: format!("{n} is not a count"),
    })
}

#[async_trait]
impl ReportStore for SqliteStore {
    async fn job_outcomes(
        &self,
        since: DateTime<Utc>,
        width: Duration,
    ) -> Result<Vec<OutcomeBucket>, StoreError> {
        let width_ms = width.num_milliseconds();
        if width_ms <= 0 {
            return Err(StoreError::Invalid(format!(
                "a report bucket must be longer than zero, not {width}"
            )));
        }
        // Times are milliseconds since the epoch, so integer division floors each end to its
        // bucket's start.
        let rows = sqlx::query(
            "SELECT (updated_at / ?1) * ?1 AS bucket, action,
                    sum(state = 'succeeded') AS succeeded,
                    sum(state = 'failed') AS failed,
                    sum(state = 'partially_failed') AS partially_failed,
                    sum(state = 'cancelled') AS cancelled
             FROM jobs
             WHERE state IN ('succeeded', 'failed', 'partially_failed', 'cancelled')
               AND updated_at >= ?2
             GROUP BY bucket, action
             ORDER BY bucket, action",
        )
        .bind(width_ms)
        .bind(to_ms(since))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OutcomeBucket {
                    start: from_ms("jobs.updated_at", col(row, "bucket")?)?,
                    action: col(row, "action")?,
                    succeeded: count(row, "succeeded")?,
                    failed: count(row, "failed")?,
                    partially_failed: count(row, "partially_failed")?,
                    cancelled: count(row, "cancelled")?,
                })
            })
            .collect()
    }
}
