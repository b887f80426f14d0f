//! The command line: subcommands, logging set-up and the runtime.

mod console;
mod lab;
mod report;
mod route;
mod runbook;
pub mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Bridge ServiceNow helpdesk queues to Citrix Virtual Apps and Desktops sites.
#[derive(Debug, Parser)]
#[command(name = "deskbridge", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run simulated ServiceNow instances and CVAD sites on loopback.
    Lab(lab::LabArgs),
    /// Run the adapter: the HTTP API between the console, ServiceNow and CVAD sites.
    Serve(serve::ServeArgs),
    /// Open the helpdesk console on an adapter (the embedded lab when no adapter is set).
    Console(console::ConsoleArgs),
    /// Print the console's resolved config, theme, keymap, log and data paths.
    Info(console::ConsoleArgs),
    /// Routing rules: `route explain USER` shows which rule sends a user where, and why.
    Route(route::RouteArgs),
    /// Print a report (resources, tickets, jobs) as a table, CSV or JSON.
    Report(report::ReportArgs),
    /// Runbooks: `runbook check` validates the runbooks folder and prints every problem.
    Runbook(runbook::RunbookArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    // The console logs to a file: the terminal is the UI's.
    if matches!(
        cli.command,
        Some(Command::Lab(_) | Command::Serve(_) | Command::Info(_))
    ) {
        init_logging();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("deskbridge: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Some(Command::Lab(args)) => runtime.block_on(lab::run(args)),
        Some(Command::Serve(args)) => runtime.block_on(serve::run(args)),
        Some(Command::Console(args)) => runtime.block_on(console::console(args)),
        Some(Command::Info(args)) => console::info(&args),
        Some(Command::Report(args)) => runtime.block_on(report::run(args)),
        Some(Command::Route(args)) => runtime.block_on(route::run(args)),
        Some(Command::Runbook(args)) => runbook::run(args),
        // The embedded default: a live lab, the adapter in front of it and the console on it.
        None => runtime.block_on(console::console(console::ConsoleArgs::default())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("deskbridge: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr so that stdout stays clean for `--json` output. `DESKBRIDGE_LOG` takes an
/// env-filter directive such as `debug` or `deskbridge::cvad=trace`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DESKBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
