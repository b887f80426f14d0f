//! Replica heartbeats and singleton leases in SQLite.

use std::time::Duration;

use async_trait::async_trait;

use super::{SqliteStore, after_ms, now_ms};
use crate::adapter::store::StoreError;
use crate::adapter::store::replicas::{FORGET_AFTER, ReplicaHeartbeat, ReplicaStore};

#[async_trait]
impl ReplicaStore for SqliteStore {
    async fn heartbeat(&self, me: &ReplicaHeartbeat, ttl: Duration) -> Result<u32, StoreError> {
        let now = now_ms();
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO replicas (id, host, version, started_at, heartbeat_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = ?4, expires_at = ?5",
        )
        .bind(&me.id)
        .bind(&me.host)
        .bind(&me.version)
        .bind(now)
        .bind(after_ms(now, ttl))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM replicas WHERE expires_at < ?")
            .bind(now.saturating_sub(after_ms(0, FORGET_AFTER)))
            .execute(&mut *tx)
            .await?;
        let alive: i64 = sqlx::query_scalar("SELECT count(*) FROM replicas WHERE expires_at >= ?")
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(u32::try_from(alive).unwrap_or(u32::MAX).max(1))
    }

    async fn leave(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM replicas WHERE id = ?")
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    async fn hold_singleton(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let held = sqlx::query(
            "INSERT INTO singleton_leases (name, owner, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET owner = ?2, expires_at = ?3
             WHERE singleton_leases.owner = ?2 OR singleton_leases.expires_at < ?4",
        )
        .bind(name)
        .bind(owner)
        .bind(after_ms(now, ttl))
        .bind(now)
        .execute(self.writer())
        .await?
        .rows_affected();
        Ok(held == 1)
    }

    async fn release_singleton(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM singleton_leases WHERE name = ? AND owner = ?")
            .bind(name)
            .bind(owner)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
