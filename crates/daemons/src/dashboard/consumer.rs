//! The consumer: takes dashboard messages off the event-monitor queue and
//! folds them into the [`Store`]. Before it existed nothing read that queue
//! and it grew for as long as pressbot ran.
//!
//! A batch is grouped by article, so each record is read and written once
//! per batch; a message is deleted only once its record is saved, and a
//! malformed one is moved to the dead-letter queue with its reason (never
//! deleted), as the queue worker does.

use super::store::{self, ArticleRecord, Store};
use crate::backoff::{sleep_or_shutdown, ErrorBackoff};
use crate::queue_worker::{dead_letter, delete, BatchVisibility};
use pressbot_core::backend::ReceivedMessage;
use pressbot_core::messages::DashboardMessage;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The dashboard's queue consumer.
#[derive(Debug)]
pub struct Consumer {
    pub store: Store,
    /// The event-monitor queue.
    pub queue: String,
    pub wait: Duration,
    pub visibility: Duration,
}

impl Consumer {
    /// Consume until `shutdown`. A receive or a store that fails backs off
    /// (jittered, reset on success); the messages of a batch whose record
    /// could not be saved stay on the queue and come back.
    pub async fn run(self, shutdown: CancellationToken) -> crate::Result<()> {
        let mut backoff = ErrorBackoff::default();
        tracing::info!(queue = %self.queue, bucket = %self.store.bucket, "dashboard consumer polling");
        let _alive = crate::metrics::loop_alive("dashboard");
        while !shutdown.is_cancelled() {
            let _poll = crate::metrics::polling("dashboard");
            let batch = tokio::select! {
                b = self.store.backend.queues.receive(&self.queue, 10, self.wait, self.visibility) => b,
                _ = shutdown.cancelled() => break,
            };
            let failed = match batch {
                Ok(messages) => {
                    let hold = BatchVisibility::hold(
                        self.store.backend.clone(),
                        self.queue.clone(),
                        &messages,
                        self.visibility,
                        shutdown.clone(),
                    );
                    let failed = self.handle(&hold, messages).await;
                    hold.release().await;
                    failed
                }
                Err(e) => Some(e.to_string()),
            };
            match failed {
                None => backoff.reset(),
                Some(reason) => {
                    let wait = backoff.next_delay();
                    crate::metrics::poll_error("dashboard");
                    tracing::warn!(error = %reason, retry_in = ?wait, "dashboard consumer failed; retrying");
                    if !sleep_or_shutdown(wait, &shutdown).await {
                        break;
                    }
                }
            }
        }
        tracing::info!("dashboard consumer stopped");
        Ok(())
    }

    /// Fold one batch. Returns why some records could not be saved, if so.
    async fn handle(
        &self,
        hold: &BatchVisibility,
        messages: Vec<ReceivedMessage>,
    ) -> Option<String> {
        let mut by_article: BTreeMap<String, Vec<(ReceivedMessage, DashboardMessage)>> =
            BTreeMap::new();
        for m in messages {
            if !hold.begin(&m.receipt).await {
                continue;
            }
            match store::parse(&m.body) {
                Ok(parsed) => by_article
                    .entry(store::article_id(&parsed).to_owned())
                    .or_default()
                    .push((m, parsed)),
                Err(reason) => {
                    hold.finish(&m.receipt).await;
                    dead_letter(&self.store.backend, &self.queue, &m, &reason).await;
                }
            }
        }
        let mut failure = None;
        for (id, items) in by_article {
            match self.fold_and_save(&id, &items).await {
                Ok(()) => {
                    for (m, _) in &items {
                        hold.finish(&m.receipt).await;
                        delete(&self.store.backend, &self.queue, m).await;
                    }
                }
                Err(e) => {
                    for (m, _) in &items {
                        hold.finish(&m.receipt).await;
                    }
                    tracing::warn!(article = %id, error = %e, "dashboard record not saved; its messages will be redelivered");
                    failure = Some(e.to_string());
                }
            }
        }
        failure
    }

    async fn fold_and_save(
        &self,
        id: &str,
        items: &[(ReceivedMessage, DashboardMessage)],
    ) -> crate::Result<()> {
        let mut record: ArticleRecord = self.store.load(id).await?;
        let mut changed = false;
        for (_, m) in items {
            changed |= store::fold(&mut record, m);
        }
        if changed {
            self.store.save(&record).await?;
        }
        Ok(())
    }
}
