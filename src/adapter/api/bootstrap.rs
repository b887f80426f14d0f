//! Start-up: make the store's API clients match the config's `[[clients]]`: create the new
//! ones, update role, secret and enabled flag of the others, and disable every stored client
//! the config no longer names (disabled, not deleted: audit entries keep pointing at it).

use std::collections::HashSet;

use crate::adapter::store::{NewApiClient, Role, Store, StoreError};
use crate::config::{ApiClientConfig, Role as ConfigRole};

fn role(role: ConfigRole) -> Role {
    match role {
        ConfigRole::Viewer => Role::Viewer,
        ConfigRole::Helpdesk => Role::Helpdesk,
        ConfigRole::Admin => Role::Admin,
    }
}

/// What the sync changed, for the start-up log (names only, never secrets).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub disabled: Vec<String>,
    /// Problems that do not stop the adapter, such as a renamed client.
    pub warnings: Vec<String>,
}

pub async fn sync_clients(
    store: &dyn Store,
    clients: &[ApiClientConfig],
) -> Result<SyncReport, StoreError> {
    let mut report = SyncReport::default();
    for client in clients {
        let wanted_role = role(client.role);
        let stored = match store.get_client(client.id).await? {
            Some(stored) => stored,
            None => {
                let created = store
                    .create_client(NewApiClient {
                        id: Some(client.id),
                        name: client.name.clone(),
                        role: wanted_role,
                        secret: client.secret.expose().to_owned(),
                        enabled: client.enabled,
                    })
                    .await;
                match created {
                    Ok(_) => {
                        report.created.push(client.name.clone());
                        continue;
                    }
                    // Another replica starting at the same moment created it between the
                    // read and the insert: update it like any stored client.
                    Err(e @ StoreError::Invalid(_)) => match store.get_client(client.id).await? {
                        Some(stored) => stored,
                        None => return Err(e),
                    },
                    Err(e) => return Err(e),
                }
            }
        };
        if stored.role != wanted_role {
            store.set_client_role(stored.id, wanted_role).await?;
        }
        if stored.enabled != client.enabled {
            store.set_client_enabled(stored.id, client.enabled).await?;
        }
        // Hashes are salted, so whether the secret changed cannot be seen from the hash
        // without a costly verification; setting it again is as cheap and simpler.
        store
            .set_client_secret(stored.id, client.secret.expose())
            .await?;
        if stored.name != client.name {
            // The store has no rename; the id is what tokens and audit entries use.
            report.warnings.push(format!(
                "API client {} is named {:?} in the config but {:?} in the store; the store \
                 keeps {:?}",
                client.id, client.name, stored.name, stored.name
            ));
        }
        report.updated.push(client.name.clone());
    }
    let configured: HashSet<_> = clients.iter().map(|c| c.id).collect();
    for stored in store.list_clients().await? {
        if stored.enabled && !configured.contains(&stored.id) {
            store.set_client_enabled(stored.id, false).await?;
            report.disabled.push(stored.name);
        }
    }
    Ok(report)
}
