//! `decider`: the decider role of pressbot as its own process (one systemd unit).

use clap::Parser;
use pressbot_daemons::app::CommonArgs;
use pressbot_daemons::run::{decider, main_for, Role};

/// pressbot decider: runs until SIGTERM/SIGINT, then stops gracefully.
#[derive(Debug, Parser)]
#[command(name = "decider", version = pressbot_daemons::VERSION, about)]
struct Args {
    #[command(flatten)]
    common: CommonArgs,
}

/// Exits 78 (EX_CONFIG) when settings or workflows do not load, 1 on other errors.
fn main() -> std::process::ExitCode {
    let args = Args::parse();
    pressbot_daemons::error::exit(main_for(Role::Decider, args.common, |l, b, s| {
        decider(l, b).run(s)
    }))
}
