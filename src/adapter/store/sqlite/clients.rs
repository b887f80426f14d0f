//! API clients and the token signing key in SQLite.
//!
//! Secrets are hashed with argon2id (memory-hard, the OWASP recommendation for stored
//! credentials; see [`crate::adapter::store::hashing`]): a stolen database does not yield
//! usable client secrets, and guessing them offline is expensive.

use async_trait::async_trait;
use rand::RngCore;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::{SqliteStore, col, col_enum, from_ms, now_ms, parse_uuid};
use crate::adapter::store::StoreError;
use crate::adapter::store::clients::{ApiClient, ClientStore, NewApiClient, Role};
use crate::adapter::store::hashing::{dummy_hash, verify_secret};

/// Length of the token signing key (HMAC-SHA256 wants at least 32 bytes).
const SIGNING_KEY_LEN: usize = 32;

fn client_from_row(row: &SqliteRow) -> Result<ApiClient, StoreError> {
    let id: String = col(row, "id")?;
    Ok(ApiClient {
        id: parse_uuid("api_clients.id", &id)?,
        name: col(row, "name")?,
        role: col_enum(row, "role", Role::parse)?,
        enabled: col(row, "enabled")?,
        created_at: from_ms("api_clients.created_at", col(row, "created_at")?)?,
        updated_at: from_ms("api_clients.updated_at", col(row, "updated_at")?)?,
    })
}

async fn hash_secret(secret: String) -> Result<String, StoreError> {
    if secret.is_empty() {
        return Err(StoreError::Invalid(
            "a client secret must not be empty".to_owned(),
        ));
    }
    crate::adapter::store::hashing::hash_secret(secret).await
}

#[async_trait]
impl ClientStore for SqliteStore {
    async fn create_client(&self, client: NewApiClient) -> Result<ApiClient, StoreError> {
        if client.name.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a client name must not be empty".to_owned(),
            ));
        }
        let hash = hash_secret(client.secret).await?;
        let id = client.id.unwrap_or_else(Uuid::new_v4);
        let now = now_ms();
        let row = sqlx::query(
            "INSERT INTO api_clients (id, name, role, secret_hash, enabled, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             RETURNING id, name, role, enabled, created_at, updated_at",
        )
        .bind(id.to_string())
        .bind(&client.name)
        .bind(client.role.as_str())
        .bind(hash)
        .bind(client.enabled)
        .bind(now)
        .bind(now)
        .fetch_one(self.writer())
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Invalid(format!(
                "an API client with id {id} or name {:?} already exists",
                client.name
            )),
            _ => StoreError::Database(e),
        })?;
        client_from_row(&row)
    }

    async fn get_client(&self, id: Uuid) -> Result<Option<ApiClient>, StoreError> {
        sqlx::query(
            "SELECT id, name, role, enabled, created_at, updated_at FROM api_clients WHERE id = ?",
        )
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(client_from_row)
        .transpose()
    }

    async fn get_client_by_name(&self, name: &str) -> Result<Option<ApiClient>, StoreError> {
        sqlx::query(
            "SELECT id, name, role, enabled, created_at, updated_at FROM api_clients WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(client_from_row)
        .transpose()
    }

    async fn list_clients(&self) -> Result<Vec<ApiClient>, StoreError> {
        sqlx::query(
            "SELECT id, name, role, enabled, created_at, updated_at FROM api_clients ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(client_from_row)
        .collect()
    }

    async fn set_client_enabled(&self, id: Uuid, enabled: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE api_clients SET enabled = ?, updated_at = ? WHERE id = ?")
            .bind(enabled)
            .bind(now_ms())
            .bind(id.to_string())
            .execute(self.writer())
            .await?;
        found(done.rows_affected(), id)
    }

    async fn set_client_role(&self, id: Uuid, role: Role) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE api_clients SET role = ?, updated_at = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(now_ms())
            .bind(id.to_string())
            .execute(self.writer())
            .await?;
        found(done.rows_affected(), id)
    }

    async fn set_client_secret(&self, id: Uuid, secret: &str) -> Result<(), StoreError> {
        let hash = hash_secret(secret.to_owned()).await?;
        let done =
            sqlx::query("UPDATE api_clients SET secret_hash = ?, updated_at = ? WHERE id = ?")
                .bind(hash)
                .bind(now_ms())
                .bind(id.to_string())
                .execute(self.writer())
                .await?;
        found(done.rows_affected(), id)
    }

    async fn verify_client(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<Option<ApiClient>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, role, enabled, created_at, updated_at, secret_hash
             FROM api_clients WHERE id = ?",
        )
        .bind(client_id)
        .fetch_optional(self.pool())
        .await?;
        let (client, hash) = match &row {
            Some(row) => (
                Some(client_from_row(row)?),
                col::<String, _>(row, "secret_hash")?,
            ),
            None => (None, dummy_hash().to_owned()),
        };
        let matches = verify_secret(secret.to_owned(), hash).await?;
        Ok(client.filter(|c| matches && c.enabled))
    }

    async fn signing_key(&self) -> Result<Vec<u8>, StoreError> {
        let mut key = vec![0u8; SIGNING_KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        // Insert-if-absent then read: concurrent first starts (or replicas) all end up with
        // the one key that won.
        sqlx::query(
            "INSERT INTO signing_key (id, key, created_at) VALUES (1, ?, ?)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&key)
        .bind(now_ms())
        .execute(self.writer())
        .await?;
        let stored: Vec<u8> = sqlx::query_scalar("SELECT key FROM signing_key WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        if stored.len() < SIGNING_KEY_LEN {
            return Err(StoreError::Corrupt {
                column: "signing_key.key",
                reason: format!("{} bytes, expected {SIGNING_KEY_LEN}", stored.len()),
            });
        }
        Ok(stored)
    }
}

fn found(rows: u64, id: Uuid) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound {
            what: "API client",
            id: id.to_string(),
        })
    } else {
        Ok(())
    }
}
