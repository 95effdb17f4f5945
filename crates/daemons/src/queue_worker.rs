//! The queue worker: S3 event notifications from the incoming queue become
//! workflow starter messages, by the new-file rules.
//!
//! A message is deleted only after everything it asked for was sent; while
//! it is being handled its visibility is extended; a malformed message is
//! moved to the dead-letter queue with its reason (never deleted).

use crate::backoff::{sleep_or_shutdown, ErrorBackoff};
use pressbot_core::backend::{dead_letter_queue_name, Backend, OutgoingMessage, ReceivedMessage};
use pressbot_core::messages::{parse_s3_notification, S3Notification, StarterMessage};
use pressbot_core::rules::NewFileRules;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Debug)]
pub struct QueueWorker {
    pub backend: Backend,
    pub rules: Arc<NewFileRules>,
    pub incoming_queue: String,
    pub starter_queue: String,
    pub wait: Duration,
    pub visibility: Duration,
}

impl QueueWorker {
    pub async fn run(self, shutdown: CancellationToken) -> crate::Result<()> {
        let mut backoff = ErrorBackoff::default();
        tracing::info!(queue = %self.incoming_queue, "queue worker polling");
        let _alive = crate::metrics::loop_alive("queue-worker");
        while !shutdown.is_cancelled() {
            let _poll = crate::metrics::polling("queue-worker");
            let batch = self
                .backend
                .queues
                .receive(&self.incoming_queue, 10, self.wait, self.visibility)
                .await;
            match batch {
                Ok(messages) => {
                    backoff.reset();
                    metrics::counter!("pressbot_queue_messages_received_total", "queue" => self.incoming_queue.clone()).increment(messages.len() as u64);
                    for m in messages {
                        let span = tracing::info_span!("message", queue = %self.incoming_queue, message_id = %m.id, receive_count = m.receive_count);
                        self.handle(m).instrument(span).await;
                    }
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    crate::metrics::poll_error("queue-worker");
                    tracing::warn!(error = %e, retry_in = ?wait, "receive failed");
                    if !sleep_or_shutdown(wait, &shutdown).await {
                        break;
                    }
                }
            }
        }
        tracing::info!("queue worker stopped");
        Ok(())
    }

    async fn handle(&self, m: ReceivedMessage) {
        let keep_visible = extend_visibility(
            self.backend.clone(),
            self.incoming_queue.clone(),
            m.receipt.clone(),
            self.visibility,
        );
        let outcome = self.process(&m).await;
        keep_visible.cancel();
        match outcome {
            Ok(()) => delete(&self.backend, &self.incoming_queue, &m).await,
            Err(Handling::Malformed(reason)) => {
                dead_letter(&self.backend, &self.incoming_queue, &m, &reason).await
            }
            Err(Handling::Transient(reason)) => {
                tracing::warn!(reason = %reason, "could not handle message; it will be redelivered")
            }
        }
    }

    async fn process(&self, m: &ReceivedMessage) -> Result<(), Handling> {
        let records = match parse_s3_notification(&m.body) {
            Ok(S3Notification::TestEvent) => {
                tracing::info!("s3:TestEvent acknowledged");
                return Ok(());
            }
            Ok(S3Notification::Records(r)) => r,
            Err(e) => return Err(Handling::Malformed(e.to_string())),
        };
        for r in &records {
            let Some(workflow) = self.rules.workflow_for(&r.bucket, &r.key) else {
                tracing::info!(bucket = %r.bucket, key = %r.key, "no new-file rule matches: ignored");
                continue;
            };
            let starter = StarterMessage::for_s3_record(workflow, r);
            self.backend
                .queues
                .send(&self.starter_queue, OutgoingMessage::new(starter.to_json()))
                .await
                .map_err(|e| Handling::Transient(format!("sending starter message: {e}")))?;
            tracing::info!(bucket = %r.bucket, key = %r.key, workflow, "starter message sent");
        }
        Ok(())
    }
}

/// Why a message was not handled.
#[derive(Debug)]
pub enum Handling {
    /// The message itself is bad: dead-letter it.
    Malformed(String),
    /// A service failed: leave it for redelivery.
    Transient(String),
}

/// Extend a message's visibility every half timeout until cancelled.
pub fn extend_visibility(
    backend: Backend,
    queue: String,
    receipt: String,
    visibility: Duration,
) -> CancellationToken {
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = s.cancelled() => return,
                _ = tokio::time::sleep(visibility / 2) => {}
            }
            if let Err(e) = backend
                .queues
                .change_visibility(&queue, &receipt, visibility)
                .await
            {
                tracing::warn!(error = %e, "could not extend message visibility");
            }
        }
    });
    stop
}

pub async fn delete(backend: &Backend, queue: &str, m: &ReceivedMessage) {
    metrics::counter!("pressbot_queue_messages_deleted_total", "queue" => queue.to_owned())
        .increment(1);
    if let Err(e) = backend.queues.delete(queue, &m.receipt).await {
        tracing::warn!(error = %e, "could not delete handled message; it may be handled again (harmless: starts are idempotent)");
    }
}

/// Move a message to the queue's dead-letter queue with its reason as an
/// attribute, then delete it. The body is kept unchanged so that
/// `pressbot redrive` can put it back after a fix.
pub async fn dead_letter(backend: &Backend, queue: &str, m: &ReceivedMessage, reason: &str) {
    let dlq = dead_letter_queue_name(queue);
    let mut out = OutgoingMessage::new(m.body.clone());
    out.attributes = m.attributes.clone();
    out.attributes.insert(
        "pressbot-dead-letter-reason".into(),
        reason.chars().take(1024).collect(),
    );
    out.attributes
        .insert("pressbot-source-queue".into(), queue.to_owned());
    match backend.queues.send(&dlq, out).await {
        Ok(_) => {
            metrics::counter!("pressbot_queue_messages_dead_lettered_total", "queue" => queue.to_owned()).increment(1);
            tracing::error!(dead_letter_queue = %dlq, reason, "malformed message moved to the dead-letter queue");
            delete(backend, queue, m).await;
        }
        Err(e) => {
            tracing::error!(error = %e, reason, "could not dead-letter a malformed message; leaving it for redelivery")
        }
    }
}
