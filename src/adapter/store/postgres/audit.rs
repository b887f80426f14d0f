//! The audit log in PostgreSQL: append and filtered, cursor-paged reads. Nothing here updates
//! or deletes, and triggers in the schema refuse it anyway.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use uuid::Uuid;

use super::PgStore;
use crate::adapter::store::audit::{
    AuditEntry, AuditOutcome, AuditPage, AuditQuery, AuditStore, NewAuditEntry,
};
use crate::adapter::store::columns::{col, col_enum};
use crate::adapter::store::{StoreError, TicketRef, page_limit};

fn entry_from_row(row: &PgRow) -> Result<AuditEntry, StoreError> {
    let instance: Option<String> = col(row, "ticket_instance")?;
    let number: Option<String> = col(row, "ticket_number")?;
    let Json(targets): Json<serde_json::Value> = col(row, "targets")?;
    Ok(AuditEntry {
        id: col(row, "id")?,
        at: col(row, "at")?,
        actor_id: col::<Option<Uuid>, _>(row, "actor_id")?,
        actor_name: col(row, "actor_name")?,
        action: col(row, "action")?,
        targets,
        ticket: instance
            .zip(number)
            .map(|(instance, number)| TicketRef { instance, number }),
        outcome: col_enum(row, "outcome", AuditOutcome::parse)?,
        message: col(row, "message")?,
        request_id: col(row, "request_id")?,
    })
}

#[async_trait]
impl AuditStore for PgStore {
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let (instance, number) = match entry.ticket {
            Some(t) => (Some(t.instance), Some(t.number)),
            None => (None, None),
        };
        let row = sqlx::query(
            "INSERT INTO audit_log (at, actor_id, actor_name, action, targets, ticket_instance,
                                    ticket_number, outcome, message, request_id)
             VALUES (now(), $1, $2, $3, $4, $5, $6, $7, $8, $9)
             RETURNING *",
        )
        .bind(entry.actor_id)
        .bind(entry.actor_name)
        .bind(entry.action)
        .bind(Json(&entry.targets))
        .bind(instance)
        .bind(number)
        .bind(entry.outcome.as_str())
        .bind(entry.message)
        .bind(entry.request_id)
        .fetch_one(self.pool())
        .await?;
        entry_from_row(&row)
    }

    async fn query_audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        let limit = page_limit(query.limit);
        // One static statement with optional filters (`$n IS NULL OR …`): no SQL is assembled
        // from input. The text filter is a literal substring (`position`, not LIKE), so `%`
        // and `_` in it match themselves. `targets::text` is jsonb's normalised rendering
        // (`{"site": "a"}`), so a search spanning JSON punctuation may differ from SQLite,
        // which keeps the text as written; words and values match alike.
        let rows = sqlx::query(
            "SELECT * FROM audit_log
             WHERE ($1::text IS NULL OR actor_name = $1 OR actor_id::text = $1)
               AND ($2::text IS NULL OR action = $2)
               AND ($3::timestamptz IS NULL OR at >= $3)
               AND ($4::bigint IS NULL OR id < $4)
               AND ($5::text IS NULL OR position(lower($5) IN lower(
                        action || ' ' || actor_name || ' ' || targets::text || ' '
                        || coalesce(ticket_number, '') || ' ' || coalesce(message, ''))) > 0)
             ORDER BY id DESC
             LIMIT $6",
        )
        .bind(query.actor)
        .bind(query.action)
        .bind(query.since)
        .bind(query.cursor)
        .bind(query.text.filter(|t| !t.is_empty()))
        // One extra row tells whether there is a next page without a COUNT.
        .bind(limit + 1)
        .fetch_all(self.pool())
        .await?;
        let mut items = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let more = items.len() as i64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_cursor = if more {
            items.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { items, next_cursor })
    }
}
