//! `pressbot start`: start a workflow by name.

use super::Ctx;
use pressbot_core::backend::StartOutcome;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    pub name: String,
    /// Workflow input, a JSON object.
    #[arg(long, default_value = "{}")]
    pub input: String,
    /// Workflow id (default: the name and a random UUID).
    #[arg(long)]
    pub id: Option<String>,
}

pub async fn run(ctx: &Ctx, a: Args) -> crate::Result<u8> {
    let input: serde_json::Value = serde_json::from_str(&a.input)
        .map_err(|e| crate::Error::Other(format!("--input is not JSON: {e}")))?;
    let backend = ctx.backend().await?;
    let (id, outcome) =
        crate::ops::start(backend, &ctx.loaded.definitions, &a.name, input, a.id).await?;
    match outcome {
        StartOutcome::Started { run_id } => println!("started {id} (run {run_id})"),
        StartOutcome::AlreadyRunning => println!("{id} is already running"),
    }
    Ok(0)
}
