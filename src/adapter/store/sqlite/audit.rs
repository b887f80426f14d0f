//! The audit log in SQLite: append and filtered, cursor-paged reads. Nothing here updates or
//! deletes, and triggers in the schema refuse it anyway.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, col, col_enum, from_ms, now_ms, parse_json, parse_uuid, to_json, to_ms};
use crate::adapter::store::audit::{
    AuditEntry, AuditOutcome, AuditPage, AuditQuery, AuditStore, NewAuditEntry,
};
use crate::adapter::store::{StoreError, TicketRef, page_limit};

fn entry_from_row(row: &SqliteRow) -> Result<AuditEntry, StoreError> {
    let actor_id: Option<String> = col(row, "actor_id")?;
    let instance: Option<String> = col(row, "ticket_instance")?;
    let number: Option<String> = col(row, "ticket_number")?;
    let targets: String = col(row, "targets")?;
    Ok(AuditEntry {
        id: col(row, "id")?,
        at: from_ms("audit_log.at", col(row, "at")?)?,
        actor_id: actor_id
            .map(|s| parse_uuid("audit_log.actor_id", &s))
            .transpose()?,
        actor_name: col(row, "actor_name")?,
        action: col(row, "action")?,
        targets: parse_json("audit_log.targets", &targets)?,
        ticket: instance
            .zip(number)
            .map(|(instance, number)| TicketRef { instance, number }),
        outcome: col_enum(row, "outcome", AuditOutcome::parse)?,
        message: col(row, "message")?,
        request_id: col(row, "request_id")?,
    })
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let (instance, number) = match entry.ticket {
            Some(t) => (Some(t.instance), Some(t.number)),
            None => (None, None),
        };
        let row = sqlx::query(
            "INSERT INTO audit_log (at, actor_id, actor_name, action, targets, ticket_instance,
                                    ticket_number, outcome, message, request_id)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             RETURNING *",
        )
        .bind(now_ms())
        .bind(entry.actor_id.map(|id| id.to_string()))
        .bind(entry.actor_name)
        .bind(entry.action)
        .bind(to_json(&entry.targets))
        .bind(instance)
        .bind(number)
        .bind(entry.outcome.as_str())
        .bind(entry.message)
        .bind(entry.request_id)
        .fetch_one(self.writer())
        .await?;
        entry_from_row(&row)
    }

    async fn query_audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        let limit = page_limit(query.limit);
        // One static statement with optional filters (`? IS NULL OR …`): no SQL is assembled
        // from input, and the same text ports to PostgreSQL with `$n` placeholders.
        let rows = sqlx::query(
            "SELECT * FROM audit_log
             WHERE (?1 IS NULL OR actor_name = ?1 OR actor_id = ?1)
               AND (?2 IS NULL OR action = ?2)
               AND (?3 IS NULL OR at >= ?3)
               AND (?4 IS NULL OR id < ?4)
               AND (?5 IS NULL OR instr(lower(action || ' ' || actor_name || ' ' || targets || ' '
                        || coalesce(ticket_number, '') || ' ' || coalesce(message, '')),
                        lower(?5)) > 0)
             ORDER BY id DESC
             LIMIT ?6",
        )
        .bind(query.actor)
        .bind(query.action)
        .bind(query.since.map(to_ms))
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
