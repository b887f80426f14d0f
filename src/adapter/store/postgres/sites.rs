//! Site enabled flags in PostgreSQL: one row per site an operator switched through the API,
//! obeyed by every replica.

use async_trait::async_trait;
use sqlx::postgres::PgRow;

use super::PgStore;
use crate::adapter::store::StoreError;
use crate::adapter::store::columns::col;
use crate::adapter::store::sites::{SiteFlag, SiteStore};

fn flag_from_row(row: &PgRow) -> Result<SiteFlag, StoreError> {
    Ok(SiteFlag {
        name: col(row, "name")?,
        enabled: col(row, "enabled")?,
        changed_by: col(row, "changed_by")?,
        updated_at: col(row, "updated_at")?,
    })
}

#[async_trait]
impl SiteStore for PgStore {
    async fn site_flags(&self) -> Result<Vec<SiteFlag>, StoreError> {
        // Byte order, as SQLite sorts, whatever the database's locale.
        sqlx::query(
            "SELECT name, enabled, changed_by, updated_at FROM site_flags
             ORDER BY name COLLATE \"C\"",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(flag_from_row)
        .collect()
    }

    async fn set_site_enabled(
        &self,
        name: &str,
        enabled: bool,
        changed_by: &str,
    ) -> Result<SiteFlag, StoreError> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid(
                "a site name must not be empty".to_owned(),
            ));
        }
        // An upsert in one statement: two replicas switching the same site at once leave the
        // last writer's value, never an error.
        let row = sqlx::query(
            "INSERT INTO site_flags (name, enabled, changed_by, updated_at)
             VALUES ($1, $2, $3, now())
             ON CONFLICT (name) DO UPDATE SET enabled = EXCLUDED.enabled,
                 changed_by = EXCLUDED.changed_by, updated_at = EXCLUDED.updated_at
             RETURNING name, enabled, changed_by, updated_at",
        )
        .bind(name)
        .bind(enabled)
        .bind(changed_by)
        .fetch_one(self.pool())
        .await?;
        flag_from_row(&row)
    }
}
