//! The checked adapter configuration: what `deskbridge serve` runs on, with secrets resolved
//! and every default applied. `Debug` never shows a secret (they are [`Secret`]s).

use crate::accounts::{PasswordPolicy, VerificationPolicy};
use crate::cvad::CvadAuth;
use crate::model::{SiteKind, TicketKind};
use crate::servicenow::Auth;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::secret::Secret;
use uuid::Uuid;

/// Default `listen`: loopback only, so nothing is exposed until an operator says so.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8433";
/// Default per-site limit of CVAD calls in flight.
pub const DEFAULT_CONCURRENCY: u32 = 8;
/// Upper bound on `concurrency`, to catch typos such as 8000 for 80.
pub const MAX_CONCURRENCY: u32 = 1024;
/// Default time for one HTTP exchange with a connector.
pub const DEFAULT_SITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default pause between two ServiceNow polls for new or changed tickets.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(30);
/// Default time for one HTTP exchange with ServiceNow (it cancels transactions after 60 s).
pub const DEFAULT_SERVICENOW_TIMEOUT: Duration = Duration::from_secs(60);
/// Shortest client secret accepted; `openssl rand -hex 32` gives 64 characters.
pub const MIN_CLIENT_SECRET_LEN: usize = 24;
/// Default lifetime of the adapter's access tokens.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// Default `close_code` when resolving: the value current ServiceNow releases ship.
pub const DEFAULT_CLOSE_CODE: &str = "Solution provided";

/// The whole adapter configuration.
#[derive(Debug, Clone)]
pub struct AdapterConfig {
    /// Where the HTTP API listens.
    pub listen: SocketAddr,
    /// Where the adapter keeps its state (the SQLite store by default).
    pub data_dir: PathBuf,
    pub store: StoreConfig,
    /// How long an access token from `POST /api/v1/token` is valid.
    pub token_ttl: Duration,
    pub sites: Vec<SiteConfig>,
    pub servicenow: Vec<ServiceNowInstanceConfig>,
    pub clients: Vec<ApiClientConfig>,
    /// `[[directories]]`: where each domain's accounts are reached. Empty: no account actions.
    pub directories: Vec<DirectoryConfig>,
    /// `[password_policy]` and `[verification]`.
    pub accounts: AccountsConfig,
    /// `[[routing.rules]]` and `[routing.default]` (empty when absent).
    pub routing: super::RoutingConfig,
    /// `[[idle_power_off]]`: schedules that shut down idle machines (none when absent).
    pub idle_power_off: Vec<super::IdlePowerOff>,
    /// The runbooks folder (docs/runbooks.md): `runbooks_dir`, else `runbooks` beside the
    /// config file when that folder exists; `None`: no runbooks.
    pub runbooks_dir: Option<PathBuf>,
    /// `[offboarding]`: what offboarding does with dedicated machines unless a job says.
    pub offboarding: OffboardingConfig,
}

/// `[offboarding]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OffboardingConfig {
    /// `machines = "delete"`: a separation deletes the machines assigned to the person;
    /// `"unassign"` (the default) keeps them and removes the assignment.
    pub delete_machines: bool,
}

/// The rules of account self-service: what a new password must meet and how many wrong
/// security codes a user may give. Defaults when the tables are absent.
#[derive(Debug, Clone, Default)]
pub struct AccountsConfig {
    /// The deny list, if any, is loaded (a relative path is relative to the config file).
    pub policy: PasswordPolicy,
    pub verification: VerificationPolicy,
}

/// Default `[[directories]] timeout`: one LDAP operation.
pub const DEFAULT_DIRECTORY_TIMEOUT: Duration = Duration::from_secs(30);

/// Shortest `[engine] lease` accepted.
pub const MIN_LEASE: Duration = Duration::from_secs(1);

/// `[engine]`: how the job engine runs. Kept beside [`AdapterConfig`] in
/// [`LoadedConfig`](super::LoadedConfig) because only a config file sets it; adapters built in
/// code (the lab, tests) take the engine's own defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long a claimed task stays with its engine without renewal, hence how long after a
    /// crash its work resumes. `None`: the engine's default (30 s).
    pub lease: Option<Duration>,
}

/// Where jobs, audit and the outbox are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// An embedded SQLite database file.
    Sqlite { path: PathBuf },
    /// `sqlite::memory:`: an in-memory database, lost on exit; for demos and tests.
    SqliteMemory,
    /// A PostgreSQL database that several adapter replicas share. The URL carries no
    /// password; it comes from `store_password`.
    Postgres {
        url: String,
        password: Option<Secret>,
    },
}

impl StoreConfig {
    /// The store URL as `adapter::store::open` takes it (without any password: it is also
    /// what error messages and logs show).
    pub fn url(&self) -> String {
        match self {
            StoreConfig::Sqlite { path } => format!("sqlite://{}", path.display()),
            StoreConfig::SqliteMemory => "sqlite::memory:".to_string(),
            StoreConfig::Postgres { url, .. } => url.clone(),
        }
    }
}

/// One CVAD site.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub name: String,
    pub kind: SiteKind,
    /// Connector base URLs (Delivery Controllers, or the cloud API gateway), no trailing `/`.
    pub endpoints: Vec<String>,
    /// `Citrix-CustomerId`: `CitrixOnPremises` for on-prem sites unless set.
    pub customer_id: String,
    /// `Citrix-InstanceId`.
    pub site_id: String,
    /// On-prem: Basic credentials; cloud: the API client and its token URL.
    pub auth: CvadAuth,
    /// A disabled site is kept in the config but not contacted.
    pub enabled: bool,
    /// Most CVAD calls in flight at once for this site.
    pub concurrency: u32,
    /// Most CVAD calls started per second; `None`: limited by `concurrency` only.
    pub rate_limit: Option<f64>,
    pub request_timeout: Duration,
    /// Which endpoints serve which zone (`[[sites.zones]]`), so that connector health is shown
    /// per zone; the CVAD API does not say. Empty: a one-zone site shows all of them there.
    pub zones: Vec<SiteZone>,
}

/// The endpoints of one zone of a site, by index into [`SiteConfig::endpoints`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteZone {
    pub name: String,
    pub endpoints: Vec<usize>,
}

/// One ServiceNow instance and the queues the adapter works from it.
#[derive(Debug, Clone)]
pub struct ServiceNowInstanceConfig {
    pub name: String,
    /// Base URL, e.g. `https://acme.service-now.com`, no trailing `/`.
    pub url: String,
    pub auth: Auth,
    pub poll_interval: Duration,
    pub request_timeout: Duration,
    pub queues: Vec<QueueConfig>,
    /// Catalog items (names or sys_ids) fulfilled without an operator; each is in a queue.
    pub auto_fulfil: Vec<String>,
    /// `close_code` set when the adapter resolves a ticket.
    pub resolve_close_code: String,
    /// Assignment group a ticket goes to when its automated action fails; `None`: it stays
    /// in its group with a work note.
    pub failure_assignment_group: Option<String>,
    /// `[servicenow.runbooks]`: catalog items fulfilled by a runbook (docs/fulfilment.md).
    pub runbooks: Vec<RunbookItem>,
}

impl ServiceNowInstanceConfig {
    /// True when `item` (a catalog item name or sys_id) is fulfilled without an operator.
    pub fn is_auto_fulfilled(&self, item: &str) -> bool {
        self.auto_fulfil.iter().any(|i| i == item)
    }

    /// The runbook mapping of catalog item `item`; names compare ignoring case and spaces.
    pub fn runbook_for(&self, item: &str) -> Option<&RunbookItem> {
        let wanted = norm_item(item);
        self.runbooks.iter().find(|r| norm_item(&r.item) == wanted)
    }
}

/// A catalog item name as compared: lower case, spaces around and repeated inside ignored.
pub(crate) fn norm_item(item: &str) -> String {
    item.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// One catalog item fulfilled by a runbook: `"Item" = "runbook"` or
/// `"Item" = { runbook = "…", variables = { VARIABLE = "param" } }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookItem {
    /// The catalog item's name, as written.
    pub item: String,
    /// The runbook's name (its file `NAME.toml` in the runbooks folder).
    pub runbook: String,
    /// Catalog variable → runbook parameter, for variables not named like the parameter.
    pub variables: std::collections::BTreeMap<String, String>,
    /// Where the mapping is written (`adapter.toml:12:1: key servicenow[0].runbooks."…"`),
    /// for problems found once the runbooks are loaded; empty when built in code.
    pub origin: String,
}

/// The tickets one queue holds: records of these tables assigned to one of these groups
/// and, for catalog tables, ordered from one of these items (any item when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    pub name: String,
    /// Among `incident`, `sc_req_item`, `sc_task`.
    pub tables: Vec<TicketKind>,
    /// Assignment group names or sys_ids.
    pub assignment_groups: Vec<String>,
    /// Catalog item names or sys_ids.
    pub catalog_items: Vec<String>,
}

/// One caller of the adapter's API. It authenticates with the OAuth client-credentials grant
/// (`id` + `secret`) and gets a short-lived bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClientConfig {
    /// The client id: stable across restarts so that audit entries keep pointing at it.
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// The client secret, resolved from its reference. The adapter hands it to the store,
    /// which keeps only an argon2id hash.
    pub secret: Secret,
    /// A disabled client stays configured but cannot log in.
    pub enabled: bool,
}

pub use crate::directory::{DirectoryBackend, DirectoryConfig};
pub use crate::model::Role;
