//! Users' security codes in SQLite: one row per user with the code's Argon2id hash and its
//! attempt state, and an append-only trail of every enrolment and attempt.
//!
//! Verifying compares the code outside any transaction (Argon2 takes tens of milliseconds,
//! too long to hold the write lock), then applies the outcome in a write transaction that
//! re-reads the row: if the code was replaced meanwhile (its `generation` changed) the
//! comparison is redone, otherwise [`CodeState::decide`] runs on the fresh state. Two
//! concurrent attempts therefore both count, and a one-time code verifies only once.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::{SqliteStore, after_ms, col, col_enum, col_u32, from_ms, now_ms, opt_from_ms, to_ms};
use crate::accounts::verify::{check_new_code, normalise_code};
use crate::adapter::store::codes::{
    CodeEvent, CodeKind, CodeLogEntry, CodeState, CodeStore, EnrolledCode, Verification,
    VerificationPolicy, actor, user_key,
};
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

fn enrolled_from_row(row: &SqliteRow) -> Result<EnrolledCode, StoreError> {
    Ok(EnrolledCode {
        user: col(row, "user_key")?,
        kind: col_enum(row, "kind", CodeKind::parse)?,
        enrolled_at: from_ms("security_codes.enrolled_at", col(row, "enrolled_at")?)?,
        enrolled_by: col(row, "enrolled_by")?,
        expires_at: opt_from_ms("security_codes.expires_at", col(row, "expires_at")?)?,
        failed_attempts: col_u32(row, "failed_attempts")?,
        locked_until: opt_from_ms("security_codes.locked_until", col(row, "locked_until")?)?,
        used_at: opt_from_ms("security_codes.used_at", col(row, "used_at")?)?,
    })
}

fn state_from_row(row: &SqliteRow) -> Result<CodeState, StoreError> {
    Ok(CodeState {
        kind: col_enum(row, "kind", CodeKind::parse)?,
        expires_at: opt_from_ms("security_codes.expires_at", col(row, "expires_at")?)?,
        failed_attempts: col_u32(row, "failed_attempts")?,
        window_started_at: opt_from_ms(
            "security_codes.window_started_at",
            col(row, "window_started_at")?,
        )?,
        locked_until: opt_from_ms("security_codes.locked_until", col(row, "locked_until")?)?,
        used_at: opt_from_ms("security_codes.used_at", col(row, "used_at")?)?,
    })
}

fn log_from_row(row: &SqliteRow) -> Result<CodeLogEntry, StoreError> {
    Ok(CodeLogEntry {
        id: col(row, "id")?,
        user: col(row, "user_key")?,
        at: from_ms("security_code_log.at", col(row, "at")?)?,
        event: col_enum(row, "event", CodeEvent::parse)?,
        actor: col(row, "actor")?,
    })
}

async fn append_log(
    conn: &mut SqliteConnection,
    user: &str,
    at: i64,
    event: CodeEvent,
    by: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO security_code_log (user_key, at, event, actor) VALUES (?, ?, ?, ?)")
        .bind(user)
        .bind(at)
        .bind(event.as_str())
        .bind(by)
        .execute(conn)
        .await?;
    Ok(())
}

impl SqliteStore {
    /// Records an attempt whose outcome needed no change to the code's row.
    async fn log_attempt(
        &self,
        user: &str,
        outcome: Verification,
        by: &str,
    ) -> Result<Verification, StoreError> {
        let mut tx = self.write_tx().await?;
        append_log(&mut tx, user, now_ms(), CodeEvent::of(&outcome), by).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

#[async_trait]
impl CodeStore for SqliteStore {
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
        let mut tx = self.write_tx().await?;
        let now = now_ms();
        let row = sqlx::query(concat!(
            "INSERT INTO security_codes (user_key, code_hash, kind, generation, enrolled_at,
                                         enrolled_by, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (user_key) DO UPDATE SET
                 code_hash = excluded.code_hash, kind = excluded.kind,
                 generation = excluded.generation, enrolled_at = excluded.enrolled_at,
                 enrolled_by = excluded.enrolled_by, expires_at = excluded.expires_at,
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
        .bind(now)
        .bind(by)
        .bind(valid_for.map(|d| after_ms(now, d)))
        .fetch_one(&mut *tx)
        .await?;
        append_log(&mut tx, &key, now, CodeEvent::Enrolled, by).await?;
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
                "SELECT code_hash, ",
                columns!(),
                " FROM security_codes WHERE user_key = ?"
            ))
            .bind(&key)
            .fetch_optional(self.pool())
            .await?;
            let Some(row) = row else {
                // Same cost as a wrong code, so timing does not tell who has enrolled.
                verify_secret(presented, dummy_hash().to_owned()).await?;
                return self.log_attempt(&key, Verification::NotEnrolled, by).await;
            };
            if let Some(refusal) = state_from_row(&row)?.gate(from_ms("now", now_ms())?) {
                return self.log_attempt(&key, refusal, by).await;
            }
            let generation: String = col(&row, "generation")?;
            let matches = verify_secret(presented.clone(), col(&row, "code_hash")?).await?;

            let mut tx = self.write_tx().await?;
            let fresh = sqlx::query(concat!(
                "SELECT ",
                columns!(),
                " FROM security_codes WHERE user_key = ? AND generation = ?"
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
            // Whole milliseconds, as stored, so the lock time reported now is the one
            // reported by every later refusal.
            let now = from_ms("now", now_ms())?;
            let (outcome, next) = state.decide(now, matches, policy);
            if next != state {
                sqlx::query(
                    "UPDATE security_codes SET failed_attempts = ?, window_started_at = ?,
                         locked_until = ?, used_at = ?
                     WHERE user_key = ? AND generation = ?",
                )
                .bind(i64::from(next.failed_attempts))
                .bind(next.window_started_at.map(to_ms))
                .bind(next.locked_until.map(to_ms))
                .bind(next.used_at.map(to_ms))
                .bind(&key)
                .bind(&generation)
                .execute(&mut *tx)
                .await?;
            }
            append_log(&mut tx, &key, to_ms(now), CodeEvent::of(&outcome), by).await?;
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
            " FROM security_codes WHERE user_key = ?"
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
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM security_codes WHERE user_key = ?")
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        let removed = done.rows_affected() > 0;
        if removed {
            append_log(&mut tx, &key, now_ms(), CodeEvent::Revoked, by).await?;
        }
        tx.commit().await?;
        Ok(removed)
    }

    async fn code_log(&self, user: &str, limit: u32) -> Result<Vec<CodeLogEntry>, StoreError> {
        let key = user_key(user)?;
        sqlx::query(
            "SELECT id, user_key, at, event, actor FROM security_code_log
             WHERE user_key = ? ORDER BY id DESC LIMIT ?",
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
