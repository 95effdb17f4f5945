//! `activity-worker`: the activity-worker role of pressbot as its own process (one systemd unit).

use clap::Parser;
use pressbot_daemons::app::CommonArgs;
use pressbot_daemons::run::{activity_worker, main_for, Role};

/// pressbot activity-worker: runs until SIGTERM/SIGINT, then stops gracefully.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    main_for(Role::ActivityWorker, args.common, |l, b, s| {
        activity_worker(l, b).run(s)
    })?;
    Ok(())
}
