//! Dashboard messages: the event (start / end / error) the activity-worker
//! emits around every activity, and properties (e.g. `publication-status`)
//! that activities set, sent to the event-monitor queue in the format the
//! existing dashboard reads (see `pressbot_core::messages::DashboardMessage`).
//!
//! The dashboard is for people watching, not part of publishing: a failure
//! to send is logged and never fails the activity, and a slow queue cannot
//! hold an activity for long. The start/end events around every activity
//! go through an [`EventSender`]: off the activity's path and several per
//! request, since they were half of the activity-worker's requests.

use crate::{ActivityContext, Env};
use pressbot_core::backend::{OutgoingMessage, SEND_BATCH_MAX};
use pressbot_core::messages::{DashboardMessage, EventStatus};
use pressbot_core::time::Timestamp;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Longest a dashboard send may take before it is given up (and logged).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest message text sent; failure details can be long and SQS bodies are bounded.
const MAX_MESSAGE_CHARS: usize = 4000;

/// The article a context is about: `article_id` once VersionLookup set it,
/// else the workflow id (so early failures still show up somewhere).
pub fn item_identifier(ctx: &ActivityContext) -> String {
    match ctx.input.context.get("article_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => ctx.execution.workflow_id.as_str().to_owned(),
    }
}

/// The version as the dashboard shows it (empty before VersionLookup).
pub fn item_version(ctx: &ActivityContext) -> String {
    match ctx.input.context.get("version") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The run: the context's `run` if set, else this execution's run id.
pub fn item_run(ctx: &ActivityContext) -> String {
    ctx.input
        .context
        .get("run")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| ctx.execution.run_id.as_str().to_owned())
}

fn clip(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_owned(),
    }
}

/// The event message for one activity attempt; `event_type` is the step
/// (the activity's name unless the workflow gave the step its own id).
pub fn event_message(
    ctx: &ActivityContext,
    status: EventStatus,
    message: &str,
) -> DashboardMessage {
    DashboardMessage::Event {
        item_identifier: item_identifier(ctx),
        version: item_version(ctx),
        run: item_run(ctx),
        event_type: ctx.input.step.clone(),
        timestamp: Timestamp::now().to_string(),
        status,
        message: clip(message),
        message_id: uuid::Uuid::new_v4().to_string(),
    }
}

/// A property message about the context's article version.
pub fn property_message(
    ctx: &ActivityContext,
    name: &str,
    value: &str,
    property_type: &str,
) -> DashboardMessage {
    DashboardMessage::Property {
        item_identifier: item_identifier(ctx),
        version: item_version(ctx),
        name: name.to_owned(),
        value: value.to_owned(),
        property_type: property_type.to_owned(),
        message_id: uuid::Uuid::new_v4().to_string(),
    }
}

/// The queue message of a dashboard message, or `None` (logged) if it
/// cannot be serialised.
fn outgoing(queue: &str, message: &DashboardMessage) -> Option<OutgoingMessage> {
    match serde_json::to_string(message) {
        Ok(body) => Some(OutgoingMessage::new(body)),
        Err(e) => {
            tracing::warn!(%queue, error = %e, "dashboard message not serialisable; dropped");
            None
        }
    }
}

/// Send a dashboard message to the event-monitor queue. Returns whether it
/// was sent; failures are logged, never raised.
pub async fn send(env: &Env, message: &DashboardMessage) -> bool {
    let queue = env.settings.event_queue();
    let Some(outgoing) = outgoing(&queue, message) else {
        return false;
    };
    let sent = tokio::time::timeout(SEND_TIMEOUT, env.backend.queues.send(&queue, outgoing)).await;
    match sent {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::warn!(%queue, error = %e, "dashboard message not sent");
            false
        }
        Err(_) => {
            tracing::warn!(%queue, timeout_s = SEND_TIMEOUT.as_secs(), "dashboard message not sent: queue too slow");
            false
        }
    }
}

/// Emit the start / end / error event of an activity attempt. The
/// activity-worker calls this around every activity; it never fails.
pub async fn emit_event(env: &Env, ctx: &ActivityContext, status: EventStatus, message: &str) {
    let m = event_message(ctx, status, message);
    if !send(env, &m).await {
        tracing::debug!(
            workflow_id = %ctx.execution.workflow_id,
            run_id = %ctx.execution.run_id,
            activity = %ctx.input.step,
            "dashboard event dropped"
        );
    }
}

/// Set a property of the context's article version (e.g.
/// `publication-status` = `ready to publish`); never fails.
pub async fn emit_property(
    env: &Env,
    ctx: &ActivityContext,
    name: &str,
    value: &str,
    property_type: &str,
) {
    let m = property_message(ctx, name, value, property_type);
    if !send(env, &m).await {
        tracing::debug!(
            workflow_id = %ctx.execution.workflow_id,
            run_id = %ctx.execution.run_id,
            property = name,
            "dashboard property dropped"
        );
    }
}

/// How long an event waits for others to share its request. Under load a
/// batch fills ([`SEND_BATCH_MAX`]) long before; when quiet, the dashboard
/// shows an event this much later, which nobody watching can tell.
pub const EVENT_LINGER: Duration = Duration::from_millis(500);

/// Events queued in memory before new ones are dropped (and counted): a
/// dashboard queue that is down must not grow the worker's memory.
const EVENT_BACKLOG: usize = 1000;

/// Sends activity events to the event-monitor queue in the background, up
/// to [`SEND_BATCH_MAX`] per request. [`EventSender::emit`] never waits.
///
/// Dropping every clone closes it: what is queued is sent, then the task
/// returned by [`EventSender::start`] ends (the worker awaits it, bounded,
/// when it stops). Events still queued when the process is killed are lost,
/// like any dashboard message whose send fails.
#[derive(Debug, Clone)]
pub struct EventSender {
    tx: mpsc::Sender<DashboardMessage>,
}

impl EventSender {
    /// Start the sending task on the current runtime.
    pub fn start(env: Arc<Env>) -> (EventSender, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(EVENT_BACKLOG);
        let task = tokio::spawn(batch_loop(env, rx));
        (EventSender { tx }, task)
    }

    /// Queue the start / end / error event of an activity attempt.
    pub fn emit(&self, ctx: &ActivityContext, status: EventStatus, message: &str) {
        if self
            .tx
            .try_send(event_message(ctx, status, message))
            .is_err()
        {
            metrics::counter!("pressbot_dashboard_events_dropped_total").increment(1);
            tracing::warn!(
                workflow_id = %ctx.execution.workflow_id,
                run_id = %ctx.execution.run_id,
                activity = %ctx.input.step,
                backlog = EVENT_BACKLOG,
                "dashboard event dropped: the event-monitor queue is not keeping up"
            );
        }
    }
}

/// Collect events until a batch is full or the first has waited
/// [`EVENT_LINGER`], send them, repeat until every sender is gone.
async fn batch_loop(env: Arc<Env>, mut rx: mpsc::Receiver<DashboardMessage>) {
    let queue = env.settings.event_queue();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let linger = tokio::time::sleep(EVENT_LINGER);
        tokio::pin!(linger);
        while batch.len() < SEND_BATCH_MAX {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(m) => batch.push(m),
                    None => break,
                },
                () = &mut linger => break,
            }
        }
        send_batch(&env, &queue, &batch).await;
    }
}

/// Send one batch; failures are logged and counted, never raised.
async fn send_batch(env: &Env, queue: &str, batch: &[DashboardMessage]) {
    let messages: Vec<OutgoingMessage> = batch.iter().filter_map(|m| outgoing(queue, m)).collect();
    let count = messages.len();
    let sent =
        tokio::time::timeout(SEND_TIMEOUT, env.backend.queues.send_batch(queue, messages)).await;
    let failed = match sent {
        Ok(Ok(outcomes)) => {
            let failed: Vec<_> = outcomes.into_iter().filter_map(Result::err).collect();
            if let Some(e) = failed.first() {
                tracing::warn!(%queue, failed = failed.len(), of = count, error = %e, "dashboard events not sent");
            }
            failed.len()
        }
        Ok(Err(e)) => {
            tracing::warn!(%queue, events = count, error = %e, "dashboard events not sent");
            count
        }
        Err(_) => {
            tracing::warn!(%queue, events = count, timeout_s = SEND_TIMEOUT.as_secs(), "dashboard events not sent: queue too slow");
            count
        }
    };
    if failed > 0 {
        metrics::counter!("pressbot_dashboard_events_dropped_total").increment(failed as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_clipped_on_a_char_boundary() {
        let m = "é".repeat(MAX_MESSAGE_CHARS + 10);
        let c = clip(&m);
        assert_eq!(c.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert_eq!(clip("short"), "short");
    }
}
