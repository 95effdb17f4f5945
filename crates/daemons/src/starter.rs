//! The workflow starter: starter messages become workflow executions with a
//! deterministic workflow id, so a duplicate message starts nothing new.

use crate::queue_loop::{Disposition, Handler, QueueLoop};
use crate::start::{start_once, Duplicates, Once};
use pressbot_core::backend::{Backend, ReceivedMessage, StartOutcome};
use pressbot_core::definition::Definitions;
use pressbot_core::ids::{deterministic_workflow_id, WorkflowId};
use pressbot_core::messages::StarterMessage;
use pressbot_core::start::StarterPayload;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

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
    if let Some(id) = d.get("workflow_id").and_then(|v| v.as_str()) {
        return WorkflowId(pressbot_core::ids::sanitize_id_part(id));
    }
    let payload = StarterPayload::from_data(d);
    if let (Some(bucket), Some(key)) =
        (payload.bucket_name.as_deref(), payload.file_name.as_deref())
    {
        let version = (payload.file_etag.as_deref())
            .or(payload.file_sequencer.as_deref())
            .unwrap_or("");
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
    let request = def.start_request(
        workflow_id.clone(),
        Some(message.workflow_data.to_string()),
        vec![],
    );
    // `force` starts again an id whose execution closed (an open one still
    // counts as started). Any service error (throttling, an unregistered
    // type an operator must fix) leaves the message for redelivery, and so
    // for the dead-letter queue after `max_receives`: nothing is lost.
    let duplicates = if force {
        Duplicates::Open
    } else {
        Duplicates::EverStarted
    };
    let once = start_once(backend, request, duplicates)
        .await
        .map_err(|e| StartError::Transient(e.to_string()))?;
    if once == Once::Closed {
        return Ok((workflow_id, StartOutcome::AlreadyRunning));
    }
    let outcome = once.outcome();
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
        QueueLoop {
            backend: self.backend.clone(),
            queue: self.queue.clone(),
            wait: self.wait,
            visibility: self.visibility,
        }
        .run(&self, shutdown)
        .await
    }
}

impl Handler for WorkflowStarter {
    const ROLE: &'static str = "workflow-starter";
    const NAME: &'static str = "workflow starter";

    async fn handle(&self, m: &ReceivedMessage) -> Disposition {
        let message = match StarterMessage::parse(&m.body) {
            Ok(s) => s,
            Err(e) => {
                return Disposition::DeadLetter {
                    reason: e.to_string(),
                }
            }
        };
        match start(&self.backend, &self.definitions, &message).await {
            Ok((id, StartOutcome::Started { run_id })) => {
                tracing::info!(workflow_id = %id, run_id = %run_id, workflow = %message.workflow_name, "workflow started");
                Disposition::Done
            }
            Ok((id, StartOutcome::AlreadyRunning)) => {
                tracing::info!(workflow_id = %id, workflow = %message.workflow_name, "already started: duplicate ignored");
                Disposition::Done
            }
            Err(StartError::Bad(reason)) => Disposition::DeadLetter { reason },
            Err(StartError::Transient(reason)) => Disposition::Retry { reason },
        }
    }
}
