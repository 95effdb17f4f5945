//! The queue worker: S3 event notifications from the incoming queue become
//! workflow starter messages, by the new-file rules.
//!
//! A message is deleted only after everything it asked for was sent; every
//! message of a received batch stays invisible until it is handled or
//! handed back ([`BatchVisibility`]); a malformed message is moved to the
//! dead-letter queue with its reason (never deleted). The loop is the one
//! the workflow starter runs too ([`crate::queue_loop`]).

use crate::queue_loop::{Disposition, Handler, QueueLoop};
use pressbot_core::backend::{Backend, OutgoingMessage, ReceivedMessage};
use pressbot_core::messages::{parse_s3_notification, S3Notification, StarterMessage};
use pressbot_core::rules::NewFileRules;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

// The dashboard's consumer disposes of its messages the same way.
pub use crate::queue_loop::{dead_letter, delete, BatchVisibility};

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
        QueueLoop {
            backend: self.backend.clone(),
            queue: self.incoming_queue.clone(),
            wait: self.wait,
            visibility: self.visibility,
        }
        .run(&self, shutdown)
        .await
    }

    async fn process(&self, m: &ReceivedMessage) -> Disposition {
        let records = match parse_s3_notification(&m.body) {
            Ok(S3Notification::TestEvent) => {
                tracing::info!("s3:TestEvent acknowledged");
                return Disposition::Done;
            }
            Ok(S3Notification::Records(r)) => r,
            Err(e) => {
                return Disposition::DeadLetter {
                    reason: e.to_string(),
                }
            }
        };
        for r in &records {
            let Some(workflow) = self.rules.workflow_for(&r.bucket, &r.key) else {
                tracing::info!(bucket = %r.bucket, key = %r.key, "no new-file rule matches: ignored");
                continue;
            };
            let starter = StarterMessage::for_s3_record(workflow, r);
            if let Err(e) = self
                .backend
                .queues
                .send(&self.starter_queue, OutgoingMessage::new(starter.to_json()))
                .await
            {
                return Disposition::Retry {
                    reason: format!("sending starter message: {e}"),
                };
            }
            tracing::info!(bucket = %r.bucket, key = %r.key, workflow, "starter message sent");
        }
        Disposition::Done
    }
}

impl Handler for QueueWorker {
    const ROLE: &'static str = "queue-worker";
    const NAME: &'static str = "queue worker";

    async fn handle(&self, m: &ReceivedMessage) -> Disposition {
        self.process(m).await
    }
}
