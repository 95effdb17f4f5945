//! The one queue loop of the queue worker and the workflow starter (the
//! two daemons that read SQS): a [`Handler`] says what a message is worth
//! ([`Disposition`]); the loop does the rest the same way for both.
//!
//! - It receives a batch of up to ten messages at a time; on shutdown it
//!   starts no new receive, and a batch in progress finishes the message
//!   being handled.
//! - A failed receive backs off with jitter ([`ErrorBackoff`]); a successful
//!   one resets the backoff.
//! - Every message of a received batch stays invisible until it is handled
//!   or handed back ([`BatchVisibility`]).
//! - A message is deleted only after its handler is [`Disposition::Done`];
//!   a malformed one is moved to the dead-letter queue with its reason
//!   (never deleted unread); one that failed for a passing reason is left
//!   for redelivery (and, after `max_receives`, for the dead-letter queue).

use crate::backoff::{sleep_or_shutdown, ErrorBackoff};
use pressbot_core::backend::{dead_letter_queue_name, Backend, OutgoingMessage, ReceivedMessage};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// What becomes of a handled message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Everything it asked for was done: delete it.
    Done,
    /// A service failed: leave it for redelivery when its visibility runs out.
    Retry { reason: String },
    /// The message itself is bad: move it to the dead-letter queue.
    DeadLetter { reason: String },
}

/// What a queue daemon does with one message.
pub trait Handler: Send + Sync {
    /// The role, for the metrics' `role` label (`queue-worker`,
    /// `workflow-starter`).
    const ROLE: &'static str;
    /// The role in the logs' words (`queue worker`).
    const NAME: &'static str;

    /// Handle one message; the loop disposes of it as the answer says.
    fn handle(&self, message: &ReceivedMessage) -> impl Future<Output = Disposition> + Send;
}

/// Where and how a queue daemon reads.
#[derive(Debug, Clone)]
pub struct QueueLoop {
    pub backend: Backend,
    pub queue: String,
    /// Long-poll wait of one receive.
    pub wait: Duration,
    /// Visibility timeout of received messages (extended while held).
    pub visibility: Duration,
}

/// Messages received at most at once (the SQS maximum).
pub const BATCH: usize = 10;

impl QueueLoop {
    /// Receive and handle messages until `shutdown`.
    pub async fn run<H: Handler>(
        self,
        handler: &H,
        shutdown: CancellationToken,
    ) -> crate::Result<()> {
        let mut backoff = ErrorBackoff::default();
        tracing::info!(queue = %self.queue, "{} polling", H::NAME);
        let _alive = crate::metrics::loop_alive(H::ROLE);
        while !shutdown.is_cancelled() {
            let _poll = crate::metrics::polling(H::ROLE);
            let batch = self
                .backend
                .queues
                .receive(&self.queue, BATCH, self.wait, self.visibility)
                .await;
            match batch {
                Ok(messages) => {
                    backoff.reset();
                    metrics::counter!("pressbot_queue_messages_received_total", "queue" => self.queue.clone()).increment(messages.len() as u64);
                    let hold = BatchVisibility::hold(
                        self.backend.clone(),
                        self.queue.clone(),
                        &messages,
                        self.visibility,
                        shutdown.clone(),
                    );
                    for m in messages {
                        if !hold.begin(&m.receipt).await {
                            continue;
                        }
                        let span = tracing::info_span!("message", queue = %self.queue, message_id = %m.id, receive_count = m.receive_count);
                        self.handle(handler, &hold, m).instrument(span).await;
                    }
                    hold.release().await;
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    crate::metrics::poll_error(H::ROLE);
                    tracing::warn!(error = %e, retry_in = ?wait, "receive failed");
                    if !sleep_or_shutdown(wait, &shutdown).await {
                        break;
                    }
                }
            }
        }
        tracing::info!("{} stopped", H::NAME);
        Ok(())
    }

    async fn handle<H: Handler>(&self, handler: &H, hold: &BatchVisibility, m: ReceivedMessage) {
        let disposition = handler.handle(&m).await;
        hold.finish(&m.receipt).await;
        match disposition {
            Disposition::Done => delete(&self.backend, &self.queue, &m).await,
            Disposition::DeadLetter { reason } => {
                dead_letter(&self.backend, &self.queue, &m, &reason).await
            }
            Disposition::Retry { reason } => {
                tracing::warn!(reason = %reason, "could not handle message; it will be redelivered")
            }
        }
    }
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
