//! The replicas sharing a store, and work that one of them does at a time.
//!
//! Each replica writes a heartbeat; the number alive divides every site's concurrency and rate
//! limit, so the limits in adapter.toml hold for the whole group, not per replica. Singleton
//! leases make a schedule (or the outbox's delivery) run on one replica at a time, and move
//! to another when the holder dies.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;

/// What a replica says about itself with each heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaHeartbeat {
    /// Unique per process (the engine's lease owner name).
    pub id: String,
    pub host: String,
    /// The deskbridge version, so an operator mid-upgrade sees which replicas run which.
    pub version: String,
}

#[async_trait]
pub trait ReplicaStore: Send + Sync {
    /// Records that the replica is alive for `ttl` from now (the store's clock) and returns
    /// how many replicas are alive, this one included; removes replicas dead for long.
    async fn heartbeat(&self, me: &ReplicaHeartbeat, ttl: Duration) -> Result<u32, StoreError>;
    /// The replica stops: the others take up its share at their next heartbeat.
    async fn leave(&self, id: &str) -> Result<(), StoreError>;
    /// Takes the lease `name` for `owner` for `ttl` if it is free, expired or already
    /// `owner`'s; returns whether `owner` holds it now. Two callers never both get `true`
    /// for the same name at the same time.
    async fn hold_singleton(
        &self,
        name: &str,
        owner: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError>;
    /// Gives the lease up (only if `owner` holds it), so another replica need not wait for
    /// it to expire.
    async fn release_singleton(&self, name: &str, owner: &str) -> Result<(), StoreError>;
}

/// How long a replica that stopped heartbeating stays listed before its row is removed.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);
