//! `decider`: the decider role of pressbot as its own process (one systemd unit).

use clap::Parser;
use pressbot_daemons::app::CommonArgs;
use pressbot_daemons::run::{decider, main_for, Role};

/// pressbot decider: runs until SIGTERM/SIGINT, then stops gracefully.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    main_for(Role::Decider, args.common, |l, b, s| decider(l, b).run(s))?;
    Ok(())
}
