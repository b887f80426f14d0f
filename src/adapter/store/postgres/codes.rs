//! Users' security codes in PostgreSQL: one row per user with the code's Argon2id hash and its
//! attempt state, and an append-only trail of every enrolment and attempt.
//!
//! Verifying compares the code outside any transaction (Argon2 takes tens of milliseconds,
//! too long to hold a row lock), then applies the outcome in a transaction that re-reads the
//! row `FOR UPDATE`: replicas verifying the same user at once take turns on that row, each
//! deciding on the state the previous one committed, so every wrong attempt counts and a
//! one-time code verifies once. If the code was replaced meanwhile (its `generation` changed)
//! the comparison is redone. Every time compared (expiry, window, lockout) is the database's.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::PgStore;
use super::outbox::bounded_millis;
use crate::accounts::verify::{check_new_code, normalise_code};
use crate::adapter::store::codes::{
    CodeEvent, CodeKind, CodeLogEntry, CodeState, CodeStore, EnrolledCode, Verification,
    VerificationPolicy, actor, user_key,
};
use crate::adapter::store::columns::{col, col_enum, col_u32};
use crate::adapter::store::hashing::{dummy_hash, hash_secret, verify_secret};
use crate::adapter::store::{StoreError, page_limit};
use crate::secret::Secret;

/// The columns every read of `security_codes` needs (a macro so queries stay `&'static str`).
macro_rules! columns {
    () => {
        "user_key, kind, generation, enrolled_at, enrolled_by, expires_at, failed_attempts, \
         window_started_at, locked_until, used_at"
    };
}

/// How often a verification is redone because the code was replaced while it was compared.
const MAX_RACES: usize = 5;

fn enrolled_from_row(row: &PgRow) -> Result<EnrolledCode, StoreError> {
    Ok(EnrolledCode {
        user: col(row, "user_key")?,
        kind: col_enum(row, "kind", CodeKind::parse)?,
        enrolled_at: col(row, "enrolled_at")?,
        enrolled_by: col(row, "enrolled_by")?,
        expires_at: col(row, "expires_at")?,
        failed_attempts: col_u32(row, "failed_attempts")?,
        locked_until: col(row, "locked_until")?,
        used_at: col(row, "used_at")?,
    })
}

fn state_from_row(row: &PgRow) -> Result<CodeState, StoreError> {
    Ok(CodeState {
        kind: col_enum(row, "kind", CodeKind::parse)?,
        expires_at: col(row, "expires_at")?,
        failed_attempts: col_u32(row, "failed_attempts")?,
        window_started_at: col(row, "window_started_at")?,
        locked_until: col(row, "locked_until")?,
        used_at: col(row, "used_at")?,
    })
}

fn log_from_row(row: &PgRow) -> Result<CodeLogEntry, StoreError> {
    Ok(CodeLogEntry {
        id: col(row, "id")?,
        user: col(row, "user_key")?,
        at: col(row, "at")?,
        event: col_enum(row, "event", CodeEvent::parse)?,
        actor: col(row, "actor")?,
    })
}

/// Appends to the trail at `at`, or at the transaction's time when `None`.
async fn append_log(
    conn: &mut PgConnection,
    user: &str,
    at: Option<DateTime<Utc>>,
    event: CodeEvent,
    by: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO security_code_log (user_key, at, event, actor)
         VALUES ($1, coalesce($2, now()), $3, $4)",
    )
    .bind(user)
    .bind(at)
    .bind(event.as_str())
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

impl PgStore {
    /// Records an attempt whose outcome needed no change to the code's row.
    async fn log_attempt(
        &self,
        user: &str,
        outcome: Verification,
        by: &str,
    ) -> Result<Verification, StoreError> {
        let mut conn = self.pool().acquire().await?;
        append_log(&mut conn, user, None, CodeEvent::of(&outcome), by).await?;
        Ok(outcome)
    }
}

#[async_trait]
impl CodeStore for PgStore {
    async fn enroll_code(
        &self,
        user: &str,
        code: &Secret,
        kind: CodeKind,
        valid_for: Option<Duration>,
        by: &str,
    ) -> Result<EnrolledCode, StoreError> {
        let key = user_key(user)?;
        let by = actor(by)?;
        check_new_code(code.expose()).map_err(StoreError::Invalid)?;
        if valid_for.is_some_and(|d| d.is_zero()) {
            return Err(StoreError::Invalid(
                "a security code's validity must be longer than zero".to_owned(),
            ));
        }
        let hash = hash_secret(normalise_code(code.expose()).to_owned()).await?;
        let mut tx = self.pool().begin().await?;
        // `now()` is the transaction's time: the row and its trail line carry the same one.
        let row = sqlx::query(concat!(
            "INSERT INTO security_codes (user_key, code_hash, kind, generation, enrolled_at,
                                         enrolled_by, expires_at)
             VALUES ($1, $2, $3, $4, now(), $5, now() + $6 * interval '1 millisecond')
             ON CONFLICT (user_key) DO UPDATE SET
                 code_hash = EXCLUDED.code_hash, kind = EXCLUDED.kind,
                 generation = EXCLUDED.generation, enrolled_at = EXCLUDED.enrolled_at,
                 enrolled_by = EXCLUDED.enrolled_by, expires_at = EXCLUDED.expires_at,
                 failed_attempts = 0, window_started_at = NULL, locked_until = NULL,
                 used_at = NULL
             RETURNING ",
            columns!(),
            ""
        ))
        .bind(&key)
        .bind(hash)
        .bind(kind.as_str())
        .bind(Uuid::new_v4().to_string())
        .bind(by)
        .bind(valid_for.map(bounded_millis))
        .fetch_one(&mut *tx)
        .await?;
        append_log(&mut tx, &key, None, CodeEvent::Enrolled, by).await?;
        tx.commit().await?;
        enrolled_from_row(&row)
    }

    async fn verify_code(
        &self,
        user: &str,
        code: &Secret,
        policy: &VerificationPolicy,
        by: &str,
    ) -> Result<Verification, StoreError> {
        let key = user_key(user)?;
        let by = actor(by)?;
        let presented = normalise_code(code.expose()).to_owned();
        for _ in 0..MAX_RACES {
            let row = sqlx::query(concat!(
                "SELECT code_hash, now() AS db_now, ",
                columns!(),
                " FROM security_codes WHERE user_key = $1"
            ))
            .bind(&key)
            .fetch_optional(self.pool())
            .await?;
            let Some(row) = row else {
                // Same cost as a wrong code, so timing does not tell who has enrolled.
                verify_secret(presented, dummy_hash().to_owned()).await?;
                return self.log_attempt(&key, Verification::NotEnrolled, by).await;
            };
            if let Some(refusal) = state_from_row(&row)?.gate(col(&row, "db_now")?) {
                return self.log_attempt(&key, refusal, by).await;
            }
            let generation: String = col(&row, "generation")?;
            let matches = verify_secret(presented.clone(), col(&row, "code_hash")?).await?;

            let mut tx = self.pool().begin().await?;
            // The row lock serialises attempts from every replica: a concurrent attempt waits
            // here until this one commits, then reads the state it left.
            let fresh = sqlx::query(concat!(
                "SELECT ",
                columns!(),
                " FROM security_codes WHERE user_key = $1 AND generation = $2 FOR UPDATE"
            ))
            .bind(&key)
            .bind(&generation)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(fresh) = fresh else {
                // Replaced or revoked while compared: compare again with what is there now.
                continue;
            };
            let state = state_from_row(&fresh)?;
            // Read once the lock is held (`now()` would be the transaction's start, before a
            // wait for the lock), so attempts are decided in the order they are applied.
            let now: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
                .fetch_one(&mut *tx)
                .await?;
            let (outcome, next) = state.decide(now, matches, policy);
            if next != state {
                sqlx::query(
                    "UPDATE security_codes SET failed_attempts = $1, window_started_at = $2,
                         locked_until = $3, used_at = $4
                     WHERE user_key = $5 AND generation = $6",
                )
                .bind(i64::from(next.failed_attempts))
                .bind(next.window_started_at)
                .bind(next.locked_until)
                .bind(next.used_at)
                .bind(&key)
                .bind(&generation)
                .execute(&mut *tx)
                .await?;
            }
            append_log(&mut tx, &key, Some(now), CodeEvent::of(&outcome), by).await?;
            tx.commit().await?;
            return Ok(outcome);
        }
        Err(StoreError::Invalid(format!(
            "the security code of {key} was replaced {MAX_RACES} times while being checked; \
             try again"
        )))
    }

    async fn code_status(&self, user: &str) -> Result<Option<EnrolledCode>, StoreError> {
        let key = user_key(user)?;
        sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM security_codes WHERE user_key = $1"
        ))
        .bind(&key)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(enrolled_from_row)
        .transpose()
    }

    async fn revoke_code(&self, user: &str, by: &str) -> Result<bool, StoreError> {
        let key = user_key(user)?;
        let by = actor(by)?;
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query("DELETE FROM security_codes WHERE user_key = $1")
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        let removed = done.rows_affected() > 0;
        if removed {
            append_log(&mut tx, &key, None, CodeEvent::Revoked, by).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn code_log(&self, user: &str, limit: u32) -> Result<Vec<CodeLogEntry>, StoreError> {
        let key = user_key(user)?;
        sqlx::query(
            "SELECT id, user_key, at, event, actor FROM security_code_log
             WHERE user_key = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(&key)
        .bind(page_limit(limit))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(log_from_row)
        .collect()
    }
}
