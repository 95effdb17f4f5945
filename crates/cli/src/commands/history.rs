//! `pressbot history`: an execution's timeline (or its raw events).

use super::Ctx;
use crate::output::{print_json, OutputArgs};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    pub workflow_id: String,
    #[arg(long)]
    pub run_id: Option<String>,
    /// Print the raw events as JSON lines instead.
    #[arg(long, conflicts_with = "output")]
    pub raw: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn run(ctx: &Ctx, a: Args) -> crate::Result<u8> {
    let backend = ctx.backend().await?;
    let execution =
        crate::ops::resolve_execution(backend, &a.workflow_id, a.run_id.as_deref()).await?;
    let events = backend.workflows.history(&execution).await?;
    let definitions = &ctx.loaded.definitions;
    if a.raw {
        for e in &events {
            let line = serde_json::to_string(e)
                .map_err(|e| crate::Error::Other(format!("an event as JSON: {e}")))?;
            println!("{line}");
        }
    } else if a.output.json() {
        print_json(&crate::history::to_json(definitions, &execution, &events));
    } else {
        print!(
            "{}",
            crate::history::render(definitions, &execution, &events)
        );
    }
    Ok(0)
}
