//! The consumer: takes dashboard messages off the event-monitor queue and
//! folds them into the [`Store`]. Before it existed nothing read that queue
//! and it grew for as long as pressbot ran.
//!
//! A batch is grouped by article, so each record is read and written once
//! per batch; a message is deleted only once its record is saved, and a
//! malformed one is moved to the dead-letter queue with its reason (never
//! deleted), as the queue worker does.
//!
//! One consumer per installation: two would race on the read-modify-write
//! of a record and lose events. The consumer that holds the backend's lease
//! [`CONSUMER_LEASE`] (a SQLite row, or an S3 object written with
//! conditional puts: [`pressbot_core::lease`]) consumes; any other waits,
//! its page read-only, and takes over when the holder stops (it releases
//! the lease) or dies (the lease expires after [`lease_ttl`]).

use super::store::{self, ArticleRecord, Store};
use crate::backoff::{sleep_or_shutdown, ErrorBackoff};
use crate::queue_worker::{dead_letter, delete, BatchVisibility};
use pressbot_core::backend::ReceivedMessage;
use pressbot_core::lease::{renew_every, Acquired, Lease, LeaseStore};
use pressbot_core::messages::DashboardMessage;
use pressbot_core::time::Timestamp;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The lease whose holder is the installation's one dashboard consumer.
pub const CONSUMER_LEASE: &str = "dashboard-consumer";

/// How long the consumer lease lasts unrenewed: three long polls (it is
/// renewed between batches, every third of this), and at least 30 s. A
/// dashboard that dies unannounced holds the queue up this long at most.
pub fn lease_ttl(wait: Duration) -> Duration {
    (wait * 3).max(Duration::from_secs(30))
}

/// Who holds a lease taken by this process: host and pid, for the page of a
/// dashboard that waits.
pub fn holder() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// Whether this dashboard consumes the queue, for its page and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum ConsumerRole {
    /// Not yet asked for the lease.
    Starting,
    /// Holds the lease: consumes the event-monitor queue.
    Consuming,
    /// Another dashboard holds the lease: this one only shows.
    Waiting { holder: String, until: String },
    /// Stopped (shutdown), the lease released.
    Stopped,
}

/// The consumer's role, shared with the page.
#[derive(Debug)]
pub struct ConsumerStatus(Mutex<ConsumerRole>);

impl Default for ConsumerStatus {
    fn default() -> Self {
        ConsumerStatus(Mutex::new(ConsumerRole::Starting))
    }
}

impl ConsumerStatus {
    pub fn get(&self) -> ConsumerRole {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, role: ConsumerRole) {
        crate::metrics::dashboard_lease_held(role == ConsumerRole::Consuming);
        let mut current = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if *current != role {
            match &role {
                ConsumerRole::Consuming => {
                    tracing::info!(
                        lease = CONSUMER_LEASE,
                        "dashboard consumer holds the lease: consuming"
                    )
                }
                ConsumerRole::Waiting { holder, until } => tracing::info!(
                    lease = CONSUMER_LEASE, %holder, %until,
                    "another dashboard consumes the event-monitor queue: this one waits (its page is read-only)"
                ),
                _ => {}
            }
            *current = role;
        }
    }
}

/// The dashboard's queue consumer.
#[derive(Debug)]
pub struct Consumer {
    pub store: Store,
    /// The event-monitor queue.
    pub queue: String,
    pub wait: Duration,
    pub visibility: Duration,
    /// Where [`CONSUMER_LEASE`] is kept (the backend's leases).
    pub leases: Arc<dyn LeaseStore>,
    /// This consumer's name in the lease.
    pub holder: String,
    pub status: Arc<ConsumerStatus>,
}

impl Consumer {
    /// Consume until `shutdown`, while holding [`CONSUMER_LEASE`]; without
    /// it, wait and ask again every third of its ttl. A receive or a store
    /// that fails backs off (jittered, reset on success); the messages of a
    /// batch whose record could not be saved stay on the queue and come
    /// back. The lease is released on the way out.
    pub async fn run(self, shutdown: CancellationToken) -> crate::Result<()> {
        let mut backoff = ErrorBackoff::default();
        tracing::info!(queue = %self.queue, bucket = %self.store.bucket, "dashboard consumer polling");
        let _alive = crate::metrics::loop_alive("dashboard");
        let ttl = lease_ttl(self.wait);
        let mut lease: Option<Lease> = None;
        let mut renewed = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            lease = match lease.take() {
                Some(l) if renewed.elapsed() < renew_every(ttl) => Some(l),
                Some(l) => match self.leases.renew(&l, ttl).await {
                    Ok(Some(l)) => {
                        renewed = tokio::time::Instant::now();
                        Some(l)
                    }
                    Ok(None) => {
                        tracing::warn!(
                            lease = CONSUMER_LEASE,
                            "dashboard consumer lost its lease (it expired and was taken)"
                        );
                        None
                    }
                    Err(e) if Timestamp::now() < l.expires => {
                        tracing::warn!(error = %e, "could not renew the dashboard consumer lease; still held, trying again");
                        Some(l)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not renew the dashboard consumer lease before it expired");
                        None
                    }
                },
                None => match self.leases.acquire(CONSUMER_LEASE, &self.holder, ttl).await {
                    Ok(Acquired::Held(l)) => {
                        renewed = tokio::time::Instant::now();
                        Some(l)
                    }
                    Ok(Acquired::Busy(h)) => {
                        self.status.set(ConsumerRole::Waiting {
                            holder: h.holder,
                            until: h.expires.to_string(),
                        });
                        None
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not ask for the dashboard consumer lease");
                        None
                    }
                },
            };
            if lease.is_none() {
                // Someone else consumes, or the lease store failed: ask again later.
                if !sleep_or_shutdown(renew_every(ttl), &shutdown).await {
                    break;
                }
                continue;
            }
            self.status.set(ConsumerRole::Consuming);
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
        if let Some(l) = lease {
            if let Err(e) = self.leases.release(&l).await {
                tracing::warn!(error = %e, expires = %l.expires, "could not release the dashboard consumer lease; it expires on its own");
            }
        }
        self.status.set(ConsumerRole::Stopped);
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
                    crate::metrics::dashboard_messages("dead_lettered", 1);
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
                    crate::metrics::dashboard_messages("consumed", items.len() as u64);
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

#[cfg(test)]
mod tests {
    use super::*;
    use pressbot_core::backend::{dead_letter_queue_name, OutgoingMessage};
    use pressbot_core::messages::EventStatus;

    const QUEUE: &str = "t-event-monitor-queue";
    const BUCKET: &str = "t-expanded";

    async fn backend(dir: &std::path::Path) -> pressbot_core::backend::Backend {
        let b = pressbot_local::LocalBackend::open(
            dir,
            pressbot_local::LocalOptions {
                domain: "t-publishing".into(),
                poll_interval: Duration::from_millis(20),
                long_poll: Duration::from_millis(200),
            },
        )
        .expect("open")
        .backend();
        b.queues.create_queue(QUEUE, 5).await.expect("queue");
        b.objects.create_bucket(BUCKET).await.expect("bucket");
        b
    }

    async fn depth(b: &pressbot_core::backend::Backend, q: &str) -> u64 {
        let d = b.queues.depth(q).await.expect("depth");
        d.visible + d.in_flight + d.delayed
    }

    /// Valid messages are folded and deleted; a malformed one goes to the
    /// dead-letter queue, body unchanged and with its reason; the queue
    /// ends empty.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn folds_valid_messages_and_dead_letters_a_malformed_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = backend(dir.path()).await;
        let messages = [
            DashboardMessage::Event {
                item_identifier: "00353".into(),
                version: "1".into(),
                run: "r".into(),
                event_type: "ExpandArticle".into(),
                timestamp: "2026-01-01T00:00:00Z".into(),
                status: EventStatus::Start,
                message: "started".into(),
                message_id: "e1".into(),
            },
            DashboardMessage::Property {
                item_identifier: "00353".into(),
                version: "1".into(),
                name: "publication-status".into(),
                value: "published".into(),
                property_type: "text".into(),
                message_id: "p1".into(),
            },
        ];
        for m in &messages {
            let body = serde_json::to_string(m).expect("json");
            b.queues
                .send(QUEUE, OutgoingMessage::new(body))
                .await
                .expect("send");
        }
        b.queues
            .send(QUEUE, OutgoingMessage::new(r#"{"message_type":"gossip"}"#))
            .await
            .expect("send");

        let store = Store {
            backend: b.clone(),
            bucket: BUCKET.into(),
        };
        let consumer = Consumer {
            store: store.clone(),
            queue: QUEUE.into(),
            wait: Duration::from_millis(200),
            visibility: Duration::from_secs(30),
            leases: b.leases.clone(),
            holder: "test".into(),
            status: Arc::default(),
        };
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(consumer.run(shutdown.clone()));
        let dlq = dead_letter_queue_name(QUEUE);
        let start = std::time::Instant::now();
        while depth(&b, QUEUE).await > 0 || depth(&b, &dlq).await == 0 {
            assert!(start.elapsed() < Duration::from_secs(20), "not consumed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shutdown.cancel();
        running.await.expect("join").expect("run");

        let record = store.load("00353").await.expect("record");
        assert_eq!(record.versions["1"].publication_status(), Some("published"));
        assert_eq!(record.versions["1"].events.len(), 1);
        let dead = b
            .queues
            .receive(
                &dlq,
                10,
                Duration::from_millis(100),
                Duration::from_secs(30),
            )
            .await
            .expect("receive");
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].body, r#"{"message_type":"gossip"}"#);
        assert!(
            dead[0].attributes["pressbot-dead-letter-reason"].contains("not a dashboard message"),
            "{:?}",
            dead[0].attributes
        );
    }
}
