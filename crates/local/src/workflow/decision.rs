//! Decision tasks: claiming one, and applying the decisions that complete it.

use super::rows::{
    append, close_execution, identity_opt, load_events, load_exec, new_token,
    refresh_activity_deadline, schedule_decision, ExecRow,
};
use super::sweep::{commit, sweep_tx, swept_topics};
use super::{
    ACTIVITY_ID_ALREADY_IN_USE, ACTIVITY_ID_UNKNOWN, ACTIVITY_TYPE_DOES_NOT_EXIST,
    TIMER_ID_ALREADY_IN_USE, UNHANDLED_DECISION,
};
use crate::db::{ms, Ctx};
use crate::wake::Topics;
use crate::LocalError;
use pressbot_core::backend::{CloseStatus, DecisionTask};
use pressbot_core::history::{ActivityTimeouts, Decision, EventKind};
use pressbot_core::ids::{TaskToken, TypeRef};
use pressbot_core::time::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::time::Duration;

pub(super) fn claim_decision(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    domain: &str,
    task_list: &str,
    identity: &str,
) -> Result<Option<DecisionTask>, LocalError> {
    let now = ctx.now();
    let row: Option<(i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT id, exec, scheduled_event_id FROM decision_tasks
             WHERE domain = ?1 AND task_list = ?2 AND started_event_id IS NULL
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![domain, task_list], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((id, exec_id, scheduled)) = row else {
        return Ok(None);
    };
    let exec = load_exec(tx, exec_id)?;
    let started = append(
        tx,
        exec_id,
        now,
        &EventKind::DecisionTaskStarted {
            scheduled_event_id: scheduled,
            identity: identity_opt(identity),
        },
    )?;
    let token = new_token("d");
    let deadline = now.0.saturating_add(exec.decision_timeout_ms);
    tx.prepare_cached(
        "UPDATE decision_tasks SET started_event_id = ?2, token = ?3, deadline = ?4 WHERE id = ?1",
    )?
    .execute(params![id, started, token, deadline])?;
    ctx.note_deadline(deadline, Topics::WORKFLOW);
    tx.prepare_cached("UPDATE executions SET decision_pending = 0 WHERE id = ?1")?
        .execute([exec_id])?;
    let events = load_events(tx, exec_id)?;
    tracing::debug!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, started_event_id = started, "decision task started");
    Ok(Some(DecisionTask {
        token: TaskToken(token),
        execution: exec.execution(),
        workflow_type: exec.workflow_type(),
        events,
        started_event_id: started,
        previous_started_event_id: exec.prev_started,
    }))
}

/// Complete a started decision task: record the completion, then apply
/// its decisions in order, in one transaction. A failed decision appends
/// its `...Failed` event and asks for another decision, as SWF does;
/// decisions after a close decision are ignored.
pub(super) fn complete_decision(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    token: &str,
    decisions: Vec<Decision>,
    execution_context: Option<String>,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    let now = ctx.now();
    let swept = sweep_tx(&tx, now)?;
    let row: Option<(i64, i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT id, exec, scheduled_event_id, started_event_id FROM decision_tasks
             WHERE token = ?1 AND started_event_id IS NOT NULL",
        )?
        .query_row([token], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((task_id, exec_id, scheduled, started)) = row else {
        commit(tx, ctx, swept_topics(swept))?;
        return Err(LocalError::UnknownTask {
            operation: "complete_decision_task",
        });
    };
    let exec = load_exec(&tx, exec_id)?;
    // Events that arrived while the decider was deciding: it has not seen
    // them, so it may not close the workflow on this task.
    let unhandled = exec.decision_pending;
    let completed = record_completion(
        &tx,
        now,
        exec_id,
        (task_id, scheduled, started),
        execution_context,
    )?;
    let mut batch = Batch {
        tx: &tx,
        ctx,
        domain,
        exec: &exec,
        now,
        completed,
        unhandled,
        needs_decision: unhandled,
        wake: swept_topics(swept),
        closed: false,
    };
    let total = decisions.len();
    for (i, decision) in decisions.into_iter().enumerate() {
        if batch.closed {
            tracing::warn!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, ignored = total - i, "decisions after a close decision are ignored");
            break;
        }
        batch.apply(decision)?;
    }
    let (closed, needs_decision, mut wake) = (batch.closed, batch.needs_decision, batch.wake);
    if !closed && needs_decision {
        schedule_decision(&tx, exec_id, now)?;
        wake = wake | Topics::DECISION;
    }
    commit(tx, ctx, wake)
}

/// Close the decision task: drop its row, append `DecisionTaskCompleted`
/// (returning its id) and note its start as the one the decider has seen.
fn record_completion(
    tx: &Transaction<'_>,
    now: Timestamp,
    exec_id: i64,
    (task_id, scheduled, started): (i64, i64, i64),
    execution_context: Option<String>,
) -> Result<i64, LocalError> {
    tx.prepare_cached("DELETE FROM decision_tasks WHERE id = ?1")?
        .execute([task_id])?;
    let completed = append(
        tx,
        exec_id,
        now,
        &EventKind::DecisionTaskCompleted {
            scheduled_event_id: scheduled,
            started_event_id: started,
            execution_context,
        },
    )?;
    tx.prepare_cached(
        "UPDATE executions SET prev_started_event_id = ?2, decision_pending = 0 WHERE id = ?1",
    )?
    .execute(params![exec_id, started])?;
    Ok(completed)
}

/// The decisions of one completed decision task being applied, in the
/// completion's transaction: what they share, and what they changed.
struct Batch<'a, 'c> {
    tx: &'a Transaction<'c>,
    ctx: &'a Ctx,
    domain: &'a str,
    exec: &'a ExecRow,
    now: Timestamp,
    /// The `DecisionTaskCompleted` event id, which scheduled activities cite.
    completed: i64,
    /// Whether events arrived while the task was started (close decisions fail).
    unhandled: bool,
    /// Whether another decision task is needed once all are applied.
    needs_decision: bool,
    /// The polls to wake on commit.
    wake: Topics,
    /// Whether a close decision closed the execution.
    closed: bool,
}

impl Batch<'_, '_> {
    fn append(&self, kind: &EventKind) -> Result<i64, LocalError> {
        append(self.tx, self.exec.id, self.now, kind)
    }

    /// Apply one decision, dispatching on its kind.
    fn apply(&mut self, decision: Decision) -> Result<(), LocalError> {
        match decision {
            Decision::ScheduleActivityTask {
                activity_id,
                activity_type,
                input,
                control,
                task_list,
                timeouts,
            } => self.schedule_activity(ScheduleActivity {
                activity_id,
                activity_type,
                input,
                control,
                task_list,
                timeouts,
            }),
            Decision::RequestCancelActivityTask { activity_id } => {
                self.request_cancel_activity(activity_id)
            }
            Decision::StartTimer {
                timer_id,
                control,
                start_to_fire,
            } => self.start_timer(timer_id, control, start_to_fire),
            close @ (Decision::CompleteWorkflowExecution { .. }
            | Decision::FailWorkflowExecution { .. }
            | Decision::CancelWorkflowExecution { .. }) => self.close(close),
        }
    }

    /// `ScheduleActivityTask`: fails on an unregistered type or an id in
    /// use; otherwise creates the task row on the given (or the type's
    /// default) task list.
    fn schedule_activity(&mut self, s: ScheduleActivity) -> Result<(), LocalError> {
        let (tx, exec_id) = (self.tx, self.exec.id);
        let ScheduleActivity {
            activity_id,
            activity_type,
            input,
            control,
            task_list,
            timeouts,
        } = s;
        let default_list: Option<String> = tx
            .prepare_cached(
                "SELECT task_list FROM activity_types
                 WHERE domain = ?1 AND name = ?2 AND version = ?3",
            )?
            .query_row(
                params![self.domain, activity_type.name, activity_type.version],
                |r| r.get(0),
            )
            .optional()?;
        let in_use: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM activity_tasks WHERE exec = ?1 AND activity_id = ?2)",
            )?
            .query_row(params![exec_id, activity_id], |r| r.get(0))?;
        let failure = match (&default_list, in_use) {
            (None, _) => Some(ACTIVITY_TYPE_DOES_NOT_EXIST),
            (Some(_), true) => Some(ACTIVITY_ID_ALREADY_IN_USE),
            _ => None,
        };
        if let Some(cause) = failure {
            self.append(&EventKind::ScheduleActivityTaskFailed {
                activity_id,
                activity_type,
                cause: cause.to_owned(),
            })?;
            self.needs_decision = true;
            return Ok(());
        }
        let task_list = if task_list.is_empty() {
            default_list.unwrap_or_default()
        } else {
            task_list
        };
        let scheduled_event = self.append(&EventKind::ActivityTaskScheduled {
            activity_id: activity_id.clone(),
            activity_type: activity_type.clone(),
            input: input.clone(),
            control,
            task_list: task_list.clone(),
            timeouts,
            decision_task_completed_event_id: self.completed,
        })?;
        tx.prepare_cached(
            "INSERT INTO activity_tasks (exec, domain, activity_id, type_name, type_version,
                task_list, input, scheduled_event_id, scheduled_at, schedule_to_start_ms,
                start_to_close_ms, schedule_to_close_ms, heartbeat_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?
        .execute(params![
            exec_id,
            self.domain,
            activity_id,
            activity_type.name,
            activity_type.version,
            task_list,
            input,
            scheduled_event,
            self.now.0,
            timeouts.schedule_to_start.map(ms),
            timeouts.start_to_close.map(ms),
            timeouts.schedule_to_close.map(ms),
            timeouts.heartbeat.map(ms),
        ])?;
        let id = tx.last_insert_rowid();
        refresh_activity_deadline(tx, self.ctx, id)?;
        self.wake = self.wake | Topics::ACTIVITY;
        Ok(())
    }

    /// `RequestCancelActivityTask`: an unstarted task is canceled outright;
    /// a started one is flagged, and its worker learns on its next heartbeat.
    fn request_cancel_activity(&mut self, activity_id: String) -> Result<(), LocalError> {
        let (tx, exec_id) = (self.tx, self.exec.id);
        let open: Option<(i64, i64, Option<i64>)> = tx
            .prepare_cached(
                "SELECT id, scheduled_event_id, started_event_id FROM activity_tasks
                 WHERE exec = ?1 AND activity_id = ?2",
            )?
            .query_row(params![exec_id, activity_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((id, scheduled_event, started_event)) = open else {
            // Core has no variant for this SWF event; keep it by name.
            self.append(&EventKind::Other {
                name: "RequestCancelActivityTaskFailed".into(),
            })?;
            tracing::warn!(workflow_id = %self.exec.workflow_id, activity_id = %activity_id, cause = ACTIVITY_ID_UNKNOWN, "cancel of an activity that is not open");
            self.needs_decision = true;
            return Ok(());
        };
        self.append(&EventKind::ActivityTaskCancelRequested {
            activity_id: activity_id.clone(),
        })?;
        if started_event.is_none() {
            // Not picked up yet: SWF cancels it outright.
            tx.prepare_cached("DELETE FROM activity_tasks WHERE id = ?1")?
                .execute([id])?;
            self.append(&EventKind::ActivityTaskCanceled {
                scheduled_event_id: scheduled_event,
                started_event_id: 0,
                details: None,
            })?;
            self.needs_decision = true;
        } else {
            tx.prepare_cached("UPDATE activity_tasks SET cancel_requested = 1 WHERE id = ?1")?
                .execute([id])?;
        }
        Ok(())
    }

    /// `StartTimer`: fails if a timer with that id is open.
    fn start_timer(
        &mut self,
        timer_id: String,
        control: Option<String>,
        start_to_fire: Duration,
    ) -> Result<(), LocalError> {
        let (tx, exec_id, now) = (self.tx, self.exec.id, self.now);
        let in_use: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM timers WHERE exec = ?1 AND timer_id = ?2)",
            )?
            .query_row(params![exec_id, timer_id], |r| r.get(0))?;
        if in_use {
            self.append(&EventKind::StartTimerFailed {
                timer_id,
                cause: TIMER_ID_ALREADY_IN_USE.into(),
            })?;
            self.needs_decision = true;
            return Ok(());
        }
        let started_event = self.append(&EventKind::TimerStarted {
            timer_id: timer_id.clone(),
            control,
            start_to_fire,
        })?;
        tx.prepare_cached(
            "INSERT INTO timers (exec, timer_id, started_event_id, fire_at)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            exec_id,
            timer_id,
            started_event,
            now.plus(start_to_fire).0
        ])?;
        self.ctx
            .note_deadline(now.plus(start_to_fire).0, Topics::WORKFLOW);
        Ok(())
    }

    /// Complete, fail or cancel the execution, unless events arrived that
    /// the decider has not seen (`UNHANDLED_DECISION`).
    fn close(&mut self, close: Decision) -> Result<(), LocalError> {
        let exec = self.exec;
        if self.unhandled {
            let cause = UNHANDLED_DECISION.to_owned();
            let failed = match close {
                Decision::CompleteWorkflowExecution { .. } => {
                    EventKind::CompleteWorkflowExecutionFailed { cause }
                }
                Decision::FailWorkflowExecution { .. } => {
                    EventKind::FailWorkflowExecutionFailed { cause }
                }
                _ => EventKind::CancelWorkflowExecutionFailed { cause },
            };
            self.append(&failed)?;
            tracing::info!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, decision = close.name(), "close decision failed: unhandled events");
            self.needs_decision = true;
            return Ok(());
        }
        let (event, status) = match close {
            Decision::CompleteWorkflowExecution { result } => (
                EventKind::WorkflowExecutionCompleted { result },
                CloseStatus::Completed,
            ),
            Decision::FailWorkflowExecution { reason, details } => (
                EventKind::WorkflowExecutionFailed { reason, details },
                CloseStatus::Failed,
            ),
            Decision::CancelWorkflowExecution { details } => (
                EventKind::WorkflowExecutionCanceled { details },
                CloseStatus::Canceled,
            ),
            _ => unreachable!("matched close decisions only"),
        };
        self.append(&event)?;
        close_execution(self.tx, exec.id, self.now, status)?;
        tracing::info!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, status = status.as_str(), "workflow execution closed");
        self.closed = true;
        Ok(())
    }
}

/// The fields of a `ScheduleActivityTask` decision, taken apart.
struct ScheduleActivity {
    activity_id: String,
    activity_type: TypeRef,
    input: Option<String>,
    control: Option<String>,
    task_list: String,
    timeouts: ActivityTimeouts,
}
