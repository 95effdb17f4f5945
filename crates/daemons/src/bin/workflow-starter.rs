//! `workflow-starter`: the workflow-starter role of pressbot as its own process (one systemd unit).

use clap::Parser;
use pressbot_daemons::app::CommonArgs;
use pressbot_daemons::run::{main_for, workflow_starter, Role};

/// pressbot workflow-starter: runs until SIGTERM/SIGINT, then stops gracefully.
#[derive(Debug, Parser)]
#[command(name = "workflow-starter", version = pressbot_daemons::VERSION, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

/// Exits 78 (EX_CONFIG) when settings or workflows do not load, 1 on other errors.
fn main() -> std::process::ExitCode {
    let args = Args::parse();
    pressbot_daemons::error::exit(main_for(Role::WorkflowStarter, args.common, |l, b, s| {
        workflow_starter(l, b).run(s)
    }))
}
