//! The `deskbridge` binary: parses the command line and hands over to [`deskbridge::cli`].

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = deskbridge::cli::Cli::parse();
    deskbridge::cli::run(cli)
}
