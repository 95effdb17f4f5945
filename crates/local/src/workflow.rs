//! SWF semantics on SQLite: executions, histories, decision and activity
//! tasks, the four activity timeouts, timers and execution timeouts.
//!
//! Invariants kept by every transaction here:
//! - at most one decision task row per execution, scheduled or started. An
//!   event that needs a decision while one is started sets
//!   `decision_pending`; completing (or timing out) the started task then
//!   schedules the next one, and a close decision in that completion fails
//!   with `UNHANDLED_DECISION`, as SWF does;
//! - an activity task row exists exactly while the activity is open; its
//!   `deadline` is the earliest of its applicable timeouts, so one indexed
//!   query finds everything due;
//! - a task token lives in its task row only: once the task closed or timed
//!   out the row is gone and the token is unknown (`Error::UnknownTask`).

use crate::db::{ms, Ctx};
use crate::wake::Topics;
use crate::{LocalBackend, LocalError};
use async_trait::async_trait;
use pressbot_core::backend::{
    ActivityTask, CloseStatus, DecisionTask, ExecutionFilter, ExecutionInfo, HeartbeatOutcome,
    StartOutcome, StartRequest, WorkflowService,
};
use pressbot_core::definition::Definitions;
use pressbot_core::history::{ActivityTimeoutType, Decision, EventKind, HistoryEvent};
use pressbot_core::ids::{
    RunId, TaskToken, TypeRef, WorkflowExecution, WorkflowId, MAX_WORKFLOW_ID_LEN,
};
use pressbot_core::time::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};
use std::time::Duration;

/// SWF's cause when a decision names an unregistered activity type.
pub const ACTIVITY_TYPE_DOES_NOT_EXIST: &str = "ACTIVITY_TYPE_DOES_NOT_EXIST";
/// SWF's cause when a decision reuses the id of an open activity.
pub const ACTIVITY_ID_ALREADY_IN_USE: &str = "ACTIVITY_ID_ALREADY_IN_USE";
/// SWF's cause when a decision reuses the id of an open timer.
pub const TIMER_ID_ALREADY_IN_USE: &str = "TIMER_ID_ALREADY_IN_USE";
/// SWF's cause when a close decision raced with new events.
pub const UNHANDLED_DECISION: &str = "UNHANDLED_DECISION";
/// SWF's cause when a cancel request names no open activity.
pub const ACTIVITY_ID_UNKNOWN: &str = "ACTIVITY_ID_UNKNOWN";

// ---------------------------------------------------------------------------
// Rows and small helpers

#[derive(Debug, Clone)]
struct ExecRow {
    id: i64,
    workflow_id: String,
    run_id: String,
    type_name: String,
    type_version: String,
    decision_timeout_ms: i64,
    started: i64,
    closed: Option<i64>,
    close_status: Option<String>,
    cancel_requested: bool,
    decision_pending: bool,
    prev_started: i64,
}

const EXEC_COLS: &str = "id, workflow_id, run_id, type_name, type_version, \
     decision_timeout_ms, started, closed, close_status, cancel_requested, decision_pending, \
     prev_started_event_id";

impl ExecRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(ExecRow {
            id: r.get(0)?,
            workflow_id: r.get(1)?,
            run_id: r.get(2)?,
            type_name: r.get(3)?,
            type_version: r.get(4)?,
            decision_timeout_ms: r.get(5)?,
            started: r.get(6)?,
            closed: r.get(7)?,
            close_status: r.get(8)?,
            cancel_requested: r.get(9)?,
            decision_pending: r.get(10)?,
            prev_started: r.get(11)?,
        })
    }

    fn execution(&self) -> WorkflowExecution {
        WorkflowExecution {
            workflow_id: WorkflowId(self.workflow_id.clone()),
            run_id: RunId(self.run_id.clone()),
        }
    }

    fn workflow_type(&self) -> TypeRef {
        TypeRef::new(&self.type_name, &self.type_version)
    }

    fn info(&self) -> ExecutionInfo {
        ExecutionInfo {
            execution: self.execution(),
            workflow_type: self.workflow_type(),
            started: Timestamp(self.started),
            closed: self.closed.map(Timestamp),
            close_status: self.close_status.as_deref().and_then(CloseStatus::parse),
            cancel_requested: self.cancel_requested,
        }
    }
}

fn load_exec(conn: &Connection, id: i64) -> Result<ExecRow, LocalError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {EXEC_COLS} FROM executions WHERE id = ?1"))?
        .query_row([id], ExecRow::from_row)?)
}

/// An execution by workflow id and run id; without a run id, the open one.
fn find_exec(
    conn: &Connection,
    domain: &str,
    workflow_id: &str,
    run_id: Option<&str>,
) -> Result<Option<ExecRow>, LocalError> {
    let row = match run_id {
        Some(run) => conn
            .prepare_cached(&format!(
                "SELECT {EXEC_COLS} FROM executions
                     WHERE domain = ?1 AND workflow_id = ?2 AND run_id = ?3"
            ))?
            .query_row(params![domain, workflow_id, run], ExecRow::from_row)
            .optional()?,
        None => conn
            .prepare_cached(&format!(
                "SELECT {EXEC_COLS} FROM executions
                     WHERE domain = ?1 AND workflow_id = ?2 AND closed IS NULL"
            ))?
            .query_row(params![domain, workflow_id], ExecRow::from_row)
            .optional()?,
    };
    Ok(row)
}

/// Append one history event; returns its id.
fn append(
    tx: &Transaction<'_>,
    exec: i64,
    now: Timestamp,
    kind: &EventKind,
) -> Result<i64, LocalError> {
    let json = serde_json::to_string(kind).map_err(|e| LocalError::Corrupt {
        operation: "append event",
        what: "history event",
        message: e.to_string(),
    })?;
    let id: i64 = tx
        .prepare_cached(
            "UPDATE executions SET next_event_id = next_event_id + 1 WHERE id = ?1
         RETURNING next_event_id - 1",
        )?
        .query_row([exec], |r| r.get(0))?;
    tx.prepare_cached("INSERT INTO events (exec, event_id, ts, kind) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![exec, id, now.0, json])?;
    Ok(id)
}

fn load_events(conn: &Connection, exec: i64) -> Result<Vec<HistoryEvent>, LocalError> {
    let mut stmt = conn.prepare_cached(
        "SELECT event_id, ts, kind FROM events WHERE exec = ?1 ORDER BY event_id",
    )?;
    let rows = stmt.query_map([exec], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, ts, kind) = row?;
        let kind: EventKind = serde_json::from_str(&kind).map_err(|e| LocalError::Corrupt {
            operation: "read history",
            what: "history event",
            message: format!("event {id} of execution row {exec}: {e}"),
        })?;
        out.push(HistoryEvent {
            id,
            timestamp: Timestamp(ts),
            kind,
        });
    }
    Ok(out)
}

/// Schedule a decision task unless one is open. With a started one, mark
/// the execution so the next is scheduled when that one completes.
fn request_decision(tx: &Transaction<'_>, exec: i64, now: Timestamp) -> Result<(), LocalError> {
    let open: Option<Option<i64>> = tx
        .prepare_cached("SELECT started_event_id FROM decision_tasks WHERE exec = ?1")?
        .query_row([exec], |r| r.get(0))
        .optional()?;
    match open {
        Some(Some(_started)) => {
            tx.prepare_cached("UPDATE executions SET decision_pending = 1 WHERE id = ?1")?
                .execute([exec])?;
        }
        Some(None) => {} // the scheduled task will see the new events
        None => schedule_decision(tx, exec, now)?,
    }
    Ok(())
}

/// Append `DecisionTaskScheduled` and create the task row (none may be open).
fn schedule_decision(tx: &Transaction<'_>, exec: i64, now: Timestamp) -> Result<(), LocalError> {
    let (domain, task_list): (String, String) = tx
        .prepare_cached("SELECT domain, task_list FROM executions WHERE id = ?1")?
        .query_row([exec], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let scheduled = append(
        tx,
        exec,
        now,
        &EventKind::DecisionTaskScheduled {
            task_list: task_list.clone(),
        },
    )?;
    tx.prepare_cached(
        "INSERT INTO decision_tasks (exec, domain, task_list, scheduled_event_id)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![exec, domain, task_list, scheduled])?;
    Ok(())
}

/// Close an execution: everything still open in it is abandoned, as in SWF.
fn close_execution(
    tx: &Transaction<'_>,
    exec: i64,
    now: Timestamp,
    status: CloseStatus,
) -> Result<(), LocalError> {
    tx.prepare_cached(
        "UPDATE executions SET closed = ?2, close_status = ?3, deadline = NULL,
                decision_pending = 0
         WHERE id = ?1",
    )?
    .execute(params![exec, now.0, status.as_str()])?;
    tx.prepare_cached("DELETE FROM decision_tasks WHERE exec = ?1")?
        .execute([exec])?;
    tx.prepare_cached("DELETE FROM activity_tasks WHERE exec = ?1")?
        .execute([exec])?;
    tx.prepare_cached("DELETE FROM timers WHERE exec = ?1")?
        .execute([exec])?;
    Ok(())
}

/// The timing columns of an activity task, for its next deadline.
struct ActivityTimes {
    scheduled_at: i64,
    started_at: Option<i64>,
    last_heartbeat: Option<i64>,
    schedule_to_start: Option<i64>,
    start_to_close: Option<i64>,
    schedule_to_close: Option<i64>,
    heartbeat: Option<i64>,
}

impl ActivityTimes {
    /// The earliest applicable timeout and which one it is.
    fn deadline(&self) -> Option<(i64, ActivityTimeoutType)> {
        let mut best: Option<(i64, ActivityTimeoutType)> = None;
        let mut consider = |at: Option<i64>, kind| {
            if let Some(at) = at {
                if best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, kind));
                }
            }
        };
        match self.started_at {
            None => consider(
                self.schedule_to_start
                    .map(|d| self.scheduled_at.saturating_add(d)),
                ActivityTimeoutType::ScheduleToStart,
            ),
            Some(started) => {
                consider(
                    self.start_to_close.map(|d| started.saturating_add(d)),
                    ActivityTimeoutType::StartToClose,
                );
                let since = self.last_heartbeat.unwrap_or(started);
                consider(
                    self.heartbeat.map(|d| since.saturating_add(d)),
                    ActivityTimeoutType::Heartbeat,
                );
            }
        }
        consider(
            self.schedule_to_close
                .map(|d| self.scheduled_at.saturating_add(d)),
            ActivityTimeoutType::ScheduleToClose,
        );
        best
    }
}

/// Recompute an activity task's deadline after it was scheduled, started or heartbeat.
fn refresh_activity_deadline(tx: &Transaction<'_>, ctx: &Ctx, id: i64) -> Result<(), LocalError> {
    let times = tx
        .prepare_cached(
            "SELECT scheduled_at, started_at, last_heartbeat, schedule_to_start_ms,
                start_to_close_ms, schedule_to_close_ms, heartbeat_ms
         FROM activity_tasks WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(ActivityTimes {
                scheduled_at: r.get(0)?,
                started_at: r.get(1)?,
                last_heartbeat: r.get(2)?,
                schedule_to_start: r.get(3)?,
                start_to_close: r.get(4)?,
                schedule_to_close: r.get(5)?,
                heartbeat: r.get(6)?,
            })
        })?;
    let (deadline, kind) = match times.deadline() {
        Some((at, kind)) => (Some(at), Some(kind.as_str())),
        None => (None, None),
    };
    tx.prepare_cached("UPDATE activity_tasks SET deadline = ?2, deadline_kind = ?3 WHERE id = ?1")?
        .execute(params![id, deadline, kind])?;
    if let Some(at) = deadline {
        ctx.note_deadline(at, Topics::WORKFLOW);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Sweep: timeouts and timers, processed by whoever calls next

/// Whether anything is due (a cheap read; no write lock taken).
fn sweep_due(conn: &Connection, now: Timestamp) -> Result<bool, LocalError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM executions
                        WHERE deadline IS NOT NULL AND deadline <= ?1 AND closed IS NULL)
             OR EXISTS (SELECT 1 FROM decision_tasks WHERE deadline IS NOT NULL AND deadline <= ?1)
             OR EXISTS (SELECT 1 FROM activity_tasks WHERE deadline IS NOT NULL AND deadline <= ?1)
             OR EXISTS (SELECT 1 FROM timers WHERE fire_at <= ?1)",
        )?
        .query_row([now.0], |r| r.get(0))?)
}

/// Expire everything due, in the caller's transaction. Returns how many
/// things expired.
fn sweep_tx(tx: &Transaction<'_>, now: Timestamp) -> Result<usize, LocalError> {
    let mut n = 0;

    let due: Vec<i64> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id FROM executions
             WHERE deadline IS NOT NULL AND deadline <= ?1 AND closed IS NULL ORDER BY deadline",
        )?;
        let rows = stmt.query_map([now.0], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for exec in due {
        append(tx, exec, now, &EventKind::WorkflowExecutionTimedOut)?;
        close_execution(tx, exec, now, CloseStatus::TimedOut)?;
        tracing::info!(execution_row = exec, "workflow execution timed out");
        n += 1;
    }

    let due: Vec<(i64, i64, i64, i64)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id, exec, scheduled_event_id, started_event_id FROM decision_tasks
             WHERE deadline IS NOT NULL AND deadline <= ?1 ORDER BY deadline",
        )?;
        let rows = stmt.query_map([now.0], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, exec, scheduled, started) in due {
        tx.prepare_cached("DELETE FROM decision_tasks WHERE id = ?1")?
            .execute([id])?;
        append(
            tx,
            exec,
            now,
            &EventKind::DecisionTaskTimedOut {
                scheduled_event_id: scheduled,
                started_event_id: started,
            },
        )?;
        tx.prepare_cached("UPDATE executions SET decision_pending = 0 WHERE id = ?1")?
            .execute([exec])?;
        schedule_decision(tx, exec, now)?;
        tracing::info!(
            execution_row = exec,
            started_event_id = started,
            "decision task timed out"
        );
        n += 1;
    }

    #[allow(clippy::type_complexity)]
    let due: Vec<(i64, i64, i64, Option<i64>, Option<String>, Option<String>)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT id, exec, scheduled_event_id, started_event_id, deadline_kind, heartbeat_details
             FROM activity_tasks WHERE deadline IS NOT NULL AND deadline <= ?1 ORDER BY deadline",
        )?;
        let rows = stmt.query_map([now.0], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, exec, scheduled, started, kind, details) in due {
        let timeout_type = kind
            .as_deref()
            .and_then(ActivityTimeoutType::parse)
            .ok_or_else(|| LocalError::Corrupt {
                operation: "sweep",
                what: "activity task deadline kind",
                message: format!("activity task row {id} has deadline kind {kind:?}"),
            })?;
        tx.prepare_cached("DELETE FROM activity_tasks WHERE id = ?1")?
            .execute([id])?;
        append(
            tx,
            exec,
            now,
            &EventKind::ActivityTaskTimedOut {
                scheduled_event_id: scheduled,
                started_event_id: started.unwrap_or(0),
                timeout_type,
                details,
            },
        )?;
        request_decision(tx, exec, now)?;
        tracing::info!(
            execution_row = exec,
            scheduled_event_id = scheduled,
            timeout = timeout_type.as_str(),
            "activity task timed out"
        );
        n += 1;
    }

    let due: Vec<(i64, String, i64)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT exec, timer_id, started_event_id FROM timers WHERE fire_at <= ?1 ORDER BY fire_at",
        )?;
        let rows = stmt.query_map([now.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (exec, timer_id, started) in due {
        tx.prepare_cached("DELETE FROM timers WHERE exec = ?1 AND timer_id = ?2")?
            .execute(params![exec, timer_id])?;
        append(
            tx,
            exec,
            now,
            &EventKind::TimerFired {
                timer_id,
                started_event_id: started,
            },
        )?;
        request_decision(tx, exec, now)?;
        n += 1;
    }
    Ok(n)
}

/// Sweep in its own transaction, only if something is due.
pub(crate) fn sweep_if_due(conn: &mut Connection, ctx: &Ctx) -> Result<usize, LocalError> {
    if !sweep_due(conn, ctx.now())? {
        return Ok(0);
    }
    let tx = ctx.begin(conn)?;
    let n = sweep_tx(&tx, ctx.now())?;
    tx.commit()?;
    if n > 0 {
        // Timeouts and timers only ever make decision tasks.
        ctx.wake_for(Topics::DECISION | ctx.take_deadline_wake());
    }
    Ok(n)
}

/// Commit, then wake the polls (of every process) waiting for what the
/// sweep or the change produced.
fn commit(tx: Transaction<'_>, ctx: &Ctx, wake: Topics) -> Result<(), LocalError> {
    tx.commit()?;
    ctx.wake_for(wake | ctx.take_deadline_wake());
    Ok(())
}

/// The earliest timeout or timer not yet processed (ms), if any: an idle
/// workflow poll sleeps until then at most, since processing it may make
/// the task it waits for. Four index look-ups, only when a poll found nothing.
fn next_deadline(conn: &Connection) -> Result<Option<i64>, LocalError> {
    Ok(conn
        .prepare_cached(
            "SELECT MIN(d) FROM (
             SELECT MIN(deadline) AS d FROM executions WHERE deadline IS NOT NULL
             UNION ALL SELECT MIN(deadline) FROM decision_tasks WHERE deadline IS NOT NULL
             UNION ALL SELECT MIN(deadline) FROM activity_tasks WHERE deadline IS NOT NULL
             UNION ALL SELECT MIN(fire_at) FROM timers)",
        )?
        .query_row([], |r| r.get(0))?)
}

/// What a sweep that expired `swept` things produced: decision tasks only.
fn swept_topics(swept: usize) -> Topics {
    if swept > 0 {
        Topics::DECISION
    } else {
        Topics::NONE
    }
}

fn identity_opt(identity: &str) -> Option<String> {
    (!identity.is_empty()).then(|| identity.to_owned())
}

fn new_token(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

// ---------------------------------------------------------------------------
// Decision tasks

/// Claim the oldest unstarted task of `table` on a task list, sweeping
/// due timeouts first. A cheap read-only check comes before the write
/// transaction, so an idle long poll does not take the database's write lock.
fn try_claim<T>(
    conn: &mut Connection,
    ctx: &Ctx,
    table: TaskTable,
    domain: &str,
    task_list: &str,
    identity: &str,
    claim: ClaimFn<T>,
) -> Result<Option<T>, LocalError> {
    let now = ctx.now();
    let ready: bool = conn
        .prepare_cached(table.ready_sql())?
        .query_row(params![domain, task_list], |r| r.get(0))?;
    if !ready && !sweep_due(conn, now)? {
        ctx.set_next_due(next_deadline(conn)?);
        return Ok(None);
    }
    let tx = ctx.begin(conn)?;
    let swept = sweep_tx(&tx, ctx.now())?;
    let claimed = claim(&tx, ctx, domain, task_list, identity)?;
    if ctx.abandoned() {
        // The poller is gone: roll back so nobody holds the task.
        return Ok(None);
    }
    commit(tx, ctx, swept_topics(swept))?;
    if claimed.is_none() {
        ctx.set_next_due(next_deadline(conn)?);
    }
    Ok(claimed)
}

/// Claims one task inside the poll's transaction: (tx, ctx, domain, task list, identity).
type ClaimFn<T> = fn(&Transaction<'_>, &Ctx, &str, &str, &str) -> Result<Option<T>, LocalError>;

/// The two task tables a poll can claim from.
#[derive(Debug, Clone, Copy)]
enum TaskTable {
    Decision,
    Activity,
}

impl TaskTable {
    /// The wake-up topic of polls on this table.
    fn topic(self) -> Topics {
        match self {
            TaskTable::Decision => Topics::DECISION,
            TaskTable::Activity => Topics::ACTIVITY,
        }
    }

    fn ready_sql(self) -> &'static str {
        match self {
            TaskTable::Decision => {
                "SELECT EXISTS (SELECT 1 FROM decision_tasks
                                WHERE domain = ?1 AND task_list = ?2 AND started_event_id IS NULL)"
            }
            TaskTable::Activity => {
                "SELECT EXISTS (SELECT 1 FROM activity_tasks
                                WHERE domain = ?1 AND task_list = ?2 AND started_event_id IS NULL)"
            }
        }
    }
}

fn claim_decision(
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

fn complete_decision(
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
    tx.prepare_cached("DELETE FROM decision_tasks WHERE id = ?1")?
        .execute([task_id])?;
    let completed = append(
        &tx,
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
    let mut needs_decision = unhandled;
    let mut wake = swept_topics(swept);
    let mut closed = false;
    let total = decisions.len();
    for (i, decision) in decisions.into_iter().enumerate() {
        if closed {
            tracing::warn!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, ignored = total - i, "decisions after a close decision are ignored");
            break;
        }
        match decision {
            Decision::ScheduleActivityTask {
                activity_id,
                activity_type,
                input,
                control,
                task_list,
                timeouts,
            } => {
                let default_list: Option<String> = tx
                    .prepare_cached(
                        "SELECT task_list FROM activity_types
                         WHERE domain = ?1 AND name = ?2 AND version = ?3",
                    )?
                    .query_row(
                        params![domain, activity_type.name, activity_type.version],
                        |r| r.get(0),
                    )
                    .optional()?;
                let in_use: bool = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM activity_tasks WHERE exec = ?1 AND activity_id = ?2)")?.query_row(params![exec_id, activity_id],
                    |r| r.get(0))?;
                let failure = match (&default_list, in_use) {
                    (None, _) => Some(ACTIVITY_TYPE_DOES_NOT_EXIST),
                    (Some(_), true) => Some(ACTIVITY_ID_ALREADY_IN_USE),
                    _ => None,
                };
                if let Some(cause) = failure {
                    append(
                        &tx,
                        exec_id,
                        now,
                        &EventKind::ScheduleActivityTaskFailed {
                            activity_id,
                            activity_type,
                            cause: cause.to_owned(),
                        },
                    )?;
                    needs_decision = true;
                    continue;
                }
                let task_list = if task_list.is_empty() {
                    default_list.unwrap_or_default()
                } else {
                    task_list
                };
                let scheduled_event = append(
                    &tx,
                    exec_id,
                    now,
                    &EventKind::ActivityTaskScheduled {
                        activity_id: activity_id.clone(),
                        activity_type: activity_type.clone(),
                        input: input.clone(),
                        control,
                        task_list: task_list.clone(),
                        timeouts,
                        decision_task_completed_event_id: completed,
                    },
                )?;
                tx.prepare_cached("INSERT INTO activity_tasks (exec, domain, activity_id, type_name, type_version,
                        task_list, input, scheduled_event_id, scheduled_at, schedule_to_start_ms,
                        start_to_close_ms, schedule_to_close_ms, heartbeat_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")?.execute(params![
                        exec_id,
                        domain,
                        activity_id,
                        activity_type.name,
                        activity_type.version,
                        task_list,
                        input,
                        scheduled_event,
                        now.0,
                        timeouts.schedule_to_start.map(ms),
                        timeouts.start_to_close.map(ms),
                        timeouts.schedule_to_close.map(ms),
                        timeouts.heartbeat.map(ms),
                    ])?;
                let id = tx.last_insert_rowid();
                refresh_activity_deadline(&tx, ctx, id)?;
                wake = wake | Topics::ACTIVITY;
            }
            Decision::RequestCancelActivityTask { activity_id } => {
                let open: Option<(i64, i64, Option<i64>)> = tx
                    .prepare_cached(
                        "SELECT id, scheduled_event_id, started_event_id FROM activity_tasks
                         WHERE exec = ?1 AND activity_id = ?2",
                    )?
                    .query_row(params![exec_id, activity_id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()?;
                match open {
                    None => {
                        // Core has no variant for this SWF event; keep it by name.
                        append(
                            &tx,
                            exec_id,
                            now,
                            &EventKind::Other {
                                name: "RequestCancelActivityTaskFailed".into(),
                            },
                        )?;
                        tracing::warn!(workflow_id = %exec.workflow_id, activity_id = %activity_id, cause = ACTIVITY_ID_UNKNOWN, "cancel of an activity that is not open");
                        needs_decision = true;
                    }
                    Some((id, scheduled_event, started_event)) => {
                        append(
                            &tx,
                            exec_id,
                            now,
                            &EventKind::ActivityTaskCancelRequested {
                                activity_id: activity_id.clone(),
                            },
                        )?;
                        if started_event.is_none() {
                            // Not picked up yet: SWF cancels it outright.
                            tx.prepare_cached("DELETE FROM activity_tasks WHERE id = ?1")?
                                .execute([id])?;
                            append(
                                &tx,
                                exec_id,
                                now,
                                &EventKind::ActivityTaskCanceled {
                                    scheduled_event_id: scheduled_event,
                                    started_event_id: 0,
                                    details: None,
                                },
                            )?;
                            needs_decision = true;
                        } else {
                            tx.prepare_cached(
                                "UPDATE activity_tasks SET cancel_requested = 1 WHERE id = ?1",
                            )?
                            .execute([id])?;
                        }
                    }
                }
            }
            Decision::StartTimer {
                timer_id,
                control,
                start_to_fire,
            } => {
                let in_use: bool = tx
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM timers WHERE exec = ?1 AND timer_id = ?2)",
                    )?
                    .query_row(params![exec_id, timer_id], |r| r.get(0))?;
                if in_use {
                    append(
                        &tx,
                        exec_id,
                        now,
                        &EventKind::StartTimerFailed {
                            timer_id,
                            cause: TIMER_ID_ALREADY_IN_USE.into(),
                        },
                    )?;
                    needs_decision = true;
                    continue;
                }
                let started_event = append(
                    &tx,
                    exec_id,
                    now,
                    &EventKind::TimerStarted {
                        timer_id: timer_id.clone(),
                        control,
                        start_to_fire,
                    },
                )?;
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
                ctx.note_deadline(now.plus(start_to_fire).0, Topics::WORKFLOW);
            }
            close @ (Decision::CompleteWorkflowExecution { .. }
            | Decision::FailWorkflowExecution { .. }
            | Decision::CancelWorkflowExecution { .. }) => {
                if unhandled {
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
                    append(&tx, exec_id, now, &failed)?;
                    tracing::info!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, decision = close.name(), "close decision failed: unhandled events");
                    needs_decision = true;
                    continue;
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
                append(&tx, exec_id, now, &event)?;
                close_execution(&tx, exec_id, now, status)?;
                tracing::info!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, status = status.as_str(), "workflow execution closed");
                closed = true;
            }
        }
    }
    if !closed && needs_decision {
        schedule_decision(&tx, exec_id, now)?;
        wake = wake | Topics::DECISION;
    }
    commit(tx, ctx, wake)
}

// ---------------------------------------------------------------------------
// Activity tasks

fn claim_activity(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    domain: &str,
    task_list: &str,
    identity: &str,
) -> Result<Option<ActivityTask>, LocalError> {
    let now = ctx.now();
    #[allow(clippy::type_complexity)]
    let row: Option<(i64, i64, String, String, String, Option<String>, i64)> = tx
        .prepare_cached(
            "SELECT id, exec, activity_id, type_name, type_version, input, scheduled_event_id
             FROM activity_tasks
             WHERE domain = ?1 AND task_list = ?2 AND started_event_id IS NULL
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![domain, task_list], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .optional()?;
    let Some((id, exec_id, activity_id, type_name, type_version, input, scheduled)) = row else {
        return Ok(None);
    };
    let started = append(
        tx,
        exec_id,
        now,
        &EventKind::ActivityTaskStarted {
            scheduled_event_id: scheduled,
            identity: identity_opt(identity),
        },
    )?;
    let token = new_token("a");
    tx.prepare_cached("UPDATE activity_tasks SET started_event_id = ?2, started_at = ?3, token = ?4 WHERE id = ?1")?.execute(params![id, started, now.0, token])?;
    refresh_activity_deadline(tx, ctx, id)?;
    let exec = load_exec(tx, exec_id)?;
    tracing::debug!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, activity_id = %activity_id, "activity task started");
    Ok(Some(ActivityTask {
        token: TaskToken(token),
        execution: exec.execution(),
        activity_id,
        activity_type: TypeRef::new(type_name, type_version),
        input,
        started_event_id: started,
    }))
}

/// How an activity task ended, as its worker reports it.
enum Finish {
    Completed(Option<String>),
    Failed { reason: String, details: String },
    Canceled(Option<String>),
}

fn finish_activity(
    conn: &mut Connection,
    ctx: &Ctx,
    token: &str,
    operation: &'static str,
    finish: Finish,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    let now = ctx.now();
    let swept = sweep_tx(&tx, now)?;
    let row: Option<(i64, i64, i64, i64)> = tx
        .prepare_cached(
            "SELECT id, exec, scheduled_event_id, started_event_id FROM activity_tasks
             WHERE token = ?1 AND started_event_id IS NOT NULL",
        )?
        .query_row([token], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((id, exec_id, scheduled, started)) = row else {
        commit(tx, ctx, swept_topics(swept))?;
        return Err(LocalError::UnknownTask { operation });
    };
    tx.prepare_cached("DELETE FROM activity_tasks WHERE id = ?1")?
        .execute([id])?;
    let kind = match finish {
        Finish::Completed(result) => EventKind::ActivityTaskCompleted {
            scheduled_event_id: scheduled,
            started_event_id: started,
            result,
        },
        Finish::Failed { reason, details } => EventKind::ActivityTaskFailed {
            scheduled_event_id: scheduled,
            started_event_id: started,
            reason: Some(reason),
            details: Some(details),
        },
        Finish::Canceled(details) => EventKind::ActivityTaskCanceled {
            scheduled_event_id: scheduled,
            started_event_id: started,
            details,
        },
    };
    append(&tx, exec_id, now, &kind)?;
    request_decision(&tx, exec_id, now)?;
    commit(tx, ctx, Topics::DECISION)
}

fn heartbeat(
    conn: &mut Connection,
    ctx: &Ctx,
    token: &str,
    details: Option<String>,
) -> Result<HeartbeatOutcome, LocalError> {
    let tx = ctx.begin(conn)?;
    let now = ctx.now();
    let swept = sweep_tx(&tx, now)?;
    let row: Option<(i64, bool)> = tx
        .prepare_cached(
            "SELECT id, cancel_requested FROM activity_tasks
             WHERE token = ?1 AND started_event_id IS NOT NULL",
        )?
        .query_row([token], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((id, cancel_requested)) = row else {
        commit(tx, ctx, swept_topics(swept))?;
        return Err(LocalError::UnknownTask {
            operation: "heartbeat",
        });
    };
    tx.prepare_cached(
        "UPDATE activity_tasks SET last_heartbeat = ?2, heartbeat_details = ?3 WHERE id = ?1",
    )?
    .execute(params![id, now.0, details])?;
    refresh_activity_deadline(&tx, ctx, id)?;
    commit(tx, ctx, swept_topics(swept))?;
    Ok(HeartbeatOutcome { cancel_requested })
}

// ---------------------------------------------------------------------------
// Executions

fn start(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    request: StartRequest,
) -> Result<StartOutcome, LocalError> {
    let tx = ctx.begin(conn)?;
    let now = ctx.now();
    let swept = sweep_tx(&tx, now)?;
    let t = &request.workflow_type;
    let registered: bool = tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM workflow_types WHERE domain = ?1 AND name = ?2 AND version = ?3)")?.query_row(params![domain, t.name, t.version],
        |r| r.get(0))?;
    if !registered {
        commit(tx, ctx, swept_topics(swept))?;
        return Err(LocalError::NotFound {
            what: "workflow type",
            name: format!(
                "{t} in domain {domain}, starting workflow {} (run `register` first)",
                request.workflow_id
            ),
        });
    }
    if find_exec(&tx, domain, request.workflow_id.as_str(), None)?.is_some() {
        commit(tx, ctx, swept_topics(swept))?;
        tracing::debug!(workflow_id = %request.workflow_id, "already running");
        return Ok(StartOutcome::AlreadyRunning);
    }
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let tags = serde_json::to_string(&request.tags).unwrap_or_else(|_| "[]".into());
    tx.prepare_cached(
        "INSERT INTO executions (domain, workflow_id, run_id, type_name, type_version, task_list,
            decision_timeout_ms, started, deadline, tags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        domain,
        request.workflow_id.as_str(),
        run_id,
        t.name,
        t.version,
        request.task_list,
        ms(request.decision_task_start_to_close),
        now.0,
        now.plus(request.execution_start_to_close).0,
        tags,
    ])?;
    let exec = tx.last_insert_rowid();
    ctx.note_deadline(
        now.plus(request.execution_start_to_close).0,
        Topics::WORKFLOW,
    );
    append(
        &tx,
        exec,
        now,
        &EventKind::WorkflowExecutionStarted {
            workflow_type: request.workflow_type.clone(),
            input: request.input,
            task_list: request.task_list.clone(),
            execution_start_to_close: Some(request.execution_start_to_close),
        },
    )?;
    schedule_decision(&tx, exec, now)?;
    commit(tx, ctx, Topics::DECISION)?;
    tracing::info!(workflow_id = %request.workflow_id, run_id = %run_id, workflow_type = %request.workflow_type, "workflow execution started");
    Ok(StartOutcome::Started {
        run_id: RunId(run_id),
    })
}

fn validate_start(request: &StartRequest) -> Result<(), LocalError> {
    const OP: &str = "start_workflow";
    let id = request.workflow_id.as_str();
    if id.is_empty() || id.len() > MAX_WORKFLOW_ID_LEN {
        return Err(LocalError::invalid(
            OP,
            "workflow id",
            id,
            format!("must be 1..={MAX_WORKFLOW_ID_LEN} bytes"),
        ));
    }
    if request.task_list.is_empty() {
        return Err(LocalError::invalid(
            OP,
            "task list",
            "",
            "must not be empty",
        ));
    }
    for (what, d) in [
        ("execution_start_to_close", request.execution_start_to_close),
        (
            "decision_task_start_to_close",
            request.decision_task_start_to_close,
        ),
    ] {
        if d < Duration::from_secs(1) {
            return Err(LocalError::invalid(
                OP,
                "timeout",
                format!("{what} = {d:?}"),
                "must be at least 1s",
            ));
        }
    }
    Ok(())
}

fn open_exec_or_not_found(
    conn: &Connection,
    domain: &str,
    workflow_id: &str,
    run_id: Option<&str>,
) -> Result<ExecRow, LocalError> {
    match find_exec(conn, domain, workflow_id, run_id)? {
        Some(e) if e.closed.is_none() => Ok(e),
        _ => Err(LocalError::NotFound {
            what: "open execution",
            name: match run_id {
                Some(r) => format!("{workflow_id}/{r}"),
                None => workflow_id.to_owned(),
            },
        }),
    }
}

fn request_cancel(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    workflow_id: &str,
    run_id: Option<&str>,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    sweep_tx(&tx, ctx.now())?;
    let exec = open_exec_or_not_found(&tx, domain, workflow_id, run_id)?;
    append(
        &tx,
        exec.id,
        ctx.now(),
        &EventKind::WorkflowExecutionCancelRequested { cause: None },
    )?;
    tx.prepare_cached("UPDATE executions SET cancel_requested = 1 WHERE id = ?1")?
        .execute([exec.id])?;
    request_decision(&tx, exec.id, ctx.now())?;
    commit(tx, ctx, Topics::DECISION)?;
    tracing::info!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, "cancel requested");
    Ok(())
}

fn terminate(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    workflow_id: &str,
    run_id: Option<&str>,
    reason: &str,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    sweep_tx(&tx, ctx.now())?;
    let exec = open_exec_or_not_found(&tx, domain, workflow_id, run_id)?;
    append(
        &tx,
        exec.id,
        ctx.now(),
        &EventKind::WorkflowExecutionTerminated {
            reason: Some(reason.to_owned()),
        },
    )?;
    close_execution(&tx, exec.id, ctx.now(), CloseStatus::Terminated)?;
    commit(tx, ctx, Topics::DECISION)?;
    tracing::info!(workflow_id = %exec.workflow_id, run_id = %exec.run_id, reason, "terminated");
    Ok(())
}

fn register_types(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    workflows: &[(TypeRef, String)],
    activities: &[(TypeRef, String)],
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    tx.prepare_cached("INSERT OR IGNORE INTO domains (name, registered) VALUES (?1, ?2)")?
        .execute(params![domain, ctx.now().0])?;
    for (table, types) in [
        ("workflow_types", workflows),
        ("activity_types", activities),
    ] {
        for (t, task_list) in types {
            tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO {table} (domain, name, version, task_list, registered)
                     VALUES (?1, ?2, ?3, ?4, ?5)"
            ))?
            .execute(params![domain, t.name, t.version, task_list, ctx.now().0])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn list(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    filter: &ExecutionFilter,
) -> Result<Vec<ExecutionInfo>, LocalError> {
    sweep_if_due(conn, ctx)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {EXEC_COLS} FROM executions
         WHERE domain = ?1 AND (closed IS NULL) = ?2
           AND (?3 IS NULL OR started >= ?3)
           AND (?4 IS NULL OR workflow_id = ?4)
           AND (?5 IS NULL OR type_name = ?5)
           AND (?6 IS NULL OR close_status = ?6)
         ORDER BY started DESC, id DESC"
    ))?;
    let rows = stmt.query_map(
        params![
            domain,
            filter.open,
            filter.started_after.map(|t| t.0),
            filter.workflow_id.as_ref().map(|w| w.as_str()),
            filter.workflow_name.as_deref(),
            filter.close_status.map(|s| s.as_str()),
        ],
        ExecRow::from_row,
    )?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row?.info());
    }
    Ok(out)
}

fn exec_by_execution(
    conn: &mut Connection,
    ctx: &Ctx,
    domain: &str,
    execution: &WorkflowExecution,
) -> Result<ExecRow, LocalError> {
    sweep_if_due(conn, ctx)?;
    find_exec(
        conn,
        domain,
        execution.workflow_id.as_str(),
        Some(execution.run_id.as_str()),
    )?
    .ok_or_else(|| LocalError::NotFound {
        what: "execution",
        name: execution.to_string(),
    })
}

// ---------------------------------------------------------------------------
// Hand-back of claims whose poller went away

/// Remove the last history event if it is `event_id` (a start nobody saw).
fn unappend_last(tx: &Transaction<'_>, exec: i64, event_id: i64) -> Result<bool, LocalError> {
    let next: i64 = tx
        .prepare_cached("SELECT next_event_id FROM executions WHERE id = ?1")?
        .query_row([exec], |r| r.get(0))?;
    if next - 1 != event_id {
        return Ok(false);
    }
    tx.prepare_cached("DELETE FROM events WHERE exec = ?1 AND event_id = ?2")?
        .execute(params![exec, event_id])?;
    tx.prepare_cached("UPDATE executions SET next_event_id = ?2 WHERE id = ?1")?
        .execute(params![exec, event_id])?;
    Ok(true)
}

/// Undo the claim of a decision task whose poller is gone, if nothing
/// happened since; otherwise its start-to-close timeout recovers it.
fn release_decision(
    conn: &mut Connection,
    ctx: &Ctx,
    task: DecisionTask,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    let row: Option<(i64, i64)> = tx
        .prepare_cached("SELECT id, exec FROM decision_tasks WHERE token = ?1")?
        .query_row([&task.token.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((id, exec)) = row else {
        return Ok(());
    };
    if !unappend_last(&tx, exec, task.started_event_id)? {
        return Ok(());
    }
    tx.prepare_cached(
        "UPDATE decision_tasks SET started_event_id = NULL, token = NULL, deadline = NULL
         WHERE id = ?1",
    )?
    .execute([id])?;
    commit(tx, ctx, Topics::DECISION)
}

/// Undo the claim of an activity task whose poller is gone (see `release_decision`).
fn release_activity(
    conn: &mut Connection,
    ctx: &Ctx,
    task: ActivityTask,
) -> Result<(), LocalError> {
    let tx = ctx.begin(conn)?;
    let row: Option<(i64, i64)> = tx
        .prepare_cached("SELECT id, exec FROM activity_tasks WHERE token = ?1")?
        .query_row([&task.token.0], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((id, exec)) = row else {
        return Ok(());
    };
    if !unappend_last(&tx, exec, task.started_event_id)? {
        return Ok(());
    }
    tx.prepare_cached(
        "UPDATE activity_tasks SET started_event_id = NULL, started_at = NULL, token = NULL,
            last_heartbeat = NULL, heartbeat_details = NULL
         WHERE id = ?1",
    )?
    .execute([id])?;
    refresh_activity_deadline(&tx, ctx, id)?;
    commit(tx, ctx, Topics::ACTIVITY)
}

// ---------------------------------------------------------------------------
// Inherent helpers beyond the trait

impl LocalBackend {
    fn domain(&self) -> String {
        self.inner.options.domain.clone()
    }

    /// Long poll for a decision or activity task: both claim the oldest
    /// unstarted row of their table, wake on their own topic, and hand
    /// the claim back if the poll is dropped after it committed.
    async fn poll_task<T: Send + 'static>(
        &self,
        operation: &'static str,
        table: TaskTable,
        task_list: &str,
        identity: &str,
        claim: ClaimFn<T>,
        release: fn(&mut Connection, &Ctx, T) -> Result<(), LocalError>,
    ) -> Result<Option<T>, LocalError> {
        let (domain, list, identity) = (self.domain(), task_list.to_owned(), identity.to_owned());
        self.long_poll(
            operation,
            task_list,
            table.topic(),
            self.inner.options.long_poll,
            move |c, ctx| try_claim(c, ctx, table, &domain, &list, &identity, claim),
            release,
        )
        .await
    }

    /// Complete, fail or cancel an activity task: one transaction each,
    /// differing only in the closing event.
    async fn finish_task(
        &self,
        token: &TaskToken,
        operation: &'static str,
        finish: Finish,
    ) -> Result<(), LocalError> {
        let token = token.0.clone();
        self.run(operation, token.clone(), move |c, ctx| {
            finish_activity(c, ctx, &token, operation, finish)
        })
        .await
    }

    /// Delete executions (and their histories) closed before `closed_before`:
    /// SWF's retention period, which an operator runs from cron (`pressbot
    /// cron` or a systemd timer). Returns how many executions were removed.
    pub async fn purge_closed(&self, closed_before: Timestamp) -> Result<usize, LocalError> {
        let domain = self.domain();
        self.run("purge_closed", domain.clone(), move |c, ctx| {
            let tx = ctx.begin(c)?;
            tx.prepare_cached("DELETE FROM events WHERE exec IN
                    (SELECT id FROM executions WHERE domain = ?1 AND closed IS NOT NULL AND closed < ?2)")?.execute(params![domain, closed_before.0])?;
            let n = tx.prepare_cached("DELETE FROM executions WHERE domain = ?1 AND closed IS NOT NULL AND closed < ?2")?.execute(params![domain, closed_before.0])?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    /// Register one workflow type (idempotent). `register` does this for
    /// every definition; tools and tests may want a single type.
    pub async fn register_workflow_type(
        &self,
        workflow_type: &TypeRef,
        task_list: &str,
    ) -> Result<(), LocalError> {
        let domain = self.domain();
        let types = vec![(workflow_type.clone(), task_list.to_owned())];
        self.run(
            "register_workflow_type",
            workflow_type.to_string(),
            move |c, ctx| register_types(c, ctx, &domain, &types, &[]),
        )
        .await
    }

    /// Register one activity type with its default task list (idempotent).
    pub async fn register_activity_type(
        &self,
        activity_type: &TypeRef,
        task_list: &str,
    ) -> Result<(), LocalError> {
        let domain = self.domain();
        let types = vec![(activity_type.clone(), task_list.to_owned())];
        self.run(
            "register_activity_type",
            activity_type.to_string(),
            move |c, ctx| register_types(c, ctx, &domain, &[], &types),
        )
        .await
    }
}

#[async_trait]
impl WorkflowService for LocalBackend {
    async fn poll_decision_task(
        &self,
        task_list: &str,
        identity: &str,
    ) -> pressbot_core::Result<Option<DecisionTask>> {
        Ok(self
            .poll_task(
                "poll_decision_task",
                TaskTable::Decision,
                task_list,
                identity,
                claim_decision,
                release_decision,
            )
            .await?)
    }

    async fn complete_decision_task(
        &self,
        token: &TaskToken,
        decisions: Vec<Decision>,
        execution_context: Option<String>,
    ) -> pressbot_core::Result<()> {
        let (domain, token) = (self.domain(), token.0.clone());
        Ok(self
            .run("complete_decision_task", token.clone(), move |c, ctx| {
                complete_decision(c, ctx, &domain, &token, decisions, execution_context)
            })
            .await?)
    }

    async fn poll_activity_task(
        &self,
        task_list: &str,
        identity: &str,
    ) -> pressbot_core::Result<Option<ActivityTask>> {
        Ok(self
            .poll_task(
                "poll_activity_task",
                TaskTable::Activity,
                task_list,
                identity,
                claim_activity,
                release_activity,
            )
            .await?)
    }

    async fn complete_activity_task(
        &self,
        token: &TaskToken,
        result: Option<String>,
    ) -> pressbot_core::Result<()> {
        Ok(self
            .finish_task(token, "complete_activity_task", Finish::Completed(result))
            .await?)
    }

    async fn fail_activity_task(
        &self,
        token: &TaskToken,
        reason: &str,
        details: &str,
    ) -> pressbot_core::Result<()> {
        let finish = Finish::Failed {
            reason: reason.to_owned(),
            details: details.to_owned(),
        };
        Ok(self
            .finish_task(token, "fail_activity_task", finish)
            .await?)
    }

    async fn cancel_activity_task(
        &self,
        token: &TaskToken,
        details: Option<String>,
    ) -> pressbot_core::Result<()> {
        Ok(self
            .finish_task(token, "cancel_activity_task", Finish::Canceled(details))
            .await?)
    }

    async fn heartbeat(
        &self,
        token: &TaskToken,
        details: Option<String>,
    ) -> pressbot_core::Result<HeartbeatOutcome> {
        let token = token.0.clone();
        Ok(self
            .run("heartbeat", token.clone(), move |c, ctx| {
                heartbeat(c, ctx, &token, details)
            })
            .await?)
    }

    async fn start_workflow(&self, request: StartRequest) -> pressbot_core::Result<StartOutcome> {
        validate_start(&request)?;
        let domain = self.domain();
        Ok(self
            .run(
                "start_workflow",
                request.workflow_id.to_string(),
                move |c, ctx| start(c, ctx, &domain, request),
            )
            .await?)
    }

    async fn request_cancel(
        &self,
        workflow_id: &WorkflowId,
        run_id: Option<&RunId>,
    ) -> pressbot_core::Result<()> {
        let domain = self.domain();
        let (wid, rid) = (workflow_id.0.clone(), run_id.map(|r| r.0.clone()));
        Ok(self
            .run("request_cancel", wid.clone(), move |c, ctx| {
                request_cancel(c, ctx, &domain, &wid, rid.as_deref())
            })
            .await?)
    }

    async fn terminate(
        &self,
        workflow_id: &WorkflowId,
        run_id: Option<&RunId>,
        reason: &str,
    ) -> pressbot_core::Result<()> {
        let domain = self.domain();
        let (wid, rid, reason) = (
            workflow_id.0.clone(),
            run_id.map(|r| r.0.clone()),
            reason.to_owned(),
        );
        Ok(self
            .run("terminate", wid.clone(), move |c, ctx| {
                terminate(c, ctx, &domain, &wid, rid.as_deref(), &reason)
            })
            .await?)
    }

    async fn register(&self, definitions: &Definitions) -> pressbot_core::Result<()> {
        let domain = self.domain();
        let workflows: Vec<(TypeRef, String)> = definitions
            .iter()
            .map(|d| (d.workflow_type(), d.task_list.clone()))
            .collect();
        let activities = definitions.activity_types();
        Ok(self
            .run("register", domain.clone(), move |c, ctx| {
                register_types(c, ctx, &domain, &workflows, &activities)
            })
            .await?)
    }

    async fn list_executions(
        &self,
        filter: &ExecutionFilter,
    ) -> pressbot_core::Result<Vec<ExecutionInfo>> {
        let (domain, filter) = (self.domain(), filter.clone());
        Ok(self
            .run("list_executions", domain.clone(), move |c, ctx| {
                list(c, ctx, &domain, &filter)
            })
            .await?)
    }

    async fn describe_execution(
        &self,
        execution: &WorkflowExecution,
    ) -> pressbot_core::Result<ExecutionInfo> {
        let (domain, execution) = (self.domain(), execution.clone());
        Ok(self
            .run(
                "describe_execution",
                execution.to_string(),
                move |c, ctx| exec_by_execution(c, ctx, &domain, &execution).map(|e| e.info()),
            )
            .await?)
    }

    async fn history(
        &self,
        execution: &WorkflowExecution,
    ) -> pressbot_core::Result<Vec<HistoryEvent>> {
        let (domain, execution) = (self.domain(), execution.clone());
        Ok(self
            .run("history", execution.to_string(), move |c, ctx| {
                let exec = exec_by_execution(c, ctx, &domain, &execution)?;
                load_events(c, exec.id)
            })
            .await?)
    }

    async fn ping(&self) -> pressbot_core::Result<()> {
        Ok(self
            .run("ping", String::new(), |c, _ctx| {
                c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?;
                Ok(())
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times() -> ActivityTimes {
        ActivityTimes {
            scheduled_at: 1000,
            started_at: None,
            last_heartbeat: None,
            schedule_to_start: None,
            start_to_close: None,
            schedule_to_close: None,
            heartbeat: None,
        }
    }

    #[test]
    fn no_timeouts_no_deadline() {
        assert_eq!(times().deadline(), None);
    }

    #[test]
    fn earliest_applicable_timeout_wins() {
        let mut t = times();
        t.schedule_to_start = Some(500);
        t.schedule_to_close = Some(300);
        t.start_to_close = Some(10);
        assert_eq!(
            t.deadline(),
            Some((1300, ActivityTimeoutType::ScheduleToClose))
        );
        t.schedule_to_close = None;
        assert_eq!(
            t.deadline(),
            Some((1500, ActivityTimeoutType::ScheduleToStart))
        );
        t.started_at = Some(1200);
        assert_eq!(
            t.deadline(),
            Some((1210, ActivityTimeoutType::StartToClose))
        );
        t.heartbeat = Some(5);
        assert_eq!(t.deadline(), Some((1205, ActivityTimeoutType::Heartbeat)));
        t.last_heartbeat = Some(1208);
        assert_eq!(
            t.deadline(),
            Some((1210, ActivityTimeoutType::StartToClose))
        );
    }

    /// The hand-back path of a poll dropped after its claim committed
    /// (a race too narrow to provoke from outside).
    #[tokio::test]
    async fn released_claims_can_be_claimed_again() {
        use crate::LocalOptions;
        use pressbot_core::history::ActivityTimeouts;
        let dir = tempfile::tempdir().expect("tempdir");
        let b = LocalBackend::open(
            dir.path(),
            LocalOptions {
                long_poll: Duration::from_millis(100),
                ..Default::default()
            },
        )
        .expect("open");
        let wt = TypeRef::new("W", "1");
        let at = TypeRef::new("A", "1");
        b.register_workflow_type(&wt, "d").await.expect("register");
        b.register_activity_type(&at, "a").await.expect("register");
        b.start_workflow(StartRequest {
            workflow_id: WorkflowId::from("wf"),
            workflow_type: wt,
            task_list: "d".into(),
            input: None,
            execution_start_to_close: Duration::from_secs(60),
            decision_task_start_to_close: Duration::from_secs(60),
            tags: vec![],
        })
        .await
        .expect("start");
        let d = b
            .poll_decision_task("d", "x")
            .await
            .expect("poll")
            .expect("task");
        let started = d.started_event_id;
        b.run("release", String::new(), move |c, ctx| {
            release_decision(c, ctx, d)
        })
        .await
        .expect("release");
        let d = b
            .poll_decision_task("d", "y")
            .await
            .expect("poll")
            .expect("again");
        assert_eq!(
            d.started_event_id, started,
            "the unseen start event is reused"
        );
        b.complete_decision_task(
            &d.token,
            vec![Decision::ScheduleActivityTask {
                activity_id: "1".into(),
                activity_type: at,
                input: None,
                control: None,
                task_list: "a".into(),
                timeouts: ActivityTimeouts::default(),
            }],
            None,
        )
        .await
        .expect("complete");
        let a = b
            .poll_activity_task("a", "x")
            .await
            .expect("poll")
            .expect("task");
        let token = a.token.clone();
        b.run("release", String::new(), move |c, ctx| {
            release_activity(c, ctx, a)
        })
        .await
        .expect("release");
        let e = b.heartbeat(&token, None).await.expect_err("released token");
        assert!(matches!(e, pressbot_core::Error::UnknownTask { .. }));
        let a = b
            .poll_activity_task("a", "y")
            .await
            .expect("poll")
            .expect("again");
        b.complete_activity_task(&a.token, None)
            .await
            .expect("complete");
    }
}
