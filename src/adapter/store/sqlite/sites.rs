//! Site enabled flags in SQLite: one row per site an operator switched through the API.

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, col, from_ms, now_ms};
use crate::adapter::store::StoreError;
use crate::adapter::store::sites::{SiteFlag, SiteStore};

fn flag_from_row(row: &SqliteRow) -> Result<SiteFlag, StoreError> {
    Ok(SiteFlag {
        name: col(row, "name")?,
        enabled: col(row, "enabled")?,
        changed_by: col(row, "changed_by")?,
        updated_at: from_ms("site_flags.updated_at", col(row, "updated_at")?)?,
    })
}

#[async_trait]
impl SiteStore for SqliteStore {
    async fn site_flags(&self) -> Result<Vec<SiteFlag>, StoreError> {
        sqlx::query("SELECT name, enabled, changed_by, updated_at FROM site_flags ORDER BY name")
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
        // An upsert in one statement: two replicas switching the same site at once leave
        // the last writer's value, never an error.
        let row = sqlx::query(
            "INSERT INTO site_flags (name, enabled, changed_by, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled,
                 changed_by = excluded.changed_by, updated_at = excluded.updated_at
             RETURNING name, enabled, changed_by, updated_at",
        )
        .bind(name)
        .bind(enabled)
        .bind(changed_by)
        .bind(now_ms())
        .fetch_one(self.writer())
        .await?;
        flag_from_row(&row)
    }
}
