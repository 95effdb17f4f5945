//! Execution rows, history appends and the small helpers every transaction shares.

use crate::db::Ctx;
use crate::wake::Topics;
use crate::LocalError;
use pressbot_core::backend::{CloseStatus, ExecutionInfo};
use pressbot_core::history::{ActivityTimeoutType, EventKind, HistoryEvent};
use pressbot_core::ids::{RunId, TypeRef, WorkflowExecution, WorkflowId};
use pressbot_core::time::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction};

// ---------------------------------------------------------------------------
// Rows and small helpers

#[derive(Debug, Clone)]
pub(super) struct ExecRow {
    pub(super) id: i64,
    pub(super) workflow_id: String,
    pub(super) run_id: String,
    pub(super) type_name: String,
    pub(super) type_version: String,
    pub(super) decision_timeout_ms: i64,
    pub(super) started: i64,
    pub(super) closed: Option<i64>,
    pub(super) close_status: Option<String>,
    pub(super) cancel_requested: bool,
    pub(super) decision_pending: bool,
    pub(super) prev_started: i64,
}

pub(super) const EXEC_COLS: &str = "id, workflow_id, run_id, type_name, type_version, \
     decision_timeout_ms, started, closed, close_status, cancel_requested, decision_pending, \
     prev_started_event_id";

impl ExecRow {
    pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
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

    pub(super) fn execution(&self) -> WorkflowExecution {
        WorkflowExecution {
            workflow_id: WorkflowId(self.workflow_id.clone()),
            run_id: RunId(self.run_id.clone()),
        }
    }

    pub(super) fn workflow_type(&self) -> TypeRef {
        TypeRef::new(&self.type_name, &self.type_version)
    }

    pub(super) fn info(&self) -> ExecutionInfo {
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

pub(super) fn load_exec(conn: &Connection, id: i64) -> Result<ExecRow, LocalError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {EXEC_COLS} FROM executions WHERE id = ?1"))?
        .query_row([id], ExecRow::from_row)?)
}

/// An execution by workflow id and run id; without a run id, the open one.
pub(super) fn find_exec(
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
pub(super) fn append(
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

pub(super) fn load_events(conn: &Connection, exec: i64) -> Result<Vec<HistoryEvent>, LocalError> {
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
pub(super) fn request_decision(
    tx: &Transaction<'_>,
    exec: i64,
    now: Timestamp,
) -> Result<(), LocalError> {
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
pub(super) fn schedule_decision(
    tx: &Transaction<'_>,
    exec: i64,
    now: Timestamp,
) -> Result<(), LocalError> {
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
pub(super) fn close_execution(
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
pub(super) struct ActivityTimes {
    pub(super) scheduled_at: i64,
    pub(super) started_at: Option<i64>,
    pub(super) last_heartbeat: Option<i64>,
    pub(super) schedule_to_start: Option<i64>,
    pub(super) start_to_close: Option<i64>,
    pub(super) schedule_to_close: Option<i64>,
    pub(super) heartbeat: Option<i64>,
}

impl ActivityTimes {
    /// The earliest applicable timeout and which one it is.
    pub(super) fn deadline(&self) -> Option<(i64, ActivityTimeoutType)> {
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
pub(super) fn refresh_activity_deadline(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    id: i64,
) -> Result<(), LocalError> {
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

pub(super) fn identity_opt(identity: &str) -> Option<String> {
    (!identity.is_empty()).then(|| identity.to_owned())
}

pub(super) fn new_token(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
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
}
