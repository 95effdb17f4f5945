//! The workflow starter: starter messages become workflow executions with a
//! deterministic workflow id, so a duplicate message starts nothing new.

use crate::backoff::{sleep_or_shutdown, ErrorBackoff};
use crate::queue_worker::{dead_letter, delete, BatchVisibility};
use pressbot_core::backend::{
    Backend, ExecutionFilter, ReceivedMessage, StartOutcome, StartRequest,
};
use pressbot_core::definition::Definitions;
use pressbot_core::ids::{deterministic_workflow_id, WorkflowId};
use pressbot_core::messages::StarterMessage;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Debug)]
pub struct WorkflowStarter {
    pub backend: Backend,
    pub definitions: Arc<Definitions>,
    pub queue: String,
    pub wait: Duration,
    pub visibility: Duration,
}

/// The workflow id for a starter message: from bucket, key and eTag (or
/// sequencer) for an S3 file; an explicit `workflow_id` if the sender gave
/// one; otherwise a hash of the whole message.
pub fn workflow_id_for(message: &StarterMessage) -> WorkflowId {
    let d = &message.workflow_data;
    let s = |k: &str| d.get(k).and_then(|v| v.as_str());
    if let Some(id) = s("workflow_id") {
        return WorkflowId(pressbot_core::ids::sanitize_id_part(id));
    }
    if let (Some(bucket), Some(key)) = (s("bucket_name"), s("file_name")) {
        let version = s("file_etag").or(s("file_sequencer")).unwrap_or("");
        let name = key.rsplit('/').next().unwrap_or(key);
        return deterministic_workflow_id(&message.workflow_name, name, &[bucket, key, version]);
    }
    let canonical = d.to_string();
    deterministic_workflow_id(&message.workflow_name, "", &[&canonical])
}

/// Start a workflow from a starter message. A workflow with the same id that
/// is open, or that already ran (within the service's retention), counts as
/// already started: duplicate S3 events and duplicate deliveries start nothing.
pub async fn start(
    backend: &Backend,
    definitions: &Definitions,
    message: &StarterMessage,
) -> Result<(WorkflowId, StartOutcome), StartError> {
    // New executions start at the newest version held (the highest version
    // number); older versions are held only for executions already open.
    let def = definitions.get(&message.workflow_name).ok_or_else(|| {
        StartError::Bad(format!("unknown workflow name {:?}", message.workflow_name))
    })?;
    let workflow_id = workflow_id_for(message);
    let force = message.workflow_data.get("force").and_then(|v| v.as_bool()) == Some(true);
    if !force {
        let closed = backend
            .workflows
            .list_executions(&ExecutionFilter {
                open: false,
                workflow_id: Some(workflow_id.clone()),
                ..Default::default()
            })
            .await
            .map_err(|e| StartError::Transient(e.to_string()))?;
        if !closed.is_empty() {
            return Ok((workflow_id, StartOutcome::AlreadyRunning));
        }
    }
    let request = StartRequest {
        workflow_id: workflow_id.clone(),
        workflow_type: def.workflow_type(),
        task_list: def.task_list.clone(),
        input: Some(message.workflow_data.to_string()),
        execution_start_to_close: def.execution_start_to_close,
        decision_task_start_to_close: def.decision_task_start_to_close,
        tags: vec![],
    };
    // Any service error (throttling, an unregistered type an operator must
    // fix) leaves the message for redelivery, and so for the dead-letter
    // queue after `max_receives`: nothing is lost.
    let outcome = backend
        .workflows
        .start_workflow(request)
        .await
        .map_err(|e| StartError::Transient(e.to_string()))?;
    metrics::counter!("pressbot_workflows_started_total", "workflow" => message.workflow_name.clone(), "outcome" => if outcome == StartOutcome::AlreadyRunning { "already" } else { "started" }).increment(1);
    Ok((workflow_id, outcome))
}

#[derive(Debug)]
pub enum StartError {
    Bad(String),
    Transient(String),
}

impl WorkflowStarter {
    pub async fn run(self, shutdown: CancellationToken) -> crate::Result<()> {
        let mut backoff = ErrorBackoff::default();
        tracing::info!(queue = %self.queue, "workflow starter polling");
        let _alive = crate::metrics::loop_alive("workflow-starter");
        while !shutdown.is_cancelled() {
            let _poll = crate::metrics::polling("workflow-starter");
            match self
                .backend
                .queues
                .receive(&self.queue, 10, self.wait, self.visibility)
                .await
            {
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
                        self.handle(&hold, m).instrument(span).await;
                    }
                    hold.release().await;
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    crate::metrics::poll_error("workflow-starter");
                    tracing::warn!(error = %e, retry_in = ?wait, "receive failed");
                    if !sleep_or_shutdown(wait, &shutdown).await {
                        break;
                    }
                }
            }
        }
        tracing::info!("workflow starter stopped");
        Ok(())
    }

    async fn handle(&self, hold: &BatchVisibility, m: ReceivedMessage) {
        let message = match StarterMessage::parse(&m.body) {
            Ok(s) => s,
            Err(e) => {
                hold.finish(&m.receipt).await;
                return dead_letter(&self.backend, &self.queue, &m, &e.to_string()).await;
            }
        };
        let outcome = start(&self.backend, &self.definitions, &message).await;
        hold.finish(&m.receipt).await;
        match outcome {
            Ok((id, StartOutcome::Started { run_id })) => {
                tracing::info!(workflow_id = %id, run_id = %run_id, workflow = %message.workflow_name, "workflow started");
                delete(&self.backend, &self.queue, &m).await;
            }
            Ok((id, StartOutcome::AlreadyRunning)) => {
                tracing::info!(workflow_id = %id, workflow = %message.workflow_name, "already started: duplicate ignored");
                delete(&self.backend, &self.queue, &m).await;
            }
            Err(StartError::Bad(reason)) => {
                dead_letter(&self.backend, &self.queue, &m, &reason).await
            }
            Err(StartError::Transient(reason)) => {
                tracing::warn!(reason = %reason, "could not start; the message will be redelivered")
            }
        }
    }
}
