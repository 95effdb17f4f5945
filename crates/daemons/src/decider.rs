//! The decider daemon: polls decision tasks, runs the pure decider on
//! (definition, history), responds. An unknown workflow type or a bad
//! history fails that workflow with a clear reason, never the daemon.

use crate::backoff::{sleep_or_shutdown, EmptyPollPacer, ErrorBackoff};
use pressbot_core::backend::{Backend, DecisionTask};
use pressbot_core::decider;
use pressbot_core::definition::Definitions;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Polls one task list for decision tasks.
#[derive(Debug)]
pub struct Decider {
    pub backend: Backend,
    pub definitions: Arc<Definitions>,
    pub task_list: String,
    pub identity: String,
    /// Decision tasks handled at once.
    pub slots: usize,
}

impl Decider {
    /// Run until shutdown. A poll in flight when shutdown comes is allowed to
    /// return, and a task it brings is decided, so no task is stranded.
    pub async fn run(self, shutdown: CancellationToken) -> crate::Result<()> {
        let slots = Arc::new(Semaphore::new(self.slots.max(1)));
        let mut backoff = ErrorBackoff::default();
        let mut pacer = EmptyPollPacer::default();
        let mut in_flight = JoinSet::new();
        let _alive = crate::metrics::loop_alive("decider");
        tracing::info!(task_list = %self.task_list, identity = %self.identity, "decider polling");
        loop {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            };
            while in_flight.try_join_next().is_some() {}
            if shutdown.is_cancelled() {
                break;
            }
            let _poll = crate::metrics::polling("decider");
            let polled_at = std::time::Instant::now();
            match self
                .backend
                .workflows
                .poll_decision_task(&self.task_list, &self.identity)
                .await
            {
                Ok(Some(task)) => {
                    backoff.reset();
                    pacer.reset();
                    crate::metrics::poll_answered("decider", true);
                    let backend = self.backend.clone();
                    let definitions = self.definitions.clone();
                    let span = tracing::info_span!(
                        "decision",
                        workflow_id = %task.execution.workflow_id,
                        run_id = %task.execution.run_id,
                        workflow = %task.workflow_type,
                    );
                    in_flight.spawn(
                        async move {
                            handle(&backend, &definitions, task).await;
                            drop(permit);
                        }
                        .instrument(span),
                    );
                }
                Ok(None) => {
                    backoff.reset();
                    crate::metrics::poll_answered("decider", false);
                    if let Some(pause) = pacer.after_empty(polled_at.elapsed()) {
                        drop(permit);
                        if !sleep_or_shutdown(pause, &shutdown).await {
                            break;
                        }
                    }
                }
                Err(e) => {
                    let wait = backoff.next_delay();
                    crate::metrics::poll_error("decider");
                    tracing::warn!(error = %e, retry_in = ?wait, "decision task poll failed");
                    if !sleep_or_shutdown(wait, &shutdown).await {
                        break;
                    }
                }
            }
        }
        while in_flight.join_next().await.is_some() {}
        tracing::info!("decider stopped");
        Ok(())
    }
}

/// Decide one task and respond. Errors are logged: the service times the
/// task out and schedules another, so nothing is lost.
pub async fn handle(backend: &Backend, definitions: &Definitions, task: DecisionTask) {
    let decisions = match definitions.get_type(&task.workflow_type) {
        Some(def) => decider::decide(def, &task.execution.workflow_id, &task.events).decisions,
        None => {
            tracing::error!("no definition for this workflow type: failing the workflow");
            decider::fail_unknown_workflow(&task.workflow_type)
        }
    };
    let names: Vec<&str> = decisions.iter().map(|d| d.name()).collect();
    metrics::counter!("pressbot_decision_tasks_total").increment(1);
    names
        .iter()
        .for_each(|n| metrics::counter!("pressbot_decisions_total", "decision" => *n).increment(1));
    tracing::debug!(decisions = ?names, events = task.events.len(), "decided");
    if let Err(e) = backend
        .workflows
        .complete_decision_task(&task.token, decisions, None)
        .await
    {
        tracing::warn!(error = %e, "could not respond to decision task; the service will reschedule it");
    }
}
