//! The event feed in PostgreSQL, ordered across replicas: append, read after an id, prune
//! by age and count while remembering how far pruning went.

use async_trait::async_trait;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use super::outbox::bounded_millis;
use super::{EVENTS_LOCK, PgStore};
use crate::adapter::store::columns::{col, col_enum};
use crate::adapter::store::events::{
    Event, EventKind, EventPage, EventRetention, EventStore, PruneReport,
};
use crate::adapter::store::{StoreError, page_limit};

/// Appends many events in the caller's transaction, in order, with one statement. Takes
/// [`EVENTS_LOCK`] first and holds it to the commit, so no other transaction can commit a
/// smaller id later: a reader that has seen id N never misses an event below N. Call it as the
/// last statement of the transaction, so the lock is held for as short a time as possible.
pub(super) async fn append_events(
    conn: &mut PgConnection,
    events: &[(EventKind, String, serde_json::Value)],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(EVENTS_LOCK)
        .execute(&mut *conn)
        .await?;
    let kinds: Vec<&str> = events.iter().map(|(k, _, _)| k.as_str()).collect();
    let subjects: Vec<&str> = events.iter().map(|(_, s, _)| s.as_str()).collect();
    let payloads: Vec<Json<&serde_json::Value>> = events.iter().map(|(_, _, p)| Json(p)).collect();
    sqlx::query(
        "INSERT INTO events (at, kind, subject, payload)
         SELECT now(), e.kind, e.subject, e.payload
         FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY
              AS e(kind, subject, payload, n)
         ORDER BY e.n",
    )
    .bind(&kinds)
    .bind(&subjects)
    .bind(&payloads)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn event_from_row(row: &PgRow) -> Result<Event, StoreError> {
    let Json(payload): Json<serde_json::Value> = col(row, "payload")?;
    Ok(Event {
        id: col(row, "id")?,
        at: col(row, "at")?,
        kind: col_enum(row, "kind", EventKind::parse)?,
        subject: col(row, "subject")?,
        payload,
    })
}

#[async_trait]
impl EventStore for PgStore {
    async fn append_event(
        &self,
        kind: EventKind,
        subject: &str,
        payload: serde_json::Value,
    ) -> Result<Event, StoreError> {
        let mut tx = self.pool().begin().await?;
        append_events(&mut tx, &[(kind, subject.to_owned(), payload)]).await?;
        // The id this session's insert drew from the identity sequence: exactly our event.
        let row = sqlx::query(
            "SELECT * FROM events WHERE id = currval(pg_get_serial_sequence('events', 'id'))",
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        event_from_row(&row)
    }

    async fn events_since(&self, after_id: i64, limit: u32) -> Result<EventPage, StoreError> {
        let limit = page_limit(limit);
        // One snapshot for the page, the horizon and the oldest id: under READ COMMITTED a
        // prune committing between the reads could delete events after `after_id` without
        // the horizon read saying so.
        let mut tx = self
            .pool()
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        let events = sqlx::query("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2")
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
            "SELECT greatest(coalesce((SELECT max(id) FROM events), 0),
                             (SELECT pruned_through FROM event_horizon WHERE id = 1))",
        )
        .fetch_one(self.pool())
        .await?)
    }

    async fn prune_events(&self, retention: EventRetention) -> Result<PruneReport, StoreError> {
        let keep = i64::try_from(retention.max_events).unwrap_or(i64::MAX);
        let mut tx = self.pool().begin().await?;
        // Replicas pruning at once take turns on the horizon row, so each one's report is
        // about the state the previous one left.
        sqlx::query("SELECT pruned_through FROM event_horizon WHERE id = 1 FOR UPDATE")
            .execute(&mut *tx)
            .await?;
        // Prune a prefix of ids (everything up to the newest expired one), so what remains is
        // always "every event after pruned_through".
        let through: Option<i64> = sqlx::query_scalar(
            "SELECT max(id) FROM events
             WHERE at < now() - $1 * interval '1 millisecond'
                OR id <= (SELECT coalesce(max(id), 0) FROM events) - $2",
        )
        .bind(bounded_millis(retention.max_age))
        .bind(keep)
        .fetch_one(&mut *tx)
        .await?;
        let mut deleted = 0;
        if let Some(through) = through {
            // The delete and the horizon move in one statement (and one transaction): a
            // reader sees both or neither.
            deleted = sqlx::query_scalar::<_, i64>(
                "WITH gone AS (DELETE FROM events WHERE id <= $1 RETURNING id),
                      moved AS (UPDATE event_horizon
                                SET pruned_through = greatest(pruned_through, $1)
                                WHERE id = 1)
                 SELECT count(*) FROM gone",
            )
            .bind(through)
            .fetch_one(&mut *tx)
            .await?
            .try_into()
            .unwrap_or(0);
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
