//! The queue worker: S3 event notifications from the incoming queue become
//! workflow starter messages, by the new-file rules.
//!
//! A message is deleted only after everything it asked for was sent; every
//! message of a received batch stays invisible until it is handled or
//! handed back ([`BatchVisibility`]); a malformed message is moved to the
//! dead-letter queue with its reason (never deleted).

use crate::backoff::{sleep_or_shutdown, ErrorBackoff};
use pressbot_core::backend::{dead_letter_queue_name, Backend, OutgoingMessage, ReceivedMessage};
use pressbot_core::messages::{parse_s3_notification, S3Notification, StarterMessage};
use pressbot_core::rules::NewFileRules;
use std::collections::BTreeMap;
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
                    let hold = BatchVisibility::hold(
                        self.backend.clone(),
                        self.incoming_queue.clone(),
                        &messages,
                        self.visibility,
                        shutdown.clone(),
                    );
                    for m in messages {
                        if !hold.begin(&m.receipt).await {
                            continue;
                        }
                        let span = tracing::info_span!("message", queue = %self.incoming_queue, message_id = %m.id, receive_count = m.receive_count);
                        self.handle(&hold, m).instrument(span).await;
                    }
                    hold.release().await;
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

    async fn handle(&self, hold: &BatchVisibility, m: ReceivedMessage) {
        let outcome = self.process(&m).await;
        hold.finish(&m.receipt).await;
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

/// Where a message of a held batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Held {
    /// Received, not yet handled: extended, handed back at shutdown.
    Waiting,
    /// Being handled: extended until finished, even during shutdown.
    Started,
}

/// Keeps every message of a received batch invisible until it is handled
/// or handed back.
///
/// A batch holds up to ten messages that are handled one after the other;
/// each was received with the same visibility timeout, so extending only
/// the one being handled let the rest reappear while they waited their
/// turn, and another worker (or this one's next receive) handled them a
/// second time. One task per batch extends every receipt not yet finished
/// each half visibility timeout, so none expires however long the batch
/// takes. On shutdown the messages not yet started are handed back at once
/// (visibility 0), so another worker takes them without waiting out the
/// timeout, while the one being handled stays extended until it finishes.
///
/// The receipt set is a `tokio` mutex held during an extension pass, so
/// [`finish`](Self::finish) waits for a pass in progress and no receipt is
/// extended after it was deleted (which SQS would refuse as an invalid
/// receipt handle).
#[derive(Debug)]
pub struct BatchVisibility {
    held: Arc<tokio::sync::Mutex<BTreeMap<String, Held>>>,
    backend: Backend,
    queue: String,
    stop: CancellationToken,
    extender: tokio::task::JoinHandle<()>,
}

impl BatchVisibility {
    /// Start holding the batch `messages`, received with `visibility`.
    pub fn hold(
        backend: Backend,
        queue: String,
        messages: &[ReceivedMessage],
        visibility: Duration,
        shutdown: CancellationToken,
    ) -> Self {
        let held: BTreeMap<String, Held> = messages
            .iter()
            .map(|m| (m.receipt.clone(), Held::Waiting))
            .collect();
        let held = Arc::new(tokio::sync::Mutex::new(held));
        let stop = CancellationToken::new();
        let extender = tokio::spawn(extend_batch(
            backend.clone(),
            queue.clone(),
            held.clone(),
            visibility,
            stop.clone(),
            shutdown,
        ));
        BatchVisibility {
            held,
            backend,
            queue,
            stop,
            extender,
        }
    }

    /// Mark a message as being handled. False when it is no longer held (it
    /// was handed back at shutdown): then it must not be handled.
    pub async fn begin(&self, receipt: &str) -> bool {
        match self.held.lock().await.get_mut(receipt) {
            Some(state) => {
                *state = Held::Started;
                true
            }
            None => false,
        }
    }

    /// Stop extending a message: it was handled (and is about to be deleted
    /// or dead-lettered), or is left for redelivery when its current
    /// visibility runs out.
    pub async fn finish(&self, receipt: &str) {
        self.held.lock().await.remove(receipt);
    }

    /// End the hold: stop the extender and hand back (visibility 0) every
    /// message still held, so it is redelivered at once.
    pub async fn release(self) {
        self.stop.cancel();
        // The extender returns at its next await point; it never panics,
        // and a join error would only mean it was aborted.
        let _ = self.extender.await;
        let rest: Vec<String> = std::mem::take(&mut *self.held.lock().await)
            .into_keys()
            .collect();
        hand_back(&self.backend, &self.queue, &rest).await;
    }
}

/// The extender of one batch: see [`BatchVisibility`].
async fn extend_batch(
    backend: Backend,
    queue: String,
    held: Arc<tokio::sync::Mutex<BTreeMap<String, Held>>>,
    visibility: Duration,
    stop: CancellationToken,
    shutdown: CancellationToken,
) {
    let every = (visibility / 2).max(Duration::from_millis(50));
    let mut shutdown_seen = false;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = shutdown.cancelled(), if !shutdown_seen => {
                shutdown_seen = true;
                let mut held = held.lock().await;
                let waiting: Vec<String> = held
                    .iter()
                    .filter(|(_, s)| **s == Held::Waiting)
                    .map(|(r, _)| r.clone())
                    .collect();
                for r in &waiting {
                    held.remove(r);
                }
                hand_back(&backend, &queue, &waiting).await;
                continue;
            }
            _ = tokio::time::sleep(every) => {}
        }
        let held = held.lock().await;
        for receipt in held.keys() {
            if let Err(e) = backend
                .queues
                .change_visibility(&queue, receipt, visibility)
                .await
            {
                tracing::warn!(error = %e, queue, "could not extend message visibility");
            }
        }
    }
}

/// Make messages visible again at once (visibility 0).
async fn hand_back(backend: &Backend, queue: &str, receipts: &[String]) {
    for receipt in receipts {
        match backend
            .queues
            .change_visibility(queue, receipt, Duration::ZERO)
            .await
        {
            Ok(()) => {
                metrics::counter!("pressbot_queue_messages_handed_back_total", "queue" => queue.to_owned()).increment(1)
            }
            Err(e) => {
                tracing::warn!(error = %e, queue, "could not hand a message back; it shows again when its visibility runs out")
            }
        }
    }
    if !receipts.is_empty() {
        tracing::info!(
            queue,
            handed_back = receipts.len(),
            "unstarted messages handed back"
        );
    }
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
