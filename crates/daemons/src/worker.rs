//! The activity worker: polls activity tasks on one or more task lists,
//! runs several at once, enforces start-to-close locally, heartbeats while
//! an activity runs, cancels it when the service says so, and reports
//! retryable and permanent failures as such.

use crate::backoff::{sleep_or_shutdown, EmptyPollPacer, ErrorBackoff};
use pressbot_activities::dashboard::{EventSender, EVENT_LINGER};
use pressbot_activities::{ActivityContext, Env, Progress, Registry};
use pressbot_core::activity::{ActivityFailure, ActivityInput};
use pressbot_core::backend::{ActivityTask, Backend};
use pressbot_core::definition::Definitions;
use pressbot_core::messages::EventStatus;
use pressbot_core::settings::WorkerPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Runs activities from the task lists of its pools.
#[derive(Debug)]
pub struct ActivityWorker {
    pub env: Arc<Env>,
    pub registry: Registry,
    pub definitions: Arc<Definitions>,
    pub pools: Vec<WorkerPool>,
    pub identity: String,
    /// After shutdown, how long in-flight activities may go on before they
    /// are cancelled and handed back as retryable failures.
    pub drain: Duration,
    pub max_heartbeat_interval: Duration,
}

/// How long a stopping worker waits for its last dashboard events to be
/// sent: the batch's linger plus one slow request.
const EVENT_FLUSH: Duration = Duration::from_secs(5).saturating_add(EVENT_LINGER);

/// Shared by every task of a worker.
#[derive(Debug)]
struct Shared {
    env: Arc<Env>,
    registry: Registry,
    definitions: Arc<Definitions>,
    max_heartbeat_interval: Duration,
    /// Cancelled when the drain deadline passes: in-flight activities stop.
    hand_back: CancellationToken,
    /// Start/end events for the dashboard, sent in the background.
    events: EventSender,
}

impl ActivityWorker {
    pub async fn run(self, shutdown: CancellationToken) -> crate::Result<()> {
        // Not fatal: the wait is cut short to fit, but a burst of packages
        // then spends retry attempts waiting for the lease.
        for short in pressbot_activities::cms_activities::short_cms_steps(
            &self.definitions,
            &self.env.settings.cms,
        ) {
            tracing::warn!(problem = %short, "CMS step too short for the lease wait");
        }
        let (events, event_task) = EventSender::start(self.env.clone());
        let shared = Arc::new(Shared {
            env: self.env.clone(),
            registry: self.registry,
            definitions: self.definitions,
            max_heartbeat_interval: self.max_heartbeat_interval,
            hand_back: CancellationToken::new(),
            events,
        });
        let mut pollers = JoinSet::new();
        for pool in self.pools {
            let shared = shared.clone();
            let shutdown = shutdown.clone();
            let identity = self.identity.clone();
            pollers.spawn(async move { poll_loop(shared, pool, identity, shutdown).await });
        }
        // Wait for shutdown, then give in-flight work the drain deadline.
        shutdown.cancelled().await;
        let drain = self.drain;
        let hand_back = shared.hand_back.clone();
        let deadline = tokio::spawn(async move {
            tokio::time::sleep(drain).await;
            tracing::warn!(drain = ?drain, "drain deadline passed: handing back in-flight activities");
            hand_back.cancel();
        });
        while pollers.join_next().await.is_some() {}
        deadline.abort();
        // The last events: dropping the only sender lets the task send what
        // is queued and end; bounded, as the queue may be the thing down.
        drop(shared);
        if tokio::time::timeout(EVENT_FLUSH, event_task).await.is_err() {
            tracing::warn!(waited = ?EVENT_FLUSH, "last dashboard events not sent before stopping");
        }
        tracing::info!("activity worker stopped");
        Ok(())
    }
}

async fn poll_loop(
    shared: Arc<Shared>,
    pool: WorkerPool,
    identity: String,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(pool.slots.max(1)));
    let mut backoff = ErrorBackoff::default();
    let mut pacer = EmptyPollPacer::default();
    let mut running = JoinSet::new();
    let _alive = crate::metrics::loop_alive("activity-worker");
    tracing::info!(task_list = %pool.task_list, slots = pool.slots, "activity worker polling");
    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        while running.try_join_next().is_some() {}
        if shutdown.is_cancelled() {
            break;
        }
        let _poll = crate::metrics::polling("activity-worker");
        let polled_at = std::time::Instant::now();
        match shared
            .env
            .backend
            .workflows
            .poll_activity_task(&pool.task_list, &identity)
            .await
        {
            Ok(Some(task)) => {
                backoff.reset();
                pacer.reset();
                crate::metrics::poll_answered("activity-worker", true);
                metrics::counter!("pressbot_activity_tasks_polled_total", "activity" => task.activity_type.name.clone()).increment(1);
                let shared = shared.clone();
                running.spawn(async move {
                    execute(&shared, task).await;
                    drop(permit);
                });
            }
            Ok(None) => {
                backoff.reset();
                crate::metrics::poll_answered("activity-worker", false);
                if let Some(pause) = pacer.after_empty(polled_at.elapsed()) {
                    drop(permit);
                    if !sleep_or_shutdown(pause, &shutdown).await {
                        break;
                    }
                }
            }
            Err(e) => {
                let wait = backoff.next_delay();
                crate::metrics::poll_error("activity-worker");
                tracing::warn!(task_list = %pool.task_list, error = %e, retry_in = ?wait, "activity task poll failed");
                if !sleep_or_shutdown(wait, &shutdown).await {
                    break;
                }
            }
        }
    }
    while running.join_next().await.is_some() {}
}

/// Run one task to an outcome and report it.
async fn execute(shared: &Shared, task: ActivityTask) {
    let input: Result<ActivityInput, _> = serde_json::from_str(task.input.as_deref().unwrap_or(""));
    let (step, attempt) = input
        .as_ref()
        .map(|i| (i.step.clone(), i.attempt))
        .unwrap_or_else(|_| (task.activity_id.clone(), 0));
    let span = tracing::info_span!(
        "activity",
        workflow_id = %task.execution.workflow_id,
        run_id = %task.execution.run_id,
        activity = %task.activity_type.name,
        step = %step,
        attempt,
    );
    async {
        let outcome = match input {
            Err(e) => Err(ActivityFailure::permanent(format!(
                "activity task input is not a pressbot ActivityInput: {e}"
            ))),
            Ok(input) => run_activity(shared, &task, input).await,
        };
        report(shared, &task, outcome).await;
    }
    .instrument(span)
    .await
}

async fn run_activity(
    shared: &Shared,
    task: &ActivityTask,
    input: ActivityInput,
) -> Result<serde_json::Value, ActivityFailure> {
    let Some(activity) = shared.registry.get(&task.activity_type.name) else {
        return Err(ActivityFailure::permanent(format!(
            "this worker does not know activity type {:?} (known: {})",
            task.activity_type.name,
            shared.registry.names().collect::<Vec<_>>().join(", ")
        )));
    };
    // The activity input names the workflow but not its version, so the
    // local limits come from the newest version's step of that id; SWF's
    // own timeouts, from the scheduling version, still apply.
    let step = shared
        .definitions
        .get(&input.workflow)
        .and_then(|d| d.step(&input.step));
    let start_to_close = step.and_then(|s| s.timeouts.start_to_close);
    let heartbeat_timeout = step.and_then(|s| s.timeouts.heartbeat);
    let interval = heartbeat_timeout
        .map(|h| h.mul_f64(0.8))
        .unwrap_or(shared.max_heartbeat_interval)
        .min(shared.max_heartbeat_interval)
        .max(Duration::from_millis(200));

    let cancel = shared.hand_back.child_token();
    // A little under the service's own limit, so our report arrives first.
    let local_limit = start_to_close.map(|limit| limit.saturating_sub(Duration::from_millis(500)));
    let ctx = ActivityContext {
        deadline: local_limit.map(|l| tokio::time::Instant::now() + l),
        input,
        execution: task.execution.clone(),
        activity_id: task.activity_id.clone(),
        cancel: cancel.clone(),
        progress: Progress::default(),
    };
    shared.events.emit(&ctx, EventStatus::Start, "started");
    let started = std::time::Instant::now();

    let heartbeats = heartbeat_loop(
        shared.env.backend.clone(),
        task.token.clone(),
        interval,
        ctx.progress.clone(),
        cancel.clone(),
    );
    let work = async {
        match (start_to_close, ctx.deadline) {
            (Some(limit), Some(deadline)) => {
                match tokio::time::timeout_at(deadline, activity.run(&ctx)).await {
                    Ok(r) => r,
                    Err(_) => {
                        cancel.cancel();
                        metrics::counter!("pressbot_activity_tasks_timed_out_total", "activity" => task.activity_type.name.clone()).increment(1);
                        Err(ActivityFailure::retryable(format!(
                            "start-to-close timeout ({limit:?}) reached in the worker"
                        )))
                    }
                }
            }
            _ => activity.run(&ctx).await,
        }
    };
    tokio::pin!(heartbeats);
    let hand_back = shared.hand_back.clone();
    let outcome = tokio::select! {
        r = work => r,
        // The heartbeat loop only ends when the service asked to cancel or
        // no longer knows the task.
        _ = &mut heartbeats => Err(ActivityFailure::retryable("activity cancelled by the service")),
        // An activity that ignores its cancel token is abandoned shortly
        // after the drain deadline; its result would be handed back anyway.
        _ = async { hand_back.cancelled().await; tokio::time::sleep(Duration::from_secs(2)).await } => {
            Err(ActivityFailure::retryable("worker stopping"))
        }
    };
    let outcome = if shared.hand_back.is_cancelled() && outcome.is_err() {
        Err(ActivityFailure::retryable(
            "worker stopping: handed back for an immediate retry",
        ))
    } else {
        outcome
    };
    let elapsed = started.elapsed();
    metrics::histogram!("pressbot_activity_duration_seconds", "activity" => task.activity_type.name.clone(), "outcome" => if outcome.is_ok() { "completed" } else { "failed" }).record(elapsed.as_secs_f64());
    match &outcome {
        Ok(_) => {
            metrics::counter!("pressbot_activity_tasks_completed_total", "activity" => task.activity_type.name.clone()).increment(1);
            tracing::info!(elapsed = ?elapsed, "activity completed");
            shared.events.emit(&ctx, EventStatus::End, "completed");
        }
        Err(f) => {
            metrics::counter!("pressbot_activity_tasks_failed_total", "activity" => task.activity_type.name.clone(), "kind" => f.kind.as_str()).increment(1);
            tracing::warn!(elapsed = ?elapsed, kind = f.kind.as_str(), error = %f.message, "activity failed");
            shared.events.emit(&ctx, EventStatus::Error, &f.to_string());
        }
    }
    outcome
}

/// Heartbeat every `interval` until the activity ends. Returns (ending the
/// select in `run_activity`) only when the service asked to cancel, or no
/// longer knows the task (it timed out): the activity's token is cancelled.
async fn heartbeat_loop(
    backend: Backend,
    token: pressbot_core::ids::TaskToken,
    interval: Duration,
    progress: Progress,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = cancel.cancelled() => {
                // Hand-back or local timeout: let the activity return its own error.
                std::future::pending::<()>().await;
            }
        }
        match backend.workflows.heartbeat(&token, progress.take()).await {
            Ok(o) if o.cancel_requested => {
                tracing::info!("cancel requested by the service");
                cancel.cancel();
                return;
            }
            Ok(_) => {}
            Err(pressbot_core::Error::UnknownTask { .. }) => {
                tracing::warn!("the service no longer knows this task (timed out?): stopping it");
                cancel.cancel();
                return;
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
        }
    }
}

async fn report(
    shared: &Shared,
    task: &ActivityTask,
    outcome: Result<serde_json::Value, ActivityFailure>,
) {
    let wf = &shared.env.backend.workflows;
    let result = match outcome {
        Ok(value) => {
            let body = if value.is_null() {
                None
            } else {
                Some(value.to_string())
            };
            wf.complete_activity_task(&task.token, body).await
        }
        Err(f) => {
            wf.fail_activity_task(&task.token, &f.reason(), &f.details())
                .await
        }
    };
    match result {
        Ok(()) => {}
        Err(pressbot_core::Error::UnknownTask { .. }) => {
            tracing::warn!("result not accepted: the task had already timed out or closed")
        }
        Err(e) => {
            tracing::error!(error = %e, "could not report the activity result; the service will time it out")
        }
    }
}
