//! Dashboard messages: the event (start / end / error) the activity-worker
//! emits around every activity, and properties (e.g. `publication-status`)
//! that activities set, sent to the event-monitor queue in the format the
//! existing dashboard reads (see `pressbot_core::messages::DashboardMessage`).
//!
//! The dashboard is for people watching, not part of publishing: a failure
//! to send is logged and never fails the activity, and a slow queue cannot
//! hold an activity for long.

use crate::{ActivityContext, Env};
use pressbot_core::backend::OutgoingMessage;
use pressbot_core::messages::{DashboardMessage, EventStatus};
use pressbot_core::time::Timestamp;
use serde_json::Value;
use std::time::Duration;

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

/// Send a dashboard message to the event-monitor queue. Returns whether it
/// was sent; failures are logged, never raised.
pub async fn send(env: &Env, message: &DashboardMessage) -> bool {
    let queue = env.settings.event_queue();
    let body = match serde_json::to_string(message) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(%queue, error = %e, "dashboard message not serialisable; dropped");
            return false;
        }
    };
    let sent = tokio::time::timeout(
        SEND_TIMEOUT,
        env.backend.queues.send(&queue, OutgoingMessage::new(body)),
    )
    .await;
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
