//! `workflow-starter`: the workflow-starter role of pressbot as its own process (one systemd unit).

use clap::Parser;
use pressbot_daemons::app::CommonArgs;
use pressbot_daemons::run::{main_for, workflow_starter, Role};

/// pressbot workflow-starter: runs until SIGTERM/SIGINT, then stops gracefully.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    main_for(Role::WorkflowStarter, args.common, |l, b, s| {
        workflow_starter(l, b).run(s)
    })?;
    Ok(())
}
