//! `deskbridge route explain USER`: which routing rule of adapter.toml sends a user where, and
//! why, one line per rule checked; the user's facts come from the configured directory. With
//! `--lab`, against an in-process lab and the rules `serve --lab` uses.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::adapter::routing::{self, Explanation, PooledDesktop};
use crate::config::{AdapterConfig, RoutingConfig};
use crate::directory::Directories;

#[derive(Debug, Clone, Args)]
pub struct RouteArgs {
    #[command(subcommand)]
    pub command: RouteCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RouteCommand {
    /// Show which routing rule matches a user and why, then the route it gives.
    Explain(ExplainArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The user: DOMAIN\sam, or a UPN.
    #[arg(value_name = "USER")]
    pub user: String,
    /// The adapter's config file: its [[routing.rules]] and [[directories]].
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "lab",
        conflicts_with = "lab"
    )]
    pub config: Option<PathBuf>,
    /// Explain against an in-process lab with the rules `serve --lab` uses.
    #[arg(long)]
    pub lab: bool,
    /// With --lab: seed of the lab's generated people.
    #[arg(long, default_value_t = 1, requires = "lab")]
    pub seed: u64,
    /// Print the explanation as JSON (as GET /api/v1/routing/explain answers).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: RouteArgs) -> anyhow::Result<()> {
    match args.command {
        RouteCommand::Explain(args) => explain(args).await,
    }
}

async fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    let explanation = match &args.config {
        Some(path) => explain_with_config(path, &args.user).await?,
        None => explain_on_lab(args.seed, &args.user).await?,
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&explanation)?)?;
    } else {
        out.write_all(render(&explanation).as_bytes())?;
    }
    out.flush()?;
    Ok(())
}

async fn explain_with_config(path: &std::path::Path, user: &str) -> anyhow::Result<Explanation> {
    let loaded = match AdapterConfig::load(path) {
        Ok(loaded) => loaded,
        Err(errors) => {
            for diagnostic in errors.iter() {
                eprintln!("{diagnostic}");
            }
            anyhow::bail!("{} has {} error(s)", path.display(), errors.len());
        }
    };
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    let config = loaded.config;
    let directories = Directories::open(&config.directories, &|site| {
        let site = config.sites.iter().find(|s| s.name == site)?;
        crate::cvad::CvadClient::new(site.to_cvad_config()).ok()
    })
    .context("cannot set up the configured directories")?;
    look_up(&config.routing, &directories, user).await
}

async fn explain_on_lab(seed: u64, user: &str) -> anyhow::Result<Explanation> {
    let lab = crate::lab::Lab::start(crate::lab::LabOptions {
        seed,
        ..crate::lab::LabOptions::default()
    })
    .await
    .context("cannot start the lab")?;
    // The same config `serve --lab` runs; its store and client are never opened here.
    let config = super::serve::lab_config(
        lab.info(),
        &std::env::temp_dir(),
        crate::config::StoreConfig::SqliteMemory,
        uuid::Uuid::nil(),
        &crate::secret::Secret::new(String::new()),
    );
    let result = async {
        let directories = Directories::open(&config.directories, &|site| {
            let site = config.sites.iter().find(|s| s.name == site)?;
            crate::cvad::CvadClient::new(site.to_cvad_config()).ok()
        })
        .context("cannot set up the lab's directory")?;
        look_up(&config.routing, &directories, user).await
    }
    .await;
    lab.shutdown().await;
    result
}

async fn look_up(
    config: &RoutingConfig,
    directories: &Directories,
    user: &str,
) -> anyhow::Result<Explanation> {
    if user.trim().is_empty() {
        anyhow::bail!("give the user as DOMAIN\\sam or a UPN");
    }
    if let Some(message) = routing::unknown_domain(directories, user) {
        anyhow::bail!("{message}");
    }
    let facts = match routing::facts(directories, user).await {
        Ok(facts) => facts,
        Err(crate::directory::DirectoryError::NotFound(_)) => {
            anyhow::bail!("{}", routing::not_found(directories, user))
        }
        Err(e) => return Err(e).with_context(|| format!("cannot look {} up", user.trim())),
    };
    Ok(routing::explain(config, facts))
}

/// The explanation as the terminal shows it: the facts, one line per rule checked, the route.
pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    let f = &e.facts;
    let or_unknown = |v: &str| {
        if v.trim().is_empty() {
            "(unknown)".to_string()
        } else {
            v.to_string()
        }
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(out, "user        {}", f.user);
    let _ = writeln!(out, "location    {}", or_unknown(&f.location));
    let _ = writeln!(out, "department  {}", or_unknown(&f.department));
    let _ = writeln!(out, "ou          {}", or_unknown(&f.ou));
    let _ = writeln!(out, "groups      {}", list(&f.groups));
    if !e.unknown.is_empty() {
        let _ = writeln!(
            out,
            "unknown     {} (the directory gives none; rules on them cannot match)",
            e.unknown.join(", ")
        );
    }
    let _ = writeln!(out, "\nrules checked, in order (the first match wins):");
    let width = e.checks.iter().map(|c| c.rule.len()).max().unwrap_or(0);
    for check in &e.checks {
        let verdict = if check.matched { "MATCH" } else { "no   " };
        let _ = writeln!(
            out,
            "  {verdict}  {:width$}  {}",
            check.rule,
            check.reasons.join("; ")
        );
    }
    if e.checks.is_empty() {
        let _ = writeln!(out, "  (no routing rules are configured)");
    }
    let Some(route) = &e.route else {
        let _ = writeln!(
            out,
            "\nno route: no rule matched and there is no [routing.default]"
        );
        return out;
    };
    let _ = writeln!(out, "\nroute (rule {}):", route.rule);
    let _ = writeln!(out, "  site                {}", route.site);
    let pooled = match &route.pooled_desktop {
        Some(PooledDesktop::DeliveryGroup(g)) => format!("delivery group {g}"),
        Some(PooledDesktop::AccessGroup(g)) => format!("via AD group {g}"),
        None => "none".to_string(),
    };
    let _ = writeln!(out, "  pooled desktop      {pooled}");
    let persistent = match &route.persistent_desktop {
        Some(p) => format!(
            "delivery group {}, catalog {}, naming {}",
            p.delivery_group,
            p.catalog,
            p.naming.as_deref().unwrap_or("(the catalog's)")
        ),
        None => "none".to_string(),
    };
    let _ = writeln!(out, "  persistent desktop  {persistent}");
    let _ = writeln!(out, "  apps                {}", list(&route.apps));
    let _ = writeln!(out, "  groups              {}", list(&route.groups));
    out
}
