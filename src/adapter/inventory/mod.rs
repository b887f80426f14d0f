//! The adapter's inventory of every CVAD site: a per-site cache of zones and connector
//! health, delivery groups with their counters, machines and sessions, refreshed in the
//! background (every [`DEFAULT_REFRESH_INTERVAL`] with jitter) and on demand
//! ([`Inventory::refresh_now`], which the job engine calls after acting on a site).
//!
//! Readers take `Arc` snapshots that refreshes swap atomically; a failed refresh keeps the
//! last good data, and a site none of whose connectors answers is shown degraded with the
//! data's age. Changes become store events (`inventory`, `site`). The directories' account
//! states ([`accounts`]) are cached beside the sites and joined into the users view.

pub mod accounts;
mod changes;
mod query;
mod rows;
mod site;
mod snapshot;
mod users;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use accounts::{AccountState, AccountStates, DEFAULT_ACCOUNT_REFRESH};
pub use query::{Cursor, Filter, Key, Page, Row, Sort, page};
pub use site::{ConnectorView, RefreshReport, SiteCache, SiteState};
pub use snapshot::{Counts, Indexed, SiteData};
pub use users::UserView;

use crate::adapter::store::Store;
use crate::config::AdapterConfig;
use crate::cvad::CvadClient;

/// How often each site is refreshed. The config has no key for it yet, so this constant
/// applies to every site; each wait adds up to [`JITTER`] of it at random so that sites (and
/// replicas) do not all call at once.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The largest random share of the interval added to each wait.
pub const JITTER: f64 = 0.2;

/// The users view: shared, rebuilt whole when a site's data changes.
pub type Users = Arc<Vec<Indexed<UserView>>>;

/// The inventory of every configured site. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Inventory {
    inner: Arc<Inner>,
}

struct Inner {
    /// In config order.
    sites: Vec<Arc<SiteCache>>,
    store: Arc<dyn Store>,
    /// The users view and the site generations (then the account states' one) it was
    /// built from.
    users: Mutex<(Vec<u64>, Users)>,
    /// Account states of every directory, joined into the users view.
    accounts: Arc<AccountStates>,
    /// The account refreshers, one per directory.
    account_tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Dropping the sender (with the last `Inventory`) stops the refreshers too.
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Inventory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inventory")
            .field("sites", &self.inner.sites.len())
            .finish_non_exhaustive()
    }
}

/// Why an on-demand refresh could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("no site named {0:?} is configured")]
    UnknownSite(String),
}

impl Inventory {
    /// A cache for every configured site, empty until refreshed. Nothing runs until
    /// [`Inventory::start`].
    pub fn new(store: Arc<dyn Store>, config: &AdapterConfig) -> Inventory {
        Inventory::with_call_observer(store, config, None)
    }

    /// [`Inventory::new`], with `observer` installed in every site client (the adapter's
    /// metrics count the refreshes' CVAD calls with the engine's).
    pub fn with_call_observer(
        store: Arc<dyn Store>,
        config: &AdapterConfig,
        observer: Option<Arc<dyn crate::observe::CallObserver>>,
    ) -> Inventory {
        let sites = config
            .sites
            .iter()
            .map(|site| {
                let mut cvad = site.to_cvad_config();
                if let Some(observer) = &observer {
                    cvad = cvad.with_observer(Arc::clone(observer));
                }
                let client = CvadClient::new(cvad).map_err(|e| e.to_string());
                Arc::new(SiteCache::new(site.name.clone(), site.enabled, client))
            })
            .collect();
        Inventory {
            inner: Arc::new(Inner {
                sites,
                store,
                users: Mutex::new((Vec::new(), Arc::new(Vec::new()))),
                accounts: Arc::new(AccountStates::default()),
                account_tasks: Mutex::new(Vec::new()),
                stop: watch::channel(false).0,
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Starts one background refresher per site with [`DEFAULT_REFRESH_INTERVAL`].
    pub fn start(&self) {
        self.start_with_interval(DEFAULT_REFRESH_INTERVAL);
    }

    /// Starts the refreshers with another interval (tests). A second start does nothing.
    /// Each refresher refreshes at once, then every `interval` plus jitter, skipping the site
    /// while it is disabled (by the config or an operator).
    pub fn start_with_interval(&self, interval: Duration) {
        let mut tasks = lock(&self.inner.tasks);
        if !tasks.is_empty() {
            return;
        }
        for site in &self.inner.sites {
            tasks.push(tokio::spawn(refresher(
                Arc::clone(site),
                Arc::clone(&self.inner.store),
                self.inner.stop.subscribe(),
                interval,
            )));
        }
    }

    /// Starts one account-state refresher per directory: each lists its directory at once,
    /// then every `interval`. A second start does nothing.
    pub fn start_accounts(&self, directories: &crate::directory::Directories, interval: Duration) {
        let mut tasks = lock(&self.inner.account_tasks);
        if !tasks.is_empty() {
            return;
        }
        for directory in directories.iter() {
            tasks.push(tokio::spawn(accounts::refresher(
                Arc::clone(&self.inner.accounts),
                Arc::clone(directory),
                self.inner.stop.subscribe(),
                interval,
            )));
        }
    }

    /// The account states the users view shows; [`AccountStates::record`] updates one.
    pub fn accounts(&self) -> &AccountStates {
        &self.inner.accounts
    }

    /// Stops the refreshers and waits for them; a refresh under way is abandoned.
    pub async fn stop(&self) {
        self.inner.stop.send_replace(true);
        let mut tasks: Vec<JoinHandle<()>> = lock(&self.inner.tasks).drain(..).collect();
        tasks.extend(lock(&self.inner.account_tasks).drain(..));
        for task in tasks {
            // A refresher that panicked has nothing left to stop.
            let _ = task.await;
        }
    }

    /// Refreshes `site` now and waits for it (after any refresh already under way), emitting
    /// change events. Refreshes even a disabled site: the caller asked for it.
    pub async fn refresh_now(&self, site: &str) -> Result<RefreshReport, InventoryError> {
        let cache = self
            .cache(site)
            .ok_or_else(|| InventoryError::UnknownSite(site.to_owned()))?;
        Ok(refresh(&cache, self.inner.store.as_ref()).await)
    }

    /// Asks the site's background refresher to refresh soon, without waiting; `false` for an
    /// unknown site.
    pub fn request_refresh(&self, site: &str) -> bool {
        self.cache(site).map(|c| c.wake.notify_one()).is_some()
    }

    /// The cache of one site, by name (any case).
    pub fn cache(&self, site: &str) -> Option<Arc<SiteCache>> {
        self.inner
            .sites
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(site))
            .cloned()
    }

    /// Every site's cache, in config order.
    pub fn sites(&self) -> &[Arc<SiteCache>] {
        &self.inner.sites
    }

    /// The site's CVAD client, shared with the refresher (one token, one view of health).
    pub fn client(&self, site: &str) -> Option<CvadClient> {
        self.cache(site).and_then(|c| c.client.clone().ok())
    }

    /// The current state of every site, in config order: `(name, state)`.
    pub fn states(&self) -> Vec<(&str, Arc<SiteState>)> {
        self.inner
            .sites
            .iter()
            .map(|s| (s.name.as_str(), s.state()))
            .collect()
    }

    /// The users view across sites, rebuilt only when some site's data changed.
    pub fn users(&self) -> Users {
        let states = self.states();
        let mut generations: Vec<u64> = states.iter().map(|(_, s)| s.generation).collect();
        generations.push(self.inner.accounts.generation());
        let mut cached = lock(&self.inner.users);
        if cached.0 != generations || cached.0.is_empty() {
            let mut built = users::build(
                states
                    .iter()
                    .filter_map(|(name, s)| s.data.as_deref().map(|d| (*name, d))),
            );
            self.inner.accounts.with(|state_of| {
                for user in &mut built {
                    user.item.account = state_of(&user.item.user_name);
                }
            });
            *cached = (generations, Arc::new(built));
        }
        Arc::clone(&cached.1)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values stay consistent even if a holder panicked (each write is one step).
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One refresh of one site, with its change events.
async fn refresh(cache: &SiteCache, store: &dyn Store) -> RefreshReport {
    let (before, after) = cache.refresh().await;
    changes::emit(store, &cache.name, &before, &after).await;
    if let Some(error) = &after.last_error {
        tracing::warn!(site = %cache.name, degraded = after.degraded, %error, "inventory refresh failed");
    }
    RefreshReport {
        site: cache.name.clone(),
        ok: after.last_error.is_none(),
        degraded: after.degraded,
        error: after.last_error.clone(),
    }
}

/// Whether the site is enabled now: an operator's switch in the store, else the config.
async fn enabled(cache: &SiteCache, store: &dyn Store) -> bool {
    match store.site_flags().await {
        Ok(flags) => flags
            .iter()
            .find(|f| f.name == cache.name)
            .map_or(cache.enabled_in_config, |f| f.enabled),
        Err(err) => {
            // Without the store the last known switch is unknown; the config decides.
            tracing::warn!(site = %cache.name, error = %err, "cannot read the site switches");
            cache.enabled_in_config
        }
    }
}

/// The background loop of one site.
async fn refresher(
    cache: Arc<SiteCache>,
    store: Arc<dyn Store>,
    mut stop: watch::Receiver<bool>,
    interval: Duration,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        if enabled(&cache, store.as_ref()).await {
            tokio::select! {
                _ = refresh(&cache, store.as_ref()) => {}
                _ = stop.changed() => return,
            }
        }
        let jitter = interval.mul_f64(rand::rng().random_range(0.0..JITTER));
        tokio::select! {
            _ = tokio::time::sleep(interval + jitter) => {}
            _ = cache.wake.notified() => {}
            // A closed channel (every Inventory dropped) stops the loop as well.
            _ = stop.changed() => return,
        }
    }
}
