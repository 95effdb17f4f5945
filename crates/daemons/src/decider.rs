//! The decider daemon: polls decision tasks, runs the pure decider on
//! (definition, history), responds. A decision task of a workflow type
//! (name, version) this decider does not hold is left for a decider that
//! does (see [`handle`]), so deciders of different versions can run side by
//! side during a rollout. A bad history fails that workflow with a clear
//! reason, never the daemon.

use crate::backoff::{sleep_or_shutdown, EmptyPollPacer, ErrorBackoff};
use pressbot_core::backend::{Backend, DecisionTask};
use pressbot_core::decider;
use pressbot_core::definition::Definitions;
use std::sync::atomic::{AtomicU64, Ordering};
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
///
/// A task whose workflow type (name *and* version) this decider does not
/// hold is **left unanswered**, never failed: an execution keeps the version
/// it started with, so during a rollout a decider holding only version 2
/// sees the open version-1 executions, and failing them would lose work.
/// A decision task cannot be handed back on SWF; of the two ways to let go
/// of one, only this one works:
///
/// - Responding with no decisions closes the task, and SWF schedules the
///   next decision task only when a new event arrives (an activity result,
///   a timer). An execution waiting on nothing (its next step not yet
///   scheduled, the usual case right after a step completed) would then
///   stall until it times out, however many version-1 deciders return.
/// - Not responding lets the task's start-to-close timeout
///   (`decision_task_start_to_close` of the definition the execution was
///   started with, 60 s by default) expire; the service records
///   `DecisionTaskTimedOut` and schedules a new decision task, which any
///   decider may poll. SWF does so, and so does the embedded backend (its
///   timeout sweep reschedules the task), and so does moto. A decider that
///   holds the version eventually gets it; until one runs, the execution
///   waits (three history events per timeout) and nothing is lost.
///
/// The cost: while deciders of both versions poll the same task list, a
/// task may land on a decider of the wrong version several times before
/// the right one gets it, one start-to-close timeout each. Such tasks are
/// counted in `pressbot_decision_tasks_left_total` (by workflow type) and
/// shown by `pressbot status`.
pub async fn handle(backend: &Backend, definitions: &Definitions, task: DecisionTask) {
    let Some(def) = definitions.get_type(&task.workflow_type) else {
        leave(definitions, &task);
        return;
    };
    let decisions = decider::decide(def, &task.execution.workflow_id, &task.events).decisions;
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

/// Decision tasks left for another decider since this process started.
static LEFT: AtomicU64 = AtomicU64::new(0);

/// How many decision tasks this process has left for a decider holding
/// their workflow version (also `pressbot_decision_tasks_left_total`).
pub fn tasks_left() -> u64 {
    LEFT.load(Ordering::Relaxed)
}

/// Let go of a decision task of a version this decider does not hold: count
/// it, say so, and do not respond (see [`handle`] for why).
fn leave(definitions: &Definitions, task: &DecisionTask) {
    LEFT.fetch_add(1, Ordering::Relaxed);
    metrics::counter!(
        "pressbot_decision_tasks_left_total",
        "workflow_type" => task.workflow_type.to_string()
    )
    .increment(1);
    tracing::warn!(
        held = %definitions.describe_types(),
        "no definition for this workflow type here: leaving the decision task for a decider \
         that holds it (the service reschedules it when its start-to-close timeout expires)"
    );
}
