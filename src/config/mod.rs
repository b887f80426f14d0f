//! The adapter's configuration file (`deskbridge serve --config adapter.toml`): its TOML
//! schema, defaults, secret references, and errors that name the file, line and key.
//!
//! `adapter.example.toml` at the repository root documents every key. In short:
//!
//! - `listen` (default `127.0.0.1:8433`), `data_dir` (default `$XDG_DATA_HOME/deskbridge`, else
//!   `$HOME/.local/share/deskbridge`), `store` (default `sqlite://<data_dir>/deskbridge.db`).
//! - `[[sites]]`: CVAD sites, on-prem or cloud, with connector endpoints and limits.
//! - `[[servicenow]]`: instances, their auth, queues and auto-fulfilled catalog items.
//! - `[engine]`: `lease`, how long after a crash a task's work resumes (default the engine's
//!   30 s).
//! - `[[clients]]`: API callers (OAuth client credentials) with a stable UUID `id`, a role
//!   (`viewer`, `helpdesk`, `admin`) and a `secret` *reference*. Choice: the config names where
//!   the secret is rather than holding a hash, because the store keeps argon2id hashes (salted,
//!   so they cannot be precomputed by hand) and hashes the resolved secret when it records the
//!   configured clients at start-up; the file itself then grants no access.
//! - `[[directories]]`: per NetBIOS domain, `kind = "ldap"` (LDAPS, or StartTLS; a simple bind
//!   in clear text is refused) or `kind = "cvad-identity"` through a configured site; built
//!   into a [`Directories`](crate::directory::Directories) registry at start-up.
//! - `[password_policy]` and `[verification]`: the rules of password resets and security
//!   codes ([`AccountsConfig`]); a deny list file must load.
//!
//! Secrets (site passwords and client secrets, ServiceNow credentials, API client secrets) are never written in the
//! file: a secret key takes `{ env = "VAR" }` or `{ file = "/path" }`, resolved once at load
//! into a [`Secret`](crate::secret::Secret). A relative file path is relative to the config
//! file's folder; a file's one trailing newline is dropped; a world-readable file is loaded
//! with a warning (container secret mounts are often 0644).
//!
//! Every problem is reported as `adapter.toml:LINE:COL: key sites[1].endpoints: message`, in
//! file order. Syntax errors are all reported; a TOML type error or unknown key stops the
//! reading at that point (serde reads one value at a time); past that, every other problem in
//! the file (missing keys, bad values, duplicates, inline secrets, unresolvable references…)
//! is reported at once. No message contains a secret value.
//!
//! - `[[routing.rules]]` and `[routing.default]`: which site, desktops and applications a user
//!   gets, by location, department, domain, OU or group ([`RoutingConfig`], docs/routing.md); a
//!   rule that points at a missing or disabled site is an error here.
//!
//! - `[[idle_power_off]]`: schedules that shut down idle machines of delivery groups
//!   (`delivery_groups`, optional `site`, `idle_minutes`, `every`; [`IdlePowerOff`],
//!   docs/idle.md).
//!
//! - `runbooks_dir`: the folder of runbook files (`crate::adapter::runbooks`,
//!   docs/runbooks.md); relative to the config file's folder; default `runbooks` beside the
//!   config file when that folder exists. A named folder that does not exist is an error.
//!
//! Sections to come (a PostgreSQL store) are new optional keys: files written today stay
//! valid.

mod accounts;
mod check;
mod convert;
mod diagnostic;
mod directories;
mod idle;
mod locate;
mod paths;
mod raw;
mod routing;
mod routing_check;
mod routing_desktops;
mod routing_lab;
mod runbook_items;
mod secret_ref;
mod servicenow;
mod sites;
mod types;
mod values;
mod zones;

#[cfg(test)]
mod tests;

pub use diagnostic::{ConfigErrors, Diagnostic};
pub use idle::{IdlePowerOff, MIN_IDLE_EVERY};
pub use routing::{
    DEFAULT_RULE, PersistentDesktop, PooledDesktop, RouteTarget, RoutingConfig, RoutingRule,
    RuleMatch,
};
pub use secret_ref::SecretRef;
// Shared with the console's config file (`crate::console::config`), which keeps the same
// conventions: XDG paths, secret references, and FILE:LINE:COL errors.
pub(crate) use paths::{default_data_dir, expand_path, xdg_dir};
pub(crate) use secret_ref::SecretSpec;
pub use types::{AccountsConfig, DEFAULT_DIRECTORY_TIMEOUT, DirectoryBackend, DirectoryConfig};
pub use types::{
    AdapterConfig, ApiClientConfig, DEFAULT_CLOSE_CODE, DEFAULT_CONCURRENCY, DEFAULT_LISTEN,
    DEFAULT_POLL_INTERVAL, DEFAULT_SERVICENOW_TIMEOUT, DEFAULT_SITE_TIMEOUT, DEFAULT_TOKEN_TTL,
    EngineConfig, MAX_CONCURRENCY, MIN_CLIENT_SECRET_LEN, MIN_LEASE, QueueConfig, Role,
    ServiceNowInstanceConfig, SiteConfig, SiteZone, StoreConfig,
};
pub use types::{OffboardingConfig, RunbookItem};
pub(crate) use values::parse_duration;

pub(crate) use diagnostic::Collector;
pub(crate) use locate::KeyMap;
use std::path::Path;

/// A loaded configuration and the warnings found on the way (insecure but working choices,
/// such as a world-readable secret file). The caller logs the warnings.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: AdapterConfig,
    /// The `[engine]` table (defaults when absent).
    pub engine: EngineConfig,
    pub warnings: Vec<Diagnostic>,
}

impl AdapterConfig {
    /// Reads and checks `path`, resolving secrets from this process's environment.
    pub fn load(path: &Path) -> Result<LoadedConfig, ConfigErrors> {
        let env = |name: &str| std::env::var(name).ok();
        Self::load_with_env(path, &env)
    }

    /// Like [`AdapterConfig::load`], with the environment given as a lookup function.
    pub fn load_with_env(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<LoadedConfig, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![Diagnostic {
                file: file.clone(),
                position: None,
                key: None,
                message: format!("cannot read the config file: {e}"),
            }])
        })?;
        let base_dir = path.parent().unwrap_or(Path::new("."));
        Self::from_toml(&text, &file, base_dir, env)
    }

    /// Checks config `text`. `file` names it in messages; relative paths in it (secret files,
    /// `data_dir`) are relative to `base_dir`.
    pub fn from_toml(
        text: &str,
        file: &str,
        base_dir: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<LoadedConfig, ConfigErrors> {
        let collector = Collector::new(file, text);
        let raw = parse(text, &collector)?;
        let mut ctx = check::Ctx {
            c: collector,
            base_dir,
            env,
        };
        let engine = check::engine(&raw, &mut ctx);
        match check::check(&raw, &mut ctx) {
            Some(config) if ctx.c.errors.is_empty() => {
                let mut warnings = ctx.c.warnings;
                warnings.sort_by_key(|d| d.position);
                Ok(LoadedConfig {
                    config,
                    engine,
                    warnings,
                })
            }
            _ => {
                // In file order, for reading top to bottom; stable, so problems found at one
                // place keep the order they were checked in. Those with no place come first.
                let mut errors = ctx.c.errors;
                errors.sort_by_key(|d| d.position);
                Err(ConfigErrors(errors))
            }
        }
    }
}

/// TOML syntax and serde type checks: every syntax error, else the first type error.
fn parse(text: &str, collector: &Collector<'_>) -> Result<raw::RawConfig, ConfigErrors> {
    let (_, syntax) = toml::de::DeTable::parse_recoverable(text);
    let errors = if syntax.is_empty() {
        match toml::from_str::<raw::RawConfig>(text) {
            Ok(raw) => return Ok(raw),
            Err(e) => vec![e],
        }
    } else {
        syntax
    };
    let keys = KeyMap::new(text);
    Err(ConfigErrors(
        errors
            .iter()
            .map(|e| {
                let key = e.span().and_then(|s| keys.path_at(text, &s));
                let (key, message) = explain(key, e.message());
                collector.diagnostic(e.span(), key, message)
            })
            .collect(),
    ))
}

/// Rewords serde's messages in the config's terms, and puts a missing key into the path.
fn explain(key: Option<String>, message: &str) -> (Option<String>, String) {
    let message = message.trim();
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        let key = Some(key.map_or(field.to_string(), |k| format!("{k}.{field}")));
        return (key, "this key is required".to_string());
    }
    if let Some(rest) = message.strip_prefix("unknown field") {
        return (
            key,
            format!("unknown key{rest}; check its spelling and the table it is in"),
        );
    }
    (key, message.to_string())
}
