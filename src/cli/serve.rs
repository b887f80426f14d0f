//! `deskbridge serve`: the adapter. `--config adapter.toml` for real sites; `--lab` wires it
//! to an in-process lab with a generated admin client, for demos, the console and tests.

use super::lab::wait_for_stop;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use rand::RngCore;
use serde_json::json;
use uuid::Uuid;

use crate::adapter::api::bootstrap::sync_clients;
use crate::adapter::api::{ApiOptions, ApiServer, AppState};
use crate::adapter::store::{self, Store};
use crate::config::{
    AdapterConfig, ApiClientConfig, DEFAULT_CLOSE_CODE, DEFAULT_POLL_INTERVAL,
    DEFAULT_SERVICENOW_TIMEOUT, DEFAULT_TOKEN_TTL, EngineConfig, QueueConfig, Role,
    ServiceNowInstanceConfig, SiteConfig, StoreConfig,
};
use crate::lab::{Lab, LabInfo, LabOptions, Scale};
use crate::model::TicketKind;
use crate::secret::Secret;
use crate::servicenow::{Auth, OAuthGrant};

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The adapter's config file (see adapter.example.toml).
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "lab",
        conflicts_with = "lab"
    )]
    pub config: Option<PathBuf>,
    /// Serve an in-process lab instead of real sites, with a generated admin API client.
    #[arg(long)]
    pub lab: bool,
    /// With --lab: how much data the lab generates.
    #[arg(long, value_enum, default_value_t = Scale::Small, requires = "lab")]
    pub scale: Scale,
    /// With --lab: seed for the generated data.
    #[arg(long, default_value_t = 1, requires = "lab")]
    pub seed: u64,
    /// With --lab: keep tickets, logons and logoffs arriving.
    #[arg(long, requires = "lab")]
    pub live: bool,
    /// With --lab: keep the store here instead of a fresh temporary folder (removed at exit).
    #[arg(long, value_name = "DIR", requires = "lab")]
    pub data_dir: Option<PathBuf>,
    /// Print one JSON line on stdout once ready: with --lab `url`, `client_id`,
    /// `client_secret` and `lab`; with --config only `url` (the config's secrets are the
    /// operator's, not ours to print).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    match &args.config {
        Some(path) => serve_config(path.clone(), args.json).await,
        None => serve_lab(args).await,
    }
}

/// What the engine tells the inventory after its actions: a site to refresh, an account as
/// it is now.
struct InventoryRefresh(crate::adapter::inventory::Inventory);

impl crate::adapter::engine::AfterAction for InventoryRefresh {
    fn refresh_now(&self, site: &str) {
        let (inventory, site) = (self.0.clone(), site.to_owned());
        tokio::spawn(async move {
            if let Err(e) = inventory.refresh_now(&site).await {
                tracing::debug!(%site, error = %e, "refresh after a job action failed");
            }
        });
    }

    fn account_changed(&self, account: &crate::directory::Account) {
        self.0.accounts().record(account);
    }
}

/// Runs the whole adapter on an open store, as the binary does: syncs the configured clients,
/// starts the inventory, the job engine, the ticket service and the API. Tests start it this
/// way too, so they exercise the wiring that ships.
pub async fn start(
    config: AdapterConfig,
    engine_config: EngineConfig,
    store: Arc<dyn Store>,
) -> anyhow::Result<ApiServer> {
    let report = sync_clients(store.as_ref(), &config.clients)
        .await
        .context("cannot record the configured API clients in the store")?;
    for warning in &report.warnings {
        tracing::warn!("{warning}");
    }
    tracing::info!(
        created = ?report.created,
        updated = ?report.updated,
        disabled = ?report.disabled,
        "API clients synced from the config"
    );
    if !config.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %config.listen,
            "the API speaks plain HTTP on a non-loopback address; put a TLS reverse proxy in \
             front of it"
        );
    }
    let listen = config.listen;
    let options = ApiOptions {
        token_ttl: config.token_ttl,
    };
    // Directories first: a directory that cannot be set up (an unreadable CA file) stops the
    // start with its reason, before anything listens.
    let directories = crate::directory::Directories::open(&config.directories, &|site| {
        let site = config.sites.iter().find(|s| s.name == site)?;
        crate::cvad::CvadClient::new(site.to_cvad_config()).ok()
    })
    .context("cannot set up the configured directories")?;
    // Runbooks likewise: a bad file stops the start with every problem, as a config error.
    let runbooks = crate::adapter::runbooks::Runbooks::configured(&config).map_err(|errors| {
        anyhow::anyhow!(
            "the runbooks have {} problem(s); the adapter did not start:\n{errors}",
            errors.len()
        )
    })?;
    if !runbooks.is_empty() {
        tracing::info!(count = runbooks.len(), "runbooks loaded");
    }
    // Catalog items mapped to runbooks (`[servicenow.runbooks]`) need those runbooks.
    crate::adapter::tickets::fulfil::check_runbook_items(&config, &runbooks).map_err(|p| {
        anyhow::anyhow!(
            "the catalog items mapped to runbooks have {} problem(s); the adapter did not \
             start:\n{}",
            p.len(),
            p.join("\n")
        )
    })?;
    let mut state = AppState::new(store, config, options)
        .await
        .context("cannot read the token signing key from the store")?;
    state.directories = directories;
    state.runbooks = Arc::new(runbooks);
    // One inventory refresher per site (disabled sites are listed, not refreshed). They stop
    // with the server: its graceful shutdown drops the state, whose inventory signals them.
    state.inventory.start();
    // Account states for the users list, one refresher per directory, stopping likewise.
    state.inventory.start_accounts(
        &state.directories,
        crate::adapter::inventory::DEFAULT_ACCOUNT_REFRESH,
    );
    // The job engine (src/adapter/engine): one worker per site. It stops claiming on the same
    // signal that stops the server and lets running tasks finish for its grace period; a task
    // still running when the process exits keeps its lease and the next start resumes it.
    // After its actions the engine asks the inventory to refresh the site (coalesced).
    let refresh = InventoryRefresh(state.inventory.clone());
    // Runbook steps start their jobs through the API's own submission (attached below, once
    // the state holds the engine).
    let submitter = crate::adapter::api::jobs::ApiSubmitter::new();
    let defaults = crate::adapter::engine::EngineOptions::default();
    // With the metrics' hooks: attempt latency, and the CVAD calls of the engine's clients.
    let engine = crate::adapter::engine::Engine::start_with_hooks(
        Arc::clone(&state.store),
        &state.config.sites,
        crate::adapter::engine::EngineOptions {
            lease: engine_config.lease.unwrap_or(defaults.lease),
            after_action: Some(Arc::new(refresh)),
            directories: state.directories.clone(),
            verification: state.config.accounts.verification,
            submitter: Some(submitter.clone()),
            // One replica of those sharing the store: limits divided among them.
            replicas: Some(crate::adapter::replicas::ReplicaOptions::default()),
            ..defaults
        },
        state.metrics.engine_hooks(),
    )
    .context("cannot start the job engine")?;
    state.jobs = Some(engine.handle());
    let replica = engine.handle().group().clone();
    tracing::info!(replica = %replica.id(), "adapter replica started");
    state.metrics.track_replicas(replica.alive_watch());
    submitter.attach(state.clone());
    // `[[idle_power_off]]` schedules (src/adapter/idle): they act through the engine, so they
    // start after it, and stop before it (or with the server).
    let schedules = crate::adapter::idle::start_schedules(&state);
    if !schedules.is_empty() {
        tracing::info!(count = schedules.len(), "idle power-off schedules started");
    }
    // Ticket queues, the outbox that delivers ticket writes and the job ↔ ticket lifecycle
    // (src/adapter/tickets). New queue tickets of auto-fulfilled catalog items are fulfilled
    // by the zero-touch path, in the background so the poller goes on.
    let hook_state = state.clone();
    let on_changes: crate::adapter::tickets::ChangeHook = Arc::new(move |instance, changes| {
        let (state, instance) = (hook_state.clone(), instance.to_owned());
        let fresh: Vec<_> = changes.added.into_iter().chain(changes.updated).collect();
        tokio::spawn(async move {
            crate::adapter::api::requests::auto_fulfil(&state, &instance, &fresh).await;
        });
    });
    state.tickets.start(replica.id(), Some(on_changes));
    let tickets = state.tickets.clone();
    // Keeps the event feed within the retention that GET /api/v1/events announces. Every
    // replica prunes: pruning deletes by age and count, so a second pass finds nothing more.
    let pruner = crate::adapter::api::events::spawn_pruner(Arc::clone(&state.store));
    tokio::spawn(async move {
        wait_for_stop().await;
        pruner.abort();
        schedules.stop().await;
        tickets.stop().await;
        engine.shutdown().await;
    });
    ApiServer::start(listen, state)
        .await
        .with_context(|| format!("cannot listen on {listen}"))
}

async fn serve_config(path: PathBuf, json: bool) -> anyhow::Result<()> {
    let loaded = match AdapterConfig::load(&path) {
        Ok(loaded) => loaded,
        Err(errors) => {
            // One diagnostic per line, as the config module formats them: file:line:col key.
            for diagnostic in errors.iter() {
                eprintln!("{diagnostic}");
            }
            anyhow::bail!(
                "{} has {} error(s); the adapter did not start",
                path.display(),
                errors.len()
            );
        }
    };
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let config = loaded.config;
    let url = config.store.url();
    let store = store::open_config(&config.store)
        .await
        .with_context(|| format!("cannot open the store {url}"))?;
    let server = start(config, loaded.engine, store).await?;
    if json {
        // The ready line of `serve --lab --json`, so scripts find a `listen = "…:0"` port.
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", json!({ "url": server.url() }))?;
        out.flush()?;
    }
    eprintln!(
        "deskbridge serve: listening on {} (API under /api/v1); Ctrl-C stops it",
        server.url()
    );
    wait_for_stop().await;
    eprintln!("deskbridge serve: stopping");
    server.shutdown().await.context("the API server failed")?;
    Ok(())
}

async fn serve_lab(args: ServeArgs) -> anyhow::Result<()> {
    let lab = Lab::start(LabOptions {
        seed: args.seed,
        scale: args.scale,
        live: args.live,
        ..LabOptions::default()
    })
    .await
    .context("cannot start the lab")?;
    let result = serve_with_lab(&args, lab.info()).await;
    lab.shutdown().await;
    result
}

async fn serve_with_lab(args: &ServeArgs, info: &LabInfo) -> anyhow::Result<()> {
    let (data_dir, temporary) = match &args.data_dir {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!(
                "deskbridge-serve-{}-{}",
                std::process::id(),
                Uuid::new_v4().simple()
            )),
            true,
        ),
    };
    let result = serve_lab_in(args, info, &data_dir).await;
    if temporary {
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    result
}

async fn serve_lab_in(
    args: &ServeArgs,
    info: &LabInfo,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let LabAdapter {
        server,
        admin_id,
        secret,
        store_url: url,
    } = start_lab_adapter(info, data_dir).await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let line = json!({
            "url": server.url(),
            "client_id": admin_id,
            "client_secret": secret.expose(),
            "lab": info,
        });
        writeln!(out, "{line}")?;
    } else {
        write!(
            out,
            "deskbridge adapter is running on {} (API under /api/v1; Ctrl-C stops it)\n\
             admin API client  id {admin_id}  secret {}\n\
             store             {url}\n\n{}",
            server.url(),
            secret.expose(),
            super::lab::describe(info)
        )?;
    }
    out.flush()?;
    drop(out);
    wait_for_stop().await;
    server.shutdown().await.context("the API server failed")?;
    Ok(())
}

/// An adapter in front of a running lab, as `serve --lab` and the console's embedded default
/// start it.
pub struct LabAdapter {
    pub server: ApiServer,
    /// The generated admin API client.
    pub admin_id: Uuid,
    pub secret: Secret,
    pub store_url: String,
}

/// Starts the adapter for `info`'s lab with its SQLite store in `data_dir` and a generated
/// admin client (a reused `data_dir` keeps the client's id and gets a fresh secret).
pub async fn start_lab_adapter(
    info: &LabInfo,
    data_dir: &std::path::Path,
) -> anyhow::Result<LabAdapter> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data folder {}", data_dir.display()))?;
    let store_config = StoreConfig::Sqlite {
        path: data_dir.join("deskbridge.db"),
    };
    let store_url = store_config.url();
    let store = store::open(&store_url)
        .await
        .with_context(|| format!("cannot open the store {store_url}"))?;
    let admin_id = match store.get_client_by_name(ADMIN).await? {
        Some(existing) => existing.id,
        None => Uuid::new_v4(),
    };
    let secret = random_secret();
    let config = lab_config(info, data_dir, store_config, admin_id, &secret);
    let server = start(config, EngineConfig::default(), store).await?;
    Ok(LabAdapter {
        server,
        admin_id,
        secret,
        store_url,
    })
}

/// Name of the generated API client of `serve --lab`.
const ADMIN: &str = "admin";

fn random_secret() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The adapter config a lab stands for: its sites and ServiceNow instances with their
/// credentials, the store in `data_dir`, loopback on a free port, and one admin client.
pub fn lab_config(
    info: &LabInfo,
    data_dir: &std::path::Path,
    store: StoreConfig,
    admin_id: Uuid,
    admin_secret: &Secret,
) -> AdapterConfig {
    let sites = info.sites.iter().map(SiteConfig::from_lab).collect();
    let servicenow = info
        .servicenow
        .iter()
        .map(|sn| ServiceNowInstanceConfig {
            name: sn.name.clone(),
            url: sn.url.clone(),
            auth: Auth::OAuth {
                client_id: sn.client_id.clone(),
                client_secret: Secret::new(sn.client_secret.clone()),
                grant: OAuthGrant::Password {
                    username: sn.username.clone(),
                    password: Secret::new(sn.password.clone()),
                },
            },
            poll_interval: DEFAULT_POLL_INTERVAL,
            request_timeout: DEFAULT_SERVICENOW_TIMEOUT,
            // The lab's helpdesk groups (see lab::servicenow::seed).
            queues: vec![QueueConfig {
                name: "helpdesk".to_owned(),
                tables: vec![
                    TicketKind::Incident,
                    TicketKind::RequestedItem,
                    TicketKind::CatalogTask,
                ],
                assignment_groups: vec!["Service Desk".to_owned(), "Citrix Operations".to_owned()],
                catalog_items: Vec::new(),
            }],
            auto_fulfil: Vec::new(),
            resolve_close_code: DEFAULT_CLOSE_CODE.to_owned(),
            failure_assignment_group: None,
            runbooks: Vec::new(),
        })
        .collect();
    // The lab's accounts, through its first site's Identity API: password resets and unlocks
    // work out of the box.
    let directories = info
        .sites
        .first()
        .map(|site| crate::config::DirectoryConfig {
            domain: crate::lab::people::DOMAIN.to_owned(),
            backend: crate::config::DirectoryBackend::CvadIdentity {
                site: site.name.clone(),
            },
        })
        .into_iter()
        .collect();
    AdapterConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        data_dir: data_dir.to_path_buf(),
        store,
        token_ttl: DEFAULT_TOKEN_TTL,
        sites,
        servicenow,
        clients: vec![ApiClientConfig {
            id: admin_id,
            name: ADMIN.to_owned(),
            role: Role::Admin,
            secret: admin_secret.clone(),
            enabled: true,
        }],
        directories,
        accounts: Default::default(),
        // Each lab office to the site and zone that serves it (docs/routing.md).
        routing: crate::config::RoutingConfig::from_lab(info),
        idle_power_off: Vec::new(),
        runbooks_dir: None,
        offboarding: Default::default(),
    }
}
