//! API clients and the token signing key in PostgreSQL.
//!
//! Secrets are hashed with argon2id before they reach the database (see
//! [`crate::adapter::store::hashing`]), exactly as in SQLite.

use async_trait::async_trait;
use rand::RngCore;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::PgStore;
use crate::adapter::store::StoreError;
use crate::adapter::store::clients::{ApiClient, ClientStore, NewApiClient, Role};
use crate::adapter::store::columns::{col, col_enum};
use crate::adapter::store::hashing::{dummy_hash, verify_secret};

/// Length of the token signing key (HMAC-SHA256 wants at least 32 bytes).
const SIGNING_KEY_LEN: usize = 32;

fn client_from_row(row: &PgRow) -> Result<ApiClient, StoreError> {
    Ok(ApiClient {
        id: col(row, "id")?,
        name: col(row, "name")?,
        role: col_enum(row, "role", Role::parse)?,
        enabled: col(row, "enabled")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
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

#[async_trait]
impl ClientStore for PgStore {
    async fn create_client(&self, client: NewApiClient) -> Result<ApiClient, StoreError> {
        if client.name.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a client name must not be empty".to_owned(),
            ));
        }
        let hash = hash_secret(client.secret).await?;
        let id = client.id.unwrap_or_else(Uuid::new_v4);
        let row = sqlx::query(
            "INSERT INTO api_clients (id, name, role, secret_hash, enabled, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, now(), now())
             RETURNING id, name, role, enabled, created_at, updated_at",
        )
        .bind(id)
        .bind(&client.name)
        .bind(client.role.as_str())
        .bind(hash)
        .bind(client.enabled)
        .fetch_one(self.pool())
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
            "SELECT id, name, role, enabled, created_at, updated_at FROM api_clients WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(client_from_row)
        .transpose()
    }

    async fn get_client_by_name(&self, name: &str) -> Result<Option<ApiClient>, StoreError> {
        sqlx::query(
            "SELECT id, name, role, enabled, created_at, updated_at FROM api_clients
             WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(client_from_row)
        .transpose()
    }

    async fn list_clients(&self) -> Result<Vec<ApiClient>, StoreError> {
        // `COLLATE "C"`: byte order, as SQLite's default BINARY collation sorts names, whatever
        // the database's locale.
        sqlx::query(
            "SELECT id, name, role, enabled, created_at, updated_at FROM api_clients
             ORDER BY name COLLATE \"C\"",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(client_from_row)
        .collect()
    }

    async fn set_client_enabled(&self, id: Uuid, enabled: bool) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE api_clients SET enabled = $1, updated_at = now() WHERE id = $2")
                .bind(enabled)
                .bind(id)
                .execute(self.pool())
                .await?;
        found(done.rows_affected(), id)
    }

    async fn set_client_role(&self, id: Uuid, role: Role) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE api_clients SET role = $1, updated_at = now() WHERE id = $2")
                .bind(role.as_str())
                .bind(id)
                .execute(self.pool())
                .await?;
        found(done.rows_affected(), id)
    }

    async fn set_client_secret(&self, id: Uuid, secret: &str) -> Result<(), StoreError> {
        let hash = hash_secret(secret.to_owned()).await?;
        let done = sqlx::query(
            "UPDATE api_clients SET secret_hash = $1, updated_at = now() WHERE id = $2",
        )
        .bind(hash)
        .bind(id)
        .execute(self.pool())
        .await?;
        found(done.rows_affected(), id)
    }

    async fn verify_client(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<Option<ApiClient>, StoreError> {
        // The column is a uuid: text that is not one names no client, and is answered like an
        // unknown id (after the dummy comparison) rather than with a database error. Only the
        // exact text form matches, as in SQLite, where ids are stored as that text.
        let id = Uuid::parse_str(client_id)
            .ok()
            .filter(|id| id.to_string() == client_id);
        let row = match id {
            Some(id) => {
                sqlx::query(
                    "SELECT id, name, role, enabled, created_at, updated_at, secret_hash
                     FROM api_clients WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(self.pool())
                .await?
            }
            None => None,
        };
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
        // Insert-if-absent then read: replicas starting at once all end up with the one key
        // that won (the loser's insert waits on the winner's row, then does nothing).
        sqlx::query(
            "INSERT INTO signing_key (id, key, created_at) VALUES (1, $1, now())
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&key)
        .execute(self.pool())
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
