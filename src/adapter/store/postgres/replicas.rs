//! Replica heartbeats and singleton leases in PostgreSQL, on the database's clock.

use std::time::Duration;

use async_trait::async_trait;

use super::{PgStore, millis};
use crate::adapter::store::StoreError;
use crate::adapter::store::replicas::{FORGET_AFTER, ReplicaHeartbeat, ReplicaStore};

#[async_trait]
impl ReplicaStore for PgStore {
    async fn heartbeat(&self, me: &ReplicaHeartbeat, ttl: Duration) -> Result<u32, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO replicas (id, host, version, started_at, heartbeat_at, expires_at)
             VALUES ($1, $2, $3, now(), now(), now() + $4 * interval '1 millisecond')
             ON CONFLICT (id) DO UPDATE
                SET heartbeat_at = now(), expires_at = EXCLUDED.expires_at",
        )
        .bind(&me.id)
        .bind(&me.host)
        .bind(&me.version)
        .bind(millis(ttl))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM replicas WHERE expires_at < now() - $1 * interval '1 millisecond'",
        )
        .bind(millis(FORGET_AFTER))
        .execute(&mut *tx)
        .await?;
        let alive: i64 =
            sqlx::query_scalar("SELECT count(*) FROM replicas WHERE expires_at >= now()")
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(u32::try_from(alive).unwrap_or(u32::MAX).max(1))
    }

    async fn leave(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM replicas WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    async fn hold_singleton(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        // One statement: the row lock makes two replicas' upserts run one after the other, and
        // the second sees the first's unexpired lease and changes nothing.
        let held = sqlx::query(
            "INSERT INTO singleton_leases (name, owner, expires_at)
             VALUES ($1, $2, now() + $3 * interval '1 millisecond')
             ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner,
                                              expires_at = EXCLUDED.expires_at
             WHERE singleton_leases.owner = EXCLUDED.owner
                OR singleton_leases.expires_at < now()",
        )
        .bind(name)
        .bind(owner)
        .bind(millis(ttl))
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(held == 1)
    }

    async fn release_singleton(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM singleton_leases WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
