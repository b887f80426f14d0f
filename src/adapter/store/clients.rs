//! API clients (OAuth client-credentials callers of the adapter) and the token signing key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::StoreError;

pub use crate::model::Role;

/// A stored API client. It never carries the secret, not even hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiClient {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A client to create. `id` lets configured clients keep a stable id across restarts.
#[derive(Debug, Clone)]
pub struct NewApiClient {
    pub id: Option<Uuid>,
    pub name: String,
    pub role: Role,
    pub secret: String,
    pub enabled: bool,
}

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Creates a client; the secret is hashed with argon2id before it reaches the database.
    async fn create_client(&self, client: NewApiClient) -> Result<ApiClient, StoreError>;
    async fn get_client(&self, id: Uuid) -> Result<Option<ApiClient>, StoreError>;
    async fn get_client_by_name(&self, name: &str) -> Result<Option<ApiClient>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<ApiClient>, StoreError>;
    async fn set_client_enabled(&self, id: Uuid, enabled: bool) -> Result<(), StoreError>;
    async fn set_client_role(&self, id: Uuid, role: Role) -> Result<(), StoreError>;
    async fn set_client_secret(&self, id: Uuid, secret: &str) -> Result<(), StoreError>;
    /// Checks a client id (UUID text) and secret. Returns the client only when it exists, is
    /// enabled and the secret matches. The time taken does not depend on which of those
    /// failed: unknown ids are verified against a dummy hash, and the hash comparison is
    /// constant-time.
    async fn verify_client(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<Option<ApiClient>, StoreError>;
    /// The key that signs access tokens: generated on first call, then the same for every
    /// caller and every replica sharing the database.
    async fn signing_key(&self) -> Result<Vec<u8>, StoreError>;
}
