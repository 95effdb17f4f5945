//! Putting things right after a fix: `pressbot retry` re-runs a failed
//! workflow with its original input, `pressbot redrive` moves dead-lettered
//! messages back to the queue they came from.

use crate::app::Loaded;
use pressbot_core::backend::{
    dead_letter_queue_name, Backend, CloseStatus, OutgoingMessage, StartOutcome,
};
use pressbot_core::history::EventKind;
use pressbot_core::ids::WorkflowId;
use pressbot_daemons::start::{start_once, Duplicates};
use std::time::Duration;

/// The attributes `dead_letter` adds, removed when a message goes back.
pub const DEAD_LETTER_ATTRIBUTES: [&str; 2] =
    ["pressbot-dead-letter-reason", "pressbot-source-queue"];

/// Re-run a closed execution that did not complete, with its original input.
///
/// The new execution gets the same workflow id (the service allows reusing
/// an id once its execution closed), so logs and `history` line up; the
/// starter's duplicate check is bypassed on purpose by starting directly.
/// `new_id` picks a fresh id instead (`<id>-retry-<n>`).
pub async fn retry(
    loaded: &Loaded,
    backend: &Backend,
    workflow_id: &str,
    new_id: bool,
) -> crate::Result<(WorkflowId, StartOutcome)> {
    let info = crate::ops::find_execution(backend, workflow_id).await?;
    match info.close_status {
        None => {
            return Err(crate::Error::Other(format!(
                "{workflow_id} is still open (run {}); let it finish, or terminate it first",
                info.execution.run_id
            )))
        }
        Some(CloseStatus::Completed) => {
            return Err(crate::Error::Other(format!(
            "{workflow_id} completed; to run it again anyway use `pressbot start` with its input"
        )))
        }
        Some(_) => {}
    }
    let events = backend.workflows.history(&info.execution).await?;
    let input = events.iter().find_map(|e| match &e.kind {
        EventKind::WorkflowExecutionStarted { input, .. } => Some(input.clone()),
        _ => None,
    });
    let Some(input) = input else {
        return Err(crate::Error::Other(format!(
            "{workflow_id}: the history has no WorkflowExecutionStarted event (expired from the service?)"
        )));
    };
    let def = loaded
        .definitions
        .get(&info.workflow_type.name)
        .ok_or_else(|| {
            crate::Error::Other(format!(
                "{workflow_id}: no definition for workflow {:?} any more",
                info.workflow_type.name
            ))
        })?;
    let id = if new_id {
        let mut n = 1;
        loop {
            let candidate = format!("{workflow_id}-retry-{n}");
            if crate::ops::find_execution(backend, &candidate)
                .await
                .is_err()
            {
                break WorkflowId(candidate);
            }
            n += 1;
        }
    } else {
        info.execution.workflow_id.clone()
    };
    // The starter's duplicate check is bypassed on purpose: the closed
    // execution is the one to run again.
    let request = def.start_request(
        id.clone(),
        input,
        vec![format!("retry-of:{}", info.execution.run_id)],
    );
    let outcome = start_once(backend, request, Duplicates::Open)
        .await?
        .outcome();
    tracing::info!(workflow_id = %id, previous_run = %info.execution.run_id, "retry started");
    Ok((id, outcome))
}

/// Resolve a queue argument: a queue role (`incoming`, `workflow_starter`,
/// `event_monitor`), a queue name, or a dead-letter queue's name.
/// Returns (source queue, its dead-letter queue).
pub fn resolve_queue(loaded: &Loaded, arg: &str) -> (String, String) {
    let s = &loaded.settings;
    let source = match arg {
        "incoming" => s.incoming_queue(),
        "workflow_starter" | "workflow-starter" | "starter" => s.starter_queue(),
        "event_monitor" | "event-monitor" => s.event_queue(),
        other => other.strip_suffix("-dlq").unwrap_or(other).to_owned(),
    };
    let dlq = dead_letter_queue_name(&source);
    (source, dlq)
}

/// Move every message of `queue`'s dead-letter queue back to the queue it
/// came from, without the dead-letter attributes. Each message is sent
/// before it is deleted, so a crash part-way duplicates at worst (the
/// consumers are idempotent) and never loses one. Returns how many moved.
pub async fn redrive(
    loaded: &Loaded,
    backend: &Backend,
    queue: &str,
    dry_run: bool,
) -> crate::Result<Vec<(String, String)>> {
    let (source, dlq) = resolve_queue(loaded, queue);
    let mut moved = Vec::new();
    if dry_run {
        let d = backend.queues.depth(&dlq).await?;
        moved.push((
            dlq.clone(),
            format!(
                "{} message(s) would move to {source}",
                d.visible + d.delayed
            ),
        ));
        return Ok(moved);
    }
    // Only what is there now: a message that fails again while we work
    // comes back to the dead-letter queue and must not be moved in a loop.
    let depth = backend.queues.depth(&dlq).await?;
    let limit = (depth.visible + depth.delayed) as usize;
    while moved.len() < limit {
        let want = (limit - moved.len()).min(10);
        let batch = backend
            .queues
            .receive(&dlq, want, Duration::from_secs(1), Duration::from_secs(60))
            .await?;
        if batch.is_empty() {
            break;
        }
        for m in batch {
            let target = m
                .attributes
                .get("pressbot-source-queue")
                .cloned()
                .unwrap_or_else(|| source.clone());
            let reason = m
                .attributes
                .get("pressbot-dead-letter-reason")
                .cloned()
                .unwrap_or_default();
            let mut out = OutgoingMessage::new(m.body.clone());
            out.attributes = m.attributes.clone();
            for a in DEAD_LETTER_ATTRIBUTES {
                out.attributes.remove(a);
            }
            backend.queues.send(&target, out).await?;
            backend.queues.delete(&dlq, &m.receipt).await?;
            tracing::info!(dead_letter_queue = %dlq, queue = %target, message_id = %m.id, reason = %reason, "message redriven");
            moved.push((m.id, target));
        }
    }
    Ok(moved)
}
