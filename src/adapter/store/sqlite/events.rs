//! Events in SQLite: append, read after an id, prune by age and count while remembering how
//! far pruning went (so a resuming client can be told it missed events).

use async_trait::async_trait;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, col, col_enum, from_ms, now_ms, parse_json, to_json};
use crate::adapter::store::events::{
    Event, EventKind, EventPage, EventRetention, EventStore, PruneReport,
};
use crate::adapter::store::{StoreError, page_limit};

fn event_from_row(row: &SqliteRow) -> Result<Event, StoreError> {
    let payload: String = col(row, "payload")?;
    Ok(Event {
        id: col(row, "id")?,
        at: from_ms("events.at", col(row, "at")?)?,
        kind: col_enum(row, "kind", EventKind::parse)?,
        subject: col(row, "subject")?,
        payload: parse_json("events.payload", &payload)?,
    })
}

/// Appends many events in the caller's transaction, in order, with one statement: their ids
/// increase in the order given, and they become visible with the changes they describe.
pub(super) async fn append_events(
    conn: &mut SqliteConnection,
    events: &[(EventKind, String, serde_json::Value)],
    now: i64,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = events
        .iter()
        .map(|(kind, subject, payload)| serde_json::json!([kind.as_str(), subject, payload]))
        .collect();
    // An object at `$[2]` comes out of json_extract as its (minified) JSON text.
    sqlx::query(
        "INSERT INTO events (at, kind, subject, payload)
         SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'),
                json_extract(value, '$[2]')
         FROM json_each(?2) ORDER BY key",
    )
    .bind(now)
    .bind(to_json(&serde_json::Value::Array(rows)))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn append_event(
        &self,
        kind: EventKind,
        subject: &str,
        payload: serde_json::Value,
    ) -> Result<Event, StoreError> {
        let row = sqlx::query(
            "INSERT INTO events (at, kind, subject, payload) VALUES (?, ?, ?, ?) RETURNING *",
        )
        .bind(now_ms())
        .bind(kind.as_str())
        .bind(subject)
        .bind(to_json(&payload))
        .fetch_one(self.writer())
        .await?;
        event_from_row(&row)
    }

    async fn events_since(&self, after_id: i64, limit: u32) -> Result<EventPage, StoreError> {
        let limit = page_limit(limit);
        // One read transaction: the page, the horizon and the oldest id from one snapshot.
        let mut tx = self.pool().begin().await?;
        let events = sqlx::query("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after_id)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let pruned_through: i64 =
            sqlx::query_scalar("SELECT pruned_through FROM event_horizon WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        let oldest_retained: Option<i64> = sqlx::query_scalar("SELECT min(id) FROM events")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(EventPage {
            events,
            missed: after_id < pruned_through,
            oldest_retained,
        })
    }

    async fn last_event_id(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT max(coalesce((SELECT max(id) FROM events), 0),
                        (SELECT pruned_through FROM event_horizon WHERE id = 1))",
        )
        .fetch_one(self.pool())
        .await?)
    }

    async fn prune_events(&self, retention: EventRetention) -> Result<PruneReport, StoreError> {
        let max_age_ms = i64::try_from(retention.max_age.as_millis()).unwrap_or(i64::MAX);
        let cutoff_at = now_ms().saturating_sub(max_age_ms);
        let keep = i64::try_from(retention.max_events).unwrap_or(i64::MAX);
        let mut tx = self.write_tx().await?;
        // Prune a prefix of ids (everything up to the newest expired one), so what remains is
        // always "every event after pruned_through".
        let through: Option<i64> = sqlx::query_scalar(
            "SELECT max(id) FROM events
             WHERE at < ?1 OR id <= (SELECT coalesce(max(id), 0) FROM events) - ?2",
        )
        .bind(cutoff_at)
        .bind(keep)
        .fetch_one(&mut *tx)
        .await?;
        let mut deleted = 0;
        if let Some(through) = through {
            deleted = sqlx::query("DELETE FROM events WHERE id <= ?")
                .bind(through)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(
                "UPDATE event_horizon SET pruned_through = max(pruned_through, ?) WHERE id = 1",
            )
            .bind(through)
            .execute(&mut *tx)
            .await?;
        }
        let pruned_through: i64 =
            sqlx::query_scalar("SELECT pruned_through FROM event_horizon WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        let oldest_retained: Option<i64> = sqlx::query_scalar("SELECT min(id) FROM events")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(PruneReport {
            deleted,
            oldest_retained,
            pruned_through,
        })
    }
}
