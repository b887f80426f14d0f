//! The adapter's HTTP API under `/api/v1` (axum): OAuth client-credentials tokens, bearer
//! authentication with roles, audit of every mutating call and every denial, and the JSON
//! error shape `{"error":{"code":…,"message":…}}` for every failure.
//!
//! One table ([`routes::ROUTES`]) names every endpoint with its method, path, required role
//! and audit action; the router and the OpenAPI document are both built from it.

pub mod accounts;
pub mod audit_log;
pub mod body;
pub mod bootstrap;
pub mod error;
pub mod events;
pub mod guard;
pub mod health;
pub mod idle;
pub mod inventory;
pub mod jobs;
pub mod oauth;
pub mod openapi;
pub mod reports;
pub mod request_id;
pub mod requests;
pub mod routes;
pub mod routing;
pub mod runbooks;
pub mod server;
pub mod sites;
pub mod tickets;
pub mod token;
pub mod whoami;

use std::sync::Arc;
use std::time::Duration;

use crate::adapter::store::{Store, StoreError};
use crate::config::AdapterConfig;

pub use error::ApiError;
pub use guard::Caller;
pub use server::ApiServer;
pub use token::{Claims, TokenSigner};

/// Largest request body accepted (1 MiB); larger ones get 413 before any handler runs.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub use crate::config::DEFAULT_TOKEN_TTL;

/// Settings of the API that are not in the config file.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub token_ttl: Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            token_ttl: DEFAULT_TOKEN_TTL,
        }
    }
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<AdapterConfig>,
    pub signer: Arc<TokenSigner>,
    pub options: ApiOptions,
    /// Every site's cached inventory; its refreshers run once `serve` starts them.
    pub inventory: crate::adapter::inventory::Inventory,
    /// The job engine's handle (site clients, wake-up); `None` when no engine runs, as in
    /// API-only tests: jobs are then stored and wait for an engine.
    pub jobs: Option<crate::adapter::engine::JobsHandle>,
    /// Ticket queues, ticket writes and zero-touch requests; its pollers and workers run once
    /// `serve` starts them.
    pub tickets: crate::adapter::tickets::Tickets,
    /// Set when the server stops, so long-lived responses (event streams) end and the
    /// graceful shutdown does not wait for consoles that never disconnect.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// What `GET /metrics` serves; its observers are installed in the inventory's clients
    /// here and in the engine's by `serve` ([`crate::adapter::metrics::Metrics::engine_hooks`]).
    pub metrics: crate::adapter::metrics::Metrics,
    /// The directories of `[[directories]]`, for account lookups and `account.*` jobs (the
    /// engine holds the same ones). Empty until `serve` sets them.
    pub directories: crate::directory::Directories,
    /// The runbooks of the config's runbooks folder (src/adapter/runbooks); empty until
    /// `serve` loads them.
    pub runbooks: Arc<crate::adapter::runbooks::Runbooks>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("sites", &self.config.sites.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Reads the token signing key from the store (creating it on first start), so every
    /// replica on the same database signs and accepts the same tokens.
    pub async fn new(
        store: Arc<dyn Store>,
        config: AdapterConfig,
        options: ApiOptions,
    ) -> Result<AppState, StoreError> {
        let key = store.signing_key().await?;
        let metrics = crate::adapter::metrics::Metrics::new();
        let tickets = crate::adapter::tickets::Tickets::new(
            Arc::clone(&store),
            &config,
            crate::adapter::tickets::TicketOptions {
                observer: Some(metrics.servicenow_observer()),
                ..crate::adapter::tickets::TicketOptions::default()
            },
        );
        Ok(AppState {
            inventory: crate::adapter::inventory::Inventory::with_call_observer(
                Arc::clone(&store),
                &config,
                Some(metrics.cvad_observer()),
            ),
            metrics,
            jobs: None,
            tickets,
            store,
            config: Arc::new(config),
            signer: Arc::new(TokenSigner::new(key)),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            options,
            directories: crate::directory::Directories::default(),
            runbooks: Arc::default(),
        })
    }
}

/// The whole API as an axum router, state applied.
pub fn router(state: AppState) -> axum::Router {
    routes::build(state)
}
