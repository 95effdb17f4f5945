//! `pressbot`: the operator's command line. The commands and their
//! dispatch are in `pressbot_cli::commands`; this is the process edge:
//! parse, load settings, run, and turn an error into an exit status.

use anyhow::Context;
use clap::Parser;
use pressbot_cli::commands::{Cli, Command};
use pressbot_daemons::app::Loaded;

fn main() -> std::process::ExitCode {
    // Parsing has no side effects; errors and --help exit here.
    let cli = Cli::parse();
    // `pressbot up` resizes figures: a fixed mmap threshold keeps their
    // freed buffers from staying resident (see pressbot_daemons::memory).
    // Before the runtime starts, as it may replace this process (which
    // then parses the same arguments again).
    if matches!(cli.command, Command::Up(_)) {
        pressbot_daemons::memory::fixed_mmap_threshold();
    }
    match run(cli) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::from(pressbot_daemons::error::exit_code(e.chain()))
        }
    }
}

#[tokio::main]
async fn run(cli: Cli) -> anyhow::Result<u8> {
    pressbot_daemons::faults::gate()?;
    if let Some(code) = cli.run_without_settings()? {
        return Ok(code);
    }
    let loaded = Loaded::load(&cli.common).context("loading settings and workflows")?;
    Ok(cli.run(loaded).await?)
}
