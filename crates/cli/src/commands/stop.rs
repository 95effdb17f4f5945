//! `pressbot terminate` and `pressbot cancel`: stop open executions.

use super::Ctx;

/// Which open executions `terminate` / `cancel` act on, and why.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Workflow ids whose open run to stop.
    #[arg(required_unless_present = "all_open")]
    pub workflow_ids: Vec<String>,
    /// Every open execution (narrow it with --workflow-type).
    #[arg(long)]
    pub all_open: bool,
    /// With --all-open: only executions of this workflow (name).
    #[arg(long, requires = "all_open")]
    pub workflow_type: Option<String>,
    /// Why: recorded in the history (terminate; a cancel request carries
    /// none) and in the logs. Required: whoever looks later should not guess.
    #[arg(long)]
    pub reason: String,
    /// Act even when the selection matches more than one execution.
    #[arg(long)]
    pub yes: bool,
}

/// `pressbot terminate` / `pressbot cancel`. More than one matching
/// execution without `--yes` is refused, listing them: a selector such as
/// `--all-open` can match far more than the operator expects.
pub async fn run(ctx: &Ctx, a: Args, how: crate::ops::Stop) -> crate::Result<u8> {
    let backend = ctx.backend().await?;
    let selected = crate::ops::select_open(
        backend,
        &a.workflow_ids,
        a.all_open,
        a.workflow_type.as_deref(),
    )
    .await?;
    let verb = match how {
        crate::ops::Stop::Terminate => "terminate",
        crate::ops::Stop::Cancel => "cancel",
    };
    if selected.is_empty() {
        println!("no open execution matches: nothing to {verb}");
        return Ok(0);
    }
    let list = || {
        selected
            .iter()
            .map(|e| {
                format!(
                    "  {} (run {}, {})",
                    e.execution.workflow_id, e.execution.run_id, e.workflow_type.name
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    if selected.len() > 1 && !a.yes {
        return Err(crate::Error::Other(format!(
            "{} open executions match; pass --yes to {verb} them all:\n{}",
            selected.len(),
            list()
        )));
    }
    crate::ops::stop(backend, &selected, how, &a.reason).await?;
    for e in &selected {
        let done = match how {
            crate::ops::Stop::Terminate => "terminated",
            crate::ops::Stop::Cancel => "cancel requested for",
        };
        println!(
            "{done} {} (run {})",
            e.execution.workflow_id, e.execution.run_id
        );
    }
    Ok(0)
}
