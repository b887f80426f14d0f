//! `deskbridge console`, `deskbridge info` and `deskbridge` with no arguments: resolve the
//! console config, start the embedded lab and adapter when no adapter URL is set, log to a
//! file (the terminal belongs to the UI), and run the console.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Args;

use crate::console::app::{App, Level, Setup};
use crate::console::client::ApiClient;
use crate::console::config::{ConsoleConfig, Flags, render_info};
use crate::console::run::{Console, run};
use crate::console::theme::Theme;
use crate::lab::{Lab, LabOptions, Scale};

#[derive(Debug, Clone, Default, Args)]
pub struct ConsoleArgs {
    /// The adapter to connect to (`https://adapter.example.net`); the client id comes from the
    /// config file or DESKBRIDGE_CLIENT_ID, the secret from DESKBRIDGE_CLIENT_SECRET(_FILE) or
    /// the config file's reference, never from the command line. Leave out for the embedded lab.
    #[arg(long, value_name = "URL")]
    pub adapter: Option<String>,
    /// The console config file (default $XDG_CONFIG_HOME/deskbridge/config.toml).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A theme: default, light, high-contrast, mono, or one of yours.
    #[arg(long, value_name = "NAME")]
    pub theme: Option<String>,
    /// Triage mode: nothing that changes anything is offered.
    #[arg(long)]
    pub readonly: bool,
    /// Where the console logs (default $XDG_STATE_HOME/deskbridge/console.log).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
}

impl ConsoleArgs {
    fn flags(&self) -> Flags {
        Flags {
            config: self.config.clone(),
            adapter: self.adapter.clone(),
            theme: self.theme.clone(),
            readonly: self.readonly,
            log_file: self.log_file.clone(),
        }
    }
}

/// Resolves the config or explains every problem in it.
pub(crate) fn load(args: &ConsoleArgs) -> anyhow::Result<ConsoleConfig> {
    ConsoleConfig::load(&args.flags()).map_err(|errors| anyhow::anyhow!("{errors}"))
}

/// `deskbridge info`.
pub fn info(args: &ConsoleArgs) -> anyhow::Result<()> {
    let config = load(args)?;
    print!("{}", render_info(&config));
    Ok(())
}

/// `deskbridge console` and `deskbridge` with no arguments.
pub async fn console(args: ConsoleArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!(
            "the console needs a terminal (stdin and stdout are not one); for the adapter and \
             the lab without the console run `deskbridge serve --lab`"
        );
    }
    let config = load(&args)?;
    let config_dir = config
        .file
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    let theme = Theme::load(&config.theme.value, config_dir.as_deref())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let _log = init_file_logging(config.log_file.as_ref().map(|l| l.value.as_path()))?;
    // Problems that do not stop the console (a key taken from another action, a secret
    // file others can read) are logged and flashed on the first screen.
    let warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    let keymap = config.keymap.clone();
    let readonly = config.readonly.value;
    match &config.adapter_url {
        Some(url) => {
            let client = adapter_client(&config)?
                .context("an adapter URL is set, so a client is made for it")?;
            let setup = setup(
                keymap,
                readonly,
                false,
                url.value.as_str(),
                config_dir.as_deref(),
            );
            run_console(setup, client, theme, config_dir, &warnings).await
        }
        None => {
            let data_dir = config
                .data_dir
                .clone()
                .context("no data folder: set XDG_DATA_HOME or HOME, or use --adapter")?
                .join("embedded");
            let lab = Lab::start(embedded_lab_options())
                .await
                .context("cannot start the lab")?;
            let result = async {
                let adapter = crate::cli::serve::start_lab_adapter(lab.info(), &data_dir).await?;
                let url = adapter.server.url();
                let client =
                    ApiClient::new(&url, adapter.admin_id.to_string(), adapter.secret.clone())?;
                let setup = setup(keymap, readonly, true, &url, config_dir.as_deref());
                let result = run_console(setup, client, theme, config_dir, &warnings).await;
                adapter
                    .server
                    .shutdown()
                    .await
                    .context("the embedded adapter failed")?;
                result
            }
            .await;
            lab.shutdown().await;
            result
        }
    }
}

/// The client of the adapter the config names (URL, client id, secret), or `None` when no
/// adapter is set (the embedded lab). Shared with `deskbridge report`.
pub(crate) fn adapter_client(config: &ConsoleConfig) -> anyhow::Result<Option<ApiClient>> {
    let Some(url) = &config.adapter_url else {
        return Ok(None);
    };
    let Some(id) = &config.client_id else {
        bail!(
            "an adapter URL is set but no client id: set [adapter] client_id or DESKBRIDGE_CLIENT_ID"
        );
    };
    let Some(secret) = &config.secret else {
        bail!(
            "no client secret: set DESKBRIDGE_CLIENT_SECRET or DESKBRIDGE_CLIENT_SECRET_FILE, or \
             [adapter] secret = {{ file = \"…\" }} in the config file"
        );
    };
    Ok(Some(ApiClient::new(
        url.value.as_str(),
        id.value.clone(),
        secret.value.clone(),
    )?))
}

/// The lab the embedded default runs (and `deskbridge report` without an adapter).
pub(crate) fn embedded_lab_options() -> LabOptions {
    LabOptions {
        seed: 1,
        scale: Scale::Small,
        live: true,
        ..LabOptions::default()
    }
}

fn setup(
    keymap: crate::console::keymap::Keymap,
    readonly: bool,
    lab: bool,
    url: &str,
    config_dir: Option<&Path>,
) -> Setup {
    Setup {
        keymap,
        readonly,
        lab,
        adapter_url: url.to_owned(),
        theme_names: Theme::names(config_dir),
    }
}

async fn run_console(
    setup: Setup,
    client: ApiClient,
    theme: Theme,
    config_dir: Option<PathBuf>,
    warnings: &[String],
) -> anyhow::Result<()> {
    let mut app = App::new(setup, Utc::now());
    if let Some(first) = warnings.first() {
        let more = match warnings.len() {
            1 => String::new(),
            n => format!(" (and {} more in the log)", n - 1),
        };
        app.say(Level::Warn, format!("config: {first}{more}"));
    }
    run(Console {
        app,
        client,
        theme,
        config_dir,
    })
    .await
}

/// Logs go to a file while the UI owns the terminal: anything written to stdout or stderr
/// would tear the screen. The guard flushes the file when dropped.
fn init_file_logging(
    path: Option<&Path>,
) -> anyhow::Result<Option<tracing_appender::non_blocking::WorkerGuard>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the log folder {}", dir.display()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("DESKBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))?;
    Ok(Some(guard))
}
