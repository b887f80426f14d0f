//! The checking pass: turns the raw file into an [`AdapterConfig`], collecting every problem
//! (with its line, column and key) instead of stopping at the first one.

use super::diagnostic::Collector;
use super::paths;
use super::raw::{RawClient, RawConfig};
use super::secret_ref::SecretSpec;
use super::types::{
    AdapterConfig, ApiClientConfig, DEFAULT_LISTEN, DEFAULT_TOKEN_TTL, EngineConfig,
    MIN_CLIENT_SECRET_LEN, MIN_LEASE, StoreConfig,
};
use super::values::{check_name, parse_duration};
use super::{accounts, directories, servicenow, sites};
use crate::secret::Secret;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;
use toml::Spanned;
use uuid::Uuid;

/// What the checks need besides the file: where relative paths start and how to read the
/// environment.
pub(super) struct Ctx<'a> {
    pub c: Collector<'a>,
    /// The config file's folder.
    pub base_dir: &'a Path,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Ctx<'_> {
    /// The value of a required key, or an error at the enclosing table when it is absent.
    pub fn required<'v, T>(
        &mut self,
        value: &'v Option<Spanned<T>>,
        table: &Range<usize>,
        key: &str,
        hint: &str,
    ) -> Option<&'v Spanned<T>> {
        if value.is_none() {
            self.c
                .error(table.clone(), key, format!("this key is required; {hint}"));
        }
        value.as_ref()
    }

    /// A checked name (for sites, instances, queues, clients).
    pub fn name(
        &mut self,
        value: &Option<Spanned<String>>,
        table: &Range<usize>,
        key: &str,
    ) -> Option<String> {
        let name = self.required(value, table, key, "add `name = \"...\"`")?;
        match check_name(name.get_ref()) {
            Ok(()) => Some(name.get_ref().clone()),
            Err(e) => {
                self.c.error(name.span(), key, format!("the name {e}"));
                None
            }
        }
    }

    /// Resolves a secret reference; failures and storage warnings are recorded.
    pub fn secret(&mut self, reference: &Spanned<SecretSpec>, key: &str) -> Option<Secret> {
        let r = match reference.get_ref() {
            SecretSpec::Ref(r) => r,
            SecretSpec::Inline(what) => {
                let message = SecretSpec::inline_message(what);
                self.c.error(reference.span(), key, message);
                return None;
            }
        };
        match r.resolve(self.base_dir, self.env) {
            Ok(resolved) => {
                if let Some(warning) = resolved.warning {
                    self.c.warn(reference.span(), key, warning);
                }
                Some(resolved.secret)
            }
            Err(e) => {
                self.c.error(reference.span(), key, e);
                None
            }
        }
    }

    /// An optional duration with its default.
    pub fn duration(
        &mut self,
        value: &Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Duration {
        let Some(value) = value else { return default };
        parse_duration(value.get_ref()).unwrap_or_else(|e| {
            self.c.error(value.span(), key, e);
            default
        })
    }

    /// Records an error for every name seen before (names are compared exactly).
    pub fn unique<'n>(
        &mut self,
        names: impl IntoIterator<Item = (&'n Spanned<String>, String)>,
        what: &str,
    ) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (index, (name, key)) in names.into_iter().enumerate() {
            if let Some(first) = seen.get(name.get_ref().as_str()) {
                self.c.error(
                    name.span(),
                    &key,
                    format!(
                        "{what} {:?} is already defined (entry {first}); names must be unique",
                        name.get_ref()
                    ),
                );
            } else {
                seen.insert(name.get_ref(), index);
            }
        }
    }
}

pub(super) fn check(raw: &RawConfig, ctx: &mut Ctx<'_>) -> Option<AdapterConfig> {
    let listen = listen(raw, ctx);
    let token_ttl = ctx.duration(&raw.token_ttl, "token_ttl", DEFAULT_TOKEN_TTL);
    let data_dir = match &raw.data_dir {
        Some(dir) => paths::expand_path(dir.get_ref(), ctx.base_dir, ctx.env)
            .map_err(|e| ctx.c.error(dir.span(), "data_dir", e))
            .ok(),
        None => {
            let dir = paths::default_data_dir(ctx.env);
            if dir.is_none() {
                ctx.c.error_nowhere(
                    "data_dir",
                    "neither XDG_DATA_HOME nor HOME is set, so there is no default data \
                     folder; add `data_dir = \"/var/lib/deskbridge\"`",
                );
            }
            dir
        }
    };
    let store = match (&raw.store, &data_dir) {
        (Some(url), Some(dir)) => paths::parse_store(url.get_ref(), dir)
            .map_err(|e| ctx.c.error(url.span(), "store", e))
            .ok(),
        (None, Some(dir)) => Some(paths::default_store(dir)),
        (_, None) => None,
    };
    let store = store.and_then(|store| store_password(store, raw, ctx));

    if raw.sites.is_empty() {
        ctx.c.error_nowhere(
            "sites",
            "no CVAD site is configured; add a `[[sites]]` table (see adapter.example.toml)",
        );
    }
    let sites: Vec<_> = raw
        .sites
        .iter()
        .enumerate()
        .map(|(i, site)| sites::check_site(site, &format!("sites[{i}]"), ctx))
        .collect();
    ctx.unique(
        raw.sites
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((s.get_ref().name.as_ref()?, format!("sites[{i}].name")))),
        "site",
    );

    let instances: Vec<_> = raw
        .servicenow
        .iter()
        .enumerate()
        .map(|(i, sn)| servicenow::check_instance(sn, &format!("servicenow[{i}]"), ctx))
        .collect();
    ctx.unique(
        raw.servicenow.iter().enumerate().filter_map(|(i, s)| {
            Some((s.get_ref().name.as_ref()?, format!("servicenow[{i}].name")))
        }),
        "ServiceNow instance",
    );

    let clients = clients(&raw.clients, ctx);
    let directories = directories::check_directories(raw, ctx);
    let accounts = accounts::check_accounts(raw, ctx);
    let routing = super::routing_check::check_routing(raw, ctx);
    let idle_power_off = super::idle::check_idle(raw, ctx);
    let runbooks_dir = runbooks_dir(raw, ctx);
    let offboarding = offboarding(raw, ctx);
    super::runbook_items::check_files(raw, runbooks_dir.as_ref(), ctx);

    // Everything is built only when nothing failed, so a partial config never escapes.
    if !ctx.c.errors.is_empty() {
        return None;
    }
    Some(AdapterConfig {
        listen: listen?,
        data_dir: data_dir?,
        store: store?,
        token_ttl,
        sites: sites.into_iter().collect::<Option<_>>()?,
        servicenow: instances.into_iter().collect::<Option<_>>()?,
        clients,
        directories: directories?,
        accounts: accounts?,
        routing: routing?,
        idle_power_off: idle_power_off?,
        runbooks_dir: runbooks_dir?,
        offboarding,
    })
}

/// `[offboarding] machines = "unassign" | "delete"`.
fn offboarding(raw: &RawConfig, ctx: &mut Ctx<'_>) -> super::OffboardingConfig {
    let machines = raw
        .offboarding
        .as_ref()
        .and_then(|o| o.get_ref().machines.as_ref());
    let delete_machines = match machines.map(|m| (m, m.get_ref().trim())) {
        None | Some((_, "unassign")) => false,
        Some((_, "delete")) => true,
        Some((value, other)) => {
            ctx.c.error(
                value.span(),
                "offboarding.machines",
                format!(
                    "{other:?} is not a choice; use \"unassign\" (keep the machine) or \"delete\""
                ),
            );
            false
        }
    };
    super::OffboardingConfig { delete_machines }
}

/// `runbooks_dir`: a folder that must exist when named; unnamed, `runbooks` beside the config
/// file is used when it exists (a config without runbooks needs no empty folder).
fn runbooks_dir(raw: &RawConfig, ctx: &mut Ctx<'_>) -> Option<Option<std::path::PathBuf>> {
    let Some(value) = &raw.runbooks_dir else {
        let default = ctx.base_dir.join("runbooks");
        return Some(default.is_dir().then_some(default));
    };
    let dir = paths::expand_path(value.get_ref(), ctx.base_dir, ctx.env)
        .map_err(|e| ctx.c.error(value.span(), "runbooks_dir", e))
        .ok()?;
    if !dir.is_dir() {
        ctx.c.error(
            value.span(),
            "runbooks_dir",
            format!(
                "{} is not a folder; create it, or leave `runbooks_dir` out for no runbooks",
                dir.display()
            ),
        );
        return None;
    }
    Some(Some(dir))
}

/// The `[engine]` table; absent keys are left to the engine's defaults.
pub(super) fn engine(raw: &RawConfig, ctx: &mut Ctx<'_>) -> EngineConfig {
    let Some(engine) = &raw.engine else {
        return EngineConfig::default();
    };
    let lease = engine.get_ref().lease.as_ref().and_then(|value| {
        let lease = parse_duration(value.get_ref())
            .map_err(|e| ctx.c.error(value.span(), "engine.lease", e))
            .ok()?;
        if lease < MIN_LEASE {
            // Renewed every third of the lease: a shorter one can lapse while the store is
            // busy, and another engine would then claim a task that is still running.
            ctx.c.error(
                value.span(),
                "engine.lease",
                format!(
                    "{:?} is too short; the engine renews a lease every third of it, so use at \
                     least \"1s\" (the default is \"30s\")",
                    value.get_ref()
                ),
            );
            return None;
        }
        Some(lease)
    });
    EngineConfig { lease }
}

fn listen(raw: &RawConfig, ctx: &mut Ctx<'_>) -> Option<SocketAddr> {
    let Some(value) = &raw.listen else {
        return DEFAULT_LISTEN.parse().ok();
    };
    match value.get_ref().parse::<SocketAddr>() {
        Ok(addr) => {
            if !addr.ip().is_loopback() {
                ctx.c.warn(
                    value.span(),
                    "listen",
                    format!(
                        "{addr} is reachable from other machines and the adapter speaks plain \
                         HTTP; put a TLS reverse proxy in front of it"
                    ),
                );
            }
            Some(addr)
        }
        Err(_) => {
            ctx.c.error(
                value.span(),
                "listen",
                format!(
                    "{:?} is not an address and port; write e.g. \"127.0.0.1:8433\" or \
                     \"[::1]:8433\"",
                    value.get_ref()
                ),
            );
            None
        }
    }
}

fn clients(raw: &[Spanned<RawClient>], ctx: &mut Ctx<'_>) -> Vec<ApiClientConfig> {
    if raw.is_empty() {
        ctx.c.error_nowhere(
            "clients",
            "no API client is configured, so nobody could use the adapter; add a \
             `[[clients]]` table with a name, an id, a role and a secret",
        );
    }
    let mut out = Vec::new();
    for (i, client) in raw.iter().enumerate() {
        let span = client.span();
        let raw = client.get_ref();
        let key = |k: &str| format!("clients[{i}].{k}");
        let name = ctx.name(&raw.name, &span, &key("name"));
        let id = ctx
            .required(
                &raw.id,
                &span,
                &key("id"),
                "add `id = \"...\"`, a UUID from `uuidgen`",
            )
            .and_then(|id| match Uuid::parse_str(id.get_ref().trim()) {
                Ok(uuid) => Some(uuid),
                Err(_) => {
                    ctx.c.error(
                        id.span(),
                        &key("id"),
                        format!(
                            "{:?} is not a UUID; generate one with `uuidgen`",
                            id.get_ref()
                        ),
                    );
                    None
                }
            });
        let role = ctx
            .required(
                &raw.role,
                &span,
                &key("role"),
                "add `role = \"viewer\"`, \"helpdesk\" or \"admin\"",
            )
            .map(|r| *r.get_ref());
        let secret = ctx
            .required(&raw.secret, &span, &key("secret"), HOW_TO_SECRET)
            .and_then(|reference| {
                let secret = ctx.secret(reference, &key("secret"))?;
                if secret.expose().chars().count() < MIN_CLIENT_SECRET_LEN {
                    ctx.c.error(
                        reference.span(),
                        &key("secret"),
                        format!(
                            "the secret from {} is shorter than {MIN_CLIENT_SECRET_LEN} \
                             characters; {HOW_TO_SECRET}",
                            reference.get_ref()
                        ),
                    );
                    return None;
                }
                Some(secret)
            });
        if let (Some(name), Some(id), Some(role), Some(secret)) = (name, id, role, secret) {
            out.push(ApiClientConfig {
                id,
                name,
                role,
                secret,
                enabled: raw.enabled.unwrap_or(true),
            });
        }
    }
    ctx.unique(
        raw.iter()
            .enumerate()
            .filter_map(|(i, c)| Some((c.get_ref().name.as_ref()?, format!("clients[{i}].name")))),
        "API client",
    );
    // Compared as UUIDs, so that upper- and lower-case spellings of one id collide.
    let mut seen: Vec<(Uuid, usize)> = Vec::new();
    for (i, client) in raw.iter().enumerate() {
        let Some(id) = &client.get_ref().id else {
            continue;
        };
        let Ok(uuid) = Uuid::parse_str(id.get_ref().trim()) else {
            continue;
        };
        match seen.iter().find(|(u, _)| *u == uuid) {
            Some((_, first)) => ctx.c.error(
                id.span(),
                &format!("clients[{i}].id"),
                format!("client id {uuid} is already used by clients[{first}]; ids must be unique"),
            ),
            None => seen.push((uuid, i)),
        }
    }
    out
}

/// How to give a client its secret.
pub(super) const HOW_TO_SECRET: &str = "generate a secret with `openssl rand -hex 32`, give \
     it to the client, and refer to it with `secret = { env = \"VAR\" }` or \
     `{ file = \"/path\" }`";

/// Puts `store_password` into a PostgreSQL store; refuses it beside a SQLite one, where it
/// would be silently ignored.
fn store_password(store: StoreConfig, raw: &RawConfig, ctx: &mut Ctx<'_>) -> Option<StoreConfig> {
    match (store, &raw.store_password) {
        (StoreConfig::Postgres { url, .. }, Some(password)) => Some(StoreConfig::Postgres {
            url,
            password: Some(ctx.secret(password, "store_password")?),
        }),
        (store, None) => Some(store),
        (_, Some(password)) => {
            ctx.c.error(
                password.span(),
                "store_password",
                "store_password is only for a postgres:// store",
            );
            None
        }
    }
}
