//! `pressbot redrive`: move dead-lettered messages back to their queue.

use super::Ctx;
use crate::output::{print_json, OutputArgs};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Queue role (incoming, workflow_starter, event_monitor), queue name, or its -dlq name.
    pub queue: String,
    /// Only count the messages that would move.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn run(ctx: &Ctx, a: Args) -> crate::Result<u8> {
    let loaded = &ctx.loaded;
    let backend = ctx.backend().await?;
    if a.output.json() {
        let (queue, dead_letter_queue) = crate::repair::resolve_queue(loaded, &a.queue);
        let v = if a.dry_run {
            let d = backend.queues.depth(&dead_letter_queue).await?;
            serde_json::json!({
                "queue": queue,
                "dead_letter_queue": dead_letter_queue,
                "dry_run": true,
                "count": d.visible + d.delayed,
                "moved": [],
            })
        } else {
            let moved = crate::repair::redrive(loaded, backend, &a.queue, false).await?;
            serde_json::json!({
                "queue": queue,
                "dead_letter_queue": dead_letter_queue,
                "dry_run": false,
                "count": moved.len(),
                "moved": moved.iter().map(|(id, target)| serde_json::json!({
                    "message_id": id, "queue": target,
                })).collect::<Vec<_>>(),
            })
        };
        print_json(&v);
        return Ok(0);
    }
    let moved = crate::repair::redrive(loaded, backend, &a.queue, a.dry_run).await?;
    if a.dry_run {
        for (q, what) in moved {
            println!("{q}: {what}");
        }
    } else {
        for (id, target) in &moved {
            println!("moved {id} -> {target}");
        }
        println!("{} message(s) redriven", moved.len());
    }
    Ok(0)
}
