//! `queue-worker`: the queue-worker role of pressbot as its own process (one systemd unit).

use clap::Parser;
use pressbot_daemons::app::CommonArgs;
use pressbot_daemons::run::{main_for, queue_worker, Role};

/// pressbot queue-worker: runs until SIGTERM/SIGINT, then stops gracefully.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    main_for(Role::QueueWorker, args.common, |l, b, s| {
        queue_worker(l, b).run(s)
    })?;
    Ok(())
}
