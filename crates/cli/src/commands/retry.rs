//! `pressbot retry`: re-run a failed or timed-out workflow.

use super::Ctx;
use pressbot_core::backend::StartOutcome;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    pub workflow_id: String,
    /// Start under a new workflow id (`<id>-retry-<n>`) instead of reusing the closed one.
    #[arg(long)]
    pub new_id: bool,
}

pub async fn run(ctx: &Ctx, a: Args) -> crate::Result<u8> {
    let backend = ctx.backend().await?;
    match crate::repair::retry(&ctx.loaded, backend, &a.workflow_id, a.new_id).await? {
        (id, StartOutcome::Started { run_id }) => println!("restarted {id} (run {run_id})"),
        (id, StartOutcome::AlreadyRunning) => println!("{id} is already running"),
    }
    Ok(0)
}
