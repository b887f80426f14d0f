//! The console's config file, `$XDG_CONFIG_HOME/deskbridge/config.toml` (else
//! `$HOME/.config/deskbridge/config.toml`), resolved with the environment and the command line
//! into [`ConsoleConfig`], which remembers where each setting came from for `deskbridge info`.
//!
//! ```toml
//! theme = "default"          # or NO_COLOR in the environment for "mono"
//! readonly = false
//! log_file = "~/console.log" # default $XDG_STATE_HOME/deskbridge/console.log
//!
//! [adapter]                  # leave out for the embedded lab
//! url = "https://adapter.example.net:8433"
//! client_id = "console-alice"
//! secret = { env = "MY_SECRET" }   # or { file = "~/.config/deskbridge/secret" }
//!
//! [keys]                     # action = key or [keys]; replaces the action's defaults
//! reset = ["r"]
//! quit = ["q", "ctrl-c"]
//! ```
//!
//! Precedence, lowest first: defaults, the file, the environment (`DESKBRIDGE_ADAPTER_URL`,
//! `DESKBRIDGE_CLIENT_ID`, `DESKBRIDGE_CLIENT_SECRET` or `DESKBRIDGE_CLIENT_SECRET_FILE`),
//! then flags (`--config`, `--adapter`, `--theme`, `--readonly`, `--log-file`). A secret is
//! never written in the file nor given on the command line (argv is visible to every local
//! user through `ps`). A missing default file is fine; errors read
//! `config.toml:LINE:COL: key keys.reset[1]: message`, like the adapter's.

mod info;
mod keys;
mod raw;
mod secret;

#[cfg(test)]
mod tests;

pub use info::render_info;

use crate::config::{
    Collector, ConfigErrors, Diagnostic, SecretSpec, default_data_dir, expand_path, xdg_dir,
};
use crate::console::keymap::Keymap;
use crate::secret::Secret;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use url::Url;

pub const ENV_ADAPTER_URL: &str = "DESKBRIDGE_ADAPTER_URL";
pub const ENV_CLIENT_ID: &str = "DESKBRIDGE_CLIENT_ID";
pub const ENV_CLIENT_SECRET: &str = "DESKBRIDGE_CLIENT_SECRET";
pub const ENV_CLIENT_SECRET_FILE: &str = "DESKBRIDGE_CLIENT_SECRET_FILE";
pub const DEFAULT_THEME: &str = "default";
/// The theme used when `NO_COLOR` is set and neither the file nor `--theme` names one.
pub const NO_COLOR_THEME: &str = "mono";

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    /// A line of the config file.
    File {
        path: PathBuf,
        line: usize,
    },
    /// An environment variable.
    Env(String),
    /// A command-line flag, e.g. `--theme`.
    Flag(&'static str),
    /// A secret file named by a reference or `DESKBRIDGE_CLIENT_SECRET_FILE`.
    SecretFile(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { path, line } => write!(f, "from {}:{line}", path.display()),
            Origin::Env(var) => write!(f, "from env {var}"),
            Origin::Flag(flag) => write!(f, "from {flag}"),
            Origin::SecretFile(path) => write!(f, "from file {}", path.display()),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Sourced<T> {
    fn new(value: T, origin: Origin) -> Self {
        Sourced { value, origin }
    }
}

/// Settings given on the command line. There is deliberately no secret here.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--config PATH`: must exist, unlike the default file.
    pub config: Option<PathBuf>,
    /// `--adapter URL`.
    pub adapter: Option<String>,
    pub theme: Option<String>,
    /// `--readonly` (can only turn read-only on).
    pub readonly: bool,
    pub log_file: Option<PathBuf>,
}

/// The console's resolved settings.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// The config file read (or looked for); `None` when neither `XDG_CONFIG_HOME` nor `HOME`
    /// is set and no `--config` was given.
    pub file: Option<PathBuf>,
    /// Whether that file existed.
    pub file_found: bool,
    /// The remote adapter; `None` starts the embedded lab and adapter.
    pub adapter_url: Option<Sourced<Url>>,
    pub client_id: Option<Sourced<String>>,
    /// Read only when an adapter URL is set (the embedded lab needs none).
    pub secret: Option<Sourced<Secret>>,
    pub theme: Sourced<String>,
    pub readonly: Sourced<bool>,
    pub log_file: Option<Sourced<PathBuf>>,
    /// The embedded adapter's data folder (the adapter's own default).
    pub data_dir: Option<PathBuf>,
    /// The keymap for every role; narrow it with [`Keymap::visible`] once the role is known.
    pub keymap: Keymap,
    /// Problems that do not stop the console: keys taken from another action's defaults, a
    /// world-readable secret file. Show them at start and log them.
    pub warnings: Vec<Diagnostic>,
}

impl ConsoleConfig {
    /// Resolves the config from the default (or `--config`) file, this process's environment
    /// and `flags`.
    pub fn load(flags: &Flags) -> Result<ConsoleConfig, ConfigErrors> {
        let env = |name: &str| std::env::var(name).ok();
        ConsoleConfig::resolve(flags, &env)
    }

    /// Like [`ConsoleConfig::load`] with the environment given as a lookup function. Every
    /// problem found is reported at once, in file order.
    pub fn resolve(
        flags: &Flags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ConsoleConfig, ConfigErrors> {
        let file = match &flags.config {
            Some(path) => Some(path.clone()),
            None => xdg_dir(env, "XDG_CONFIG_HOME", ".config").map(|d| d.join("config.toml")),
        };
        let text = match &file {
            Some(path) => read_config(path, flags.config.is_some())?,
            None => None,
        };
        let file_found = text.is_some();
        let text = text.unwrap_or_default();
        let shown = file
            .as_ref()
            .map_or("config.toml".to_string(), |p| p.display().to_string());
        let collector = Collector::new(&shown, &text);
        let raw = raw::parse(&text, &collector)?;
        let base_dir = file
            .as_deref()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut r = Resolver {
            c: collector,
            path: file.clone().unwrap_or_default(),
            base_dir,
            env,
            outside: Vec::new(),
        };
        let config = r.resolve(&raw, flags, file, file_found);
        let mut errors = r.outside;
        let mut in_file = r.c.errors;
        in_file.sort_by_key(|d| d.position);
        errors.extend(in_file);
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let mut config = config;
        let mut warnings = r.c.warnings;
        warnings.sort_by_key(|d| d.position);
        config.warnings = warnings;
        Ok(config)
    }

    /// Whether the console starts the lab and an adapter in-process.
    pub fn embedded_lab(&self) -> bool {
        self.adapter_url.is_none()
    }
}

/// The file's text; `None` when the default file does not exist.
fn read_config(path: &Path, explicit: bool) -> Result<Option<String>, ConfigErrors> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(None),
        Err(e) => Err(ConfigErrors(vec![Diagnostic {
            file: path.display().to_string(),
            position: None,
            key: None,
            message: format!("cannot read the config file: {e}"),
        }])),
    }
}

/// What the checks need while one file is resolved.
struct Resolver<'a> {
    c: Collector<'a>,
    path: PathBuf,
    base_dir: PathBuf,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Errors about the environment or flags, which have no place in the file.
    outside: Vec<Diagnostic>,
}

impl Resolver<'_> {
    fn origin_at(&self, span: Range<usize>) -> Origin {
        let line = self
            .c
            .diagnostic(Some(span), None, "")
            .position
            .map_or(0, |(line, _)| line);
        Origin::File {
            path: self.path.clone(),
            line,
        }
    }

    /// An error about an environment variable or a flag (`what`).
    fn outside(&mut self, what: &str, message: impl Into<String>) {
        self.outside.push(Diagnostic {
            file: what.to_string(),
            position: None,
            key: None,
            message: message.into(),
        });
    }

    /// A non-empty environment variable; empty counts as unset, as shells make that easy.
    fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }

    fn resolve(
        &mut self,
        raw: &raw::RawConsole,
        flags: &Flags,
        file: Option<PathBuf>,
        file_found: bool,
    ) -> ConsoleConfig {
        let adapter = raw.adapter.as_ref().map(Spanned::get_ref);
        let adapter_url = self.adapter_url(adapter.and_then(|a| a.url.as_ref()), flags);
        let client_id = self.client_id(adapter.and_then(|a| a.client_id.as_ref()));
        let secret_spec = adapter.and_then(|a| a.secret.as_ref());
        // The embedded lab needs no secret, so a reference is read only for a remote adapter
        // (an unset variable must not stop the lab); an inline secret is refused either way.
        let secret = match (&adapter_url, secret_spec) {
            (Some(_), spec) => self.secret(spec),
            (None, Some(spec)) => {
                if let SecretSpec::Inline(what) = spec.get_ref() {
                    let message = SecretSpec::inline_message(what);
                    self.c.error(spec.span(), "adapter.secret", message);
                }
                Some(None)
            }
            (None, None) => Some(None),
        };
        if let Some(url) = &adapter_url {
            // Only the origin is named: the URL was checked to hold no credentials, but a
            // message is still no place to copy it.
            let what = format!("the adapter URL ({})", url.origin);
            if client_id.is_none() {
                self.missing(
                    "adapter.client_id",
                    &what,
                    &format!("set `client_id` under [adapter] or {ENV_CLIENT_ID}"),
                );
            }
            if matches!(secret, Some(None)) {
                self.missing(
                    "adapter.secret",
                    &what,
                    &format!(
                        "set `secret = {{ env = \"VAR\" }}` or `{{ file = \"/path\" }}` under \
                     [adapter], or {ENV_CLIENT_SECRET} or {ENV_CLIENT_SECRET_FILE}"
                    ),
                );
            }
        }
        let theme = self.theme(raw.theme.as_ref(), flags);
        let readonly = match (&raw.readonly, flags.readonly) {
            (_, true) => Sourced::new(true, Origin::Flag("--readonly")),
            (Some(v), false) => Sourced::new(*v.get_ref(), self.origin_at(v.span())),
            (None, false) => Sourced::new(false, Origin::Default),
        };
        let log_file = self.log_file(raw.log_file.as_ref(), flags);
        let keymap = keys::keymap(raw.keys.as_ref(), &mut self.c);
        ConsoleConfig {
            file,
            file_found,
            secret: secret.flatten(),
            adapter_url,
            client_id,
            theme,
            readonly,
            log_file,
            data_dir: default_data_dir(self.env),
            keymap,
            warnings: Vec::new(),
        }
    }

    /// A required setting of a remote adapter is absent everywhere.
    fn missing(&mut self, key: &str, what: &str, how: &str) {
        let message = format!("{what} needs this; {how}");
        self.c.error_nowhere(key, message);
    }

    fn adapter_url(
        &mut self,
        in_file: Option<&Spanned<String>>,
        flags: &Flags,
    ) -> Option<Sourced<Url>> {
        if let Some(text) = &flags.adapter {
            return self.url(text, Origin::Flag("--adapter"), None);
        }
        if let Some(text) = self.var(ENV_ADAPTER_URL) {
            return self.url(&text, Origin::Env(ENV_ADAPTER_URL.into()), None);
        }
        let v = in_file?;
        self.url(v.get_ref(), self.origin_at(v.span()), Some(v.span()))
    }

    /// Checks an adapter URL. The text is never repeated: it may hold a password.
    fn url(
        &mut self,
        text: &str,
        origin: Origin,
        span: Option<Range<usize>>,
    ) -> Option<Sourced<Url>> {
        let problem = match Url::parse(text.trim()) {
            Err(e) => Some(format!(
                "not a URL ({e}); write the adapter's address, e.g. \"https://adapter.example.net:8433\""
            )),
            Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                Some("the adapter URL must start with https:// (or http:// on loopback)".into())
            }
            Ok(url) if !url.username().is_empty() || url.password().is_some() => Some(
                "the adapter URL carries a user name or password; give the client id and a \
                 secret reference instead"
                    .into(),
            ),
            Ok(url) => return Some(Sourced::new(url, origin)),
        };
        let message = problem.unwrap_or_default();
        match (span, &origin) {
            (Some(span), _) => self.c.error(span, "adapter.url", message),
            (None, Origin::Env(var)) => self.outside(&format!("${var}"), message),
            (None, Origin::Flag(flag)) => self.outside(flag, message),
            (None, _) => self.outside("adapter URL", message),
        }
        None
    }

    fn client_id(&mut self, in_file: Option<&Spanned<String>>) -> Option<Sourced<String>> {
        if let Some(id) = self.var(ENV_CLIENT_ID) {
            return Some(Sourced::new(
                id.trim().to_string(),
                Origin::Env(ENV_CLIENT_ID.into()),
            ));
        }
        let v = in_file?;
        let id = v.get_ref().trim();
        if id.is_empty() {
            self.c
                .error(v.span(), "adapter.client_id", "the client id is empty");
            return None;
        }
        Some(Sourced::new(id.to_string(), self.origin_at(v.span())))
    }

    fn theme(&mut self, in_file: Option<&Spanned<String>>, flags: &Flags) -> Sourced<String> {
        let valid = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        const RULE: &str = "a theme name is letters, digits, `-` and `_` (a file \
                            themes/NAME.toml in the config folder, or a built-in theme)";
        if let Some(name) = &flags.theme {
            if valid(name) {
                return Sourced::new(name.clone(), Origin::Flag("--theme"));
            }
            self.outside("--theme", RULE);
        }
        if let Some(v) = in_file {
            if valid(v.get_ref()) {
                return Sourced::new(v.get_ref().clone(), self.origin_at(v.span()));
            }
            self.c.error(v.span(), "theme", RULE);
        }
        // https://no-color.org: set and non-empty; the file and flags still win.
        if self.var("NO_COLOR").is_some() {
            return Sourced::new(NO_COLOR_THEME.into(), Origin::Env("NO_COLOR".into()));
        }
        Sourced::new(DEFAULT_THEME.into(), Origin::Default)
    }

    fn log_file(
        &mut self,
        in_file: Option<&Spanned<String>>,
        flags: &Flags,
    ) -> Option<Sourced<PathBuf>> {
        if let Some(path) = &flags.log_file {
            return Some(Sourced::new(path.clone(), Origin::Flag("--log-file")));
        }
        if let Some(v) = in_file {
            match expand_path(v.get_ref(), &self.base_dir, self.env) {
                Ok(path) if !v.get_ref().is_empty() => {
                    return Some(Sourced::new(path, self.origin_at(v.span())));
                }
                Ok(_) => self
                    .c
                    .error(v.span(), "log_file", "the log file path is empty"),
                Err(e) => self.c.error(v.span(), "log_file", e),
            }
        }
        let dir = xdg_dir(self.env, "XDG_STATE_HOME", ".local/state")?;
        Some(Sourced::new(dir.join("console.log"), Origin::Default))
    }
}
