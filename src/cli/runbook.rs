//! `deskbridge runbook check`: loads the runbooks folder of adapter.toml the way `serve` does
//! and prints every problem (file, line, step), exiting 1 when there is any; for checking a
//! change before the adapter is restarted with it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use clap::{Args, Subcommand};

use crate::adapter::runbooks::Runbooks;
use crate::config::AdapterConfig;

#[derive(Debug, Clone, Args)]
pub struct RunbookArgs {
    #[command(subcommand)]
    pub command: RunbookCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RunbookCommand {
    /// Check every runbook of the folder and print the problems; exit 1 if there are any.
    Check(CheckArgs),
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The adapter's config file: its sites, and its runbooks folder (`runbooks_dir`, else
    /// `runbooks` beside it).
    #[arg(long, value_name = "FILE", default_value = "adapter.toml")]
    pub config: PathBuf,
    /// Check this folder instead of the config's.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(args: RunbookArgs) -> anyhow::Result<()> {
    match args.command {
        RunbookCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let (sites, configured_dir) = match AdapterConfig::load(&args.config) {
        Ok(loaded) => {
            let sites = loaded.config.sites.iter().map(|s| s.name.clone()).collect();
            (sites, loaded.config.runbooks_dir)
        }
        // Secrets are often not at hand where runbooks are edited: the site names and the
        // folder are all a check needs, so they are read from the file as written.
        Err(errors) => {
            let (sites, dir) = light_read(&args.config)?;
            eprintln!(
                "note: {} has {} error(s) (secrets not at hand?); `deskbridge serve` reports \
                 them. The runbooks are checked against its [[sites]] names: {}",
                args.config.display(),
                errors.len(),
                sites.join(", ")
            );
            (sites, dir)
        }
    };
    let Some(dir) = args.dir.clone().or(configured_dir) else {
        println!(
            "no runbooks folder: {} sets no runbooks_dir and there is no `runbooks` folder \
             beside it",
            args.config.display()
        );
        return Ok(());
    };
    let sites: Vec<&str> = sites.iter().map(String::as_str).collect();
    if !dir.is_dir() {
        anyhow::bail!("{} is not a folder", dir.display());
    }
    match Runbooks::load_with_sites(&dir, &sites) {
        Ok(runbooks) => {
            let mut out = std::io::stdout().lock();
            let names: Vec<&str> = runbooks.list().iter().map(|r| r.name.as_str()).collect();
            writeln!(
                out,
                "{}: {} runbook(s), no problems{}{}",
                dir.display(),
                names.len(),
                if names.is_empty() { "" } else { ": " },
                names.join(", ")
            )?;
            out.flush()?;
            Ok(())
        }
        Err(errors) => {
            for error in errors.iter() {
                eprintln!("{error}");
            }
            anyhow::bail!(
                "{} problem(s) in the runbooks of {}",
                errors.len(),
                dir.display()
            );
        }
    }
}

/// The `[[sites]]` names and the runbooks folder of a config file that does not load as a
/// whole (`runbooks_dir` relative to the file, else `runbooks` beside it when it exists).
fn light_read(path: &Path) -> anyhow::Result<(Vec<String>, Option<PathBuf>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let sites = table
        .get("sites")
        .and_then(toml::Value::as_array)
        .map(|sites| {
            sites
                .iter()
                .filter_map(|s| s.get("name")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let base = path.parent().unwrap_or(Path::new("."));
    let dir = match table.get("runbooks_dir").and_then(toml::Value::as_str) {
        Some(dir) => Some(base.join(dir)),
        None => Some(base.join("runbooks")).filter(|d| d.is_dir()),
    };
    Ok((sites, dir))
}
