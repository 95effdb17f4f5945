//! `pressbot cron`: start due scheduled workflows and checks.

use super::Ctx;
use crate::output::{print_json, OutputArgs};
use pressbot_core::time::Timestamp;
use std::path::PathBuf;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Schedules file (default: cron.toml in the workflows directory).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Evaluate the schedules at this time (RFC 3339) instead of now.
    #[arg(long, value_parser = crate::cron::parse_now)]
    pub now: Option<Timestamp>,
    /// Where the checks remember their last run (default: $STATE_DIRECTORY or the data dir, cron-state.json).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Say what is due, start nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn run(ctx: &Ctx, a: Args) -> crate::Result<u8> {
    let backend = ctx.backend().await?;
    let outcomes = crate::cron::command(&ctx.loaded, backend, a.file, a.now, a.state, a.dry_run)
        .await
        .map_err(|e| crate::Error::Other(e.to_string()))?;
    if a.output.json() {
        print_json(&serde_json::Value::Array(
            outcomes.iter().map(crate::cron::Outcome::to_json).collect(),
        ));
    } else {
        for o in outcomes {
            println!("{}", o.render());
        }
    }
    Ok(0)
}
