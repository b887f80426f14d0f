//! The reports' store queries in PostgreSQL: one `GROUP BY` over the jobs that ended.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::PgRow;

use super::PgStore;
use super::outbox::MAX_INTERVAL_MS;
use crate::adapter::store::StoreError;
use crate::adapter::store::columns::col;
use crate::adapter::store::reports::{OutcomeBucket, ReportStore};

fn count(row: &PgRow, name: &'static str) -> Result<u64, StoreError> {
    let n: i64 = col(row, name)?;
    u64::try_from(n).map_err(|_| StoreError::Corrupt {
        column: name,
        reason: format!("{n} is not a count"),
    })
}

#[async_trait]
impl ReportStore for PgStore {
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
        // `date_bin` floors each end to its bucket's start, counted from the Unix epoch as in
        // SQLite, where whole milliseconds are divided. Actions sort by bytes (`COLLATE "C"`),
        // as SQLite sorts them.
        let rows = sqlx::query(
            "SELECT date_bin($1 * interval '1 millisecond', updated_at,
                             timestamptz '1970-01-01 00:00:00+00') AS bucket,
                    action,
                    count(*) FILTER (WHERE state = 'succeeded') AS succeeded,
                    count(*) FILTER (WHERE state = 'failed') AS failed,
                    count(*) FILTER (WHERE state = 'partially_failed') AS partially_failed,
                    count(*) FILTER (WHERE state = 'cancelled') AS cancelled
             FROM jobs
             WHERE state IN ('succeeded', 'failed', 'partially_failed', 'cancelled')
               AND updated_at >= $2
             GROUP BY bucket, action
             ORDER BY bucket, action COLLATE \"C\"",
        )
        // Wider than any interval PostgreSQL holds is as good as the widest: one bucket.
        .bind(width_ms.min(MAX_INTERVAL_MS))
        .bind(since)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OutcomeBucket {
                    start: col(row, "bucket")?,
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
